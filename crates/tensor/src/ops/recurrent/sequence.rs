//! Whole-sequence recurrences: forward over all steps and backpropagation through time.

use rayon::prelude::*;

use super::kernels::*;
use super::*;
use crate::cpu::math::FastMath;

// ---- whole sequences ------------------------------------------------------------------

/// Sizes of one recurrence: T steps, B rows, H hidden, G = gates·H, A saved per row.
#[derive(Clone, Copy)]
pub(super) struct Dims {
    pub(super) t: usize,
    pub(super) b: usize,
    pub(super) h: usize,
    pub(super) g: usize,
    pub(super) a: usize,
}

/// Threads for a step of `rows` rows × `work` multiply-adds per row, and rows per thread.
pub(super) fn step_split(rows: usize, work: usize) -> (usize, usize) {
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
pub(super) type FwdChunk<'a, T> = (
    usize,
    &'a mut [T],
    &'a mut [T],
    &'a mut [T],
    &'a mut [T],
    &'a mut [T],
);

/// Forward buffers: outputs [T, B, H], h states [T+1, B, H], c states (LSTM) and the
/// saved activations [T, B, A].
pub(super) struct Saved<T> {
    pub(super) out: Vec<T>,
    pub(super) hs: Vec<T>,
    pub(super) cs: Vec<T>,
    pub(super) acts: Vec<T>,
}

/// The saved forward state backward reads (borrowed from the saved tensors).
pub(super) struct SavedRef<'a, T> {
    pub(super) hs: &'a [T],
    pub(super) cs: &'a [T],
    pub(super) acts: &'a [T],
}

pub(super) fn active(lengths: Option<&[usize]>, t: usize, row: usize) -> bool {
    lengths.is_none_or(|l| t < l[row])
}

#[allow(clippy::too_many_arguments)]
pub(super) fn seq_forward<T: FastMath>(
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
pub(super) type SeqGrads<T> = (Vec<T>, Vec<T>, Vec<T>, Vec<T>, Vec<T>);

/// Backward chunk: (first row, d xproj rows, d hg rows (GRU), dc rows, dh_prev rows).
pub(super) type BwdChunk<'a, T> = (usize, &'a mut [T], &'a mut [T], &'a mut [T], &'a mut [T]);

#[allow(clippy::too_many_arguments)]
pub(super) fn seq_backward<T: FastMath>(
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
