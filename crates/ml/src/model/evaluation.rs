//! Metrics of a model on transformed rows: the classification report (per-class
//! precision / recall / F1, averages, confusion matrix, ROC-AUC for binary problems,
//! log-loss) or the regression report (MSE, RMSE, MAE, R²).

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use zhixing_data::pipeline::Features;

use super::TabularModel;
use crate::error::{Error, Result};
use crate::estimator::{class_ids, values};
use crate::metrics::{log_loss, roc_auc, ClassificationReport, RegressionReport};

/// A model's metrics on one set of rows.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "task", rename_all = "snake_case")]
pub enum Evaluation {
    Classification(Box<ClassificationReport>),
    Regression(RegressionReport),
}

impl Evaluation {
    pub(crate) fn of(model: &TabularModel, features: &Features) -> Result<Evaluation> {
        let y = features
            .y
            .as_ref()
            .ok_or_else(|| Error::invalid("evaluate", "the data has no target column"))?;
        if features.rows.is_empty() {
            return Err(Error::invalid("evaluate", "no rows to evaluate"));
        }
        let pred = model.estimator.predict(&features.x)?;
        if !model.task().is_classification() {
            let report =
                RegressionReport::new(&values(y, "evaluate")?, &values(&pred, "evaluate")?)?;
            return Ok(Evaluation::Regression(report));
        }
        let classes = model.classes();
        let truth = class_ids(y, "evaluate")?;
        let guess = class_ids(&pred, "evaluate")?;
        let name =
            |ids: &[usize]| -> Vec<String> { ids.iter().map(|&c| classes[c].clone()).collect() };
        let mut report = ClassificationReport::with_labels(&name(&truth), &name(&guess), classes)?;
        if let Some(p) = model.estimator.predict_proba(&features.x)? {
            let k = p.shape()[1];
            let probs = p.contiguous()?.to_vec::<f64>()?;
            let rows: Vec<&[f64]> = probs.chunks(k).collect();
            let labels: Vec<usize> = (0..k).collect();
            if let Ok(loss) = log_loss(&truth, &rows, Some(&labels)) {
                report = report.with_log_loss(loss);
            }
            if k == 2 {
                let positive: Vec<bool> = truth.iter().map(|&c| c == 1).collect();
                let score: Vec<f64> = rows.iter().map(|r| r[1]).collect();
                // Undefined when the rows hold one class only; the report then omits it.
                if let Ok(auc) = roc_auc(&positive, &score) {
                    report = report.with_roc_auc(auc);
                }
            }
        }
        Ok(Evaluation::Classification(Box::new(report)))
    }

    /// The headline numbers: accuracy or R² first.
    pub fn headline(&self) -> (&'static str, f64) {
        match self {
            Evaluation::Classification(r) => ("accuracy", r.accuracy),
            Evaluation::Regression(r) => ("r2", r.r2),
        }
    }

    /// Metric name → value, as saved in the model file.
    pub fn summary(&self) -> BTreeMap<String, f64> {
        let mut m = BTreeMap::new();
        match self {
            Evaluation::Classification(r) => {
                m.insert("rows".into(), r.macro_avg.support as f64);
                m.insert("accuracy".into(), r.accuracy);
                m.insert("precision_macro".into(), r.macro_avg.precision);
                m.insert("recall_macro".into(), r.macro_avg.recall);
                m.insert("f1_macro".into(), r.macro_avg.f1);
                m.insert("f1_weighted".into(), r.weighted_avg.f1);
                if let Some(v) = r.log_loss {
                    m.insert("log_loss".into(), v);
                }
                if let Some(v) = r.roc_auc {
                    m.insert("roc_auc".into(), v);
                }
            }
            Evaluation::Regression(r) => {
                m.insert("rows".into(), r.n as f64);
                m.insert("mse".into(), r.mse);
                m.insert("rmse".into(), r.rmse);
                m.insert("mae".into(), r.mae);
                m.insert("r2".into(), r.r2);
            }
        }
        m
    }
}

impl fmt::Display for Evaluation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evaluation::Classification(r) => write!(f, "{r}"),
            Evaluation::Regression(r) => write!(f, "{r}"),
        }
    }
}
