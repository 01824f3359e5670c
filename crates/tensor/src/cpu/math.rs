//! Element-wise loops and math functions written so the compiler vectorizes them.
//!
//! Each loop is compiled several times (AVX-512, AVX2+FMA, baseline) by `multiversion`
//! and the best version for the running CPU is picked once at run time. The f32 math
//! functions are branch-free polynomial approximations (a few ulp) so they vectorize;
//! f64 uses the exact libm functions because f64 is where gradients are checked.

// Polynomial coefficients are kept as published, digits beyond f32 precision included.
#![allow(clippy::excessive_precision)]

use std::mem::MaybeUninit;

use multiversion::multiversion;
use rayon::prelude::*;

use super::{chunk_len, PARALLEL_THRESHOLD};
use crate::dtype::Float;

/// Math with a fast vectorizable f32 path.
pub trait FastMath: Float {
    fn fexp(self) -> Self;
    fn ftanh(self) -> Self;
    fn ferf(self) -> Self;
}

impl FastMath for f64 {
    #[inline(always)]
    fn fexp(self) -> f64 {
        self.exp()
    }
    #[inline(always)]
    fn ftanh(self) -> f64 {
        self.tanh()
    }
    #[inline(always)]
    fn ferf(self) -> f64 {
        libm::erf(self)
    }
}

impl FastMath for f32 {
    #[inline(always)]
    fn fexp(self) -> f32 {
        exp_f32(self)
    }
    #[inline(always)]
    fn ftanh(self) -> f32 {
        tanh_f32(self)
    }
    #[inline(always)]
    fn ferf(self) -> f32 {
        erf_f32(self)
    }
}

/// e^x: range reduction x = n·ln2 + r, |r| ≤ ln2/2, then a degree-6 polynomial for e^r
/// and 2^n built in the exponent bits (Cephes expf coefficients).
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    let x = x.clamp(-87.3, 88.3);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    // ln2 split in a high and a low part so r is exact to f32 precision.
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let r2 = r * r;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5.000_000_1e-1;
    let er = p * r2 + r + 1.0;
    // 2^n from the exponent bits. `n as i32` would be a saturating (scalar) conversion;
    // adding 1.5·2^23 instead puts the integer n + 127 in the low mantissa bits.
    const MAGIC: f32 = 12_582_912.0;
    let biased = (n + (MAGIC + 127.0))
        .to_bits()
        .wrapping_sub(MAGIC.to_bits());
    let scale = f32::from_bits(biased << 23);
    er * scale
}

/// tanh as a 13/6 rational function on the clamped input (Eigen's float coefficients).
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    let x = x.clamp(-7.905_311, 7.905_311);
    let x2 = x * x;
    let mut p = -2.760_768_5e-16_f32;
    p = p * x2 + 2.000_187_9e-13;
    p = p * x2 - 8.604_671_5e-11;
    p = p * x2 + 5.122_297e-8;
    p = p * x2 + 1.485_722_4e-5;
    p = p * x2 + 6.372_619_3e-4;
    p = p * x2 + 4.893_524_6e-3;
    let mut q = 1.198_258_4e-6_f32;
    q = q * x2 + 1.185_347_1e-4;
    q = q * x2 + 2.268_434_6e-3;
    q = q * x2 + 4.893_525e-3;
    x * p / q
}

/// erf by Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7).
#[inline(always)]
pub fn erf_f32(x: f32) -> f32 {
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let mut p = 1.061_405_4_f32;
    p = p * t - 1.453_152_1;
    p = p * t + 1.421_413_7;
    p = p * t - 0.284_496_74;
    p = p * t + 0.254_829_6;
    sign * (1.0 - p * t * exp_f32(-a * a))
}

// The loops write into uninitialized output (`MaybeUninit`): zero-filling a fresh
// buffer first would add a whole extra pass over memory to every op.

#[multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq+avx512bw+avx2+fma",
    "x86_64+avx2+fma"
))]
fn unary_serial<T: Float, F: Fn(T) -> T>(src: &[T], dst: &mut [MaybeUninit<T>], f: &F) {
    for (d, &s) in dst.iter_mut().zip(src) {
        d.write(f(s));
    }
}

#[multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq+avx512bw+avx2+fma",
    "x86_64+avx2+fma"
))]
fn binary_serial<T: Float, F: Fn(T, T) -> T>(a: &[T], b: &[T], dst: &mut [MaybeUninit<T>], f: &F) {
    for ((d, &x), &y) in dst.iter_mut().zip(a).zip(b) {
        d.write(f(x, y));
    }
}

#[multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq+avx512bw+avx2+fma",
    "x86_64+avx2+fma"
))]
fn ternary_serial<T: Float, F: Fn(T, T, T) -> T>(
    a: &[T],
    b: &[T],
    c: &[T],
    dst: &mut [MaybeUninit<T>],
    f: &F,
) {
    for (((d, &x), &y), &z) in dst.iter_mut().zip(a).zip(b).zip(c) {
        d.write(f(x, y, z));
    }
}

/// A vector of `n` elements, every one written by `fill` before it is returned.
fn filled<T: Float>(n: usize, fill: impl FnOnce(&mut [MaybeUninit<T>])) -> Vec<T> {
    let mut out = Vec::with_capacity(n);
    fill(&mut out.spare_capacity_mut()[..n]);
    // SAFETY: every caller's `fill` writes all n slots (zip over inputs of length n,
    // checked by the asserts in the public functions below).
    unsafe { out.set_len(n) };
    out
}

/// f(src[i]), threaded for large inputs.
pub fn map<T: Float, F: Fn(T) -> T + Sync>(src: &[T], f: F) -> Vec<T> {
    filled(src.len(), |dst| {
        if dst.len() < PARALLEL_THRESHOLD {
            return unary_serial(src, dst, &f);
        }
        let c = chunk_len(dst.len());
        dst.par_chunks_mut(c)
            .zip(src.par_chunks(c))
            .for_each(|(d, s)| unary_serial(s, d, &f));
    })
}

/// f(a[i], b[i]), threaded for large inputs.
pub fn zip_map<T: Float, F: Fn(T, T) -> T + Sync>(a: &[T], b: &[T], f: F) -> Vec<T> {
    assert_eq!(a.len(), b.len(), "zip_map: operand lengths differ");
    filled(a.len(), |dst| {
        if dst.len() < PARALLEL_THRESHOLD {
            return binary_serial(a, b, dst, &f);
        }
        let c = chunk_len(dst.len());
        dst.par_chunks_mut(c)
            .zip(a.par_chunks(c).zip(b.par_chunks(c)))
            .for_each(|(d, (x, y))| binary_serial(x, y, d, &f));
    })
}

/// f(a[i], b[i], c[i]), threaded for large inputs.
pub fn zip3_map<T: Float, F: Fn(T, T, T) -> T + Sync>(a: &[T], b: &[T], c: &[T], f: F) -> Vec<T> {
    assert!(
        a.len() == b.len() && a.len() == c.len(),
        "zip3_map: operand lengths differ"
    );
    filled(a.len(), |dst| {
        if dst.len() < PARALLEL_THRESHOLD {
            return ternary_serial(a, b, c, dst, &f);
        }
        let n = chunk_len(dst.len());
        dst.par_chunks_mut(n)
            .zip(a.par_chunks(n).zip(b.par_chunks(n).zip(c.par_chunks(n))))
            .for_each(|(d, (x, (y, z)))| ternary_serial(x, y, z, d, &f));
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_f32_math_matches_libm() {
        let mut worst = [0.0f64; 3];
        for i in -4000..=4000 {
            let x = i as f32 * 0.005;
            let e = (exp_f32(x) as f64 - (x as f64).exp()).abs() / (x as f64).exp();
            let t = (tanh_f32(x) as f64 - (x as f64).tanh()).abs();
            let r = (erf_f32(x) as f64 - libm::erf(x as f64)).abs();
            worst = [worst[0].max(e), worst[1].max(t), worst[2].max(r)];
        }
        assert!(worst[0] < 3e-7, "exp relative error {}", worst[0]);
        // tanh: the rational approximation is good to ~3 ulp near ±1.
        assert!(worst[1] < 5e-7, "tanh absolute error {}", worst[1]);
        // erf: Abramowitz & Stegun 7.1.26 is within 1.5e-7, plus f32 rounding.
        assert!(worst[2] < 5e-7, "erf absolute error {}", worst[2]);
        assert_eq!(exp_f32(-200.0), exp_f32(-87.3));
        assert!(exp_f32(200.0).is_finite());
    }
}
