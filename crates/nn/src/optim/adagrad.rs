//! Adagrad: per-element learning rates from the running sum of squared gradients.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zhixing_tensor::{Float, Tensor};

use super::{decayed, delegate_optimizer, non_negative, scalar, Bufs, Core, Rule};
use crate::Result;

/// Settings of [`Adagrad`], named and defaulted as in `torch.optim.Adagrad`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AdagradConfig {
    pub lr: f64,
    pub lr_decay: f64,
    pub weight_decay: f64,
    pub initial_accumulator_value: f64,
    pub eps: f64,
}

impl Default for AdagradConfig {
    fn default() -> Self {
        AdagradConfig {
            lr: 0.01,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
        }
    }
}

/// Adagrad as in PyTorch: `g += wd·p; clr = lr / (1 + (t−1)·lr_decay); sum += g²;
/// p −= clr·g / (√sum + eps)`, with `sum` starting at `initial_accumulator_value`.
pub struct Adagrad {
    core: Core<AdagradConfig>,
}

impl Adagrad {
    pub fn new(params: Vec<Tensor>, config: AdagradConfig) -> Result<Self> {
        Ok(Adagrad {
            core: Core::new(params, config)?,
        })
    }

    pub fn config(&self) -> AdagradConfig {
        self.core.rule
    }

    pub fn params(&self) -> &[Tensor] {
        &self.core.params
    }
}

delegate_optimizer!(Adagrad);

impl Rule for AdagradConfig {
    const BUFFERS: &'static [&'static str] = &["sum"];

    fn initial_value(&self) -> f64 {
        self.initial_accumulator_value
    }

    fn validate(&self) -> Result<()> {
        non_negative("lr", self.lr)?;
        non_negative("lr_decay", self.lr_decay)?;
        non_negative("weight_decay", self.weight_decay)?;
        non_negative("initial_accumulator_value", self.initial_accumulator_value)?;
        non_negative("eps", self.eps)
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn to_scalars(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("lr", self.lr),
            ("lr_decay", self.lr_decay),
            ("weight_decay", self.weight_decay),
            ("initial_accumulator_value", self.initial_accumulator_value),
            ("eps", self.eps),
        ]
    }

    fn with_scalars(&self, s: &BTreeMap<String, f64>) -> Result<Self> {
        Ok(AdagradConfig {
            lr: scalar(s, "lr", self.lr),
            lr_decay: scalar(s, "lr_decay", self.lr_decay),
            weight_decay: scalar(s, "weight_decay", self.weight_decay),
            initial_accumulator_value: scalar(
                s,
                "initial_accumulator_value",
                self.initial_accumulator_value,
            ),
            eps: scalar(s, "eps", self.eps),
        })
    }

    fn update<T: Float>(&self, step: u64, _fresh: bool, p: &mut [T], g: &[T], b: Bufs<'_, T>) {
        let [sum, ..] = b;
        let clr = T::from_f64(self.lr / (1.0 + (step - 1) as f64 * self.lr_decay));
        let wd = T::from_f64(self.weight_decay);
        let eps = T::from_f64(self.eps);
        for ((p, &g), s) in p.iter_mut().zip(g).zip(sum.iter_mut()) {
            let d = decayed(g, *p, wd);
            *s += d * d;
            *p -= clr * (d / (s.sqrt() + eps));
        }
    }
}
