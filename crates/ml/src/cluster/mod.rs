//! K-means clustering ([`KMeans`]): greedy k-means++ seeding, Lloyd iterations parallel
//! over samples, `n_init` seeded restarts keeping the lowest inertia — scikit-learn's
//! algorithm and defaults (except `n_init = 10` always). [`elbow`] gives the inertia for
//! several k.
//!
//! K-means is unsupervised, so it has its own API rather than [`crate::Estimator`]'s:
//! `fit(x)`, `predict(x)` (nearest centroid), `transform(x)` (distances to the centroids),
//! and `to_parts` / `from_parts` for saving (name [`KMeans::NAME`]).
//!
//! ```
//! use zhixing_ml::cluster::{KMeans, KMeansConfig};
//! use zhixing_tensor::Tensor;
//! let x = Tensor::from_vec(vec![0.0, 0.0, 0.2, 0.1, 9.0, 9.0, 9.1, 8.8], &[4, 2]).unwrap();
//! let mut km = KMeans::new(KMeansConfig { k: 2, ..Default::default() });
//! km.fit(&x).unwrap();
//! let l = km.labels().unwrap();
//! assert!(l[0] == l[1] && l[2] == l[3] && l[0] != l[2]);
//! ```

mod lloyd;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use zhixing_tensor::Tensor;

use crate::error::{Error, Result};
use crate::estimator::with_matrix;
use crate::estimator::{self, Parts};
use lloyd::Rng;

const WHAT: &str = "k-means";

/// Hyperparameters (scikit-learn's names and defaults; `seed` is `random_state`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KMeansConfig {
    /// Number of clusters (`n_clusters`).
    pub k: usize,
    /// Independent k-means++ / Lloyd runs; the one of lowest inertia is kept.
    pub n_init: usize,
    /// Lloyd iterations per run, at most.
    pub max_iter: usize,
    /// Convergence: total squared center shift ≤ `tol · mean feature variance`.
    pub tol: f64,
    pub seed: u64,
}

impl Default for KMeansConfig {
    fn default() -> Self {
        KMeansConfig {
            k: 8,
            n_init: 10,
            max_iter: 300,
            tol: 1e-4,
            seed: 0,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Fitted {
    n_features: usize,
    k: usize,
    inertia: f64,
    n_iter: usize,
    #[serde(skip)]
    centers: Vec<f64>,
    #[serde(skip)]
    labels: Vec<usize>,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    config: KMeansConfig,
    fitted: Fitted,
}

/// K-means clustering.
#[derive(Clone, Debug)]
pub struct KMeans {
    pub config: KMeansConfig,
    fitted: Option<Fitted>,
}

impl KMeans {
    /// The name a saved k-means model carries.
    pub const NAME: &'static str = "kmeans";

    pub fn new(config: KMeansConfig) -> Self {
        KMeans {
            config,
            fitted: None,
        }
    }

    /// Clusters the rows of `x` `[N, F]`.
    pub fn fit(&mut self, x: &Tensor) -> Result<()> {
        let (data, n, f) = estimator::matrix(x, WHAT)?;
        self.fitted = Some(fit_data(&self.config, data, n, f)?);
        Ok(())
    }

    /// `fit`, then the training labels (i64 `[N]`).
    pub fn fit_predict(&mut self, x: &Tensor) -> Result<Tensor> {
        self.fit(x)?;
        estimator::ids_tensor(self.labels()?)
    }

    fn fitted(&self) -> Result<&Fitted> {
        self.fitted
            .as_ref()
            .ok_or_else(|| Error::invalid(WHAT, "the model is not fitted: call fit first"))
    }

    /// Runs `body` on the rows of `x` `(x, n)`, checked against the fitted model.
    fn query<R>(
        &self,
        x: &Tensor,
        body: impl FnOnce(&Fitted, &[f64], usize) -> Result<R>,
    ) -> Result<R> {
        let fit = self.fitted()?;
        with_matrix(x, WHAT, |data, n, f| {
            if f != fit.n_features {
                return Err(Error::invalid(
                    WHAT,
                    format!("fitted on {} features, got {f}", fit.n_features),
                ));
            }
            body(fit, data, n)
        })
    }

    /// The nearest centroid of each row of `x` (i64 `[N]`).
    pub fn predict(&self, x: &Tensor) -> Result<Tensor> {
        let labels = self.query(x, |fit, data, _| {
            Ok(lloyd::nearest(data, fit.n_features, &fit.centers, fit.k))
        })?;
        estimator::ids_tensor(&labels)
    }

    /// Euclidean distances from each row of `x` to each centroid, f64 `[N, k]`.
    pub fn transform(&self, x: &Tensor) -> Result<Tensor> {
        let (out, n, k) = self.query(x, |fit, data, n| {
            let (f, k) = (fit.n_features, fit.k);
            let mut out = vec![0.0; n * k];
            out.par_chunks_mut(k)
                .zip(data.par_chunks(f))
                .for_each(|(o, r)| {
                    for (v, c) in o.iter_mut().zip(fit.centers.chunks(f)) {
                        *v = lloyd::sq_dist(r, c).sqrt();
                    }
                });
            Ok((out, n, k))
        })?;
        estimator::tensor2(out, n, k)
    }

    /// Minus the sum of squared distances of the rows of `x` to their nearest centroid
    /// (scikit-learn's `score`: higher is better).
    pub fn score(&self, x: &Tensor) -> Result<f64> {
        self.query(x, |fit, data, _| {
            let labels = lloyd::nearest(data, fit.n_features, &fit.centers, fit.k);
            Ok(-lloyd::inertia(data, fit.n_features, &fit.centers, &labels))
        })
    }

    /// Sum of squared distances of the training samples to their centroid.
    pub fn inertia(&self) -> Result<f64> {
        Ok(self.fitted()?.inertia)
    }

    /// Centroids, f64 `[k, F]`.
    pub fn cluster_centers(&self) -> Result<Tensor> {
        let fit = self.fitted()?;
        estimator::tensor2(fit.centers.clone(), fit.k, fit.n_features)
    }

    /// The cluster of each training sample.
    pub fn labels(&self) -> Result<&[usize]> {
        Ok(&self.fitted()?.labels)
    }

    /// Lloyd iterations of the kept run.
    pub fn n_iter(&self) -> Result<usize> {
        Ok(self.fitted()?.n_iter)
    }

    /// The fitted state, for saving: centroids and training labels as tensors.
    pub fn to_parts(&self) -> Result<Parts> {
        let fit = self.fitted()?;
        let saved = Saved {
            config: self.config.clone(),
            fitted: fit.clone(),
        };
        Ok(Parts {
            params: estimator::params_to(&saved, WHAT)?,
            tensors: vec![
                ("centers".into(), self.cluster_centers()?),
                ("labels".into(), estimator::ids_tensor(&fit.labels)?),
            ],
        })
    }

    pub fn from_parts(parts: &Parts) -> Result<Self> {
        let saved: Saved = estimator::params_from(parts, WHAT)?;
        let mut fit = saved.fitted;
        let (centers, k, f) = estimator::matrix(parts.tensor("centers")?, WHAT)?;
        if k != fit.k || f != fit.n_features {
            return Err(Error::invalid(
                WHAT,
                "saved centroids do not match the saved shape",
            ));
        }
        let labels = estimator::class_ids(parts.tensor("labels")?, WHAT)?;
        if labels.iter().any(|&l| l >= k) {
            return Err(Error::invalid(
                WHAT,
                "a saved label exceeds the number of clusters",
            ));
        }
        fit.centers = centers;
        fit.labels = labels;
        Ok(KMeans {
            config: saved.config,
            fitted: Some(fit),
        })
    }
}

fn check_config(c: &KMeansConfig, n: usize) -> Result<()> {
    if c.k == 0 {
        return Err(Error::invalid(
            WHAT,
            "k (the number of clusters) must be at least 1",
        ));
    }
    if c.k > n {
        return Err(Error::invalid(
            WHAT,
            format!(
                "k = {} clusters but only {n} samples: lower k or add samples",
                c.k
            ),
        ));
    }
    if c.n_init == 0 || c.max_iter == 0 {
        return Err(Error::invalid(
            WHAT,
            "n_init and max_iter must be at least 1",
        ));
    }
    if !(c.tol >= 0.0 && c.tol.is_finite()) {
        return Err(Error::invalid(
            WHAT,
            format!("tol must be ≥ 0, got {}", c.tol),
        ));
    }
    Ok(())
}

/// Per-feature means of `x` `[n, f]`, and `x` minus them.
fn center(mut x: Vec<f64>, n: usize, f: usize) -> (Vec<f64>, Vec<f64>) {
    let mut mean = vec![0.0; f];
    x.chunks(f)
        .for_each(|r| mean.iter_mut().zip(r).for_each(|(m, v)| *m += v));
    mean.iter_mut().for_each(|m| *m /= n as f64);
    x.par_chunks_mut(f)
        .for_each(|r| r.iter_mut().zip(&mean).for_each(|(v, m)| *v -= m));
    (x, mean)
}

/// Fits on checked row-major data.
fn fit_data(c: &KMeansConfig, data: Vec<f64>, n: usize, f: usize) -> Result<Fitted> {
    check_config(c, n)?;
    // Centered data, as scikit-learn, for accurate distances; the tolerance is relative
    // to the mean feature variance.
    let (x, mean) = center(data, n, f);
    let mean_var = x.iter().map(|v| v * v).sum::<f64>() / (n * f) as f64;
    let tol = c.tol * mean_var;
    let mut master = Rng::new(c.seed);
    let seeds: Vec<u64> = (0..c.n_init).map(|_| master.next_u64()).collect();
    let runs: Vec<lloyd::Run> = seeds
        .par_iter()
        .map(|&s| {
            let mut rng = Rng::new(s);
            let init = lloyd::kmeans_plusplus(&x, n, f, c.k, &mut rng);
            let centers: Vec<f64> = init
                .iter()
                .flat_map(|&i| x[i * f..(i + 1) * f].iter().copied())
                .collect();
            lloyd::lloyd(&x, n, f, centers, c.max_iter, tol)
        })
        .collect();
    let best = runs
        .into_iter()
        .reduce(|a, b| if b.inertia < a.inertia { b } else { a })
        .expect("n_init ≥ 1");
    let mut centers = best.centers;
    centers
        .chunks_mut(f)
        .for_each(|r| r.iter_mut().zip(&mean).for_each(|(v, m)| *v += m));
    Ok(Fitted {
        n_features: f,
        k: c.k,
        inertia: best.inertia,
        n_iter: best.n_iter,
        centers,
        labels: best.labels,
    })
}

/// The k-means++ seeds (indices of samples of `x` `[N, F]`) that a run seeded with `seed`
/// starts from.
pub fn kmeans_plusplus(x: &Tensor, k: usize, seed: u64) -> Result<Vec<usize>> {
    let (data, n, f) = estimator::matrix(x, WHAT)?;
    check_config(
        &KMeansConfig {
            k,
            ..Default::default()
        },
        n,
    )?;
    Ok(lloyd::kmeans_plusplus(&data, n, f, k, &mut Rng::new(seed)))
}

/// `(k, inertia)` of a k-means fit for each k in `ks` (the other settings from `config`),
/// to look for the "elbow" where more clusters stop paying off.
pub fn elbow(x: &Tensor, ks: &[usize], config: &KMeansConfig) -> Result<Vec<(usize, f64)>> {
    let (data, n, f) = estimator::matrix(x, WHAT)?;
    ks.iter()
        .map(|&k| {
            let c = KMeansConfig {
                k,
                ..config.clone()
            };
            Ok((k, fit_data(&c, data.clone(), n, f)?.inertia))
        })
        .collect()
}
