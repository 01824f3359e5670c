//! Fused per-row cell kernels (forward and backward) for RNN, LSTM and GRU.

use multiversion::multiversion;

use crate::cpu::math::FastMath;

// ---- row kernels ----------------------------------------------------------------------
// One batch row of H units at a time; compiled for AVX-512, AVX2+FMA and baseline.

#[inline(always)]
pub(super) fn sigmoid<T: FastMath>(x: T) -> T {
    T::one() / (T::one() + (-x).fexp())
}

#[inline(always)]
pub(super) fn split4<T>(s: &[T], n: usize) -> (&[T], &[T], &[T], &[T]) {
    (&s[..n], &s[n..2 * n], &s[2 * n..3 * n], &s[3 * n..4 * n])
}

#[inline(always)]
pub(super) fn split3<T>(s: &[T], n: usize) -> (&[T], &[T], &[T]) {
    (&s[..n], &s[n..2 * n], &s[2 * n..3 * n])
}

#[inline(always)]
pub(super) fn split4_mut<T>(s: &mut [T], n: usize) -> (&mut [T], &mut [T], &mut [T], &mut [T]) {
    let (a, rest) = s[..4 * n].split_at_mut(n);
    let (b, rest) = rest.split_at_mut(n);
    let (c, d) = rest.split_at_mut(n);
    (a, b, c, d)
}

#[inline(always)]
pub(super) fn split3_mut<T>(s: &mut [T], n: usize) -> (&mut [T], &mut [T], &mut [T]) {
    let (a, rest) = s[..3 * n].split_at_mut(n);
    let (b, c) = rest.split_at_mut(n);
    (a, b, c)
}

/// act = [i, f, g, o]; c = f·c_prev + i·g; h = o·tanh(c).
#[multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq+avx512bw+avx2+fma",
    "x86_64+avx2+fma"
))]
pub(super) fn lstm_fwd_row<T: FastMath>(
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
pub(super) fn lstm_bwd_row<T: FastMath>(
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
pub(super) fn gru_fwd_row<T: FastMath>(
    xg: &[T],
    hg: &[T],
    h_prev: &[T],
    act: &mut [T],
    h: &mut [T],
) {
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
pub(super) fn gru_bwd_row<T: FastMath>(
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
pub(super) fn rnn_fwd_row<T: FastMath>(xg: &[T], hg: &[T], relu: bool, h: &mut [T]) {
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
pub(super) fn rnn_bwd_row<T: FastMath>(h: &[T], dh: &[T], relu: bool, dg: &mut [T]) {
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
