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

mod kernels;
mod sequence;

use kernels::*;
use sequence::*;

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
