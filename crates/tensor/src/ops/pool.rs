//! Max, average and adaptive-average 2-D pooling over NCHW planes, with their backward
//! (`torch.nn.functional` semantics: floor mode, implicit padding, count_include_pad).
//!
//! Every pooling op is described by the input window of each output row and column;
//! the kernels only walk those windows, so the three ops share their loops.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use crate::cpu::{fill_uninit, write_vec, PARALLEL_THRESHOLD};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::expect_float;
use crate::{float_dispatch, Tensor};

/// The input windows of a pooling op over planes of H×W.
#[derive(Debug, Clone)]
struct Windows {
    planes: usize,
    h: usize,
    w: usize,
    /// Half-open input row range of each output row (padding already clipped off).
    rows: Vec<(usize, usize)>,
    cols: Vec<(usize, usize)>,
    /// Fixed divisor (kH·kW for count_include_pad), or None for each window's own size.
    divisor: Option<usize>,
}

impl Windows {
    fn in_plane(&self) -> usize {
        self.h * self.w
    }
    fn out_plane(&self) -> usize {
        self.rows.len() * self.cols.len()
    }
    fn out_shape(&self, x: &[usize]) -> Vec<usize> {
        vec![x[0], x[1], self.rows.len(), self.cols.len()]
    }
    /// The window of output (oy, ox) and the divisor of its mean.
    fn window(&self, oy: usize, ox: usize) -> ((usize, usize), (usize, usize), usize) {
        let (r, c) = (self.rows[oy], self.cols[ox]);
        let count = self.divisor.unwrap_or((r.1 - r.0) * (c.1 - c.0));
        (r, c, count)
    }
}

/// Windows of a kernel `k` sliding with `stride` over `len` padded by `pad` each side.
fn strided_windows(len: usize, k: usize, stride: usize, pad: usize) -> Vec<(usize, usize)> {
    let out = (len + 2 * pad - k) / stride + 1;
    (0..out)
        .map(|o| {
            let start = o * stride;
            (start.saturating_sub(pad), (start + k).min(len + pad) - pad)
        })
        .collect()
}

/// PyTorch's adaptive windows: [⌊i·len/out⌋, ⌈(i+1)·len/out⌉).
fn adaptive_windows(len: usize, out: usize) -> Vec<(usize, usize)> {
    (0..out)
        .map(|i| (i * len / out, ((i + 1) * len).div_ceil(out)))
        .collect()
}

/// Checks a 4-D float input and the kernel/stride/padding of a sliding pool.
fn pool_windows(
    op: &'static str,
    x: &Tensor,
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
) -> Result<Windows> {
    expect_float(op, x)?;
    if x.rank() != 4 {
        return Err(Error::shape(
            op,
            "expected a 3-D or 4-D input [N, C, H, W]",
            x.shape(),
        ));
    }
    let (k, s, p) = (
        [kernel.0, kernel.1],
        [stride.0, stride.1],
        [padding.0, padding.1],
    );
    if k.contains(&0) || s.contains(&0) {
        return Err(Error::invalid(
            op,
            format!("kernel {kernel:?} and stride {stride:?} must be positive"),
        ));
    }
    if p[0] > k[0] / 2 || p[1] > k[1] / 2 {
        return Err(Error::invalid(
            op,
            format!("padding {padding:?} must be at most half the kernel {kernel:?}"),
        ));
    }
    let (h, w) = (x.shape()[2], x.shape()[3]);
    if h == 0 || w == 0 {
        return Err(Error::shape(
            op,
            "the input's H and W must be positive",
            x.shape(),
        ));
    }
    if h + 2 * p[0] < k[0] || w + 2 * p[1] < k[1] {
        return Err(Error::invalid(
            op,
            format!(
                "kernel {kernel:?} is larger than the padded input (input {:?}, padding {padding:?})",
                x.shape()
            ),
        ));
    }
    Ok(Windows {
        planes: x.shape()[0] * x.shape()[1],
        h,
        w,
        rows: strided_windows(h, k[0], s[0], p[0]),
        cols: strided_windows(w, k[1], s[1], p[1]),
        divisor: Some(k[0] * k[1]),
    })
}

/// A vector of `planes` planes of `len`, plane p filled by `f(p, plane)` with the plane
/// zeroed first; in parallel over planes when the op touches many elements.
///
/// Each plane is zeroed just before `f` runs on it, while it is in cache, instead of in a
/// separate pass over the whole buffer. Writing before the read-modify-write scatters of
/// the backward kernels also makes each fresh page fault once instead of twice (zero page,
/// then copy-on-write).
fn per_plane<U: Copy + Default + Send>(
    planes: usize,
    len: usize,
    work: usize,
    f: impl Fn(usize, &mut [U]) + Sync,
) -> Vec<U> {
    if len == 0 {
        return Vec::new();
    }
    let run = |(p, d): (usize, &mut [MaybeUninit<U>])| f(p, fill_uninit(d, U::default()));
    // SAFETY: `run` writes every element of every chunk, and the chunks cover all slots.
    unsafe {
        write_vec(planes * len, |out| {
            if work >= PARALLEL_THRESHOLD {
                out.par_chunks_mut(len).enumerate().for_each(run);
            } else {
                out.chunks_mut(len).enumerate().for_each(run);
            }
        })
    }
}

/// Index in the plane of the window's maximum as PyTorch picks it: the first maximum, or
/// the last NaN when the window holds one.
fn window_argmax<T: Float>(
    x: &[T],
    w: usize,
    (y0, y1): (usize, usize),
    (x0, x1): (usize, usize),
) -> usize {
    let rows = || (y0..y1).map(|iy| (iy * w + x0, &x[iy * w..][x0..x1]));
    // The max first, branch-free, then one search: a compare-and-branch per element
    // mispredicts constantly on noisy inputs (about 1.5× slower on random data).
    let (mut best, mut nan) = (T::neg_infinity(), false);
    for (_, row) in rows() {
        for &v in row {
            best = best.max(v);
            nan |= v.is_nan();
        }
    }
    let mut at = y0 * w + x0;
    for (start, row) in rows() {
        for (i, &v) in row.iter().enumerate() {
            if nan && v.is_nan() {
                at = start + i;
            } else if !nan && v == best {
                return start + i;
            }
        }
    }
    at
}

/// [`window_argmax`] of a full 2×2 window at (y0, x0), in one pass: a later element
/// wins only when strictly larger, or when it is NaN (so the last NaN wins, as PyTorch).
fn argmax_2x2<T: Float>(x: &[T], w: usize, y0: usize, x0: usize) -> usize {
    let i0 = y0 * w + x0;
    let (mut at, mut best) = (i0, x[i0]);
    for i in [i0 + 1, i0 + w, i0 + w + 1] {
        let v = x[i];
        if v > best || v.is_nan() {
            (at, best) = (i, v);
        }
    }
    at
}

/// Whether window i of `wins` is [2i, 2i + 2) for every i: a 2×2 kernel at stride 2
/// without padding along that dim.
fn pairs(wins: &[(usize, usize)]) -> bool {
    wins.iter()
        .enumerate()
        .all(|(i, &(a, b))| a == 2 * i && b == a + 2)
}

/// One output row of a 2×2, stride-2 max pool from input rows `r0` (plane offset `base`)
/// and `r1` (the next row). Same choice as [`argmax_2x2`] but with selects instead of
/// branches, which mispredict about half the time on noisy inputs.
#[inline(always)]
fn max_row_2x2<T: Float>(
    (r0, r1): (&[T], &[T]),
    (base, w): (usize, usize),
    y: &mut [T],
    arg: &mut [usize],
) {
    let quads = r0.chunks_exact(2).zip(r1.chunks_exact(2));
    for (ox, ((y, a), (p, q))) in y.iter_mut().zip(arg.iter_mut()).zip(quads).enumerate() {
        let (mut best, mut off) = (p[0], 0);
        for (v, o) in [(p[1], 1), (q[0], w), (q[1], w + 1)] {
            let take = v > best || v.is_nan();
            best = if take { v } else { best };
            off = if take { o } else { off };
        }
        (*y, *a) = (best, base + 2 * ox + off);
    }
}

/// Max of each window and its index in the plane.
fn max_plane<T: Float>(win: &Windows, x: &[T], y: &mut [T], arg: &mut [usize]) {
    let ow = win.cols.len();
    if pairs(&win.rows) && pairs(&win.cols) {
        let w = win.w;
        let rows = y.chunks_exact_mut(ow).zip(arg.chunks_exact_mut(ow));
        for (oy, (y, arg)) in rows.enumerate() {
            let base = 2 * oy * w;
            let (r0, r1) = (&x[base..][..2 * ow], &x[base + w..][..2 * ow]);
            max_row_2x2((r0, r1), (base, w), y, arg);
        }
        return;
    }
    for (oy, &rows) in win.rows.iter().enumerate() {
        for (ox, &cols) in win.cols.iter().enumerate() {
            let at = if rows.1 - rows.0 == 2 && cols.1 - cols.0 == 2 {
                argmax_2x2(x, win.w, rows.0, cols.0)
            } else {
                window_argmax(x, win.w, rows, cols)
            };
            (y[oy * ow + ox], arg[oy * ow + ox]) = (x[at], at);
        }
    }
}

/// Max pooling of every plane: the outputs and their argmax indices.
fn max_forward<T: Float>(win: &Windows, x: &[T], work: usize) -> (Vec<T>, Vec<usize>) {
    let (inp, outp) = (win.in_plane(), win.out_plane());
    let n = win.planes * outp;
    let (mut y, mut arg) = (Vec::with_capacity(n), Vec::with_capacity(n));
    if outp == 0 {
        return (y, arg);
    }
    // Each plane's outputs are zeroed just before it is pooled (in cache) rather than in
    // a separate pass over both buffers.
    type Plane<'a, T> = (
        (usize, &'a mut [MaybeUninit<T>]),
        &'a mut [MaybeUninit<usize>],
    );
    let f = |((p, y), a): Plane<T>| {
        let (y, a) = (fill_uninit(y, T::zero()), fill_uninit(a, 0));
        max_plane(win, &x[p * inp..][..inp], y, a)
    };
    let (ys, args) = (
        &mut y.spare_capacity_mut()[..n],
        &mut arg.spare_capacity_mut()[..n],
    );
    if work >= PARALLEL_THRESHOLD {
        let planes = ys.par_chunks_mut(outp).enumerate();
        planes.zip(args.par_chunks_mut(outp)).for_each(f);
    } else {
        ys.chunks_mut(outp)
            .enumerate()
            .zip(args.chunks_mut(outp))
            .for_each(f);
    }
    // SAFETY: the chunks cover all n slots of both, and `f` writes every slot of its chunks.
    unsafe {
        y.set_len(n);
        arg.set_len(n);
    }
    (y, arg)
}

/// Routes each output gradient to its window's argmax.
fn max_back_plane<T: Float>(arg: &[usize], dy: &[T], dx: &mut [T]) {
    // `dx` arrives zeroed (see per_plane).
    for (&a, &d) in arg.iter().zip(dy) {
        dx[a] += d;
    }
}

/// Mean of each window.
fn avg_plane<T: Float>(win: &Windows, x: &[T], y: &mut [T]) {
    let ow = win.cols.len();
    for oy in 0..win.rows.len() {
        for ox in 0..ow {
            let ((y0, y1), (x0, x1), count) = win.window(oy, ox);
            let mut sum = T::zero();
            for iy in y0..y1 {
                sum += x[iy * win.w..][x0..x1].iter().copied().sum::<T>();
            }
            y[oy * ow + ox] = sum / T::from_f64(count as f64);
        }
    }
}

/// Spreads each output gradient evenly over the input positions of its window.
fn avg_back_plane<T: Float>(win: &Windows, dy: &[T], dx: &mut [T]) {
    // `dx` arrives zeroed (see per_plane).
    let ow = win.cols.len();
    for oy in 0..win.rows.len() {
        for ox in 0..ow {
            let ((y0, y1), (x0, x1), count) = win.window(oy, ox);
            let share = dy[oy * ow + ox] / T::from_f64(count as f64);
            for iy in y0..y1 {
                dx[iy * win.w..][x0..x1]
                    .iter_mut()
                    .for_each(|d| *d += share);
            }
        }
    }
}

impl Tensor {
    /// Max pooling (as `F.max_pool2d`, floor mode): padded positions count as −∞ and
    /// `padding` may be at most half the kernel. The gradient goes to the first maximum.
    pub fn max_pool2d(
        &self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Tensor> {
        if self.rank() == 3 {
            return self
                .unsqueeze(0)?
                .max_pool2d(kernel, stride, padding)?
                .squeeze(0);
        }
        let win = pool_windows("max_pool2d", self, kernel, stride, padding)?;
        let (inp, outp) = (win.in_plane(), win.out_plane());
        let work = win.planes * outp * kernel.0 * kernel.1;
        let (out, arg) = float_dispatch!("max_pool2d", self.dtype(), T => {
            let (y, arg) = self.with_slice(|x: &[T]| max_forward(&win, x, work))?;
            (Tensor::from_vec(y, &win.out_shape(self.shape()))?, arg)
        });
        let in_shape = self.shape().to_vec();
        Ok(out.record("max_pool2d", &[self], move |dy| {
            let dx = float_dispatch!("max_pool2d", dy.dtype(), T => {
                let dys = dy.to_vec::<T>()?;
                let dx = per_plane(win.planes, inp, dys.len(), |p, dx| {
                    max_back_plane(&arg[p * outp..][..outp], &dys[p * outp..][..outp], dx)
                });
                Tensor::from_vec(dx, &in_shape)?
            });
            Ok(vec![Some(dx)])
        }))
    }

    /// Average pooling (as `F.avg_pool2d` with count_include_pad=True, floor mode): every
    /// window sum is divided by kH·kW, padding included.
    pub fn avg_pool2d(
        &self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Tensor> {
        if self.rank() == 3 {
            return self
                .unsqueeze(0)?
                .avg_pool2d(kernel, stride, padding)?
                .squeeze(0);
        }
        let win = pool_windows("avg_pool2d", self, kernel, stride, padding)?;
        self.avg_pool_impl("avg_pool2d", win)
    }

    /// Adaptive average pooling (as `F.adaptive_avg_pool2d`) to `output` = (H_out, W_out):
    /// output row i averages input rows ⌊i·H/H_out⌋ .. ⌈(i+1)·H/H_out⌉, likewise columns.
    pub fn adaptive_avg_pool2d(&self, output: (usize, usize)) -> Result<Tensor> {
        const OP: &str = "adaptive_avg_pool2d";
        if self.rank() == 3 {
            return self.unsqueeze(0)?.adaptive_avg_pool2d(output)?.squeeze(0);
        }
        expect_float(OP, self)?;
        if self.rank() != 4 {
            return Err(Error::shape(
                OP,
                "expected a 3-D or 4-D input [N, C, H, W]",
                self.shape(),
            ));
        }
        let (h, w) = (self.shape()[2], self.shape()[3]);
        if output.0 == 0 || output.1 == 0 || h == 0 || w == 0 {
            return Err(Error::shape(
                OP,
                format!("output size {output:?} and the input's H and W must be positive"),
                self.shape(),
            ));
        }
        let win = Windows {
            planes: self.shape()[0] * self.shape()[1],
            h,
            w,
            rows: adaptive_windows(h, output.0),
            cols: adaptive_windows(w, output.1),
            divisor: None,
        };
        self.avg_pool_impl(OP, win)
    }

    fn avg_pool_impl(&self, op: &'static str, win: Windows) -> Result<Tensor> {
        let (inp, outp) = (win.in_plane(), win.out_plane());
        let work = win.planes * (inp + outp);
        let out = float_dispatch!(op, self.dtype(), T => {
            let y = self.with_slice(|x: &[T]| {
                per_plane(win.planes, outp, work, |p, y| avg_plane(&win, &x[p * inp..][..inp], y))
            })?;
            Tensor::from_vec(y, &win.out_shape(self.shape()))?
        });
        let in_shape = self.shape().to_vec();
        Ok(out.record(op, &[self], move |dy| {
            let dx = float_dispatch!(op, dy.dtype(), T => {
                let dys = dy.to_vec::<T>()?;
                let dx = per_plane(win.planes, inp, work, |p, dx| {
                    avg_back_plane(&win, &dys[p * outp..][..outp], dx)
                });
                Tensor::from_vec(dx, &in_shape)?
            });
            Ok(vec![Some(dx)])
        }))
    }
}
