//! Inverted dropout as a module: active in training mode, the identity in eval mode.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use zhixing_tensor::{Rng, Tensor};

use crate::module::join;
use crate::{Error, Module, Result};

/// Zeroes each element with probability `p` in training mode and scales the survivors
/// by 1/(1−p). Owns a generator seeded from the `Rng` given at construction, so a run
/// with the same seed drops the same elements. The generator is visited as `"rng"` by
/// [`Module::visit_rngs`], so the Trainer's checkpoints carry its position.
pub struct Dropout {
    p: f64,
    training: AtomicBool,
    rng: Mutex<Rng>,
}

impl Dropout {
    /// `p` must be in [0, 1). Starts in training mode, as PyTorch modules do.
    pub fn new(p: f64, rng: &mut Rng) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::config(
                "dropout probability",
                format!("must be in [0, 1), got {p}"),
            ));
        }
        Ok(Dropout {
            p,
            training: AtomicBool::new(true),
            rng: Mutex::new(Rng::seed(rng.next_u64())),
        })
    }

    pub fn p(&self) -> f64 {
        self.p
    }

    pub fn is_training(&self) -> bool {
        self.training.load(Ordering::Relaxed)
    }
}

impl Module for Dropout {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if !self.is_training() || self.p == 0.0 {
            return Ok(x.clone());
        }
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        Ok(x.dropout(self.p, true, &mut rng)?)
    }

    fn visit_params(&self, _prefix: &str, _f: &mut dyn FnMut(&str, &Tensor)) {}

    fn visit_rngs(&self, prefix: &str, f: &mut dyn FnMut(&str, &Mutex<Rng>)) {
        f(&join(prefix, "rng"), &self.rng);
    }

    fn set_training(&self, training: bool) {
        self.training.store(training, Ordering::Relaxed);
    }
}
