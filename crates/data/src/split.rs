//! Seeded train / validation / test splits (random, stratified, time-ordered) and k-fold
//! cross-validation indices. Every function returns row indices into the table.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use zhixing_tensor::Rng;

use crate::records::Table;
use crate::{Error, Result};

/// Fractions of the rows per split; they must sum to 1.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitRatios {
    pub train: f64,
    pub validation: f64,
    pub test: f64,
}

impl Default for SplitRatios {
    fn default() -> Self {
        SplitRatios {
            train: 0.8,
            validation: 0.1,
            test: 0.1,
        }
    }
}

impl SplitRatios {
    pub fn validate(&self) -> Result<()> {
        let all = [self.train, self.validation, self.test];
        if all.iter().any(|r| !r.is_finite() || *r < 0.0)
            || self.train <= 0.0
            || (all.iter().sum::<f64>() - 1.0).abs() > 1e-6
        {
            return Err(Error::Invalid(format!(
                "split ratios {}/{}/{} must be non-negative, sum to 1, with a non-empty train split",
                self.train, self.validation, self.test
            )));
        }
        Ok(())
    }

    /// (validation, test) row counts of `n` rows (the rest is train).
    fn counts(&self, n: usize) -> (usize, usize) {
        let test = ((n as f64) * self.test).round() as usize;
        let val = ((n as f64) * self.validation).round() as usize;
        let test = test.min(n);
        (val.min(n - test), test)
    }
}

/// Row indices of each split.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    pub train: Vec<usize>,
    pub validation: Vec<usize>,
    pub test: Vec<usize>,
}

/// Shuffles `0..n` with `seed` and cuts it by `ratios` (each split sorted ascending).
pub fn random_split(n: usize, ratios: SplitRatios, seed: u64) -> Result<Split> {
    ratios.validate()?;
    let mut order: Vec<usize> = (0..n).collect();
    Rng::seed(seed).shuffle(&mut order);
    let mut s = cut(&order, ratios);
    sort_split(&mut s);
    Ok(s)
}

/// Splits each class by `ratios` separately, so class proportions are kept in every
/// split. `labels[i]` is row i's class id.
pub fn stratified_split(labels: &[usize], ratios: SplitRatios, seed: u64) -> Result<Split> {
    ratios.validate()?;
    let mut rng = Rng::seed(seed);
    let mut s = Split::default();
    for mut rows in by_class(labels) {
        rng.shuffle(&mut rows);
        let part = cut(&rows, ratios);
        s.train.extend(part.train);
        s.validation.extend(part.validation);
        s.test.extend(part.test);
    }
    sort_split(&mut s);
    Ok(s)
}

/// Cuts `order` (rows already in time order) without shuffling: the earliest rows train,
/// then validation, then the latest rows test.
pub fn ordered_split(order: &[usize], ratios: SplitRatios) -> Result<Split> {
    ratios.validate()?;
    Ok(cut(order, ratios))
}

/// The rows of `table` sorted by `column` (numbers numerically, anything else as text,
/// e.g. ISO dates); ties keep file order. A missing value is an error naming its line.
pub fn time_order(table: &Table, column: &str) -> Result<Vec<usize>> {
    let Some(j) = table.column_index(column) else {
        return Err(Error::format(
            &table.source,
            format!("unknown time column `{column}`"),
        ));
    };
    let values: Vec<_> = table.column(j).collect();
    if let Some(i) = values.iter().position(|v| v.is_missing()) {
        return Err(table.row_error(i, Some(column), "missing value in the time column"));
    }
    let numeric = values.iter().all(|v| v.as_f64().is_some());
    let mut order: Vec<usize> = (0..values.len()).collect();
    if numeric {
        let xs: Vec<f64> = values.iter().map(|v| v.as_f64().unwrap_or(0.0)).collect();
        order.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    } else {
        let ss: Vec<String> = values
            .iter()
            .map(|v| v.as_text().unwrap_or_default())
            .collect();
        order.sort_by(|&a, &b| ss[a].cmp(&ss[b]));
    }
    Ok(order)
}

fn cut(order: &[usize], ratios: SplitRatios) -> Split {
    let n = order.len();
    let (nv, nt) = ratios.counts(n);
    let ntr = n - nv - nt;
    Split {
        train: order[..ntr].to_vec(),
        validation: order[ntr..ntr + nv].to_vec(),
        test: order[ntr + nv..].to_vec(),
    }
}

fn sort_split(s: &mut Split) {
    s.train.sort_unstable();
    s.validation.sort_unstable();
    s.test.sort_unstable();
}

fn by_class(labels: &[usize]) -> Vec<Vec<usize>> {
    let k = labels.iter().copied().max().map_or(0, |m| m + 1);
    let mut rows = vec![Vec::new(); k];
    for (i, &c) in labels.iter().enumerate() {
        rows[c].push(i);
    }
    rows.retain(|r| !r.is_empty());
    rows
}

/// One cross-validation fold: `test` is held out, `train` is everything else.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fold {
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

fn check_k(n: usize, k: usize) -> Result<()> {
    if k < 2 || k > n {
        return Err(Error::Invalid(format!(
            "k-fold needs 2 <= k <= number of rows ({n}), got k = {k}"
        )));
    }
    Ok(())
}

/// `k` folds of the shuffled rows; every row is in exactly one test fold, fold sizes
/// differ by at most one.
pub fn kfold(n: usize, k: usize, seed: u64) -> Result<Vec<Fold>> {
    check_k(n, k)?;
    let mut order: Vec<usize> = (0..n).collect();
    Rng::seed(seed).shuffle(&mut order);
    let mut assign = vec![0usize; n];
    let (base, extra) = (n / k, n % k);
    let mut pos = 0;
    for f in 0..k {
        let size = base + usize::from(f < extra);
        for &i in &order[pos..pos + size] {
            assign[i] = f;
        }
        pos += size;
    }
    Ok(folds_from(&assign, k))
}

/// `k` folds that keep each class's proportion: each class's shuffled rows are dealt to
/// the folds in turn.
pub fn stratified_kfold(labels: &[usize], k: usize, seed: u64) -> Result<Vec<Fold>> {
    check_k(labels.len(), k)?;
    let mut rng = Rng::seed(seed);
    let mut assign = vec![0usize; labels.len()];
    let mut next = 0usize;
    for mut rows in by_class(labels) {
        rng.shuffle(&mut rows);
        for i in rows {
            assign[i] = next % k;
            next += 1;
        }
    }
    Ok(folds_from(&assign, k))
}

fn folds_from(assign: &[usize], k: usize) -> Vec<Fold> {
    (0..k)
        .map(|f| {
            let (test, train): (Vec<usize>, Vec<usize>) =
                (0..assign.len()).partition(|&i| assign[i].cmp(&f) == Ordering::Equal);
            Fold { train, test }
        })
        .collect()
}
