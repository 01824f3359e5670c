//! [`SvmClassifier`]: binary machines (one for two classes, one per class otherwise)
//! sharing one set of support vectors, behind the [`Estimator`] API.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use zhixing_tensor::Tensor;

use super::binary::{self, BinaryFit};
use super::kernel::{dot, kernel_values, squared_norms, ResolvedKernel};
use super::smo::Options;
use super::{SvmConfig, WHAT};
use crate::error::{Error, Result};
use crate::estimator::{self, Estimator, EstimatorKind, Parts};

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Fitted {
    n_features: usize,
    n_classes: usize,
    /// The kernel with γ resolved on the training data.
    kernel: ResolvedKernel,
    /// Per machine: support vectors, SMO iterations, whether SMO met `tol`.
    n_support: Vec<usize>,
    iterations: Vec<usize>,
    converged: Vec<bool>,
    /// Per machine Platt `(A, B)` when fitted with `probability` (None for a class with no
    /// training rows).
    platt: Option<Vec<Option<(f64, f64)>>>,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    config: SvmConfig,
    fitted: Fitted,
}

/// A support vector classifier (C-SVC) with a linear, RBF or polynomial kernel.
///
/// Classes are `0..K` as everywhere in this crate. With two classes there is one machine
/// (positive decision = class 1, as scikit-learn's `SVC`); with more, one machine per class
/// against the rest (**one-vs-rest**, unlike `SVC`'s one-vs-one: compare with
/// `OneVsRestClassifier(SVC(...))`). A class id absent from the training targets gets a
/// machine whose decision value is −∞, so it is never predicted.
#[derive(Clone, Debug)]
pub struct SvmClassifier {
    pub config: SvmConfig,
    /// Training-row indices of the support vectors (of any machine), ascending.
    support: Vec<usize>,
    /// `[n_sv, F]` row-major.
    sv: Vec<f64>,
    sv_sq: Vec<f64>,
    /// `[M, n_sv]`: `y_i α_i` of each machine (0 where a vector is not one of its own).
    dual: Vec<f64>,
    intercept: Vec<f64>,
    /// `[M, F]` primal weights, for the linear kernel only.
    w: Vec<f64>,
    fitted: Option<Fitted>,
}

impl SvmClassifier {
    pub fn new(config: SvmConfig) -> Self {
        SvmClassifier {
            config,
            support: Vec::new(),
            sv: Vec::new(),
            sv_sq: Vec::new(),
            dual: Vec::new(),
            intercept: Vec::new(),
            w: Vec::new(),
            fitted: None,
        }
    }

    fn fitted(&self) -> Result<&Fitted> {
        self.fitted
            .as_ref()
            .ok_or_else(|| Error::invalid(WHAT, "the model is not fitted: call fit first"))
    }

    /// Training-row indices of the support vectors, ascending (empty before `fit`).
    pub fn support(&self) -> &[usize] {
        &self.support
    }

    /// The support vectors `[n_sv, F]` (rows of the training features, in `support` order).
    pub fn support_vectors(&self) -> Result<Tensor> {
        let fit = self.fitted()?;
        estimator::tensor2(self.sv.clone(), self.support.len(), fit.n_features)
    }

    /// Support vectors per machine (one machine for two classes, else one per class).
    pub fn n_support(&self) -> Vec<usize> {
        self.fitted
            .as_ref()
            .map_or_else(Vec::new, |f| f.n_support.clone())
    }

    /// Dual coefficients `y_i α_i`, `[M, n_sv]` with columns in `support` order;
    /// `|coef| = C` marks a vector inside the margin (or misclassified).
    pub fn dual_coef(&self) -> Result<Tensor> {
        self.fitted()?;
        estimator::tensor2(self.dual.clone(), self.intercept.len(), self.support.len())
    }

    /// The intercept of each machine (−∞ for a class absent from training).
    pub fn intercept(&self) -> &[f64] {
        &self.intercept
    }

    /// The kernel with γ resolved on the training data.
    pub fn kernel(&self) -> Option<ResolvedKernel> {
        self.fitted.as_ref().map(|f| f.kernel)
    }

    /// `(SMO iterations, converged)` per machine.
    pub fn iterations(&self) -> Vec<(usize, bool)> {
        self.fitted.as_ref().map_or_else(Vec::new, |f| {
            f.iterations
                .iter()
                .copied()
                .zip(f.converged.iter().copied())
                .collect()
        })
    }

    /// Primal weights `w = Σ y_i α_i x_i`, `[M, F]` — linear kernel only.
    pub fn coef(&self) -> Result<Tensor> {
        let fit = self.linear("coef")?;
        estimator::tensor2(self.w.clone(), self.intercept.len(), fit.n_features)
    }

    /// The geometric margin width `2 / ‖w‖` of each machine — linear kernel only.
    pub fn margin(&self) -> Result<Vec<f64>> {
        let fit = self.linear("margin")?;
        Ok(self
            .w
            .chunks(fit.n_features)
            .map(|w| 2.0 / dot(w, w).sqrt())
            .collect())
    }

    fn linear(&self, what: &str) -> Result<&Fitted> {
        let fit = self.fitted()?;
        if fit.kernel != ResolvedKernel::Linear {
            return Err(Error::invalid(
                WHAT,
                format!(
                    "{what} is defined for the linear kernel only (this model's kernel is {:?})",
                    fit.kernel
                ),
            ));
        }
        Ok(fit)
    }

    /// Decision values: f64 `[N]` for two classes (positive → class 1), else `[N, K]`
    /// (one column per class; the largest wins).
    pub fn decision_function(&self, x: &Tensor) -> Result<Tensor> {
        let (d, n, m) = self.decisions(x)?;
        if m == 1 {
            Ok(Tensor::from_vec(d, &[n])?)
        } else {
            estimator::tensor2(d, n, m)
        }
    }

    /// Row-major `[N, M]` decision values.
    fn decisions(&self, x: &Tensor) -> Result<(Vec<f64>, usize, usize)> {
        let fit = self.fitted()?;
        let (data, n, f) = estimator::matrix(x, WHAT)?;
        if f != fit.n_features {
            return Err(Error::invalid(
                WHAT,
                format!(
                    "the model was fitted on {} features, got {f}",
                    fit.n_features
                ),
            ));
        }
        let m = self.intercept.len();
        let mut out = vec![0.0; n * m];
        let rows = out.par_chunks_mut(m).zip(data.par_chunks(f));
        if fit.kernel == ResolvedKernel::Linear {
            rows.for_each(|(o, xi)| {
                for (k, ok) in o.iter_mut().enumerate() {
                    *ok = dot(&self.w[k * f..(k + 1) * f], xi) + self.intercept[k];
                }
            });
        } else {
            let n_sv = self.support.len();
            rows.for_each_init(
                || vec![0.0; n_sv],
                |kx, (o, xi)| {
                    kernel_values(&fit.kernel, xi, dot(xi, xi), &self.sv, &self.sv_sq, f, kx);
                    for (k, ok) in o.iter_mut().enumerate() {
                        *ok = dot(&self.dual[k * n_sv..(k + 1) * n_sv], kx) + self.intercept[k];
                    }
                },
            );
        }
        Ok((out, n, m))
    }

    /// Gathers the machines' support vectors into one set and fills the model.
    fn assemble(
        &mut self,
        fits: Vec<Option<BinaryFit>>,
        data: &[f64],
        n: usize,
        f: usize,
        n_classes: usize,
        kernel: ResolvedKernel,
    ) {
        let mut column = vec![usize::MAX; n];
        for fit in fits.iter().flatten() {
            for &(r, _) in &fit.coef {
                column[r] = 0;
            }
        }
        let mut support = Vec::new();
        for (r, c) in column.iter_mut().enumerate() {
            if *c == 0 {
                *c = support.len();
                support.push(r);
            }
        }
        let (m, n_sv) = (fits.len(), support.len());
        let mut dual = vec![0.0; m * n_sv];
        let mut intercept = vec![f64::NEG_INFINITY; m];
        for (k, fit) in fits.iter().enumerate() {
            if let Some(fit) = fit {
                for &(r, c) in &fit.coef {
                    dual[k * n_sv + column[r]] = c;
                }
                intercept[k] = fit.intercept;
            }
        }
        let field = |g: fn(&BinaryFit) -> usize| -> Vec<usize> {
            fits.iter().map(|fit| fit.as_ref().map_or(0, g)).collect()
        };
        let fitted = Fitted {
            n_features: f,
            n_classes,
            kernel,
            n_support: field(|b| b.coef.len()),
            iterations: field(|b| b.iterations),
            converged: fits
                .iter()
                .map(|fit| fit.as_ref().is_none_or(|b| b.converged))
                .collect(),
            platt: self.config.probability.then(|| {
                fits.iter()
                    .map(|fit| fit.as_ref().and_then(|b| b.platt))
                    .collect()
            }),
        };
        self.sv = support
            .iter()
            .flat_map(|&r| data[r * f..(r + 1) * f].iter().copied())
            .collect();
        self.support = support;
        self.dual = dual;
        self.intercept = intercept;
        self.fitted = Some(fitted);
        self.derive();
    }

    /// Fills the values computed from the saved ones: squared norms, linear weights.
    fn derive(&mut self) {
        let Some(fit) = &self.fitted else { return };
        let f = fit.n_features;
        self.sv_sq = squared_norms(&self.sv, f);
        self.w = Vec::new();
        if fit.kernel == ResolvedKernel::Linear {
            let n_sv = self.support.len();
            let mut w = vec![0.0; self.intercept.len() * f];
            for (k, wk) in w.chunks_mut(f).enumerate() {
                for (&a, s) in self.dual[k * n_sv..(k + 1) * n_sv]
                    .iter()
                    .zip(self.sv.chunks_exact(f))
                {
                    if a != 0.0 {
                        wk.iter_mut().zip(s).for_each(|(wj, sj)| *wj += a * sj);
                    }
                }
            }
            self.w = w;
        }
    }

    pub fn from_parts(parts: &Parts) -> Result<Self> {
        let saved: Saved = estimator::params_from(parts, WHAT)?;
        saved.config.validate()?;
        let fit = &saved.fitted;
        let support: Vec<usize> = estimator::class_ids(parts.tensor("support")?, WHAT)?;
        let sv = parts.tensor("support_vectors")?.to_vec_f64();
        let dual = parts.tensor("dual_coef")?.to_vec_f64();
        let intercept = parts.tensor("intercept")?.to_vec_f64();
        let m = if fit.n_classes == 2 { 1 } else { fit.n_classes };
        let n_sv = support.len();
        let consistent = fit.n_classes >= 2
            && fit.n_features > 0
            && sv.len() == n_sv * fit.n_features
            && dual.len() == m * n_sv
            && intercept.len() == m
            && fit.n_support.len() == m
            && fit.iterations.len() == m
            && fit.converged.len() == m
            && fit.platt.as_ref().is_none_or(|p| p.len() == m);
        if !consistent {
            return Err(Error::invalid(
                WHAT,
                "saved support vectors / coefficients do not match the saved shape",
            ));
        }
        let mut model = SvmClassifier {
            config: saved.config,
            support,
            sv,
            sv_sq: Vec::new(),
            dual,
            intercept,
            w: Vec::new(),
            fitted: Some(saved.fitted),
        };
        model.derive();
        Ok(model)
    }
}

impl Estimator for SvmClassifier {
    fn name(&self) -> &'static str {
        "svm"
    }

    fn kind(&self) -> EstimatorKind {
        EstimatorKind::Classifier
    }

    fn fit(&mut self, x: &Tensor, y: &Tensor) -> Result<()> {
        let cfg = &self.config;
        cfg.validate()?;
        let (data, n, f) = estimator::matrix(x, WHAT)?;
        let labels = estimator::class_ids(y, WHAT)?;
        estimator::check_rows(WHAT, n, labels.len())?;
        let k = estimator::check_two_classes(WHAT, &labels)?;
        let kernel = cfg.resolve_kernel(&data, f);
        let targets: Vec<usize> = if k == 2 { vec![1] } else { (0..k).collect() };
        let opts = Options {
            c: cfg.c,
            eps: cfg.tol,
            max_iter: cfg.iteration_limit(n),
            shrinking: cfg.shrinking,
        };
        // The cache is split between the machines that train at the same time.
        let at_once = targets.len().min(rayon::current_num_threads()).max(1);
        let cache_values = (cfg.cache_size * 1024.0 * 1024.0 / 8.0 / at_once as f64) as usize;
        let rows: Vec<usize> = (0..n).collect();
        let (probability, seed) = (cfg.probability, cfg.seed);
        let fits: Vec<Option<BinaryFit>> = targets
            .par_iter()
            .map(|&class| {
                let positive: Vec<bool> = labels.iter().map(|&c| c == class).collect();
                if !positive.contains(&true) {
                    return None;
                }
                let mut fit =
                    binary::train(&data, f, &rows, &positive, kernel, &opts, cache_values);
                if probability {
                    let dec = binary::cross_validated_decisions(
                        &data,
                        f,
                        &rows,
                        &positive,
                        kernel,
                        &opts,
                        cache_values,
                        seed.wrapping_add(class as u64),
                    );
                    fit.platt = Some(binary::sigmoid_train(&dec, &positive));
                }
                Some(fit)
            })
            .collect();
        self.assemble(fits, &data, n, f, k, kernel);
        Ok(())
    }

    fn predict(&self, x: &Tensor) -> Result<Tensor> {
        let (d, _, m) = self.decisions(x)?;
        let ids: Vec<usize> = if m == 1 {
            d.iter().map(|&v| (v > 0.0) as usize).collect()
        } else {
            // Ties go to the later class, as OneVsRestClassifier.
            d.chunks(m)
                .map(|row| {
                    let mut best = 0;
                    for (k, v) in row.iter().enumerate() {
                        if *v >= row[best] {
                            best = k;
                        }
                    }
                    best
                })
                .collect()
        };
        estimator::ids_tensor(&ids)
    }

    /// Platt-scaled probabilities `[N, K]` when fitted with `probability: true` (one-vs-rest
    /// probabilities normalized to sum to 1, as OneVsRestClassifier); `None` otherwise.
    fn predict_proba(&self, x: &Tensor) -> Result<Option<Tensor>> {
        let fit = self.fitted()?;
        let Some(platt) = &fit.platt else {
            return Ok(None);
        };
        let (d, n, m) = self.decisions(x)?;
        let k = fit.n_classes;
        let mut p = vec![0.0; n * k];
        for (row, dr) in p.chunks_mut(k).zip(d.chunks(m)) {
            let q = |j: usize| match platt[j] {
                Some((a, b)) if dr[j].is_finite() => binary::sigmoid_predict(dr[j], a, b),
                _ => 0.0,
            };
            if m == 1 {
                row[1] = q(0);
                row[0] = 1.0 - row[1];
            } else {
                row.iter_mut().enumerate().for_each(|(j, r)| *r = q(j));
                let s: f64 = row.iter().sum();
                row.iter_mut().for_each(|r| *r /= s);
            }
        }
        Ok(Some(estimator::tensor2(p, n, k)?))
    }

    fn to_parts(&self) -> Result<Parts> {
        let fit = self.fitted()?;
        let (n_sv, m) = (self.support.len(), self.intercept.len());
        let support: Vec<i64> = self.support.iter().map(|&r| r as i64).collect();
        Ok(Parts {
            params: estimator::params_to(
                &Saved {
                    config: self.config.clone(),
                    fitted: fit.clone(),
                },
                WHAT,
            )?,
            tensors: vec![
                ("support".into(), Tensor::from_vec(support, &[n_sv])?),
                (
                    "support_vectors".into(),
                    estimator::tensor2(self.sv.clone(), n_sv, fit.n_features)?,
                ),
                (
                    "dual_coef".into(),
                    estimator::tensor2(self.dual.clone(), m, n_sv)?,
                ),
                (
                    "intercept".into(),
                    Tensor::from_vec(self.intercept.clone(), &[m])?,
                ),
            ],
        })
    }
}
