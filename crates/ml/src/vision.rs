//! Image classifiers trained from a data folder ([`zhixing_data::images`]): the seed CNN,
//! a small ResNet, or a recurrent network (RNN / LSTM / GRU) reading the image row by
//! row. Trained by the `Trainer` (Adam, warm-up + cosine schedule, the best validation
//! epoch kept), saved as one model file like the tabular models — with `modality = image`
//! in its header — and used on raw pixels in [0, 1]: the normalization is part of the
//! model.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use zhixing_data::images::{describe, ImageData, ImageSet};
use zhixing_data::{ImageAugment, TensorDataset};
use zhixing_nn::layers::recurrent::{CellType, RnnActivation, SequenceClassifier};
use zhixing_nn::layers::{seed_cnn_for, ResNet, ResNetConfig};
use zhixing_nn::optim::{Adam, AdamConfig};
use zhixing_nn::schedule::{Decay, LrSchedule};
use zhixing_nn::trainer::{Classification, Trainer, TrainerConfig, BEST_FILE};
use zhixing_nn::{state, Module};
use zhixing_tensor::{no_grad, DType, Rng, Tensor};

use crate::error::{Error, Result};
use crate::metrics::{log_loss, ClassificationReport};
use crate::model::{file, Evaluation};

const WHAT: &str = "image model";

/// The network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageArch {
    /// conv 16 → pool → conv 32 → pool → FC 120 → 84 → classes, dropout.
    Cnn,
    /// A 3×3 stem and stages of 16, 32, 64 channels of basic blocks.
    Resnet,
    /// Recurrent networks reading one image row per step.
    Rnn,
    Lstm,
    Gru,
}

impl ImageArch {
    fn is_recurrent(self) -> bool {
        matches!(self, ImageArch::Rnn | ImageArch::Lstm | ImageArch::Gru)
    }

    /// The learning rate that trains it well on MNIST-like data.
    fn default_lr(self) -> f64 {
        match self {
            ImageArch::Cnn | ImageArch::Lstm | ImageArch::Gru => 2e-3,
            ImageArch::Resnet => 3e-3,
            ImageArch::Rnn => 1e-3,
        }
    }
}

/// Hyperparameters of an image classifier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImageConfig {
    pub arch: ImageArch,
    pub epochs: usize,
    pub batch_size: usize,
    /// Peak learning rate (default: by architecture).
    pub lr: Option<f64>,
    /// Recurrent models: hidden size and layers.
    pub hidden: usize,
    pub layers: usize,
    /// CNN: dropout before the last two fully connected layers.
    pub dropout: f64,
    /// Random shifts (≤ 2 px) and rotations (≤ 10°) of each training batch.
    pub augment: bool,
    /// Gradient clipping (global L2 norm); default 1.0 for recurrent models, none otherwise.
    pub clip: Option<f64>,
    /// Share of the training images held out for validation.
    pub validation: f64,
    /// Share of the images held out for testing when the data has no test set.
    pub test: f64,
    pub seed: u64,
}

impl Default for ImageConfig {
    fn default() -> Self {
        ImageConfig {
            arch: ImageArch::Cnn,
            epochs: 5,
            batch_size: 64,
            lr: None,
            hidden: 128,
            layers: 2,
            dropout: 0.25,
            augment: false,
            clip: None,
            validation: 0.1,
            test: 0.1,
            seed: 0,
        }
    }
}

/// One epoch of the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochSummary {
    pub epoch: usize,
    pub train_loss: f64,
    pub val_loss: Option<f64>,
    pub val_accuracy: Option<f64>,
    pub seconds: f64,
}

/// Everything in the file besides the weights.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImageInfo {
    /// Always `"image"`: tells image model files from tabular ones.
    pub modality: String,
    pub config: ImageConfig,
    /// `[channels, height, width]` of the inputs.
    pub input: [usize; 3],
    pub classes: Vec<String>,
    /// Pixel normalization learned from the training images: `(x − mean) / std`.
    pub mean: f64,
    pub std: f64,
    /// The data folder and how it was laid out.
    pub data: String,
    pub layout: String,
    pub train_rows: usize,
    pub validation_rows: usize,
    pub test_rows: usize,
    pub epochs: Vec<EpochSummary>,
    pub best_epoch: Option<usize>,
    pub fit_seconds: f64,
    /// Per split (`validation`, `test`): metric name → value.
    pub metrics: BTreeMap<String, BTreeMap<String, f64>>,
}

/// A trained image classifier.
pub struct ImageModel {
    pub info: ImageInfo,
    net: ImageNet,
}

/// The network with its input handling: raw pixels `[B, C·H·W]` are normalized and shaped
/// for the architecture — `[B, C, H, W]` for convolutions, `[B, H, C·W]` (one row per
/// step) for recurrent models.
struct ImageNet {
    inner: Box<dyn Module>,
    arch: ImageArch,
    input: [usize; 3],
    mean: f64,
    std: f64,
}

impl ImageNet {
    fn new(info: &ImageInfo, rng: &mut Rng) -> Result<ImageNet> {
        let c = &info.config;
        let [ch, _, w] = info.input;
        let k = info.classes.len();
        let inner: Box<dyn Module> = match c.arch {
            ImageArch::Cnn => Box::new(seed_cnn_for(info.input, k, c.dropout, rng)?),
            ImageArch::Resnet => Box::new(ResNet::new(
                &ResNetConfig {
                    in_channels: ch,
                    num_classes: k,
                    ..ResNetConfig::mnist()
                },
                rng,
            )?),
            arch => {
                let cell = match arch {
                    ImageArch::Lstm => CellType::Lstm,
                    ImageArch::Gru => CellType::Gru,
                    _ => CellType::Rnn(RnnActivation::Tanh),
                };
                if c.hidden == 0 || c.layers == 0 {
                    return Err(Error::invalid(WHAT, "hidden and layers must be at least 1"));
                }
                Box::new(SequenceClassifier::new(
                    cell,
                    ch * w,
                    c.hidden,
                    c.layers,
                    k,
                    rng,
                )?)
            }
        };
        Ok(ImageNet {
            inner,
            arch: c.arch,
            input: info.input,
            mean: info.mean,
            std: info.std,
        })
    }
}

impl Module for ImageNet {
    fn forward(&self, x: &Tensor) -> zhixing_nn::Result<Tensor> {
        let [c, h, w] = self.input;
        let b = x.shape()[0];
        let x = x.affine(1.0 / self.std, -self.mean / self.std)?;
        let x = if self.arch.is_recurrent() {
            // Channel-major rows become one step per image row: [B, C, H, W] → [B, H, C·W].
            x.reshape(&[b, c, h, w])?
                .permute(&[0, 2, 1, 3])?
                .contiguous()?
                .reshape(&[b, h, c * w])?
        } else {
            x.reshape(&[b, c, h, w])?
        };
        self.inner.forward(&x)
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        self.inner.visit_params(prefix, f)
    }

    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        self.inner.visit_buffers(prefix, f)
    }

    fn visit_rngs(&self, prefix: &str, f: &mut dyn FnMut(&str, &std::sync::Mutex<Rng>)) {
        self.inner.visit_rngs(prefix, f)
    }

    fn set_training(&self, training: bool) {
        self.inner.set_training(training)
    }
}

/// Rows `idx` of a set as a training dataset (pixels, i64 labels).
fn dataset(set: &ImageSet, idx: &[usize]) -> Result<TensorDataset> {
    let ids: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
    let pixels = set
        .pixels
        .index_select(0, &Tensor::from_vec(ids, &[idx.len()])?)?;
    let labels: Vec<i64> = idx.iter().map(|&i| set.labels[i] as i64).collect();
    Ok(TensorDataset::new(
        pixels,
        Tensor::from_vec(labels, &[idx.len()])?,
    )?)
}

/// Splits `0..n` into (kept, held out) with `share` of each class held out, seeded.
fn stratified_holdout(labels: &[usize], share: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = Rng::seed(seed);
    let classes = labels.iter().max().map_or(0, |m| m + 1);
    let (mut kept, mut held) = (Vec::new(), Vec::new());
    for c in 0..classes {
        let mut rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
        rng.shuffle(&mut rows);
        let take = ((rows.len() as f64) * share).round() as usize;
        let take = if share > 0.0 && rows.len() > 1 {
            take.max(1)
        } else {
            take
        };
        held.extend_from_slice(&rows[..take]);
        kept.extend_from_slice(&rows[take..]);
    }
    kept.sort_unstable();
    held.sort_unstable();
    (kept, held)
}

impl ImageModel {
    /// Trains on `data` (its test set, or a stratified `config.test` share of its images,
    /// is held out for the final report); returns the model and its validation and test
    /// reports. `progress` shows the Trainer's bar on a terminal.
    pub fn train(
        data: &ImageData,
        source: &str,
        config: &ImageConfig,
        progress: bool,
    ) -> Result<(ImageModel, Vec<(String, ClassificationReport)>)> {
        check_config(config)?;
        let set = &data.train;
        let k = set.classes.len();
        if k < 2 {
            return Err(Error::invalid(
                WHAT,
                format!("{source}: needs at least two classes, found {k}"),
            ));
        }
        let all: Vec<usize> = (0..set.len()).collect();
        let (rest, test_idx) = match &data.test {
            Some(_) => (all, Vec::new()),
            None => stratified_holdout(&set.labels, config.test, config.seed ^ 0x7E57),
        };
        let rest_labels: Vec<usize> = rest.iter().map(|&i| set.labels[i]).collect();
        let (train_pos, val_pos) = stratified_holdout(&rest_labels, config.validation, config.seed);
        let train_idx: Vec<usize> = train_pos.iter().map(|&p| rest[p]).collect();
        let val_idx: Vec<usize> = val_pos.iter().map(|&p| rest[p]).collect();
        let train = dataset(set, &train_idx)?;
        let val = (!val_idx.is_empty())
            .then(|| dataset(set, &val_idx))
            .transpose()?;
        let (mean, std) = pixel_stats(&train.inputs)?;
        let mut info = ImageInfo {
            modality: "image".into(),
            config: config.clone(),
            input: set.shape,
            classes: set.classes.clone(),
            mean,
            std,
            data: source.to_string(),
            layout: data.layout.to_string(),
            train_rows: train_idx.len(),
            validation_rows: val_idx.len(),
            test_rows: data.test.as_ref().map_or(test_idx.len(), ImageSet::len),
            epochs: Vec::new(),
            best_epoch: None,
            fit_seconds: 0.0,
            metrics: BTreeMap::new(),
        };
        let mut rng = Rng::seed(config.seed);
        let net = ImageNet::new(&info, &mut rng)?;
        let start = Instant::now();
        let history = fit_net(&net, config, &train, val.as_ref(), set.shape, progress)?;
        info.fit_seconds = start.elapsed().as_secs_f64();
        info.best_epoch = history.best_epoch;
        info.epochs = history
            .epochs
            .iter()
            .map(|e| EpochSummary {
                epoch: e.epoch,
                train_loss: e.train_loss,
                val_loss: e.val_loss,
                val_accuracy: e.val_accuracy,
                seconds: e.seconds,
            })
            .collect();
        let mut model = ImageModel { info, net };
        let mut reports = Vec::new();
        if !val_idx.is_empty() {
            reports.push((
                "validation".to_string(),
                model.evaluate_rows(set, &val_idx)?,
            ));
        }
        let test = match &data.test {
            Some(t) => Some(model.evaluate(t)?),
            None if !test_idx.is_empty() => Some(model.evaluate_rows(set, &test_idx)?),
            None => None,
        };
        reports.extend(test.map(|t| ("test".to_string(), t)));
        for (name, r) in &reports {
            let summary = Evaluation::Classification(Box::new(r.clone())).summary();
            model.info.metrics.insert(name.clone(), summary);
        }
        Ok((model, reports))
    }

    /// Class probabilities `[N, K]` (f64) of raw pixels `[N, C·H·W]` in [0, 1].
    pub fn predict_proba(&self, pixels: &Tensor) -> Result<Tensor> {
        let want: usize = self.info.input.iter().product();
        let shape = pixels.shape();
        if shape.len() != 2 || shape[1] != want {
            return Err(Error::invalid(
                WHAT,
                format!(
                    "the model takes {} images ({want} values each), got pixels of shape {shape:?}",
                    describe(self.info.input)
                ),
            ));
        }
        self.net.eval();
        let n = shape[0];
        let mut out = Vec::with_capacity(n * self.info.classes.len());
        no_grad(|| -> Result<()> {
            for start in (0..n).step_by(256) {
                let len = 256.min(n - start);
                let logits = self.net.forward(&pixels.narrow(0, start, len)?)?;
                let p = logits.softmax(-1)?.to_dtype(DType::F64)?.to_vec::<f64>()?;
                out.extend_from_slice(&p);
            }
            Ok(())
        })?;
        Ok(Tensor::from_vec(out, &[n, self.info.classes.len()])?)
    }

    /// The classification report on a labelled set with this model's classes and shape.
    pub fn evaluate(&self, set: &ImageSet) -> Result<ClassificationReport> {
        self.check_set(set)?;
        self.evaluate_rows(set, &(0..set.len()).collect::<Vec<_>>())
    }

    fn check_set(&self, set: &ImageSet) -> Result<()> {
        if set.shape != self.info.input {
            return Err(Error::invalid(
                WHAT,
                format!(
                    "the model takes {} images, the data holds {}",
                    describe(self.info.input),
                    describe(set.shape)
                ),
            ));
        }
        if set.classes != self.info.classes {
            return Err(Error::invalid(
                WHAT,
                format!(
                    "the data's classes {:?} are not the model's {:?}",
                    set.classes, self.info.classes
                ),
            ));
        }
        Ok(())
    }

    fn evaluate_rows(&self, set: &ImageSet, rows: &[usize]) -> Result<ClassificationReport> {
        let d = dataset(set, rows)?;
        let k = self.info.classes.len();
        let p = self.predict_proba(&d.inputs)?.to_vec::<f64>()?;
        let probs: Vec<&[f64]> = p.chunks(k).collect();
        let truth: Vec<usize> = rows.iter().map(|&i| set.labels[i]).collect();
        let guess: Vec<usize> = probs.iter().map(|r| crate::estimator::argmax(r)).collect();
        let name = |ids: &[usize]| -> Vec<String> {
            ids.iter().map(|&c| self.info.classes[c].clone()).collect()
        };
        let report =
            ClassificationReport::with_labels(&name(&truth), &name(&guess), &self.info.classes)?;
        let labels: Vec<usize> = (0..k).collect();
        Ok(match log_loss(&truth, &probs, Some(&labels)) {
            Ok(loss) => report.with_log_loss(loss),
            Err(_) => report,
        })
    }

    /// Writes the model file atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let header = serde_json::to_string(&self.info)
            .map_err(|e| Error::invalid(WHAT, format!("cannot serialize: {e}")))?;
        file::write(path, &header, &state::state_dict(&self.net))
    }

    /// Reads a model file written by [`ImageModel::save`].
    pub fn load(path: &Path) -> Result<ImageModel> {
        let (header, tensors) = file::read(path)?;
        let info: ImageInfo = serde_json::from_str(&header).map_err(|e| {
            Error::invalid(WHAT, format!("{}: unreadable header ({e})", path.display()))
        })?;
        if info.modality != "image" {
            return Err(Error::invalid(
                WHAT,
                format!("{} is not an image model", path.display()),
            ));
        }
        let net = ImageNet::new(&info, &mut Rng::seed(0))?;
        state::load_state_dict(&net, &tensors).map_err(|e| {
            Error::invalid(
                WHAT,
                format!("{}: weights do not fit the model ({e})", path.display()),
            )
        })?;
        Ok(ImageModel { info, net })
    }
}

/// True when a model file's header says it holds an image model.
pub fn is_image_model(path: &Path) -> Result<bool> {
    let (header, _) = file::read(path)?;
    let v: serde_json::Value = serde_json::from_str(&header).unwrap_or_default();
    Ok(v.get("modality").and_then(|m| m.as_str()) == Some("image"))
}

fn check_config(c: &ImageConfig) -> Result<()> {
    let bad = |msg: String| Err(Error::invalid(WHAT, msg));
    if c.epochs == 0 || c.batch_size == 0 {
        return bad("epochs and batch_size must be at least 1".into());
    }
    if !(0.0..0.9).contains(&c.validation) || !(0.0..0.9).contains(&c.test) {
        return bad(format!(
            "validation ({}) and test ({}) shares must be in [0, 0.9)",
            c.validation, c.test
        ));
    }
    if let Some(lr) = c.lr {
        if !(lr > 0.0 && lr.is_finite()) {
            return bad(format!("lr must be > 0, got {lr}"));
        }
    }
    if !(0.0..1.0).contains(&c.dropout) {
        return bad(format!("dropout must be in [0, 1), got {}", c.dropout));
    }
    Ok(())
}

/// Mean and standard deviation of all training pixels (std floored for blank images).
fn pixel_stats(x: &Tensor) -> Result<(f64, f64)> {
    let v = x.to_vec::<f32>()?;
    let n = v.len().max(1) as f64;
    let mean = v.iter().map(|&p| f64::from(p)).sum::<f64>() / n;
    let var = v
        .iter()
        .map(|&p| (f64::from(p) - mean).powi(2))
        .sum::<f64>()
        / n;
    Ok((mean, var.sqrt().max(1e-3)))
}

/// Adam with 200 warm-up steps (fewer on small sets) and a cosine decay to 1 % of the peak;
/// the best validation epoch's weights are restored at the end.
fn fit_net(
    net: &ImageNet,
    c: &ImageConfig,
    train: &TensorDataset,
    val: Option<&TensorDataset>,
    shape: [usize; 3],
    progress: bool,
) -> Result<zhixing_nn::trainer::History> {
    let lr = c.lr.unwrap_or(c.arch.default_lr());
    let steps = c.epochs * train.len().div_ceil(c.batch_size);
    let scratch = tempfile::tempdir()
        .map_err(|e| Error::invalid(WHAT, format!("cannot create a scratch folder: {e}")))?;
    let clip = c.clip.or(c.arch.is_recurrent().then_some(1.0));
    let config = TrainerConfig {
        epochs: c.epochs,
        batch_size: c.batch_size,
        seed: c.seed,
        clip_grad_norm: clip.filter(|v| *v > 0.0),
        schedule: Some(
            LrSchedule::new(
                lr,
                Decay::Cosine {
                    total_steps: steps,
                    min_lr: lr * 1e-2,
                },
            )
            .with_warmup(200.min(steps / 10)),
        ),
        out_dir: Some(scratch.path().to_path_buf()),
        progress,
        log_every_steps: 0,
        ..Default::default()
    };
    let mut trainer = Trainer::new(config);
    if c.augment {
        let aug = ImageAugment {
            max_shift: 2,
            max_rotation_deg: 10.0,
            ..ImageAugment::default()
        };
        trainer = trainer.with_augment(aug, (shape[1], shape[2]));
    }
    let mut optimizer = Adam::new(net.parameters(), AdamConfig::default())?;
    let history = trainer.fit(net, &mut optimizer, &Classification, train, val)?;
    let best = scratch.path().join(BEST_FILE);
    if val.is_some() && best.is_file() {
        state::load_module(net, &best)?;
    }
    Ok(history)
}
