//! `TabularModel::train`: schema → split → preprocessing fitted on the training rows →
//! estimator → metrics on each split.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use zhixing_data::pipeline::{class_ids, FeatureTransform, Features, TransformOptions};
use zhixing_data::records::Table;
use zhixing_data::schema::{infer_schema, Schema};
use zhixing_data::split::{
    kfold, ordered_split, random_split, stratified_kfold, stratified_split, time_order, Split,
};

use super::config::{DataConfig, ModelConfig, SplitMethod, TrainConfig};
use super::{Evaluation, ModelInfo, TabularModel, TrainingRecord};
use crate::error::{Error, Result};
use crate::estimator::{Estimator, EstimatorKind};
use crate::linear::{ElasticNet, LinearRegression, LogisticRegression, PolynomialRegression};
use crate::naive_bayes::{
    BernoulliConfig, BernoulliNB, GaussianConfig, GaussianNB, MultinomialConfig, MultinomialNB,
    Variant,
};
use crate::neighbors::{KNeighborsClassifier, KNeighborsRegressor};
use crate::neural::Mlp;
use crate::svm::SvmClassifier;
use crate::tree::{
    DecisionTreeClassifier, DecisionTreeRegressor, RandomForestClassifier, RandomForestRegressor,
};

/// Choices that do not change the model.
#[derive(Clone, Copy, Debug, Default)]
pub struct TrainOptions {
    /// Show progress on a terminal.
    pub progress: bool,
}

/// What `train` produced besides the model.
#[derive(Debug)]
pub struct Trained {
    pub model: TabularModel,
    pub schema: Schema,
    pub split: Split,
    /// Metrics per non-empty split: `train`, `validation`, `test`.
    pub evaluations: Vec<(String, Evaluation)>,
    /// Rows skipped as bad, with the first errors.
    pub warnings: Vec<String>,
}

impl TabularModel {
    /// Trains on `table` as `config` says.
    pub fn train(table: &Table, config: &TrainConfig, opts: &TrainOptions) -> Result<Trained> {
        let data = &config.data;
        let target = data.target.as_deref().ok_or_else(|| {
            Error::invalid("train", "no target column given: pass --target COLUMN")
        })?;
        let schema = infer_schema(table, &data.schema_options(target))?;
        let model_config = config
            .model
            .clone()
            .unwrap_or_else(|| ModelConfig::default_for(schema.task));
        model_config.check_task(schema.task)?;
        let split = split_rows(table, &schema, data)?;
        let transform =
            FeatureTransform::fit(table, &schema, &split.train, &data.pipeline_options())?;
        let topts = TransformOptions {
            skip_bad_rows: data.skip_bad_rows,
            require_target: true,
        };
        let part = |rows: &[usize]| -> Result<Option<Features>> {
            if rows.is_empty() {
                return Ok(None);
            }
            Ok(Some(transform.transform_rows(table, rows, &topts)?))
        };
        let train = part(&split.train)?.expect("fit checked the training split is not empty");
        let val = part(&split.validation)?;
        let test = part(&split.test)?;
        let mut warnings = table.warnings.clone();
        for f in [Some(&train), val.as_ref(), test.as_ref()]
            .into_iter()
            .flatten()
        {
            warnings.extend(f.warnings.iter().cloned());
        }
        let y = train.y.as_ref().expect("require_target gives a target");
        let start = Instant::now();
        let estimator = fit(
            &model_config,
            schema.task.is_classification(),
            &train.x,
            y,
            val.as_ref(),
            opts,
        )?;
        let fit_seconds = start.elapsed().as_secs_f64();
        let info = ModelInfo {
            zhixing_version: env!("CARGO_PKG_VERSION").to_string(),
            model: model_config,
            task: schema.task,
            target: target.to_string(),
            training: TrainingRecord {
                file: table.source.display().to_string(),
                rows: table.len(),
                data: data.clone(),
                train_rows: split.train.len(),
                validation_rows: split.validation.len(),
                test_rows: split.test.len(),
                fit_seconds,
            },
            metrics: Default::default(),
        };
        let mut model = TabularModel {
            info,
            transform,
            estimator,
        };
        let mut evaluations = Vec::new();
        for (name, f) in [
            ("train", Some(&train)),
            ("validation", val.as_ref()),
            ("test", test.as_ref()),
        ] {
            if let Some(f) = f.filter(|f| !f.rows.is_empty()) {
                let e = Evaluation::of(&model, f)?;
                model.info.metrics.insert(name.to_string(), e.summary());
                evaluations.push((name.to_string(), e));
            }
        }
        Ok(Trained {
            model,
            schema,
            split,
            evaluations,
            warnings,
        })
    }
}

/// Per-fold metrics of k-fold cross-validation, with their mean and standard deviation.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CrossValidation {
    pub k: usize,
    pub folds: Vec<std::collections::BTreeMap<String, f64>>,
    pub mean: std::collections::BTreeMap<String, f64>,
    pub std: std::collections::BTreeMap<String, f64>,
}

impl TabularModel {
    /// k-fold cross-validation (stratified for classification, seeded by `config.data.seed`):
    /// for each fold, preprocessing and model are fitted on the other folds and scored on it.
    pub fn cross_validate(
        table: &Table,
        config: &TrainConfig,
        k: usize,
    ) -> Result<CrossValidation> {
        let data = &config.data;
        let target = data.target.as_deref().ok_or_else(|| {
            Error::invalid("train", "no target column given: pass --target COLUMN")
        })?;
        let schema = infer_schema(table, &data.schema_options(target))?;
        let model_config = config
            .model
            .clone()
            .unwrap_or_else(|| ModelConfig::default_for(schema.task));
        model_config.check_task(schema.task)?;
        let folds = if schema.task.is_classification() {
            stratified_kfold(&class_ids(table, &schema)?, k, data.seed)?
        } else {
            kfold(table.len(), k, data.seed)?
        };
        let topts = TransformOptions {
            skip_bad_rows: data.skip_bad_rows,
            require_target: true,
        };
        let mut scores = Vec::with_capacity(k);
        for fold in &folds {
            let transform =
                FeatureTransform::fit(table, &schema, &fold.train, &data.pipeline_options())?;
            let train = transform.transform_rows(table, &fold.train, &topts)?;
            let test = transform.transform_rows(table, &fold.test, &topts)?;
            let y = train.y.as_ref().expect("require_target gives a target");
            let quiet = TrainOptions { progress: false };
            let estimator = fit(
                &model_config,
                schema.task.is_classification(),
                &train.x,
                y,
                None,
                &quiet,
            )?;
            let model = TabularModel {
                info: placeholder_info(&model_config, &schema, target, data),
                transform,
                estimator,
            };
            scores.push(Evaluation::of(&model, &test)?.summary());
        }
        let (mut mean, mut std) = (
            std::collections::BTreeMap::new(),
            std::collections::BTreeMap::new(),
        );
        for key in scores[0].keys() {
            let v: Vec<f64> = scores.iter().filter_map(|s| s.get(key).copied()).collect();
            let m = v.iter().sum::<f64>() / v.len() as f64;
            let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64;
            mean.insert(key.clone(), m);
            std.insert(key.clone(), var.sqrt());
        }
        Ok(CrossValidation {
            k,
            folds: scores,
            mean,
            std,
        })
    }
}

fn placeholder_info(
    model: &ModelConfig,
    schema: &Schema,
    target: &str,
    data: &DataConfig,
) -> ModelInfo {
    ModelInfo {
        zhixing_version: env!("CARGO_PKG_VERSION").to_string(),
        model: model.clone(),
        task: schema.task,
        target: target.to_string(),
        training: TrainingRecord {
            file: String::new(),
            rows: 0,
            data: data.clone(),
            train_rows: 0,
            validation_rows: 0,
            test_rows: 0,
            fit_seconds: 0.0,
        },
        metrics: Default::default(),
    }
}

/// The split `train` makes: `data.split_method` over `data.split` ratios, seeded.
pub(crate) fn split_rows(table: &Table, schema: &Schema, data: &DataConfig) -> Result<Split> {
    let ratios = data.ratios();
    let method = match data.split_method {
        SplitMethod::Auto if schema.task.is_classification() => SplitMethod::Stratified,
        SplitMethod::Auto => SplitMethod::Random,
        m => m,
    };
    Ok(match method {
        SplitMethod::Stratified => {
            if !schema.task.is_classification() {
                return Err(Error::invalid(
                    "split",
                    "a stratified split needs a classification target",
                ));
            }
            stratified_split(&class_ids(table, schema)?, ratios, data.seed)?
        }
        SplitMethod::Time => {
            let col = data.time_column.as_deref().ok_or_else(|| {
                Error::invalid(
                    "split",
                    "a time-ordered split needs a time column (--time-column)",
                )
            })?;
            ordered_split(&time_order(table, col)?, ratios)?
        }
        _ => random_split(table.len(), ratios, data.seed)?,
    })
}

fn fit(
    config: &ModelConfig,
    classification: bool,
    x: &zhixing_tensor::Tensor,
    y: &zhixing_tensor::Tensor,
    val: Option<&Features>,
    opts: &TrainOptions,
) -> Result<Box<dyn Estimator>> {
    Ok(match config {
        ModelConfig::Linear(c) | ModelConfig::Ridge(c) => {
            let mut m = LinearRegression::new(c.clone());
            m.fit(x, y)?;
            Box::new(m)
        }
        ModelConfig::Lasso(c) | ModelConfig::ElasticNet(c) => {
            let mut m = ElasticNet::new(c.clone());
            m.fit(x, y)?;
            Box::new(m)
        }
        ModelConfig::Polynomial(c) => {
            let mut m = PolynomialRegression::new(c.clone());
            m.fit(x, y)?;
            Box::new(m)
        }
        ModelConfig::Logistic(c) => {
            let mut m = LogisticRegression::new(c.clone());
            let bar = Spinner::new(opts.progress, "logistic regression (L-BFGS)");
            m.fit_with_progress(x, y, |it, f| bar.tick(it, f))?;
            bar.finish();
            Box::new(m)
        }
        ModelConfig::Tree(c) => fit_either(
            classification,
            x,
            y,
            DecisionTreeClassifier::new(c.clone()),
            DecisionTreeRegressor::new(c.clone()),
        )?,
        ModelConfig::Forest(c) => fit_either(
            classification,
            x,
            y,
            RandomForestClassifier::new(c.clone()),
            RandomForestRegressor::new(c.clone()),
        )?,
        ModelConfig::Knn(c) => fit_either(
            classification,
            x,
            y,
            KNeighborsClassifier::new(c.clone()),
            KNeighborsRegressor::new(c.clone()),
        )?,
        ModelConfig::Nb(c) => {
            let mut m: Box<dyn Estimator> = match c.variant {
                Variant::Gaussian => Box::new(GaussianNB::new(GaussianConfig {
                    var_smoothing: c.var_smoothing,
                })),
                Variant::Multinomial => {
                    Box::new(MultinomialNB::new(MultinomialConfig { alpha: c.alpha }))
                }
                Variant::Bernoulli => Box::new(BernoulliNB::new(BernoulliConfig {
                    alpha: c.alpha,
                    binarize: c.binarize,
                })),
            };
            m.fit(x, y)?;
            m
        }
        ModelConfig::Svm(c) => {
            let mut m = SvmClassifier::new(c.clone());
            m.fit(x, y)?;
            Box::new(m)
        }
        ModelConfig::Mlp(c) => {
            let kind = if classification {
                EstimatorKind::Classifier
            } else {
                EstimatorKind::Regressor
            };
            let mut m = Mlp::new(c.clone(), kind);
            let val = val.and_then(|v| v.y.as_ref().map(|vy| (&v.x, vy)));
            m.fit_with_validation(x, y, val, opts.progress)?;
            Box::new(m)
        }
    })
}

/// Fits the classifier or the regressor, by task.
fn fit_either(
    classification: bool,
    x: &zhixing_tensor::Tensor,
    y: &zhixing_tensor::Tensor,
    classifier: impl Estimator + 'static,
    regressor: impl Estimator + 'static,
) -> Result<Box<dyn Estimator>> {
    let mut m: Box<dyn Estimator> = if classification {
        Box::new(classifier)
    } else {
        Box::new(regressor)
    };
    m.fit(x, y)?;
    Ok(m)
}

/// An iteration counter with the objective, on a terminal only.
struct Spinner(Option<ProgressBar>);

impl Spinner {
    fn new(enabled: bool, what: &str) -> Spinner {
        if !enabled || !std::io::stderr().is_terminal() {
            return Spinner(None);
        }
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.set_prefix(what.to_string());
        Spinner(Some(bar))
    }

    fn tick(&self, iteration: usize, objective: f64) {
        if let Some(bar) = &self.0 {
            bar.set_message(format!("iteration {iteration}, objective {objective:.6}"));
            bar.tick();
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
