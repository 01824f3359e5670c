//! Descriptive statistics with numpy / scipy semantics, on f64 slices (and tensors).

mod descriptive;
mod info;
mod matrix;
mod summary;

pub use descriptive::{
    count, iqr, kurtosis, max, mean, median, min, missing, mode, present, quantile, quantiles,
    skewness, std, variance, Estimate,
};
pub use info::{cross_entropy, entropy, kl_divergence};
pub use matrix::{correlation_matrix, covariance_matrix, pearson};
pub use summary::{matrix_table, stats_table, ColumnStats};

use zhixing_tensor::Tensor;

use crate::error::{Error, Result};

/// The columns of a tensor as f64 vectors: a 1-D tensor is one column, a 2-D tensor of
/// shape `[samples, features]` gives one vector per feature.
pub fn tensor_columns(x: &Tensor) -> Result<Vec<Vec<f64>>> {
    match x.rank() {
        1 => Ok(vec![x.to_vec_f64()]),
        2 => {
            let (n, d) = (x.shape()[0], x.shape()[1]);
            let flat = x.to_vec_f64();
            Ok((0..d)
                .map(|j| (0..n).map(|i| flat[i * d + j]).collect())
                .collect())
        }
        r => Err(Error::invalid(
            "tensor_columns",
            format!("expected a 1-D or 2-D tensor, got rank {r}"),
        )),
    }
}

/// [`ColumnStats`] of every column of a 1-D or `[samples, features]` tensor; columns are
/// named by `names` when given (one per column), else `x0`, `x1`, ….
pub fn describe_tensor(x: &Tensor, names: Option<&[String]>) -> Result<Vec<ColumnStats>> {
    let cols = tensor_columns(x)?;
    if let Some(names) = names {
        crate::error::same_len("describe_tensor: names vs columns", names.len(), cols.len())?;
    }
    cols.iter()
        .enumerate()
        .map(|(j, c)| {
            let name = names.map_or_else(|| format!("x{j}"), |n| n[j].clone());
            ColumnStats::new(name, c)
        })
        .collect()
}

/// Covariance matrix of the features of a `[samples, features]` tensor.
pub fn covariance_matrix_tensor(x: &Tensor, est: Estimate) -> Result<Vec<Vec<f64>>> {
    covariance_matrix(&tensor_columns(x)?, est)
}

/// Pearson correlation matrix of the features of a `[samples, features]` tensor.
pub fn correlation_matrix_tensor(x: &Tensor) -> Result<Vec<Vec<f64>>> {
    correlation_matrix(&tensor_columns(x)?)
}
