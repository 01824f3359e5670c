//! What a training run did, epoch by epoch, and its CSV / JSON-lines logs.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::state::write_atomic;
use crate::{Error, Result};

/// One finished epoch. `epoch` counts from 1; `step` is the global step after it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub step: usize,
    pub train_loss: f64,
    pub train_accuracy: Option<f64>,
    pub val_loss: Option<f64>,
    pub val_accuracy: Option<f64>,
    /// The learning rate of the epoch's last step.
    pub lr: f64,
    pub seconds: f64,
    pub samples_per_sec: f64,
}

/// Every epoch's record, every step's training loss, and how the run ended.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub epochs: Vec<EpochRecord>,
    /// The loss of each optimizer step, in order.
    pub step_losses: Vec<f64>,
    /// The epoch (from 1) whose weights `best.safetensors` holds.
    pub best_epoch: Option<usize>,
    /// True when early stopping ended the run before its last epoch.
    pub stopped_early: bool,
}

const CSV_HEADER: &str =
    "epoch,step,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds,samples_per_sec";

fn opt(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

impl History {
    pub fn last(&self) -> Option<&EpochRecord> {
        self.epochs.last()
    }

    pub fn best(&self) -> Option<&EpochRecord> {
        let best = self.best_epoch?;
        self.epochs.iter().find(|r| r.epoch == best)
    }

    pub fn train_losses(&self) -> Vec<f64> {
        self.epochs.iter().map(|r| r.train_loss).collect()
    }

    pub fn val_losses(&self) -> Vec<Option<f64>> {
        self.epochs.iter().map(|r| r.val_loss).collect()
    }

    /// One header line and one line per epoch.
    pub fn to_csv(&self) -> String {
        let mut out = format!("{CSV_HEADER}\n");
        for r in &self.epochs {
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{}\n",
                r.epoch,
                r.step,
                r.train_loss,
                opt(r.train_accuracy),
                opt(r.val_loss),
                opt(r.val_accuracy),
                r.lr,
                r.seconds,
                r.samples_per_sec
            ));
        }
        out
    }

    /// One JSON object per epoch, one per line.
    pub fn to_jsonl(&self) -> Result<String> {
        let mut out = String::new();
        for r in &self.epochs {
            let line = serde_json::to_string(r)
                .map_err(|e| Error::config("metrics record", e.to_string()))?;
            out.push_str(&line);
            out.push('\n');
        }
        Ok(out)
    }

    /// Rewrites `metrics.csv` and `metrics.jsonl` in `dir` (atomically, so a resumed run
    /// never leaves duplicate or half-written rows).
    pub fn write_logs(&self, dir: &Path) -> Result<()> {
        write_atomic(&dir.join("metrics.csv"), self.to_csv().as_bytes())?;
        write_atomic(&dir.join("metrics.jsonl"), self.to_jsonl()?.as_bytes())
    }
}
