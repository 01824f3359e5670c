//! Fused layer normalization over the last dim, with its fused backward.
//!
//! y = (x − μ)·rstd·w + b with μ, σ² the row mean and biased variance and
//! rstd = 1/√(σ² + ε). Backward (per row, x̂ = (x − μ)·rstd, ĝ = g·w):
//! dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), dw = Σ_rows g·x̂, db = Σ_rows g.

use rayon::prelude::*;

use crate::cpu::PARALLEL_THRESHOLD;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::{expect_float, same_dtype};
use crate::{float_dispatch, Tensor};

/// Per-row mean and reciprocal standard deviation.
fn row_stats<T: Float>(x: &[T], n: usize, eps: T) -> (T, T) {
    let nf = T::from_f64(n as f64);
    let mean = x.iter().copied().sum::<T>() / nf;
    let var = x.iter().map(|&v| (v - mean) * (v - mean)).sum::<T>() / nf;
    (mean, T::one() / (var + eps).sqrt())
}

/// (y, row means, row rstds).
type Normalized<T> = (Vec<T>, Vec<T>, Vec<T>);

#[allow(clippy::type_complexity)] // the zipped (row, (out row, stats)) closure argument
fn forward<T: Float>(x: &[T], w: Option<&[T]>, b: Option<&[T]>, n: usize, eps: T) -> Normalized<T> {
    let rows = x.len() / n.max(1);
    let mut y = vec![T::zero(); x.len()];
    let mut stats = vec![(T::zero(), T::zero()); rows];
    let row = |(xr, (yr, st)): (&[T], (&mut [T], &mut (T, T)))| {
        let (mean, rstd) = row_stats(xr, n, eps);
        *st = (mean, rstd);
        for j in 0..n {
            let xhat = (xr[j] - mean) * rstd;
            let scaled = w.map_or(xhat, |w| xhat * w[j]);
            yr[j] = b.map_or(scaled, |b| scaled + b[j]);
        }
    };
    if x.len() >= PARALLEL_THRESHOLD {
        x.par_chunks(n)
            .zip(y.par_chunks_mut(n).zip(stats.par_iter_mut()))
            .for_each(row);
    } else {
        x.chunks(n)
            .zip(y.chunks_mut(n).zip(stats.iter_mut()))
            .for_each(row);
    }
    let (means, rstds) = stats.into_iter().unzip();
    (y, means, rstds)
}

/// dx for every row.
fn backward_input<T: Float>(
    x: &[T],
    g: &[T],
    w: Option<&[T]>,
    means: &[T],
    rstds: &[T],
    n: usize,
) -> Vec<T> {
    let nf = T::from_f64(n as f64);
    let mut dx = vec![T::zero(); x.len()];
    let row = |(r, dxr): (usize, &mut [T])| {
        let (xr, gr) = (&x[r * n..(r + 1) * n], &g[r * n..(r + 1) * n]);
        let (mean, rstd) = (means[r], rstds[r]);
        let (mut sum_g, mut sum_gx) = (T::zero(), T::zero());
        for j in 0..n {
            let gh = w.map_or(gr[j], |w| gr[j] * w[j]);
            sum_g += gh;
            sum_gx += gh * (xr[j] - mean) * rstd;
        }
        let (mean_g, mean_gx) = (sum_g / nf, sum_gx / nf);
        for j in 0..n {
            let gh = w.map_or(gr[j], |w| gr[j] * w[j]);
            let xhat = (xr[j] - mean) * rstd;
            dxr[j] = rstd * (gh - mean_g - xhat * mean_gx);
        }
    };
    if x.len() >= PARALLEL_THRESHOLD {
        dx.par_chunks_mut(n).enumerate().for_each(row);
    } else {
        dx.chunks_mut(n).enumerate().for_each(row);
    }
    dx
}

/// (dw, db): column sums of g·x̂ and g.
fn backward_affine<T: Float>(
    x: &[T],
    g: &[T],
    means: &[T],
    rstds: &[T],
    n: usize,
) -> (Vec<T>, Vec<T>) {
    let mut dw = vec![T::zero(); n];
    let mut db = vec![T::zero(); n];
    for (r, (&mean, &rstd)) in means.iter().zip(rstds).enumerate() {
        for j in 0..n {
            let (xv, gv) = (x[r * n + j], g[r * n + j]);
            dw[j] += gv * (xv - mean) * rstd;
            db[j] += gv;
        }
    }
    (dw, db)
}

impl Tensor {
    /// Layer normalization over the last dim with optional elementwise affine (w, b of
    /// shape [last dim]), as `torch.nn.functional.layer_norm(x, [n], w, b, eps)`.
    pub fn layer_norm(
        &self,
        weight: Option<&Tensor>,
        bias: Option<&Tensor>,
        eps: f64,
    ) -> Result<Tensor> {
        expect_float("layer_norm", self)?;
        let n = *self
            .shape()
            .last()
            .ok_or_else(|| Error::shape("layer_norm", "needs at least one dim", self.shape()))?;
        for p in [weight, bias].into_iter().flatten() {
            same_dtype("layer_norm", self, p)?;
            if p.shape() != [n] {
                return Err(Error::ShapeMismatch {
                    op: "layer_norm",
                    lhs: self.shape().to_vec(),
                    rhs: p.shape().to_vec(),
                });
            }
        }
        let shape = self.shape().to_vec();
        let (out, stats) = float_dispatch!("layer_norm", self.dtype(), T => {
            let xs = self.to_vec::<T>()?;
            let ws = weight.map(|w| w.to_vec::<T>()).transpose()?;
            let bs = bias.map(|b| b.to_vec::<T>()).transpose()?;
            let (y, means, rstds) = forward(&xs, ws.as_deref(), bs.as_deref(), n, eps as T);
            let rows = means.len();
            (Tensor::from_vec(y, &shape)?, (Tensor::from_vec(means, &[rows])?, Tensor::from_vec(rstds, &[rows])?))
        });
        let x = self.detach();
        let w = weight.map(|w| w.detach());
        let mut inputs = vec![self];
        inputs.extend(weight);
        inputs.extend(bias);
        let (has_w, has_b) = (weight.is_some(), bias.is_some());
        Ok(out.record("layer_norm", &inputs, move |g| {
            float_dispatch!("layer_norm", g.dtype(), T => {
                let (xs, gs) = (x.to_vec::<T>()?, g.to_vec::<T>()?);
                let (means, rstds) = (stats.0.to_vec::<T>()?, stats.1.to_vec::<T>()?);
                let ws = w.as_ref().map(|w| w.to_vec::<T>()).transpose()?;
                let dx = backward_input(&xs, &gs, ws.as_deref(), &means, &rstds, n);
                let mut grads = vec![Some(Tensor::from_vec(dx, x.shape())?)];
                if has_w || has_b {
                    let (dw, db) = backward_affine(&xs, &gs, &means, &rstds, n);
                    if has_w {
                        grads.push(Some(Tensor::from_vec(dw, &[n])?));
                    }
                    if has_b {
                        grads.push(Some(Tensor::from_vec(db, &[n])?));
                    }
                }
                Ok(grads)
            })
        }))
    }
}
