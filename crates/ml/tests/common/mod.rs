//! Loading the committed reference values (written by scripts/ml_reference.py).

#![allow(dead_code)]

use serde_json::Value;

pub mod data;

pub fn load(name: &str) -> Value {
    let path = format!("{}/tests/reference/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A number, with JSON `null` read as NaN (how the script writes numpy's NaN).
pub fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

pub fn vf(v: &Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(f).collect()
}

pub fn vvf(v: &Value) -> Vec<Vec<f64>> {
    v.as_array().expect("array").iter().map(vf).collect()
}

pub fn vu(v: &Value) -> Vec<u64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_u64().expect("count"))
        .collect()
}

pub fn vb(v: &Value) -> Vec<bool> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_i64().expect("0/1") == 1)
        .collect()
}

pub fn vs(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_str().expect("string").to_string())
        .collect()
}

/// Labels as written: all integers, or all strings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Label {
    I(i64),
    S(String),
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Label::I(i) => write!(f, "{i}"),
            Label::S(s) => write!(f, "{s}"),
        }
    }
}

pub fn label(v: &Value) -> Label {
    match v {
        Value::Number(n) => Label::I(n.as_i64().expect("integer label")),
        Value::String(s) => Label::S(s.clone()),
        other => panic!("not a label: {other}"),
    }
}

pub fn labels(v: &Value) -> Vec<Label> {
    v.as_array().expect("array").iter().map(label).collect()
}

/// `got` equals `want` to 1e-10 relative (1e-12 absolute near zero); NaN equals NaN.
#[track_caller]
pub fn close(got: f64, want: f64, what: &str) {
    if want.is_nan() {
        assert!(got.is_nan(), "{what}: got {got}, want NaN");
        return;
    }
    let tol = 1e-12f64.max(1e-10 * want.abs());
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got}, want {want} (diff {:e})",
        (got - want).abs()
    );
}

#[track_caller]
pub fn close_all(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        close(*g, *w, &format!("{what}[{i}]"));
    }
}
