//! `zhixing train|eval|predict` on images: DATA is a folder (MNIST IDX files, or PNGs in
//! one subfolder per class, optionally under train/ and test/) and the model is a CNN,
//! ResNet, RNN, LSTM or GRU ([`zhixing_ml::vision`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::json;
use zhixing_data::images::{describe, load_image_data, read_png};
use zhixing_ml::metrics::ClassificationReport;
use zhixing_ml::vision::{ImageArch, ImageConfig, ImageModel};
use zhixing_tensor::Tensor;

use crate::train_cmd::{parse_name, Args};

/// The model names that mean image data.
pub const IMAGE_MODELS: [&str; 5] = ["cnn", "resnet", "rnn", "lstm", "gru"];

/// Flags that only make sense for records, named when given with image data.
fn record_only_flags(a: &Args) -> Vec<&'static str> {
    let given = [
        (a.target.is_some(), "--target"),
        (a.config.is_some(), "--config"),
        (a.predictions.is_some(), "--predictions"),
        (a.task.is_some(), "--task"),
        (a.split_method.is_some(), "--split-method"),
        (a.time_column.is_some(), "--time-column"),
        (a.scaling.is_some(), "--scaling"),
        (a.categorical.is_some(), "--categorical"),
        (a.missing.is_some(), "--missing"),
        (a.c.is_some(), "--c"),
        (a.penalty.is_some(), "--penalty"),
        (a.l1_ratio.is_some(), "--l1-ratio"),
        (a.alpha.is_some(), "--alpha"),
        (a.solver.is_some(), "--solver"),
        (a.activation.is_some(), "--activation"),
        (a.optimizer.is_some(), "--optimizer"),
        (a.weight_decay.is_some(), "--weight-decay"),
        (a.cv.is_some(), "--cv"),
        (a.skip_bad_rows, "--skip-bad-rows"),
    ];
    given.iter().filter(|(g, _)| *g).map(|(_, n)| *n).collect()
}

fn config_from(args: &Args) -> Result<ImageConfig> {
    let flags = record_only_flags(args);
    if !flags.is_empty() {
        bail!(
            "{} is a folder of images; {} appl{} to record files only",
            args.data.display(),
            flags.join(", "),
            if flags.len() == 1 { "ies" } else { "y" }
        );
    }
    let mut c = ImageConfig::default();
    if let Some(name) = &args.model {
        c.arch =
            parse_name::<ImageArch>("model", name, "cnn, resnet, rnn, lstm, gru (for images)")?;
    }
    c.epochs = args.epochs.unwrap_or(c.epochs);
    c.batch_size = args.batch_size.unwrap_or(c.batch_size);
    c.lr = args.lr.or(c.lr);
    c.dropout = args.dropout.unwrap_or(c.dropout);
    c.seed = args.seed.unwrap_or(c.seed);
    c.augment = args.augment;
    c.layers = args.layers.unwrap_or(c.layers);
    if let Some(h) = &args.hidden {
        match h.as_slice() {
            [size] => c.hidden = *size,
            _ => bail!("--hidden takes one size for recurrent image models, got {h:?}"),
        }
    }
    if let Some(s) = &args.split {
        match s.as_slice() {
            [_, v, t] => (c.validation, c.test) = (*v, *t),
            _ => bail!("--split takes train,validation,test fractions, got {s:?}"),
        }
    }
    Ok(c)
}

pub fn train(args: &Args) -> Result<()> {
    let config = config_from(args)?;
    let data = load_image_data(&args.data)?;
    if !args.json {
        println!(
            "{}: {} {} images in {} classes ({}){}",
            args.data.display(),
            data.train.len(),
            describe(data.train.shape),
            data.train.classes.len(),
            data.layout,
            data.test
                .as_ref()
                .map(|t| format!(", {} test images", t.len()))
                .unwrap_or_default()
        );
    }
    let source = args.data.display().to_string();
    let (model, reports) = ImageModel::train(&data, &source, &config, !args.json)?;
    model.save(&args.output)?;
    let info = &model.info;
    if args.json {
        let doc = json!({
            "model_file": args.output,
            "data": args.data,
            "model": info.config,
            "input": info.input,
            "classes": info.classes,
            "split": {"train": info.train_rows, "validation": info.validation_rows, "test": info.test_rows},
            "epochs": info.epochs,
            "best_epoch": info.best_epoch,
            "fit_seconds": info.fit_seconds,
            "metrics": info.metrics,
            "reports": reports.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!(
        "split (seed {}): {} train / {} validation / {} test",
        config.seed, info.train_rows, info.validation_rows, info.test_rows
    );
    println!("epoch  train loss  val loss  val acc  seconds");
    for e in &info.epochs {
        println!(
            "{:>5}  {:>10.4}  {:>8.4}  {:>6.2}%  {:>7.1}",
            e.epoch,
            e.train_loss,
            e.val_loss.unwrap_or(f64::NAN),
            100.0 * e.val_accuracy.unwrap_or(f64::NAN),
            e.seconds
        );
    }
    println!(
        "model: {:?} fitted in {:.1} s (best epoch {})\n",
        config.arch,
        info.fit_seconds,
        info.best_epoch.map_or("-".into(), |e| e.to_string())
    );
    println!("{:<12} {:>10}", "split", "accuracy");
    for (name, r) in &reports {
        println!("{name:<12} {:>10.4}", r.accuracy);
    }
    if let Some((name, r)) = reports.last() {
        println!("\n{name} set:\n{r}");
    }
    println!("saved {}", args.output.display());
    Ok(())
}

/// The labelled set `eval` reports on: the folder's test set when it has one, else all.
pub fn eval(model_path: &Path, data: &Path, json_out: bool) -> Result<()> {
    let model = ImageModel::load(model_path)?;
    let loaded = load_image_data(data)?;
    let (set, which) = match &loaded.test {
        Some(t) => (t, "test"),
        None => (&loaded.train, "all"),
    };
    let report: ClassificationReport = model.evaluate(set)?;
    if json_out {
        let doc = json!({
            "model_file": model_path,
            "data": data,
            "split": which,
            "images": set.len(),
            "report": report,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!(
            "{} on {} ({which}: {} images)\n",
            model_path.display(),
            data.display(),
            set.len()
        );
        print!("{report}");
    }
    Ok(())
}

/// PNG files under `path` (itself, or a folder searched recursively), sorted.
fn png_files(path: &Path) -> Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?;
        for entry in entries {
            let p = entry?.path();
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            if name.starts_with('.') {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if name.to_ascii_lowercase().ends_with(".png") {
                out.push(p);
            }
        }
    }
    out.sort();
    if out.is_empty() {
        bail!("{}: no PNG images found", path.display());
    }
    Ok(out)
}

/// One JSON line per image: file, prediction, probabilities.
pub fn predict(model_path: &Path, data: &Path, output: Option<&Path>) -> Result<()> {
    let model = ImageModel::load(model_path)?;
    let files = png_files(data)?;
    let per_image: usize = model.info.input.iter().product();
    let mut pixels = Vec::with_capacity(files.len() * per_image);
    for f in &files {
        let (values, shape) = read_png(f)?;
        if shape != model.info.input {
            bail!(
                "{}: image is {} but the model takes {}",
                f.display(),
                describe(shape),
                describe(model.info.input)
            );
        }
        pixels.extend_from_slice(&values);
    }
    let x = Tensor::from_vec(pixels, &[files.len(), per_image])?;
    let p = model.predict_proba(&x)?.to_vec::<f64>()?;
    let classes = &model.info.classes;
    let mut lines = String::new();
    for (f, row) in files.iter().zip(p.chunks(classes.len())) {
        let best = zhixing_ml::estimator::argmax(row);
        let probs: serde_json::Map<String, serde_json::Value> = classes
            .iter()
            .zip(row)
            .map(|(c, v)| (c.clone(), json!(v)))
            .collect();
        let line = json!({"file": f, "prediction": classes[best], "probabilities": probs});
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    match output {
        Some(p) => {
            zhixing_nn::state::write_atomic(p, lines.as_bytes())?;
            eprintln!("wrote {} predictions to {}", files.len(), p.display());
        }
        None => std::io::stdout().lock().write_all(lines.as_bytes())?,
    }
    Ok(())
}
