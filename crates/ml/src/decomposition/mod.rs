//! Principal component analysis ([`PCA`]), fitted through `faer`: an eigen-decomposition
//! of the covariance matrix when there are many more samples than features (at least 10×,
//! ≤ 1000 features), a thin SVD of the centered data otherwise — scikit-learn's `auto`
//! choice. Components carry scikit-learn's sign convention (`svd_flip` on the
//! components: each one's largest-magnitude entry is positive), so they match it.
//!
//! ```
//! use zhixing_ml::decomposition::{PCA, PcaConfig};
//! use zhixing_tensor::Tensor;
//! let x = Tensor::from_vec(vec![1.0, 2.0, 2.0, 4.1, 3.0, 5.9, 4.0, 8.0], &[4, 2]).unwrap();
//! let mut pca = PCA::new(PcaConfig { n_components: Some(1), ..Default::default() });
//! pca.fit(&x).unwrap();
//! assert!(pca.explained_variance_ratio().unwrap()[0] > 0.99);
//! ```

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par, Side};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use zhixing_tensor::Tensor;

use crate::error::{Error, Result};
use crate::estimator::{self, Parts};

const WHAT: &str = "PCA";

/// How the decomposition is computed (the result is the same up to rounding).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PcaSolver {
    /// `covariance_eigh` when `n_samples ≥ 10 · n_features` and `n_features ≤ 1000`,
    /// `full` otherwise.
    #[default]
    Auto,
    /// Eigen-decomposition of the `[F, F]` covariance matrix: fast for tall data.
    CovarianceEigh,
    /// Thin SVD of the centered `[N, F]` data.
    Full,
}

/// Hyperparameters.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PcaConfig {
    /// Components kept; `None` keeps `min(n_samples, n_features)`.
    pub n_components: Option<usize>,
    pub solver: PcaSolver,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Fitted {
    n_samples: usize,
    n_features: usize,
    n_components: usize,
    explained_variance: Vec<f64>,
    explained_variance_ratio: Vec<f64>,
    singular_values: Vec<f64>,
    noise_variance: f64,
    #[serde(skip)]
    mean: Vec<f64>,
    /// `[n_components, F]`, row-major.
    #[serde(skip)]
    components: Vec<f64>,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    config: PcaConfig,
    fitted: Fitted,
}

/// Principal component analysis (linear dimensionality reduction, centered, not whitened).
#[allow(clippy::upper_case_acronyms)]
#[derive(Clone, Debug)]
pub struct PCA {
    pub config: PcaConfig,
    fitted: Option<Fitted>,
}

impl PCA {
    /// The name a saved PCA carries.
    pub const NAME: &'static str = "pca";

    pub fn new(config: PcaConfig) -> Self {
        PCA {
            config,
            fitted: None,
        }
    }

    /// Fits on the rows of `x` `[N, F]` (N ≥ 2).
    pub fn fit(&mut self, x: &Tensor) -> Result<()> {
        let fitted =
            estimator::with_matrix(x, WHAT, |data, n, f| fit_data(&self.config, data, n, f))?;
        self.fitted = Some(fitted);
        Ok(())
    }

    /// `fit`, then `transform` of the same rows.
    pub fn fit_transform(&mut self, x: &Tensor) -> Result<Tensor> {
        self.fit(x)?;
        self.transform(x)
    }

    fn fitted(&self) -> Result<&Fitted> {
        self.fitted
            .as_ref()
            .ok_or_else(|| Error::invalid(WHAT, "the model is not fitted: call fit first"))
    }

    /// Projections `(x − mean) · componentsᵀ`, f64 `[N, n_components]`.
    pub fn transform(&self, x: &Tensor) -> Result<Tensor> {
        let fit = self.fitted()?;
        let k = fit.n_components;
        let out = estimator::with_matrix(x, WHAT, |data, _, f| {
            if f != fit.n_features {
                return Err(Error::invalid(
                    WHAT,
                    format!("fitted on {} features, got {f}", fit.n_features),
                ));
            }
            let comps = MatRef::from_row_major_slice(&fit.components, k, f);
            Ok(rows_times(data, f, Some(&fit.mean), comps.transpose()))
        })?;
        estimator::tensor2(out, x.shape()[0], k)
    }

    /// Back to feature space: `z · components + mean`, f64 `[N, F]` (exact with all
    /// components, the best rank-k approximation otherwise).
    pub fn inverse_transform(&self, z: &Tensor) -> Result<Tensor> {
        let fit = self.fitted()?;
        let f = fit.n_features;
        let mut out = estimator::with_matrix(z, WHAT, |data, _, k| {
            if k != fit.n_components {
                return Err(Error::invalid(
                    WHAT,
                    format!(
                        "fitted with {} components, got {k} columns",
                        fit.n_components
                    ),
                ));
            }
            let comps = MatRef::from_row_major_slice(&fit.components, k, f);
            Ok(rows_times(data, k, None, comps))
        })?;
        out.par_chunks_mut(f)
            .for_each(|r| r.iter_mut().zip(&fit.mean).for_each(|(v, m)| *v += m));
        estimator::tensor2(out, z.shape()[0], f)
    }

    /// Principal axes, f64 `[n_components, F]`, by decreasing explained variance.
    pub fn components(&self) -> Result<Tensor> {
        let fit = self.fitted()?;
        estimator::tensor2(fit.components.clone(), fit.n_components, fit.n_features)
    }

    /// Per-feature training means.
    pub fn mean(&self) -> Result<&[f64]> {
        Ok(&self.fitted()?.mean)
    }

    /// Variance along each component (sample variance, `n − 1` in the denominator).
    pub fn explained_variance(&self) -> Result<&[f64]> {
        Ok(&self.fitted()?.explained_variance)
    }

    /// Fraction of the total variance along each component.
    pub fn explained_variance_ratio(&self) -> Result<&[f64]> {
        Ok(&self.fitted()?.explained_variance_ratio)
    }

    /// Singular values of the centered training data.
    pub fn singular_values(&self) -> Result<&[f64]> {
        Ok(&self.fitted()?.singular_values)
    }

    /// Mean variance of the discarded components (probabilistic PCA's noise; 0 when all
    /// are kept).
    pub fn noise_variance(&self) -> Result<f64> {
        Ok(self.fitted()?.noise_variance)
    }

    pub fn n_components(&self) -> Result<usize> {
        Ok(self.fitted()?.n_components)
    }

    /// The fitted state, for saving: mean and components as tensors, the rest as JSON.
    pub fn to_parts(&self) -> Result<Parts> {
        let fit = self.fitted()?;
        let saved = Saved {
            config: self.config.clone(),
            fitted: fit.clone(),
        };
        Ok(Parts {
            params: estimator::params_to(&saved, WHAT)?,
            tensors: vec![
                (
                    "mean".into(),
                    Tensor::from_vec(fit.mean.clone(), &[fit.n_features])?,
                ),
                ("components".into(), self.components()?),
            ],
        })
    }

    pub fn from_parts(parts: &Parts) -> Result<Self> {
        let saved: Saved = estimator::params_from(parts, WHAT)?;
        let mut fit = saved.fitted;
        let (k, f) = (fit.n_components, fit.n_features);
        let mean = values_of(parts, "mean", &[f])?;
        let components = values_of(parts, "components", &[k, f])?;
        if fit.explained_variance.len() != k
            || fit.explained_variance_ratio.len() != k
            || fit.singular_values.len() != k
        {
            return Err(Error::invalid(
                WHAT,
                "saved variances do not match the saved shape",
            ));
        }
        fit.mean = mean;
        fit.components = components;
        Ok(PCA {
            config: saved.config,
            fitted: Some(fit),
        })
    }
}

fn values_of(parts: &Parts, name: &str, shape: &[usize]) -> Result<Vec<f64>> {
    let t = parts.tensor(name)?;
    if t.shape() != shape {
        return Err(Error::invalid(
            WHAT,
            format!(
                "saved `{name}` has shape {:?}, expected {shape:?}",
                t.shape()
            ),
        ));
    }
    let v = t
        .to_dtype(zhixing_tensor::DType::F64)?
        .contiguous()?
        .to_vec::<f64>()?;
    crate::error::finite(WHAT, &v)?;
    Ok(v)
}

/// Rows per block of the products below.
const ROWS: usize = 512;

/// `(a − mean) · b` for row-major `a` `[n, f]` and `b` `[f, k]` (no centering without
/// `mean`): row-major `[n, k]`. Blocks of rows run in parallel, each centered in a small
/// buffer and multiplied by a sequential GEMM (faer's own threading splits the output,
/// which is narrow here).
fn rows_times(a: &[f64], f: usize, mean: Option<&[f64]>, b: MatRef<'_, f64>) -> Vec<f64> {
    let (n, k) = (a.len() / f, b.ncols());
    let mut out = vec![0.0; n * k];
    out.par_chunks_mut(ROWS * k)
        .zip(a.par_chunks(ROWS * f))
        .for_each_init(Vec::new, |buf, (o, ab)| {
            let rows = ab.len() / f;
            let lhs = match mean {
                Some(m) => centered(ab, m, buf),
                None => ab,
            };
            matmul(
                MatMut::from_row_major_slice_mut(o, rows, k),
                Accum::Replace,
                MatRef::from_row_major_slice(lhs, rows, f),
                b,
                1.0,
                Par::Seq,
            );
        });
    out
}

/// `block − mean` (row-wise) in `buf`.
fn centered<'a>(block: &[f64], mean: &[f64], buf: &'a mut Vec<f64>) -> &'a [f64] {
    buf.clear();
    buf.extend_from_slice(block);
    for r in buf.chunks_mut(mean.len()) {
        r.iter_mut().zip(mean).for_each(|(v, m)| *v -= m);
    }
    buf
}

/// At most 16 row ranges of `x` `[n, f]` (at least `ROWS` rows each), for reductions
/// whose partial results are added in order: the same result on any number of threads.
fn ranges(x: &[f64], n: usize, f: usize) -> rayon::slice::Chunks<'_, f64> {
    x.par_chunks(n.div_ceil(16).max(ROWS) * f)
}

/// Per-feature means of `x` `[n, f]`.
fn column_means(x: &[f64], n: usize, f: usize) -> Vec<f64> {
    let parts: Vec<Vec<f64>> = ranges(x, n, f)
        .map(|xb| {
            let mut s = vec![0.0; f];
            xb.chunks(f)
                .for_each(|r| s.iter_mut().zip(r).for_each(|(a, v)| *a += v));
            s
        })
        .collect();
    let mut mean = vec![0.0; f];
    for p in parts {
        mean.iter_mut().zip(&p).for_each(|(a, v)| *a += v);
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    mean
}

/// `(x − mean)ᵀ (x − mean) · scale` for row-major `x` `[n, f]`, centering block by block.
fn centered_gram(x: &[f64], n: usize, f: usize, mean: &[f64], scale: f64) -> Mat<f64> {
    let parts: Vec<Mat<f64>> = ranges(x, n, f)
        .map(|xr| {
            let mut g = Mat::<f64>::zeros(f, f);
            let mut buf = Vec::new();
            for (i, xb) in xr.chunks(ROWS * f).enumerate() {
                let xb =
                    MatRef::from_row_major_slice(centered(xb, mean, &mut buf), xb.len() / f, f);
                let acc = if i == 0 { Accum::Replace } else { Accum::Add };
                matmul(g.as_mut(), acc, xb.transpose(), xb, scale, Par::Seq);
            }
            g
        })
        .collect();
    let mut parts = parts.into_iter();
    let mut total = parts.next().expect("n ≥ 1");
    for p in parts {
        total += p;
    }
    total
}

fn fit_data(c: &PcaConfig, x: &[f64], n: usize, f: usize) -> Result<Fitted> {
    if n < 2 {
        return Err(Error::TooFew {
            what: WHAT,
            needed: 2,
            got: n,
        });
    }
    let max = n.min(f);
    let k = c.n_components.unwrap_or(max);
    if k == 0 || k > max {
        return Err(Error::invalid(
            WHAT,
            format!(
                "n_components = {k} but the data ({n} samples × {f} features) have at most \
                 {max}: choose 1..={max}"
            ),
        ));
    }
    let mean = column_means(x, n, f);
    let eigh = match c.solver {
        PcaSolver::Auto => f <= 1000 && n >= 10 * f,
        PcaSolver::CovarianceEigh => true,
        PcaSolver::Full => false,
    };
    let fail = |e: &dyn std::fmt::Debug| {
        Error::undefined(WHAT, format!("the decomposition did not converge ({e:?})"))
    };
    // Variances (all of them, decreasing) and the matching axes as rows of `vt`.
    let (variance, singular, vt) = if eigh {
        let cov = centered_gram(x, n, f, &mean, 1.0 / (n - 1) as f64);
        let evd = cov.self_adjoint_eigen(Side::Lower).map_err(|e| fail(&e))?;
        let (u, s) = (evd.U(), evd.S().column_vector());
        let variance: Vec<f64> = (0..f).rev().map(|i| s[i].max(0.0)).collect();
        let singular = variance
            .iter()
            .map(|v| (v * (n - 1) as f64).sqrt())
            .collect();
        let vt: Vec<f64> = (0..f)
            .rev()
            .flat_map(|i| (0..f).map(move |j| u[(j, i)]))
            .collect();
        (variance, singular, vt)
    } else {
        let mut xc = Vec::new();
        centered(x, &mean, &mut xc);
        let svd = MatRef::from_row_major_slice(&xc, n, f)
            .thin_svd()
            .map_err(|e| fail(&e))?;
        let (v, s) = (svd.V(), svd.S().column_vector());
        let singular: Vec<f64> = (0..max).map(|i| s[i]).collect();
        let variance = singular.iter().map(|s| s * s / (n - 1) as f64).collect();
        let vt: Vec<f64> = (0..max)
            .flat_map(|i| (0..f).map(move |j| v[(j, i)]))
            .collect();
        (variance, singular, vt)
    };
    let total: f64 = variance.iter().sum();
    if total <= 0.0 {
        return Err(Error::undefined(
            WHAT,
            "every feature is constant: there is no variance to explain",
        ));
    }
    let mut components = vt[..k * f].to_vec();
    svd_flip(&mut components, f);
    let noise_variance = if k < max {
        variance[k..max].iter().sum::<f64>() / (max - k) as f64
    } else {
        0.0
    };
    Ok(Fitted {
        n_samples: n,
        n_features: f,
        n_components: k,
        explained_variance_ratio: variance[..k].iter().map(|v| v / total).collect(),
        explained_variance: variance[..k].to_vec(),
        singular_values: singular[..k].to_vec(),
        noise_variance,
        mean,
        components,
    })
}

/// scikit-learn's sign convention: each row's entry of largest magnitude (the first one
/// on ties) is made positive.
fn svd_flip(rows: &mut [f64], f: usize) {
    for r in rows.chunks_mut(f) {
        let mut best = 0;
        for (j, v) in r.iter().enumerate() {
            if v.abs() > r[best].abs() {
                best = j;
            }
        }
        if r[best] < 0.0 {
            r.iter_mut().for_each(|v| *v = -*v);
        }
    }
}
