//! Gradient clipping, in place on the parameters' `.grad()`, as `torch.nn.utils` does it.
//!
//! ```
//! use zhixing_nn::clip::clip_grad_norm;
//! use zhixing_tensor::Tensor;
//! let w = Tensor::from_vec(vec![3.0f64, 4.0], &[2]).unwrap().requires_grad_(true);
//! w.mul_scalar(1.0).unwrap().sum_all().unwrap().backward().unwrap(); // grad = [1, 1]
//! let norm = clip_grad_norm(&[w.clone()], 1.0, 2.0).unwrap();
//! assert!((norm - 2f64.sqrt()).abs() < 1e-12);
//! let g = w.grad().unwrap().to_vec::<f64>().unwrap();
//! assert!((g[0] - 1.0 / (2f64.sqrt() + 1e-6)).abs() < 1e-12);
//! ```

use rayon::prelude::*;
use zhixing_tensor::{cpu, DType, Float, Tensor};

use crate::{Error, Result};

/// Scales all gradients together so that their joint `norm_type`-norm is at most
/// `max_norm`, and returns the norm they had before (PyTorch's `clip_grad_norm_`).
///
/// The total norm is the norm of the per-parameter norms; gradients are multiplied by
/// `max_norm / (total + 1e-6)` when that factor is below 1. `norm_type` is any positive
/// number or `f64::INFINITY` (max |g|). Parameters without a gradient are skipped. When the
/// total is NaN or infinite the gradients are left untouched and the total is returned, so
/// the caller can detect the divergence.
pub fn clip_grad_norm(params: &[Tensor], max_norm: f64, norm_type: f64) -> Result<f64> {
    if max_norm.is_nan() || max_norm < 0.0 {
        return Err(Error::config(
            "max_norm",
            format!("{max_norm} (must be >= 0)"),
        ));
    }
    if norm_type.is_nan() || norm_type <= 0.0 {
        return Err(Error::config(
            "norm_type",
            format!("{norm_type} (must be > 0 or infinity)"),
        ));
    }
    let grads = grads_of(params)?;
    let mut total = 0.0f64;
    for g in &grads {
        let n = norm(g, norm_type)?;
        total = if norm_type.is_infinite() {
            nan_max(total, n)
        } else {
            total + n.powf(norm_type)
        };
    }
    if norm_type.is_finite() {
        total = root(total, norm_type);
    }
    let coef = max_norm / (total + 1e-6);
    if total.is_finite() && coef < 1.0 {
        for g in &grads {
            map_in_place(g, |x| x * coef)?;
        }
    }
    Ok(total)
}

/// Clamps every gradient element to `[-clip, clip]` (PyTorch's `clip_grad_value_`).
pub fn clip_grad_value(params: &[Tensor], clip: f64) -> Result<()> {
    if clip.is_nan() || clip < 0.0 {
        return Err(Error::config("clip", format!("{clip} (must be >= 0)")));
    }
    for g in grads_of(params)? {
        map_in_place(&g, |x| x.max(-clip).min(clip))?;
    }
    Ok(())
}

/// The gradients of the parameters that have one; f32 and f64 only.
fn grads_of(params: &[Tensor]) -> Result<Vec<Tensor>> {
    let grads: Vec<Tensor> = params.iter().filter_map(Tensor::grad).collect();
    match grads.iter().find(|g| !g.dtype().is_float()) {
        Some(g) => Err(Error::config(
            "gradient",
            format!("{} gradient: only f32 and f64 are supported", g.dtype()),
        )),
        None => Ok(grads),
    }
}

/// `x^(1/p)`, exactly rounded for p = 2.
fn root(x: f64, p: f64) -> f64 {
    if p == 2.0 {
        x.sqrt()
    } else {
        x.powf(1.0 / p)
    }
}

/// `max` that propagates NaN, like `torch.max`.
fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || a > b {
        a
    } else {
        b
    }
}

/// `‖g‖_p` of one gradient, accumulated in f64.
fn norm(g: &Tensor, p: f64) -> Result<f64> {
    match g.dtype() {
        DType::F32 => norm_typed::<f32>(g, p),
        DType::F64 => norm_typed::<f64>(g, p),
        _ => unreachable!("checked by grads_of"),
    }
}

/// Reads a contiguous gradient in place (no copy); a strided one through a copy.
fn norm_typed<T: Float>(g: &Tensor, p: f64) -> Result<f64> {
    if !g.is_contiguous() {
        return Ok(norm_of(&g.to_vec::<T>()?, p));
    }
    let mut out = 0.0;
    g.update_(|s: &mut [T]| out = norm_of(s, p))?;
    Ok(out)
}

fn norm_of<T: Float>(v: &[T], p: f64) -> f64 {
    let term = |x: T| -> f64 {
        let a = x.to_f64().abs();
        if p == 2.0 {
            a * a
        } else if p == 1.0 {
            a
        } else {
            a.powf(p)
        }
    };
    if p.is_infinite() {
        let chunk_max = |c: &[T]| c.iter().map(|&x| x.to_f64().abs()).fold(0.0, nan_max);
        return if v.len() < cpu::PARALLEL_THRESHOLD {
            chunk_max(v)
        } else {
            v.par_chunks(cpu::chunk_len(v.len()))
                .map(chunk_max)
                .reduce(|| 0.0, nan_max)
        };
    }
    let sum = if v.len() < cpu::PARALLEL_THRESHOLD {
        v.iter().map(|&x| term(x)).sum::<f64>()
    } else {
        v.par_chunks(cpu::chunk_len(v.len()))
            .map(|c| c.iter().map(|&x| term(x)).sum::<f64>())
            .sum()
    };
    root(sum, p)
}

/// Applies `f` (computed in f64) to every element of a gradient, in place.
fn map_in_place(g: &Tensor, f: impl Fn(f64) -> f64 + Sync) -> Result<()> {
    match g.dtype() {
        DType::F32 => map_typed::<f32>(g, f),
        DType::F64 => map_typed::<f64>(g, f),
        _ => unreachable!("checked by grads_of"),
    }
}

fn map_typed<T: Float>(g: &Tensor, f: impl Fn(f64) -> f64 + Sync) -> Result<()> {
    let apply = |s: &mut [T]| s.iter_mut().for_each(|x| *x = T::from_f64(f(x.to_f64())));
    if g.is_contiguous() {
        g.update_(|s: &mut [T]| {
            if s.len() < cpu::PARALLEL_THRESHOLD {
                apply(s)
            } else {
                s.par_chunks_mut(cpu::chunk_len(s.len())).for_each(apply)
            }
        })?;
    } else {
        // A strided gradient: compute a contiguous copy and write it back through the view.
        let mut v = g.to_vec::<T>()?;
        apply(&mut v);
        g.assign(&Tensor::from_vec(v, g.shape())?)?;
    }
    Ok(())
}
