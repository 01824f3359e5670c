//! Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zhixing_tensor::{Float, Tensor};

use super::{bit, decayed, delegate_optimizer, flag, non_negative, scalar, Bufs, Core, Rule};
use crate::{Error, Result};

/// Settings of [`Sgd`], named and defaulted as in `torch.optim.SGD`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SgdConfig {
    pub lr: f64,
    pub momentum: f64,
    pub dampening: f64,
    pub weight_decay: f64,
    pub nesterov: bool,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
        }
    }
}

/// SGD, PyTorch's update order:
/// `g += wd·p; buf = momentum·buf + (1−dampening)·g` (`buf = g` on its first step);
/// `g = g + momentum·buf` (Nesterov) or `g = buf`; `p −= lr·g`.
pub struct Sgd {
    core: Core<SgdConfig>,
}

impl Sgd {
    pub fn new(params: Vec<Tensor>, config: SgdConfig) -> Result<Self> {
        Ok(Sgd {
            core: Core::new(params, config)?,
        })
    }

    pub fn config(&self) -> SgdConfig {
        self.core.rule
    }

    pub fn params(&self) -> &[Tensor] {
        &self.core.params
    }
}

delegate_optimizer!(Sgd);

impl Rule for SgdConfig {
    const BUFFERS: &'static [&'static str] = &["momentum_buffer"];

    fn uses(&self, _k: usize) -> bool {
        self.momentum != 0.0
    }

    fn validate(&self) -> Result<()> {
        non_negative("lr", self.lr)?;
        non_negative("momentum", self.momentum)?;
        non_negative("dampening", self.dampening)?;
        non_negative("weight_decay", self.weight_decay)?;
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(Error::config(
                "nesterov",
                "Nesterov momentum requires momentum > 0 and zero dampening",
            ));
        }
        Ok(())
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
            ("momentum", self.momentum),
            ("dampening", self.dampening),
            ("weight_decay", self.weight_decay),
            ("nesterov", bit(self.nesterov)),
        ]
    }

    fn with_scalars(&self, s: &BTreeMap<String, f64>) -> Result<Self> {
        Ok(SgdConfig {
            lr: scalar(s, "lr", self.lr),
            momentum: scalar(s, "momentum", self.momentum),
            dampening: scalar(s, "dampening", self.dampening),
            weight_decay: scalar(s, "weight_decay", self.weight_decay),
            nesterov: flag(s, "nesterov", self.nesterov),
        })
    }

    fn update<T: Float>(&self, _step: u64, fresh: bool, p: &mut [T], g: &[T], b: Bufs<'_, T>) {
        let lr = T::from_f64(self.lr);
        let wd = T::from_f64(self.weight_decay);
        let [buf, ..] = b;
        if buf.is_empty() {
            // p −= lr·(g + wd·p)
            for (p, &g) in p.iter_mut().zip(g) {
                *p -= lr * decayed(g, *p, wd);
            }
            return;
        }
        let mom = T::from_f64(self.momentum);
        let keep = T::from_f64(1.0 - self.dampening);
        for ((p, &g), buf) in p.iter_mut().zip(g).zip(buf.iter_mut()) {
            let d = decayed(g, *p, wd);
            *buf = if fresh { d } else { mom * *buf + keep * d };
            let d = if self.nesterov { d + mom * *buf } else { *buf };
            *p -= lr * d;
        }
    }
}
