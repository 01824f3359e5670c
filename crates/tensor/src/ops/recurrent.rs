//! Recurrent cells (Elman RNN, LSTM, GRU) and whole-sequence recurrences, each with its
//! fused backward.
//!
//! A cell receives its gate pre-activations in two parts, as PyTorch computes them:
//! `xg = x·W_ihᵀ + b_ih` and `hg = h·W_hhᵀ + b_hh` (rows = batch, H hidden units).
//!
//! - RNN: h' = act(xg + hg), act = tanh or ReLU.
//! - LSTM (gate order i, f, g, o): i = σ(·), f = σ(·), g = tanh(·), o = σ(·) of xg + hg;
//!   c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c').
//! - GRU (gate order r, z, n): r = σ(xr + hr), z = σ(xz + hz), n = tanh(xn + r ⊙ hn),
//!   h' = (1 − z) ⊙ n + z ⊙ h.
//!
//! The cell ops apply one step (nonlinearities and state update in one pass). The sequence
//! ops run a whole layer: given the input projection of every step at once
//! (`xproj` [T, B, G·H], one GEMM outside), each step does one GEMM h·W_hhᵀ and the fused
//! cell; backward runs backpropagation through time inside the op, step by step in
//! reverse, and forms dW_hh for all steps with one GEMM at the end. Optional per-example
//! `lengths` mask variable-length sequences: past its length an example's output is zero
//! and its state is carried unchanged, so the final state is the one at its last step.

use multiversion::multiversion;
use rayon::prelude::*;

use crate::cpu::math::FastMath;
use crate::error::{Error, Result};
use crate::ops::{expect_float, same_dtype};
use crate::{float_dispatch, Tensor};

/// The nonlinearity of an Elman RNN cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RnnActivation {
    #[default]
    Tanh,
    Relu,
}

/// Which recurrence a sequence op runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellKind {
    Rnn(RnnActivation),
    Lstm,
    Gru,
}

impl CellKind {
    /// Gate blocks per step: W_ih and W_hh have `gates() · H` rows.
    pub fn gates(self) -> usize {
        match self {
            CellKind::Rnn(_) => 1,
            CellKind::Lstm => 4,
            CellKind::Gru => 3,
        }
    }

    /// Saved activations per row, in units of H.
    fn saved(self) -> usize {
        match self {
            CellKind::Rnn(_) => 1,
            CellKind::Lstm | CellKind::Gru => 4,
        }
    }

    fn name(self) -> &'static str {
        match self {
            CellKind::Rnn(_) => "rnn_sequence",
            CellKind::Lstm => "lstm_sequence",
            CellKind::Gru => "gru_sequence",
        }
    }
}

// ---- row kernels ----------------------------------------------------------------------
// One batch row of H units at a time; compiled for AVX-512, AVX2+FMA and baseline.

#[inline(always)]
fn sigmoid<T: FastMath>(x: T) -> T {
    T::one() / (T::one() + (-x).fexp())
}

#[inline(always)]
fn split4<T>(s: &[T], n: usize) -> (&[T], &[T], &[T], &[T]) {
    (&s[..n], &s[n..2 * n], &s[2 * n..3 * n], &s[3 * n..4 * n])
}

#[inline(always)]
fn split3<T>(s: &[T], n: usize) -> (&[T], &[T], &[T]) {
    (&s[..n], &s[n..2 * n], &s[2 * n..3 * n])
}

#[inline(always)]
fn split4_mut<T>(s: &mut [T], n: usize) -> (&mut [T], &mut [T], &mut [T], &mut [T]) {
    let (a, rest) = s[..4 * n].split_at_mut(n);
    let (b, rest) = rest.split_at_mut(n);
    let (c, d) = rest.split_at_mut(n);
    (a, b, c, d)
}

#[inline(always)]
fn split3_mut<T>(s: &mut [T], n: usize) -> (&mut [T], &mut [T], &mut [T]) {
    let (a, rest) = s[..3 * n].split_at_mut(n);
    let (b, c) = rest.split_at_mut(n);
    (a, b, c)
}

/// act = [i, f, g, o]; c = f·c_prev + i·g; h = o·tanh(c).
#[multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq+avx512bw+avx2+fma",
    "x86_64+avx2+fma"
))]
fn lstm_fwd_row<T: FastMath>(
    xg: &[T],
    hg: &[T],
    c_prev: &[T],
    act: &mut [T],
    c: &mut [T],
    h: &mut [T],
) {
    let n = c.len();
    let (xi, xf, xc, xo) = split4(xg, n);
    let (hi, hf, hc, ho) = split4(hg, n);
    let (ai, af, ac, ao) = split4_mut(act, n);
    let (c_prev, h) = (&c_prev[..n], &mut h[..n]);
    for j in 0..n {
        let i = sigmoid(xi[j] + hi[j]);
        let f = sigmoid(xf[j] + hf[j]);
        let g = (xc[j] + hc[j]).ftanh();
        let o = sigmoid(xo[j] + ho[j]);
        let cn = f * c_prev[j] + i * g;
        ai[j] = i;
        af[j] = f;
        ac[j] = g;
        ao[j] = o;
        c[j] = cn;
        h[j] = o * cn.ftanh();
    }
}

/// Gate pre-activation gradients `dg` [4n] from dh (total) and dc; dc becomes dc_prev.
#[multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq+avx512bw+avx2+fma",
    "x86_64+avx2+fma"
))]
fn lstm_bwd_row<T: FastMath>(
    act: &[T],
    c_prev: &[T],
    c: &[T],
    dh: &[T],
    dc: &mut [T],
    dg: &mut [T],
) {
    let n = dc.len();
    let (ai, af, ac, ao) = split4(act, n);
    let (di, df, dcg, dout) = split4_mut(dg, n);
    let (c_prev, c, dh) = (&c_prev[..n], &c[..n], &dh[..n]);
    let one = T::one();
    for j in 0..n {
        let (i, f, g, o) = (ai[j], af[j], ac[j], ao[j]);
        let tc = c[j].ftanh();
        let dct = dc[j] + dh[j] * o * (one - tc * tc);
        di[j] = dct * g * i * (one - i);
        df[j] = dct * c_prev[j] * f * (one - f);
        dcg[j] = dct * i * (one - g * g);
        dout[j] = dh[j] * tc * o * (one - o);
        dc[j] = dct * f;
    }
}

/// act = [r, z, n, hn]; h = (1 − z)·n + z·h_prev.
#[multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq+avx512bw+avx2+fma",
    "x86_64+avx2+fma"
))]
fn gru_fwd_row<T: FastMath>(xg: &[T], hg: &[T], h_prev: &[T], act: &mut [T], h: &mut [T]) {
    let n = h.len();
    let (xr, xz, xn) = split3(xg, n);
    let (hr, hz, hn) = split3(hg, n);
    let (ar, az, an, ah) = split4_mut(act, n);
    let h_prev = &h_prev[..n];
    for j in 0..n {
        let r = sigmoid(xr[j] + hr[j]);
        let z = sigmoid(xz[j] + hz[j]);
        let nn = (xn[j] + r * hn[j]).ftanh();
        ar[j] = r;
        az[j] = z;
        an[j] = nn;
        ah[j] = hn[j];
        h[j] = (T::one() - z) * nn + z * h_prev[j];
    }
}

/// dxg, dhg [3n] and the direct part of dh_prev (dh·z) from dh (total).
#[multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq+avx512bw+avx2+fma",
    "x86_64+avx2+fma"
))]
fn gru_bwd_row<T: FastMath>(
    act: &[T],
    h_prev: &[T],
    dh: &[T],
    dxg: &mut [T],
    dhg: &mut [T],
    dh_prev: &mut [T],
) {
    let n = dh_prev.len();
    let (ar, az, an, ah) = split4(act, n);
    let (dxr, dxz, dxn) = split3_mut(dxg, n);
    let (dhr, dhz, dhn) = split3_mut(dhg, n);
    let (h_prev, dh) = (&h_prev[..n], &dh[..n]);
    let one = T::one();
    for j in 0..n {
        let (r, z, nn, hn) = (ar[j], az[j], an[j], ah[j]);
        let dnp = dh[j] * (one - z) * (one - nn * nn);
        let dzp = dh[j] * (h_prev[j] - nn) * z * (one - z);
        let drp = dnp * hn * r * (one - r);
        dxr[j] = drp;
        dxz[j] = dzp;
        dxn[j] = dnp;
        dhr[j] = drp;
        dhz[j] = dzp;
        dhn[j] = dnp * r;
        dh_prev[j] = dh[j] * z;
    }
}

#[multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq+avx512bw+avx2+fma",
    "x86_64+avx2+fma"
))]
fn rnn_fwd_row<T: FastMath>(xg: &[T], hg: &[T], relu: bool, h: &mut [T]) {
    let n = h.len();
    let (xg, hg) = (&xg[..n], &hg[..n]);
    if relu {
        for j in 0..n {
            h[j] = (xg[j] + hg[j]).max(T::zero());
        }
    } else {
        for j in 0..n {
            h[j] = (xg[j] + hg[j]).ftanh();
        }
    }
}

#[multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq+avx512bw+avx2+fma",
    "x86_64+avx2+fma"
))]
fn rnn_bwd_row<T: FastMath>(h: &[T], dh: &[T], relu: bool, dg: &mut [T]) {
    let n = dg.len();
    let (h, dh) = (&h[..n], &dh[..n]);
    if relu {
        for j in 0..n {
            dg[j] = if h[j] > T::zero() { dh[j] } else { T::zero() };
        }
    } else {
        for j in 0..n {
            dg[j] = dh[j] * (T::one() - h[j] * h[j]);
        }
    }
}

// ---- checks ---------------------------------------------------------------------------

fn expect_shape(op: &'static str, t: &Tensor, want: &[usize]) -> Result<()> {
    if t.shape() == want {
        Ok(())
    } else {
        Err(Error::ShapeMismatch {
            op,
            lhs: t.shape().to_vec(),
            rhs: want.to_vec(),
        })
    }
}

/// (batch, hidden) of a cell's `xg` [B, gates·H], checking dtypes and the other operands.
fn cell_dims(
    op: &'static str,
    gates: usize,
    xg: &Tensor,
    others: &[&Tensor],
) -> Result<(usize, usize)> {
    expect_float(op, xg)?;
    if xg.rank() != 2 || !xg.shape()[1].is_multiple_of(gates) || xg.shape()[1] == 0 {
        return Err(Error::shape(
            op,
            format!("gate pre-activations must be [batch, {gates}·hidden]"),
            xg.shape(),
        ));
    }
    for t in others {
        same_dtype(op, xg, t)?;
    }
    Ok((xg.shape()[0], xg.shape()[1] / gates))
}

// ---- single-step cells ----------------------------------------------------------------

impl Tensor {
    /// One LSTM step from the gate pre-activations `xg`, `hg` [B, 4H] (gate order i, f,
    /// g, o) and the previous cell state [B, H]: returns (h, c), each [B, H].
    pub fn lstm_cell(xg: &Tensor, hg: &Tensor, c_prev: &Tensor) -> Result<(Tensor, Tensor)> {
        const OP: &str = "lstm_cell";
        let (b, n) = cell_dims(OP, 4, xg, &[hg, c_prev])?;
        expect_shape(OP, hg, xg.shape())?;
        expect_shape(OP, c_prev, &[b, n])?;
        let (out, act) = float_dispatch!(OP, xg.dtype(), T => {
            let (x, hgv, cp) = (xg.to_vec::<T>()?, hg.to_vec::<T>()?, c_prev.to_vec::<T>()?);
            let mut act = vec![T::default(); b * 4 * n];
            let mut out = vec![T::default(); 2 * b * n];
            let (hs, cs) = out.split_at_mut(b * n);
            for r in 0..b {
                let g4 = r * 4 * n..(r + 1) * 4 * n;
                let g1 = r * n..(r + 1) * n;
                lstm_fwd_row(&x[g4.clone()], &hgv[g4.clone()], &cp[g1.clone()], &mut act[g4],
                    &mut cs[g1.clone()], &mut hs[g1]);
            }
            (Tensor::from_vec(out, &[2, b, n])?, Tensor::from_vec(act, &[b, 4 * n])?)
        });
        let (c_prev_saved, c_saved) = (c_prev.detach(), out.narrow(0, 1, 1)?.reshape(&[b, n])?);
        let packed = out.record(OP, &[xg, hg, c_prev], move |g| {
            float_dispatch!(OP, g.dtype(), T => {
                let gv = g.to_vec::<T>()?;
                let (dh, dcn) = gv.split_at(b * n);
                let mut dc = dcn.to_vec();
                let (a, cp, c) = (act.to_vec::<T>()?, c_prev_saved.to_vec::<T>()?, c_saved.to_vec::<T>()?);
                let mut dg = vec![T::default(); b * 4 * n];
                for r in 0..b {
                    let g4 = r * 4 * n..(r + 1) * 4 * n;
                    let g1 = r * n..(r + 1) * n;
                    lstm_bwd_row(&a[g4.clone()], &cp[g1.clone()], &c[g1.clone()], &dh[g1.clone()],
                        &mut dc[g1], &mut dg[g4]);
                }
                let dg = Tensor::from_vec(dg, &[b, 4 * n])?;
                Ok(vec![Some(dg.clone()), Some(dg), Some(Tensor::from_vec(dc, &[b, n])?)])
            })
        });
        let h = packed.narrow(0, 0, 1)?.reshape(&[b, n])?;
        let c = packed.narrow(0, 1, 1)?.reshape(&[b, n])?;
        Ok((h, c))
    }

    /// One GRU step (PyTorch's formulation) from `xg` = x·W_ihᵀ + b_ih and
    /// `hg` = h·W_hhᵀ + b_hh, both [B, 3H] (gate order r, z, n), and h_prev [B, H].
    pub fn gru_cell(xg: &Tensor, hg: &Tensor, h_prev: &Tensor) -> Result<Tensor> {
        const OP: &str = "gru_cell";
        let (b, n) = cell_dims(OP, 3, xg, &[hg, h_prev])?;
        expect_shape(OP, hg, xg.shape())?;
        expect_shape(OP, h_prev, &[b, n])?;
        let (out, act) = float_dispatch!(OP, xg.dtype(), T => {
            let (x, hgv, hp) = (xg.to_vec::<T>()?, hg.to_vec::<T>()?, h_prev.to_vec::<T>()?);
            let mut act = vec![T::default(); b * 4 * n];
            let mut h = vec![T::default(); b * n];
            for r in 0..b {
                let g3 = r * 3 * n..(r + 1) * 3 * n;
                let g1 = r * n..(r + 1) * n;
                gru_fwd_row(&x[g3.clone()], &hgv[g3], &hp[g1.clone()],
                    &mut act[r * 4 * n..(r + 1) * 4 * n], &mut h[g1]);
            }
            (Tensor::from_vec(h, &[b, n])?, Tensor::from_vec(act, &[b, 4 * n])?)
        });
        let hp_saved = h_prev.detach();
        Ok(out.record(OP, &[xg, hg, h_prev], move |g| {
            float_dispatch!(OP, g.dtype(), T => {
                let (dh, a, hp) = (g.to_vec::<T>()?, act.to_vec::<T>()?, hp_saved.to_vec::<T>()?);
                let mut dxg = vec![T::default(); b * 3 * n];
                let mut dhg = vec![T::default(); b * 3 * n];
                let mut dhp = vec![T::default(); b * n];
                for r in 0..b {
                    let g3 = r * 3 * n..(r + 1) * 3 * n;
                    let g1 = r * n..(r + 1) * n;
                    gru_bwd_row(&a[r * 4 * n..(r + 1) * 4 * n], &hp[g1.clone()], &dh[g1.clone()],
                        &mut dxg[g3.clone()], &mut dhg[g3], &mut dhp[g1]);
                }
                Ok(vec![
                    Some(Tensor::from_vec(dxg, &[b, 3 * n])?),
                    Some(Tensor::from_vec(dhg, &[b, 3 * n])?),
                    Some(Tensor::from_vec(dhp, &[b, n])?),
                ])
            })
        }))
    }

    /// One Elman RNN step: act(xg + hg) for `xg`, `hg` [B, H].
    pub fn rnn_cell(xg: &Tensor, hg: &Tensor, activation: RnnActivation) -> Result<Tensor> {
        const OP: &str = "rnn_cell";
        let (b, n) = cell_dims(OP, 1, xg, &[hg])?;
        expect_shape(OP, hg, xg.shape())?;
        let relu = activation == RnnActivation::Relu;
        let out = float_dispatch!(OP, xg.dtype(), T => {
            let (x, hgv) = (xg.to_vec::<T>()?, hg.to_vec::<T>()?);
            let mut h = vec![T::default(); b * n];
            for r in 0..b {
                let g1 = r * n..(r + 1) * n;
                rnn_fwd_row(&x[g1.clone()], &hgv[g1.clone()], relu, &mut h[g1]);
            }
            Tensor::from_vec(h, &[b, n])?
        });
        let h_saved = out.detach();
        Ok(out.record(OP, &[xg, hg], move |g| {
            float_dispatch!(OP, g.dtype(), T => {
                let (dh, h) = (g.to_vec::<T>()?, h_saved.to_vec::<T>()?);
                let mut dg = vec![T::default(); b * n];
                for r in 0..b {
                    let g1 = r * n..(r + 1) * n;
                    rnn_bwd_row(&h[g1.clone()], &dh[g1.clone()], relu, &mut dg[g1]);
                }
                let dg = Tensor::from_vec(dg, &[b, n])?;
                Ok(vec![Some(dg.clone()), Some(dg)])
            })
        }))
    }
}

// ---- whole sequences ------------------------------------------------------------------

/// Sizes of one recurrence: T steps, B rows, H hidden, G = gates·H, A saved per row.
#[derive(Clone, Copy)]
struct Dims {
    t: usize,
    b: usize,
    h: usize,
    g: usize,
    a: usize,
}

/// Threads for a step of `rows` rows × `work` multiply-adds per row, and rows per thread.
fn step_split(rows: usize, work: usize) -> (usize, usize) {
    let threads = crate::cpu::num_threads();
    if threads <= 1 || rows * work < (1 << 16) || rows < 8 {
        return (1, rows.max(1));
    }
    let threads = threads.min(rows / 4).max(1);
    (threads, rows.div_ceil(threads))
}

/// dst[rows × n] (+)= lhs[rows × k] · rhs, with rhs given by its strides.
///
/// # Safety
/// The slices must hold the matrices the sizes and strides describe.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_into<T: FastMath>(
    dst: &mut [T],
    accumulate: bool,
    lhs: &[T],
    rows: usize,
    k: usize,
    rhs: &[T],
    rhs_cs: isize,
    rhs_rs: isize,
    n: usize,
) {
    if rows == 0 || n == 0 {
        return;
    }
    debug_assert!(dst.len() >= rows * n && lhs.len() >= rows * k);
    T::gemm(
        rows,
        n,
        k,
        dst.as_mut_ptr(),
        1,
        n as isize,
        accumulate,
        lhs.as_ptr(),
        1,
        k as isize,
        rhs.as_ptr(),
        rhs_cs,
        rhs_rs,
        1,
    );
}

/// Per-row step state for a chunk of rows: (first row, hg / dG, saved act, h, c, out).
type FwdChunk<'a, T> = (
    usize,
    &'a mut [T],
    &'a mut [T],
    &'a mut [T],
    &'a mut [T],
    &'a mut [T],
);

/// Forward buffers: outputs [T, B, H], h states [T+1, B, H], c states (LSTM) and the
/// saved activations [T, B, A].
struct Saved<T> {
    out: Vec<T>,
    hs: Vec<T>,
    cs: Vec<T>,
    acts: Vec<T>,
}

/// The saved forward state backward reads (borrowed from the saved tensors).
struct SavedRef<'a, T> {
    hs: &'a [T],
    cs: &'a [T],
    acts: &'a [T],
}

fn active(lengths: Option<&[usize]>, t: usize, row: usize) -> bool {
    lengths.is_none_or(|l| t < l[row])
}

#[allow(clippy::too_many_arguments)]
fn seq_forward<T: FastMath>(
    kind: CellKind,
    d: Dims,
    xp: &[T],
    whh: &[T],
    bhh: Option<&[T]>,
    h0: &[T],
    c0: &[T],
    lengths: Option<&[usize]>,
) -> Saved<T> {
    let (bh, bg, ba) = (d.b * d.h, d.b * d.g, d.b * d.a);
    let lstm = kind == CellKind::Lstm;
    let mut hs = vec![T::zero(); (d.t + 1) * bh];
    hs[..bh].copy_from_slice(h0);
    let mut cs = if lstm {
        let mut cs = vec![T::zero(); (d.t + 1) * bh];
        cs[..bh].copy_from_slice(c0);
        cs
    } else {
        Vec::new()
    };
    let mut acts = vec![T::zero(); d.t * ba];
    let mut out = vec![T::zero(); d.t * bh];
    let mut hg = vec![T::zero(); bg];
    let (threads, rows) = step_split(d.b, d.g * d.h);
    for t in 0..d.t {
        let (h_done, h_rest) = hs.split_at_mut((t + 1) * bh);
        let h_prev = &h_done[t * bh..];
        let h_next = &mut h_rest[..bh];
        let (c_prev, c_next): (&[T], &mut [T]) = if lstm {
            let (c_done, c_rest) = cs.split_at_mut((t + 1) * bh);
            (&c_done[t * bh..], &mut c_rest[..bh])
        } else {
            (&[], &mut [])
        };
        let xp_t = &xp[t * bg..(t + 1) * bg];
        let act_t = &mut acts[t * ba..(t + 1) * ba];
        let out_t = &mut out[t * bh..(t + 1) * bh];
        let mut c_chunks: Vec<&mut [T]> = c_next.chunks_mut(rows * d.h).collect();
        let n_chunks = d.b.div_ceil(rows);
        c_chunks.resize_with(n_chunks, Default::default);
        let chunks: Vec<FwdChunk<'_, T>> = hg
            .chunks_mut(rows * d.g)
            .zip(act_t.chunks_mut(rows * d.a))
            .zip(h_next.chunks_mut(rows * d.h))
            .zip(c_chunks)
            .zip(out_t.chunks_mut(rows * d.h))
            .enumerate()
            .map(|(i, ((((hg, a), h), c), o))| (i * rows, hg, a, h, c, o))
            .collect();
        let step = |(r0, hg, act, h, c, out): FwdChunk<'_, T>| {
            let nrows = h.len() / d.h;
            if let Some(bias) = bhh {
                for row in hg.chunks_mut(d.g) {
                    row.copy_from_slice(bias);
                }
            }
            // SAFETY: hg is nrows × G, h_prev holds rows r0.. of B × H, whh is G × H
            // read as its transpose (H × G: column stride H, row stride 1).
            unsafe {
                gemm_into(
                    hg,
                    bhh.is_some(),
                    &h_prev[r0 * d.h..],
                    nrows,
                    d.h,
                    whh,
                    d.h as isize,
                    1,
                    d.g,
                );
            }
            for r in 0..nrows {
                let row = r0 + r;
                let (rh, rg, ra) = (
                    r * d.h..(r + 1) * d.h,
                    r * d.g..(r + 1) * d.g,
                    r * d.a..(r + 1) * d.a,
                );
                let hp = &h_prev[row * d.h..(row + 1) * d.h];
                if !active(lengths, t, row) {
                    h[rh.clone()].copy_from_slice(hp);
                    if lstm {
                        c[rh.clone()].copy_from_slice(&c_prev[row * d.h..(row + 1) * d.h]);
                    }
                    continue;
                }
                let xg = &xp_t[row * d.g..(row + 1) * d.g];
                match kind {
                    CellKind::Lstm => lstm_fwd_row(
                        xg,
                        &hg[rg],
                        &c_prev[row * d.h..(row + 1) * d.h],
                        &mut act[ra],
                        &mut c[rh.clone()],
                        &mut h[rh.clone()],
                    ),
                    CellKind::Gru => gru_fwd_row(xg, &hg[rg], hp, &mut act[ra], &mut h[rh.clone()]),
                    CellKind::Rnn(a) => {
                        rnn_fwd_row(xg, &hg[rg], a == RnnActivation::Relu, &mut h[rh.clone()]);
                        act[ra].copy_from_slice(&h[rh.clone()]);
                    }
                }
                out[rh.clone()].copy_from_slice(&h[rh]);
            }
        };
        if threads > 1 {
            chunks.into_par_iter().for_each(step);
        } else {
            chunks.into_iter().for_each(step);
        }
    }
    Saved { out, hs, cs, acts }
}

/// Gradients of one recurrence: (d xproj, d W_hh, d b_hh, d h0, d c0).
type SeqGrads<T> = (Vec<T>, Vec<T>, Vec<T>, Vec<T>, Vec<T>);

/// Backward chunk: (first row, d xproj rows, d hg rows (GRU), dc rows, dh_prev rows).
type BwdChunk<'a, T> = (usize, &'a mut [T], &'a mut [T], &'a mut [T], &'a mut [T]);

#[allow(clippy::too_many_arguments)]
fn seq_backward<T: FastMath>(
    kind: CellKind,
    d: Dims,
    saved: &SavedRef<'_, T>,
    whh: &[T],
    lengths: Option<&[usize]>,
    dout: &[T],
    dhn: &[T],
    dcn: &[T],
) -> SeqGrads<T> {
    let (bh, bg, ba) = (d.b * d.h, d.b * d.g, d.b * d.a);
    let (lstm, gru) = (kind == CellKind::Lstm, kind == CellKind::Gru);
    let mut dh = dhn.to_vec();
    let mut dc = if lstm { dcn.to_vec() } else { Vec::new() };
    let mut dh_prev = vec![T::zero(); bh];
    let mut dxp = vec![T::zero(); d.t * bg];
    let mut dhg_all = if gru {
        vec![T::zero(); d.t * bg]
    } else {
        Vec::new()
    };
    let (threads, rows) = step_split(d.b, d.g * d.h);
    let n_chunks = d.b.div_ceil(rows);
    for t in (0..d.t).rev() {
        let dxp_t = &mut dxp[t * bg..(t + 1) * bg];
        let mut dhg_chunks: Vec<&mut [T]> = if gru {
            dhg_all[t * bg..(t + 1) * bg]
                .chunks_mut(rows * d.g)
                .collect()
        } else {
            Vec::new()
        };
        dhg_chunks.resize_with(n_chunks, Default::default);
        let mut dc_chunks: Vec<&mut [T]> = dc.chunks_mut(rows * d.h).collect();
        dc_chunks.resize_with(n_chunks, Default::default);
        let chunks: Vec<BwdChunk<'_, T>> = dxp_t
            .chunks_mut(rows * d.g)
            .zip(dhg_chunks)
            .zip(dc_chunks)
            .zip(dh_prev.chunks_mut(rows * d.h))
            .enumerate()
            .map(|(i, (((dx, dhg), dc), dhp))| (i * rows, dx, dhg, dc, dhp))
            .collect();
        let (dh_t, dout_t) = (&dh[..], &dout[t * bh..(t + 1) * bh]);
        let act_t = &saved.acts[t * ba..(t + 1) * ba];
        let h_prev = &saved.hs[t * bh..(t + 1) * bh];
        let (c_prev, c_t) = if lstm {
            (
                &saved.cs[t * bh..(t + 1) * bh],
                &saved.cs[(t + 1) * bh..(t + 2) * bh],
            )
        } else {
            (&[][..], &[][..])
        };
        let step = |(r0, dx, dhg, dc, dhp): BwdChunk<'_, T>| {
            let nrows = dhp.len() / d.h;
            let mut dh_tot = vec![T::zero(); d.h];
            for r in 0..nrows {
                let row = r0 + r;
                let (rh, rg) = (r * d.h..(r + 1) * d.h, r * d.g..(r + 1) * d.g);
                let gh = row * d.h..(row + 1) * d.h;
                if !active(lengths, t, row) {
                    // The state was carried: its gradient passes straight through.
                    dhp[rh].copy_from_slice(&dh_t[gh]);
                    continue;
                }
                for ((s, &a), &b) in dh_tot
                    .iter_mut()
                    .zip(&dh_t[gh.clone()])
                    .zip(&dout_t[gh.clone()])
                {
                    *s = a + b;
                }
                let act = &act_t[row * d.a..(row + 1) * d.a];
                match kind {
                    CellKind::Lstm => {
                        lstm_bwd_row(
                            act,
                            &c_prev[gh.clone()],
                            &c_t[gh],
                            &dh_tot,
                            &mut dc[rh.clone()],
                            &mut dx[rg],
                        );
                        dhp[rh].fill(T::zero());
                    }
                    CellKind::Gru => gru_bwd_row(
                        act,
                        &h_prev[gh],
                        &dh_tot,
                        &mut dx[rg.clone()],
                        &mut dhg[rg],
                        &mut dhp[rh],
                    ),
                    CellKind::Rnn(a) => {
                        rnn_bwd_row(act, &dh_tot, a == RnnActivation::Relu, &mut dx[rg]);
                        dhp[rh].fill(T::zero());
                    }
                }
            }
            let dgates: &[T] = if gru { dhg } else { dx };
            // SAFETY: dgates is nrows × G, whh is G × H row-major, dhp is nrows × H.
            unsafe { gemm_into(dhp, true, dgates, nrows, d.g, whh, 1, d.h as isize, d.h) };
        };
        if threads > 1 {
            chunks.into_par_iter().for_each(step);
        } else {
            chunks.into_iter().for_each(step);
        }
        std::mem::swap(&mut dh, &mut dh_prev);
    }
    let dgates: &[T] = if gru { &dhg_all } else { &dxp };
    // d W_hh [G, H] = Σ_t dGᵗᵀ · h_{t−1}: one GEMM over all T·B rows.
    let mut dwhh = vec![T::zero(); d.g * d.h];
    let k = d.t * d.b;
    if k > 0 {
        // SAFETY: dgates is (T·B) × G read transposed, hs[..T·B·H] is (T·B) × H.
        unsafe {
            T::gemm(
                d.g,
                d.h,
                k,
                dwhh.as_mut_ptr(),
                1,
                d.h as isize,
                false,
                dgates.as_ptr(),
                d.g as isize,
                1,
                saved.hs.as_ptr(),
                1,
                d.h as isize,
                crate::cpu::num_threads(),
            );
        }
    }
    let mut dbhh = vec![T::zero(); d.g];
    for row in dgates.chunks(d.g) {
        for (s, &v) in dbhh.iter_mut().zip(row) {
            *s += v;
        }
    }
    (dxp, dwhh, dbhh, dh, dc)
}

impl Tensor {
    /// A whole Elman RNN layer over `xproj` [T, B, H] (= x·W_ihᵀ + b_ih for every step)
    /// with `w_hh` [H, H], optional `b_hh` [H], initial state `h0` [B, H] and optional
    /// per-example `lengths`. Returns (outputs [T, B, H], h_n [B, H]).
    pub fn rnn_sequence(
        xproj: &Tensor,
        w_hh: &Tensor,
        b_hh: Option<&Tensor>,
        h0: &Tensor,
        activation: RnnActivation,
        lengths: Option<&[usize]>,
    ) -> Result<(Tensor, Tensor)> {
        let kind = CellKind::Rnn(activation);
        let (out, h_n, _) = recurrence(kind, xproj, w_hh, b_hh, h0, None, lengths)?;
        Ok((out, h_n))
    }

    /// A whole LSTM layer (see [`Tensor::rnn_sequence`]); `xproj` is [T, B, 4H], `w_hh`
    /// [4H, H]. Returns (outputs [T, B, H], h_n, c_n).
    pub fn lstm_sequence(
        xproj: &Tensor,
        w_hh: &Tensor,
        b_hh: Option<&Tensor>,
        h0: &Tensor,
        c0: &Tensor,
        lengths: Option<&[usize]>,
    ) -> Result<(Tensor, Tensor, Tensor)> {
        let (out, h_n, c_n) = recurrence(CellKind::Lstm, xproj, w_hh, b_hh, h0, Some(c0), lengths)?;
        let c_n = c_n.ok_or_else(|| Error::invalid("lstm_sequence", "internal: no cell state"))?;
        Ok((out, h_n, c_n))
    }

    /// A whole GRU layer (see [`Tensor::rnn_sequence`]); `xproj` is [T, B, 3H], `w_hh`
    /// [3H, H]; `b_hh` enters inside the reset gate as in PyTorch. Returns (outputs, h_n).
    pub fn gru_sequence(
        xproj: &Tensor,
        w_hh: &Tensor,
        b_hh: Option<&Tensor>,
        h0: &Tensor,
        lengths: Option<&[usize]>,
    ) -> Result<(Tensor, Tensor)> {
        let (out, h_n, _) = recurrence(CellKind::Gru, xproj, w_hh, b_hh, h0, None, lengths)?;
        Ok((out, h_n))
    }
}

type Recurrence = (Tensor, Tensor, Option<Tensor>);

fn recurrence(
    kind: CellKind,
    xproj: &Tensor,
    w_hh: &Tensor,
    b_hh: Option<&Tensor>,
    h0: &Tensor,
    c0: Option<&Tensor>,
    lengths: Option<&[usize]>,
) -> Result<Recurrence> {
    let op = kind.name();
    expect_float(op, xproj)?;
    let gates = kind.gates();
    if xproj.rank() != 3 || xproj.shape()[2] == 0 || !xproj.shape()[2].is_multiple_of(gates) {
        return Err(Error::shape(
            op,
            format!("input projection must be [steps, batch, {gates}·hidden]"),
            xproj.shape(),
        ));
    }
    let (t, b, g) = (xproj.shape()[0], xproj.shape()[1], xproj.shape()[2]);
    let h = g / gates;
    let d = Dims {
        t,
        b,
        h,
        g,
        a: kind.saved() * h,
    };
    expect_shape(op, w_hh, &[g, h])?;
    expect_shape(op, h0, &[b, h])?;
    same_dtype(op, xproj, w_hh)?;
    same_dtype(op, xproj, h0)?;
    if let Some(bias) = b_hh {
        expect_shape(op, bias, &[g])?;
        same_dtype(op, xproj, bias)?;
    }
    let lstm = kind == CellKind::Lstm;
    match (lstm, c0) {
        (true, Some(c)) => {
            expect_shape(op, c, &[b, h])?;
            same_dtype(op, xproj, c)?;
        }
        (true, None) => return Err(Error::invalid(op, "an LSTM needs an initial cell state")),
        (false, Some(_)) => return Err(Error::invalid(op, "only an LSTM has a cell state")),
        (false, None) => {}
    }
    let lengths: Option<Vec<usize>> = match lengths {
        None => None,
        Some(l) => {
            if l.len() != b {
                return Err(Error::invalid(
                    op,
                    format!("{} lengths given for a batch of {b}", l.len()),
                ));
            }
            if let Some(&bad) = l.iter().find(|&&n| n > t) {
                return Err(Error::invalid(
                    op,
                    format!("length {bad} exceeds the {t} steps of the input"),
                ));
            }
            Some(l.to_vec())
        }
    };
    let states = if lstm { 2 } else { 1 };
    let (packed, saved) = float_dispatch!(op, xproj.dtype(), T => {
        let xp = xproj.contiguous()?.detach();
        let (whh, bias) = (w_hh.to_vec::<T>()?, b_hh.map(|x| x.to_vec::<T>()).transpose()?);
        let (h0v, c0v) = (h0.to_vec::<T>()?, c0.map(|c| c.to_vec::<T>()).transpose()?.unwrap_or_default());
        let s = xp.with_slice(|x: &[T]| {
            seq_forward(kind, d, x, &whh, bias.as_deref(), &h0v, &c0v, lengths.as_deref())
        })?;
        let bh = b * h;
        let mut packed = Vec::with_capacity((t + states) * bh);
        packed.extend_from_slice(&s.out);
        packed.extend_from_slice(&s.hs[t * bh..]);
        if lstm {
            packed.extend_from_slice(&s.cs[t * bh..]);
        }
        let saved = [
            Tensor::from_vec(s.hs, &[(t + 1) * bh])?,
            Tensor::from_vec(s.cs, &[if lstm { (t + 1) * bh } else { 0 }])?,
            Tensor::from_vec(s.acts, &[t * b * d.a])?,
        ];
        (Tensor::from_vec(packed, &[t + states, b, h])?, saved)
    });
    let mut inputs = vec![xproj, w_hh];
    inputs.extend(b_hh);
    inputs.push(h0);
    inputs.extend(c0);
    let has_bias = b_hh.is_some();
    let whh_saved = w_hh.detach();
    let packed = packed.record(op, &inputs, move |grad| {
        float_dispatch!(op, grad.dtype(), T => {
            let bh = b * h;
            let whh = whh_saved.to_vec::<T>()?;
            // Borrow the saved buffers (contiguous: no copies).
            let (dxp, dwhh, dbhh, dh0, dc0) = grad.with_slice(|gv: &[T]| {
                saved[0].with_slice(|hs: &[T]| {
                    saved[1].with_slice(|cs: &[T]| {
                        saved[2].with_slice(|acts: &[T]| {
                            let (dout, rest) = gv.split_at(t * bh);
                            let (dhn, dcn) = rest.split_at(bh);
                            let s = SavedRef { hs, cs, acts };
                            seq_backward(kind, d, &s, &whh, lengths.as_deref(), dout, dhn, dcn)
                        })
                    })
                })
            })????;
            let mut grads = vec![
                Some(Tensor::from_vec(dxp, &[t, b, g])?),
                Some(Tensor::from_vec(dwhh, &[g, h])?),
            ];
            if has_bias {
                grads.push(Some(Tensor::from_vec(dbhh, &[g])?));
            }
            grads.push(Some(Tensor::from_vec(dh0, &[b, h])?));
            if lstm {
                grads.push(Some(Tensor::from_vec(dc0, &[b, h])?));
            }
            Ok(grads)
        })
    });
    let out = packed.narrow(0, 0, t)?;
    let h_n = packed.narrow(0, t, 1)?.reshape(&[b, h])?;
    let c_n = if lstm {
        Some(packed.narrow(0, t + 1, 1)?.reshape(&[b, h])?)
    } else {
        None
    };
    Ok((out, h_n, c_n))
}
