//! Information measures of discrete distributions: entropy, cross-entropy, KL divergence.
//!
//! As `scipy.stats.entropy`, the inputs are weights normalized here to sum to 1, the
//! logarithm is natural unless a base is given, and `0 · log 0 = 0`.

use crate::error::{finite, non_empty, same_len, Error, Result};

/// Weights divided by their sum, after checking they are finite, non-negative and not
/// all zero.
fn normalize(what: &'static str, p: &[f64]) -> Result<Vec<f64>> {
    non_empty(what, p.len())?;
    finite(what, p)?;
    if let Some(v) = p.iter().find(|v| **v < 0.0) {
        return Err(Error::invalid(what, format!("negative probability {v}")));
    }
    let s: f64 = p.iter().sum();
    if s == 0.0 {
        return Err(Error::invalid(what, "the probabilities sum to zero"));
    }
    Ok(p.iter().map(|v| v / s).collect())
}

/// The divisor that turns natural logarithms into logarithms in `base`.
fn log_base(what: &'static str, base: Option<f64>) -> Result<f64> {
    match base {
        None => Ok(1.0),
        Some(b) if b.is_finite() && b > 0.0 && b != 1.0 => Ok(b.ln()),
        Some(b) => Err(Error::invalid(
            what,
            format!("log base {b} must be positive, finite and not 1"),
        )),
    }
}

/// Shannon entropy `-Σ p log p`.
pub fn entropy(p: &[f64], base: Option<f64>) -> Result<f64> {
    const WHAT: &str = "entropy";
    let lb = log_base(WHAT, base)?;
    let p = normalize(WHAT, p)?;
    let h: f64 = p.iter().filter(|&&v| v > 0.0).map(|v| -v * v.ln()).sum();
    Ok(h / lb)
}

fn pair(what: &'static str, p: &[f64], q: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
    same_len(what, p.len(), q.len())?;
    Ok((normalize(what, p)?, normalize(what, q)?))
}

/// Cross-entropy `-Σ p log q`; infinite where `q` is 0 and `p` is not.
pub fn cross_entropy(p: &[f64], q: &[f64], base: Option<f64>) -> Result<f64> {
    const WHAT: &str = "cross_entropy";
    let lb = log_base(WHAT, base)?;
    let (p, q) = pair(WHAT, p, q)?;
    let h: f64 = p
        .iter()
        .zip(&q)
        .filter(|(a, _)| **a > 0.0)
        .map(|(a, b)| if *b > 0.0 { -a * b.ln() } else { f64::INFINITY })
        .sum();
    Ok(h / lb)
}

/// Kullback–Leibler divergence `KL(p ‖ q) = Σ p log(p / q)`; infinite where `q` is 0 and
/// `p` is not.
pub fn kl_divergence(p: &[f64], q: &[f64], base: Option<f64>) -> Result<f64> {
    const WHAT: &str = "kl_divergence";
    let lb = log_base(WHAT, base)?;
    let (p, q) = pair(WHAT, p, q)?;
    let d: f64 = p
        .iter()
        .zip(&q)
        .filter(|(a, _)| **a > 0.0)
        .map(|(a, b)| {
            if *b > 0.0 {
                a * (a / b).ln()
            } else {
                f64::INFINITY
            }
        })
        .sum();
    Ok(d / lb)
}
