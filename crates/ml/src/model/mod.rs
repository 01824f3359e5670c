//! The saved tabular model: fitted preprocessing ([`FeatureTransform`]) + an estimator +
//! what is known about how it was trained. `train` goes from a table to a model and its
//! held-out metrics; `predict` and `evaluate` apply it to new records; `save`/`load` use
//! one safetensors file (see [`file`]).
//!
//! ```no_run
//! use zhixing_data::records::{read_table, ReadOptions};
//! use zhixing_ml::model::{TabularModel, TrainConfig, TrainOptions};
//! let table = read_table("data/iris.csv", &ReadOptions::default()).unwrap();
//! let mut config = TrainConfig::default();
//! config.data.target = Some("species".into());
//! let trained = TabularModel::train(&table, &config, &TrainOptions::default()).unwrap();
//! trained.model.save("iris.zxm".as_ref()).unwrap();
//! let preds = TabularModel::load("iris.zxm".as_ref()).unwrap().predict(&table, false).unwrap();
//! println!("{}", preds.to_jsonl());
//! ```

pub mod config;
mod evaluation;
pub mod file;
mod predictions;
mod train;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use zhixing_data::pipeline::{FeatureTransform, TransformOptions};
use zhixing_data::records::Table;
use zhixing_data::schema::Task;
use zhixing_data::split::Split;

use crate::error::{Error, Result};
use crate::estimator::{Estimator, Parts};
use crate::linear::{ElasticNet, LinearRegression, LogisticRegression, PolynomialRegression};
use crate::neural::Mlp;

pub use config::{DataConfig, ModelConfig, NbConfig, SplitMethod, TrainConfig};
pub use evaluation::Evaluation;
pub use predictions::Predictions;
pub use train::{CrossValidation, TrainOptions, Trained};

/// How the model was trained: enough to recompute its split of the same file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingRecord {
    /// The data file's name as given to `train`.
    pub file: String,
    /// Rows read from it.
    pub rows: usize,
    pub data: DataConfig,
    /// Rows in each split.
    pub train_rows: usize,
    pub validation_rows: usize,
    pub test_rows: usize,
    /// Seconds spent fitting the estimator.
    pub fit_seconds: f64,
}

/// Everything in the file besides the weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// The zhixing version that wrote the file.
    pub zhixing_version: String,
    pub model: ModelConfig,
    pub task: Task,
    pub target: String,
    pub training: TrainingRecord,
    /// Per split (`train`, `validation`, `test`): metric name → value.
    pub metrics: BTreeMap<String, BTreeMap<String, f64>>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    info: ModelInfo,
    transform: FeatureTransform,
    estimator: String,
    params: serde_json::Value,
}

/// A trained model ready to predict.
pub struct TabularModel {
    pub info: ModelInfo,
    pub transform: FeatureTransform,
    pub estimator: Box<dyn Estimator>,
}

impl std::fmt::Debug for TabularModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TabularModel")
            .field("info", &self.info)
            .field("estimator", &self.estimator.name())
            .finish()
    }
}

impl TabularModel {
    pub fn task(&self) -> Task {
        self.transform.task()
    }

    /// Class labels in class-id order (empty for regression).
    pub fn classes(&self) -> &[String] {
        self.transform.classes()
    }

    /// Writes the model to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let parts = self.estimator.to_parts()?;
        let header = Header {
            info: self.info.clone(),
            transform: self.transform.clone(),
            estimator: self.estimator.name().to_string(),
            params: parts.params,
        };
        let json = serde_json::to_string(&header).map_err(|e| {
            Error::invalid("model file", format!("cannot serialize the header: {e}"))
        })?;
        file::write(path, &json, &parts.tensors)
    }

    /// Reads a model written by [`TabularModel::save`].
    pub fn load(path: &Path) -> Result<TabularModel> {
        let (json, tensors) = file::read(path)?;
        if json.starts_with("{\"modality\":\"image\"") {
            return Err(Error::invalid(
                "model file",
                format!(
                    "{} is an image model: it takes images (a PNG or a folder of them), \
                     not records",
                    path.display()
                ),
            ));
        }
        let header: Header = serde_json::from_str(&json).map_err(|e| {
            Error::invalid(
                "model file",
                format!("{}: unreadable model header: {e}", path.display()),
            )
        })?;
        let parts = Parts {
            params: header.params,
            tensors,
        };
        let estimator = estimator_from_parts(&header.estimator, &parts)?;
        Ok(TabularModel {
            info: header.info,
            transform: header.transform,
            estimator,
        })
    }

    /// Predictions for every row of `table` (which needs no target column). With
    /// `skip_bad_rows`, rows with a bad value are left out and counted.
    pub fn predict(&self, table: &Table, skip_bad_rows: bool) -> Result<Predictions> {
        let opts = TransformOptions {
            skip_bad_rows,
            require_target: false,
        };
        let features = self.transform.transform(table, &opts)?;
        Predictions::new(self, table, &features)
    }

    /// Metrics on the rows `rows` of `table` (all rows when `None`); the target column
    /// must be present.
    pub fn evaluate(
        &self,
        table: &Table,
        rows: Option<&[usize]>,
        skip_bad_rows: bool,
    ) -> Result<Evaluation> {
        let opts = TransformOptions {
            skip_bad_rows,
            require_target: true,
        };
        let features = match rows {
            Some(r) => self.transform.transform_rows(table, r, &opts)?,
            None => self.transform.transform(table, &opts)?,
        };
        Evaluation::of(self, &features)
    }

    /// The train / validation / test split `train` made of this table (it must be the
    /// training file: same number of rows).
    pub fn training_split(&self, table: &Table) -> Result<Split> {
        let t = &self.info.training;
        if table.len() != t.rows {
            return Err(Error::invalid(
                "split",
                format!(
                    "{} has {} rows but the model was trained on {} rows of {}: the split can only be recomputed on the training file",
                    table.source.display(),
                    table.len(),
                    t.rows,
                    t.file
                ),
            ));
        }
        train::split_rows(table, &self.transform.schema, &t.data)
    }
}

/// Rebuilds a saved estimator by its name.
pub fn estimator_from_parts(name: &str, parts: &Parts) -> Result<Box<dyn Estimator>> {
    Ok(match name {
        "linear" => Box::new(LinearRegression::from_parts(parts)?),
        "elastic_net" => Box::new(ElasticNet::from_parts(parts)?),
        "polynomial" => Box::new(PolynomialRegression::from_parts(parts)?),
        "logistic" => Box::new(LogisticRegression::from_parts(parts)?),
        "mlp" => Box::new(Mlp::from_parts(parts)?),
        "tree" => crate::tree::tree_from_parts(parts)?,
        "forest" => crate::tree::forest_from_parts(parts)?,
        "knn" => crate::neighbors::from_parts(parts)?,
        "nb" => crate::naive_bayes::from_parts(parts)?,
        "svm" => Box::new(crate::svm::SvmClassifier::from_parts(parts)?),
        other => {
            return Err(Error::invalid(
                "model file",
                format!("unknown estimator `{other}` (written by a newer zhixing?)"),
            ))
        }
    })
}
