//! Reads `nn_reference.json` (written by `scripts/nn_reference.py`, torch float64) for the
//! tests: named tensors as (shape, row-major f64 data), and the helpers to compare them.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::HashMap;

use serde_json::Value;
use zhixing_tensor::{DType, Tensor};

pub type Array = (Vec<usize>, Vec<f64>);

pub fn doc() -> Value {
    serde_json::from_str(include_str!("nn_reference.json")).expect("valid reference JSON")
}

pub fn array(v: &Value) -> Array {
    let shape = v["shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().expect("dim") as usize)
        .collect();
    let data = v["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect();
    (shape, data)
}

/// A map of named arrays.
pub fn arrays(v: &Value) -> HashMap<String, Array> {
    v.as_object()
        .expect("object of arrays")
        .iter()
        .filter(|(_, x)| x.get("shape").is_some())
        .map(|(k, x)| (k.clone(), array(x)))
        .collect()
}

/// One forward/backward case: inputs, params, output, upstream gradient, input grads.
pub struct Case {
    pub inputs: HashMap<String, Array>,
    pub params: Value,
    pub output: Array,
    pub upstream: Array,
    pub grads: HashMap<String, Array>,
}

pub fn case(name: &str) -> Case {
    let all = doc();
    let c = &all["cases"][name];
    assert!(c.is_object(), "reference case {name} missing");
    Case {
        inputs: arrays(&c["inputs"]),
        params: c["params"].clone(),
        output: array(&c["output"]),
        upstream: array(&c["upstream"]),
        grads: arrays(&c["grads"]),
    }
}

/// The array as a tensor of `dtype`.
pub fn tensor(a: &Array, dtype: DType) -> Tensor {
    Tensor::from_vec(a.1.clone(), &a.0)
        .unwrap()
        .to_dtype(dtype)
        .unwrap()
}

/// |got − want| ≤ tol·max(1, max|want|) element-wise.
pub fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * scale,
            "{what}[{i}]: got {g}, PyTorch {w} (tol {tol}·{scale})"
        );
    }
}

/// Compares a tensor with a reference array: shape and values.
pub fn assert_tensor(what: &str, got: &Tensor, want: &Array, tol: f64) {
    assert_eq!(got.shape(), want.0.as_slice(), "{what}: shape");
    assert_close(what, &got.to_vec_f64(), &want.1, tol);
}
