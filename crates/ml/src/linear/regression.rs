//! Least-squares regression: ordinary (the minimum-norm solution through a thin SVD, as
//! `numpy.linalg.lstsq`, so collinear one-hot columns are fine) and ridge (Cholesky of
//! `XᵀX + αI`). Both centre X and y first, so the intercept is not penalized — as
//! scikit-learn's `LinearRegression` and `Ridge`. For data too large for those dense
//! factorizations, accelerated gradient descent (see [`super::gradient_descent`]).

use faer::linalg::solvers::{Solve, SolveLstsq};
use faer::{Mat, Side};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use zhixing_tensor::Tensor;

use super::gradient_descent;
use crate::error::{Error, Result};
use crate::estimator::{self, Estimator, EstimatorKind, Parts};

const WHAT: &str = "linear regression";

/// How the least-squares problem is solved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinearSolver {
    /// Closed form (SVD for OLS, Cholesky for ridge) unless the design has more than
    /// [`GD_AUTO_ELEMENTS`] entries; then gradient descent.
    #[default]
    Auto,
    /// SVD (OLS) or Cholesky (ridge): exact, memory ~3× the data in f64.
    ClosedForm,
    /// Accelerated full-batch gradient descent: one pass per iteration, no extra copy.
    GradientDescent,
}

/// Above this many entries (n·f; 2 GiB per dense f64 copy) `auto` uses gradient descent.
pub const GD_AUTO_ELEMENTS: usize = 1 << 28;

/// Hyperparameters: `alpha = 0` is ordinary least squares, `alpha > 0` ridge.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinearConfig {
    pub alpha: f64,
    pub solver: LinearSolver,
    /// Gradient descent: stop when the largest gradient component (standardized units)
    /// is below this.
    pub tol: f64,
    /// Gradient descent: the most passes over the data.
    pub max_iter: usize,
}

impl Default for LinearConfig {
    fn default() -> Self {
        LinearConfig {
            alpha: 0.0,
            solver: LinearSolver::Auto,
            tol: 1e-10,
            max_iter: 20_000,
        }
    }
}

impl LinearConfig {
    /// Ridge regression with penalty `alpha`.
    pub fn ridge(alpha: f64) -> Self {
        LinearConfig {
            alpha,
            ..Default::default()
        }
    }
}

/// A fitted or unfitted linear regressor `ŷ = x·w + b`.
#[derive(Clone, Debug, Default)]
pub struct LinearRegression {
    pub config: LinearConfig,
    coef: Vec<f64>,
    intercept: f64,
    /// The numerical rank of the centred design (OLS by SVD only).
    rank: Option<usize>,
    /// Gradient-descent passes and whether the tolerance was met.
    iterations: Option<(usize, bool)>,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    config: LinearConfig,
    intercept: f64,
    rank: Option<usize>,
}

impl LinearRegression {
    pub fn new(config: LinearConfig) -> Self {
        LinearRegression {
            config,
            ..Default::default()
        }
    }

    pub fn coef(&self) -> &[f64] {
        &self.coef
    }

    pub fn intercept(&self) -> f64 {
        self.intercept
    }

    /// The rank of the centred design matrix found by the SVD (OLS only).
    pub fn rank(&self) -> Option<usize> {
        self.rank
    }

    /// Gradient-descent passes of the last fit and whether the tolerance was met.
    pub fn iterations(&self) -> Option<(usize, bool)> {
        self.iterations
    }

    pub fn from_parts(parts: &Parts) -> Result<Self> {
        let saved: Saved = estimator::params_from(parts, WHAT)?;
        Ok(LinearRegression {
            config: saved.config,
            coef: parts.tensor("coef")?.to_vec::<f64>()?,
            intercept: saved.intercept,
            rank: saved.rank,
            iterations: None,
        })
    }

    fn fit_rows(&mut self, data: &[f64], n: usize, f: usize, ys: &[f64]) -> Result<()> {
        estimator::check_rows(WHAT, n, ys.len())?;
        let gd = match self.config.solver {
            LinearSolver::Auto => n.saturating_mul(f) > GD_AUTO_ELEMENTS,
            LinearSolver::ClosedForm => false,
            LinearSolver::GradientDescent => true,
        };
        if gd {
            let c = &self.config;
            let sol = gradient_descent::solve(data, n, f, ys, c.alpha, c.tol, c.max_iter.max(1));
            self.coef = sol.coef;
            self.intercept = sol.intercept;
            self.rank = None;
            self.iterations = Some((sol.iterations, sol.converged));
            return Ok(());
        }
        self.iterations = None;
        let mut x_mean = vec![0.0; f];
        for row in data.chunks(f) {
            x_mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
        }
        x_mean.iter_mut().for_each(|m| *m /= n as f64);
        let y_mean = ys.iter().sum::<f64>() / n as f64;
        let xc = Mat::from_fn(n, f, |i, j| data[i * f + j] - x_mean[j]);
        let yc = Mat::from_fn(n, 1, |i, _| ys[i] - y_mean);
        if self.config.alpha > 0.0 {
            self.solve_ridge(&xc, &yc)?;
        } else {
            self.solve_ols(&xc, &yc)?;
        }
        self.intercept = y_mean - dot(&self.coef, &x_mean);
        Ok(())
    }

    /// Householder QR when the design is tall and clearly of full rank (about half the
    /// work of the SVD); otherwise the SVD's minimum-norm solution.
    fn solve_ols(&mut self, xc: &Mat<f64>, yc: &Mat<f64>) -> Result<()> {
        let (n, f) = (xc.nrows(), xc.ncols());
        if n >= 2 * f {
            let qr = xc.qr();
            let r = qr.thin_R();
            let diag: Vec<f64> = (0..f).map(|i| r[(i, i)].abs()).collect();
            let (lo, hi) = diag.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &d| {
                (lo.min(d), hi.max(d))
            });
            // |R_ii| bound the singular values loosely; a wide margin over the SVD's own
            // cutoff keeps near-collinear designs on the SVD path.
            if lo > 1e6 * f64::EPSILON * n as f64 * hi {
                let w = qr.solve_lstsq(yc);
                self.coef = (0..f).map(|i| w[(i, 0)]).collect();
                self.rank = Some(f);
                return Ok(());
            }
        }
        self.solve_ols_svd(xc, yc)
    }

    fn solve_ols_svd(&mut self, xc: &Mat<f64>, yc: &Mat<f64>) -> Result<()> {
        let svd = xc
            .thin_svd()
            .map_err(|e| Error::invalid(WHAT, format!("the SVD did not converge: {e:?}")))?;
        let s = svd.S().column_vector();
        let (u, v) = (svd.U(), svd.V());
        let smax = (0..s.nrows()).map(|i| s[i]).fold(0.0, f64::max);
        // Singular values below this are treated as zero (NumPy's lstsq default rcond).
        let cutoff = f64::EPSILON * xc.nrows().max(xc.ncols()) as f64 * smax;
        let uty = u.transpose() * yc;
        let mut w = vec![0.0; xc.ncols()];
        let mut rank = 0;
        for i in 0..s.nrows() {
            if s[i] > cutoff {
                rank += 1;
                let c = uty[(i, 0)] / s[i];
                for (j, wj) in w.iter_mut().enumerate() {
                    *wj += v[(j, i)] * c;
                }
            }
        }
        self.coef = w;
        self.rank = Some(rank);
        Ok(())
    }

    fn solve_ridge(&mut self, xc: &Mat<f64>, yc: &Mat<f64>) -> Result<()> {
        let mut gram = xc.transpose() * xc;
        for i in 0..gram.nrows() {
            gram[(i, i)] += self.config.alpha;
        }
        let rhs = xc.transpose() * yc;
        let llt = gram.llt(Side::Lower).map_err(|e| {
            Error::invalid(WHAT, format!("XᵀX + αI is not positive definite: {e:?}"))
        })?;
        let w = llt.solve(&rhs);
        self.coef = (0..w.nrows()).map(|i| w[(i, 0)]).collect();
        self.rank = None;
        Ok(())
    }
}

impl Estimator for LinearRegression {
    fn name(&self) -> &'static str {
        "linear"
    }

    fn kind(&self) -> EstimatorKind {
        EstimatorKind::Regressor
    }

    fn fit(&mut self, x: &Tensor, y: &Tensor) -> Result<()> {
        if !(self.config.alpha >= 0.0 && self.config.alpha.is_finite()) {
            return Err(Error::invalid(
                WHAT,
                format!("alpha must be ≥ 0, got {}", self.config.alpha),
            ));
        }
        let ys = estimator::values(y, WHAT)?;
        // Borrows an f64 tensor's storage; the only copy is the centred design.
        estimator::with_matrix(x, WHAT, |data, n, f| self.fit_rows(data, n, f, &ys))
    }

    fn predict(&self, x: &Tensor) -> Result<Tensor> {
        if self.coef.is_empty() {
            return Err(Error::invalid(
                WHAT,
                "the model is not fitted: call fit first",
            ));
        }
        // Borrows an f64 tensor's storage: predicting is one read of the data.
        let pred = estimator::with_matrix(x, WHAT, |data, _, f| {
            if f != self.coef.len() {
                return Err(Error::invalid(
                    WHAT,
                    format!("fitted on {} features, got {f}", self.coef.len()),
                ));
            }
            Ok(data
                .par_chunks(f)
                .map(|row| dot(row, &self.coef) + self.intercept)
                .collect::<Vec<f64>>())
        })?;
        let n = pred.len();
        Ok(Tensor::from_vec(pred, &[n])?)
    }

    fn to_parts(&self) -> Result<Parts> {
        let n = self.coef.len();
        Ok(Parts {
            params: estimator::params_to(
                &Saved {
                    config: self.config.clone(),
                    intercept: self.intercept,
                    rank: self.rank,
                },
                WHAT,
            )?,
            tensors: vec![("coef".into(), Tensor::from_vec(self.coef.clone(), &[n])?)],
        })
    }
}

/// `Σ aᵢ bᵢ` in four independent lanes (the additions pipeline and vectorize).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    acc[0] + acc[1] + acc[2] + acc[3] + tail
}
