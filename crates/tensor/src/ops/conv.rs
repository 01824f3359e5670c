//! 2-D (and 1-D) convolution as im2col + GEMM, with its backward; `F.conv2d` semantics
//! (stride, zero padding, dilation, groups).
//!
//! im2col unrolls every receptive field of one image into a column: `cols` has one row per
//! (input channel, kernel row, kernel col) and one column per output pixel, so group g of
//! the convolution is the product W_g [C_out/g, C_in/g·kH·kW] · cols_g [C_in/g·kH·kW, L].

use std::mem::MaybeUninit;

use rayon::prelude::*;

use crate::cpu::{fill_uninit, num_threads, write_vec, PARALLEL_THRESHOLD};
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::{expect_float, same_dtype};
use crate::{float_dispatch, Tensor};

/// Below this many multiply-adds per image a GEMM runs on one thread.
const GEMM_PARALLEL_FLOPS: usize = 1 << 18;

/// The validated sizes of one 2-D convolution.
#[derive(Debug, Clone, Copy)]
struct Geom {
    n: usize,
    c_in: usize,
    h: usize,
    w: usize,
    c_out: usize,
    kh: usize,
    kw: usize,
    stride: (usize, usize),
    pad: (usize, usize),
    dil: (usize, usize),
    groups: usize,
    oh: usize,
    ow: usize,
}

impl Geom {
    /// Rows of a group's weight matrix (output channels per group).
    fn og(&self) -> usize {
        self.c_out / self.groups
    }
    /// The GEMM inner dim: input channels per group × kernel taps.
    fn k_rows(&self) -> usize {
        self.c_in / self.groups * self.kh * self.kw
    }
    /// Output pixels per image.
    fn l(&self) -> usize {
        self.oh * self.ow
    }
    fn in_img(&self) -> usize {
        self.c_in * self.h * self.w
    }
    fn out_img(&self) -> usize {
        self.c_out * self.l()
    }
    fn cols_len(&self) -> usize {
        self.c_in * self.kh * self.kw * self.l()
    }
    fn flops_per_image(&self) -> usize {
        self.c_out * self.k_rows() * self.l()
    }
    /// A 1×1 kernel at stride 1 without padding: cols is the image itself.
    fn pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.stride == (1, 1) && self.pad == (0, 0)
    }
}

/// How the images of a batch are spread over threads.
#[derive(Debug, Clone, Copy)]
enum Plan {
    /// One image after another, each GEMM on this many threads.
    Serial(usize),
    /// Images in parallel, each on one thread.
    Batch,
}

impl Plan {
    fn new(g: &Geom) -> Plan {
        let threads = num_threads();
        let flops = g.flops_per_image();
        if threads <= 1 || g.n * flops < GEMM_PARALLEL_FLOPS {
            Plan::Serial(1)
        } else if g.n > 1 && (2 * g.n >= threads || flops < GEMM_PARALLEL_FLOPS) {
            Plan::Batch
        } else {
            // Too few (large) images to keep every thread busy: thread each GEMM instead.
            Plan::Serial(threads)
        }
    }
}

/// Checks ranks, dtypes, channels and groups, and returns the output spatial sizes.
/// Works for any number of spatial dims (`stride.len()`), so conv1d reports its own shapes.
fn validate(
    op: &'static str,
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    (stride, pad, dil): (&[usize], &[usize], &[usize]),
    groups: usize,
) -> Result<Vec<usize>> {
    let fail = |msg: String| Err(Error::invalid(op, msg));
    let rank = stride.len() + 2;
    let (xs, ws) = (x.shape(), w.shape());
    if x.rank() != rank || w.rank() != rank {
        return fail(format!(
            "expected a {rank}-D input and weight, got input {xs:?} and weight {ws:?}"
        ));
    }
    expect_float(op, x)?;
    same_dtype(op, x, w)?;
    if xs[1..].contains(&0) || ws.contains(&0) {
        return fail(format!(
            "empty channel, spatial or kernel dim: input {xs:?}, weight {ws:?}"
        ));
    }
    let (c_in, c_out) = (xs[1], ws[0]);
    if groups == 0 || !c_in.is_multiple_of(groups) || !c_out.is_multiple_of(groups) {
        return fail(format!("groups={groups} must divide both the input channels ({c_in}) and the output channels ({c_out}) (input {xs:?}, weight {ws:?})"));
    }
    if ws[1] * groups != c_in {
        let want = ws[1] * groups;
        return fail(format!("input {xs:?} has {c_in} channels but weight {ws:?} with groups={groups} expects {want}"));
    }
    if let Some(b) = bias {
        same_dtype(op, x, b)?;
        if b.shape() != [c_out] {
            return fail(format!(
                "bias {:?} must have shape [{c_out}] for weight {ws:?}",
                b.shape()
            ));
        }
    }
    if stride.contains(&0) || dil.contains(&0) {
        return fail(format!(
            "stride {stride:?} and dilation {dil:?} must be positive"
        ));
    }
    let mut out = Vec::with_capacity(stride.len());
    for i in 0..stride.len() {
        let span = dil[i] * (ws[i + 2] - 1) + 1;
        let padded = xs[i + 2] + 2 * pad[i];
        if span > padded {
            return fail(format!("kernel {ws:?} with dilation {dil:?} spans {span} along spatial dim {i}, more than the padded input ({padded}) of input {xs:?} with padding {pad:?}"));
        }
        out.push((padded - span) / stride[i] + 1);
    }
    Ok(out)
}

/// The half-open range of output positions `o` whose tap `o·stride + offset - pad` lands
/// inside an input of length `len`.
fn valid_range(offset: usize, pad: usize, stride: usize, len: usize, out: usize) -> (usize, usize) {
    let lo = pad.saturating_sub(offset).div_ceil(stride);
    let hi = if len + pad <= offset {
        0
    } else {
        ((len - 1 + pad - offset) / stride + 1).min(out)
    };
    (lo.min(hi), hi)
}

/// The cols rows of one input channel: row (ki, kj) holds that tap for every output pixel.
fn im2col_channel<T: Float>(g: &Geom, src: &[T], dst: &mut [T]) {
    let (l, (sh, sw), (ph, pw), (dh, dw)) = (g.l(), g.stride, g.pad, g.dil);
    for ki in 0..g.kh {
        let (oy0, oy1) = valid_range(ki * dh, ph, sh, g.h, g.oh);
        for kj in 0..g.kw {
            let (ox0, ox1) = valid_range(kj * dw, pw, sw, g.w, g.ow);
            let row = &mut dst[(ki * g.kw + kj) * l..][..l];
            if ox0 == ox1 {
                row.fill(T::zero());
                continue;
            }
            // Only the taps that fall in the padding are zeroed; the rest is copied once.
            row[..oy0 * g.ow].fill(T::zero());
            row[oy1 * g.ow..].fill(T::zero());
            let ix0 = ox0 * sw + kj * dw - pw;
            for oy in oy0..oy1 {
                let iy = oy * sh + ki * dh - ph;
                let src_row = &src[iy * g.w + ix0..(iy + 1) * g.w];
                let out_row = &mut row[oy * g.ow..][..g.ow];
                out_row[..ox0].fill(T::zero());
                out_row[ox1..].fill(T::zero());
                let out_row = &mut out_row[ox0..ox1];
                if sw == 1 {
                    out_row.copy_from_slice(&src_row[..ox1 - ox0]);
                } else {
                    out_row
                        .iter_mut()
                        .zip(src_row.iter().step_by(sw))
                        .for_each(|(o, &v)| *o = v);
                }
            }
        }
    }
}

/// Folds one channel's cols rows back into its image plane: the adjoint of
/// [`im2col_channel`]. Receptive fields overlap when stride < kernel span, so several
/// columns map to the same pixel and their gradients must be summed, not overwritten.
fn col2im_channel<T: Float>(g: &Geom, src: &[T], dst: &mut [T]) {
    // `dst` arrives zeroed (see conv_input_grad).
    let (l, (sh, sw), (ph, pw), (dh, dw)) = (g.l(), g.stride, g.pad, g.dil);
    for ki in 0..g.kh {
        let (oy0, oy1) = valid_range(ki * dh, ph, sh, g.h, g.oh);
        for kj in 0..g.kw {
            let (ox0, ox1) = valid_range(kj * dw, pw, sw, g.w, g.ow);
            if ox0 == ox1 {
                continue;
            }
            let ix0 = ox0 * sw + kj * dw - pw;
            let row = &src[(ki * g.kw + kj) * l..][..l];
            for oy in oy0..oy1 {
                let iy = oy * sh + ki * dh - ph;
                let dst_row = &mut dst[iy * g.w + ix0..(iy + 1) * g.w];
                let in_row = &row[oy * g.ow..][ox0..ox1];
                if sw == 1 {
                    // Contiguous on both sides: a plain zip vectorizes, step_by does not.
                    let pairs = dst_row.iter_mut().zip(in_row);
                    pairs.for_each(|(d, &v)| *d += v);
                } else {
                    let pairs = dst_row.iter_mut().step_by(sw).zip(in_row);
                    pairs.for_each(|(d, &v)| *d += v);
                }
            }
        }
    }
}

/// Unrolls one image [C_in, H, W] into `cols` [C_in·kH·kW, L] (padding taps are zero).
fn im2col<T: Float>(g: &Geom, img: &[T], cols: &mut Vec<T>, parallel: bool) {
    cols.resize(g.cols_len(), T::zero());
    let (plane, rows) = (g.h * g.w, g.kh * g.kw * g.l());
    let f = |(c, dst): (usize, &mut [T])| im2col_channel(g, &img[c * plane..][..plane], dst);
    if parallel && cols.len() >= PARALLEL_THRESHOLD {
        cols.par_chunks_mut(rows).enumerate().for_each(f);
    } else {
        cols.chunks_mut(rows).enumerate().for_each(f);
    }
}

/// Folds `cols` [C_in·kH·kW, L] into the image gradient `img` [C_in, H, W] (overwritten).
/// Channels touch disjoint planes, so they can run in parallel.
fn col2im<T: Float>(g: &Geom, cols: &[T], img: &mut [T], parallel: bool) {
    let (plane, rows) = (g.h * g.w, g.kh * g.kw * g.l());
    let f = |(dst, src): (&mut [T], &[T])| col2im_channel(g, src, dst);
    if parallel && cols.len() >= PARALLEL_THRESHOLD {
        img.par_chunks_mut(plane)
            .zip(cols.par_chunks(rows))
            .for_each(f);
    } else {
        img.chunks_mut(plane).zip(cols.chunks(rows)).for_each(f);
    }
}

/// dst [m×n, row-major] = (dst when `acc`) + A·B, where A (m×k) and B (k×n) are given as
/// (slice, row stride, col stride).
fn gemm<T: Float>(
    (m, n, k): (usize, usize, usize),
    dst: &mut [T],
    acc: bool,
    (a, ars, acs): (&[T], usize, usize),
    (b, brs, bcs): (&[T], usize, usize),
    threads: usize,
) {
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    assert!(dst.len() >= m * n);
    assert!(a.len() > (m - 1) * ars + (k - 1) * acs);
    assert!(b.len() > (k - 1) * brs + (n - 1) * bcs);
    // SAFETY: the asserts above keep every element the GEMM touches inside its slice.
    unsafe {
        T::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            acc,
            a.as_ptr(),
            acs as isize,
            ars as isize,
            b.as_ptr(),
            bcs as isize,
            brs as isize,
            threads,
        );
    }
}

/// One image's output [C_out, L] = W_g · cols_g per group, plus bias.
fn forward_image<T: Float>(
    g: &Geom,
    (w, bias): (&[T], Option<&[T]>),
    x: &[T],
    out: &mut [T],
    scratch: &mut Vec<T>,
    threads: usize,
) {
    // `out` arrives holding the bias rows (or zeros without a bias).
    let (og, k, l) = (g.og(), g.k_rows(), g.l());
    let cols: &[T] = if g.pointwise() {
        x
    } else {
        im2col(g, x, scratch, threads > 1);
        scratch
    };
    for grp in 0..g.groups {
        gemm(
            (og, l, k),
            &mut out[grp * og * l..],
            bias.is_some(),
            (&w[grp * og * k..], k, 1),
            (&cols[grp * k * l..], l, 1),
            threads,
        );
    }
}

/// One image's input gradient: dcols_g = W_gᵀ · dY_g per group, then col2im.
fn input_grad_image<T: Float>(
    g: &Geom,
    w: &[T],
    dy: &[T],
    dx: &mut [T],
    scratch: &mut Vec<T>,
    threads: usize,
) {
    let (og, k, l) = (g.og(), g.k_rows(), g.l());
    let pointwise = g.pointwise();
    if !pointwise {
        scratch.resize(g.cols_len(), T::zero());
    }
    for grp in 0..g.groups {
        let dst = if pointwise {
            &mut dx[..]
        } else {
            &mut scratch[..]
        };
        gemm(
            (k, l, og),
            &mut dst[grp * k * l..],
            false,
            (&w[grp * og * k..], 1, k),
            (&dy[grp * og * l..], l, 1),
            threads,
        );
    }
    if !pointwise {
        col2im(g, scratch, dx, threads > 1);
    }
}

/// Adds one image's weight gradient dW_g += dY_g · cols_gᵀ per group into `dw`.
fn weight_grad_image<T: Float>(
    g: &Geom,
    x: &[T],
    dy: &[T],
    dw: &mut [T],
    scratch: &mut Vec<T>,
    threads: usize,
) {
    let (og, k, l) = (g.og(), g.k_rows(), g.l());
    let cols: &[T] = if g.pointwise() {
        x
    } else {
        im2col(g, x, scratch, threads > 1);
        scratch
    };
    for grp in 0..g.groups {
        gemm(
            (og, k, l),
            &mut dw[grp * og * k..],
            true,
            (&dy[grp * og * l..], l, 1),
            (&cols[grp * k * l..], 1, l),
            threads,
        );
    }
}

/// Runs `f(src image, dst image, scratch, gemm threads)` over the batch following `plan`.
fn per_image<T: Float, D: Send>(
    plan: Plan,
    (src, src_len): (&[T], usize),
    (dst, dst_len): (&mut [D], usize),
    f: impl Fn(&[T], &mut [D], &mut Vec<T>, usize) + Sync,
) {
    match plan {
        Plan::Batch => dst
            .par_chunks_mut(dst_len)
            .zip(src.par_chunks(src_len))
            .for_each_init(Vec::new, |scratch, (d, s)| f(s, d, scratch, 1)),
        Plan::Serial(threads) => {
            let mut scratch = Vec::new();
            for (d, s) in dst.chunks_mut(dst_len).zip(src.chunks(src_len)) {
                f(s, d, &mut scratch, threads);
            }
        }
    }
}

// The outputs below are allocated uninitialized and each image's part is initialized
// right before its GEMM (bias rows, or zeros) while it is in cache: a `vec![0; n]` would
// add a pass over the whole buffer, and its fresh pages would fault twice under the
// read-modify-write of col2im (zero page, then copy-on-write).

fn conv_forward<T: Float>(g: &Geom, x: &[T], w: &[T], bias: Option<&[T]>) -> Vec<T> {
    let l = g.l();
    let f = |xi: &[T], oi: &mut [MaybeUninit<T>], s: &mut Vec<T>, t| {
        let oi = match bias {
            Some(b) => {
                for (row, &bv) in oi.chunks_mut(l).zip(b) {
                    fill_uninit(row, bv);
                }
                // SAFETY: the bias rows ([C_out] of L each) cover the whole image.
                unsafe { &mut *(oi as *mut [MaybeUninit<T>] as *mut [T]) }
            }
            None => fill_uninit(oi, T::zero()),
        };
        forward_image(g, (w, bias), xi, oi, s, t)
    };
    // SAFETY: per_image hands every image's chunk to `f`, which initializes all of it.
    unsafe {
        write_vec(g.n * g.out_img(), |out| {
            per_image(Plan::new(g), (x, g.in_img()), (out, g.out_img()), f)
        })
    }
}

fn conv_input_grad<T: Float>(g: &Geom, w: &[T], dy: &[T]) -> Vec<T> {
    let f = |dyi: &[T], dxi: &mut [MaybeUninit<T>], s: &mut Vec<T>, t| {
        input_grad_image(g, w, dyi, fill_uninit(dxi, T::zero()), s, t)
    };
    // SAFETY: per_image hands every image's chunk to `f`, which initializes all of it.
    unsafe {
        write_vec(g.n * g.in_img(), |dx| {
            per_image(Plan::new(g), (dy, g.out_img()), (dx, g.in_img()), f)
        })
    }
}

/// Σ over the batch of per-image weight gradients; in parallel each thread accumulates
/// its own partial sum and the partials are added at the end.
fn conv_weight_grad<T: Float>(g: &Geom, x: &[T], dy: &[T]) -> Vec<T> {
    let len = g.c_out * g.k_rows();
    let (xi, dyi) = (g.in_img(), g.out_img());
    match Plan::new(g) {
        Plan::Batch => (0..g.n)
            .into_par_iter()
            .fold(
                || (vec![T::zero(); len], Vec::new()),
                |(mut dw, mut scratch), i| {
                    let (x, dy) = (&x[i * xi..][..xi], &dy[i * dyi..][..dyi]);
                    weight_grad_image(g, x, dy, &mut dw, &mut scratch, 1);
                    (dw, scratch)
                },
            )
            .map(|(dw, _)| dw)
            .reduce_with(|mut a, b| {
                a.iter_mut().zip(&b).for_each(|(a, &b)| *a += b);
                a
            })
            .unwrap_or_else(|| vec![T::zero(); len]),
        Plan::Serial(threads) => {
            let (mut dw, mut scratch) = (vec![T::zero(); len], Vec::new());
            for (x, dy) in x.chunks(xi).zip(dy.chunks(dyi)) {
                weight_grad_image(g, x, dy, &mut dw, &mut scratch, threads);
            }
            dw
        }
    }
}

/// Σ of dY over batch and pixels, per output channel.
fn conv_bias_grad<T: Float>(g: &Geom, dy: &[T]) -> Vec<T> {
    let mut db = vec![T::zero(); g.c_out];
    for img in dy.chunks(g.out_img()) {
        for (d, row) in db.iter_mut().zip(img.chunks(g.l())) {
            *d += lane_sum(row);
        }
    }
    db
}

/// Σ of `xs` in 16 independent partial sums: a single running sum is one long dependency
/// chain the compiler may not reorder (float addition), so it neither vectorizes nor
/// pipelines.
fn lane_sum<T: Float>(xs: &[T]) -> T {
    const LANES: usize = 16;
    let mut acc = [T::zero(); LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail = chunks.remainder().iter().copied().sum::<T>();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    acc.iter().copied().sum::<T>() + tail
}

impl Tensor {
    /// 2-D convolution (cross-correlation, as `torch.nn.functional.conv2d`).
    ///
    /// `self` is [N, C_in, H, W] (or unbatched [C_in, H, W]), `weight`
    /// [C_out, C_in/groups, kH, kW], `bias` [C_out]. The output is [N, C_out, H_out, W_out]
    /// with H_out = (H + 2·pad − dil·(kH − 1) − 1) / stride + 1 (floor), likewise W_out.
    pub fn conv2d(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        stride: (usize, usize),
        padding: (usize, usize),
        dilation: (usize, usize),
        groups: usize,
    ) -> Result<Tensor> {
        if self.rank() == 3 && weight.rank() == 4 {
            let x = self.unsqueeze(0)?;
            return x
                .conv2d(weight, bias, stride, padding, dilation, groups)?
                .squeeze(0);
        }
        let (s, p, d) = (stride, padding, dilation);
        let out_hw = validate(
            "conv2d",
            self,
            weight,
            bias,
            (&[s.0, s.1], &[p.0, p.1], &[d.0, d.1]),
            groups,
        )?;
        let (xs, ws) = (self.shape(), weight.shape());
        let g = Geom {
            n: xs[0],
            c_in: xs[1],
            h: xs[2],
            w: xs[3],
            c_out: ws[0],
            kh: ws[2],
            kw: ws[3],
            stride,
            pad: padding,
            dil: dilation,
            groups,
            oh: out_hw[0],
            ow: out_hw[1],
        };
        let out_shape = [g.n, g.c_out, g.oh, g.ow];
        let out = float_dispatch!("conv2d", self.dtype(), T => {
            let w = weight.to_vec::<T>()?;
            let b = bias.map(|b| b.to_vec::<T>()).transpose()?;
            let y = self.with_slice(|x: &[T]| conv_forward(&g, x, &w, b.as_deref()))?;
            Tensor::from_vec(y, &out_shape)?
        });
        let mut inputs = vec![self, weight];
        inputs.extend(bias);
        let need = [
            self.requires_grad(),
            weight.requires_grad(),
            bias.is_some_and(|b| b.requires_grad()),
        ];
        let (x, w, has_bias) = (self.detach(), weight.detach(), bias.is_some());
        Ok(out.record("conv2d", &inputs, move |dy| {
            conv_backward(&g, &x, &w, dy, need, has_bias)
        }))
    }

    /// 1-D convolution (as `torch.nn.functional.conv1d`): `self` [N, C_in, L] (or [C_in, L]),
    /// `weight` [C_out, C_in/groups, k], `bias` [C_out]. Runs as a conv2d with H = 1.
    pub fn conv1d(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        stride: usize,
        padding: usize,
        dilation: usize,
        groups: usize,
    ) -> Result<Tensor> {
        if self.rank() == 2 && weight.rank() == 3 {
            let x = self.unsqueeze(0)?;
            return x
                .conv1d(weight, bias, stride, padding, dilation, groups)?
                .squeeze(0);
        }
        validate(
            "conv1d",
            self,
            weight,
            bias,
            (&[stride], &[padding], &[dilation]),
            groups,
        )?;
        self.unsqueeze(2)?
            .conv2d(
                &weight.unsqueeze(2)?,
                bias,
                (1, stride),
                (0, padding),
                (1, dilation),
                groups,
            )?
            .squeeze(2)
    }
}

/// Gradients for (input, weight[, bias]) given the output gradient `dy`.
fn conv_backward(
    g: &Geom,
    x: &Tensor,
    w: &Tensor,
    dy: &Tensor,
    [need_x, need_w, need_b]: [bool; 3],
    has_bias: bool,
) -> Result<Vec<Option<Tensor>>> {
    float_dispatch!("conv2d", dy.dtype(), T => {
        // dY is read in place (borrowed, not copied) for all three gradients.
        let (dx, dw, db) = dy.with_slice(|dys: &[T]| -> Result<_> {
            let dx = if need_x {
                let ws = w.to_vec::<T>()?;
                Some(conv_input_grad(g, &ws, dys))
            } else {
                None
            };
            let dw = if need_w {
                Some(x.with_slice(|xs: &[T]| conv_weight_grad(g, xs, dys))?)
            } else {
                None
            };
            let db = (has_bias && need_b).then(|| conv_bias_grad(g, dys));
            Ok((dx, dw, db))
        })??;
        let mut grads = Vec::with_capacity(3);
        grads.push(dx.map(|dx| Tensor::from_vec(dx, x.shape())).transpose()?);
        grads.push(dw.map(|dw| Tensor::from_vec(dw, w.shape())).transpose()?);
        if has_bias {
            grads.push(db.map(|db| Tensor::from_vec(db, &[g.c_out])).transpose()?);
        }
        Ok(grads)
    })
}
