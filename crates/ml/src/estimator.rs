//! The one shape every estimator has: `fit`, `predict`, `predict_proba` where it has
//! meaning, `score`, and a serializable state (`to_parts` / `from_parts`) so a saved model
//! can hold any of them.
//!
//! Inputs are `Tensor`s: features `[N, F]` (f32 or f64), targets `[N]` — i64 class ids
//! `0..K` for classifiers, f32/f64 values for regressors. Classifiers predict i64 class
//! ids; regressors predict f64 values; `predict_proba` is f64 `[N, K]`.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use zhixing_tensor::{DType, Tensor};

use crate::error::{Error, Result};
use crate::metrics;

/// What an estimator learns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EstimatorKind {
    Classifier,
    Regressor,
}

/// An estimator's saved form: hyperparameters and small fitted values as JSON, large
/// fitted arrays as named tensors (stored as safetensors inside the model file).
#[derive(Clone, Debug, Default)]
pub struct Parts {
    pub params: serde_json::Value,
    pub tensors: Vec<(String, Tensor)>,
}

impl Parts {
    /// The tensor called `name`, or an error naming it.
    pub fn tensor(&self, name: &str) -> Result<&Tensor> {
        self.tensors
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t)
            .ok_or_else(|| Error::invalid("model state", format!("missing tensor `{name}`")))
    }
}

pub trait Estimator: Send + Sync {
    /// The name used by `zhixing train --model NAME` and in saved files.
    fn name(&self) -> &'static str;

    fn kind(&self) -> EstimatorKind;

    /// Fits on `x` `[N, F]` and `y` `[N]`.
    fn fit(&mut self, x: &Tensor, y: &Tensor) -> Result<()>;

    /// Class ids (i64 `[N]`) or values (f64 `[N]`).
    fn predict(&self, x: &Tensor) -> Result<Tensor>;

    /// Class probabilities f64 `[N, K]`, for classifiers that have them.
    fn predict_proba(&self, _x: &Tensor) -> Result<Option<Tensor>> {
        Ok(None)
    }

    /// Accuracy for classifiers, R² for regressors.
    fn score(&self, x: &Tensor, y: &Tensor) -> Result<f64> {
        let pred = self.predict(x)?;
        match self.kind() {
            EstimatorKind::Classifier => {
                metrics::accuracy(&class_ids(y, "score")?, &class_ids(&pred, "score")?)
            }
            EstimatorKind::Regressor => metrics::r2(&values(y, "score")?, &values(&pred, "score")?),
        }
    }

    /// The fitted state, for saving.
    fn to_parts(&self) -> Result<Parts>;
}

/// The first index of the largest value: ties go to the lower class, as NumPy's argmax.
pub fn argmax(p: &[f64]) -> usize {
    let mut best = 0;
    for (i, v) in p.iter().enumerate() {
        if *v > p[best] {
            best = i;
        }
    }
    best
}

/// `x` as row-major f64 with its (rows, cols); errors unless it is 2-D, non-empty and finite.
pub fn matrix(x: &Tensor, what: &'static str) -> Result<(Vec<f64>, usize, usize)> {
    let shape = x.shape();
    if shape.len() != 2 {
        return Err(Error::invalid(
            what,
            format!("features must be 2-D [samples, features], got shape {shape:?}"),
        ));
    }
    let (n, f) = (shape[0], shape[1]);
    if n == 0 || f == 0 {
        return Err(Error::invalid(
            what,
            format!("features are empty (shape {shape:?})"),
        ));
    }
    let data = x.to_dtype(DType::F64)?.contiguous()?.to_vec::<f64>()?;
    check_finite(&data, f, what)?;
    Ok((data, n, f))
}

/// Runs `body` on the rows of `x` (row-major f64 `[n, f]`) with the checks of [`matrix`],
/// borrowing an f64 tensor's storage instead of copying it.
pub fn with_matrix<R>(
    x: &Tensor,
    what: &'static str,
    body: impl FnOnce(&[f64], usize, usize) -> Result<R>,
) -> Result<R> {
    let shape = x.shape();
    if x.dtype() != DType::F64 || shape.len() != 2 || shape[0] * shape[1] == 0 {
        let (data, n, f) = matrix(x, what)?;
        return body(&data, n, f);
    }
    let (n, f) = (shape[0], shape[1]);
    x.with_slice(|data: &[f64]| {
        check_finite(data, f, what)?;
        body(data, n, f)
    })?
}

/// Errors on the first NaN or infinity, naming its sample and feature. Scans in parallel.
fn check_finite(data: &[f64], f: usize, what: &'static str) -> Result<()> {
    const CHUNK: usize = 1 << 14;
    let bad = data
        .par_chunks(CHUNK)
        .enumerate()
        .find_first(|(_, c)| c.iter().any(|v| !v.is_finite()));
    let Some((c, chunk)) = bad else {
        return Ok(());
    };
    let i = c * CHUNK + chunk.iter().position(|v| !v.is_finite()).unwrap_or(0);
    Err(Error::invalid(
        what,
        format!(
            "non-finite feature value {} at sample {}, feature {}",
            data[i],
            i / f,
            i % f
        ),
    ))
}

/// Class ids from an integer (or integral float) tensor `[N]`; negative ids are an error.
pub fn class_ids(y: &Tensor, what: &'static str) -> Result<Vec<usize>> {
    let v = y.to_dtype(DType::F64)?.contiguous()?.to_vec::<f64>()?;
    v.iter()
        .enumerate()
        .map(|(i, &c)| {
            if c >= 0.0 && c.fract() == 0.0 && c.is_finite() {
                Ok(c as usize)
            } else {
                Err(Error::invalid(
                    what,
                    format!("class id at sample {i} is {c}: expected an integer ≥ 0"),
                ))
            }
        })
        .collect()
}

/// Target values as f64 `[N]`; non-finite values are an error.
pub fn values(y: &Tensor, what: &'static str) -> Result<Vec<f64>> {
    let v = y.to_dtype(DType::F64)?.contiguous()?.to_vec::<f64>()?;
    crate::error::finite(what, &v)?;
    Ok(v)
}

/// Errors unless `x` has `n` rows (the targets' count).
pub fn check_rows(what: &'static str, n_x: usize, n_y: usize) -> Result<()> {
    crate::error::same_len(what, n_x, n_y)
}

/// Errors unless there are at least two classes among `y`.
pub fn check_two_classes(what: &'static str, y: &[usize]) -> Result<usize> {
    let k = y.iter().max().map_or(0, |m| m + 1);
    let distinct = {
        let mut seen = vec![false; k];
        y.iter().for_each(|&c| seen[c] = true);
        seen.iter().filter(|s| **s).count()
    };
    if distinct < 2 {
        return Err(Error::undefined(
            what,
            format!(
                "the training targets hold {distinct} class(es); a classifier needs at least 2"
            ),
        ));
    }
    Ok(k)
}

/// A f64 tensor `[rows, cols]` from row-major values.
pub fn tensor2(data: Vec<f64>, rows: usize, cols: usize) -> Result<Tensor> {
    Ok(Tensor::from_vec(data, &[rows, cols])?)
}

/// Class ids as an i64 tensor `[N]`.
pub fn ids_tensor(ids: &[usize]) -> Result<Tensor> {
    let v: Vec<i64> = ids.iter().map(|&c| c as i64).collect();
    let n = v.len();
    Ok(Tensor::from_vec(v, &[n])?)
}

/// Parameters from JSON, or an error naming the estimator.
pub fn params_from<T: serde::de::DeserializeOwned>(parts: &Parts, what: &'static str) -> Result<T> {
    serde_json::from_value(parts.params.clone())
        .map_err(|e| Error::invalid(what, format!("unreadable saved parameters: {e}")))
}

/// Parameters to JSON.
pub fn params_to<T: Serialize>(params: &T, what: &'static str) -> Result<serde_json::Value> {
    serde_json::to_value(params)
        .map_err(|e| Error::invalid(what, format!("cannot serialize parameters: {e}")))
}
