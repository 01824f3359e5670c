//! Finite-difference gradient checks of the fused recurrent cells (RNN, LSTM, GRU), one
//! step and several chained steps, and of the whole-sequence ops (with and without
//! per-example lengths), plus agreement between the sequence ops and chained cells.

use zhixing_tensor::gradcheck::{gradcheck, GradcheckOptions};
use zhixing_tensor::ops::recurrent::RnnActivation;
use zhixing_tensor::{DType, Result, Rng, Tensor};

fn randn(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn(shape, DType::F64, &mut Rng::seed(seed)).requires_grad_(true)
}

fn check(f: impl Fn(&[Tensor]) -> Result<Tensor>, inputs: &[Tensor]) {
    gradcheck(f, inputs, GradcheckOptions::default()).unwrap();
}

/// All outputs flattened into one vector, so one check covers each of them.
fn flat(parts: &[Tensor]) -> Result<Tensor> {
    let flat: Vec<Tensor> = parts
        .iter()
        .map(|p| p.reshape(&[p.numel()]))
        .collect::<Result<_>>()?;
    Tensor::cat(&flat, 0)
}

const B: usize = 3;
const H: usize = 2;
const I: usize = 3;
const T: usize = 4;

#[test]
fn lstm_cell_one_step() {
    let xg = randn(&[B, 4 * H], 1);
    let hg = randn(&[B, 4 * H], 2);
    let c = randn(&[B, H], 3);
    check(
        |x| {
            let (h, c) = Tensor::lstm_cell(&x[0], &x[1], &x[2])?;
            flat(&[h, c])
        },
        &[xg, hg, c],
    );
}

#[test]
fn gru_cell_one_step() {
    let xg = randn(&[B, 3 * H], 4);
    let hg = randn(&[B, 3 * H], 5);
    let h = randn(&[B, H], 6);
    check(|x| Tensor::gru_cell(&x[0], &x[1], &x[2]), &[xg, hg, h]);
}

#[test]
fn rnn_cell_one_step_tanh_and_relu() {
    let xg = randn(&[B, H], 7);
    let hg = randn(&[B, H], 8);
    for act in [RnnActivation::Tanh, RnnActivation::Relu] {
        check(
            |x| Tensor::rnn_cell(&x[0], &x[1], act),
            &[xg.clone(), hg.clone()],
        );
    }
}

/// x [T, B, I], W_ih [G, I], W_hh [G, H], b [G], h0 [B, H], c0 [B, H].
fn seq_inputs(gates: usize, seed: u64) -> Vec<Tensor> {
    vec![
        randn(&[T, B, I], seed),
        randn(&[gates * H, I], seed + 1)
            .mul_scalar(0.5)
            .unwrap()
            .detach()
            .requires_grad_(true),
        randn(&[gates * H, H], seed + 2)
            .mul_scalar(0.5)
            .unwrap()
            .detach()
            .requires_grad_(true),
        randn(&[gates * H], seed + 3),
        randn(&[B, H], seed + 4),
        randn(&[B, H], seed + 5),
    ]
}

/// Runs `T` chained cell steps with explicit matmuls: (outputs [T, B, H], h, c).
fn chained(kind: &str, x: &[Tensor]) -> Result<(Tensor, Tensor, Tensor)> {
    let (w_ih, w_hh, b) = (&x[1], &x[2], &x[3]);
    let (mut h, mut c) = (x[4].clone(), x[5].clone());
    let mut outs = Vec::new();
    for t in 0..T {
        let xt = x[0].narrow(0, t, 1)?.reshape(&[B, I])?;
        let xg = xt.matmul(&w_ih.t()?)?;
        let hg = h.matmul(&w_hh.t()?)?.add(b)?;
        match kind {
            "lstm" => (h, c) = Tensor::lstm_cell(&xg, &hg, &c)?,
            "gru" => h = Tensor::gru_cell(&xg, &hg, &h)?,
            _ => h = Tensor::rnn_cell(&xg, &hg, RnnActivation::Tanh)?,
        }
        outs.push(h.clone());
    }
    Ok((Tensor::stack(&outs, 0)?, h, c))
}

/// The same recurrence through the sequence op.
fn sequence(
    kind: &str,
    x: &[Tensor],
    lengths: Option<&[usize]>,
) -> Result<(Tensor, Tensor, Tensor)> {
    let xproj = x[0].matmul(&x[1].t()?)?;
    match kind {
        "lstm" => Tensor::lstm_sequence(&xproj, &x[2], Some(&x[3]), &x[4], &x[5], lengths),
        "gru" => {
            let (o, h) = Tensor::gru_sequence(&xproj, &x[2], Some(&x[3]), &x[4], lengths)?;
            Ok((o, h, x[5].clone()))
        }
        _ => {
            let act = if kind == "relu" {
                RnnActivation::Relu
            } else {
                RnnActivation::Tanh
            };
            let (o, h) = Tensor::rnn_sequence(&xproj, &x[2], Some(&x[3]), &x[4], act, lengths)?;
            Ok((o, h, x[5].clone()))
        }
    }
}

fn gates(kind: &str) -> usize {
    match kind {
        "lstm" => 4,
        "gru" => 3,
        _ => 1,
    }
}

#[test]
fn cells_chained_over_several_steps() {
    for (kind, seed) in [("lstm", 10), ("gru", 20), ("rnn", 30)] {
        check(
            |x| {
                let (o, h, c) = chained(kind, x)?;
                flat(&[o, h, c])
            },
            &seq_inputs(gates(kind), seed),
        );
    }
}

#[test]
fn sequence_ops_gradcheck() {
    for (kind, seed) in [("lstm", 40), ("gru", 50), ("rnn", 60), ("relu", 70)] {
        for lengths in [None, Some(&[4usize, 2, 3][..])] {
            check(
                |x| {
                    let (o, h, c) = sequence(kind, x, lengths)?;
                    flat(&[o, h, c])
                },
                &seq_inputs(gates(kind), seed),
            );
        }
    }
}

#[test]
fn sequence_ops_match_chained_cells() {
    for (kind, seed) in [("lstm", 80), ("gru", 90), ("rnn", 100)] {
        let inputs = seq_inputs(gates(kind), seed);
        let (a, b) = (
            chained(kind, &inputs).unwrap(),
            sequence(kind, &inputs, None).unwrap(),
        );
        for (x, y) in [(&a.0, &b.0), (&a.1, &b.1), (&a.2, &b.2)] {
            let diff = x
                .sub(y)
                .unwrap()
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .item()
                .unwrap();
            assert!(
                diff < 1e-12,
                "{kind}: sequence op differs from chained cells by {diff}"
            );
        }
    }
}

#[test]
fn masked_steps_carry_the_state_and_zero_the_output() {
    let inputs = seq_inputs(4, 110);
    let (o, h, _) = sequence("lstm", &inputs, Some(&[4, 1, 0])).unwrap();
    let o = o.to_vec::<f64>().unwrap();
    // Row 1 has one valid step: outputs at steps 1.. are zero, h_n is the step-0 output.
    for t in 1..T {
        assert!(o[(t * B + 1) * H..(t * B + 2) * H]
            .iter()
            .all(|&v| v == 0.0));
    }
    let h = h.to_vec::<f64>().unwrap();
    assert_eq!(&h[H..2 * H], &o[H..2 * H]);
    // Row 2 is empty: h_n is h0.
    assert_eq!(&h[2 * H..], &inputs[4].to_vec::<f64>().unwrap()[2 * H..]);
}

#[test]
fn f32_sequence_agrees_with_f64() {
    let inputs = seq_inputs(4, 120);
    let (o64, _, _) = sequence("lstm", &inputs, None).unwrap();
    let x32: Vec<Tensor> = inputs
        .iter()
        .map(|t| t.to_dtype(DType::F32).unwrap())
        .collect();
    let (o32, _, _) = sequence("lstm", &x32, None).unwrap();
    let diff = o64
        .sub(&o32.to_dtype(DType::F64).unwrap())
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .item()
        .unwrap();
    assert!(diff < 1e-5, "f32 vs f64: {diff}");
}

#[test]
fn shape_errors_are_errors() {
    let x = randn(&[T, B, 4 * H], 1);
    let w = randn(&[4 * H, H], 2);
    let h0 = randn(&[B, H], 3);
    assert!(Tensor::lstm_sequence(&x, &w, None, &h0, &h0, Some(&[1, 2])).is_err());
    assert!(Tensor::lstm_sequence(&x, &w, None, &h0, &h0, Some(&[1, 2, 9])).is_err());
    assert!(Tensor::lstm_sequence(&x, &randn(&[4 * H, H + 1], 4), None, &h0, &h0, None).is_err());
    assert!(Tensor::gru_sequence(&x, &w, None, &h0, None).is_err());
    assert!(Tensor::lstm_cell(&randn(&[B, 5], 5), &randn(&[B, 5], 6), &h0).is_err());
    assert!(Tensor::gru_cell(
        &randn(&[B, 3 * H], 5),
        &randn(&[B, 3 * H], 6),
        &randn(&[B, H + 1], 7)
    )
    .is_err());
    assert!(Tensor::rnn_cell(
        &randn(&[B, H], 5),
        &randn(&[B, H + 1], 6),
        RnnActivation::Tanh
    )
    .is_err());
}
