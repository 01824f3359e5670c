//! Random forests: trees grown in parallel on bootstrap samples with per-split feature
//! sampling, averaged at prediction time.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use zhixing_tensor::Tensor;

use super::build::{argsort_columns, grow, presort_pays, xlogx_table, Crit, Data, Target};
use super::decision::Task;
use super::prune::prune;
use super::rng::Rng;
use super::structure::{apply_packed_rows, trees_from_tensors, trees_to_tensors, PackedNode, Tree};
use super::{
    argmax, class_targets, features, not_fitted, predict_rows, Criterion, Features, MaxFeatures,
    TreeConfig,
};
use crate::error::{Error, Result};
use crate::estimator::{self, Estimator, EstimatorKind, Parts};
use crate::metrics;

const WHAT_C: &str = "random forest classifier";
const WHAT_R: &str = "random forest regressor";

/// A random forest's hyperparameters (scikit-learn's names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ForestConfig {
    /// The number of trees (at least 1).
    pub n_estimators: usize,
    /// The split criterion of classifiers (regressors always use squared error).
    pub criterion: Criterion,
    pub max_depth: Option<usize>,
    pub min_samples_split: usize,
    pub min_samples_leaf: usize,
    pub min_impurity_decrease: f64,
    /// Each tree is pruned with this cost-complexity alpha (0 = no pruning).
    pub ccp_alpha: f64,
    /// Features tried per split; `None` means `sqrt` for classifiers and all features for
    /// regressors (scikit-learn's defaults).
    pub max_features: Option<MaxFeatures>,
    /// Grow each tree on `N` samples drawn with replacement (else on all samples).
    pub bootstrap: bool,
    /// Score the forest on each training sample with the trees that did not draw it.
    pub oob_score: bool,
    pub seed: u64,
}

impl Default for ForestConfig {
    fn default() -> Self {
        let t = TreeConfig::default();
        ForestConfig {
            n_estimators: 100,
            criterion: t.criterion,
            max_depth: t.max_depth,
            min_samples_split: t.min_samples_split,
            min_samples_leaf: t.min_samples_leaf,
            min_impurity_decrease: t.min_impurity_decrease,
            ccp_alpha: t.ccp_alpha,
            max_features: None,
            bootstrap: true,
            oob_score: false,
            seed: 0,
        }
    }
}

impl ForestConfig {
    /// The configuration of each tree.
    pub fn tree_config(&self, default_max_features: MaxFeatures) -> TreeConfig {
        TreeConfig {
            criterion: self.criterion,
            max_depth: self.max_depth,
            min_samples_split: self.min_samples_split,
            min_samples_leaf: self.min_samples_leaf,
            min_impurity_decrease: self.min_impurity_decrease,
            ccp_alpha: self.ccp_alpha,
            max_features: self.max_features.unwrap_or(default_max_features),
            seed: self.seed,
        }
    }
}

/// The saved parameters of either forest.
#[derive(Serialize, Deserialize)]
struct Saved {
    task: Task,
    config: ForestConfig,
    n_features: usize,
    /// Classifier only.
    #[serde(default)]
    n_classes: usize,
    #[serde(default)]
    oob_score: Option<f64>,
}

/// A fitted forest of either kind.
#[derive(Clone, Debug)]
struct Core {
    trees: Vec<Tree>,
    n_features: usize,
    /// Classes (classifier) or 1 (regressor).
    n_outputs: usize,
    oob_score: Option<f64>,
}

/// Out-of-bag sums of leaf values (`[N, n_outputs]`) and how many trees left each
/// sample out.
struct Oob {
    sums: Vec<f64>,
    counts: Vec<u32>,
}

impl Core {
    /// Grows the trees; with `oob_score`, also returns the out-of-bag sums.
    fn fit(
        f: &Features,
        target: Target,
        cfg: &ForestConfig,
        default_max_features: MaxFeatures,
        crit: Crit,
        what: &'static str,
    ) -> Result<(Core, Option<Oob>)> {
        if cfg.n_estimators == 0 {
            return Err(Error::invalid(
                what,
                "n_estimators = 0: a forest needs at least 1 tree",
            ));
        }
        if cfg.oob_score && !cfg.bootstrap {
            return Err(Error::invalid(
                what,
                "oob_score needs bootstrap = true (without it no sample is left out)",
            ));
        }
        let k = match target {
            Target::Classes { k, .. } => k,
            Target::Values(_) => 1,
        };
        let base = cfg
            .tree_config(default_max_features)
            .growth(crit, f.f, what)?;
        let xlogx = match crit {
            Crit::Entropy | Crit::GainRatio => xlogx_table(f.n),
            _ => Vec::new(),
        };
        let order = match presort_pays(f.n, f.f, base.max_features) {
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
        let n = f.n;
        let grown: Vec<(Tree, Vec<(u32, u32)>)> = (0..cfg.n_estimators)
            .into_par_iter()
            .map(|t| {
                let mut rng = Rng::new(Rng::derive(cfg.seed, t as u64));
                let mut weights = vec![u32::from(!cfg.bootstrap); n];
                if cfg.bootstrap {
                    for _ in 0..n {
                        weights[rng.below(n)] += 1;
                    }
                }
                let mut growth = base.clone();
                growth.seed = rng.next_u64();
                let tree = prune(&grow(&data, &weights, &growth), cfg.ccp_alpha);
                // (sample, leaf) for the samples this tree did not draw
                let oob = if cfg.oob_score {
                    (0..n)
                        .filter(|&i| weights[i] == 0)
                        .map(|i| (i as u32, tree.apply(&f.rows[i * f.f..(i + 1) * f.f]) as u32))
                        .collect()
                } else {
                    Vec::new()
                };
                (tree, oob)
            })
            .collect();
        let oob = cfg.oob_score.then(|| {
            let mut o = Oob {
                sums: vec![0.0; n * k],
                counts: vec![0; n],
            };
            for (tree, pairs) in &grown {
                for &(i, leaf) in pairs {
                    let (i, leaf) = (i as usize, leaf as usize);
                    o.counts[i] += 1;
                    for (s, v) in o.sums[i * k..(i + 1) * k].iter_mut().zip(tree.value(leaf)) {
                        *s += v;
                    }
                }
            }
            o
        });
        let core = Core {
            trees: grown.into_iter().map(|(t, _)| t).collect(),
            n_features: f.f,
            n_outputs: k,
            oob_score: None,
        };
        Ok((core, oob))
    }

    /// The trees' mean leaf value per row: `[N, n_outputs]`.
    fn average(&self, rows: &[f64], n: usize) -> Vec<f64> {
        let (f, k) = (self.n_features, self.n_outputs);
        let scale = 1.0 / self.trees.len() as f64;
        let mut out = vec![0.0; n * k];
        const CHUNK: usize = 256;
        let packed: Vec<Option<Vec<PackedNode>>> = self.trees.iter().map(|t| t.packed()).collect();
        out.par_chunks_mut(CHUNK * k)
            .zip(rows.par_chunks(CHUNK * f))
            .for_each_init(
                || vec![0usize; CHUNK],
                |leaves, (o, r)| {
                    let m = o.len() / k;
                    for (tree, nodes) in self.trees.iter().zip(&packed) {
                        match nodes {
                            Some(nodes) => apply_packed_rows(nodes, r, f, &mut leaves[..m]),
                            None => r
                                .chunks_exact(f)
                                .zip(leaves.iter_mut())
                                .for_each(|(ri, l)| *l = tree.apply(ri)),
                        }
                        for (oi, &leaf) in o.chunks_exact_mut(k).zip(leaves.iter()) {
                            for (a, v) in oi.iter_mut().zip(tree.value(leaf)) {
                                *a += v;
                            }
                        }
                    }
                    o.iter_mut().for_each(|v| *v *= scale);
                },
            );
        out
    }

    /// The mean of the trees' normalized importances (trees that are a single leaf left
    /// out), normalized to sum to 1.
    fn feature_importances(&self) -> Vec<f64> {
        let mut sum = vec![0.0; self.n_features];
        for t in self.trees.iter().filter(|t| t.n_nodes() > 1) {
            for (s, v) in sum.iter_mut().zip(t.feature_importances()) {
                *s += v;
            }
        }
        let total: f64 = sum.iter().sum();
        if total > 0.0 {
            sum.iter_mut().for_each(|v| *v /= total);
        }
        sum
    }

    fn to_parts(&self, task: Task, config: &ForestConfig, what: &'static str) -> Result<Parts> {
        let saved = Saved {
            task,
            config: config.clone(),
            n_features: self.n_features,
            n_classes: if task == Task::Classifier {
                self.n_outputs
            } else {
                0
            },
            oob_score: self.oob_score,
        };
        let mut parts = Parts {
            params: estimator::params_to(&saved, what)?,
            tensors: Vec::new(),
        };
        trees_to_tensors(&self.trees, &mut parts)?;
        Ok(parts)
    }

    fn from_parts(parts: &Parts, task: Task, what: &'static str) -> Result<(ForestConfig, Core)> {
        let saved: Saved = estimator::params_from(parts, what)?;
        if saved.task != task {
            return Err(Error::invalid(
                what,
                format!("the saved forest is a {:?}", saved.task).to_lowercase(),
            ));
        }
        let k = match task {
            Task::Classifier if saved.n_classes < 2 => {
                return Err(Error::invalid(
                    what,
                    "corrupt saved forest: fewer than 2 classes",
                ))
            }
            Task::Classifier => saved.n_classes,
            Task::Regressor => 1,
        };
        let trees = trees_from_tensors(parts, saved.n_features, k, what)?;
        let core = Core {
            trees,
            n_features: saved.n_features,
            n_outputs: k,
            oob_score: saved.oob_score,
        };
        Ok((saved.config, core))
    }
}

/// A random forest classifier: the class with the highest mean leaf class fraction over
/// the trees (soft vote, as scikit-learn).
#[derive(Clone, Debug, Default)]
pub struct RandomForestClassifier {
    config: ForestConfig,
    fitted: Option<Core>,
}

impl RandomForestClassifier {
    pub fn new(config: ForestConfig) -> Self {
        RandomForestClassifier {
            config,
            fitted: None,
        }
    }

    pub fn config(&self) -> &ForestConfig {
        &self.config
    }

    /// The fitted trees (empty before `fit`).
    pub fn trees(&self) -> &[Tree] {
        self.fitted.as_ref().map_or(&[], |c| &c.trees)
    }

    pub fn n_classes(&self) -> Option<usize> {
        self.fitted.as_ref().map(|c| c.n_outputs)
    }

    /// Out-of-bag accuracy (with `oob_score`): each training sample predicted by the trees
    /// whose bootstrap sample left it out; samples never left out are skipped.
    pub fn oob_score(&self) -> Option<f64> {
        self.fitted.as_ref().and_then(|c| c.oob_score)
    }

    pub fn feature_importances(&self) -> Result<Vec<f64>> {
        Ok(self
            .fitted
            .as_ref()
            .ok_or(not_fitted(WHAT_C))?
            .feature_importances())
    }

    pub fn from_parts(parts: &Parts) -> Result<Self> {
        let (config, core) = Core::from_parts(parts, Task::Classifier, WHAT_C)?;
        Ok(RandomForestClassifier {
            config,
            fitted: Some(core),
        })
    }

    fn proba(&self, x: &Tensor) -> Result<(Vec<f64>, usize, usize)> {
        let core = self.fitted.as_ref().ok_or(not_fitted(WHAT_C))?;
        let (rows, n) = predict_rows(x, core.n_features, WHAT_C)?;
        Ok((core.average(&rows, n), n, core.n_outputs))
    }
}

fn no_oob(what: &'static str) -> Error {
    Error::undefined(
        what,
        "no training sample was left out of any bootstrap sample, so there is no \
         out-of-bag score: use more trees",
    )
}

impl Estimator for RandomForestClassifier {
    fn name(&self) -> &'static str {
        "forest"
    }

    fn kind(&self) -> EstimatorKind {
        EstimatorKind::Classifier
    }

    fn fit(&mut self, x: &Tensor, y: &Tensor) -> Result<()> {
        let f = features(x, y, WHAT_C)?;
        let (y, k) = class_targets(y, WHAT_C)?;
        let crit = self.config.criterion.crit();
        let target = Target::Classes { y: &y, k };
        let (mut core, oob) = Core::fit(&f, target, &self.config, MaxFeatures::Sqrt, crit, WHAT_C)?;
        if let Some(o) = oob {
            let (mut truth, mut pred) = (Vec::new(), Vec::new());
            for i in (0..f.n).filter(|&i| o.counts[i] > 0) {
                truth.push(y[i] as usize);
                pred.push(argmax(&o.sums[i * k..(i + 1) * k]));
            }
            if truth.is_empty() {
                return Err(no_oob(WHAT_C));
            }
            core.oob_score = Some(metrics::accuracy(&truth, &pred)?);
        }
        self.fitted = Some(core);
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
        let core = self.fitted.as_ref().ok_or(not_fitted(WHAT_C))?;
        core.to_parts(Task::Classifier, &self.config, WHAT_C)
    }
}

/// A random forest regressor: the mean of the trees' predictions.
#[derive(Clone, Debug, Default)]
pub struct RandomForestRegressor {
    config: ForestConfig,
    fitted: Option<Core>,
}

impl RandomForestRegressor {
    pub fn new(config: ForestConfig) -> Self {
        RandomForestRegressor {
            config,
            fitted: None,
        }
    }

    pub fn config(&self) -> &ForestConfig {
        &self.config
    }

    /// The fitted trees (empty before `fit`).
    pub fn trees(&self) -> &[Tree] {
        self.fitted.as_ref().map_or(&[], |c| &c.trees)
    }

    /// Out-of-bag R² (with `oob_score`), over the samples left out by at least one tree.
    pub fn oob_score(&self) -> Option<f64> {
        self.fitted.as_ref().and_then(|c| c.oob_score)
    }

    pub fn feature_importances(&self) -> Result<Vec<f64>> {
        Ok(self
            .fitted
            .as_ref()
            .ok_or(not_fitted(WHAT_R))?
            .feature_importances())
    }

    pub fn from_parts(parts: &Parts) -> Result<Self> {
        let (config, core) = Core::from_parts(parts, Task::Regressor, WHAT_R)?;
        Ok(RandomForestRegressor {
            config,
            fitted: Some(core),
        })
    }
}

impl Estimator for RandomForestRegressor {
    fn name(&self) -> &'static str {
        "forest"
    }

    fn kind(&self) -> EstimatorKind {
        EstimatorKind::Regressor
    }

    fn fit(&mut self, x: &Tensor, y: &Tensor) -> Result<()> {
        let f = features(x, y, WHAT_R)?;
        let y = estimator::values(y, WHAT_R)?;
        let target = Target::Values(&y);
        let crit = Crit::SquaredError;
        let (mut core, oob) = Core::fit(&f, target, &self.config, MaxFeatures::All, crit, WHAT_R)?;
        if let Some(o) = oob {
            let (mut truth, mut pred) = (Vec::new(), Vec::new());
            for i in (0..f.n).filter(|&i| o.counts[i] > 0) {
                truth.push(y[i]);
                pred.push(o.sums[i] / o.counts[i] as f64);
            }
            if truth.len() < 2 {
                return Err(no_oob(WHAT_R));
            }
            core.oob_score = Some(metrics::r2(&truth, &pred)?);
        }
        self.fitted = Some(core);
        Ok(())
    }

    fn predict(&self, x: &Tensor) -> Result<Tensor> {
        let core = self.fitted.as_ref().ok_or(not_fitted(WHAT_R))?;
        let (rows, n) = predict_rows(x, core.n_features, WHAT_R)?;
        Ok(Tensor::from_vec(core.average(&rows, n), &[n])?)
    }

    fn to_parts(&self) -> Result<Parts> {
        let core = self.fitted.as_ref().ok_or(not_fitted(WHAT_R))?;
        core.to_parts(Task::Regressor, &self.config, WHAT_R)
    }
}
