//! Evaluation metrics, matching scikit-learn's definitions and edge cases.

mod classification;
mod probabilistic;
mod ranking;
mod regression;
mod report;

pub use classification::{
    accuracy, binary_scores, precision_recall_f1, precision_recall_f1_average, unique_labels,
    Average, AverageScores, ClassScores, ConfusionMatrix, IllDefined,
};
pub use probabilistic::{log_loss, log_loss_binary, roc_auc, roc_curve, RocCurve};
pub use ranking::{hit_rate_at_k, mean_reciprocal_rank};
pub use regression::{mae, mse, r2, rmse, RegressionReport};
pub use report::ClassificationReport;

pub(crate) use regression::fmt_num;
