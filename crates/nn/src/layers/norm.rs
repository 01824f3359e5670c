//! Normalization layers: BatchNorm1d (batch statistics, running averages) and LayerNorm.

use std::sync::atomic::{AtomicBool, Ordering};

use zhixing_tensor::{no_grad, DType, Error as TensorError, Tensor};

use crate::module::join;
use crate::{init, Error, Module, Result};

/// Configuration of a [`BatchNorm1d`].
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNormConfig {
    pub num_features: usize,
    pub eps: f64,
    /// Weight of the new batch in the running averages; `None` uses the cumulative
    /// average 1/num_batches_tracked (as PyTorch's `momentum=None`).
    pub momentum: Option<f64>,
    /// Learnable per-channel scale (weight, init 1) and shift (bias, init 0).
    pub affine: bool,
    pub dtype: DType,
}

impl BatchNormConfig {
    /// PyTorch's defaults: eps 1e-5, momentum 0.1, affine; f32.
    pub fn new(num_features: usize) -> Self {
        BatchNormConfig {
            num_features,
            eps: 1e-5,
            momentum: Some(0.1),
            affine: true,
            dtype: DType::F32,
        }
    }
}

/// `torch.nn.BatchNorm1d` over inputs [N, C] or [N, C, L].
///
/// Training mode normalizes with the batch mean and biased variance and updates the
/// running averages with the *unbiased* batch variance (as PyTorch); eval mode normalizes
/// with the running averages. Buffers: running_mean, running_var, num_batches_tracked.
pub struct BatchNorm1d {
    pub weight: Option<Tensor>,
    pub bias: Option<Tensor>,
    pub running_mean: Tensor,
    pub running_var: Tensor,
    /// i64 scalar: how many training batches updated the running statistics.
    pub num_batches_tracked: Tensor,
    cfg: BatchNormConfig,
    training: AtomicBool,
}

impl BatchNorm1d {
    /// PyTorch's defaults over `num_features` channels, f32.
    pub fn new(num_features: usize) -> Self {
        Self::from_config(&BatchNormConfig::new(num_features))
    }

    pub fn from_config(cfg: &BatchNormConfig) -> Self {
        let c = cfg.num_features;
        let param = |v: f64| Tensor::full(&[c], v, cfg.dtype).requires_grad_(true);
        BatchNorm1d {
            weight: cfg.affine.then(|| param(1.0)),
            bias: cfg.affine.then(|| param(0.0)),
            running_mean: Tensor::zeros(&[c], cfg.dtype),
            running_var: Tensor::ones(&[c], cfg.dtype),
            num_batches_tracked: Tensor::scalar(0i64),
            cfg: cfg.clone(),
            training: AtomicBool::new(true),
        }
    }

    pub fn is_training(&self) -> bool {
        self.training.load(Ordering::Relaxed)
    }

    /// The shape per-channel vectors take to broadcast against x: [1, C] or [1, C, 1].
    fn channel_shape(&self, x: &Tensor) -> Result<Vec<usize>> {
        let c = self.cfg.num_features;
        match x.shape() {
            [_, ch] if *ch == c => Ok(vec![1, c]),
            [_, ch, _] if *ch == c => Ok(vec![1, c, 1]),
            _ => Err(TensorError::InvalidShape {
                op: "batch_norm1d",
                msg: format!("expected [N, {c}] or [N, {c}, L]"),
                shape: x.shape().to_vec(),
            }
            .into()),
        }
    }

    /// Batch-normalized x (no affine) in training mode, updating the running statistics.
    fn normalize_train(&self, x: &Tensor, dims: &[isize]) -> Result<Tensor> {
        let n = x.numel() / self.cfg.num_features.max(1);
        if n <= 1 {
            return Err(TensorError::InvalidShape {
                op: "batch_norm1d",
                msg: "training needs more than one value per channel".into(),
                shape: x.shape().to_vec(),
            }
            .into());
        }
        let mean = x.mean(dims, true)?;
        let var = x.var(dims, false, true)?;
        self.update_running(&mean, &var, n)?;
        Ok(x.sub(&mean)?.div(&var.add_scalar(self.cfg.eps)?.sqrt()?)?)
    }

    fn update_running(&self, mean: &Tensor, var: &Tensor, n: usize) -> Result<()> {
        let c = self.cfg.num_features;
        let stats = [
            &self.running_mean,
            &self.running_var,
            &self.num_batches_tracked,
        ];
        update_running_stats(
            stats,
            self.cfg.momentum,
            &mean.reshape(&[c])?,
            &var.reshape(&[c])?,
            n,
        )
    }
}

impl Module for BatchNorm1d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let shape = self.channel_shape(x)?;
        let xhat = if self.is_training() {
            let dims: &[isize] = if x.rank() == 2 { &[0] } else { &[0, 2] };
            self.normalize_train(x, dims)?
        } else {
            let mean = self.running_mean.reshape(&shape)?;
            let std = self
                .running_var
                .reshape(&shape)?
                .add_scalar(self.cfg.eps)?
                .sqrt()?;
            x.sub(&mean)?.div(&std)?
        };
        let y = match &self.weight {
            Some(w) => xhat.mul(&w.reshape(&shape)?)?,
            None => xhat,
        };
        Ok(match &self.bias {
            Some(b) => y.add(&b.reshape(&shape)?)?,
            None => y,
        })
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        visit_affine(prefix, &self.weight, &self.bias, f);
    }

    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        let stats = [
            &self.running_mean,
            &self.running_var,
            &self.num_batches_tracked,
        ];
        visit_running_stats(prefix, stats, f);
    }

    fn set_training(&self, training: bool) {
        self.training.store(training, Ordering::Relaxed);
    }
}

/// running ← (1−m)·running + m·batch for [running_mean, running_var, num_batches_tracked],
/// with the unbiased variance var·n/(n−1) (as PyTorch); `momentum: None` is a cumulative
/// average. Shared by BatchNorm1d and BatchNorm2d.
pub(super) fn update_running_stats(
    [running_mean, running_var, tracked]: [&Tensor; 3],
    momentum: Option<f64>,
    mean: &Tensor,
    var: &Tensor,
    n: usize,
) -> Result<()> {
    no_grad(|| -> Result<()> {
        let count = tracked.item()? as i64 + 1;
        tracked.assign(&Tensor::scalar(count))?;
        let m = momentum.unwrap_or(1.0 / count as f64);
        let unbiased = var.mul_scalar(n as f64 / (n as f64 - 1.0))?;
        let blend = |running: &Tensor, batch: &Tensor| -> Result<()> {
            let new = running.mul_scalar(1.0 - m)?.add(&batch.mul_scalar(m)?)?;
            Ok(running.assign(&new)?)
        };
        blend(running_mean, mean)?;
        blend(running_var, &unbiased)
    })
}

/// Visits an optional affine weight and bias under PyTorch's names.
pub(super) fn visit_affine(
    prefix: &str,
    weight: &Option<Tensor>,
    bias: &Option<Tensor>,
    f: &mut dyn FnMut(&str, &Tensor),
) {
    if let Some(w) = weight {
        f(&join(prefix, "weight"), w);
    }
    if let Some(b) = bias {
        f(&join(prefix, "bias"), b);
    }
}

/// Visits [running_mean, running_var, num_batches_tracked] under PyTorch's names.
pub(super) fn visit_running_stats(
    prefix: &str,
    [mean, var, tracked]: [&Tensor; 3],
    f: &mut dyn FnMut(&str, &Tensor),
) {
    f(&join(prefix, "running_mean"), mean);
    f(&join(prefix, "running_var"), var);
    f(&join(prefix, "num_batches_tracked"), tracked);
}

/// Configuration of a [`LayerNorm`] over the last dim.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerNormConfig {
    /// Size of the last dim, which is normalized.
    pub normalized_shape: usize,
    pub eps: f64,
    /// Learnable scale (weight, init 1) and shift (bias, init 0).
    pub elementwise_affine: bool,
    /// With `elementwise_affine`, whether the shift exists.
    pub bias: bool,
    pub dtype: DType,
}

impl LayerNormConfig {
    /// PyTorch's defaults: eps 1e-5, affine with bias; f32.
    pub fn new(normalized_shape: usize) -> Self {
        LayerNormConfig {
            normalized_shape,
            eps: 1e-5,
            elementwise_affine: true,
            bias: true,
            dtype: DType::F32,
        }
    }
}

/// `torch.nn.LayerNorm` over the last dim, with the engine's fused kernel and backward.
pub struct LayerNorm {
    pub weight: Option<Tensor>,
    pub bias: Option<Tensor>,
    cfg: LayerNormConfig,
}

impl LayerNorm {
    pub fn new(normalized_shape: usize) -> Self {
        Self::from_config(&LayerNormConfig::new(normalized_shape))
    }

    pub fn from_config(cfg: &LayerNormConfig) -> Self {
        let n = cfg.normalized_shape;
        let param = |v: f64| Tensor::full(&[n], v, cfg.dtype).requires_grad_(true);
        let affine = cfg.elementwise_affine;
        LayerNorm {
            weight: affine.then(|| param(1.0)),
            bias: (affine && cfg.bias).then(|| param(0.0)),
            cfg: cfg.clone(),
        }
    }

    /// Resets weight to 1 and bias to 0.
    pub fn reset_parameters(&self) -> Result<()> {
        if let Some(w) = &self.weight {
            init::ones(w)?;
        }
        if let Some(b) = &self.bias {
            init::zeros(b)?;
        }
        Ok(())
    }
}

impl Module for LayerNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let n = self.cfg.normalized_shape;
        if x.shape().last() != Some(&n) {
            return Err(Error::Tensor(TensorError::InvalidShape {
                op: "layer_norm",
                msg: format!("the last dim must be the normalized size {n}"),
                shape: x.shape().to_vec(),
            }));
        }
        Ok(x.layer_norm(self.weight.as_ref(), self.bias.as_ref(), self.cfg.eps)?)
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        if let Some(w) = &self.weight {
            f(&join(prefix, "weight"), w);
        }
        if let Some(b) = &self.bias {
            f(&join(prefix, "bias"), b);
        }
    }
}
