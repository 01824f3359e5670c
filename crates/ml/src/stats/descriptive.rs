//! Descriptive statistics of one sample of f64 values, with numpy / scipy semantics.
//!
//! Every function here refuses empty input and NaN or infinite values with an error; to
//! summarize a column with missing values (NaN), use [`present`] first or
//! [`ColumnStats`](super::ColumnStats), which counts them.

use serde::Serialize;

use crate::error::{finite, non_empty, Error, Result};

/// Which estimator of a moment: the population one (divide by `n`, scipy's
/// `bias=True`, numpy's `ddof=0`) or the sample one (Bessel-corrected variance, scipy's
/// `bias=False` adjusted skewness and kurtosis).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Estimate {
    Population,
    Sample,
}

/// Number of present (non-NaN) values.
pub fn count(x: &[f64]) -> usize {
    x.iter().filter(|v| !v.is_nan()).count()
}

/// Number of missing (NaN) values.
pub fn missing(x: &[f64]) -> usize {
    x.iter().filter(|v| v.is_nan()).count()
}

/// The present (non-NaN) values, in order.
pub fn present(x: &[f64]) -> Vec<f64> {
    x.iter().copied().filter(|v| !v.is_nan()).collect()
}

fn check(what: &'static str, x: &[f64]) -> Result<()> {
    non_empty(what, x.len())?;
    finite(what, x)
}

fn at_least(what: &'static str, x: &[f64], needed: usize) -> Result<()> {
    if x.len() < needed {
        return Err(Error::TooFew {
            what,
            needed,
            got: x.len(),
        });
    }
    Ok(())
}

fn sorted(x: &[f64]) -> Vec<f64> {
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    s
}

/// Arithmetic mean.
pub fn mean(x: &[f64]) -> Result<f64> {
    check("mean", x)?;
    Ok(x.iter().sum::<f64>() / x.len() as f64)
}

/// Smallest value.
pub fn min(x: &[f64]) -> Result<f64> {
    check("min", x)?;
    Ok(x.iter().copied().fold(f64::INFINITY, f64::min))
}

/// Largest value.
pub fn max(x: &[f64]) -> Result<f64> {
    check("max", x)?;
    Ok(x.iter().copied().fold(f64::NEG_INFINITY, f64::max))
}

/// Middle value (mean of the two middle values for an even count).
pub fn median(x: &[f64]) -> Result<f64> {
    check("median", x)?;
    Ok(quantile_sorted(&sorted(x), 0.5))
}

/// Most frequent value; among equally frequent values the smallest (as `scipy.stats.mode`).
pub fn mode(x: &[f64]) -> Result<f64> {
    check("mode", x)?;
    let s = sorted(x);
    let (mut best, mut best_n) = (s[0], 0usize);
    let mut i = 0;
    while i < s.len() {
        let j = i + s[i..].iter().take_while(|&&v| v == s[i]).count();
        if j - i > best_n {
            best = s[i];
            best_n = j - i;
        }
        i = j;
    }
    Ok(best)
}

/// Central moment `mean((x - mean)^p)` of an already checked sample.
fn central_moment(x: &[f64], m: f64, p: i32) -> f64 {
    x.iter().map(|v| (v - m).powi(p)).sum::<f64>() / x.len() as f64
}

/// Variance: the population one divides by `n`, the sample one by `n - 1` (needs 2 values).
pub fn variance(x: &[f64], est: Estimate) -> Result<f64> {
    const WHAT: &str = "variance";
    check(WHAT, x)?;
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let ss: f64 = x.iter().map(|v| (v - m) * (v - m)).sum();
    match est {
        Estimate::Population => Ok(ss / n),
        Estimate::Sample => {
            at_least(WHAT, x, 2)?;
            Ok(ss / (n - 1.0))
        }
    }
}

/// Standard deviation, the square root of [`variance`].
pub fn std(x: &[f64], est: Estimate) -> Result<f64> {
    Ok(variance(x, est)?.sqrt())
}

/// Quantile of a sorted, checked, non-empty sample by linear interpolation between the
/// closest ranks (numpy's default `method="linear"`, including its interpolation formula).
pub(crate) fn quantile_sorted(s: &[f64], q: f64) -> f64 {
    let virtual_index = q * (s.len() - 1) as f64;
    let lo = (virtual_index.floor() as usize).min(s.len() - 1);
    let hi = (lo + 1).min(s.len() - 1);
    let t = virtual_index - lo as f64;
    let (a, b) = (s[lo], s[hi]);
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

fn check_q(what: &'static str, q: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&q) {
        return Err(Error::invalid(
            what,
            format!("quantile {q} lies outside [0, 1]"),
        ));
    }
    Ok(())
}

/// The `q`-quantile (`q` in [0, 1]) by linear interpolation, as `numpy.quantile`.
pub fn quantile(x: &[f64], q: f64) -> Result<f64> {
    check("quantile", x)?;
    check_q("quantile", q)?;
    Ok(quantile_sorted(&sorted(x), q))
}

/// Several quantiles at once (one sort).
pub fn quantiles(x: &[f64], qs: &[f64]) -> Result<Vec<f64>> {
    check("quantiles", x)?;
    for &q in qs {
        check_q("quantiles", q)?;
    }
    let s = sorted(x);
    Ok(qs.iter().map(|&q| quantile_sorted(&s, q)).collect())
}

/// Interquartile range, the 0.75 quantile minus the 0.25 quantile (`scipy.stats.iqr`).
pub fn iqr(x: &[f64]) -> Result<f64> {
    let q = quantiles(x, &[0.25, 0.75])?;
    Ok(q[1] - q[0])
}

/// Second central moment and mean, or an error when the sample is (numerically)
/// constant — scipy's test `m2 <= (resolution * mean)^2` with resolution 1e-15.
fn spread(what: &'static str, x: &[f64]) -> Result<(f64, f64)> {
    let m = x.iter().sum::<f64>() / x.len() as f64;
    let m2 = central_moment(x, m, 2);
    if m2 <= (1e-15 * m) * (1e-15 * m) {
        return Err(Error::undefined(
            what,
            "the values are all equal, so the shape statistic is undefined",
        ));
    }
    Ok((m, m2))
}

/// Skewness. Population: `g1 = m3 / m2^1.5`; sample: the adjusted Fisher–Pearson
/// `G1 = g1 * sqrt(n (n - 1)) / (n - 2)` (scipy's `bias=False`, needs 3 values).
pub fn skewness(x: &[f64], est: Estimate) -> Result<f64> {
    const WHAT: &str = "skewness";
    check(WHAT, x)?;
    if est == Estimate::Sample {
        at_least(WHAT, x, 3)?;
    }
    let (m, m2) = spread(WHAT, x)?;
    let g1 = central_moment(x, m, 3) / m2.powf(1.5);
    let n = x.len() as f64;
    Ok(match est {
        Estimate::Population => g1,
        Estimate::Sample => g1 * (n * (n - 1.0)).sqrt() / (n - 2.0),
    })
}

/// Excess kurtosis (0 for a normal distribution). Population: `g2 = m4 / m2^2 - 3`;
/// sample: the unbiased `G2 = ((n² - 1) m4 / m2² - 3 (n - 1)²) / ((n - 2)(n - 3))`
/// (scipy's `bias=False`, needs 4 values).
pub fn kurtosis(x: &[f64], est: Estimate) -> Result<f64> {
    const WHAT: &str = "kurtosis";
    check(WHAT, x)?;
    if est == Estimate::Sample {
        at_least(WHAT, x, 4)?;
    }
    let (m, m2) = spread(WHAT, x)?;
    let ratio = central_moment(x, m, 4) / (m2 * m2);
    let n = x.len() as f64;
    Ok(match est {
        Estimate::Population => ratio - 3.0,
        Estimate::Sample => {
            ((n * n - 1.0) * ratio - 3.0 * (n - 1.0) * (n - 1.0)) / ((n - 2.0) * (n - 3.0))
        }
    })
}
