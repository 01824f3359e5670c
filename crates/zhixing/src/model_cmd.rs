//! `zhixing eval MODEL DATA` (metrics table and confusion matrix) and
//! `zhixing predict MODEL DATA` (one JSON line per record).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use serde_json::json;
use zhixing_ml::model::TabularModel;

use crate::train_cmd::read;

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// A model file written by `zhixing train`.
    pub model: PathBuf,
    /// Records with the target column (CSV, JSON array or JSON Lines).
    pub data: PathBuf,
    /// Evaluate only one split of the training file: train | validation | test.
    #[arg(long)]
    pub split: Option<String>,
    /// Skip malformed records (reporting how many) instead of stopping at the first.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// Print one JSON document instead of tables.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct PredictArgs {
    /// A model file written by `zhixing train`.
    pub model: PathBuf,
    /// Records to predict (the target column may be absent).
    pub data: PathBuf,
    /// Write the JSON lines here instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Skip malformed records (reporting how many on stderr) instead of stopping.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// Output is always JSON lines; accepted for uniformity with the other commands.
    #[arg(long)]
    pub json: bool,
}

pub fn eval(args: &EvalArgs) -> Result<()> {
    if zhixing_ml::vision::is_image_model(&args.model)? {
        if args.split.is_some() || args.skip_bad_rows {
            anyhow::bail!("--split and --skip-bad-rows apply to record files; an image model is evaluated on the folder's test set");
        }
        return crate::image_cmd::eval(&args.model, &args.data, args.json);
    }
    let model = TabularModel::load(&args.model)?;
    let table = read(&args.data, args.skip_bad_rows)?;
    let rows = match args.split.as_deref() {
        None | Some("all") => None,
        Some(name) => {
            let split = model.training_split(&table)?;
            Some(match name {
                "train" => split.train,
                "validation" => split.validation,
                "test" => split.test,
                other => anyhow::bail!("--split {other}: expected train, validation, test or all"),
            })
        }
    };
    let evaluation = model.evaluate(&table, rows.as_deref(), args.skip_bad_rows)?;
    if args.json {
        let doc = json!({
            "model_file": args.model,
            "data": args.data,
            "split": args.split.as_deref().unwrap_or("all"),
            "metrics": evaluation.summary(),
            "report": evaluation,
            "warnings": table.warnings,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        for w in &table.warnings {
            println!("warning: {w}");
        }
        let which = args
            .split
            .as_deref()
            .map(|s| format!(" ({s} split)"))
            .unwrap_or_default();
        println!(
            "{} on {}{which}\n",
            args.model.display(),
            args.data.display()
        );
        print!("{evaluation}");
    }
    Ok(())
}

pub fn predict(args: &PredictArgs) -> Result<()> {
    if zhixing_ml::vision::is_image_model(&args.model)? {
        return crate::image_cmd::predict(&args.model, &args.data, args.output.as_deref());
    }
    let model = TabularModel::load(&args.model)?;
    let table = read(&args.data, args.skip_bad_rows)?;
    let preds = model.predict(&table, args.skip_bad_rows)?;
    let lines = preds.to_jsonl();
    match &args.output {
        Some(p) => zhixing_nn::state::write_atomic(p, lines.as_bytes())?,
        None => std::io::stdout().lock().write_all(lines.as_bytes())?,
    }
    let skipped = table.skipped + preds.skipped;
    if skipped > 0 {
        eprintln!("warning: skipped {skipped} bad record(s)");
        for w in table.warnings.iter().chain(&preds.warnings) {
            eprintln!("  {w}");
        }
    }
    if let Some(p) = &args.output {
        eprintln!("wrote {} predictions to {}", preds.len(), p.display());
    }
    Ok(())
}
