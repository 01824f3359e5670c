//! Gradient clipping checked against `torch.nn.utils.clip_grad_norm_` / `clip_grad_value_`.
//!
//! The gradients and clipped results are in `tests/reference/optim_reference.json` ("clip"),
//! produced by `scripts/optim_reference.py` (torch, float64).

use std::slice::from_ref;

use serde_json::Value;
use zhixing_nn::clip::{clip_grad_norm, clip_grad_value};
use zhixing_nn::Error;
use zhixing_tensor::{DType, Tensor};

fn reference() -> Value {
    serde_json::from_str(include_str!("reference/optim_reference.json")).unwrap()
}

fn data(v: &Value) -> Vec<f64> {
    let d = v["data"].as_array().expect("tensor data");
    d.iter().map(|x| x.as_f64().unwrap()).collect()
}

fn tensor(v: &Value, dtype: DType) -> Tensor {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    Tensor::from_vec(data(v), &shape)
        .unwrap()
        .to_dtype(dtype)
        .unwrap()
}

fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * scale,
            "{what}[{i}]: got {g}, want {w} (tol {tol})"
        );
    }
}

/// Parameters whose gradients are the case's `grads`.
fn params_with_grads(case: &Value, dtype: DType) -> Vec<Tensor> {
    let grads = case["grads"].as_array().unwrap();
    grads
        .iter()
        .map(|g| {
            let g = tensor(g, dtype);
            let p = g.zeros_like().requires_grad_(true);
            p.backward_with(&g).unwrap();
            p
        })
        .collect()
}

#[test]
fn clip_grad_norm_matches_pytorch() {
    let r = reference();
    for name in ["norm2", "norm2_no_clip", "norm_inf", "norm1", "norm3"] {
        let case = &r["clip"][name];
        let norm_type = case["norm_type"].as_f64().unwrap_or(f64::INFINITY);
        for (dtype, tol) in [(DType::F64, 1e-12), (DType::F32, 1e-6)] {
            let params = params_with_grads(case, dtype);
            let total =
                clip_grad_norm(&params, case["max_norm"].as_f64().unwrap(), norm_type).unwrap();
            let want = case["total_norm"].as_f64().unwrap();
            assert!(
                (total - want).abs() <= tol * want,
                "{name} {dtype}: norm {total} vs {want}"
            );
            for (i, (p, c)) in params
                .iter()
                .zip(case["clipped"].as_array().unwrap())
                .enumerate()
            {
                assert_close(
                    &format!("{name} {dtype} grad {i}"),
                    &p.grad().unwrap().to_vec_f64(),
                    &data(c),
                    tol,
                );
            }
        }
    }
}

#[test]
fn clip_grad_value_matches_pytorch() {
    let r = reference();
    let case = &r["clip"]["value"];
    let params = params_with_grads(case, DType::F64);
    clip_grad_value(&params, case["clip_value"].as_f64().unwrap()).unwrap();
    for (p, c) in params.iter().zip(case["clipped"].as_array().unwrap()) {
        assert_eq!(p.grad().unwrap().to_vec_f64(), data(c));
    }
}

#[test]
fn clipping_skips_parameters_without_gradient_and_rejects_bad_arguments() {
    let lone = Tensor::zeros(&[3], DType::F32).requires_grad_(true);
    assert_eq!(clip_grad_norm(from_ref(&lone), 1.0, 2.0).unwrap(), 0.0);
    assert!(lone.grad().is_none());
    assert!(matches!(
        clip_grad_norm(from_ref(&lone), -1.0, 2.0),
        Err(Error::Config { .. })
    ));
    assert!(matches!(
        clip_grad_norm(from_ref(&lone), 1.0, 0.0),
        Err(Error::Config { .. })
    ));
    assert!(matches!(
        clip_grad_value(from_ref(&lone), f64::NAN),
        Err(Error::Config { .. })
    ));
}

#[test]
fn clip_grad_norm_scales_large_gradients_in_parallel() {
    let n = 200_000;
    let p = Tensor::zeros(&[n], DType::F32).requires_grad_(true);
    p.backward_with(&Tensor::full(&[n], 0.5, DType::F32))
        .unwrap();
    let total = clip_grad_norm(from_ref(&p), 1.0, 2.0).unwrap();
    assert!((total - 0.5 * (n as f64).sqrt()).abs() < 1e-6 * total);
    let g = p.grad().unwrap().to_vec::<f32>().unwrap();
    let want = (0.5 / (total + 1e-6)) as f32;
    assert!(g.iter().all(|&x| (x - want).abs() <= 1e-6 * want));
    assert_eq!(
        clip_grad_norm(&[p], 1.0, f64::INFINITY).unwrap(),
        want as f64
    );
}
