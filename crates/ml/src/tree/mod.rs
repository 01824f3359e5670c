//! Decision trees ([`DecisionTreeClassifier`], [`DecisionTreeRegressor`], saved under the
//! name `"tree"`) and random forests ([`RandomForestClassifier`],
//! [`RandomForestRegressor`], saved as `"forest"`).
//!
//! Trees split numeric features at the midpoint between consecutive distinct values (as
//! scikit-learn) choosing the split with the lowest weighted child impurity: Gini,
//! entropy (information gain) or C4.5's gain ratio for classifiers, squared error for
//! regressors. Growth stops at `max_depth`, `min_samples_split`, `min_samples_leaf` and
//! `min_impurity_decrease`; afterwards the tree can be pruned by minimal cost-complexity
//! (`ccp_alpha`, as scikit-learn). A fitted tree is a set of flat per-node arrays
//! ([`Tree`]) that are saved as tensors.
//!
//! Forests grow their trees in parallel on bootstrap samples, each with a random subset
//! of features per split; every tree's random stream is derived from the forest seed and
//! the tree's index, so a fit does not depend on the number of threads. Predictions
//! average the trees' leaf class fractions (soft vote) or values.
//!
//! ```
//! use zhixing_ml::tree::{DecisionTreeClassifier, TreeConfig};
//! use zhixing_ml::Estimator;
//! use zhixing_tensor::Tensor;
//! let x = Tensor::from_vec(vec![1.0, 0.0, 2.0, 1.0, 3.0, 0.0, 4.0, 1.0], &[4, 2]).unwrap();
//! let y = Tensor::from_vec(vec![0i64, 0, 1, 1], &[4]).unwrap();
//! let mut tree = DecisionTreeClassifier::new(TreeConfig { max_depth: Some(2), ..Default::default() });
//! tree.fit(&x, &y).unwrap();
//! assert_eq!(tree.tree().unwrap().threshold(0), 2.5);
//! println!("{}", tree.export_text(Some(&["size", "colour"])).unwrap());
//! // |--- size <= 2.50
//! // |   |--- class: 0
//! // |--- size >  2.50
//! // |   |--- class: 1
//! ```

mod build;
mod decision;
mod forest;
mod prune;
mod rng;
mod structure;

use serde::{Deserialize, Serialize};
use zhixing_tensor::Tensor;

pub use decision::{DecisionTreeClassifier, DecisionTreeRegressor};
pub use forest::{ForestConfig, RandomForestClassifier, RandomForestRegressor};
pub use prune::PruningPath;
pub use structure::Tree;

use crate::error::{Error, Result};
use crate::estimator::{self, Estimator, Parts};
use build::{Crit, Growth};

/// How a classification split is scored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// Gini impurity `1 − Σ p²`.
    #[default]
    Gini,
    /// Entropy `−Σ p log₂ p`: the split with the largest information gain.
    Entropy,
    /// C4.5: per feature the threshold with the largest information gain; across features
    /// the largest gain ratio (gain / split information) among the features whose gain is
    /// at least the average gain. Node impurity is entropy.
    GainRatio,
}

/// How many features each split looks at (forests draw them at random per node).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaxFeatures {
    /// Every feature (in order; ties go to the lower feature index).
    #[default]
    All,
    /// `max(1, ⌊√F⌋)`
    Sqrt,
    /// `max(1, ⌊log₂ F⌋)`
    Log2,
    /// A number of features, `1..=F`.
    Count(usize),
    /// A fraction of the features, `(0, 1]`: `max(1, ⌊fraction · F⌋)`.
    Fraction(f64),
}

impl MaxFeatures {
    /// The number of features for `n_features` inputs.
    pub fn resolve(self, n_features: usize, what: &'static str) -> Result<usize> {
        let f = n_features as f64;
        let k = match self {
            MaxFeatures::All => n_features,
            MaxFeatures::Sqrt => f.sqrt() as usize,
            MaxFeatures::Log2 => f.log2() as usize,
            MaxFeatures::Count(k) if k >= 1 && k <= n_features => k,
            MaxFeatures::Count(k) => {
                return Err(Error::invalid(
                    what,
                    format!(
                    "max_features = {k} but there are {n_features} features: use 1..={n_features}"
                ),
                ))
            }
            MaxFeatures::Fraction(p) if p > 0.0 && p <= 1.0 => (p * f) as usize,
            MaxFeatures::Fraction(p) => {
                return Err(Error::invalid(
                    what,
                    format!("max_features fraction {p} is outside (0, 1]"),
                ))
            }
        };
        Ok(k.max(1))
    }
}

/// A decision tree's hyperparameters (scikit-learn's names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TreeConfig {
    /// The split criterion of classifiers (regressors always use squared error).
    pub criterion: Criterion,
    /// The longest root-to-leaf path; `None` grows until leaves are pure.
    pub max_depth: Option<usize>,
    /// A node with fewer samples is a leaf (at least 2).
    pub min_samples_split: usize,
    /// Every leaf keeps at least this many samples (at least 1).
    pub min_samples_leaf: usize,
    /// A split must lower the impurity, weighted by the node's share of the training
    /// samples, by at least this much.
    pub min_impurity_decrease: f64,
    /// Minimal cost-complexity pruning strength (0 = no pruning).
    pub ccp_alpha: f64,
    pub max_features: MaxFeatures,
    /// Seeds the feature sampling when `max_features` is less than all features.
    pub seed: u64,
}

impl Default for TreeConfig {
    fn default() -> Self {
        TreeConfig {
            criterion: Criterion::Gini,
            max_depth: None,
            min_samples_split: 2,
            min_samples_leaf: 1,
            min_impurity_decrease: 0.0,
            ccp_alpha: 0.0,
            max_features: MaxFeatures::All,
            seed: 0,
        }
    }
}

impl TreeConfig {
    /// Checks the limits and resolves them for `n_features` inputs.
    pub(crate) fn growth(
        &self,
        crit: Crit,
        n_features: usize,
        what: &'static str,
    ) -> Result<Growth> {
        if self.max_depth == Some(0) {
            return Err(Error::invalid(
                what,
                "max_depth = 0 leaves no tree: use at least 1, or none for unlimited depth",
            ));
        }
        if self.min_samples_split < 2 {
            return Err(Error::invalid(
                what,
                format!(
                    "min_samples_split = {} must be at least 2",
                    self.min_samples_split
                ),
            ));
        }
        if self.min_samples_leaf < 1 {
            return Err(Error::invalid(what, "min_samples_leaf must be at least 1"));
        }
        for (name, v) in [
            ("min_impurity_decrease", self.min_impurity_decrease),
            ("ccp_alpha", self.ccp_alpha),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(Error::invalid(
                    what,
                    format!("{name} = {v} must be a finite number ≥ 0"),
                ));
            }
        }
        Ok(Growth {
            crit,
            max_depth: self.max_depth.unwrap_or(usize::MAX),
            min_samples_split: self.min_samples_split,
            min_samples_leaf: self.min_samples_leaf,
            min_impurity_decrease: self.min_impurity_decrease,
            max_features: self.max_features.resolve(n_features, what)?,
            seed: self.seed,
        })
    }
}

impl Criterion {
    pub(crate) fn crit(self) -> Crit {
        match self {
            Criterion::Gini => Crit::Gini,
            Criterion::Entropy => Crit::Entropy,
            Criterion::GainRatio => Crit::GainRatio,
        }
    }
}

/// Training features: row-major and column-major copies, with (rows, cols).
pub(crate) struct Features {
    pub rows: Vec<f64>,
    pub cols: Vec<f64>,
    pub n: usize,
    pub f: usize,
}

/// Checks `x` `[N, F]` (finite) and `y` `[N]`.
pub(crate) fn features(x: &Tensor, y: &Tensor, what: &'static str) -> Result<Features> {
    let (rows, n, f) = estimator::matrix(x, what)?;
    if y.shape().len() != 1 {
        return Err(Error::invalid(
            what,
            format!("targets must be 1-D [samples], got shape {:?}", y.shape()),
        ));
    }
    estimator::check_rows(what, n, y.shape()[0])?;
    if n > u32::MAX as usize {
        return Err(Error::invalid(
            what,
            format!("{n} samples: at most 2³² − 1 are supported"),
        ));
    }
    let mut cols = vec![0.0; n * f];
    for (i, row) in rows.chunks_exact(f).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            cols[j * n + i] = v;
        }
    }
    Ok(Features { rows, cols, n, f })
}

/// Class ids as u32 with the number of classes (at least two distinct).
pub(crate) fn class_targets(y: &Tensor, what: &'static str) -> Result<(Vec<u32>, usize)> {
    let ids = estimator::class_ids(y, what)?;
    let k = estimator::check_two_classes(what, &ids)?;
    if k > u32::MAX as usize {
        return Err(Error::invalid(
            what,
            format!("class id {} is too large", k - 1),
        ));
    }
    Ok((ids.into_iter().map(|c| c as u32).collect(), k))
}

/// Rows to predict: `x` `[N, F]` with the fitted feature count.
pub(crate) fn predict_rows(
    x: &Tensor,
    n_features: usize,
    what: &'static str,
) -> Result<(Vec<f64>, usize)> {
    let (rows, n, f) = estimator::matrix(x, what)?;
    if f != n_features {
        return Err(Error::invalid(
            what,
            format!("x has {f} features but the model was fitted on {n_features}"),
        ));
    }
    Ok((rows, n))
}

pub(crate) fn not_fitted(what: &'static str) -> Error {
    Error::invalid(what, "the model is not fitted: call fit first")
}

/// Feature names for `export_text` (`feature_0`, … when none are given).
pub(crate) fn feature_names(
    names: Option<&[&str]>,
    n_features: usize,
    what: &'static str,
) -> Result<Vec<String>> {
    match names {
        None => Ok((0..n_features).map(|i| format!("feature_{i}")).collect()),
        Some(n) if n.len() == n_features => Ok(n.iter().map(|s| s.to_string()).collect()),
        Some(n) => Err(Error::invalid(
            what,
            format!("{} feature names given for {n_features} features", n.len()),
        )),
    }
}

pub(crate) use crate::estimator::argmax;

/// A saved `"tree"` model: the classifier or the regressor, as saved.
pub fn tree_from_parts(parts: &Parts) -> Result<Box<dyn Estimator>> {
    if decision::saved_is_classifier(parts)? {
        Ok(Box::new(DecisionTreeClassifier::from_parts(parts)?))
    } else {
        Ok(Box::new(DecisionTreeRegressor::from_parts(parts)?))
    }
}

/// A saved `"forest"` model: the classifier or the regressor, as saved.
pub fn forest_from_parts(parts: &Parts) -> Result<Box<dyn Estimator>> {
    if decision::saved_is_classifier(parts)? {
        Ok(Box::new(RandomForestClassifier::from_parts(parts)?))
    } else {
        Ok(Box::new(RandomForestRegressor::from_parts(parts)?))
    }
}
