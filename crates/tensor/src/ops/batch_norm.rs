//! Fused batch normalization over the channel dim of [N, C, *] with its fused backward
//! (training mode: batch statistics).
//!
//! Per channel c over its m = N·L values (L = product of the trailing dims):
//! y = (x − μ)·rstd·w + b with μ, σ² the mean and biased variance, rstd = 1/√(σ² + ε).
//! Backward (x̂ = (x − μ)·rstd, ĝ = g·w):
//! dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), dw = Σ g·x̂, db = Σ g.

use rayon::prelude::*;

use crate::cpu::PARALLEL_THRESHOLD;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::{expect_float, same_dtype};
use crate::{float_dispatch, Tensor};

/// [N, C, L] view sizes of the input.
#[derive(Debug, Clone, Copy)]
struct Dims {
    n: usize,
    c: usize,
    l: usize,
}

impl Dims {
    fn count(&self) -> usize {
        self.n * self.l
    }
    /// The L-long runs of channel `ch`, one per batch entry.
    fn runs<'a, T>(&self, x: &'a [T], ch: usize) -> impl Iterator<Item = &'a [T]> + 'a {
        let (c, l) = (self.c, self.l);
        (0..self.n).map(move |i| &x[(i * c + ch) * l..][..l])
    }
}

/// Runs `f(channel)` for every channel, in parallel when the tensor is large; returns the
/// per-channel results in order.
fn per_channel<R: Send>(d: &Dims, f: impl Fn(usize) -> R + Sync + Send) -> Vec<R> {
    if d.n * d.c * d.l >= PARALLEL_THRESHOLD && d.c > 1 {
        (0..d.c).into_par_iter().map(f).collect()
    } else {
        (0..d.c).map(f).collect()
    }
}

/// Mean and biased variance of one channel (two passes, for accuracy).
fn channel_stats<T: Float>(d: &Dims, x: &[T], ch: usize) -> (T, T) {
    let m = T::from_f64(d.count() as f64);
    let mut sum = T::zero();
    for run in d.runs(x, ch) {
        sum += run.iter().copied().sum::<T>();
    }
    let mean = sum / m;
    let mut sq = T::zero();
    for run in d.runs(x, ch) {
        sq += run.iter().map(|&v| (v - mean) * (v - mean)).sum::<T>();
    }
    (mean, sq / m)
}

/// Writes `out[i] = f(i)` for every element of channel `ch`. Channels own disjoint runs,
/// so a raw pointer shared by the channel loop writes without overlap.
struct SharedOut<T>(*mut T);
// SAFETY: every thread writes a disjoint set of indices (its own channel's runs).
unsafe impl<T: Send> Send for SharedOut<T> {}
unsafe impl<T: Send> Sync for SharedOut<T> {}

impl<T: Copy> SharedOut<T> {
    /// # Safety
    /// `i` must be in bounds and no other thread may write index `i`.
    unsafe fn write(&self, i: usize, v: T) {
        unsafe { *self.0.add(i) = v }
    }
}

/// (y, per-channel mean, per-channel biased variance, per-channel rstd).
type Forward<T> = (Vec<T>, Vec<T>, Vec<T>, Vec<T>);

fn forward<T: Float>(d: &Dims, x: &[T], w: Option<&[T]>, b: Option<&[T]>, eps: T) -> Forward<T> {
    let mut y = vec![T::zero(); x.len()];
    let out = SharedOut(y.as_mut_ptr());
    let stats = per_channel(d, |ch| {
        let (mean, var) = channel_stats(d, x, ch);
        let rstd = T::one() / (var + eps).sqrt();
        let scale = w.map_or(rstd, |w| w[ch] * rstd);
        let shift = b.map_or(T::zero(), |b| b[ch]) - mean * scale;
        for i in 0..d.n {
            let base = (i * d.c + ch) * d.l;
            for (j, &v) in x[base..][..d.l].iter().enumerate() {
                // SAFETY: base + j lies in channel ch's run i, written only here.
                unsafe { out.write(base + j, v * scale + shift) };
            }
        }
        (mean, var, rstd)
    });
    let (mut means, mut vars, mut rstds) = (Vec::new(), Vec::new(), Vec::new());
    for (m, v, r) in stats {
        means.push(m);
        vars.push(v);
        rstds.push(r);
    }
    (y, means, vars, rstds)
}

/// (dx, dw, db).
fn backward<T: Float>(
    d: &Dims,
    x: &[T],
    g: &[T],
    w: Option<&[T]>,
    means: &[T],
    rstds: &[T],
) -> (Vec<T>, Vec<T>, Vec<T>) {
    let m = T::from_f64(d.count() as f64);
    let mut dx = vec![T::zero(); x.len()];
    let out = SharedOut(dx.as_mut_ptr());
    let sums = per_channel(d, |ch| {
        let (mean, rstd) = (means[ch], rstds[ch]);
        let (mut sum_g, mut sum_gx) = (T::zero(), T::zero());
        for i in 0..d.n {
            let base = (i * d.c + ch) * d.l;
            let (xr, gr) = (&x[base..][..d.l], &g[base..][..d.l]);
            for (&xv, &gv) in xr.iter().zip(gr) {
                sum_g += gv;
                sum_gx += gv * (xv - mean);
            }
        }
        // Σ g·x̂ = rstd·Σ g·(x − μ); with ĝ = g·w both means scale by w.
        let sum_gxhat = sum_gx * rstd;
        let wc = w.map_or(T::one(), |w| w[ch]);
        let k_g = wc * rstd * (sum_g / m);
        let k_x = wc * rstd * rstd * (sum_gxhat / m);
        let k = wc * rstd;
        for i in 0..d.n {
            let base = (i * d.c + ch) * d.l;
            let (xr, gr) = (&x[base..][..d.l], &g[base..][..d.l]);
            for (j, (&xv, &gv)) in xr.iter().zip(gr).enumerate() {
                let v = k * gv - k_g - (xv - mean) * k_x;
                // SAFETY: base + j lies in channel ch's run i, written only here.
                unsafe { out.write(base + j, v) };
            }
        }
        (sum_gxhat, sum_g)
    });
    let (dw, db) = sums.into_iter().unzip();
    (dx, dw, db)
}

impl Tensor {
    /// Batch normalization in training mode over dim 1 of [N, C, *] (as
    /// `F.batch_norm(x, None, None, w, b, training=True, eps=eps)`), fused forward and
    /// backward. Returns the output and the batch mean and *biased* variance per channel
    /// ([C], no gradient), from which a layer updates its running statistics.
    pub fn batch_norm(
        &self,
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        eps: f64,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        const OP: &str = "batch_norm";
        expect_float(OP, self)?;
        let shape = self.shape().to_vec();
        if shape.len() < 2 {
            return Err(Error::shape(OP, "expected an input [N, C, *]", &shape));
        }
        let d = Dims {
            n: shape[0],
            c: shape[1],
            l: shape[2..].iter().product(),
        };
        if d.count() <= 1 {
            return Err(Error::shape(
                OP,
                "training needs more than one value per channel",
                &shape,
            ));
        }
        for p in [weight, bias].into_iter().flatten() {
            same_dtype(OP, self, p)?;
            if p.shape() != [d.c] {
                return Err(Error::ShapeMismatch {
                    op: OP,
                    lhs: shape.clone(),
                    rhs: p.shape().to_vec(),
                });
            }
        }
        let c = d.c;
        let (out, mean, var, means, rstds) = float_dispatch!(OP, self.dtype(), T => {
            let ws = weight.map(|w| w.to_vec::<T>()).transpose()?;
            let bs = bias.map(|b| b.to_vec::<T>()).transpose()?;
            let (y, means, vars, rstds) = self.with_slice(|x: &[T]| {
                forward(&d, x, ws.as_deref(), bs.as_deref(), eps as T)
            })?;
            (
                Tensor::from_vec(y, &shape)?,
                Tensor::from_vec(means.clone(), &[c])?,
                Tensor::from_vec(vars, &[c])?,
                Tensor::from_vec(means, &[c])?,
                Tensor::from_vec(rstds, &[c])?,
            )
        });
        let x = self.detach();
        let w = weight.map(|w| w.detach());
        let mut inputs = vec![self];
        inputs.extend(weight);
        inputs.extend(bias);
        let (has_w, has_b) = (weight.is_some(), bias.is_some());
        let out = out.record(OP, &inputs, move |g| {
            float_dispatch!(OP, g.dtype(), T => {
                let gs = g.to_vec::<T>()?;
                let (mu, rs) = (means.to_vec::<T>()?, rstds.to_vec::<T>()?);
                let ws = w.as_ref().map(|w| w.to_vec::<T>()).transpose()?;
                let (dx, dw, db) = x.with_slice(|xs: &[T]| {
                    backward(&d, xs, &gs, ws.as_deref(), &mu, &rs)
                })?;
                let mut grads = vec![Some(Tensor::from_vec(dx, x.shape())?)];
                if has_w {
                    grads.push(Some(Tensor::from_vec(dw, &[c])?));
                }
                if has_b {
                    grads.push(Some(Tensor::from_vec(db, &[c])?));
                }
                Ok(grads)
            })
        });
        Ok((out, mean, var))
    }
}
