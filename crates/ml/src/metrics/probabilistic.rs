//! Metrics of scores and probabilities: the ROC curve and its area, log-loss.

use serde::Serialize;

use crate::error::{finite, non_empty, same_len, Error, Result};

/// The receiver operating characteristic: one point per distinct score, highest first,
/// after a first point (0, 0) at threshold +inf (as scikit-learn's `roc_curve` with
/// `drop_intermediate=False`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RocCurve {
    pub fpr: Vec<f64>,
    pub tpr: Vec<f64>,
    pub thresholds: Vec<f64>,
}

impl RocCurve {
    /// Area under the curve by the trapezoid rule (tied scores give a diagonal segment,
    /// i.e. count one half).
    pub fn auc(&self) -> f64 {
        self.fpr
            .windows(2)
            .zip(self.tpr.windows(2))
            .map(|(x, y)| (x[1] - x[0]) * (y[1] + y[0]) / 2.0)
            .sum()
    }
}

/// ROC curve of binary labels (`true` = positive) against scores (higher = more positive).
/// Errors on empty input, a length mismatch, a non-finite score, or only one class.
pub fn roc_curve(y_true: &[bool], y_score: &[f64]) -> Result<RocCurve> {
    const WHAT: &str = "roc_curve";
    same_len(WHAT, y_true.len(), y_score.len())?;
    non_empty(WHAT, y_true.len())?;
    finite(WHAT, y_score)?;
    let pos = y_true.iter().filter(|&&t| t).count();
    let neg = y_true.len() - pos;
    if pos == 0 || neg == 0 {
        return Err(Error::undefined(
            WHAT,
            "only one class is present in y_true; ROC AUC needs both positives and negatives",
        ));
    }
    let mut order: Vec<usize> = (0..y_score.len()).collect();
    order.sort_by(|&a, &b| y_score[b].total_cmp(&y_score[a]));
    let (mut fpr, mut tpr, mut thresholds) = (vec![0.0], vec![0.0], vec![f64::INFINITY]);
    let (mut tp, mut fp) = (0usize, 0usize);
    for (k, &i) in order.iter().enumerate() {
        if y_true[i] {
            tp += 1;
        } else {
            fp += 1;
        }
        let last_of_group = order.get(k + 1).is_none_or(|&j| y_score[j] != y_score[i]);
        if last_of_group {
            fpr.push(fp as f64 / neg as f64);
            tpr.push(tp as f64 / pos as f64);
            thresholds.push(y_score[i]);
        }
    }
    Ok(RocCurve {
        fpr,
        tpr,
        thresholds,
    })
}

/// Area under the ROC curve of binary labels and scores (scikit-learn's `roc_auc_score`).
pub fn roc_auc(y_true: &[bool], y_score: &[f64]) -> Result<f64> {
    Ok(roc_curve(y_true, y_score)?.auc())
}

fn check_probability(what: &'static str, p: f64) -> Result<()> {
    if !p.is_finite() {
        return Err(Error::invalid(
            what,
            format!("probability {p} is not finite"),
        ));
    }
    if !(0.0..=1.0).contains(&p) {
        return Err(Error::invalid(
            what,
            format!("probability {p} lies outside [0, 1]"),
        ));
    }
    Ok(())
}

/// Mean negative log-likelihood of the true labels, probabilities clipped to
/// `[eps, 1 - eps]` with `eps = f64::EPSILON` (scikit-learn's `log_loss`).
///
/// Column `j` of `y_proba` belongs to the `j`-th label in sorted order: of `labels`
/// when given (sorted and de-duplicated here), else of the labels in `y_true`. Rows are
/// not renormalized. Errors on one label, a true label outside `labels`, a row of the
/// wrong width, or a probability outside [0, 1].
pub fn log_loss<L: Ord + Clone, R: AsRef<[f64]>>(
    y_true: &[L],
    y_proba: &[R],
    labels: Option<&[L]>,
) -> Result<f64> {
    const WHAT: &str = "log_loss";
    same_len(WHAT, y_true.len(), y_proba.len())?;
    non_empty(WHAT, y_true.len())?;
    let mut classes: Vec<L> = match labels {
        Some(l) => l.to_vec(),
        None => y_true.to_vec(),
    };
    classes.sort();
    classes.dedup();
    if classes.len() < 2 {
        return Err(Error::undefined(
            WHAT,
            "only one label; pass all expected class labels explicitly",
        ));
    }
    let mut total = 0.0;
    for (t, row) in y_true.iter().zip(y_proba) {
        let row = row.as_ref();
        let Ok(j) = classes.binary_search(t) else {
            return Err(Error::invalid(
                WHAT,
                "y_true holds a label that is not in the given labels",
            ));
        };
        if row.len() != classes.len() {
            return Err(Error::LengthMismatch {
                what: "log_loss: probability row vs number of classes",
                left: row.len(),
                right: classes.len(),
            });
        }
        for &p in row {
            check_probability(WHAT, p)?;
        }
        total -= clip(row[j]).ln();
    }
    Ok(total / y_true.len() as f64)
}

/// Log-loss of binary labels against the probability of the positive class.
pub fn log_loss_binary(y_true: &[bool], p_positive: &[f64]) -> Result<f64> {
    const WHAT: &str = "log_loss";
    same_len(WHAT, y_true.len(), p_positive.len())?;
    non_empty(WHAT, y_true.len())?;
    let pos = y_true.iter().filter(|&&t| t).count();
    if pos == 0 || pos == y_true.len() {
        return Err(Error::undefined(
            WHAT,
            "only one class in y_true; use log_loss with explicit labels",
        ));
    }
    let mut total = 0.0;
    for (&t, &p) in y_true.iter().zip(p_positive) {
        check_probability(WHAT, p)?;
        let p = clip(p);
        total -= if t { p.ln() } else { (1.0 - p).ln() };
    }
    Ok(total / y_true.len() as f64)
}

fn clip(p: f64) -> f64 {
    p.clamp(f64::EPSILON, 1.0 - f64::EPSILON)
}
