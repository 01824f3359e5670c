//! Learning-rate schedules: an optional linear warm-up followed by a decay.
//!
//! Steps count from 0. With `warmup_steps = w > 0` the rate climbs linearly,
//! `lr_at(s) = base_lr·(s+1)/w` for `s < w` (so step `w−1` reaches `base_lr`, as in common
//! GPT recipes), and the decay then runs on `s − w`. The decays match PyTorch's schedulers
//! in closed form:
//!
//! | `Decay`       | `lr` at decay step `t`                                   | PyTorch            |
//! |---------------|----------------------------------------------------------|--------------------|
//! | `Constant`    | `base`                                                   | —                  |
//! | `Step`        | `base·γ^⌊t/step_size⌋`                                   | `StepLR`           |
//! | `Exponential` | `base·γ^t`                                               | `ExponentialLR`    |
//! | `Cosine`      | `min + (base−min)·(1+cos(π·t/T))/2`, then `min` for t ≥ T | `CosineAnnealingLR`|
//! | `Linear`      | `base + (end−base)·t/T`, then `end` for t ≥ T            | `LinearLR`         |
//!
//! ```
//! use zhixing_nn::schedule::{Decay, LrSchedule};
//! let s = LrSchedule::new(0.1, Decay::Cosine { total_steps: 10, min_lr: 0.0 }).with_warmup(4);
//! assert_eq!(s.lr_at(0), 0.025);
//! assert_eq!(s.lr_at(3), 0.1);
//! assert!(s.lr_at(14) < 1e-12);
//! ```

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How the rate falls after warm-up; `t` below is the step counted from the end of warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Decay {
    /// `base_lr` throughout.
    Constant,
    /// Multiplied by `gamma` every `step_size` steps.
    Step { step_size: usize, gamma: f64 },
    /// Multiplied by `gamma` every step.
    Exponential { gamma: f64 },
    /// Half a cosine from `base_lr` down to `min_lr` over `total_steps`, then `min_lr`.
    Cosine { total_steps: usize, min_lr: f64 },
    /// A straight line from `base_lr` to `end_lr` over `total_steps`, then `end_lr`.
    Linear { total_steps: usize, end_lr: f64 },
}

/// A learning rate for every step: warm-up, then `decay`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LrSchedule {
    pub base_lr: f64,
    pub warmup_steps: usize,
    pub decay: Decay,
}

impl LrSchedule {
    pub fn new(base_lr: f64, decay: Decay) -> Self {
        LrSchedule {
            base_lr,
            warmup_steps: 0,
            decay,
        }
    }

    /// Adds a linear warm-up of `steps` steps before the decay starts.
    pub fn with_warmup(self, steps: usize) -> Self {
        LrSchedule {
            warmup_steps: steps,
            ..self
        }
    }

    /// The learning rate of step `step` (counted from 0).
    pub fn lr_at(&self, step: usize) -> f64 {
        let base = self.base_lr;
        let w = self.warmup_steps;
        if step < w {
            return base * (step + 1) as f64 / w as f64;
        }
        let t = step - w;
        match self.decay {
            Decay::Constant => base,
            Decay::Step { step_size, gamma } => base * gamma.powf((t / step_size.max(1)) as f64),
            Decay::Exponential { gamma } => base * gamma.powf(t as f64),
            Decay::Cosine {
                total_steps,
                min_lr,
            } => {
                if t >= total_steps {
                    return min_lr;
                }
                let progress = t as f64 / total_steps as f64;
                min_lr + (base - min_lr) * (1.0 + (std::f64::consts::PI * progress).cos()) / 2.0
            }
            Decay::Linear {
                total_steps,
                end_lr,
            } => {
                if t >= total_steps {
                    return end_lr;
                }
                base + (end_lr - base) * t as f64 / total_steps as f64
            }
        }
    }

    /// Checks that every rate is finite and non-negative and every length positive.
    pub fn validate(&self) -> Result<()> {
        non_negative("base_lr", self.base_lr)?;
        match self.decay {
            Decay::Constant => Ok(()),
            Decay::Step { step_size, gamma } => {
                positive("step_size", step_size)?;
                non_negative("gamma", gamma)
            }
            Decay::Exponential { gamma } => non_negative("gamma", gamma),
            Decay::Cosine {
                total_steps,
                min_lr,
            } => {
                positive("total_steps", total_steps)?;
                non_negative("min_lr", min_lr)
            }
            Decay::Linear {
                total_steps,
                end_lr,
            } => {
                positive("total_steps", total_steps)?;
                non_negative("end_lr", end_lr)
            }
        }
    }
}

fn non_negative(what: &'static str, v: f64) -> Result<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(Error::config(
            what,
            format!("{v} (must be finite and >= 0)"),
        ))
    }
}

fn positive(what: &'static str, v: usize) -> Result<()> {
    if v > 0 {
        Ok(())
    } else {
        Err(Error::config(what, "0 (must be at least 1)"))
    }
}
