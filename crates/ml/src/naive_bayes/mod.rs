//! Naive Bayes classifiers, saved under the name `"nb"` with a `variant`:
//!
//! - [`GaussianNB`] — per-class normal features (`var_smoothing` as scikit-learn);
//! - [`MultinomialNB`] — counts, e.g. bag-of-words (additive smoothing `alpha`);
//! - [`BernoulliNB`] — binary features, thresholded at `binarize` (smoothing `alpha`).
//!
//! Each computes the joint log-likelihood `log P(c) + log P(x | c)` per class;
//! `predict_proba` normalizes it with a log-sum-exp, so probabilities stay exact when the
//! likelihoods underflow. A class id that never occurs in training gets probability 0.
//!
//! ```
//! use zhixing_ml::naive_bayes::{GaussianNB, GaussianConfig};
//! use zhixing_ml::Estimator;
//! use zhixing_tensor::Tensor;
//! let x = Tensor::from_vec(vec![0.0, 0.2, 0.1, 5.0, 5.3, 4.9], &[6, 1]).unwrap();
//! let y = Tensor::from_vec(vec![0i64, 0, 0, 1, 1, 1], &[6]).unwrap();
//! let mut nb = GaussianNB::new(GaussianConfig::default());
//! nb.fit(&x, &y).unwrap();
//! let q = Tensor::from_vec(vec![4.0], &[1, 1]).unwrap();
//! assert_eq!(nb.predict(&q).unwrap().to_vec::<i64>().unwrap(), vec![1]);
//! ```

mod discrete;
mod gaussian;

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use zhixing_tensor::Tensor;

pub use discrete::{BernoulliConfig, BernoulliNB, MultinomialConfig, MultinomialNB};
pub use gaussian::{GaussianConfig, GaussianNB};

use crate::error::{Error, Result};
use crate::estimator::with_matrix;
use crate::estimator::{self, Estimator, Parts};

/// Which naive Bayes a saved `"nb"` model is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    Gaussian,
    Multinomial,
    Bernoulli,
}

/// A saved `"nb"` model of any variant.
pub fn from_parts(parts: &Parts) -> Result<Box<dyn Estimator>> {
    Ok(match saved_variant(parts)? {
        Variant::Gaussian => Box::new(GaussianNB::from_parts(parts)?),
        Variant::Multinomial => Box::new(MultinomialNB::from_parts(parts)?),
        Variant::Bernoulli => Box::new(BernoulliNB::from_parts(parts)?),
    })
}

fn saved_variant(parts: &Parts) -> Result<Variant> {
    #[derive(Deserialize)]
    struct VariantOnly {
        variant: Variant,
    }
    let v: VariantOnly = estimator::params_from(parts, "naive Bayes")?;
    Ok(v.variant)
}

/// Saved parameters of every variant.
#[derive(Serialize, Deserialize)]
struct Saved<C> {
    variant: Variant,
    config: C,
    n_features: usize,
    n_classes: usize,
}

impl<C: serde::de::DeserializeOwned> Saved<C> {
    fn load(parts: &Parts, variant: Variant, what: &'static str) -> Result<Self> {
        let saved: Saved<C> = estimator::params_from(parts, what)?;
        if saved.variant != variant {
            return Err(Error::invalid(
                what,
                format!("the saved model is {:?} naive Bayes", saved.variant),
            ));
        }
        Ok(saved)
    }
}

/// A saved tensor as f64 values of the expected shape.
fn saved_tensor(
    parts: &Parts,
    name: &str,
    shape: &[usize],
    what: &'static str,
) -> Result<Vec<f64>> {
    let t = parts.tensor(name)?;
    if t.shape() != shape {
        return Err(Error::invalid(
            what,
            format!(
                "saved `{name}` has shape {:?}, expected {shape:?}",
                t.shape()
            ),
        ));
    }
    Ok(t.to_dtype(zhixing_tensor::DType::F64)?
        .contiguous()?
        .to_vec::<f64>()?)
}

/// Checked training data (features borrowed from the tensor where possible).
struct Training<'a> {
    /// Features, row-major `[n, f]`.
    x: &'a [f64],
    n: usize,
    f: usize,
    /// Class ids.
    y: Vec<usize>,
    /// Number of classes (largest id + 1).
    k: usize,
}

/// Runs `body` on checked training data.
fn with_training<R>(
    x: &Tensor,
    y: &Tensor,
    what: &'static str,
    body: impl FnOnce(Training<'_>) -> Result<R>,
) -> Result<R> {
    let labels = estimator::class_ids(y, what)?;
    with_matrix(x, what, |data, n, f| {
        estimator::check_rows(what, n, labels.len())?;
        let k = estimator::check_two_classes(what, &labels)?;
        body(Training {
            x: data,
            n,
            f,
            y: labels,
            k,
        })
    })
}

/// Runs `body` on query features `(x, n)`, checked against the fitted feature count.
fn with_query<R>(
    x: &Tensor,
    n_features: usize,
    what: &'static str,
    body: impl FnOnce(&[f64], usize) -> Result<R>,
) -> Result<R> {
    with_matrix(x, what, |data, n, f| {
        if f != n_features {
            return Err(Error::invalid(
                what,
                format!("fitted on {n_features} features, got {f}"),
            ));
        }
        body(data, n)
    })
}

fn not_fitted(what: &'static str) -> Error {
    Error::invalid(what, "the model is not fitted: call fit first")
}

/// Rows per parallel task when summing over the training set.
const CHUNK: usize = 1024;

/// Per-class sums of `g(row, class)` (`[k, f]`) and class counts, summed in a fixed order
/// so the result does not depend on the thread count.
fn class_sums(
    x: &[f64],
    f: usize,
    y: &[usize],
    k: usize,
    g: impl Fn(&[f64], usize, &mut [f64]) + Sync,
) -> (Vec<f64>, Vec<f64>) {
    let parts: Vec<(Vec<f64>, Vec<f64>)> = x
        .par_chunks(CHUNK * f)
        .zip(y.par_chunks(CHUNK))
        .map(|(xs, ys)| {
            let mut sums = vec![0.0; k * f];
            let mut counts = vec![0.0; k];
            for (row, &c) in xs.chunks(f).zip(ys) {
                g(row, c, &mut sums[c * f..(c + 1) * f]);
                counts[c] += 1.0;
            }
            (sums, counts)
        })
        .collect();
    let mut sums = vec![0.0; k * f];
    let mut counts = vec![0.0; k];
    for (s, c) in parts {
        sums.iter_mut().zip(&s).for_each(|(a, b)| *a += b);
        counts.iter_mut().zip(&c).for_each(|(a, b)| *a += b);
    }
    (sums, counts)
}

/// `log(count / n)` per class (−∞ for a class absent from training).
fn log_priors(counts: &[f64]) -> Vec<f64> {
    let n: f64 = counts.iter().sum();
    counts.iter().map(|&c| (c / n).ln()).collect()
}

/// `a · bᵀ` for row-major `a` `[n, f]` and `b` `[k, f]`: row-major `[n, k]`. Blocks of
/// rows in parallel, each one sequential GEMM (faer's own threading splits the output,
/// which is narrow here).
fn matmul_nt(a: &[f64], n: usize, f: usize, b: &[f64], k: usize) -> Vec<f64> {
    const ROWS: usize = 512;
    let mut out = vec![0.0; n * k];
    let rhs = MatRef::from_row_major_slice(b, k, f).transpose();
    out.par_chunks_mut(ROWS * k)
        .zip(a.par_chunks(ROWS * f))
        .for_each(|(o, ab)| {
            let rows = ab.len() / f;
            matmul(
                MatMut::from_row_major_slice_mut(o, rows, k),
                Accum::Replace,
                MatRef::from_row_major_slice(ab, rows, f),
                rhs,
                1.0,
                Par::Seq,
            );
        });
    out
}

/// Joint log-likelihoods `[n, k]` to probabilities, in place, by log-sum-exp per row.
fn normalize_rows(jll: &mut [f64], k: usize) {
    jll.par_chunks_mut(k).for_each(|row| {
        let m = row.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        let mut sum = 0.0;
        for v in row.iter_mut() {
            *v = (*v - m).exp();
            sum += *v;
        }
        row.iter_mut().for_each(|v| *v /= sum);
    });
}

/// The class of largest joint log-likelihood per row (ties to the lower id).
fn argmax_rows(jll: &[f64], k: usize) -> Result<Tensor> {
    let ids: Vec<usize> = jll
        .chunks(k)
        .map(|row| {
            let mut best = 0;
            for (i, v) in row.iter().enumerate() {
                if *v > row[best] {
                    best = i;
                }
            }
            best
        })
        .collect();
    estimator::ids_tensor(&ids)
}
