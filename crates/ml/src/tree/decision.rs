//! The single-tree estimators.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use zhixing_tensor::Tensor;

use super::build::{argsort_columns, grow, presort_pays, xlogx_table, Crit, Data, Growth, Target};
use super::prune::{prune, pruning_path, PruningPath};
use super::structure::{trees_from_tensors, trees_to_tensors, Tree};
use super::{argmax, class_targets, features, not_fitted, predict_rows, Features, TreeConfig};
use crate::error::{Error, Result};
use crate::estimator::{self, Estimator, EstimatorKind, Parts};

const WHAT_C: &str = "decision tree classifier";
const WHAT_R: &str = "decision tree regressor";

/// Which estimator saved parts hold (shared by trees and forests).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Task {
    Classifier,
    Regressor,
}

pub(crate) fn saved_is_classifier(parts: &Parts) -> Result<bool> {
    #[derive(Deserialize)]
    struct TaskOnly {
        task: Task,
    }
    let t: TaskOnly = estimator::params_from(parts, "tree model")?;
    Ok(t.task == Task::Classifier)
}

/// The saved parameters of either tree.
#[derive(Serialize, Deserialize)]
struct Saved {
    task: Task,
    config: TreeConfig,
    n_features: usize,
    /// Classifier only.
    #[serde(default)]
    n_classes: usize,
}

/// Grows one tree on every training sample (weight 1 each), unpruned.
pub(crate) fn grow_one(f: &Features, target: Target, growth: &Growth) -> Tree {
    let xlogx = match growth.crit {
        Crit::Entropy | Crit::GainRatio => xlogx_table(f.n),
        _ => Vec::new(),
    };
    let order = match presort_pays(f.n, f.f, growth.max_features) {
        true => argsort_columns(&f.cols, f.n, f.f),
        false => Vec::new(),
    };
    let data = Data {
        cols: &f.cols,
        n: f.n,
        n_features: f.f,
        target,
        xlogx: &xlogx,
        order: &order,
    };
    grow(&data, &vec![1; f.n], growth)
}

/// Leaf values of every row: `[N, n_outputs]`.
pub(crate) fn leaf_values(tree: &Tree, rows: &[f64], n: usize) -> Vec<f64> {
    let (f, k) = (tree.n_features, tree.n_outputs);
    let mut out = vec![0.0; n * k];
    out.par_chunks_mut(512 * k)
        .zip(rows.par_chunks(512 * f))
        .for_each(|(o, r)| {
            for (oi, ri) in o.chunks_exact_mut(k).zip(r.chunks_exact(f)) {
                oi.copy_from_slice(tree.value(tree.apply(ri)));
            }
        });
    out
}

fn load(parts: &Parts, task: Task, what: &'static str) -> Result<(Saved, Tree)> {
    let saved: Saved = estimator::params_from(parts, what)?;
    if saved.task != task {
        return Err(Error::invalid(
            what,
            format!("the saved tree is a {:?}", saved.task).to_lowercase(),
        ));
    }
    let k = match task {
        Task::Classifier if saved.n_classes < 2 => {
            return Err(Error::invalid(
                what,
                "corrupt saved tree: fewer than 2 classes",
            ))
        }
        Task::Classifier => saved.n_classes,
        Task::Regressor => 1,
    };
    let mut trees = trees_from_tensors(parts, saved.n_features, k, what)?;
    if trees.len() != 1 {
        return Err(Error::invalid(
            what,
            format!("corrupt saved tree: {} trees stored", trees.len()),
        ));
    }
    let tree = trees.pop().expect("one tree");
    Ok((saved, tree))
}

/// A classification tree: predicts the majority class of the leaf a sample falls into;
/// `predict_proba` gives the leaf's class fractions.
#[derive(Clone, Debug, Default)]
pub struct DecisionTreeClassifier {
    config: TreeConfig,
    fitted: Option<(Tree, usize)>,
}

impl DecisionTreeClassifier {
    pub fn new(config: TreeConfig) -> Self {
        DecisionTreeClassifier {
            config,
            fitted: None,
        }
    }

    pub fn config(&self) -> &TreeConfig {
        &self.config
    }

    /// The fitted tree (`None` before `fit`).
    pub fn tree(&self) -> Option<&Tree> {
        self.fitted.as_ref().map(|(t, _)| t)
    }

    /// The number of classes `K` (class ids are `0..K`).
    pub fn n_classes(&self) -> Option<usize> {
        self.fitted.as_ref().map(|(_, k)| *k)
    }

    /// Normalized total impurity decrease per feature (sums to 1 unless the tree is a
    /// single leaf, then all zeros).
    pub fn feature_importances(&self) -> Result<Vec<f64>> {
        Ok(self.tree().ok_or(not_fitted(WHAT_C))?.feature_importances())
    }

    /// The tree as indented text (as scikit-learn's `export_text`), leaves showing the
    /// predicted class id.
    pub fn export_text(&self, feature_names: Option<&[&str]>) -> Result<String> {
        let tree = self.tree().ok_or(not_fitted(WHAT_C))?;
        let names = super::feature_names(feature_names, tree.n_features, WHAT_C)?;
        Ok(tree.export_text(&names, &|v| format!("class: {}", argmax(v))))
    }

    /// Grows the unpruned tree on `x`, `y` and returns its minimal cost-complexity
    /// pruning path; any `ccp_alpha` between two path alphas gives the same tree. Does
    /// not change `self`.
    pub fn cost_complexity_pruning_path(&self, x: &Tensor, y: &Tensor) -> Result<PruningPath> {
        let (tree, _) = self.grow_unpruned(x, y)?;
        Ok(pruning_path(&tree))
    }

    fn grow_unpruned(&self, x: &Tensor, y: &Tensor) -> Result<(Tree, usize)> {
        let f = features(x, y, WHAT_C)?;
        let (y, k) = class_targets(y, WHAT_C)?;
        let growth = self
            .config
            .growth(self.config.criterion.crit(), f.f, WHAT_C)?;
        Ok((grow_one(&f, Target::Classes { y: &y, k }, &growth), k))
    }

    pub fn from_parts(parts: &Parts) -> Result<Self> {
        let (saved, tree) = load(parts, Task::Classifier, WHAT_C)?;
        Ok(DecisionTreeClassifier {
            config: saved.config,
            fitted: Some((tree, saved.n_classes)),
        })
    }

    fn proba(&self, x: &Tensor) -> Result<(Vec<f64>, usize, usize)> {
        let (tree, k) = self.fitted.as_ref().ok_or(not_fitted(WHAT_C))?;
        let (rows, n) = predict_rows(x, tree.n_features, WHAT_C)?;
        Ok((leaf_values(tree, &rows, n), n, *k))
    }
}

impl Estimator for DecisionTreeClassifier {
    fn name(&self) -> &'static str {
        "tree"
    }

    fn kind(&self) -> EstimatorKind {
        EstimatorKind::Classifier
    }

    fn fit(&mut self, x: &Tensor, y: &Tensor) -> Result<()> {
        let (tree, k) = self.grow_unpruned(x, y)?;
        self.fitted = Some((prune(&tree, self.config.ccp_alpha), k));
        Ok(())
    }

    fn predict(&self, x: &Tensor) -> Result<Tensor> {
        let (p, _, k) = self.proba(x)?;
        let ids: Vec<usize> = p.chunks_exact(k).map(argmax).collect();
        estimator::ids_tensor(&ids)
    }

    fn predict_proba(&self, x: &Tensor) -> Result<Option<Tensor>> {
        let (p, n, k) = self.proba(x)?;
        Ok(Some(estimator::tensor2(p, n, k)?))
    }

    fn to_parts(&self) -> Result<Parts> {
        let (tree, k) = self.fitted.as_ref().ok_or(not_fitted(WHAT_C))?;
        let saved = Saved {
            task: Task::Classifier,
            config: self.config.clone(),
            n_features: tree.n_features,
            n_classes: *k,
        };
        let mut parts = Parts {
            params: estimator::params_to(&saved, WHAT_C)?,
            tensors: Vec::new(),
        };
        trees_to_tensors(std::slice::from_ref(tree), &mut parts)?;
        Ok(parts)
    }
}

/// A regression tree: predicts the mean target of the leaf a sample falls into. Splits
/// minimize the squared error (`config.criterion` is not used).
#[derive(Clone, Debug, Default)]
pub struct DecisionTreeRegressor {
    config: TreeConfig,
    fitted: Option<Tree>,
}

impl DecisionTreeRegressor {
    pub fn new(config: TreeConfig) -> Self {
        DecisionTreeRegressor {
            config,
            fitted: None,
        }
    }

    pub fn config(&self) -> &TreeConfig {
        &self.config
    }

    /// The fitted tree (`None` before `fit`).
    pub fn tree(&self) -> Option<&Tree> {
        self.fitted.as_ref()
    }

    /// Normalized total squared-error decrease per feature.
    pub fn feature_importances(&self) -> Result<Vec<f64>> {
        Ok(self.tree().ok_or(not_fitted(WHAT_R))?.feature_importances())
    }

    /// The tree as indented text (as scikit-learn's `export_text`), leaves showing the
    /// predicted value.
    pub fn export_text(&self, feature_names: Option<&[&str]>) -> Result<String> {
        let tree = self.tree().ok_or(not_fitted(WHAT_R))?;
        let names = super::feature_names(feature_names, tree.n_features, WHAT_R)?;
        Ok(tree.export_text(&names, &|v| format!("value: [{:.2}]", v[0])))
    }

    /// The minimal cost-complexity pruning path of the unpruned tree grown on `x`, `y`.
    pub fn cost_complexity_pruning_path(&self, x: &Tensor, y: &Tensor) -> Result<PruningPath> {
        Ok(pruning_path(&self.grow_unpruned(x, y)?))
    }

    fn grow_unpruned(&self, x: &Tensor, y: &Tensor) -> Result<Tree> {
        let f = features(x, y, WHAT_R)?;
        let y = estimator::values(y, WHAT_R)?;
        let growth = self.config.growth(Crit::SquaredError, f.f, WHAT_R)?;
        Ok(grow_one(&f, Target::Values(&y), &growth))
    }

    pub fn from_parts(parts: &Parts) -> Result<Self> {
        let (saved, tree) = load(parts, Task::Regressor, WHAT_R)?;
        Ok(DecisionTreeRegressor {
            config: saved.config,
            fitted: Some(tree),
        })
    }
}

impl Estimator for DecisionTreeRegressor {
    fn name(&self) -> &'static str {
        "tree"
    }

    fn kind(&self) -> EstimatorKind {
        EstimatorKind::Regressor
    }

    fn fit(&mut self, x: &Tensor, y: &Tensor) -> Result<()> {
        let tree = self.grow_unpruned(x, y)?;
        self.fitted = Some(prune(&tree, self.config.ccp_alpha));
        Ok(())
    }

    fn predict(&self, x: &Tensor) -> Result<Tensor> {
        let tree = self.fitted.as_ref().ok_or(not_fitted(WHAT_R))?;
        let (rows, n) = predict_rows(x, tree.n_features, WHAT_R)?;
        Ok(Tensor::from_vec(leaf_values(tree, &rows, n), &[n])?)
    }

    fn to_parts(&self) -> Result<Parts> {
        let tree = self.fitted.as_ref().ok_or(not_fitted(WHAT_R))?;
        let saved = Saved {
            task: Task::Regressor,
            config: self.config.clone(),
            n_features: tree.n_features,
            n_classes: 0,
        };
        let mut parts = Parts {
            params: estimator::params_to(&saved, WHAT_R)?,
            tensors: Vec::new(),
        };
        trees_to_tensors(std::slice::from_ref(tree), &mut parts)?;
        Ok(parts)
    }
}
