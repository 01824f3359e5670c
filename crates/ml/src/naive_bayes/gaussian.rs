//! Gaussian naive Bayes: each feature is normal within each class, with the class's mean
//! and (population) variance; `var_smoothing · max feature variance` is added to every
//! variance for stability, as scikit-learn.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use zhixing_tensor::Tensor;

use super::{Saved, Variant};
use crate::error::{Error, Result};
use crate::estimator::{self, Estimator, EstimatorKind, Parts};

const WHAT: &str = "Gaussian naive Bayes";

/// Hyperparameters (scikit-learn's names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GaussianConfig {
    /// Fraction of the largest feature variance added to all variances.
    pub var_smoothing: f64,
}

impl Default for GaussianConfig {
    fn default() -> Self {
        GaussianConfig {
            var_smoothing: 1e-9,
        }
    }
}

#[derive(Clone, Debug)]
struct Fitted {
    n_features: usize,
    n_classes: usize,
    /// Per-class means `[K, F]`.
    theta: Vec<f64>,
    /// Per-class variances, smoothed, `[K, F]`.
    var: Vec<f64>,
    class_prior: Vec<f64>,
    /// `log P(c) − ½ Σⱼ log(2π var_cj)` per class.
    constant: Vec<f64>,
    /// `1 / var` `[K, F]`.
    inv_var: Vec<f64>,
}

impl Fitted {
    fn new(n_features: usize, theta: Vec<f64>, var: Vec<f64>, class_prior: Vec<f64>) -> Fitted {
        let f = n_features;
        let constant = class_prior
            .iter()
            .zip(var.chunks(f))
            .map(|(&p, v)| {
                p.ln()
                    - 0.5
                        * v.iter()
                            .map(|&s| (2.0 * std::f64::consts::PI * s).ln())
                            .sum::<f64>()
            })
            .collect();
        let inv_var = var.iter().map(|v| 1.0 / v).collect();
        Fitted {
            n_features,
            n_classes: class_prior.len(),
            theta,
            var,
            class_prior,
            constant,
            inv_var,
        }
    }
}

/// Gaussian naive Bayes classifier (`"nb"`, variant `gaussian`).
#[derive(Clone, Debug)]
pub struct GaussianNB {
    pub config: GaussianConfig,
    fitted: Option<Fitted>,
}

impl GaussianNB {
    pub fn new(config: GaussianConfig) -> Self {
        GaussianNB {
            config,
            fitted: None,
        }
    }

    fn fitted(&self) -> Result<&Fitted> {
        self.fitted.as_ref().ok_or_else(|| super::not_fitted(WHAT))
    }

    /// Per-class feature means `[K, F]`.
    pub fn theta(&self) -> Result<Tensor> {
        let fit = self.fitted()?;
        estimator::tensor2(fit.theta.clone(), fit.n_classes, fit.n_features)
    }

    /// Per-class feature variances (smoothed) `[K, F]`.
    pub fn var(&self) -> Result<Tensor> {
        let fit = self.fitted()?;
        estimator::tensor2(fit.var.clone(), fit.n_classes, fit.n_features)
    }

    /// Class frequencies in the training set.
    pub fn class_prior(&self) -> Result<&[f64]> {
        Ok(&self.fitted()?.class_prior)
    }

    /// Joint log-likelihoods `[N, K]`.
    fn jll(&self, x: &Tensor) -> Result<(Vec<f64>, usize, usize)> {
        let fit = self.fitted()?;
        let (f, k) = (fit.n_features, fit.n_classes);
        let (out, n) = super::with_query(x, f, WHAT, |data, n| {
            let mut out = vec![0.0; n * k];
            out.par_chunks_mut(k)
                .zip(data.par_chunks(f))
                .with_min_len(64)
                .for_each(|(o, row)| {
                    for (c, oc) in o.iter_mut().enumerate() {
                        let th = &fit.theta[c * f..(c + 1) * f];
                        let iv = &fit.inv_var[c * f..(c + 1) * f];
                        let mut s = 0.0;
                        for ((&xj, &t), &w) in row.iter().zip(th).zip(iv) {
                            let d = xj - t;
                            s += d * d * w;
                        }
                        *oc = fit.constant[c] - 0.5 * s;
                    }
                });
            Ok((out, n))
        })?;
        Ok((out, n, k))
    }

    pub fn from_parts(parts: &Parts) -> Result<Self> {
        let saved: Saved<GaussianConfig> = Saved::load(parts, Variant::Gaussian, WHAT)?;
        let (f, k) = (saved.n_features, saved.n_classes);
        let theta = super::saved_tensor(parts, "theta", &[k, f], WHAT)?;
        let var = super::saved_tensor(parts, "var", &[k, f], WHAT)?;
        let prior = super::saved_tensor(parts, "class_prior", &[k], WHAT)?;
        if var.iter().any(|&v| v.is_nan() || v <= 0.0) {
            return Err(Error::invalid(WHAT, "saved variances must be > 0"));
        }
        Ok(GaussianNB {
            config: saved.config,
            fitted: Some(Fitted::new(f, theta, var, prior)),
        })
    }
}

impl Estimator for GaussianNB {
    fn name(&self) -> &'static str {
        "nb"
    }

    fn kind(&self) -> EstimatorKind {
        EstimatorKind::Classifier
    }

    fn fit(&mut self, x: &Tensor, y: &Tensor) -> Result<()> {
        let vs = self.config.var_smoothing;
        if !(vs >= 0.0 && vs.is_finite()) {
            return Err(Error::invalid(
                WHAT,
                format!("var_smoothing must be ≥ 0, got {vs}"),
            ));
        }
        let fitted = super::with_training(x, y, WHAT, |t| {
            let (f, k, n) = (t.f, t.k, t.n as f64);
            // Means, then variances about them (two passes, as NumPy's var).
            let (mut theta, counts) = super::class_sums(t.x, f, &t.y, k, |row, _, s| {
                s.iter_mut().zip(row).for_each(|(a, b)| *a += b)
            });
            for (c, &cnt) in counts.iter().enumerate() {
                let inv = if cnt > 0.0 { 1.0 / cnt } else { 0.0 };
                theta[c * f..(c + 1) * f].iter_mut().for_each(|v| *v *= inv);
            }
            let (mut var, _) = super::class_sums(t.x, f, &t.y, k, |row, c, s| {
                let th = &theta[c * f..(c + 1) * f];
                for ((v, &xj), &m) in s.iter_mut().zip(row).zip(th) {
                    *v += (xj - m) * (xj - m);
                }
            });
            // ε = var_smoothing · the largest variance of a feature over all samples,
            // from the per-class sums (law of total variance).
            let mean: Vec<f64> = (0..f)
                .map(|j| (0..k).map(|c| counts[c] * theta[c * f + j]).sum::<f64>() / n)
                .collect();
            let max_var = (0..f)
                .map(|j| {
                    let within: f64 = (0..k).map(|c| var[c * f + j]).sum();
                    let between: f64 = (0..k)
                        .map(|c| counts[c] * (theta[c * f + j] - mean[j]).powi(2))
                        .sum();
                    (within + between) / n
                })
                .fold(0.0f64, f64::max);
            let eps = vs * max_var;
            for (c, &cnt) in counts.iter().enumerate() {
                for v in &mut var[c * f..(c + 1) * f] {
                    // An absent class keeps variance 1; its prior of 0 rules it out anyway.
                    *v = if cnt > 0.0 { *v / cnt + eps } else { 1.0 };
                }
            }
            if let Some(j) = var.iter().position(|&v| v <= 0.0) {
                return Err(Error::undefined(
                    WHAT,
                    format!(
                        "feature {} has zero variance within class {} and overall: \
                         remove constant features or raise var_smoothing",
                        j % f,
                        j / f
                    ),
                ));
            }
            let prior = counts.iter().map(|&c| c / n).collect();
            Ok(Fitted::new(f, theta, var, prior))
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
        let (f, k) = (fit.n_features, fit.n_classes);
        let saved = Saved {
            variant: Variant::Gaussian,
            config: self.config.clone(),
            n_features: f,
            n_classes: k,
        };
        Ok(Parts {
            params: estimator::params_to(&saved, WHAT)?,
            tensors: vec![
                ("theta".into(), estimator::tensor2(fit.theta.clone(), k, f)?),
                ("var".into(), estimator::tensor2(fit.var.clone(), k, f)?),
                (
                    "class_prior".into(),
                    Tensor::from_vec(fit.class_prior.clone(), &[k])?,
                ),
            ],
        })
    }
}
