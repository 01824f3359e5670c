//! Label metrics: confusion matrix, accuracy, precision / recall / F1 per class and their
//! micro / macro / weighted averages, with scikit-learn's semantics.
//!
//! Zero division follows scikit-learn's default (`zero_division="warn"`): an ill-defined
//! score (precision of a class never predicted, recall of a class never present) is 0,
//! and the [`IllDefined`] flags beside it say so.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::error::{non_empty, same_len, Error, Result};

/// Sorted, de-duplicated union of the labels in `a` and `b`.
pub fn unique_labels<L: Ord + Clone>(a: &[L], b: &[L]) -> Vec<L> {
    let mut v: Vec<L> = a.iter().chain(b).cloned().collect();
    v.sort();
    v.dedup();
    v
}

fn index_of<L: Ord>(labels: &[L]) -> BTreeMap<&L, usize> {
    labels.iter().enumerate().map(|(i, l)| (l, i)).collect()
}

fn check_labels<L: Ord + Clone>(what: &'static str, labels: &[L]) -> Result<()> {
    if labels.is_empty() {
        return Err(Error::invalid(what, "the label list is empty"));
    }
    let mut sorted: Vec<&L> = labels.iter().collect();
    sorted.sort();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err(Error::invalid(what, "the label list repeats a label"));
    }
    Ok(())
}

/// Fraction of positions where `y_pred` equals `y_true`.
pub fn accuracy<L: PartialEq>(y_true: &[L], y_pred: &[L]) -> Result<f64> {
    same_len("accuracy", y_true.len(), y_pred.len())?;
    non_empty("accuracy", y_true.len())?;
    let hits = y_true.iter().zip(y_pred).filter(|(t, p)| t == p).count();
    Ok(hits as f64 / y_true.len() as f64)
}

/// Counts of true (rows) against predicted (columns) labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfusionMatrix<L> {
    /// Row / column order.
    pub labels: Vec<L>,
    /// `counts[i][j]`: samples whose true label is `labels[i]` and prediction `labels[j]`.
    pub counts: Vec<Vec<u64>>,
}

impl<L: Ord + Clone> ConfusionMatrix<L> {
    /// Over the sorted union of the labels seen in `y_true` and `y_pred`.
    pub fn new(y_true: &[L], y_pred: &[L]) -> Result<Self> {
        same_len("confusion_matrix", y_true.len(), y_pred.len())?;
        non_empty("confusion_matrix", y_true.len())?;
        let labels = unique_labels(y_true, y_pred);
        Self::build(y_true, y_pred, labels)
    }

    /// Over `labels` in the given order; samples whose true or predicted label is not
    /// listed are left out (as scikit-learn's `labels=`). At least one listed label must
    /// occur in `y_true`.
    pub fn with_labels(y_true: &[L], y_pred: &[L], labels: &[L]) -> Result<Self> {
        same_len("confusion_matrix", y_true.len(), y_pred.len())?;
        non_empty("confusion_matrix", y_true.len())?;
        check_labels("confusion_matrix", labels)?;
        let idx = index_of(labels);
        if !y_true.iter().any(|t| idx.contains_key(t)) {
            return Err(Error::invalid(
                "confusion_matrix",
                "none of the given labels occurs in y_true",
            ));
        }
        Self::build(y_true, y_pred, labels.to_vec())
    }

    fn build(y_true: &[L], y_pred: &[L], labels: Vec<L>) -> Result<Self> {
        let k = labels.len();
        let mut counts = vec![vec![0u64; k]; k];
        {
            let idx = index_of(&labels);
            for (t, p) in y_true.iter().zip(y_pred) {
                if let (Some(&i), Some(&j)) = (idx.get(t), idx.get(p)) {
                    counts[i][j] += 1;
                }
            }
        }
        Ok(ConfusionMatrix { labels, counts })
    }
}

impl<L> ConfusionMatrix<L> {
    pub fn n_classes(&self) -> usize {
        self.labels.len()
    }
    /// All counted samples.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }
    /// Samples on the diagonal.
    pub fn correct(&self) -> u64 {
        (0..self.labels.len()).map(|i| self.counts[i][i]).sum()
    }
    /// Samples whose true label is class `i` (row sum).
    pub fn support(&self, i: usize) -> u64 {
        self.counts[i].iter().sum()
    }
    /// Samples predicted as class `i` (column sum).
    pub fn predicted(&self, i: usize) -> u64 {
        self.counts.iter().map(|r| r[i]).sum()
    }
    /// The same matrix with each label turned into text.
    pub fn map_labels<M>(&self, f: impl Fn(&L) -> M) -> ConfusionMatrix<M> {
        ConfusionMatrix {
            labels: self.labels.iter().map(f).collect(),
            counts: self.counts.clone(),
        }
    }
}

/// A text grid: rows are true labels, columns predicted labels.
impl<L: fmt::Display> fmt::Display for ConfusionMatrix<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.labels.iter().map(|l| l.to_string()).collect();
        let corner = "true \\ pred";
        let w0 = names
            .iter()
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0)
            .max(corner.len());
        let w = names
            .iter()
            .map(|s| s.chars().count())
            .chain(self.counts.iter().flatten().map(|c| c.to_string().len()))
            .max()
            .unwrap_or(1);
        write!(f, "{corner:>w0$}")?;
        for n in &names {
            write!(f, "  {n:>w$}")?;
        }
        writeln!(f)?;
        for (name, row) in names.iter().zip(&self.counts) {
            write!(f, "{name:>w0$}")?;
            for c in row {
                write!(f, "  {c:>w$}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// Which scores of a row were ill-defined (a zero denominator) and so set to 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IllDefined {
    pub precision: bool,
    pub recall: bool,
    pub f1: bool,
}

impl IllDefined {
    pub fn any(&self) -> bool {
        self.precision || self.recall || self.f1
    }
}

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassScores<L> {
    pub label: L,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Samples whose true label is this class.
    pub support: u64,
    pub ill_defined: IllDefined,
}

/// An average of per-class scores.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AverageScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Samples over the averaged classes.
    pub support: u64,
    pub ill_defined: IllDefined,
}

/// How per-class scores are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Average {
    /// Global true-positive, false-positive and false-negative counts.
    Micro,
    /// Unweighted mean over classes.
    Macro,
    /// Mean over classes weighted by support.
    Weighted,
}

/// `num / den`, or 0 and a flag when `den == 0`.
fn divide(num: u64, den: u64) -> (f64, bool) {
    if den == 0 {
        (0.0, true)
    } else {
        (num as f64 / den as f64, false)
    }
}

/// Scores from true-positive, predicted and true counts (F1 = 2tp / (pred + true)).
fn scores(tp: u64, pred: u64, truth: u64) -> (f64, f64, f64, IllDefined) {
    let (p, pi) = divide(tp, pred);
    let (r, ri) = divide(tp, truth);
    let (f, fi) = divide(2 * tp, pred + truth);
    let flags = IllDefined {
        precision: pi,
        recall: ri,
        f1: fi,
    };
    (p, r, f, flags)
}

/// Per-label counts (true positives, predicted, true), as scikit-learn's multilabel
/// confusion matrix: a sample whose labels are not listed still counts for the listed one.
fn label_counts<L: Ord>(y_true: &[L], y_pred: &[L], labels: &[L]) -> Vec<(u64, u64, u64)> {
    let idx = index_of(labels);
    let mut c = vec![(0u64, 0u64, 0u64); labels.len()];
    for (t, p) in y_true.iter().zip(y_pred) {
        if let Some(&i) = idx.get(t) {
            c[i].2 += 1;
            if t == p {
                c[i].0 += 1;
            }
        }
        if let Some(&j) = idx.get(p) {
            c[j].1 += 1;
        }
    }
    c
}

/// Per-class precision / recall / F1 over `labels` (or the sorted union of both inputs).
pub fn precision_recall_f1<L: Ord + Clone>(
    y_true: &[L],
    y_pred: &[L],
    labels: Option<&[L]>,
) -> Result<Vec<ClassScores<L>>> {
    const WHAT: &str = "precision_recall_f1";
    same_len(WHAT, y_true.len(), y_pred.len())?;
    non_empty(WHAT, y_true.len())?;
    let labels = match labels {
        Some(l) => {
            check_labels(WHAT, l)?;
            l.to_vec()
        }
        None => unique_labels(y_true, y_pred),
    };
    let counts = label_counts(y_true, y_pred, &labels);
    Ok(labels
        .into_iter()
        .zip(counts)
        .map(|(label, (tp, pred, truth))| {
            let (precision, recall, f1, ill_defined) = scores(tp, pred, truth);
            ClassScores {
                label,
                precision,
                recall,
                f1,
                support: truth,
                ill_defined,
            }
        })
        .collect())
}

/// Averaged precision / recall / F1 over `labels` (or all labels seen).
pub fn precision_recall_f1_average<L: Ord + Clone>(
    y_true: &[L],
    y_pred: &[L],
    labels: Option<&[L]>,
    average: Average,
) -> Result<AverageScores> {
    let classes = precision_recall_f1(y_true, y_pred, labels)?;
    if average == Average::Micro {
        let labels: Vec<L> = classes.iter().map(|c| c.label.clone()).collect();
        let (tp, pred, truth) = label_counts(y_true, y_pred, &labels)
            .into_iter()
            .fold((0, 0, 0), |a, c| (a.0 + c.0, a.1 + c.1, a.2 + c.2));
        let (precision, recall, f1, ill_defined) = scores(tp, pred, truth);
        return Ok(AverageScores {
            precision,
            recall,
            f1,
            support: truth,
            ill_defined,
        });
    }
    Ok(average_of(&classes, average))
}

/// Macro (unweighted) or support-weighted mean of already computed rows; the micro
/// average needs the raw counts and is computed in [`precision_recall_f1_average`].
fn average_of<L>(classes: &[ClassScores<L>], average: Average) -> AverageScores {
    let support: u64 = classes.iter().map(|c| c.support).sum();
    let weights: Vec<f64> = match average {
        Average::Weighted => classes.iter().map(|c| c.support as f64).collect(),
        _ => vec![1.0; classes.len()],
    };
    let wsum: f64 = weights.iter().sum();
    let mut flags = IllDefined {
        precision: classes.iter().any(|c| c.ill_defined.precision),
        recall: classes.iter().any(|c| c.ill_defined.recall),
        f1: classes.iter().any(|c| c.ill_defined.f1),
    };
    if wsum == 0.0 {
        flags = IllDefined {
            precision: true,
            recall: true,
            f1: true,
        };
        return AverageScores {
            precision: 0.0,
            recall: 0.0,
            f1: 0.0,
            support,
            ill_defined: flags,
        };
    }
    let mean = |f: &dyn Fn(&ClassScores<L>) -> f64| {
        classes
            .iter()
            .zip(&weights)
            .map(|(c, w)| f(c) * w)
            .sum::<f64>()
            / wsum
    };
    AverageScores {
        precision: mean(&|c| c.precision),
        recall: mean(&|c| c.recall),
        f1: mean(&|c| c.f1),
        support,
        ill_defined: flags,
    }
}

/// Precision / recall / F1 of the positive class of a binary problem (scikit-learn's
/// `average="binary"`). Errors when more than two labels occur, or when two occur and
/// `pos_label` is not one of them.
pub fn binary_scores<L: Ord + Clone>(
    y_true: &[L],
    y_pred: &[L],
    pos_label: &L,
) -> Result<AverageScores> {
    const WHAT: &str = "binary_scores";
    same_len(WHAT, y_true.len(), y_pred.len())?;
    non_empty(WHAT, y_true.len())?;
    let present = unique_labels(y_true, y_pred);
    if present.len() > 2 {
        return Err(Error::invalid(
            WHAT,
            format!(
                "{} labels occur; use a micro, macro or weighted average for multi-class",
                present.len()
            ),
        ));
    }
    if present.len() == 2 && !present.contains(pos_label) {
        return Err(Error::invalid(
            WHAT,
            "the positive label occurs in neither y_true nor y_pred",
        ));
    }
    let (tp, pred, truth) = label_counts(y_true, y_pred, std::slice::from_ref(pos_label))[0];
    let (precision, recall, f1, ill_defined) = scores(tp, pred, truth);
    Ok(AverageScores {
        precision,
        recall,
        f1,
        support: truth,
        ill_defined,
    })
}
