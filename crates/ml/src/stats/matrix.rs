//! Covariance and Pearson correlation matrices over columns (variables).

use crate::error::{finite, non_empty, Error, Result};

use super::Estimate;

/// Column means after checking: at least one column, equal lengths, enough rows, finite.
fn prepare<C: AsRef<[f64]>>(
    what: &'static str,
    columns: &[C],
    min_rows: usize,
) -> Result<Vec<f64>> {
    non_empty(what, columns.len())?;
    let n = columns[0].as_ref().len();
    for c in columns {
        let c = c.as_ref();
        crate::error::same_len(what, n, c.len())?;
        finite(what, c)?;
    }
    if n < min_rows.max(1) {
        return Err(Error::TooFew {
            what,
            needed: min_rows.max(1),
            got: n,
        });
    }
    Ok(columns
        .iter()
        .map(|c| c.as_ref().iter().sum::<f64>() / n as f64)
        .collect())
}

/// Covariance matrix of the given columns (each a variable, all the same length), as
/// `numpy.cov(columns)`: the sample estimate divides by `n - 1` (numpy's default), the
/// population one by `n`.
pub fn covariance_matrix<C: AsRef<[f64]>>(columns: &[C], est: Estimate) -> Result<Vec<Vec<f64>>> {
    const WHAT: &str = "covariance_matrix";
    let min_rows = if est == Estimate::Sample { 2 } else { 1 };
    let means = prepare(WHAT, columns, min_rows)?;
    let n = columns[0].as_ref().len() as f64;
    let denom = if est == Estimate::Sample { n - 1.0 } else { n };
    let centered: Vec<Vec<f64>> = columns
        .iter()
        .zip(&means)
        .map(|(c, m)| c.as_ref().iter().map(|v| v - m).collect())
        .collect();
    let d = columns.len();
    let mut out = vec![vec![0.0; d]; d];
    for i in 0..d {
        for j in i..d {
            let s: f64 = centered[i]
                .iter()
                .zip(&centered[j])
                .map(|(a, b)| a * b)
                .sum();
            out[i][j] = s / denom;
            out[j][i] = out[i][j];
        }
    }
    Ok(out)
}

/// Pearson correlation matrix of the given columns, as `numpy.corrcoef(columns)`: entries
/// involving a constant column are NaN (undefined; they serialize as JSON `null`), the
/// others are clipped to [-1, 1].
pub fn correlation_matrix<C: AsRef<[f64]>>(columns: &[C]) -> Result<Vec<Vec<f64>>> {
    let cov = covariance_matrix(columns, Estimate::Population)?;
    let sd: Vec<f64> = (0..cov.len()).map(|i| cov[i][i].sqrt()).collect();
    Ok(cov
        .iter()
        .enumerate()
        .map(|(i, row)| {
            row.iter()
                .enumerate()
                .map(|(j, c)| {
                    let r = c / sd[i] / sd[j];
                    if sd[i] == 0.0 || sd[j] == 0.0 {
                        f64::NAN
                    } else {
                        r.clamp(-1.0, 1.0)
                    }
                })
                .collect()
        })
        .collect())
}

/// Pearson correlation of two samples; an error when either is constant.
pub fn pearson(x: &[f64], y: &[f64]) -> Result<f64> {
    let r = correlation_matrix(&[x, y])?[0][1];
    if r.is_nan() {
        return Err(Error::undefined(
            "pearson",
            "a constant sample has no correlation",
        ));
    }
    Ok(r)
}
