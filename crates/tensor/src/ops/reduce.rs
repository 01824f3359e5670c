//! Reductions along any dims: sum, mean, max/min (with indices), argmax/argmin, var, std.

use multiversion::multiversion;
use rayon::prelude::*;

use crate::cpu::PARALLEL_THRESHOLD;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::expect_float;
use crate::shape::normalize_dim;
use crate::{float_dispatch, Tensor};

/// Sum of a contiguous slice with 16 independent accumulators (vectorizes, and is more
/// accurate than one running sum for long rows).
#[multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq+avx512bw+avx2+fma",
    "x86_64+avx2+fma"
))]
pub(crate) fn sum_slice<T: Float>(x: &[T]) -> T {
    let mut acc = [T::zero(); 16];
    let chunks = x.chunks_exact(16);
    let tail = chunks.remainder();
    for c in chunks {
        for i in 0..16 {
            acc[i] += c[i];
        }
    }
    let mut total = T::zero();
    for a in acc {
        total += a;
    }
    for &v in tail {
        total += v;
    }
    total
}

/// out[i] += x[i], vectorized.
#[multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq+avx512bw+avx2+fma",
    "x86_64+avx2+fma"
))]
fn add_into<T: Float>(out: &mut [T], x: &[T]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o += v;
    }
}

/// Sums a contiguous [outer, r, inner] array over its middle dim.
fn sum_middle<T: Float>(x: &[T], outer: usize, r: usize, inner: usize) -> Vec<T> {
    let mut out = vec![T::zero(); outer * inner];
    if inner == 1 {
        let rows = |(o, dst): (usize, &mut T)| *dst = sum_slice(&x[o * r..(o + 1) * r]);
        if x.len() >= PARALLEL_THRESHOLD && outer > 1 {
            out.par_iter_mut().enumerate().for_each(rows);
        } else {
            out.iter_mut().enumerate().for_each(rows);
        }
        return out;
    }
    let block = |(o, dst): (usize, &mut [T])| {
        for k in 0..r {
            let start = (o * r + k) * inner;
            add_into(dst, &x[start..start + inner]);
        }
    };
    if x.len() >= PARALLEL_THRESHOLD && outer > 1 {
        out.par_chunks_mut(inner).enumerate().for_each(block);
    } else if x.len() >= PARALLEL_THRESHOLD {
        // One outer block: split the inner dim across threads instead.
        let c = inner.div_ceil(crate::cpu::num_threads()).max(1024);
        out.par_chunks_mut(c).enumerate().for_each(|(j, dst)| {
            for k in 0..r {
                let start = k * inner + j * c;
                add_into(dst, &x[start..start + dst.len()]);
            }
        });
    } else {
        out.chunks_mut(inner).enumerate().for_each(block);
    }
    out
}

/// Max (or min) over the middle dim of [outer, r, inner]: values and first index.
fn extreme_middle<T: Float>(
    x: &[T],
    outer: usize,
    r: usize,
    inner: usize,
    max: bool,
) -> (Vec<T>, Vec<i64>) {
    let mut values = vec![T::zero(); outer * inner];
    let mut indices = vec![0i64; outer * inner];
    for o in 0..outer {
        for i in 0..inner {
            let mut best = x[o * r * inner + i];
            let mut best_k = 0;
            for k in 1..r {
                let v = x[(o * r + k) * inner + i];
                // NaN propagates, as in PyTorch.
                let better = if max { v > best } else { v < best };
                if better || (v.is_nan() && !best.is_nan()) {
                    best = v;
                    best_k = k;
                }
            }
            values[o * inner + i] = best;
            indices[o * inner + i] = best_k as i64;
        }
    }
    (values, indices)
}

/// (outer, size, inner) of `shape` split around dim `d`.
fn split_dims(shape: &[usize], d: usize) -> (usize, usize, usize) {
    let outer = shape[..d].iter().product();
    let inner = shape[d + 1..].iter().product();
    (outer, shape[d], inner)
}

fn reduced_shape(shape: &[usize], dims: &[usize], keepdim: bool) -> Vec<usize> {
    let mut out = Vec::new();
    for (i, &s) in shape.iter().enumerate() {
        if dims.contains(&i) {
            if keepdim {
                out.push(1);
            }
        } else {
            out.push(s);
        }
    }
    out
}

fn normalize_dims(op: &'static str, dims: &[isize], shape: &[usize]) -> Result<Vec<usize>> {
    let mut out = dims
        .iter()
        .map(|&d| normalize_dim(op, d, shape))
        .collect::<Result<Vec<_>>>()?;
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

impl Tensor {
    /// Sum over `dims` (all dims when empty).
    pub fn sum(&self, dims: &[isize], keepdim: bool) -> Result<Tensor> {
        expect_float("sum", self)?;
        let dims = if dims.is_empty() || self.rank() == 0 {
            (0..self.rank()).collect()
        } else {
            normalize_dims("sum", dims, self.shape())?
        };
        let keep_shape = reduced_shape(self.shape(), &dims, true);
        let out_shape = reduced_shape(self.shape(), &dims, keepdim);
        let out = float_dispatch!("sum", self.dtype(), T => {
            let mut data = self.to_vec::<T>()?;
            let mut shape = self.shape().to_vec();
            // Reduce the last dims first so earlier dim indices stay valid.
            for &d in dims.iter().rev() {
                let (outer, r, inner) = split_dims(&shape, d);
                data = sum_middle(&data, outer, r, inner);
                shape[d] = 1;
            }
            Tensor::from_vec(data, &out_shape)?
        });
        let in_shape = self.shape().to_vec();
        Ok(out.record("sum", &[self], move |g| {
            Ok(vec![Some(g.reshape(&keep_shape)?.broadcast_to(&in_shape)?)])
        }))
    }

    /// Sum of all elements (a 0-d tensor).
    pub fn sum_all(&self) -> Result<Tensor> {
        self.sum(&[], false)
    }

    /// Mean over `dims` (all dims when empty).
    pub fn mean(&self, dims: &[isize], keepdim: bool) -> Result<Tensor> {
        let dims_n = if dims.is_empty() {
            (0..self.rank()).collect()
        } else {
            normalize_dims("mean", dims, self.shape())?
        };
        let count: usize = dims_n.iter().map(|&d| self.shape()[d]).product();
        self.sum(dims, keepdim)?.div_scalar(count.max(1) as f64)
    }

    pub fn mean_all(&self) -> Result<Tensor> {
        self.mean(&[], false)
    }

    /// Variance over `dims`; `unbiased` divides by n−1 (Bessel's correction).
    pub fn var(&self, dims: &[isize], unbiased: bool, keepdim: bool) -> Result<Tensor> {
        let dims_n = if dims.is_empty() {
            (0..self.rank()).collect()
        } else {
            normalize_dims("var", dims, self.shape())?
        };
        let n: usize = dims_n.iter().map(|&d| self.shape()[d]).product();
        let denom = if unbiased { n as f64 - 1.0 } else { n as f64 };
        let dims_i: Vec<isize> = dims_n.iter().map(|&d| d as isize).collect();
        let centered = self.sub(&self.mean(&dims_i, true)?)?;
        centered.square()?.sum(&dims_i, keepdim)?.div_scalar(denom)
    }

    /// Standard deviation over `dims`.
    pub fn std(&self, dims: &[isize], unbiased: bool, keepdim: bool) -> Result<Tensor> {
        self.var(dims, unbiased, keepdim)?.sqrt()
    }

    /// Max along `dim`: (values, i64 indices of the first maximum).
    pub fn max_dim(&self, dim: isize, keepdim: bool) -> Result<(Tensor, Tensor)> {
        self.extreme_dim(dim, keepdim, true)
    }

    /// Min along `dim`: (values, i64 indices of the first minimum).
    pub fn min_dim(&self, dim: isize, keepdim: bool) -> Result<(Tensor, Tensor)> {
        self.extreme_dim(dim, keepdim, false)
    }

    pub fn argmax(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        Ok(self.max_dim(dim, keepdim)?.1)
    }

    pub fn argmin(&self, dim: isize, keepdim: bool) -> Result<Tensor> {
        Ok(self.min_dim(dim, keepdim)?.1)
    }

    /// Largest element (0-d tensor).
    pub fn max_all(&self) -> Result<Tensor> {
        Ok(self.flatten(0, -1)?.max_dim(0, false)?.0)
    }

    /// Smallest element (0-d tensor).
    pub fn min_all(&self) -> Result<Tensor> {
        Ok(self.flatten(0, -1)?.min_dim(0, false)?.0)
    }

    fn extreme_dim(&self, dim: isize, keepdim: bool, max: bool) -> Result<(Tensor, Tensor)> {
        let op = if max { "max" } else { "min" };
        expect_float(op, self)?;
        let shape = if self.rank() == 0 {
            vec![1]
        } else {
            self.shape().to_vec()
        };
        let d = normalize_dim(op, dim, &shape)?;
        if shape[d] == 0 {
            return Err(Error::shape(
                op,
                format!("cannot reduce over empty dim {d}"),
                self.shape(),
            ));
        }
        let (outer, r, inner) = split_dims(&shape, d);
        let out_shape = reduced_shape(&shape, &[d], keepdim);
        let (values, indices) = float_dispatch!(op, self.dtype(), T => {
            let (v, i) = self.with_slice(|x: &[T]| extreme_middle(x, outer, r, inner, max))?;
            (Tensor::from_vec(v, &out_shape)?, Tensor::from_vec(i, &out_shape)?)
        });
        let idx = indices.clone();
        let in_shape = self.shape().to_vec();
        let values = values.record(op, &[self], move |g| {
            // Route each output gradient to the position that won.
            let grad = float_dispatch!(op, g.dtype(), T => {
                let gs = g.to_vec::<T>()?;
                let is = idx.to_vec::<i64>()?;
                let mut dx = vec![0.0 as T; outer * r * inner];
                for o in 0..outer {
                    for i in 0..inner {
                        let k = is[o * inner + i] as usize;
                        dx[(o * r + k) * inner + i] += gs[o * inner + i];
                    }
                }
                Tensor::from_vec(dx, &in_shape)?
            });
            Ok(vec![Some(grad)])
        });
        Ok((values, indices))
    }

    /// Sums broadcast dims away so the result has `shape` (the backward of broadcasting).
    pub fn sum_to_shape(&self, shape: &[usize]) -> Result<Tensor> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let rank = self.rank();
        if shape.len() > rank {
            return Err(Error::Broadcast {
                op: "sum_to_shape",
                lhs: self.shape().to_vec(),
                rhs: shape.to_vec(),
            });
        }
        let lead = rank - shape.len();
        let mut dims: Vec<isize> = (0..lead as isize).collect();
        for (i, &s) in shape.iter().enumerate() {
            let here = self.shape()[lead + i];
            if s == 1 && here != 1 {
                dims.push((lead + i) as isize);
            } else if s != here {
                return Err(Error::Broadcast {
                    op: "sum_to_shape",
                    lhs: self.shape().to_vec(),
                    rhs: shape.to_vec(),
                });
            }
        }
        if dims.is_empty() {
            return self.reshape(shape);
        }
        self.sum(&dims, true)?.reshape(shape)
    }
}
