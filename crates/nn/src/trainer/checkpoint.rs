//! Checkpoints: `best.safetensors` (the best epoch's model state dict, loadable with
//! `state::load_module`) and `last.safetensors` (everything a resumed run needs).
//!
//! `last.safetensors` holds the model's tensors as `model.<name>`, the optimizer's as
//! `optim.<key>`, its scalars as one f64 tensor `trainer.optim_scalars` (exact, NaN-safe),
//! and the rest of the run (config, counters, RNG position, history) as JSON metadata.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use zhixing_tensor::{Rng, Tensor};

use super::{History, TrainerConfig};
use crate::optim::OptimizerState;
use crate::state::{load_safetensors, save_safetensors, state_dict};
use crate::{Error, Module, Result};

pub const BEST_FILE: &str = "best.safetensors";
pub const LAST_FILE: &str = "last.safetensors";
const META_KEY: &str = "zhixing.trainer";
const FORMAT_VERSION: u32 = 1;
const MODEL_PREFIX: &str = "model.";
const OPTIM_PREFIX: &str = "optim.";
const OPTIM_SCALARS: &str = "trainer.optim_scalars";

/// The run's progress besides tensors.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct RunState {
    pub version: u32,
    pub config: TrainerConfig,
    pub epochs_done: usize,
    pub global_step: usize,
    /// `Rng::state()`; the word position is a decimal string (u128).
    pub rng_state: (u64, String),
    pub history: History,
    pub best_value: Option<f64>,
    pub bad_epochs: usize,
    pub optim_scalar_names: Vec<String>,
}

/// What `load_last` returns: the run, and the tensors to put back into model and optimizer.
pub(crate) struct Loaded {
    pub run: RunState,
    pub rng: Rng,
    pub model: Vec<(String, Tensor)>,
    pub optimizer: OptimizerState,
}

pub(crate) fn rng_state(rng: &Rng) -> (u64, String) {
    let (seed, pos) = rng.state();
    (seed, pos.to_string())
}

/// Rebuilds the generator whose `state()` was saved. `Rng::from_state` is tried with the
/// saved seed word and with the run's configured seed; the one that reproduces the saved
/// state is the right one.
fn restore_rng(saved: &(u64, String), config_seed: u64, path: &Path) -> Result<Rng> {
    let pos: u128 = saved.1.parse().map_err(|_| Error::Format {
        path: path.to_path_buf(),
        msg: format!("bad RNG position {:?}", saved.1),
    })?;
    [saved.0, config_seed]
        .into_iter()
        .map(|seed| Rng::from_state(seed, pos))
        .find(|r| r.state() == (saved.0, pos))
        .ok_or_else(|| Error::Format {
            path: path.to_path_buf(),
            msg: "the saved RNG state cannot be restored".into(),
        })
}

/// Writes `last.safetensors` atomically.
pub(crate) fn save_last(
    path: &Path,
    model: &dyn Module,
    optimizer: &OptimizerState,
    run: &RunState,
) -> Result<()> {
    let mut tensors: Vec<(String, Tensor)> = state_dict(model)
        .into_iter()
        .map(|(n, t)| (format!("{MODEL_PREFIX}{n}"), t))
        .collect();
    for (k, t) in &optimizer.tensors {
        tensors.push((format!("{OPTIM_PREFIX}{k}"), t.clone()));
    }
    let scalars: Vec<f64> = optimizer.scalars.values().copied().collect();
    if !scalars.is_empty() {
        let n = scalars.len();
        tensors.push((OPTIM_SCALARS.into(), Tensor::from_vec(scalars, &[n])?));
    }
    let mut run = run.clone();
    run.optim_scalar_names = optimizer.scalars.keys().cloned().collect();
    let json =
        serde_json::to_string(&run).map_err(|e| Error::config("checkpoint", e.to_string()))?;
    let meta = BTreeMap::from([(META_KEY.to_string(), json)]);
    save_safetensors(path, &tensors, &meta)
}

/// Reads `last.safetensors` back.
pub(crate) fn load_last(path: &Path) -> Result<Loaded> {
    let bad = |msg: String| Error::Format {
        path: path.to_path_buf(),
        msg,
    };
    let (tensors, meta) = load_safetensors(path)?;
    let json = meta
        .get(META_KEY)
        .ok_or_else(|| bad("not a Trainer checkpoint (no run state in its metadata)".into()))?;
    let run: RunState =
        serde_json::from_str(json).map_err(|e| bad(format!("unreadable run state ({e})")))?;
    if run.version != FORMAT_VERSION {
        return Err(bad(format!(
            "checkpoint format {} is not supported",
            run.version
        )));
    }
    let mut model = Vec::new();
    let mut optimizer = OptimizerState::default();
    for (name, t) in tensors {
        if let Some(n) = name.strip_prefix(MODEL_PREFIX) {
            model.push((n.to_string(), t));
        } else if let Some(k) = name.strip_prefix(OPTIM_PREFIX) {
            optimizer.tensors.insert(k.to_string(), t);
        } else if name == OPTIM_SCALARS {
            let values = t.to_vec::<f64>()?;
            if values.len() != run.optim_scalar_names.len() {
                return Err(bad("optimizer scalars do not match their names".into()));
            }
            optimizer.scalars = run.optim_scalar_names.iter().cloned().zip(values).collect();
        }
    }
    let rng = restore_rng(&run.rng_state, run.config.seed, path)?;
    Ok(Loaded {
        run,
        rng,
        model,
        optimizer,
    })
}

/// Writes `best.safetensors`: the model's state dict, with the epoch and metric noted.
pub(crate) fn save_best(
    path: &Path,
    model: &dyn Module,
    epoch: usize,
    metric: &str,
    value: f64,
) -> Result<()> {
    let meta = BTreeMap::from([
        ("epoch".to_string(), epoch.to_string()),
        ("metric".to_string(), metric.to_string()),
        ("value".to_string(), value.to_string()),
    ]);
    save_safetensors(path, &state_dict(model), &meta)
}
