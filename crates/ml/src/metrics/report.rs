//! `ClassificationReport`: per-class scores, averages, accuracy and the confusion matrix
//! in one struct that prints as a table and serializes for `--json`.

use std::fmt;

use serde::Serialize;

use super::classification::{
    accuracy, precision_recall_f1, precision_recall_f1_average, AverageScores, ClassScores,
    ConfusionMatrix, IllDefined,
};
use crate::error::Result;

/// Everything `eval` reports about a classifier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassificationReport {
    /// One row per label, in label order.
    pub classes: Vec<ClassScores<String>>,
    pub accuracy: f64,
    pub macro_avg: AverageScores,
    pub weighted_avg: AverageScores,
    pub micro_avg: AverageScores,
    pub confusion_matrix: ConfusionMatrix<String>,
    /// Filled by [`ClassificationReport::with_roc_auc`] for binary problems.
    pub roc_auc: Option<f64>,
    /// Filled by [`ClassificationReport::with_log_loss`].
    pub log_loss: Option<f64>,
    /// Human-readable notes on ill-defined scores (set to 0).
    pub warnings: Vec<String>,
}

impl ClassificationReport {
    /// Over the sorted union of the labels in `y_true` and `y_pred`.
    pub fn new<L: Ord + Clone + fmt::Display>(y_true: &[L], y_pred: &[L]) -> Result<Self> {
        let cm = ConfusionMatrix::new(y_true, y_pred)?;
        let labels = cm.labels.clone();
        Self::build(y_true, y_pred, &labels, cm)
    }

    /// Over `labels` in the given order.
    pub fn with_labels<L: Ord + Clone + fmt::Display>(
        y_true: &[L],
        y_pred: &[L],
        labels: &[L],
    ) -> Result<Self> {
        let cm = ConfusionMatrix::with_labels(y_true, y_pred, labels)?;
        Self::build(y_true, y_pred, labels, cm)
    }

    fn build<L: Ord + Clone + fmt::Display>(
        y_true: &[L],
        y_pred: &[L],
        labels: &[L],
        cm: ConfusionMatrix<L>,
    ) -> Result<Self> {
        let rows = precision_recall_f1(y_true, y_pred, Some(labels))?;
        let avg = |a| precision_recall_f1_average(y_true, y_pred, Some(labels), a);
        let macro_avg = avg(super::Average::Macro)?;
        let weighted_avg = avg(super::Average::Weighted)?;
        let micro_avg = avg(super::Average::Micro)?;
        let mut warnings = Vec::new();
        for r in &rows {
            if r.ill_defined.precision {
                warnings.push(format!(
                    "precision of class {} is ill-defined (no predicted samples) and set to 0",
                    r.label
                ));
            }
            if r.ill_defined.recall {
                warnings.push(format!(
                    "recall of class {} is ill-defined (no true samples) and set to 0",
                    r.label
                ));
            }
        }
        Ok(ClassificationReport {
            classes: rows
                .into_iter()
                .map(|r| ClassScores {
                    label: r.label.to_string(),
                    precision: r.precision,
                    recall: r.recall,
                    f1: r.f1,
                    support: r.support,
                    ill_defined: r.ill_defined,
                })
                .collect(),
            accuracy: accuracy(y_true, y_pred)?,
            macro_avg,
            weighted_avg,
            micro_avg,
            confusion_matrix: cm.map_labels(|l| l.to_string()),
            roc_auc: None,
            log_loss: None,
            warnings,
        })
    }

    pub fn with_roc_auc(mut self, auc: f64) -> Self {
        self.roc_auc = Some(auc);
        self
    }

    pub fn with_log_loss(mut self, loss: f64) -> Self {
        self.log_loss = Some(loss);
        self
    }

    /// Whether any per-class score was ill-defined.
    pub fn any_ill_defined(&self) -> bool {
        self.classes.iter().any(|c| c.ill_defined.any())
    }
}

fn row(
    f: &mut fmt::Formatter<'_>,
    w: usize,
    name: &str,
    s: (f64, f64, f64),
    support: u64,
    flags: IllDefined,
) -> fmt::Result {
    let mark = if flags.any() { " *" } else { "" };
    writeln!(
        f,
        "{name:>w$}  {:>9.4}  {:>9.4}  {:>9.4}  {support:>8}{mark}",
        s.0, s.1, s.2
    )
}

impl fmt::Display for ClassificationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self
            .classes
            .iter()
            .map(|c| c.label.chars().count())
            .chain([12])
            .max()
            .unwrap_or(12);
        writeln!(
            f,
            "{:>w$}  {:>9}  {:>9}  {:>9}  {:>8}",
            "", "precision", "recall", "f1-score", "support"
        )?;
        for c in &self.classes {
            let s = (c.precision, c.recall, c.f1);
            row(f, w, &c.label, s, c.support, c.ill_defined)?;
        }
        writeln!(f)?;
        let total = self.macro_avg.support;
        writeln!(
            f,
            "{:>w$}  {:>9}  {:>9}  {:>9.4}  {total:>8}",
            "accuracy", "", "", self.accuracy
        )?;
        for (name, a) in [
            ("micro avg", &self.micro_avg),
            ("macro avg", &self.macro_avg),
            ("weighted avg", &self.weighted_avg),
        ] {
            row(
                f,
                w,
                name,
                (a.precision, a.recall, a.f1),
                a.support,
                a.ill_defined,
            )?;
        }
        if let Some(auc) = self.roc_auc {
            writeln!(f, "{:>w$}  {auc:>9.4}", "ROC AUC")?;
        }
        if let Some(loss) = self.log_loss {
            writeln!(f, "{:>w$}  {loss:>9.4}", "log-loss")?;
        }
        if self.any_ill_defined() {
            writeln!(f, "* ill-defined scores (zero denominator) are set to 0")?;
        }
        writeln!(f)?;
        write!(f, "confusion matrix\n{}", self.confusion_matrix)
    }
}
