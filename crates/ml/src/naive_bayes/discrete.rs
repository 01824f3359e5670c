//! Naive Bayes over counts ([`MultinomialNB`]) and binary features ([`BernoulliNB`]),
//! with additive (Laplace / Lidstone) smoothing `alpha`, as scikit-learn.

use std::borrow::Cow;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use zhixing_tensor::Tensor;

use super::{Saved, Variant};
use crate::error::{Error, Result};
use crate::estimator::{self, Estimator, EstimatorKind, Parts};

const WHAT_M: &str = "multinomial naive Bayes";
const WHAT_B: &str = "Bernoulli naive Bayes";

/// Hyperparameters of [`MultinomialNB`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MultinomialConfig {
    /// Additive smoothing (1 = Laplace).
    pub alpha: f64,
}

impl Default for MultinomialConfig {
    fn default() -> Self {
        MultinomialConfig { alpha: 1.0 }
    }
}

/// Hyperparameters of [`BernoulliNB`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BernoulliConfig {
    /// Additive smoothing (1 = Laplace).
    pub alpha: f64,
    /// Features above this are 1, the rest 0; `None`: the input is already binary.
    pub binarize: Option<f64>,
}

impl Default for BernoulliConfig {
    fn default() -> Self {
        BernoulliConfig {
            alpha: 1.0,
            binarize: Some(0.0),
        }
    }
}

/// What both discrete variants learn: `jll = x · Wᵀ + b`.
#[derive(Clone, Debug)]
struct Fitted {
    n_features: usize,
    n_classes: usize,
    /// `log P(feature j | c)` `[K, F]`.
    feature_log_prob: Vec<f64>,
    class_log_prior: Vec<f64>,
    /// The linear weights `W` `[K, F]` and offsets `b` `[K]` of the joint log-likelihood.
    w: Vec<f64>,
    b: Vec<f64>,
}

impl Fitted {
    fn jll(&self, x: &[f64], n: usize) -> Vec<f64> {
        let (f, k) = (self.n_features, self.n_classes);
        let mut out = super::matmul_nt(x, n, f, &self.w, k);
        for row in out.chunks_mut(k) {
            row.iter_mut().zip(&self.b).for_each(|(v, b)| *v += b);
        }
        out
    }

    fn parts(&self, saved: impl Serialize, what: &'static str) -> Result<Parts> {
        let (f, k) = (self.n_features, self.n_classes);
        Ok(Parts {
            params: estimator::params_to(&saved, what)?,
            tensors: vec![
                (
                    "feature_log_prob".into(),
                    estimator::tensor2(self.feature_log_prob.clone(), k, f)?,
                ),
                (
                    "class_log_prior".into(),
                    Tensor::from_vec(self.class_log_prior.clone(), &[k])?,
                ),
            ],
        })
    }

    /// `feature_log_prob` and `class_log_prior` of a saved model.
    fn load(parts: &Parts, f: usize, k: usize, what: &'static str) -> Result<(Vec<f64>, Vec<f64>)> {
        let flp = super::saved_tensor(parts, "feature_log_prob", &[k, f], what)?;
        let prior = super::saved_tensor(parts, "class_log_prior", &[k], what)?;
        if flp.iter().any(|v| !v.is_finite() || *v > 0.0) {
            return Err(Error::invalid(
                what,
                "saved feature log-probabilities must be finite and ≤ 0",
            ));
        }
        if prior.iter().any(|v| v.is_nan() || *v > 0.0) {
            return Err(Error::invalid(what, "saved class log-priors must be ≤ 0"));
        }
        Ok((flp, prior))
    }
}

fn check_alpha(alpha: f64, what: &'static str) -> Result<()> {
    if !(alpha > 0.0 && alpha.is_finite()) {
        return Err(Error::invalid(
            what,
            format!("alpha must be > 0 (a tiny value such as 1e-10 for almost no smoothing), got {alpha}"),
        ));
    }
    Ok(())
}

/// Multinomial naive Bayes for counts (`"nb"`, variant `multinomial`):
/// `log P(x | c) = Σⱼ xⱼ log θ_cj` with `θ_cj = (N_cj + α) / (N_c + α F)`.
#[derive(Clone, Debug)]
pub struct MultinomialNB {
    pub config: MultinomialConfig,
    fitted: Option<Fitted>,
}

/// Errors at the first negative value (counts must be ≥ 0).
fn non_negative(x: &[f64], f: usize, what: &'static str) -> Result<()> {
    match x.iter().position(|&v| v < 0.0) {
        Some(i) => Err(Error::invalid(
            what,
            format!(
                "negative value {} at sample {}, feature {}: multinomial naive Bayes needs \
                 counts ≥ 0 (use GaussianNB for real-valued features)",
                x[i],
                i / f,
                i % f
            ),
        )),
        None => Ok(()),
    }
}

impl MultinomialNB {
    pub fn new(config: MultinomialConfig) -> Self {
        MultinomialNB {
            config,
            fitted: None,
        }
    }

    fn fitted(&self) -> Result<&Fitted> {
        self.fitted
            .as_ref()
            .ok_or_else(|| super::not_fitted(WHAT_M))
    }

    /// `log P(feature | class)` `[K, F]`.
    pub fn feature_log_prob(&self) -> Result<Tensor> {
        let fit = self.fitted()?;
        estimator::tensor2(fit.feature_log_prob.clone(), fit.n_classes, fit.n_features)
    }

    /// `log P(class)` (−∞ for a class absent from training).
    pub fn class_log_prior(&self) -> Result<&[f64]> {
        Ok(&self.fitted()?.class_log_prior)
    }

    fn build(n_features: usize, flp: Vec<f64>, prior: Vec<f64>) -> Fitted {
        Fitted {
            n_features,
            n_classes: prior.len(),
            w: flp.clone(),
            b: prior.clone(),
            feature_log_prob: flp,
            class_log_prior: prior,
        }
    }

    fn jll(&self, x: &Tensor) -> Result<(Vec<f64>, usize, usize)> {
        let fit = self.fitted()?;
        let (jll, n) = super::with_query(x, fit.n_features, WHAT_M, |data, n| {
            non_negative(data, fit.n_features, WHAT_M)?;
            Ok((fit.jll(data, n), n))
        })?;
        Ok((jll, n, fit.n_classes))
    }

    pub fn from_parts(parts: &Parts) -> Result<Self> {
        let saved: Saved<MultinomialConfig> = Saved::load(parts, Variant::Multinomial, WHAT_M)?;
        let (flp, prior) = Fitted::load(parts, saved.n_features, saved.n_classes, WHAT_M)?;
        Ok(MultinomialNB {
            config: saved.config,
            fitted: Some(Self::build(saved.n_features, flp, prior)),
        })
    }
}

impl Estimator for MultinomialNB {
    fn name(&self) -> &'static str {
        "nb"
    }

    fn kind(&self) -> EstimatorKind {
        EstimatorKind::Classifier
    }

    fn fit(&mut self, x: &Tensor, y: &Tensor) -> Result<()> {
        let alpha = self.config.alpha;
        check_alpha(alpha, WHAT_M)?;
        let fitted = super::with_training(x, y, WHAT_M, |t| {
            let (f, k) = (t.f, t.k);
            non_negative(t.x, f, WHAT_M)?;
            let (counts, class_counts) = super::class_sums(t.x, f, &t.y, k, |row, _, s| {
                s.iter_mut().zip(row).for_each(|(a, b)| *a += b)
            });
            let mut flp = vec![0.0; k * f];
            for c in 0..k {
                let fc = &counts[c * f..(c + 1) * f];
                let total: f64 = fc.iter().map(|v| v + alpha).sum();
                let log_total = total.ln();
                for (o, &v) in flp[c * f..(c + 1) * f].iter_mut().zip(fc) {
                    *o = (v + alpha).ln() - log_total;
                }
            }
            Ok(Self::build(f, flp, super::log_priors(&class_counts)))
        })?;
        self.fitted = Some(fitted);
        Ok(())
    }

    fn predict(&self, x: &Tensor) -> Result<Tensor> {
        let (jll, _, k) = self.jll(x)?;
        super::argmax_rows(&jll, k)
    }

    fn predict_proba(&self, x: &Tensor) -> Result<Option<Tensor>> {
        let (mut jll, n, k) = self.jll(x)?;
        super::normalize_rows(&mut jll, k);
        Ok(Some(estimator::tensor2(jll, n, k)?))
    }

    fn to_parts(&self) -> Result<Parts> {
        let fit = self.fitted()?;
        let saved = Saved {
            variant: Variant::Multinomial,
            config: self.config.clone(),
            n_features: fit.n_features,
            n_classes: fit.n_classes,
        };
        fit.parts(saved, WHAT_M)
    }
}

/// Bernoulli naive Bayes for binary features (`"nb"`, variant `bernoulli`):
/// `log P(x | c) = Σⱼ xⱼ log p_cj + (1 − xⱼ) log(1 − p_cj)` with
/// `p_cj = (N_cj + α) / (N_c + 2α)`.
#[derive(Clone, Debug)]
pub struct BernoulliNB {
    pub config: BernoulliConfig,
    fitted: Option<Fitted>,
}

impl BernoulliNB {
    pub fn new(config: BernoulliConfig) -> Self {
        BernoulliNB {
            config,
            fitted: None,
        }
    }

    fn fitted(&self) -> Result<&Fitted> {
        self.fitted
            .as_ref()
            .ok_or_else(|| super::not_fitted(WHAT_B))
    }

    /// `log P(feature = 1 | class)` `[K, F]`.
    pub fn feature_log_prob(&self) -> Result<Tensor> {
        let fit = self.fitted()?;
        estimator::tensor2(fit.feature_log_prob.clone(), fit.n_classes, fit.n_features)
    }

    /// `log P(class)` (−∞ for a class absent from training).
    pub fn class_log_prior(&self) -> Result<&[f64]> {
        Ok(&self.fitted()?.class_log_prior)
    }

    /// The features as the model sees them: thresholded at `binarize`, if set.
    fn binarized<'a>(&self, data: &'a [f64]) -> Cow<'a, [f64]> {
        match self.config.binarize {
            Some(t) => Cow::Owned(data.par_iter().map(|&v| (v > t) as u8 as f64).collect()),
            None => Cow::Borrowed(data),
        }
    }

    /// `log p` and `log (1 − p)` folded into the linear form of the joint log-likelihood.
    fn build(n_features: usize, flp: Vec<f64>, neg: Vec<f64>, prior: Vec<f64>) -> Fitted {
        let f = n_features;
        let w = flp.iter().zip(&neg).map(|(p, q)| p - q).collect();
        let b = prior
            .iter()
            .zip(neg.chunks(f))
            .map(|(p, q)| p + q.iter().sum::<f64>())
            .collect();
        Fitted {
            n_features,
            n_classes: prior.len(),
            feature_log_prob: flp,
            class_log_prior: prior,
            w,
            b,
        }
    }

    fn jll(&self, x: &Tensor) -> Result<(Vec<f64>, usize, usize)> {
        let fit = self.fitted()?;
        let (jll, n) = super::with_query(x, fit.n_features, WHAT_B, |data, n| {
            Ok((fit.jll(&self.binarized(data), n), n))
        })?;
        Ok((jll, n, fit.n_classes))
    }

    pub fn from_parts(parts: &Parts) -> Result<Self> {
        let saved: Saved<BernoulliConfig> = Saved::load(parts, Variant::Bernoulli, WHAT_B)?;
        let (flp, prior) = Fitted::load(parts, saved.n_features, saved.n_classes, WHAT_B)?;
        if flp.iter().any(|&v| v >= 0.0) {
            return Err(Error::invalid(
                WHAT_B,
                "saved feature probabilities must be < 1",
            ));
        }
        let neg = flp.iter().map(|&v| (-v.exp()).ln_1p()).collect();
        Ok(BernoulliNB {
            config: saved.config,
            fitted: Some(Self::build(saved.n_features, flp, neg, prior)),
        })
    }
}

impl Estimator for BernoulliNB {
    fn name(&self) -> &'static str {
        "nb"
    }

    fn kind(&self) -> EstimatorKind {
        EstimatorKind::Classifier
    }

    fn fit(&mut self, x: &Tensor, y: &Tensor) -> Result<()> {
        let alpha = self.config.alpha;
        check_alpha(alpha, WHAT_B)?;
        if let Some(t) = self.config.binarize {
            if !t.is_finite() {
                return Err(Error::invalid(
                    WHAT_B,
                    format!("binarize must be finite, got {t}"),
                ));
            }
        }
        let threshold = self.config.binarize;
        let fitted = super::with_training(x, y, WHAT_B, |t| {
            let (f, k) = (t.f, t.k);
            if threshold.is_none() {
                if let Some(i) = t.x.iter().position(|&v| v != 0.0 && v != 1.0) {
                    return Err(Error::invalid(
                        WHAT_B,
                        format!(
                            "value {} at sample {}, feature {} is not 0 or 1: set `binarize` \
                             to a threshold",
                            t.x[i],
                            i / f,
                            i % f
                        ),
                    ));
                }
            }
            let (counts, class_counts) =
                super::class_sums(t.x, f, &t.y, k, |row, _, s| match threshold {
                    Some(th) => s.iter_mut().zip(row).for_each(|(a, &b)| {
                        if b > th {
                            *a += 1.0
                        }
                    }),
                    None => s.iter_mut().zip(row).for_each(|(a, b)| *a += b),
                });
            let mut flp = vec![0.0; k * f];
            let mut neg = vec![0.0; k * f];
            for (c, &nc) in class_counts.iter().enumerate() {
                let log_total = (nc + 2.0 * alpha).ln();
                for j in c * f..(c + 1) * f {
                    flp[j] = (counts[j] + alpha).ln() - log_total;
                    neg[j] = (nc - counts[j] + alpha).ln() - log_total;
                }
            }
            Ok(Self::build(f, flp, neg, super::log_priors(&class_counts)))
        })?;
        self.fitted = Some(fitted);
        Ok(())
    }

    fn predict(&self, x: &Tensor) -> Result<Tensor> {
        let (jll, _, k) = self.jll(x)?;
        super::argmax_rows(&jll, k)
    }

    fn predict_proba(&self, x: &Tensor) -> Result<Option<Tensor>> {
        let (mut jll, n, k) = self.jll(x)?;
        super::normalize_rows(&mut jll, k);
        Ok(Some(estimator::tensor2(jll, n, k)?))
    }

    fn to_parts(&self) -> Result<Parts> {
        let fit = self.fitted()?;
        let saved = Saved {
            variant: Variant::Bernoulli,
            config: self.config.clone(),
            n_features: fit.n_features,
            n_classes: fit.n_classes,
        };
        fit.parts(saved, WHAT_B)
    }
}
