//! Forward values and gradients checked against PyTorch on fixed inputs.
//!
//! `tests/reference/torch_reference.json` was produced by `scripts/torch_reference.py`
//! (torch, float64). Each case holds inputs, the output, an upstream gradient fed to
//! backward, and the resulting input gradients. We run every case in f64 (tolerance
//! 1e-9) and in f32 (tolerance 1e-4 relative to the value's scale).

use std::collections::HashMap;

use serde_json::Value;
use zhixing_tensor::{DType, Result, Tensor};

struct Case {
    inputs: HashMap<String, (Vec<usize>, Vec<f64>)>,
    output: (Vec<usize>, Vec<f64>),
    upstream: (Vec<usize>, Vec<f64>),
    grads: HashMap<String, (Vec<usize>, Vec<f64>)>,
}

fn array(v: &Value) -> (Vec<usize>, Vec<f64>) {
    let shape = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    (shape, data)
}

fn load(name: &str) -> Case {
    let text = include_str!("reference/torch_reference.json");
    let all: Value = serde_json::from_str(text).unwrap();
    let c = &all["cases"][name];
    assert!(c.is_object(), "reference case {name} missing");
    let map = |v: &Value| {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(k, x)| (k.clone(), array(x)))
            .collect::<HashMap<_, _>>()
    };
    Case {
        inputs: map(&c["inputs"]),
        output: array(&c["output"]),
        upstream: array(&c["upstream"]),
        grads: map(&c["grads"]),
    }
}

fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * scale,
            "{what}[{i}]: got {g}, PyTorch {w} (tol {tol}·{scale})"
        );
    }
}

/// Runs `f` on the case's inputs in `dtype`, backpropagates the upstream gradient and
/// compares output and gradients with PyTorch's.
fn run(name: &str, dtype: DType, f: impl Fn(&HashMap<String, Tensor>) -> Result<Tensor>) {
    let case = load(name);
    let tol = if dtype == DType::F64 { 1e-9 } else { 1e-4 };
    let inputs: HashMap<String, Tensor> = case
        .inputs
        .iter()
        .map(|(k, (shape, data))| {
            let t = Tensor::from_vec(data.clone(), shape).unwrap();
            let t = if case.grads.contains_key(k) {
                t.to_dtype(dtype).unwrap().requires_grad_(true)
            } else {
                t.to_dtype(DType::I64).unwrap()
            };
            (k.clone(), t)
        })
        .collect();
    let out = f(&inputs).unwrap();
    assert_eq!(
        out.shape(),
        case.output.0.as_slice(),
        "{name}: output shape"
    );
    assert_close(
        &format!("{name} {dtype} output"),
        &out.to_vec_f64(),
        &case.output.1,
        tol,
    );
    let upstream = Tensor::from_vec(case.upstream.1.clone(), &case.upstream.0)
        .unwrap()
        .to_dtype(dtype)
        .unwrap();
    out.backward_with(&upstream).unwrap();
    for (k, (shape, want)) in &case.grads {
        let g = inputs[k]
            .grad()
            .unwrap_or_else(|| panic!("{name}: no gradient for {k}"));
        assert_eq!(g.shape(), shape.as_slice(), "{name}: grad {k} shape");
        assert_close(
            &format!("{name} {dtype} grad {k}"),
            &g.to_vec_f64(),
            want,
            tol,
        );
    }
}

fn both(name: &str, f: impl Fn(&HashMap<String, Tensor>) -> Result<Tensor>) {
    run(name, DType::F64, &f);
    run(name, DType::F32, &f);
}

#[test]
fn matmul_matches_torch() {
    for case in ["matmul_2d", "matmul_batched_broadcast", "matmul_vec"] {
        both(case, |x| x["a"].matmul(&x["b"]));
    }
}

#[test]
fn softmax_and_log_softmax_match_torch() {
    both("softmax_last", |x| x["x"].softmax(-1));
    both("softmax_dim1", |x| x["x"].softmax(1));
    both("log_softmax_last", |x| x["x"].log_softmax(-1));
    both("log_softmax_dim0", |x| x["x"].log_softmax(0));
}

#[test]
fn layer_norm_composite_matches_torch() {
    both("layer_norm", |x| {
        let v = &x["x"];
        let mu = v.mean(&[-1], true)?;
        let var = v.var(&[-1], false, true)?;
        v.sub(&mu)?
            .div(&var.add_scalar(1e-5)?.sqrt()?)?
            .mul(&x["weight"])?
            .add(&x["bias"])
    });
}

#[test]
fn cross_entropy_composite_matches_torch() {
    both("cross_entropy", |x| {
        let target = x["target"].unsqueeze(1)?;
        x["logits"]
            .log_softmax(-1)?
            .gather(1, &target)?
            .neg()?
            .mean_all()
    });
}

#[test]
fn gelu_matches_torch() {
    both("gelu_exact", |x| x["x"].gelu());
    both("gelu_tanh", |x| x["x"].gelu_tanh());
}

#[test]
fn mlp_composite_matches_torch() {
    both("mlp_composite", |x| {
        x["x"]
            .matmul(&x["w1"])?
            .add(&x["b1"])?
            .relu()?
            .matmul(&x["w2"])?
            .add(&x["b2"])?
            .tanh()
    });
}

#[test]
fn var_and_std_match_torch() {
    both("var_dim1", |x| x["x"].var(&[1], true, false));
    both("std_all", |x| x["x"].std(&[], true, false));
}

#[test]
fn fused_layer_norm_matches_torch() {
    both("layer_norm", |x| {
        x["x"].layer_norm(Some(&x["weight"]), Some(&x["bias"]), 1e-5)
    });
}
