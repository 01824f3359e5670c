//! Softmax and log-softmax along any dim, as fused, numerically stable row kernels.
//!
//! Stability: subtracting the row max before exponentiating leaves the result unchanged
//! (softmax is shift-invariant) and keeps every exponent ≤ 0, so nothing overflows.

use std::mem::MaybeUninit;

use multiversion::multiversion;
use rayon::prelude::*;

use crate::cpu::math::FastMath;
use crate::cpu::PARALLEL_THRESHOLD;
use crate::error::Result;
use crate::ops::expect_float;
use crate::ops::reduce::sum_slice;
use crate::shape::normalize_dim;
use crate::{float_dispatch, Tensor};

#[multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq+avx512bw+avx2+fma",
    "x86_64+avx2+fma"
))]
fn row_max<T: FastMath>(x: &[T]) -> T {
    let mut acc = [T::neg_infinity(); 16];
    let chunks = x.chunks_exact(16);
    let tail = chunks.remainder();
    for c in chunks {
        for i in 0..16 {
            acc[i] = acc[i].max(c[i]);
        }
    }
    let mut m = T::neg_infinity();
    for a in acc.into_iter().chain(tail.iter().copied()) {
        m = m.max(a);
    }
    m
}

/// y = exp(x - shift), returning Σy.
#[multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq+avx512bw+avx2+fma",
    "x86_64+avx2+fma"
))]
fn exp_shifted<T: FastMath>(x: &[T], shift: T, y: &mut [MaybeUninit<T>]) -> T {
    for (o, &v) in y.iter_mut().zip(x) {
        o.write((v - shift).fexp());
    }
    // SAFETY: the loop above wrote every element (y and x have the same length).
    sum_slice(unsafe { assume_init(y) })
}

#[multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq+avx512bw+avx2+fma",
    "x86_64+avx2+fma"
))]
fn scale<T: FastMath>(y: &mut [T], s: T) {
    for v in y {
        *v *= s;
    }
}

#[multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq+avx512bw+avx2+fma",
    "x86_64+avx2+fma"
))]
fn shift<T: FastMath>(x: &[T], s: T, y: &mut [T]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = v - s;
    }
}

/// # Safety
/// Every element of `y` must have been written.
unsafe fn assume_init<T>(y: &mut [MaybeUninit<T>]) -> &mut [T] {
    // SAFETY: MaybeUninit<T> has T's layout; the caller guarantees initialization.
    unsafe { &mut *(y as *mut [MaybeUninit<T>] as *mut [T]) }
}

fn softmax_row<T: FastMath>(x: &[T], y: &mut [MaybeUninit<T>]) {
    let m = row_max(x);
    let total = exp_shifted(x, m, y);
    // SAFETY: exp_shifted wrote the whole row.
    scale(unsafe { assume_init(y) }, T::one() / total);
}

/// log softmax = x − max − ln Σ exp(x − max).
fn log_softmax_row<T: FastMath>(x: &[T], y: &mut [MaybeUninit<T>]) {
    let m = row_max(x);
    let total = exp_shifted(x, m, y);
    // SAFETY: exp_shifted wrote the whole row.
    shift(x, m + total.ln(), unsafe { assume_init(y) });
}

/// softmax backward: dx = y ⊙ (g − Σ g⊙y).
fn softmax_back_row<T: FastMath>(y: &[T], g: &[T], dx: &mut [T]) {
    let dot: T = y.iter().zip(g).map(|(&a, &b)| a * b).sum();
    for ((d, &yv), &gv) in dx.iter_mut().zip(y).zip(g) {
        *d = yv * (gv - dot);
    }
}

/// log-softmax backward: dx = g − softmax(x)·Σg = g − exp(y)·Σg.
fn log_softmax_back_row<T: FastMath>(y: &[T], g: &[T], dx: &mut [T]) {
    let total = sum_slice(g);
    for ((d, &yv), &gv) in dx.iter_mut().zip(y).zip(g) {
        *d = gv - yv.fexp() * total;
    }
}

/// Applies `f` to each row of length `n`, in parallel when the data is large.
fn rows<T: FastMath>(x: &[T], n: usize, f: impl Fn(&[T], &mut [MaybeUninit<T>]) + Sync) -> Vec<T> {
    if n == 0 {
        return vec![T::zero(); x.len()];
    }
    // The output is written row by row without zero-filling it first.
    let mut y = Vec::with_capacity(x.len());
    let spare = &mut y.spare_capacity_mut()[..x.len()];
    if x.len() >= PARALLEL_THRESHOLD {
        spare
            .par_chunks_mut(n)
            .zip(x.par_chunks(n))
            .for_each(|(yr, xr)| f(xr, yr));
    } else {
        spare
            .chunks_mut(n)
            .zip(x.chunks(n))
            .for_each(|(yr, xr)| f(xr, yr));
    }
    // SAFETY: every row kernel writes its whole row, and the rows tile the output.
    unsafe { y.set_len(x.len()) };
    y
}

fn rows2<T: FastMath>(
    a: &[T],
    b: &[T],
    n: usize,
    f: impl Fn(&[T], &[T], &mut [T]) + Sync,
) -> Vec<T> {
    let mut y = vec![T::zero(); a.len()];
    if n == 0 {
        return y;
    }
    if a.len() >= PARALLEL_THRESHOLD {
        y.par_chunks_mut(n)
            .zip(a.par_chunks(n).zip(b.par_chunks(n)))
            .for_each(|(yr, (ar, br))| f(ar, br, yr));
    } else {
        for ((yr, ar), br) in y.chunks_mut(n).zip(a.chunks(n)).zip(b.chunks(n)) {
            f(ar, br, yr);
        }
    }
    y
}

impl Tensor {
    /// softmax(x)ᵢ = exp(xᵢ) / Σⱼ exp(xⱼ) along `dim`.
    pub fn softmax(&self, dim: isize) -> Result<Tensor> {
        self.softmax_impl(dim, false)
    }

    /// log(softmax(x)) along `dim`, computed without forming softmax.
    pub fn log_softmax(&self, dim: isize) -> Result<Tensor> {
        self.softmax_impl(dim, true)
    }

    fn softmax_impl(&self, dim: isize, log: bool) -> Result<Tensor> {
        let name = if log { "log_softmax" } else { "softmax" };
        expect_float(name, self)?;
        if self.rank() == 0 {
            return self.reshape(&[1])?.softmax_impl(0, log)?.reshape(&[]);
        }
        let d = normalize_dim(name, dim, self.shape())?;
        let last = self.rank() - 1;
        if d != last {
            // Move the dim last, run the row kernel, move it back (autograd sees the views).
            return self
                .transpose(d as isize, last as isize)?
                .softmax_impl(-1, log)?
                .transpose(d as isize, last as isize);
        }
        let n = self.shape()[last];
        let out = float_dispatch!(name, self.dtype(), T => {
            let y = self.with_slice(|x: &[T]| {
                if log { rows(x, n, log_softmax_row) } else { rows(x, n, softmax_row) }
            })?;
            Tensor::from_vec(y, self.shape())?
        });
        let y = out.detach();
        Ok(out.record(name, &[self], move |g| {
            let dx = float_dispatch!(name, g.dtype(), T => {
                let ys = y.to_vec::<T>()?;
                let gs = g.to_vec::<T>()?;
                let dx = if log {
                    rows2(&ys, &gs, n, log_softmax_back_row)
                } else {
                    rows2(&ys, &gs, n, softmax_back_row)
                };
                Tensor::from_vec(dx, y.shape())?
            });
            Ok(vec![Some(dx)])
        }))
    }
}
