//! RMSProp, optionally centered and with momentum.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zhixing_tensor::{Float, Tensor};

use super::{bit, decayed, delegate_optimizer, flag, non_negative, scalar, Bufs, Core, Rule};
use crate::Result;

/// Settings of [`RmsProp`], named and defaulted as in `torch.optim.RMSprop`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RmsPropConfig {
    pub lr: f64,
    pub alpha: f64,
    pub eps: f64,
    pub weight_decay: f64,
    pub momentum: f64,
    pub centered: bool,
}

impl Default for RmsPropConfig {
    fn default() -> Self {
        RmsPropConfig {
            lr: 0.01,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
        }
    }
}

/// RMSProp as in PyTorch:
/// `g += wd·p; v = α·v + (1−α)·g²`; centered: `ḡ = lerp(ḡ, g, 1−α)`, `avg = √(v − ḡ²) + eps`,
/// else `avg = √v + eps`; with momentum `buf = μ·buf + g/avg; p −= lr·buf`,
/// else `p −= lr·g/avg`.
pub struct RmsProp {
    core: Core<RmsPropConfig>,
}

impl RmsProp {
    pub fn new(params: Vec<Tensor>, config: RmsPropConfig) -> Result<Self> {
        Ok(RmsProp {
            core: Core::new(params, config)?,
        })
    }

    pub fn config(&self) -> RmsPropConfig {
        self.core.rule
    }

    pub fn params(&self) -> &[Tensor] {
        &self.core.params
    }
}

delegate_optimizer!(RmsProp);

impl Rule for RmsPropConfig {
    const BUFFERS: &'static [&'static str] = &["square_avg", "grad_avg", "momentum_buffer"];

    fn uses(&self, k: usize) -> bool {
        match k {
            1 => self.centered,
            2 => self.momentum > 0.0,
            _ => true,
        }
    }

    fn validate(&self) -> Result<()> {
        non_negative("lr", self.lr)?;
        non_negative("alpha", self.alpha)?;
        non_negative("eps", self.eps)?;
        non_negative("weight_decay", self.weight_decay)?;
        non_negative("momentum", self.momentum)
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
            ("alpha", self.alpha),
            ("eps", self.eps),
            ("weight_decay", self.weight_decay),
            ("momentum", self.momentum),
            ("centered", bit(self.centered)),
        ]
    }

    fn with_scalars(&self, s: &BTreeMap<String, f64>) -> Result<Self> {
        Ok(RmsPropConfig {
            lr: scalar(s, "lr", self.lr),
            alpha: scalar(s, "alpha", self.alpha),
            eps: scalar(s, "eps", self.eps),
            weight_decay: scalar(s, "weight_decay", self.weight_decay),
            momentum: scalar(s, "momentum", self.momentum),
            centered: flag(s, "centered", self.centered),
        })
    }

    fn update<T: Float>(&self, _step: u64, _fresh: bool, p: &mut [T], g: &[T], b: Bufs<'_, T>) {
        let k = RmsStep::new(self);
        let [sq, ga, buf] = b;
        let base = p.iter_mut().zip(g).zip(sq.iter_mut());
        // One loop per variant so each compiles to a branch-free, vectorizable body.
        match (ga.is_empty(), buf.is_empty()) {
            (true, true) => base.for_each(|((p, &g), sq)| k.apply(p, g, sq, None, None)),
            (false, true) => base
                .zip(ga.iter_mut())
                .for_each(|(((p, &g), sq), ga)| k.apply(p, g, sq, Some(ga), None)),
            (true, false) => base
                .zip(buf.iter_mut())
                .for_each(|(((p, &g), sq), b)| k.apply(p, g, sq, None, Some(b))),
            (false, false) => base
                .zip(ga.iter_mut().zip(buf.iter_mut()))
                .for_each(|(((p, &g), sq), (ga, b))| k.apply(p, g, sq, Some(ga), Some(b))),
        }
    }
}

/// The scalars of one RMSProp step, in the parameter's dtype.
struct RmsStep<T> {
    lr: T,
    wd: T,
    alpha: T,
    one_m_alpha: T,
    eps: T,
    momentum: T,
}

impl<T: Float> RmsStep<T> {
    fn new(c: &RmsPropConfig) -> Self {
        RmsStep {
            lr: T::from_f64(c.lr),
            wd: T::from_f64(c.weight_decay),
            alpha: T::from_f64(c.alpha),
            one_m_alpha: T::from_f64(1.0 - c.alpha),
            eps: T::from_f64(c.eps),
            momentum: T::from_f64(c.momentum),
        }
    }

    /// One element; `grad_avg` is present when centered, `buf` with momentum.
    #[inline(always)]
    fn apply(&self, p: &mut T, g: T, sq: &mut T, grad_avg: Option<&mut T>, buf: Option<&mut T>) {
        let d = decayed(g, *p, self.wd);
        *sq = *sq * self.alpha + self.one_m_alpha * d * d;
        let avg = match grad_avg {
            Some(ga) => {
                *ga = *ga + self.one_m_alpha * (d - *ga);
                (*sq - *ga * *ga).sqrt() + self.eps
            }
            None => sq.sqrt() + self.eps,
        };
        match buf {
            Some(b) => {
                *b = *b * self.momentum + d / avg;
                *p -= self.lr * *b;
            }
            None => *p -= self.lr * (d / avg),
        }
    }
}
