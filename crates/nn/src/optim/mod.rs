//! Optimizers: each updates its parameters in place from their `.grad()`.
//!
//! Every optimizer follows PyTorch's single-tensor algorithm (same defaults, same update
//! order, per-parameter step counts) so a model trained here and in PyTorch walks the same
//! path. The update of one parameter is a single fused pass over contiguous slices of the
//! parameter, its gradient and its state buffers (plain `Vec`s, split across threads for
//! large parameters); no tensor op runs and nothing is allocated per step.
//!
//! ```
//! use zhixing_nn::optim::{Optimizer, Sgd, SgdConfig};
//! use zhixing_tensor::Tensor;
//! let w = Tensor::from_vec(vec![1.0f32, -2.0], &[2]).unwrap().requires_grad_(true);
//! let cfg = SgdConfig { lr: 0.1, ..SgdConfig::default() };
//! let mut opt = Sgd::new(vec![w.clone()], cfg).unwrap();
//! w.square().unwrap().sum_all().unwrap().backward().unwrap(); // grad = 2w
//! opt.step().unwrap();
//! assert_eq!(w.to_vec::<f32>().unwrap(), vec![0.8, -1.6]);
//! ```

use std::collections::{BTreeMap, HashSet};

use zhixing_tensor::{cpu, DType, Element, Float, Storage, Tensor};

use crate::{Error, Result};

mod adagrad;
mod adam;
mod rmsprop;
mod sgd;

pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig, AdamW, AdamWConfig};
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use sgd::{Sgd, SgdConfig};

/// Everything an optimizer needs to continue exactly where it stopped: scalar settings
/// and counters, and per-parameter tensors (moments, velocities) named by parameter index.
#[derive(Debug, Clone, Default)]
pub struct OptimizerState {
    pub scalars: BTreeMap<String, f64>,
    pub tensors: BTreeMap<String, Tensor>,
}

pub trait Optimizer: Send {
    /// One update of every parameter that has a gradient.
    fn step(&mut self) -> Result<()>;

    /// Clears the gradients of the optimizer's parameters.
    fn zero_grad(&self);

    fn lr(&self) -> f64;

    fn set_lr(&mut self, lr: f64);

    fn state(&self) -> OptimizerState;

    fn load_state(&mut self, state: &OptimizerState) -> Result<()>;
}

/// Most state buffers any optimizer keeps per parameter.
pub(crate) const MAX_BUFFERS: usize = 3;

/// Per-chunk state buffers; an unused buffer is an empty slice.
pub(crate) type Bufs<'a, T> = [&'a mut [T]; MAX_BUFFERS];

/// The update rule of one optimizer: its hyperparameters and its fused per-element kernel.
pub(crate) trait Rule: Clone + Send + Sync {
    /// Names of the per-parameter buffers, in kernel order (`"exp_avg"`, …).
    const BUFFERS: &'static [&'static str];

    /// Whether this configuration uses buffer `k` (unused ones are never allocated).
    fn uses(&self, _k: usize) -> bool {
        true
    }

    /// The value a buffer starts at when first allocated.
    fn initial_value(&self) -> f64 {
        0.0
    }

    fn validate(&self) -> Result<()>;

    fn lr(&self) -> f64;

    fn set_lr(&mut self, lr: f64);

    /// Hyperparameters as named scalars (flags as 0/1).
    fn to_scalars(&self) -> Vec<(&'static str, f64)>;

    /// A copy with the hyperparameters found in `s`; missing names keep their values.
    fn with_scalars(&self, s: &BTreeMap<String, f64>) -> Result<Self>;

    /// Updates one chunk of a parameter in place. `step` is the parameter's step count
    /// including this step; `fresh` is true when the buffers were allocated just now.
    fn update<T: Float>(&self, step: u64, fresh: bool, p: &mut [T], g: &[T], b: Bufs<'_, T>);
}

/// One parameter's optimizer state: its step count and buffers (`None` until first used).
#[derive(Debug, Clone, Default)]
pub(crate) struct Slot {
    step: u64,
    bufs: [Option<Storage>; MAX_BUFFERS],
}

/// Parameters, their state and a rule: the machinery every optimizer shares.
pub(crate) struct Core<R: Rule> {
    pub(crate) params: Vec<Tensor>,
    pub(crate) rule: R,
    slots: Vec<Slot>,
}

impl<R: Rule> Core<R> {
    pub(crate) fn new(params: Vec<Tensor>, rule: R) -> Result<Self> {
        rule.validate()?;
        check_params(&params)?;
        let slots = vec![Slot::default(); params.len()];
        Ok(Core {
            params,
            rule,
            slots,
        })
    }

    pub(crate) fn step(&mut self) -> Result<()> {
        for (p, slot) in self.params.iter().zip(&mut self.slots) {
            let Some(g) = p.grad() else { continue };
            match p.dtype() {
                DType::F32 => update_param::<f32, R>(&self.rule, p, &g, slot)?,
                DType::F64 => update_param::<f64, R>(&self.rule, p, &g, slot)?,
                d => return Err(float_only(d)),
            }
        }
        Ok(())
    }

    pub(crate) fn zero_grad(&self) {
        self.params.iter().for_each(Tensor::zero_grad);
    }

    pub(crate) fn state(&self) -> OptimizerState {
        let mut st = OptimizerState::default();
        for (k, v) in self.rule.to_scalars() {
            st.scalars.insert(k.to_string(), v);
        }
        st.scalars
            .insert("num_params".into(), self.params.len() as f64);
        for (i, (p, slot)) in self.params.iter().zip(&self.slots).enumerate() {
            if slot.step > 0 {
                st.scalars
                    .insert(format!("param.{i}.step"), slot.step as f64);
            }
            for (name, buf) in R::BUFFERS.iter().zip(&slot.bufs) {
                if let Some(buf) = buf {
                    st.tensors
                        .insert(format!("param.{i}.{name}"), storage_tensor(buf, p.shape()));
                }
            }
        }
        st
    }

    /// Replaces hyperparameters and all per-parameter state; on error nothing changes.
    pub(crate) fn load_state(&mut self, st: &OptimizerState) -> Result<()> {
        let rule = self.rule.with_scalars(&st.scalars)?;
        rule.validate()?;
        let hyper: HashSet<&str> = rule.to_scalars().iter().map(|(k, _)| *k).collect();
        let mut slots = vec![Slot::default(); self.params.len()];
        for (key, &v) in &st.scalars {
            if hyper.contains(key.as_str()) {
                continue;
            }
            if key == "num_params" {
                if v != self.params.len() as f64 {
                    return Err(state_err(format!(
                        "state is for {v} parameters, the optimizer has {}",
                        self.params.len()
                    )));
                }
                continue;
            }
            let (i, field) = self.param_key(key)?;
            if field != "step" || !(v >= 0.0 && v.fract() == 0.0) {
                return Err(state_err(format!("unexpected scalar {key} = {v}")));
            }
            slots[i].step = v as u64;
        }
        for (key, t) in &st.tensors {
            let (i, field) = self.param_key(key)?;
            let k = R::BUFFERS.iter().position(|b| *b == field);
            let k = k.ok_or_else(|| state_err(format!("unexpected tensor {key}")))?;
            slots[i].bufs[k] = Some(tensor_storage(key, t, &self.params[i])?);
        }
        self.rule = rule;
        self.slots = slots;
        Ok(())
    }

    /// Splits `"param.{i}.{field}"` into a checked index and the field.
    fn param_key<'k>(&self, key: &'k str) -> Result<(usize, &'k str)> {
        let parsed = key.strip_prefix("param.").and_then(|rest| {
            let (i, field) = rest.split_once('.')?;
            Some((i.parse::<usize>().ok()?, field))
        });
        match parsed {
            Some((i, field)) if i < self.params.len() => Ok((i, field)),
            _ => Err(state_err(format!("unexpected entry {key}"))),
        }
    }
}

/// Implements [`Optimizer`] for a struct whose `core` field is a [`Core`].
macro_rules! delegate_optimizer {
    ($t:ty) => {
        impl $crate::optim::Optimizer for $t {
            fn step(&mut self) -> $crate::Result<()> {
                self.core.step()
            }
            fn zero_grad(&self) {
                self.core.zero_grad()
            }
            fn lr(&self) -> f64 {
                $crate::optim::Rule::lr(&self.core.rule)
            }
            fn set_lr(&mut self, lr: f64) {
                $crate::optim::Rule::set_lr(&mut self.core.rule, lr)
            }
            fn state(&self) -> $crate::optim::OptimizerState {
                self.core.state()
            }
            fn load_state(&mut self, state: &$crate::optim::OptimizerState) -> $crate::Result<()> {
                self.core.load_state(state)
            }
        }
    };
}
pub(crate) use delegate_optimizer;

/// Parameters must be distinct, contiguous f32/f64 leaf tensors.
fn check_params(params: &[Tensor]) -> Result<()> {
    let mut seen = HashSet::new();
    for (i, p) in params.iter().enumerate() {
        let msg = if !p.dtype().is_float() {
            format!(
                "{} (only f32 and f64 parameters can be optimized)",
                p.dtype()
            )
        } else if !p.is_leaf() {
            "is not a leaf tensor (it was computed by an op)".to_string()
        } else if !p.is_contiguous() {
            "is a strided view; pass a contiguous tensor".to_string()
        } else if !seen.insert(p.id()) {
            "appears more than once".to_string()
        } else {
            continue;
        };
        return Err(Error::config("parameters", format!("parameter {i} {msg}")));
    }
    Ok(())
}

fn float_only(d: DType) -> Error {
    Error::config(
        "parameters",
        format!("{d} parameter: only f32 and f64 are optimized"),
    )
}

fn state_err(msg: String) -> Error {
    Error::StateDict(format!("optimizer: {msg}"))
}

/// One step of one parameter: allocate buffers on first use, count the step, run the kernel.
fn update_param<T: Float, R: Rule>(
    rule: &R,
    p: &Tensor,
    g: &Tensor,
    slot: &mut Slot,
) -> Result<()> {
    if g.shape() != p.shape() || g.dtype() != p.dtype() {
        return Err(Error::config(
            "gradient",
            format!(
                "{:?} {} for a {:?} {} parameter",
                g.shape(),
                g.dtype(),
                p.shape(),
                p.dtype()
            ),
        ));
    }
    let n = p.numel();
    let mut fresh = false;
    for (k, buf) in slot.bufs.iter_mut().enumerate().take(R::BUFFERS.len()) {
        if buf.is_none() && rule.uses(k) {
            *buf = Some(Storage::full(T::DTYPE, n, rule.initial_value()));
            fresh = true;
        }
    }
    slot.step += 1;
    let step = slot.step;
    let [b0, b1, b2] = &mut slot.bufs;
    let bufs = [typed::<T>(b0)?, typed::<T>(b1)?, typed::<T>(b2)?];
    let kernel = |p: &mut [T], g: &[T], b: Bufs<'_, T>| rule.update(step, fresh, p, g, b);
    with_param_grad(p, g, |ps: &mut [T], gs: &[T]| {
        if n < cpu::PARALLEL_THRESHOLD {
            kernel(ps, gs, bufs)
        } else {
            split_run(ps, gs, bufs, cpu::chunk_len(n), &kernel)
        }
    })
}

fn typed<T: Element>(buf: &mut Option<Storage>) -> Result<&mut [T]> {
    match buf {
        None => Ok(&mut []),
        Some(s) => T::slice_mut(s)
            .ok_or_else(|| state_err("a buffer's dtype differs from its parameter's".into())),
    }
}

/// Runs `f(param, grad)` on contiguous slices. The gradient is read in place unless it is
/// strided or shares storage with the parameter, in which case it is copied first.
fn with_param_grad<T: Float>(p: &Tensor, g: &Tensor, f: impl FnOnce(&mut [T], &[T])) -> Result<()> {
    let mut f = Some(f);
    if g.is_contiguous() && !g.same_storage(p) {
        let mut inner = Ok(());
        p.update_(|ps: &mut [T]| {
            inner = g.update_(|gs: &mut [T]| f.take().expect("called once")(ps, gs));
        })?;
        return Ok(inner?);
    }
    let gv = g.to_vec::<T>()?;
    p.update_(|ps: &mut [T]| f.take().expect("called once")(ps, &gv))?;
    Ok(())
}

/// Splits the slices in halves, in parallel, until a piece has at most `leaf` elements.
fn split_run<T, F>(p: &mut [T], g: &[T], b: Bufs<'_, T>, leaf: usize, f: &F)
where
    T: Send + Sync,
    F: Fn(&mut [T], &[T], Bufs<'_, T>) + Sync,
{
    if p.len() <= leaf {
        return f(p, g, b);
    }
    let mid = p.len() / 2;
    let (pl, pr) = p.split_at_mut(mid);
    let (gl, gr) = g.split_at(mid);
    // Empty (unused) buffers split into two empty halves.
    let [(l0, r0), (l1, r1), (l2, r2)] = b.map(|s| {
        let at = mid.min(s.len());
        s.split_at_mut(at)
    });
    rayon::join(
        || split_run(pl, gl, [l0, l1, l2], leaf, f),
        || split_run(pr, gr, [r0, r1, r2], leaf, f),
    );
}

fn storage_tensor(s: &Storage, shape: &[usize]) -> Tensor {
    let t = match s {
        Storage::F32(v) => Tensor::from_slice(v, shape),
        Storage::F64(v) => Tensor::from_slice(v, shape),
        _ => unreachable!("optimizer buffers are f32 or f64"),
    };
    t.expect("a buffer has its parameter's element count")
}

/// A saved buffer as storage, checked against its parameter's shape and dtype.
fn tensor_storage(key: &str, t: &Tensor, p: &Tensor) -> Result<Storage> {
    if t.shape() != p.shape() || t.dtype() != p.dtype() {
        return Err(state_err(format!(
            "{key} is {:?} {}, its parameter is {:?} {}",
            t.shape(),
            t.dtype(),
            p.shape(),
            p.dtype()
        )));
    }
    Ok(match p.dtype() {
        DType::F32 => Storage::F32(t.to_vec::<f32>()?),
        DType::F64 => Storage::F64(t.to_vec::<f64>()?),
        d => return Err(float_only(d)),
    })
}

// ---- hyperparameter helpers shared by the rules ------------------------------------------

/// `s[name]` if present, else `current`.
pub(crate) fn scalar(s: &BTreeMap<String, f64>, name: &str, current: f64) -> f64 {
    s.get(name).copied().unwrap_or(current)
}

/// A 0/1 flag from `s[name]` if present, else `current`.
pub(crate) fn flag(s: &BTreeMap<String, f64>, name: &str, current: bool) -> bool {
    s.get(name).map_or(current, |&v| v != 0.0)
}

pub(crate) fn bit(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// Errors unless `value` is finite and ≥ 0 (NaN fails too).
pub(crate) fn non_negative(what: &'static str, value: f64) -> Result<()> {
    if value >= 0.0 && value.is_finite() {
        Ok(())
    } else {
        Err(Error::config(
            what,
            format!("{value} (must be finite and >= 0)"),
        ))
    }
}

/// Errors unless `value` is in [0, 1).
pub(crate) fn unit_interval(what: &'static str, value: f64) -> Result<()> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(Error::config(what, format!("{value} (must be in [0, 1))")))
    }
}

/// `g + wd·p` (L2 weight decay folded into the gradient), skipped when `wd` is zero.
#[inline(always)]
pub(crate) fn decayed<T: Float>(g: T, p: T, wd: T) -> T {
    if wd != T::zero() {
        g + wd * p
    } else {
        g
    }
}
