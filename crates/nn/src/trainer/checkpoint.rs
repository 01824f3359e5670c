//! Checkpoints: `best.safetensors` (the best epoch's model state dict, loadable with
//! `state::load_module`) and `last.safetensors` (everything a resumed run needs).
//!
//! `last.safetensors` holds the model's tensors as `model.<name>`, the optimizer's as
//! `optim.<key>`, its scalars as one f64 tensor `trainer.optim_scalars` (exact, NaN-safe),
//! and the rest of the run (config, counters, RNG positions, history) as JSON metadata.
//! The RNG positions are the Trainer's shuffle generator and every generator the model
//! owns (`Module::visit_rngs`, e.g. Dropout's), by name; checkpoints written before the
//! model's generators were saved have none, and resuming them restores none.

use std::collections::{BTreeMap, BTreeSet};
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
    /// `Rng::state()` of each generator the model owns, by its `visit_rngs` name (filled
    /// by `save_last`). None in older checkpoints: nothing to restore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_rngs: Option<BTreeMap<String, (u64, String)>>,
}

/// What `load_last` returns: the run, and the tensors to put back into model and optimizer.
pub(crate) struct Loaded {
    pub run: RunState,
    pub rng: Rng,
    pub model: Vec<(String, Tensor)>,
    pub optimizer: OptimizerState,
    /// The model's generators, by name; None when the checkpoint has none saved.
    pub module_rngs: Option<BTreeMap<String, Rng>>,
}

pub(crate) fn rng_state(rng: &Rng) -> (u64, String) {
    let (seed, pos) = rng.state();
    (seed, pos.to_string())
}

fn parse_position(saved: &(u64, String), path: &Path) -> Result<u128> {
    saved.1.parse().map_err(|_| Error::Format {
        path: path.to_path_buf(),
        msg: format!("bad RNG position {:?}", saved.1),
    })
}

/// Rebuilds the generator whose `state()` was saved. `Rng::from_state` is tried with the
/// saved seed word and with the run's configured seed; the one that reproduces the saved
/// state is the right one.
fn restore_rng(saved: &(u64, String), config_seed: u64, path: &Path) -> Result<Rng> {
    let pos = parse_position(saved, path)?;
    [saved.0, config_seed]
        .into_iter()
        .map(|seed| Rng::from_state(seed, pos))
        .find(|r| r.state() == (saved.0, pos))
        .ok_or_else(|| Error::Format {
            path: path.to_path_buf(),
            msg: "the saved RNG state cannot be restored".into(),
        })
}

/// The names of the generators the model owns, in visiting order; two with one name
/// could not be told apart in a checkpoint, so that is an error.
fn module_rng_names(model: &dyn Module) -> Result<Vec<String>> {
    let mut names = Vec::new();
    model.visit_rngs("", &mut |n, _| names.push(n.to_string()));
    let mut seen = BTreeSet::new();
    if let Some(dup) = names.iter().find(|n| !seen.insert(n.as_str())) {
        return Err(Error::StateDict(format!(
            "two random generators of the model are named {dup:?}"
        )));
    }
    Ok(names)
}

/// `Rng::state()` of every generator the model owns, by name.
fn module_rng_states(model: &dyn Module) -> Result<BTreeMap<String, (u64, String)>> {
    module_rng_names(model)?;
    let mut out = BTreeMap::new();
    model.visit_rngs("", &mut |n, m| {
        let rng = m.lock().unwrap_or_else(|e| e.into_inner());
        out.insert(n.to_string(), rng_state(&rng));
    });
    Ok(out)
}

/// Checks that the model owns exactly the generators saved in the checkpoint at `path`
/// (before anything is loaded, so a mismatch changes nothing).
pub(crate) fn check_module_rngs(
    model: &dyn Module,
    saved: &BTreeMap<String, Rng>,
    path: &Path,
) -> Result<()> {
    let own = module_rng_names(model)?;
    let missing: Vec<&str> = own
        .iter()
        .map(String::as_str)
        .filter(|n| !saved.contains_key(*n))
        .collect();
    let unexpected: Vec<&str> = saved
        .keys()
        .map(String::as_str)
        .filter(|n| !own.iter().any(|o| o == n))
        .collect();
    if missing.is_empty() && unexpected.is_empty() {
        return Ok(());
    }
    Err(Error::Format {
        path: path.to_path_buf(),
        msg: format!(
            "the model's random generators differ from the checkpoint's: \
             the model has {missing:?} that the checkpoint lacks, \
             the checkpoint has {unexpected:?} that the model lacks"
        ),
    })
}

/// Puts the saved generators into the model's, by name (after `check_module_rngs`).
pub(crate) fn load_module_rngs(model: &dyn Module, saved: &BTreeMap<String, Rng>) {
    model.visit_rngs("", &mut |n, m| {
        if let Some(rng) = saved.get(n) {
            *m.lock().unwrap_or_else(|e| e.into_inner()) = rng.clone();
        }
    });
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
    run.module_rngs = Some(module_rng_states(model)?);
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
    let module_rngs = match &run.module_rngs {
        None => None,
        Some(saved) => {
            let mut rngs = BTreeMap::new();
            for (name, state) in saved {
                let pos = parse_position(state, path)?;
                let rng = Rng::from_state(state.0, pos);
                if rng.state() != (state.0, pos) {
                    return Err(bad(format!("the RNG state of {name:?} cannot be restored")));
                }
                rngs.insert(name.clone(), rng);
            }
            Some(rngs)
        }
    };
    Ok(Loaded {
        run,
        rng,
        model,
        optimizer,
        module_rngs,
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
