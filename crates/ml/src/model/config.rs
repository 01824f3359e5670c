//! What `zhixing train` does, as one config: the data choices (target, split, scaling,
//! encodings, missing values, column kinds, task) and the model with its hyperparameters.
//! Read from a TOML file (`--config`) and overridden by flags.
//!
//! ```toml
//! [data]
//! target = "label"
//! split = [0.8, 0.1, 0.1]
//! seed = 42
//! scaling = "standard"          # standard | min_max | none
//! missing = { "user.age" = "median" }
//!
//! [model]
//! kind = "mlp"                  # linear | ridge | lasso | elastic_net | polynomial | logistic
//!                               # | mlp | tree | forest | knn | nb | svm
//! hidden = [64, 32]
//! epochs = 200
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use zhixing_data::pipeline::{CategoricalEncoding, PipelineOptions};
use zhixing_data::scale::Scaling;
use zhixing_data::schema::{ColumnKind, MissingPolicy, SchemaOptions, Task};
use zhixing_data::split::SplitRatios;

use crate::error::{Error, Result};
use crate::linear::{ElasticNetConfig, LinearConfig, LogisticConfig, PolynomialConfig};
use crate::naive_bayes::Variant;
use crate::neighbors::KnnConfig;
use crate::neural::MlpConfig;
use crate::svm::SvmConfig;
use crate::tree::{ForestConfig, TreeConfig};

/// The model and its hyperparameters; `kind` names it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelConfig {
    /// Ordinary least squares (regression).
    Linear(LinearConfig),
    /// L2-penalized least squares (regression); `alpha` defaults to 1.
    Ridge(LinearConfig),
    /// L1-penalized least squares by coordinate descent (regression).
    Lasso(ElasticNetConfig),
    /// L1 + L2-penalized least squares by coordinate descent (regression).
    ElasticNet(ElasticNetConfig),
    /// Least squares on polynomial features (regression).
    Polynomial(PolynomialConfig),
    /// Logistic regression, binary or multinomial (classification).
    Logistic(LogisticConfig),
    /// A multilayer perceptron (either task).
    Mlp(MlpConfig),
    /// A decision tree (either task).
    Tree(TreeConfig),
    /// A random forest (either task).
    Forest(ForestConfig),
    /// k nearest neighbours (either task).
    Knn(KnnConfig),
    /// Naive Bayes (classification).
    Nb(NbConfig),
    /// A support vector machine, kernel and C (classification, one-vs-rest).
    Svm(SvmConfig),
}

/// Naive Bayes: the variant and its smoothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NbConfig {
    /// gaussian (real-valued features), multinomial (counts, bag of words) or bernoulli.
    pub variant: Variant,
    /// Gaussian: fraction of the largest variance added to every variance.
    pub var_smoothing: f64,
    /// Multinomial and Bernoulli: additive (Laplace) smoothing.
    pub alpha: f64,
    /// Bernoulli: features above this count as present (`None`: already binary).
    pub binarize: Option<f64>,
}

impl Default for NbConfig {
    fn default() -> Self {
        NbConfig {
            variant: Variant::Gaussian,
            var_smoothing: 1e-9,
            alpha: 1.0,
            binarize: Some(0.0),
        }
    }
}

impl ModelConfig {
    /// The names `--model` accepts.
    pub const NAMES: &'static [&'static str] = &[
        "linear",
        "ridge",
        "lasso",
        "elastic_net",
        "polynomial",
        "logistic",
        "mlp",
    ];

    /// The default model for a task: logistic regression or linear regression.
    pub fn default_for(task: Task) -> ModelConfig {
        if task.is_classification() {
            ModelConfig::Logistic(LogisticConfig::default())
        } else {
            ModelConfig::Linear(LinearConfig::default())
        }
    }

    /// A model by name with default hyperparameters.
    pub fn by_name(name: &str) -> Result<ModelConfig> {
        Ok(match name {
            "linear" => ModelConfig::Linear(LinearConfig::default()),
            "ridge" => ModelConfig::Ridge(LinearConfig::ridge(1.0)),
            "lasso" => ModelConfig::Lasso(ElasticNetConfig::lasso(1.0)),
            "elastic_net" | "elastic-net" | "enet" => {
                ModelConfig::ElasticNet(ElasticNetConfig::default())
            }
            "polynomial" | "poly" => ModelConfig::Polynomial(PolynomialConfig::default()),
            "logistic" => ModelConfig::Logistic(LogisticConfig::default()),
            "mlp" => ModelConfig::Mlp(MlpConfig::default()),
            "tree" => ModelConfig::Tree(TreeConfig::default()),
            "forest" => ModelConfig::Forest(ForestConfig::default()),
            "knn" => ModelConfig::Knn(KnnConfig::default()),
            "nb" => ModelConfig::Nb(NbConfig::default()),
            "svm" => ModelConfig::Svm(SvmConfig::default()),
            other => {
                return Err(Error::invalid(
                    "model",
                    format!(
                        "unknown model `{other}`: choose one of {}",
                        Self::NAMES.join(", ")
                    ),
                ))
            }
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            ModelConfig::Linear(_) => "linear",
            ModelConfig::Ridge(_) => "ridge",
            ModelConfig::Lasso(_) => "lasso",
            ModelConfig::ElasticNet(_) => "elastic_net",
            ModelConfig::Polynomial(_) => "polynomial",
            ModelConfig::Logistic(_) => "logistic",
            ModelConfig::Mlp(_) => "mlp",
            ModelConfig::Tree(_) => "tree",
            ModelConfig::Forest(_) => "forest",
            ModelConfig::Knn(_) => "knn",
            ModelConfig::Nb(_) => "nb",
            ModelConfig::Svm(_) => "svm",
        }
    }

    /// Errors when the model cannot do the task (e.g. logistic regression on a regression
    /// target), saying what to use instead.
    pub fn check_task(&self, task: Task) -> Result<()> {
        let ok = match self {
            ModelConfig::Linear(_)
            | ModelConfig::Ridge(_)
            | ModelConfig::Lasso(_)
            | ModelConfig::ElasticNet(_)
            | ModelConfig::Polynomial(_) => task == Task::Regression,
            ModelConfig::Logistic(_) | ModelConfig::Nb(_) | ModelConfig::Svm(_) => {
                task.is_classification()
            }
            ModelConfig::Mlp(_)
            | ModelConfig::Tree(_)
            | ModelConfig::Forest(_)
            | ModelConfig::Knn(_) => true,
        };
        if ok {
            return Ok(());
        }
        let suggestion = if task.is_classification() {
            "logistic, tree, forest, knn, nb, svm or mlp"
        } else {
            "linear, ridge, lasso, elastic_net, polynomial, tree, forest, knn or mlp"
        };
        Err(Error::invalid(
            "model",
            format!(
                "`{}` cannot do {}: use {suggestion} (or override the task with --task)",
                self.name(),
                task_name(task)
            ),
        ))
    }
}

pub fn task_name(task: Task) -> &'static str {
    match task {
        Task::BinaryClassification => "binary classification",
        Task::MulticlassClassification => "multi-class classification",
        Task::Regression => "regression",
    }
}

/// How rows are divided into train / validation / test.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitMethod {
    /// Stratified for classification, random for regression.
    #[default]
    Auto,
    Random,
    Stratified,
    /// In the order of `time_column` (oldest rows train, newest test).
    Time,
}

/// The data side of training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    pub target: Option<String>,
    /// Train / validation / test fractions.
    pub split: [f64; 3],
    pub split_method: SplitMethod,
    pub time_column: Option<String>,
    pub seed: u64,
    pub scaling: Scaling,
    pub categorical: CategoricalEncoding,
    /// Missing-value policy per column (`mean`, `median`, `most_frequent`, `zeros`, `error`).
    pub missing: BTreeMap<String, MissingPolicy>,
    /// The policy for every other column (`None`: by column kind).
    pub default_missing: Option<MissingPolicy>,
    /// Column kinds that override inference (`numeric`, `categorical`, `text`, `ignore`, …).
    pub kinds: BTreeMap<String, ColumnKind>,
    /// The task (`None`: inferred from the target).
    pub task: Option<Task>,
    /// Skip malformed records (counted and reported) instead of failing.
    pub skip_bad_rows: bool,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            target: None,
            split: [0.8, 0.1, 0.1],
            split_method: SplitMethod::Auto,
            time_column: None,
            seed: 42,
            scaling: Scaling::Standard,
            categorical: CategoricalEncoding::OneHot,
            missing: BTreeMap::new(),
            default_missing: None,
            kinds: BTreeMap::new(),
            task: None,
            skip_bad_rows: false,
        }
    }
}

impl DataConfig {
    pub fn ratios(&self) -> SplitRatios {
        SplitRatios {
            train: self.split[0],
            validation: self.split[1],
            test: self.split[2],
        }
    }

    pub fn schema_options(&self, target: &str) -> SchemaOptions {
        let mut o = SchemaOptions::new(target);
        o.kinds = self.kinds.clone();
        o.missing = self.missing.clone();
        o.default_missing = self.default_missing;
        o.task = self.task;
        o
    }

    pub fn pipeline_options(&self) -> PipelineOptions {
        PipelineOptions {
            scaling: self.scaling,
            categorical: self.categorical,
            ..Default::default()
        }
    }
}

/// Everything `train` needs besides the data file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub data: DataConfig,
    /// `None`: the default model for the inferred task.
    pub model: Option<ModelConfig>,
}

impl TrainConfig {
    /// Parses TOML; an unknown key or a wrong type is an error naming the file and key.
    pub fn from_toml(text: &str, path: &Path) -> Result<TrainConfig> {
        toml::from_str(text).map_err(|e| {
            Error::invalid(
                "config",
                format!("{}: {}", path.display(), e.to_string().trim_end()),
            )
        })
    }

    pub fn read(path: &Path) -> Result<TrainConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::invalid("config", format!("cannot read {}: {e}", path.display()))
        })?;
        Self::from_toml(&text, path)
    }
}
