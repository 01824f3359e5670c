//! `zhixing stats DATA`: per-column statistics and the correlation matrix of a table.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Result;
use serde_json::json;
use zhixing_data::{read_table, ReadOptions, Table, Value};
use zhixing_ml::stats::{correlation_matrix, matrix_table, stats_table, ColumnStats};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A CSV, JSON array or JSON Lines file.
    pub data: PathBuf,
    /// CSV delimiter (default: guessed from the first line).
    #[arg(long)]
    pub delimiter: Option<char>,
    /// Skip malformed records (reporting how many) instead of stopping at the first.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// Print one JSON document instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// A column's values as numbers (booleans as 0/1, missing as NaN), or None when some
/// present value is a string.
fn numeric_column(table: &Table, col: usize) -> Option<Vec<f64>> {
    table
        .rows
        .iter()
        .map(|row| match &row[col] {
            Value::Number(x) => Some(*x),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Null | Value::Missing => Some(f64::NAN),
            Value::String(_) => None,
        })
        .collect()
}

/// Count, missing, distinct values and the most frequent one of a non-numeric column.
fn categorical_summary(table: &Table, col: usize) -> serde_json::Value {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut missing = 0;
    for row in &table.rows {
        match &row[col] {
            Value::Null | Value::Missing => missing += 1,
            Value::String(s) => *counts.entry(s.clone()).or_default() += 1,
            Value::Number(x) => *counts.entry(x.to_string()).or_default() += 1,
            Value::Bool(b) => *counts.entry(b.to_string()).or_default() += 1,
        }
    }
    // Most frequent; ties broken by the smaller value so output is deterministic.
    let top = counts
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(v, n)| json!({"value": v, "count": n}));
    json!({
        "name": table.columns[col],
        "count": table.rows.len() - missing,
        "missing": missing,
        "distinct": counts.len(),
        "top": top,
    })
}

pub fn run(args: &Args) -> Result<()> {
    let options = ReadOptions {
        delimiter: args.delimiter.map(|c| c as u8),
        skip_bad_rows: args.skip_bad_rows,
        ..Default::default()
    };
    let table = read_table(&args.data, &options)?;
    let mut numeric: Vec<ColumnStats> = Vec::new();
    let mut numeric_values: Vec<Vec<f64>> = Vec::new();
    let mut other = Vec::new();
    for (i, name) in table.columns.iter().enumerate() {
        match numeric_column(&table, i) {
            Some(values) => {
                numeric.push(ColumnStats::new(name.clone(), &values)?);
                numeric_values.push(values);
            }
            None => other.push(categorical_summary(&table, i)),
        }
    }
    let names: Vec<String> = numeric.iter().map(|c| c.name.clone()).collect();
    let (corr, complete_rows) = correlations(&numeric_values)?;
    if args.json {
        let doc = json!({
            "file": args.data, "rows": table.rows.len(), "skipped": table.skipped,
            "numeric": numeric, "categorical": other,
            "correlation": {"columns": names, "matrix": corr, "rows_used": complete_rows},
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!(
        "{}: {} rows, {} columns",
        args.data.display(),
        table.rows.len(),
        table.columns.len()
    );
    for w in &table.warnings {
        eprintln!("warning: {w}");
    }
    if !numeric.is_empty() {
        println!("\nnumeric columns\n{}", stats_table(&numeric));
    }
    if !other.is_empty() {
        println!("\nother columns");
        for c in &other {
            let top = &c["top"];
            println!(
                "  {:<24} count {:>6}  missing {:>5}  distinct {:>5}  most frequent {} ({})",
                c["name"].as_str().unwrap_or(""),
                c["count"],
                c["missing"],
                c["distinct"],
                top["value"],
                top["count"]
            );
        }
    }
    if names.len() >= 2 {
        println!("\nPearson correlation ({complete_rows} rows with every numeric value present)");
        println!("{}", matrix_table(&names, &corr));
    }
    Ok(())
}

/// Pearson correlations over the rows where every numeric column is present.
fn correlations(columns: &[Vec<f64>]) -> Result<(Vec<Vec<f64>>, usize)> {
    if columns.len() < 2 {
        return Ok((Vec::new(), 0));
    }
    let rows = columns[0].len();
    let keep: Vec<usize> = (0..rows)
        .filter(|&r| columns.iter().all(|c| c[r].is_finite()))
        .collect();
    if keep.len() < 2 {
        return Ok((
            vec![vec![f64::NAN; columns.len()]; columns.len()],
            keep.len(),
        ));
    }
    let complete: Vec<Vec<f64>> = columns
        .iter()
        .map(|c| keep.iter().map(|&r| c[r]).collect())
        .collect();
    Ok((correlation_matrix(&complete)?, keep.len()))
}
