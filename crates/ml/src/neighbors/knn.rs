//! The two k-nearest-neighbour estimators over one shared core (the training rows, their
//! search index and the configuration they were fitted with).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use zhixing_tensor::{DType, Tensor};

use super::search::Index;
use super::{Algorithm, KnnConfig, Metric, Weights};
use crate::error::{Error, Result};
use crate::estimator::argmax;
use crate::estimator::with_matrix;
use crate::estimator::{self, Estimator, EstimatorKind, Parts};

const WHAT_C: &str = "k-nearest-neighbours classifier";
const WHAT_R: &str = "k-nearest-neighbours regressor";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Task {
    Classifier,
    Regressor,
}

/// The saved parameters of either estimator.
#[derive(Serialize, Deserialize)]
struct Saved {
    task: Task,
    config: KnnConfig,
    n_samples: usize,
    n_features: usize,
    /// Classifier only.
    #[serde(default)]
    n_classes: usize,
}

/// Which estimator a saved `"knn"` model is.
pub(crate) fn saved_task(parts: &Parts) -> Result<Task> {
    #[derive(Deserialize)]
    struct TaskOnly {
        task: Task,
    }
    let t: TaskOnly = estimator::params_from(parts, "k-nearest neighbours")?;
    Ok(t.task)
}

/// `x` checked (2-D, non-empty, finite) as an f64 contiguous tensor: the caller's own
/// storage when it already is one (no copy, as scikit-learn keeps a reference), else a
/// converted copy.
fn training_rows(x: &Tensor, what: &'static str) -> Result<Tensor> {
    estimator::with_matrix(x, what, |_, _, _| Ok(()))?;
    Ok(x.to_dtype(DType::F64)?.contiguous()?.detach())
}

/// Training rows and their search index, with the configuration used to fit them.
#[derive(Clone, Debug)]
struct Core {
    config: KnnConfig,
    index: Index,
}

impl Core {
    /// `rows`: the training rows, f64 `[n, f]`, contiguous, checked finite.
    fn new(config: &KnnConfig, rows: Tensor, what: &'static str) -> Result<Core> {
        let n = rows.shape()[0];
        if config.k == 0 {
            return Err(Error::invalid(what, "k must be at least 1"));
        }
        if config.k > n {
            return Err(Error::invalid(
                what,
                format!(
                    "k = {} neighbours but only {n} training samples: lower k or add samples",
                    config.k
                ),
            ));
        }
        if config.algorithm == Algorithm::KdTree && config.metric == Metric::Cosine {
            return Err(Error::invalid(
                what,
                "the KD-tree supports the euclidean and manhattan metrics; use algorithm \
                 `auto` or `brute` for cosine",
            ));
        }
        let index = Index::new(rows, config.metric, config.algorithm)?;
        Ok(Core {
            config: config.clone(),
            index,
        })
    }

    /// Neighbour distances and indices `[nq, k]` of the rows of `x`, and `nq`.
    fn neighbours(&self, x: &Tensor, what: &'static str) -> Result<(Vec<f64>, Vec<usize>, usize)> {
        with_matrix(x, what, |q, nq, f| {
            if f != self.index.f {
                return Err(Error::invalid(
                    what,
                    format!("fitted on {} features, got {f}", self.index.f),
                ));
            }
            let (d, i) = self.index.query(q, nq, self.config.k)?;
            Ok((d, i, nq))
        })
    }

    fn kneighbors(&self, x: &Tensor, what: &'static str) -> Result<(Tensor, Tensor)> {
        let (d, i, nq) = self.neighbours(x, what)?;
        let k = self.config.k;
        let i: Vec<i64> = i.into_iter().map(|v| v as i64).collect();
        Ok((
            estimator::tensor2(d, nq, k)?,
            Tensor::from_vec(i, &[nq, k])?,
        ))
    }

    fn saved(&self, task: Task, n_classes: usize) -> Saved {
        Saved {
            task,
            config: self.config.clone(),
            n_samples: self.index.n,
            n_features: self.index.f,
            n_classes,
        }
    }

    /// The core of a saved model and its targets tensor.
    fn from_parts<'a>(
        parts: &'a Parts,
        task: Task,
        what: &'static str,
    ) -> Result<(Core, Saved, &'a Tensor)> {
        let saved: Saved = estimator::params_from(parts, what)?;
        if saved.task != task {
            return Err(Error::invalid(
                what,
                format!("the saved model is a k-nearest-neighbours {:?}", saved.task),
            ));
        }
        let x = training_rows(parts.tensor("x")?, what)?;
        let (n, f) = (x.shape()[0], x.shape()[1]);
        let y = parts.tensor("y")?;
        if n != saved.n_samples || f != saved.n_features || y.shape() != [n] {
            return Err(Error::invalid(
                what,
                "saved training data do not match the saved shape",
            ));
        }
        Ok((Core::new(&saved.config, x, what)?, saved, y))
    }

    fn x_tensor(&self) -> Result<Tensor> {
        Ok(self.index.rows().clone())
    }
}

/// The neighbours' weights for one query row (`dist` increasing).
#[inline]
fn row_weights(dist: &[f64], weights: Weights, out: &mut [f64]) {
    match weights {
        Weights::Uniform => out.iter_mut().for_each(|w| *w = 1.0),
        Weights::Distance => {
            // As scikit-learn: 1/d, unless some neighbour is at distance 0 (1/d = ∞);
            // then those neighbours weigh 1 and the others 0.
            let exact = dist.iter().any(|&d| (1.0 / d).is_infinite());
            for (w, &d) in out.iter_mut().zip(dist) {
                *w = if exact {
                    ((1.0 / d).is_infinite()) as u8 as f64
                } else {
                    1.0 / d
                };
            }
        }
    }
}

fn not_fitted(what: &'static str) -> Error {
    Error::invalid(what, "the model is not fitted: call fit first")
}

/// k-nearest-neighbour classification: the class with the largest (weighted) vote among
/// the k nearest training samples; ties go to the lower class id.
#[derive(Clone, Debug)]
pub struct KNeighborsClassifier {
    /// Used by the next `fit`; a fitted model keeps the configuration it was fitted with.
    pub config: KnnConfig,
    fitted: Option<(Core, Vec<usize>, usize)>,
}

impl KNeighborsClassifier {
    pub fn new(config: KnnConfig) -> Self {
        KNeighborsClassifier {
            config,
            fitted: None,
        }
    }

    fn fitted(&self) -> Result<(&Core, &[usize], usize)> {
        let (c, y, k) = self.fitted.as_ref().ok_or_else(|| not_fitted(WHAT_C))?;
        Ok((c, y, *k))
    }

    /// Whether the fitted model searches with a KD-tree (else brute force).
    pub fn uses_kd_tree(&self) -> Result<bool> {
        Ok(self.fitted()?.0.index.uses_tree())
    }

    /// Distances (f64 `[N, k]`, increasing) and training indices (i64 `[N, k]`) of the k
    /// nearest training samples of each row of `x`.
    pub fn kneighbors(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.fitted()?.0.kneighbors(x, WHAT_C)
    }

    /// Class probabilities, row-major `[N, K]`.
    fn probabilities(&self, x: &Tensor) -> Result<(Vec<f64>, usize, usize)> {
        let (core, y, nc) = self.fitted()?;
        let (dist, idx, nq) = core.neighbours(x, WHAT_C)?;
        let k = core.config.k;
        let weights = core.config.weights;
        let mut out = vec![0.0; nq * nc];
        out.par_chunks_mut(nc)
            .zip(dist.par_chunks(k).zip(idx.par_chunks(k)))
            .for_each_init(
                || vec![0.0; k],
                |w, (p, (d, i))| {
                    row_weights(d, weights, w);
                    for (&wj, &ij) in w.iter().zip(i) {
                        p[y[ij]] += wj;
                    }
                    let total: f64 = p.iter().sum();
                    if total > 0.0 {
                        p.iter_mut().for_each(|v| *v /= total);
                    }
                },
            );
        Ok((out, nq, nc))
    }

    pub fn from_parts(parts: &Parts) -> Result<Self> {
        let (core, saved, y) = Core::from_parts(parts, Task::Classifier, WHAT_C)?;
        let y = estimator::class_ids(y, WHAT_C)?;
        if y.iter().any(|&c| c >= saved.n_classes) {
            return Err(Error::invalid(
                WHAT_C,
                "a saved class id exceeds the saved class count",
            ));
        }
        Ok(KNeighborsClassifier {
            config: saved.config,
            fitted: Some((core, y, saved.n_classes)),
        })
    }
}

impl Estimator for KNeighborsClassifier {
    fn name(&self) -> &'static str {
        "knn"
    }

    fn kind(&self) -> EstimatorKind {
        EstimatorKind::Classifier
    }

    fn fit(&mut self, x: &Tensor, y: &Tensor) -> Result<()> {
        let rows = training_rows(x, WHAT_C)?;
        let n = rows.shape()[0];
        let labels = estimator::class_ids(y, WHAT_C)?;
        estimator::check_rows(WHAT_C, n, labels.len())?;
        let nc = estimator::check_two_classes(WHAT_C, &labels)?;
        let core = Core::new(&self.config, rows, WHAT_C)?;
        self.fitted = Some((core, labels, nc));
        Ok(())
    }

    fn predict(&self, x: &Tensor) -> Result<Tensor> {
        let (p, _, k) = self.probabilities(x)?;
        let ids: Vec<usize> = p.chunks(k).map(argmax).collect();
        estimator::ids_tensor(&ids)
    }

    fn predict_proba(&self, x: &Tensor) -> Result<Option<Tensor>> {
        let (p, n, k) = self.probabilities(x)?;
        Ok(Some(estimator::tensor2(p, n, k)?))
    }

    fn to_parts(&self) -> Result<Parts> {
        let (core, y, nc) = self.fitted()?;
        Ok(Parts {
            params: estimator::params_to(&core.saved(Task::Classifier, nc), WHAT_C)?,
            tensors: vec![
                ("x".into(), core.x_tensor()?),
                ("y".into(), estimator::ids_tensor(y)?),
            ],
        })
    }
}

/// k-nearest-neighbour regression: the (weighted) mean target of the k nearest training
/// samples.
#[derive(Clone, Debug)]
pub struct KNeighborsRegressor {
    /// Used by the next `fit`; a fitted model keeps the configuration it was fitted with.
    pub config: KnnConfig,
    fitted: Option<(Core, Vec<f64>)>,
}

impl KNeighborsRegressor {
    pub fn new(config: KnnConfig) -> Self {
        KNeighborsRegressor {
            config,
            fitted: None,
        }
    }

    fn fitted(&self) -> Result<(&Core, &[f64])> {
        let (c, y) = self.fitted.as_ref().ok_or_else(|| not_fitted(WHAT_R))?;
        Ok((c, y))
    }

    /// Whether the fitted model searches with a KD-tree (else brute force).
    pub fn uses_kd_tree(&self) -> Result<bool> {
        Ok(self.fitted()?.0.index.uses_tree())
    }

    /// Distances (f64 `[N, k]`, increasing) and training indices (i64 `[N, k]`) of the k
    /// nearest training samples of each row of `x`.
    pub fn kneighbors(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.fitted()?.0.kneighbors(x, WHAT_R)
    }

    pub fn from_parts(parts: &Parts) -> Result<Self> {
        let (core, saved, y) = Core::from_parts(parts, Task::Regressor, WHAT_R)?;
        let y = estimator::values(y, WHAT_R)?;
        Ok(KNeighborsRegressor {
            config: saved.config,
            fitted: Some((core, y)),
        })
    }
}

impl Estimator for KNeighborsRegressor {
    fn name(&self) -> &'static str {
        "knn"
    }

    fn kind(&self) -> EstimatorKind {
        EstimatorKind::Regressor
    }

    fn fit(&mut self, x: &Tensor, y: &Tensor) -> Result<()> {
        let rows = training_rows(x, WHAT_R)?;
        let n = rows.shape()[0];
        let targets = estimator::values(y, WHAT_R)?;
        estimator::check_rows(WHAT_R, n, targets.len())?;
        let core = Core::new(&self.config, rows, WHAT_R)?;
        self.fitted = Some((core, targets));
        Ok(())
    }

    fn predict(&self, x: &Tensor) -> Result<Tensor> {
        let (core, y) = self.fitted()?;
        let (dist, idx, nq) = core.neighbours(x, WHAT_R)?;
        let k = core.config.k;
        let weights = core.config.weights;
        let mut out = vec![0.0; nq];
        out.par_iter_mut()
            .zip(dist.par_chunks(k).zip(idx.par_chunks(k)))
            .for_each_init(
                || vec![0.0; k],
                |w, (o, (d, i))| {
                    row_weights(d, weights, w);
                    let (mut num, mut den) = (0.0, 0.0);
                    for (&wj, &ij) in w.iter().zip(i) {
                        num += wj * y[ij];
                        den += wj;
                    }
                    *o = num / den;
                },
            );
        Ok(Tensor::from_vec(out, &[nq])?)
    }

    fn to_parts(&self) -> Result<Parts> {
        let (core, y) = self.fitted()?;
        Ok(Parts {
            params: estimator::params_to(&core.saved(Task::Regressor, 0), WHAT_R)?,
            tensors: vec![
                ("x".into(), core.x_tensor()?),
                ("y".into(), Tensor::from_vec(y.to_vec(), &[y.len()])?),
            ],
        })
    }
}
