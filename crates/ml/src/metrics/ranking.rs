//! Metrics of ranked retrieval: hit-rate@k and mean reciprocal rank.

use crate::error::{non_empty, same_len, Error, Result};

fn check(what: &'static str, queries: usize, relevant: usize) -> Result<()> {
    same_len(what, queries, relevant)?;
    non_empty(what, queries)
}

/// 1-based rank of the first relevant result within the first `limit`, if any.
fn first_hit<T: PartialEq>(ranked: &[T], relevant: &[T], limit: usize) -> Option<usize> {
    ranked
        .iter()
        .take(limit)
        .position(|r| relevant.contains(r))
        .map(|i| i + 1)
}

/// Fraction of queries with at least one relevant item among their first `k` results.
/// `ranked[q]` is query `q`'s result list, best first; `relevant[q]` its relevant items
/// (a query with none counts as a miss).
pub fn hit_rate_at_k<T: PartialEq, R: AsRef<[T]>, S: AsRef<[T]>>(
    ranked: &[R],
    relevant: &[S],
    k: usize,
) -> Result<f64> {
    const WHAT: &str = "hit_rate_at_k";
    check(WHAT, ranked.len(), relevant.len())?;
    if k == 0 {
        return Err(Error::invalid(WHAT, "k must be at least 1"));
    }
    let hits = ranked
        .iter()
        .zip(relevant)
        .filter(|(r, s)| first_hit(r.as_ref(), s.as_ref(), k).is_some())
        .count();
    Ok(hits as f64 / ranked.len() as f64)
}

/// Mean over queries of 1 / (rank of the first relevant result), 0 for a query without
/// one; with `k`, only the first `k` results count (MRR@k).
pub fn mean_reciprocal_rank<T: PartialEq, R: AsRef<[T]>, S: AsRef<[T]>>(
    ranked: &[R],
    relevant: &[S],
    k: Option<usize>,
) -> Result<f64> {
    const WHAT: &str = "mean_reciprocal_rank";
    check(WHAT, ranked.len(), relevant.len())?;
    if k == Some(0) {
        return Err(Error::invalid(WHAT, "k must be at least 1"));
    }
    let limit = k.unwrap_or(usize::MAX);
    let sum: f64 = ranked
        .iter()
        .zip(relevant)
        .filter_map(|(r, s)| first_hit(r.as_ref(), s.as_ref(), limit))
        .map(|rank| 1.0 / rank as f64)
        .sum();
    Ok(sum / ranked.len() as f64)
}
