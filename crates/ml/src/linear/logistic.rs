//! Logistic regression: binary (sigmoid) and multinomial (softmax), fitted on
//! scikit-learn's objective so the same `C` gives the same model:
//! `C · Σᵢ loss(xᵢ, yᵢ) + penalty(W)` (intercepts not penalized), where the penalty is
//! `½‖W‖²` (L2, by L-BFGS), `‖W‖₁` (L1, by OWL-QN: exact zeros) or
//! `ρ‖W‖₁ + (1−ρ)/2·‖W‖²` (elastic net, ρ = `l1_ratio`). We minimize that divided by
//! `C·n` — the same minimizer, better scaled for the stopping tolerance.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use zhixing_tensor::Tensor;

use super::lbfgs::{minimize_l1, LbfgsOptions};
use crate::error::{Error, Result};
use crate::estimator::{self, argmax, Estimator, EstimatorKind, Parts};

const WHAT: &str = "logistic regression";

/// The penalty on the weights.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Penalty {
    #[default]
    L2,
    L1,
    ElasticNet,
    None,
}

/// Hyperparameters (scikit-learn's names and defaults, except a tighter tolerance).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogisticConfig {
    /// Inverse regularization strength.
    pub c: f64,
    pub penalty: Penalty,
    /// The L1 share of the elastic-net penalty, in [0, 1].
    pub l1_ratio: f64,
    pub max_iter: usize,
    /// Stop when the largest gradient component (of the per-sample objective) is below this.
    pub tol: f64,
}

impl Default for LogisticConfig {
    fn default() -> Self {
        LogisticConfig {
            c: 1.0,
            penalty: Penalty::L2,
            l1_ratio: 0.5,
            max_iter: 1000,
            tol: 1e-10,
        }
    }
}

impl LogisticConfig {
    /// The (L1, L2) coefficients of the per-sample objective for `n` training rows.
    fn penalty_weights(&self, n: usize) -> Result<(f64, f64)> {
        let scale = 1.0 / (self.c * n as f64);
        Ok(match self.penalty {
            Penalty::L2 => (0.0, scale),
            Penalty::L1 => (scale, 0.0),
            Penalty::ElasticNet => {
                let rho = self.l1_ratio;
                if !(0.0..=1.0).contains(&rho) {
                    return Err(Error::invalid(
                        WHAT,
                        format!("l1_ratio must be in [0, 1], got {rho}"),
                    ));
                }
                (rho * scale, (1.0 - rho) * scale)
            }
            Penalty::None => (0.0, 0.0),
        })
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Fitted {
    n_features: usize,
    n_classes: usize,
    iterations: usize,
    converged: bool,
}

/// A fitted or unfitted logistic-regression classifier.
#[derive(Clone, Debug)]
pub struct LogisticRegression {
    pub config: LogisticConfig,
    /// `[K', F]`: one row for binary problems (the positive class), K rows otherwise.
    coef: Vec<f64>,
    intercept: Vec<f64>,
    fitted: Option<Fitted>,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    config: LogisticConfig,
    fitted: Fitted,
}

impl LogisticRegression {
    pub fn new(config: LogisticConfig) -> Self {
        LogisticRegression {
            config,
            coef: Vec::new(),
            intercept: Vec::new(),
            fitted: None,
        }
    }

    /// Like [`Estimator::fit`], reporting `(iteration, objective)` after each L-BFGS step.
    pub fn fit_with_progress(
        &mut self,
        x: &Tensor,
        y: &Tensor,
        on_iter: impl FnMut(usize, f64),
    ) -> Result<()> {
        let c = &self.config;
        if !(c.c > 0.0 && c.c.is_finite()) {
            return Err(Error::invalid(WHAT, format!("C must be > 0, got {}", c.c)));
        }
        let (data, n, f) = estimator::matrix(x, WHAT)?;
        let labels = estimator::class_ids(y, WHAT)?;
        estimator::check_rows(WHAT, n, labels.len())?;
        let k = estimator::check_two_classes(WHAT, &labels)?;
        let rows = if k == 2 { 1 } else { k };
        let (l1, l2) = c.penalty_weights(n)?;
        let problem = Problem {
            x: &data,
            y: &labels,
            n,
            f,
            rows,
            lambda: l2,
        };
        let opts = LbfgsOptions {
            gtol: c.tol,
            max_iter: c.max_iter.max(1),
            ..Default::default()
        };
        // Weights are penalized, the intercept (last in each row) is not.
        let l1_weights: Vec<f64> = (0..rows * (f + 1))
            .map(|i| if i % (f + 1) == f { 0.0 } else { l1 })
            .collect();
        let r = minimize_l1(
            |w, g| problem.loss_grad(w, g),
            vec![0.0; rows * (f + 1)],
            &l1_weights,
            &opts,
            on_iter,
        );
        self.coef = (0..rows)
            .flat_map(|r_| r.x[r_ * (f + 1)..r_ * (f + 1) + f].to_vec())
            .collect();
        self.intercept = (0..rows).map(|r_| r.x[r_ * (f + 1) + f]).collect();
        self.fitted = Some(Fitted {
            n_features: f,
            n_classes: k,
            iterations: r.iterations,
            converged: r.converged,
        });
        Ok(())
    }

    fn fitted(&self) -> Result<&Fitted> {
        self.fitted
            .as_ref()
            .ok_or_else(|| Error::invalid(WHAT, "the model is not fitted: call fit first"))
    }

    /// Weights `[K', F]` (one row for binary problems).
    pub fn coef(&self) -> Result<Tensor> {
        let fit = self.fitted()?;
        estimator::tensor2(self.coef.clone(), self.intercept.len(), fit.n_features)
    }

    pub fn intercept(&self) -> &[f64] {
        &self.intercept
    }

    /// L-BFGS iterations of the last fit and whether it met the tolerance.
    pub fn iterations(&self) -> Option<(usize, bool)> {
        self.fitted.as_ref().map(|f| (f.iterations, f.converged))
    }

    /// Class probabilities, row-major `[N, K]`.
    fn probabilities(&self, x: &Tensor) -> Result<(Vec<f64>, usize, usize)> {
        let fit = self.fitted()?;
        let (data, n, f) = estimator::matrix(x, WHAT)?;
        if f != fit.n_features {
            return Err(Error::invalid(
                WHAT,
                format!("fitted on {} features, got {f}", fit.n_features),
            ));
        }
        let k = fit.n_classes;
        let rows = self.intercept.len();
        let mut out = vec![0.0; n * k];
        out.par_chunks_mut(k)
            .zip(data.par_chunks(f))
            .for_each(|(p, xi)| {
                let mut z: Vec<f64> = (0..rows)
                    .map(|r| dot(&self.coef[r * f..(r + 1) * f], xi) + self.intercept[r])
                    .collect();
                if rows == 1 {
                    let p1 = sigmoid(z[0]);
                    p[0] = 1.0 - p1;
                    p[1] = p1;
                } else {
                    softmax_in_place(&mut z);
                    p.copy_from_slice(&z);
                }
            });
        Ok((out, n, k))
    }

    pub fn from_parts(parts: &Parts) -> Result<Self> {
        let saved: Saved = estimator::params_from(parts, WHAT)?;
        let coef = parts.tensor("coef")?.to_vec::<f64>()?;
        let intercept = parts.tensor("intercept")?.to_vec::<f64>()?;
        let rows = if saved.fitted.n_classes == 2 {
            1
        } else {
            saved.fitted.n_classes
        };
        if intercept.len() != rows || coef.len() != rows * saved.fitted.n_features {
            return Err(Error::invalid(
                WHAT,
                "saved weights do not match the saved shape",
            ));
        }
        Ok(LogisticRegression {
            config: saved.config,
            coef,
            intercept,
            fitted: Some(saved.fitted),
        })
    }
}

impl Estimator for LogisticRegression {
    fn name(&self) -> &'static str {
        "logistic"
    }

    fn kind(&self) -> EstimatorKind {
        EstimatorKind::Classifier
    }

    fn fit(&mut self, x: &Tensor, y: &Tensor) -> Result<()> {
        self.fit_with_progress(x, y, |_, _| {})
    }

    fn predict(&self, x: &Tensor) -> Result<Tensor> {
        let (p, n, k) = self.probabilities(x)?;
        let ids: Vec<usize> = p.chunks(k).map(argmax).collect();
        debug_assert_eq!(ids.len(), n);
        estimator::ids_tensor(&ids)
    }

    fn predict_proba(&self, x: &Tensor) -> Result<Option<Tensor>> {
        let (p, n, k) = self.probabilities(x)?;
        Ok(Some(estimator::tensor2(p, n, k)?))
    }

    fn to_parts(&self) -> Result<Parts> {
        let fitted = self.fitted()?.clone();
        let rows = self.intercept.len();
        Ok(Parts {
            params: estimator::params_to(
                &Saved {
                    config: self.config.clone(),
                    fitted: fitted.clone(),
                },
                WHAT,
            )?,
            tensors: vec![
                (
                    "coef".into(),
                    estimator::tensor2(self.coef.clone(), rows, fitted.n_features)?,
                ),
                (
                    "intercept".into(),
                    Tensor::from_vec(self.intercept.clone(), &[rows])?,
                ),
            ],
        })
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `log(1 + e^z)` without overflow.
fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

/// Softmax with the max subtracted first (no overflow); returns log-sum-exp.
fn softmax_in_place(z: &mut [f64]) -> f64 {
    let m = z.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - m).exp();
        sum += *v;
    }
    z.iter_mut().for_each(|v| *v /= sum);
    m + sum.ln()
}

/// The objective over the training rows; weights are laid out `[rows, F + 1]` with the
/// intercept last in each row.
struct Problem<'a> {
    x: &'a [f64],
    y: &'a [usize],
    n: usize,
    f: usize,
    rows: usize,
    lambda: f64,
}

/// Rows per parallel task when summing the gradient.
const CHUNK: usize = 512;

impl Problem<'_> {
    fn loss_grad(&self, w: &[f64], grad: &mut [f64]) -> f64 {
        let (f, rows) = (self.f, self.rows);
        let width = f + 1;
        let (loss, g) = self
            .x
            .par_chunks(CHUNK * f)
            .zip(self.y.par_chunks(CHUNK))
            .map(|(xs, ys)| {
                let mut g = vec![0.0; rows * width];
                let mut loss = 0.0;
                let mut z = vec![0.0; rows];
                for (xi, &yi) in xs.chunks(f).zip(ys) {
                    for (r, zr) in z.iter_mut().enumerate() {
                        *zr = dot(&w[r * width..r * width + f], xi) + w[r * width + f];
                    }
                    if rows == 1 {
                        // Binary: loss = softplus(z) − y·z, dloss/dz = σ(z) − y.
                        let t = (yi == 1) as u8 as f64;
                        loss += softplus(z[0]) - t * z[0];
                        axpy(&mut g[..width], sigmoid(z[0]) - t, xi);
                    } else {
                        // −log p_y = logsumexp(z) − z_y, exact even when p_y underflows.
                        let zy = z[yi];
                        loss += softmax_in_place(&mut z) - zy;
                        for r in 0..rows {
                            let d = z[r] - (r == yi) as u8 as f64;
                            axpy(&mut g[r * width..(r + 1) * width], d, xi);
                        }
                    }
                }
                (loss, g)
            })
            .reduce(
                || (0.0, vec![0.0; rows * width]),
                |(la, mut ga), (lb, gb)| {
                    ga.iter_mut().zip(&gb).for_each(|(a, b)| *a += b);
                    (la + lb, ga)
                },
            );
        let inv_n = 1.0 / self.n as f64;
        let mut total = loss * inv_n;
        for r in 0..rows {
            for j in 0..width {
                let idx = r * width + j;
                grad[idx] = g[idx] * inv_n;
                if j < f {
                    grad[idx] += self.lambda * w[idx];
                    total += 0.5 * self.lambda * w[idx] * w[idx];
                }
            }
        }
        total
    }
}

/// `g[..f] += a·x`, `g[f] += a` (the intercept's input is 1).
fn axpy(g: &mut [f64], a: f64, x: &[f64]) {
    let f = x.len();
    g[..f].iter_mut().zip(x).for_each(|(gi, xi)| *gi += a * xi);
    g[f] += a;
}
