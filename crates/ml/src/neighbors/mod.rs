//! k-nearest neighbours: [`KNeighborsClassifier`] (majority or distance-weighted vote,
//! class probabilities) and [`KNeighborsRegressor`] (mean or distance-weighted mean of
//! the neighbours' targets), both saved under the name `"knn"`.
//!
//! Neighbours are exact: a KD-tree for the euclidean and manhattan metrics in up to
//! [`KD_TREE_MAX_DIM`] dimensions, a parallel brute-force scan otherwise; ties in
//! distance go to the lower training index (as scikit-learn's brute force).
//!
//! ```
//! use zhixing_ml::neighbors::{KNeighborsClassifier, KnnConfig};
//! use zhixing_ml::Estimator;
//! use zhixing_tensor::Tensor;
//! let x = Tensor::from_vec(vec![0.0, 0.0, 0.1, 0.0, 5.0, 5.0, 5.1, 5.0], &[4, 2]).unwrap();
//! let y = Tensor::from_vec(vec![0i64, 0, 1, 1], &[4]).unwrap();
//! let mut knn = KNeighborsClassifier::new(KnnConfig { k: 1, ..Default::default() });
//! knn.fit(&x, &y).unwrap();
//! let q = Tensor::from_vec(vec![4.0, 4.5], &[1, 2]).unwrap();
//! assert_eq!(knn.predict(&q).unwrap().to_vec::<i64>().unwrap(), vec![1]);
//! ```

mod kdtree;
mod knn;
mod search;

use serde::{Deserialize, Serialize};

pub use knn::{KNeighborsClassifier, KNeighborsRegressor};
pub use search::KD_TREE_MAX_DIM;

use crate::error::Result;
use crate::estimator::{Estimator, Parts};

/// How the neighbours' votes (or targets) are weighted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weights {
    /// Every neighbour counts the same.
    #[default]
    Uniform,
    /// Weight `1 / distance`; neighbours at distance 0, if any, take all the weight.
    Distance,
}

/// The distance between samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// `‖a − b‖₂`
    #[default]
    Euclidean,
    /// `‖a − b‖₁`
    Manhattan,
    /// `1 − a·b / (‖a‖ ‖b‖)` (an all-zero row is at distance 1 from everything).
    Cosine,
}

/// How neighbours are found (the answer is the same; only the speed differs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// A KD-tree for euclidean / manhattan in at most [`KD_TREE_MAX_DIM`] dimensions,
    /// brute force otherwise.
    #[default]
    Auto,
    /// Always the KD-tree (euclidean and manhattan only).
    KdTree,
    /// Always brute force.
    Brute,
}

/// Hyperparameters (scikit-learn's defaults: k = 5, uniform weights, euclidean).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KnnConfig {
    /// Number of neighbours (`n_neighbors`).
    pub k: usize,
    pub weights: Weights,
    pub metric: Metric,
    pub algorithm: Algorithm,
}

impl Default for KnnConfig {
    fn default() -> Self {
        KnnConfig {
            k: 5,
            weights: Weights::Uniform,
            metric: Metric::Euclidean,
            algorithm: Algorithm::Auto,
        }
    }
}

/// A saved `"knn"` model, classifier or regressor (whichever was saved).
pub fn from_parts(parts: &Parts) -> Result<Box<dyn Estimator>> {
    if knn::saved_task(parts)? == knn::Task::Classifier {
        Ok(Box::new(KNeighborsClassifier::from_parts(parts)?))
    } else {
        Ok(Box::new(KNeighborsRegressor::from_parts(parts)?))
    }
}
