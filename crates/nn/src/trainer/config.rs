//! The Trainer's settings (serde, so a run's config is saved with its checkpoints).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use zhixing_data::ImageAugment;

use crate::schedule::LrSchedule;
use crate::{Error, Result};

/// The validation metric early stopping and the best checkpoint watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Lower is better.
    ValLoss,
    /// Higher is better.
    ValAccuracy,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::ValLoss => "val_loss",
            Metric::ValAccuracy => "val_accuracy",
        }
    }

    /// Whether `value` beats `best` by more than `min_delta`.
    pub fn improves(self, value: f64, best: f64, min_delta: f64) -> bool {
        match self {
            Metric::ValLoss => value < best - min_delta,
            Metric::ValAccuracy => value > best + min_delta,
        }
    }
}

/// Stop when `metric` has not improved by more than `min_delta` for `patience` epochs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    pub metric: Metric,
    pub patience: usize,
    #[serde(default)]
    pub min_delta: f64,
}

/// Random image transforms applied to every training batch (never to validation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AugmentConfig {
    pub image: ImageAugment,
    /// (H, W) of each image, so flattened rows [N, C*H*W] can be augmented too.
    pub image_shape: (usize, usize),
}

/// How `Trainer::fit` trains. Every field has a default, so a JSON config may name only
/// what it changes.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainerConfig {
    pub epochs: usize,
    pub batch_size: usize,
    /// Seeds the per-epoch shuffle.
    pub seed: u64,
    pub shuffle: bool,
    pub eval_batch_size: usize,
    pub early_stopping: Option<EarlyStopping>,
    /// Clip the global L2 norm of the gradients to this before each step.
    pub clip_grad_norm: Option<f64>,
    /// Sets the optimizer's learning rate before every step.
    pub schedule: Option<LrSchedule>,
    /// Where checkpoints, metric logs, plots and TensorBoard events go (none: nowhere).
    pub out_dir: Option<PathBuf>,
    /// Show a progress bar (only ever on a terminal).
    pub progress: bool,
    /// Every this many steps, log the step loss and learning rate to TensorBoard
    /// (0: epoch summaries only).
    pub log_every_steps: usize,
    /// Augments each training batch with a generator drawn from (seed, global step), so
    /// a resumed run sees the same augmented batches.
    pub augment: Option<AugmentConfig>,
}

impl Default for TrainerConfig {
    fn default() -> Self {
        TrainerConfig {
            epochs: 10,
            batch_size: 32,
            seed: 0,
            shuffle: true,
            eval_batch_size: 256,
            early_stopping: None,
            clip_grad_norm: None,
            schedule: None,
            out_dir: None,
            progress: true,
            log_every_steps: 50,
            augment: None,
        }
    }
}

impl TrainerConfig {
    /// Checks the settings that do not depend on the data.
    pub fn validate(&self) -> Result<()> {
        if self.batch_size == 0 {
            return Err(Error::config("batch_size", "must be at least 1"));
        }
        if self.eval_batch_size == 0 {
            return Err(Error::config("eval_batch_size", "must be at least 1"));
        }
        if let Some(c) = self.clip_grad_norm {
            if !(c > 0.0 && c.is_finite()) {
                return Err(Error::config(
                    "clip_grad_norm",
                    format!("{c}: must be a positive number"),
                ));
            }
        }
        if let Some(schedule) = &self.schedule {
            schedule.validate()?;
        }
        if let Some(a) = &self.augment {
            a.image
                .validate()
                .map_err(|e| Error::config("augment", e.to_string()))?;
            if a.image_shape.0 == 0 || a.image_shape.1 == 0 {
                return Err(Error::config(
                    "augment.image_shape",
                    format!("{:?}: both sides must be at least 1", a.image_shape),
                ));
            }
        }
        if let Some(es) = &self.early_stopping {
            if es.min_delta.is_nan() || es.min_delta < 0.0 {
                return Err(Error::config(
                    "early_stopping.min_delta",
                    format!("{}: must be zero or positive", es.min_delta),
                ));
            }
        }
        Ok(())
    }
}
