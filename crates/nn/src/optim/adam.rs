//! Adam (L2 weight decay in the gradient) and AdamW (decoupled weight decay), with AMSGrad.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zhixing_tensor::{Float, Tensor};

use super::{
    bit, decayed, delegate_optimizer, flag, non_negative, scalar, unit_interval, Bufs, Core, Rule,
};
use crate::{Error, Result};

/// Settings of [`Adam`], named and defaulted as in `torch.optim.Adam`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AdamConfig {
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    /// L2 penalty: `g += weight_decay·p` before the moments.
    pub weight_decay: f64,
    pub amsgrad: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
        }
    }
}

/// Settings of [`AdamW`], named and defaulted as in `torch.optim.AdamW`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AdamWConfig {
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    /// Decoupled decay: `p −= lr·weight_decay·p` before the Adam update.
    pub weight_decay: f64,
    pub amsgrad: bool,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig {
            lr: 1e-3,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 1e-2,
            amsgrad: false,
        }
    }
}

/// Adam as in PyTorch, with per-parameter step count `t`:
/// `g += wd·p; m = lerp(m, g, 1−β1); v = β2·v + (1−β2)·g²` (AMSGrad: `v̂ = max(v̂, v)`);
/// `p −= lr/(1−β1ᵗ) · m / (√v / √(1−β2ᵗ) + eps)`.
pub struct Adam {
    core: Core<AdamRule>,
}

/// AdamW: Adam whose weight decay is decoupled from the gradient,
/// `p *= 1 − lr·wd` before the Adam update (Loshchilov & Hutter).
pub struct AdamW {
    core: Core<AdamRule>,
}

impl Adam {
    pub fn new(params: Vec<Tensor>, c: AdamConfig) -> Result<Self> {
        let rule = AdamRule {
            lr: c.lr,
            betas: c.betas,
            eps: c.eps,
            weight_decay: c.weight_decay,
            amsgrad: c.amsgrad,
            decoupled: false,
        };
        Ok(Adam {
            core: Core::new(params, rule)?,
        })
    }

    pub fn config(&self) -> AdamConfig {
        let r = &self.core.rule;
        AdamConfig {
            lr: r.lr,
            betas: r.betas,
            eps: r.eps,
            weight_decay: r.weight_decay,
            amsgrad: r.amsgrad,
        }
    }

    pub fn params(&self) -> &[Tensor] {
        &self.core.params
    }
}

impl AdamW {
    pub fn new(params: Vec<Tensor>, c: AdamWConfig) -> Result<Self> {
        let rule = AdamRule {
            lr: c.lr,
            betas: c.betas,
            eps: c.eps,
            weight_decay: c.weight_decay,
            amsgrad: c.amsgrad,
            decoupled: true,
        };
        Ok(AdamW {
            core: Core::new(params, rule)?,
        })
    }

    pub fn config(&self) -> AdamWConfig {
        let r = &self.core.rule;
        AdamWConfig {
            lr: r.lr,
            betas: r.betas,
            eps: r.eps,
            weight_decay: r.weight_decay,
            amsgrad: r.amsgrad,
        }
    }

    pub fn params(&self) -> &[Tensor] {
        &self.core.params
    }
}

delegate_optimizer!(Adam);
delegate_optimizer!(AdamW);

/// The rule both share; `decoupled` picks AdamW's weight decay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct AdamRule {
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    weight_decay: f64,
    amsgrad: bool,
    decoupled: bool,
}

impl Rule for AdamRule {
    const BUFFERS: &'static [&'static str] = &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"];

    fn uses(&self, k: usize) -> bool {
        k < 2 || self.amsgrad
    }

    fn validate(&self) -> Result<()> {
        non_negative("lr", self.lr)?;
        non_negative("eps", self.eps)?;
        unit_interval("betas.0", self.betas.0)?;
        unit_interval("betas.1", self.betas.1)?;
        non_negative("weight_decay", self.weight_decay)
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
            ("beta1", self.betas.0),
            ("beta2", self.betas.1),
            ("eps", self.eps),
            ("weight_decay", self.weight_decay),
            ("amsgrad", bit(self.amsgrad)),
            ("decoupled_weight_decay", bit(self.decoupled)),
        ]
    }

    fn with_scalars(&self, s: &BTreeMap<String, f64>) -> Result<Self> {
        if flag(s, "decoupled_weight_decay", self.decoupled) != self.decoupled {
            return Err(Error::StateDict(
                "optimizer: state of Adam loaded into AdamW or the reverse".into(),
            ));
        }
        Ok(AdamRule {
            lr: scalar(s, "lr", self.lr),
            betas: (
                scalar(s, "beta1", self.betas.0),
                scalar(s, "beta2", self.betas.1),
            ),
            eps: scalar(s, "eps", self.eps),
            weight_decay: scalar(s, "weight_decay", self.weight_decay),
            amsgrad: flag(s, "amsgrad", self.amsgrad),
            decoupled: self.decoupled,
        })
    }

    fn update<T: Float>(&self, step: u64, _fresh: bool, p: &mut [T], g: &[T], b: Bufs<'_, T>) {
        let k = AdamStep::new(self, step);
        let [m, v, vmax] = b;
        let pg = p.iter_mut().zip(g);
        if vmax.is_empty() {
            for ((p, &g), (m, v)) in pg.zip(m.iter_mut().zip(v.iter_mut())) {
                k.apply(p, g, m, v, None);
            }
        } else {
            let mv = m.iter_mut().zip(v.iter_mut());
            for (((p, &g), (m, v)), vmax) in pg.zip(mv).zip(vmax.iter_mut()) {
                k.apply(p, g, m, v, Some(vmax));
            }
        }
    }
}

/// The scalars of one Adam step of one parameter, in the parameter's dtype.
struct AdamStep<T> {
    step_size: T,
    inv_bc2_sqrt: T,
    w1: T,
    beta2: T,
    w2: T,
    eps: T,
    l2: T,
    shrink: T,
}

impl<T: Float> AdamStep<T> {
    fn new(r: &AdamRule, step: u64) -> Self {
        let (beta1, beta2) = r.betas;
        // Bias corrections in f64 from the parameter's own step count, as PyTorch does.
        let t = step as f64;
        let (l2, shrink) = if r.decoupled {
            (0.0, 1.0 - r.lr * r.weight_decay)
        } else {
            (r.weight_decay, 1.0)
        };
        AdamStep {
            step_size: T::from_f64(r.lr / (1.0 - beta1.powf(t))),
            inv_bc2_sqrt: T::from_f64(1.0 / (1.0 - beta2.powf(t)).sqrt()),
            w1: T::from_f64(1.0 - beta1),
            beta2: T::from_f64(beta2),
            w2: T::from_f64(1.0 - beta2),
            eps: T::from_f64(r.eps),
            l2: T::from_f64(l2),
            shrink: T::from_f64(shrink),
        }
    }

    /// One element; `shrink` is 1 (exact) unless the decay is decoupled.
    #[inline(always)]
    fn apply(&self, p: &mut T, g: T, m: &mut T, v: &mut T, vmax: Option<&mut T>) {
        *p *= self.shrink;
        let d = decayed(g, *p, self.l2);
        *m = *m + self.w1 * (d - *m);
        *v = *v * self.beta2 + self.w2 * d * d;
        let second = match vmax {
            Some(vmax) => {
                *vmax = vmax.max(*v);
                *vmax
            }
            None => *v,
        };
        let denom = second.sqrt() * self.inv_bc2_sqrt + self.eps;
        *p -= self.step_size * (*m / denom);
    }
}
