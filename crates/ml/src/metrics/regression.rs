//! Regression metrics: MSE, RMSE, MAE, R².

use std::fmt;

use serde::Serialize;

use crate::error::{finite, non_empty, same_len, Error, Result};

fn check(what: &'static str, y_true: &[f64], y_pred: &[f64]) -> Result<()> {
    same_len(what, y_true.len(), y_pred.len())?;
    non_empty(what, y_true.len())?;
    finite(what, y_true)?;
    finite(what, y_pred)
}

/// Mean squared error.
pub fn mse(y_true: &[f64], y_pred: &[f64]) -> Result<f64> {
    check("mse", y_true, y_pred)?;
    let s: f64 = y_true
        .iter()
        .zip(y_pred)
        .map(|(t, p)| (t - p) * (t - p))
        .sum();
    Ok(s / y_true.len() as f64)
}

/// Root mean squared error.
pub fn rmse(y_true: &[f64], y_pred: &[f64]) -> Result<f64> {
    Ok(mse(y_true, y_pred)?.sqrt())
}

/// Mean absolute error.
pub fn mae(y_true: &[f64], y_pred: &[f64]) -> Result<f64> {
    check("mae", y_true, y_pred)?;
    let s: f64 = y_true.iter().zip(y_pred).map(|(t, p)| (t - p).abs()).sum();
    Ok(s / y_true.len() as f64)
}

/// Coefficient of determination, `1 - SS_res / SS_tot`. For a constant target
/// (`SS_tot = 0`) it is 1 when the predictions are perfect and 0 otherwise, as
/// scikit-learn's `r2_score` (`force_finite=True`). Needs at least two samples.
pub fn r2(y_true: &[f64], y_pred: &[f64]) -> Result<f64> {
    const WHAT: &str = "r2";
    check(WHAT, y_true, y_pred)?;
    if y_true.len() < 2 {
        return Err(Error::TooFew {
            what: WHAT,
            needed: 2,
            got: y_true.len(),
        });
    }
    let mean = y_true.iter().sum::<f64>() / y_true.len() as f64;
    let ss_res: f64 = y_true
        .iter()
        .zip(y_pred)
        .map(|(t, p)| (t - p) * (t - p))
        .sum();
    let ss_tot: f64 = y_true.iter().map(|t| (t - mean) * (t - mean)).sum();
    Ok(if ss_tot == 0.0 {
        if ss_res == 0.0 {
            1.0
        } else {
            0.0
        }
    } else {
        1.0 - ss_res / ss_tot
    })
}

/// The regression metrics of one prediction run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegressionReport {
    pub n: usize,
    pub mse: f64,
    pub rmse: f64,
    pub mae: f64,
    pub r2: f64,
}

impl RegressionReport {
    pub fn new(y_true: &[f64], y_pred: &[f64]) -> Result<Self> {
        let mse = mse(y_true, y_pred)?;
        Ok(RegressionReport {
            n: y_true.len(),
            mse,
            rmse: mse.sqrt(),
            mae: mae(y_true, y_pred)?,
            r2: r2(y_true, y_pred)?,
        })
    }
}

impl fmt::Display for RegressionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "metric        value")?;
        writeln!(f, "samples {:>11}", self.n)?;
        for (name, v) in [
            ("MSE", self.mse),
            ("RMSE", self.rmse),
            ("MAE", self.mae),
            ("R²", self.r2),
        ] {
            writeln!(f, "{name:<7} {:>11}", fmt_num(v))?;
        }
        Ok(())
    }
}

/// Six significant-ish digits without switching to exponent form for ordinary sizes.
pub(crate) fn fmt_num(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e7 || v.abs() < 1e-4) {
        format!("{v:.4e}")
    } else {
        format!("{v:.6}")
    }
}
