//! Lasso and elastic net by cyclic coordinate descent, on scikit-learn's objective
//! `1/(2n)·‖y − Xw − b‖² + α·ρ·‖w‖₁ + ½·α·(1 − ρ)·‖w‖²` (ρ = `l1_ratio`), stopping on the
//! duality gap as `sklearn.linear_model.ElasticNet` does. X and y are centred first, so the
//! intercept is not penalized.

use serde::{Deserialize, Serialize};
use zhixing_tensor::Tensor;

use crate::error::{Error, Result};
use crate::estimator::{self, Estimator, EstimatorKind, Parts};

const WHAT: &str = "elastic net";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ElasticNetConfig {
    pub alpha: f64,
    /// 1: lasso, 0: ridge, between: elastic net.
    pub l1_ratio: f64,
    pub max_iter: usize,
    /// The duality gap, relative to ‖y‖²/n, at which to stop.
    pub tol: f64,
}

impl Default for ElasticNetConfig {
    fn default() -> Self {
        ElasticNetConfig {
            alpha: 1.0,
            l1_ratio: 0.5,
            max_iter: 10_000,
            tol: 1e-4,
        }
    }
}

impl ElasticNetConfig {
    pub fn lasso(alpha: f64) -> Self {
        ElasticNetConfig {
            alpha,
            l1_ratio: 1.0,
            ..Default::default()
        }
    }
}

/// A fitted or unfitted elastic-net (or lasso) regressor.
#[derive(Clone, Debug, Default)]
pub struct ElasticNet {
    pub config: ElasticNetConfig,
    coef: Vec<f64>,
    intercept: f64,
    iterations: usize,
    gap: f64,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    config: ElasticNetConfig,
    intercept: f64,
    iterations: usize,
    gap: f64,
}

fn soft_threshold(x: f64, t: f64) -> f64 {
    if x > t {
        x - t
    } else if x < -t {
        x + t
    } else {
        0.0
    }
}

impl ElasticNet {
    pub fn new(config: ElasticNetConfig) -> Self {
        ElasticNet {
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

    /// Coordinate-descent sweeps of the last fit and the final duality gap.
    pub fn convergence(&self) -> (usize, f64) {
        (self.iterations, self.gap)
    }

    pub fn from_parts(parts: &Parts) -> Result<Self> {
        let saved: Saved = estimator::params_from(parts, WHAT)?;
        Ok(ElasticNet {
            config: saved.config,
            coef: parts.tensor("coef")?.to_vec::<f64>()?,
            intercept: saved.intercept,
            iterations: saved.iterations,
            gap: saved.gap,
        })
    }

    fn check(&self) -> Result<()> {
        let c = &self.config;
        if !(c.alpha >= 0.0 && c.alpha.is_finite()) {
            return Err(Error::invalid(
                WHAT,
                format!("alpha must be ≥ 0, got {}", c.alpha),
            ));
        }
        if !(0.0..=1.0).contains(&c.l1_ratio) {
            return Err(Error::invalid(
                WHAT,
                format!("l1_ratio must be in [0, 1], got {}", c.l1_ratio),
            ));
        }
        Ok(())
    }
}

/// Column-major centred design, for cache-friendly coordinate updates.
struct Design {
    cols: Vec<Vec<f64>>,
    norms: Vec<f64>,
}

impl Estimator for ElasticNet {
    fn name(&self) -> &'static str {
        "elastic_net"
    }

    fn kind(&self) -> EstimatorKind {
        EstimatorKind::Regressor
    }

    fn fit(&mut self, x: &Tensor, y: &Tensor) -> Result<()> {
        self.check()?;
        let (data, n, f) = estimator::matrix(x, WHAT)?;
        let ys = estimator::values(y, WHAT)?;
        estimator::check_rows(WHAT, n, ys.len())?;
        let x_mean: Vec<f64> = (0..f)
            .map(|j| (0..n).map(|i| data[i * f + j]).sum::<f64>() / n as f64)
            .collect();
        let y_mean = ys.iter().sum::<f64>() / n as f64;
        let cols: Vec<Vec<f64>> = (0..f)
            .map(|j| (0..n).map(|i| data[i * f + j] - x_mean[j]).collect())
            .collect();
        let norms = cols.iter().map(|c| c.iter().map(|v| v * v).sum()).collect();
        let design = Design { cols, norms };
        let mut residual: Vec<f64> = ys.iter().map(|v| v - y_mean).collect();
        let (w, iterations, gap) = self.descend(&design, &mut residual, n);
        self.intercept = y_mean - w.iter().zip(&x_mean).map(|(a, b)| a * b).sum::<f64>();
        self.coef = w;
        self.iterations = iterations;
        self.gap = gap;
        Ok(())
    }

    fn predict(&self, x: &Tensor) -> Result<Tensor> {
        if self.coef.is_empty() {
            return Err(Error::invalid(
                WHAT,
                "the model is not fitted: call fit first",
            ));
        }
        let (data, n, f) = estimator::matrix(x, WHAT)?;
        if f != self.coef.len() {
            return Err(Error::invalid(
                WHAT,
                format!("fitted on {} features, got {f}", self.coef.len()),
            ));
        }
        let pred: Vec<f64> = data
            .chunks(f)
            .map(|r| r.iter().zip(&self.coef).map(|(a, b)| a * b).sum::<f64>() + self.intercept)
            .collect();
        Ok(Tensor::from_vec(pred, &[n])?)
    }

    fn to_parts(&self) -> Result<Parts> {
        let saved = Saved {
            config: self.config.clone(),
            intercept: self.intercept,
            iterations: self.iterations,
            gap: self.gap,
        };
        Ok(Parts {
            params: estimator::params_to(&saved, WHAT)?,
            tensors: vec![(
                "coef".into(),
                Tensor::from_vec(self.coef.clone(), &[self.coef.len()])?,
            )],
        })
    }
}

impl ElasticNet {
    /// Cyclic coordinate descent on `residual = y − Xw` (updated in place); returns
    /// (w, sweeps, duality gap).
    fn descend(&self, d: &Design, residual: &mut [f64], n: usize) -> (Vec<f64>, usize, f64) {
        let f = d.cols.len();
        let nf = n as f64;
        // In sum-of-squares units (scikit-learn's internal scaling): l1 = α·ρ·n, l2 = α·(1−ρ)·n.
        let l1 = self.config.alpha * self.config.l1_ratio * nf;
        let l2 = self.config.alpha * (1.0 - self.config.l1_ratio) * nf;
        let y_norm2: f64 = residual.iter().map(|r| r * r).sum();
        let tol = self.config.tol * y_norm2;
        let mut w = vec![0.0; f];
        let mut gap = f64::INFINITY;
        for sweep in 1..=self.config.max_iter.max(1) {
            let (mut w_max, mut d_max) = (0.0f64, 0.0f64);
            for ((col, &norm), wj) in d.cols.iter().zip(&d.norms).zip(w.iter_mut()) {
                if norm == 0.0 {
                    continue;
                }
                let old = *wj;
                // ρ_j = x_jᵀ(r + x_j·w_j)
                let rho: f64 = col
                    .iter()
                    .zip(residual.iter())
                    .map(|(a, r)| a * r)
                    .sum::<f64>()
                    + norm * old;
                let new = soft_threshold(rho, l1) / (norm + l2);
                if new != old {
                    let delta = new - old;
                    residual
                        .iter_mut()
                        .zip(col)
                        .for_each(|(r, a)| *r -= delta * a);
                    *wj = new;
                }
                d_max = d_max.max((new - old).abs());
                w_max = w_max.max(new.abs());
            }
            // Cheap test first (as scikit-learn): only compute the gap when updates are small.
            if w_max == 0.0 || d_max / w_max < self.config.tol || sweep == self.config.max_iter {
                gap = duality_gap(d, residual, &w, l1, l2);
                if gap < tol {
                    return (w, sweep, gap / nf);
                }
            }
        }
        (w, self.config.max_iter, gap / nf)
    }
}

/// The elastic-net duality gap (Friedman et al.; scikit-learn's `enet_coordinate_descent`).
fn duality_gap(d: &Design, r: &[f64], w: &[f64], l1: f64, l2: f64) -> f64 {
    let xtr: Vec<f64> = d
        .cols
        .iter()
        .zip(w)
        .map(|(c, wj)| c.iter().zip(r).map(|(a, b)| a * b).sum::<f64>() - l2 * wj)
        .collect();
    let dual_norm = xtr.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let r_norm2: f64 = r.iter().map(|v| v * v).sum();
    let w_norm2: f64 = w.iter().map(|v| v * v).sum();
    let (const_, mut gap) = if dual_norm > l1 {
        let c = l1 / dual_norm;
        (c, 0.5 * r_norm2 * (1.0 + c * c))
    } else {
        (1.0, r_norm2)
    };
    let ry: f64 = {
        // rᵀy = rᵀ(r + Xw)
        let xw_r: f64 = d
            .cols
            .iter()
            .zip(w)
            .map(|(c, wj)| wj * c.iter().zip(r).map(|(a, b)| a * b).sum::<f64>())
            .sum();
        r_norm2 + xw_r
    };
    let l1_norm: f64 = w.iter().map(|v| v.abs()).sum();
    gap += l1 * l1_norm - const_ * ry + 0.5 * l2 * (1.0 + const_ * const_) * w_norm2;
    gap
}
