//! `ColumnStats`: the per-column summary behind `zhixing stats`.

use std::fmt;

use serde::Serialize;

use super::descriptive::{self as d, Estimate};
use crate::error::{Error, Result};
use crate::metrics::fmt_num;

/// Summary of one numeric column. NaN marks a missing value; every statistic is over the
/// present values and is `None` where it is undefined (no values, too few values, or a
/// constant column for skewness and kurtosis). Variance and standard deviation are the
/// sample estimates, skewness and excess kurtosis the adjusted (unbiased) ones, as
/// pandas' `describe`, `skew` and `kurt`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnStats {
    pub name: String,
    pub count: usize,
    pub missing: usize,
    pub mean: Option<f64>,
    pub std: Option<f64>,
    pub variance: Option<f64>,
    pub min: Option<f64>,
    pub q25: Option<f64>,
    pub median: Option<f64>,
    pub q75: Option<f64>,
    pub max: Option<f64>,
    pub iqr: Option<f64>,
    pub mode: Option<f64>,
    pub skewness: Option<f64>,
    pub kurtosis: Option<f64>,
}

impl ColumnStats {
    /// Summarizes `values`; NaN counts as missing, an infinite value is an error.
    pub fn new(name: impl Into<String>, values: &[f64]) -> Result<Self> {
        if let Some(index) = values.iter().position(|v| v.is_infinite()) {
            return Err(Error::NonFinite {
                what: "column_stats",
                index,
                value: values[index],
            });
        }
        let x = d::present(values);
        let q = d::quantiles(&x, &[0.0, 0.25, 0.5, 0.75, 1.0]).ok();
        let qi = |i: usize| q.as_ref().map(|q| q[i]);
        Ok(ColumnStats {
            name: name.into(),
            count: x.len(),
            missing: values.len() - x.len(),
            mean: d::mean(&x).ok(),
            std: d::std(&x, Estimate::Sample).ok(),
            variance: d::variance(&x, Estimate::Sample).ok(),
            min: qi(0),
            q25: qi(1),
            median: qi(2),
            q75: qi(3),
            max: qi(4),
            iqr: q.as_ref().map(|q| q[3] - q[1]),
            mode: d::mode(&x).ok(),
            skewness: d::skewness(&x, Estimate::Sample).ok(),
            kurtosis: d::kurtosis(&x, Estimate::Sample).ok(),
        })
    }

    /// The statistics as (name, value) pairs in display order.
    pub fn fields(&self) -> [(&'static str, Option<f64>); 14] {
        [
            ("count", Some(self.count as f64)),
            ("missing", Some(self.missing as f64)),
            ("mean", self.mean),
            ("std", self.std),
            ("variance", self.variance),
            ("min", self.min),
            ("25%", self.q25),
            ("median", self.median),
            ("75%", self.q75),
            ("max", self.max),
            ("iqr", self.iqr),
            ("mode", self.mode),
            ("skewness", self.skewness),
            ("kurtosis", self.kurtosis),
        ]
    }
}

fn cell(v: Option<f64>, integer: bool) -> String {
    match v {
        None => "-".to_string(),
        Some(v) if integer => format!("{v:.0}"),
        Some(v) => fmt_num(v),
    }
}

/// One `name: value` line per statistic.
impl fmt::Display for ColumnStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.name)?;
        for (i, (k, v)) in self.fields().iter().enumerate() {
            writeln!(f, "  {k:<9} {:>14}", cell(*v, i < 2))?;
        }
        Ok(())
    }
}

/// A table with one row per column and one column per statistic.
pub fn stats_table(columns: &[ColumnStats]) -> String {
    let mut rows: Vec<Vec<String>> = Vec::with_capacity(columns.len() + 1);
    let mut header = vec!["column".to_string()];
    header.extend(ColumnStats::fields(&columns_or_blank(columns)).map(|(k, _)| k.to_string()));
    rows.push(header);
    for c in columns {
        let mut r = vec![c.name.clone()];
        r.extend(
            c.fields()
                .iter()
                .enumerate()
                .map(|(i, (_, v))| cell(*v, i < 2)),
        );
        rows.push(r);
    }
    render(&rows)
}

fn columns_or_blank(columns: &[ColumnStats]) -> ColumnStats {
    columns.first().cloned().unwrap_or(ColumnStats {
        name: String::new(),
        count: 0,
        missing: 0,
        mean: None,
        std: None,
        variance: None,
        min: None,
        q25: None,
        median: None,
        q75: None,
        max: None,
        iqr: None,
        mode: None,
        skewness: None,
        kurtosis: None,
    })
}

/// A square matrix (covariance, correlation) labelled by `names` on both axes; NaN
/// entries print as `-`.
pub fn matrix_table(names: &[String], matrix: &[Vec<f64>]) -> String {
    let mut rows = vec![std::iter::once(String::new())
        .chain(names.iter().cloned())
        .collect::<Vec<_>>()];
    for (name, row) in names.iter().zip(matrix) {
        let mut r = vec![name.clone()];
        r.extend(row.iter().map(|v| {
            if v.is_nan() {
                "-".to_string()
            } else {
                format!("{v:.4}")
            }
        }));
        rows.push(r);
    }
    render(&rows)
}

/// Right-aligned columns (the first left-aligned), two spaces apart.
fn render(rows: &[Vec<String>]) -> String {
    let ncol = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..ncol)
        .map(|j| {
            rows.iter()
                .filter_map(|r| r.get(j))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(j, s)| {
                let w = widths[j];
                if j == 0 {
                    format!("{s:<w$}")
                } else {
                    format!("{s:>w$}")
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}
