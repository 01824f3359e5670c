//! The multilayer perceptron from zhixing-nn behind the [`Estimator`] API: hidden sizes,
//! activation, dropout, optimizer and epochs from a config; trained by the `Trainer`
//! (mini-batches, validation each epoch, progress bar). Regression targets are
//! standardized for training and mapped back on prediction.

use serde::{Deserialize, Serialize};
use zhixing_data::TensorDataset;
use zhixing_nn::layers::{Dropout, Linear, ReLU, Sequential, Sigmoid, Tanh, GELU};
use zhixing_nn::optim::{Adam, AdamConfig, AdamW, AdamWConfig, Optimizer, Sgd, SgdConfig};
use zhixing_nn::state::{load_state_dict, state_dict};
use zhixing_nn::trainer::{Classification, History, Regression, Trainer, TrainerConfig};
use zhixing_nn::Module;
use zhixing_tensor::{no_grad, DType, Rng, Tensor};

use crate::error::{Error, Result};
use crate::estimator::{self, Estimator, EstimatorKind, Parts};

const WHAT: &str = "mlp";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    #[default]
    Relu,
    Tanh,
    Sigmoid,
    Gelu,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    #[default]
    Adam,
    Adamw,
    Sgd,
}

/// The network and how it is trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MlpConfig {
    pub hidden: Vec<usize>,
    pub activation: Activation,
    /// Dropout after each hidden activation (0: none).
    pub dropout: f64,
    pub optimizer: OptimizerKind,
    pub lr: f64,
    /// L2 weight decay (decoupled for AdamW).
    pub weight_decay: f64,
    /// SGD momentum.
    pub momentum: f64,
    pub epochs: usize,
    pub batch_size: usize,
    pub seed: u64,
}

impl Default for MlpConfig {
    fn default() -> Self {
        MlpConfig {
            hidden: vec![64, 32],
            activation: Activation::Relu,
            dropout: 0.0,
            optimizer: OptimizerKind::Adam,
            lr: 1e-3,
            weight_decay: 0.0,
            momentum: 0.9,
            epochs: 100,
            batch_size: 32,
            seed: 42,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Fitted {
    kind: EstimatorKind,
    n_features: usize,
    /// Classes (classifier) or 1 (regressor).
    n_outputs: usize,
    /// Regression targets are trained as (y − mean) / std.
    y_mean: f64,
    y_std: f64,
}

/// A multilayer perceptron classifier or regressor.
pub struct Mlp {
    pub config: MlpConfig,
    kind: EstimatorKind,
    net: Option<Sequential>,
    fitted: Option<Fitted>,
    history: Option<History>,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    config: MlpConfig,
    fitted: Fitted,
}

impl Mlp {
    pub fn new(config: MlpConfig, kind: EstimatorKind) -> Self {
        Mlp {
            config,
            kind,
            net: None,
            fitted: None,
            history: None,
        }
    }

    /// The per-epoch losses (and accuracies) of the last fit.
    pub fn history(&self) -> Option<&History> {
        self.history.as_ref()
    }

    fn build(&self, n_in: usize, n_out: usize, rng: &mut Rng) -> Result<Sequential> {
        let c = &self.config;
        if !(0.0..1.0).contains(&c.dropout) {
            return Err(Error::invalid(
                WHAT,
                format!("dropout must be in [0, 1), got {}", c.dropout),
            ));
        }
        if let Some(i) = c.hidden.iter().position(|&h| h == 0) {
            return Err(Error::invalid(
                WHAT,
                format!("hidden layer {} has size 0", i + 1),
            ));
        }
        let mut net = Sequential::new();
        let mut width = n_in;
        for &h in &c.hidden {
            net.push(Box::new(Linear::new(width, h, rng).map_err(nn_error)?));
            net.push(match c.activation {
                Activation::Relu => Box::new(ReLU),
                Activation::Tanh => Box::new(Tanh),
                Activation::Sigmoid => Box::new(Sigmoid),
                Activation::Gelu => Box::new(GELU::default()),
            });
            if c.dropout > 0.0 {
                net.push(Box::new(Dropout::new(c.dropout, rng).map_err(nn_error)?));
            }
            width = h;
        }
        net.push(Box::new(Linear::new(width, n_out, rng).map_err(nn_error)?));
        Ok(net)
    }

    fn optimizer(&self, params: Vec<Tensor>) -> Result<Box<dyn Optimizer>> {
        let c = &self.config;
        Ok(match c.optimizer {
            OptimizerKind::Adam => Box::new(
                Adam::new(
                    params,
                    AdamConfig {
                        lr: c.lr,
                        weight_decay: c.weight_decay,
                        ..Default::default()
                    },
                )
                .map_err(nn_error)?,
            ),
            OptimizerKind::Adamw => Box::new(
                AdamW::new(
                    params,
                    AdamWConfig {
                        lr: c.lr,
                        weight_decay: c.weight_decay,
                        ..Default::default()
                    },
                )
                .map_err(nn_error)?,
            ),
            OptimizerKind::Sgd => Box::new(
                Sgd::new(
                    params,
                    SgdConfig {
                        lr: c.lr,
                        momentum: c.momentum,
                        weight_decay: c.weight_decay,
                        ..Default::default()
                    },
                )
                .map_err(nn_error)?,
            ),
        })
    }

    /// Trains on (x, y), reporting validation loss/accuracy each epoch when `val` is given;
    /// `progress` shows the Trainer's bar on a terminal.
    pub fn fit_with_validation(
        &mut self,
        x: &Tensor,
        y: &Tensor,
        val: Option<(&Tensor, &Tensor)>,
        progress: bool,
    ) -> Result<()> {
        let (_, n, f) = estimator::matrix(x, WHAT)?;
        let (n_out, y_mean, y_std, targets) = match self.kind {
            EstimatorKind::Classifier => {
                let ids = estimator::class_ids(y, WHAT)?;
                estimator::check_rows(WHAT, n, ids.len())?;
                let k = estimator::check_two_classes(WHAT, &ids)?;
                (k, 0.0, 1.0, estimator::ids_tensor(&ids)?)
            }
            EstimatorKind::Regressor => {
                let v = estimator::values(y, WHAT)?;
                estimator::check_rows(WHAT, n, v.len())?;
                let mean = v.iter().sum::<f64>() / n as f64;
                let var = v.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / n as f64;
                let std = if var > 0.0 { var.sqrt() } else { 1.0 };
                (1, mean, std, standardized(&v, mean, std)?)
            }
        };
        let fitted = Fitted {
            kind: self.kind,
            n_features: f,
            n_outputs: n_out,
            y_mean,
            y_std,
        };
        let mut rng = Rng::seed(self.config.seed);
        let net = self.build(f, n_out, &mut rng)?;
        let mut optimizer = self.optimizer(net.parameters())?;
        let train = TensorDataset::new(x.to_dtype(DType::F32)?, targets).map_err(data_error)?;
        let val = match val {
            Some((vx, vy)) => Some(self.dataset(vx, vy, &fitted)?),
            None => None,
        };
        let config = TrainerConfig {
            epochs: self.config.epochs,
            batch_size: self.config.batch_size,
            seed: self.config.seed,
            progress,
            ..Default::default()
        };
        let mut trainer = Trainer::new(config);
        let history = match self.kind {
            EstimatorKind::Classifier => trainer.fit(
                &net,
                optimizer.as_mut(),
                &Classification,
                &train,
                val.as_ref(),
            ),
            EstimatorKind::Regressor => {
                trainer.fit(&net, optimizer.as_mut(), &Regression, &train, val.as_ref())
            }
        }
        .map_err(nn_error)?;
        net.eval();
        self.net = Some(net);
        self.fitted = Some(fitted);
        self.history = Some(history);
        Ok(())
    }

    fn dataset(&self, x: &Tensor, y: &Tensor, fit: &Fitted) -> Result<TensorDataset> {
        let targets = match fit.kind {
            EstimatorKind::Classifier => estimator::ids_tensor(&estimator::class_ids(y, WHAT)?)?,
            EstimatorKind::Regressor => {
                standardized(&estimator::values(y, WHAT)?, fit.y_mean, fit.y_std)?
            }
        };
        TensorDataset::new(x.to_dtype(DType::F32)?, targets).map_err(data_error)
    }

    /// The network's raw outputs `[N, K]` as f64, in eval mode.
    fn outputs(&self, x: &Tensor) -> Result<(Vec<f64>, usize, usize)> {
        let (Some(net), Some(fit)) = (&self.net, &self.fitted) else {
            return Err(Error::invalid(
                WHAT,
                "the model is not fitted: call fit first",
            ));
        };
        let (_, n, f) = estimator::matrix(x, WHAT)?;
        if f != fit.n_features {
            return Err(Error::invalid(
                WHAT,
                format!("fitted on {} features, got {f}", fit.n_features),
            ));
        }
        let out = no_grad(|| net.forward(&x.to_dtype(DType::F32)?)).map_err(nn_error)?;
        let out = match fit.kind {
            EstimatorKind::Classifier => out.softmax(-1)?,
            EstimatorKind::Regressor => out,
        };
        let v = out.to_dtype(DType::F64)?.contiguous()?.to_vec::<f64>()?;
        Ok((v, n, fit.n_outputs))
    }

    pub fn from_parts(parts: &Parts) -> Result<Self> {
        let saved: Saved = estimator::params_from(parts, WHAT)?;
        let mut mlp = Mlp::new(saved.config, saved.fitted.kind);
        let net = mlp.build(
            saved.fitted.n_features,
            saved.fitted.n_outputs,
            &mut Rng::seed(0),
        )?;
        load_state_dict(&net, &parts.tensors).map_err(nn_error)?;
        net.eval();
        mlp.net = Some(net);
        mlp.fitted = Some(saved.fitted);
        Ok(mlp)
    }
}

impl Estimator for Mlp {
    fn name(&self) -> &'static str {
        "mlp"
    }

    fn kind(&self) -> EstimatorKind {
        self.kind
    }

    fn fit(&mut self, x: &Tensor, y: &Tensor) -> Result<()> {
        self.fit_with_validation(x, y, None, false)
    }

    fn predict(&self, x: &Tensor) -> Result<Tensor> {
        let (v, n, k) = self.outputs(x)?;
        let fit = self.fitted.as_ref().expect("outputs checked fitted");
        match fit.kind {
            EstimatorKind::Classifier => {
                let ids: Vec<usize> = v.chunks(k).map(estimator::argmax).collect();
                estimator::ids_tensor(&ids)
            }
            EstimatorKind::Regressor => {
                let y: Vec<f64> = v.iter().map(|z| z * fit.y_std + fit.y_mean).collect();
                Ok(Tensor::from_vec(y, &[n])?)
            }
        }
    }

    fn predict_proba(&self, x: &Tensor) -> Result<Option<Tensor>> {
        if self.kind == EstimatorKind::Regressor {
            return Ok(None);
        }
        let (v, n, k) = self.outputs(x)?;
        Ok(Some(estimator::tensor2(v, n, k)?))
    }

    fn to_parts(&self) -> Result<Parts> {
        let (Some(net), Some(fit)) = (&self.net, &self.fitted) else {
            return Err(Error::invalid(
                WHAT,
                "the model is not fitted: call fit first",
            ));
        };
        Ok(Parts {
            params: estimator::params_to(
                &Saved {
                    config: self.config.clone(),
                    fitted: fit.clone(),
                },
                WHAT,
            )?,
            tensors: state_dict(net),
        })
    }
}

fn standardized(v: &[f64], mean: f64, std: f64) -> Result<Tensor> {
    let z: Vec<f32> = v.iter().map(|t| ((t - mean) / std) as f32).collect();
    Ok(Tensor::from_vec(z, &[v.len()])?)
}

fn nn_error(e: zhixing_nn::Error) -> Error {
    Error::invalid(WHAT, e.to_string())
}

fn data_error(e: zhixing_data::Error) -> Error {
    Error::invalid(WHAT, e.to_string())
}
