//! `zhixing train DATA --target COL [--model NAME] [--config FILE] -o MODEL`: reads records,
//! infers the schema, splits, fits preprocessing and the model on the training rows,
//! reports metrics on each split and saves one model file. A folder of images as DATA
//! goes to [`crate::image_cmd`].

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::json;
use zhixing_data::pipeline::CategoricalEncoding;
use zhixing_data::scale::Scaling;
use zhixing_data::schema::{MissingPolicy, Task};
use zhixing_data::{read_table, ReadOptions, Table};
use zhixing_ml::model::config::task_name;
use zhixing_ml::model::{
    CrossValidation, ModelConfig, SplitMethod, TabularModel, TrainConfig, TrainOptions, Trained,
};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A CSV, JSON array or JSON Lines file of records; or a folder of images (MNIST IDX
    /// files, or PNGs in one subfolder per class, optionally under train/ and test/).
    pub data: PathBuf,
    /// The column to predict.
    #[arg(long)]
    pub target: Option<String>,
    /// linear | ridge | lasso | elastic_net | polynomial | logistic | mlp | tree | forest |
    /// knn | nb | svm (default: logistic for classes, linear for numbers); for images
    /// cnn | resnet | rnn | lstm | gru (default cnn).
    #[arg(long)]
    pub model: Option<String>,
    /// A TOML file with [data] and [model] sections; flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where to write the model file.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Also write the model's predictions for every record of DATA (JSON Lines).
    #[arg(long)]
    pub predictions: Option<PathBuf>,
    /// classification | regression (default: inferred from the target).
    #[arg(long)]
    pub task: Option<String>,
    /// Train, validation and test fractions, e.g. 0.8,0.1,0.1.
    #[arg(long, value_delimiter = ',')]
    pub split: Option<Vec<f64>>,
    /// auto | random | stratified | time.
    #[arg(long)]
    pub split_method: Option<String>,
    /// The column that orders rows for --split-method time.
    #[arg(long)]
    pub time_column: Option<String>,
    #[arg(long)]
    pub seed: Option<u64>,
    /// standard | min-max | none.
    #[arg(long)]
    pub scaling: Option<String>,
    /// one-hot | ordinal.
    #[arg(long)]
    pub categorical: Option<String>,
    /// Missing values in every column: mean | median | most-frequent | zeros | error.
    #[arg(long)]
    pub missing: Option<String>,
    /// Logistic regression, SVM: inverse regularization strength.
    #[arg(long = "c")]
    pub c: Option<f64>,
    /// Logistic regression: l2 | l1 | elastic_net | none.
    #[arg(long)]
    pub penalty: Option<String>,
    /// Logistic regression with --penalty elastic_net: the L1 share, in [0, 1].
    #[arg(long)]
    pub l1_ratio: Option<f64>,
    /// Ridge, lasso, elastic net, polynomial: the penalty strength.
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Linear and ridge regression: auto | closed-form | gradient-descent (for data too
    /// large for a dense SVD; auto switches above 2^28 feature values).
    #[arg(long)]
    pub solver: Option<String>,
    /// Images: random shifts and small rotations of each training batch.
    #[arg(long)]
    pub augment: bool,
    /// Recurrent image models: stacked layers (default 2).
    #[arg(long)]
    pub layers: Option<usize>,
    /// MLP: hidden layer sizes, e.g. 64,32 (recurrent image models: one size).
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
    /// MLP: relu | tanh | sigmoid | gelu.
    #[arg(long)]
    pub activation: Option<String>,
    /// MLP: dropout after each hidden layer.
    #[arg(long)]
    pub dropout: Option<f64>,
    /// MLP: adam | adamw | sgd.
    #[arg(long)]
    pub optimizer: Option<String>,
    /// MLP: learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// MLP: passes over the training rows.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// MLP: rows per step.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// MLP: weight decay.
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Also report K-fold cross-validation (stratified for classes) before the final fit.
    #[arg(long, value_name = "K")]
    pub cv: Option<usize>,
    /// Skip malformed records (reporting how many) instead of stopping at the first.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// Print one JSON document instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// A kebab- or snake-case name parsed as a serde enum value.
pub fn parse_name<T: serde::de::DeserializeOwned>(
    flag: &str,
    value: &str,
    choices: &str,
) -> Result<T> {
    let v = value.replace('-', "_");
    serde_json::from_value(json!(v))
        .with_context(|| format!("--{flag} {value}: expected one of {choices}"))
}

fn config_from(args: &Args) -> Result<TrainConfig> {
    let mut c = match &args.config {
        Some(p) => TrainConfig::read(p)?,
        None => TrainConfig::default(),
    };
    let d = &mut c.data;
    if let Some(t) = &args.target {
        d.target = Some(t.clone());
    }
    if d.target.is_none() {
        bail!("no target column: pass --target COLUMN (or set data.target in the config)");
    }
    if let Some(t) = &args.task {
        d.task = Some(match t.as_str() {
            "classification" => Task::MulticlassClassification,
            "regression" => Task::Regression,
            other => bail!("--task {other}: expected classification or regression"),
        });
    }
    if let Some(s) = &args.split {
        let [a, b, t] = s[..] else {
            bail!(
                "--split needs three fractions (train,validation,test), got {}",
                s.len()
            );
        };
        d.split = [a, b, t];
    }
    if let Some(m) = &args.split_method {
        d.split_method =
            parse_name::<SplitMethod>("split-method", m, "auto, random, stratified, time")?;
    }
    if let Some(col) = &args.time_column {
        d.time_column = Some(col.clone());
        if args.split_method.is_none() {
            d.split_method = SplitMethod::Time;
        }
    }
    if let Some(s) = args.seed {
        d.seed = s;
    }
    if let Some(s) = &args.scaling {
        d.scaling = parse_name::<Scaling>("scaling", s, "standard, min-max, none")?;
    }
    if let Some(s) = &args.categorical {
        d.categorical = parse_name::<CategoricalEncoding>("categorical", s, "one-hot, ordinal")?;
    }
    if let Some(s) = &args.missing {
        d.default_missing = Some(parse_name::<MissingPolicy>(
            "missing",
            s,
            "mean, median, most-frequent, zeros, error",
        )?);
    }
    d.skip_bad_rows |= args.skip_bad_rows;
    if let Some(name) = &args.model {
        c.model = Some(ModelConfig::by_name(name)?);
    }
    apply_model_flags(args, &mut c.model)?;
    Ok(c)
}

/// Hyperparameter flags; each must fit the chosen model.
fn apply_model_flags(args: &Args, model: &mut Option<ModelConfig>) -> Result<()> {
    let mlp_flags = args.hidden.is_some()
        || args.activation.is_some()
        || args.dropout.is_some()
        || args.optimizer.is_some()
        || args.lr.is_some()
        || args.epochs.is_some()
        || args.batch_size.is_some()
        || args.weight_decay.is_some();
    match model {
        Some(ModelConfig::Mlp(m)) => {
            if let Some(h) = &args.hidden {
                m.hidden = h.clone();
            }
            if let Some(a) = &args.activation {
                m.activation = parse_name("activation", a, "relu, tanh, sigmoid, gelu")?;
            }
            if let Some(o) = &args.optimizer {
                m.optimizer = parse_name("optimizer", o, "adam, adamw, sgd")?;
            }
            m.dropout = args.dropout.unwrap_or(m.dropout);
            m.lr = args.lr.unwrap_or(m.lr);
            m.epochs = args.epochs.unwrap_or(m.epochs);
            m.batch_size = args.batch_size.unwrap_or(m.batch_size);
            m.weight_decay = args.weight_decay.unwrap_or(m.weight_decay);
            m.seed = args.seed.unwrap_or(m.seed);
        }
        _ if mlp_flags => bail!("--hidden, --activation, --dropout, --optimizer, --lr, --epochs, --batch-size and --weight-decay apply to --model mlp"),
        _ => {}
    }
    apply_logistic_flags(args, model)?;
    use zhixing_ml::linear::LinearConfig;
    if let Some(alpha) = args.alpha {
        match model {
            Some(ModelConfig::Ridge(r)) => r.alpha = alpha,
            Some(ModelConfig::Lasso(r) | ModelConfig::ElasticNet(r)) => r.alpha = alpha,
            Some(ModelConfig::Polynomial(r)) => r.alpha = alpha,
            None => *model = Some(ModelConfig::Ridge(LinearConfig::ridge(alpha))),
            _ => bail!("--alpha applies to --model ridge, lasso, elastic_net and polynomial"),
        }
    }
    if let Some(name) = &args.solver {
        use zhixing_ml::linear::LinearSolver;
        let solver =
            parse_name::<LinearSolver>("solver", name, "auto, closed_form, gradient_descent")?;
        match model {
            Some(ModelConfig::Linear(r) | ModelConfig::Ridge(r)) => r.solver = solver,
            None => {
                *model = Some(ModelConfig::Linear(LinearConfig {
                    solver,
                    ..Default::default()
                }))
            }
            _ => bail!("--solver applies to --model linear and ridge"),
        }
    }
    Ok(())
}

/// `--c` (logistic, SVM), `--penalty` and `--l1-ratio` (logistic). With no `--model`
/// they choose logistic regression.
fn apply_logistic_flags(args: &Args, model: &mut Option<ModelConfig>) -> Result<()> {
    use zhixing_ml::linear::{LogisticConfig, Penalty};
    if args.c.is_none() && args.penalty.is_none() && args.l1_ratio.is_none() {
        return Ok(());
    }
    if model.is_none() {
        *model = Some(ModelConfig::Logistic(LogisticConfig::default()));
    }
    if let (Some(c), Some(ModelConfig::Svm(s))) = (args.c, model.as_mut()) {
        s.c = c;
        if args.penalty.is_none() && args.l1_ratio.is_none() {
            return Ok(());
        }
    }
    let Some(ModelConfig::Logistic(l)) = model else {
        bail!("--c applies to --model logistic and svm; --penalty and --l1-ratio to logistic");
    };
    l.c = args.c.unwrap_or(l.c);
    if let Some(p) = &args.penalty {
        l.penalty = parse_name::<Penalty>("penalty", p, "l2, l1, elastic_net, none")?;
    }
    if let Some(rho) = args.l1_ratio {
        if l.penalty != Penalty::ElasticNet {
            bail!("--l1-ratio applies to --penalty elastic_net");
        }
        l.l1_ratio = rho;
    }
    Ok(())
}

pub fn read(path: &Path, skip_bad_rows: bool) -> Result<Table> {
    let opts = ReadOptions {
        skip_bad_rows,
        ..Default::default()
    };
    Ok(read_table(path, &opts)?)
}

pub fn run(args: &Args) -> Result<()> {
    let image_model = args
        .model
        .as_deref()
        .is_some_and(|m| crate::image_cmd::IMAGE_MODELS.contains(&m));
    if args.data.is_dir() || image_model {
        if !args.data.is_dir() {
            bail!(
                "--model {} trains on images: DATA must be a folder (MNIST IDX files, or PNGs \
                 in one subfolder per class), got {}",
                args.model.as_deref().unwrap_or_default(),
                args.data.display()
            );
        }
        return crate::image_cmd::train(args);
    }
    if args.augment || args.layers.is_some() {
        bail!("--augment and --layers apply to image data (a folder of images)");
    }
    let config = config_from(args)?;
    let table = read(&args.data, config.data.skip_bad_rows)?;
    let cv = match args.cv {
        Some(k) => Some(TabularModel::cross_validate(&table, &config, k)?),
        None => None,
    };
    let opts = TrainOptions {
        progress: !args.json,
    };
    let trained = TabularModel::train(&table, &config, &opts)?;
    trained.model.save(&args.output)?;
    if let Some(p) = &args.predictions {
        let preds = trained.model.predict(&table, config.data.skip_bad_rows)?;
        zhixing_nn::state::write_atomic(p, preds.to_jsonl().as_bytes())?;
    }
    if args.json {
        print_json(args, &table, &trained, cv.as_ref())
    } else {
        print_human(args, &table, &trained);
        if let Some(cv) = &cv {
            print_cv(cv);
        }
        Ok(())
    }
}

fn print_cv(cv: &CrossValidation) {
    let key = if cv.mean.contains_key("accuracy") {
        "accuracy"
    } else {
        "r2"
    };
    let folds: Vec<String> = cv.folds.iter().map(|f| format!("{:.4}", f[key])).collect();
    println!(
        "{}-fold cross-validation {key}: {:.4} ± {:.4} (folds: {})",
        cv.k,
        cv.mean[key],
        cv.std[key],
        folds.join(", ")
    );
}

fn print_json(args: &Args, table: &Table, t: &Trained, cv: Option<&CrossValidation>) -> Result<()> {
    let info = &t.model.info;
    let evals: serde_json::Map<String, serde_json::Value> = t
        .evaluations
        .iter()
        .map(|(name, e)| Ok((name.clone(), serde_json::to_value(e)?)))
        .collect::<Result<_>>()?;
    let doc = json!({
        "model_file": args.output,
        "data": args.data,
        "rows": table.len(),
        "task": info.task,
        "target": info.target,
        "classes": t.model.classes(),
        "model": info.model,
        "features": t.model.transform.feature_names,
        "split": {"train": t.split.train.len(), "validation": t.split.validation.len(), "test": t.split.test.len()},
        "fit_seconds": info.training.fit_seconds,
        "metrics": info.metrics,
        "reports": evals,
        "notices": t.schema.notices,
        "warnings": t.warnings,
        "cross_validation": cv,
    });
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}

fn print_human(args: &Args, table: &Table, t: &Trained) {
    let info = &t.model.info;
    let m = &t.model;
    println!(
        "read {}: {} records, {} columns",
        args.data.display(),
        table.len(),
        table.columns.len()
    );
    for w in &t.warnings {
        println!("warning: {w}");
    }
    let classes = if m.classes().is_empty() {
        String::new()
    } else {
        format!(
            " ({} classes: {})",
            m.classes().len(),
            m.classes().join(", ")
        )
    };
    println!(
        "target `{}`: {}{classes}",
        info.target,
        task_name(info.task)
    );
    let kinds: Vec<String> = t
        .schema
        .features()
        .map(|c| format!("{} ({})", c.name, c.kind.name()))
        .collect();
    println!(
        "{} input columns → {} features: {}",
        kinds.len(),
        m.transform.n_features(),
        kinds.join(", ")
    );
    for n in &t.schema.notices {
        println!("  {n}");
    }
    println!(
        "split (seed {}): {} train / {} validation / {} test",
        info.training.data.seed,
        t.split.train.len(),
        t.split.validation.len(),
        t.split.test.len()
    );
    println!(
        "model: {} fitted in {:.2} s\n",
        describe(&info.model),
        info.training.fit_seconds
    );
    let (metric, _) = t.evaluations[0].1.headline();
    println!("{:<12} {:>10}", "split", metric);
    for (name, e) in &t.evaluations {
        println!("{name:<12} {:>10.4}", e.headline().1);
    }
    if let Some((name, e)) = t.evaluations.last() {
        println!("\n{name} set:\n{e}");
    }
    let size = std::fs::metadata(&args.output)
        .map(|m| m.len())
        .unwrap_or(0);
    println!("saved {} ({})", args.output.display(), human_size(size));
}

fn describe(model: &ModelConfig) -> String {
    match model {
        ModelConfig::Linear(_) => "linear regression (least squares)".into(),
        ModelConfig::Ridge(c) => format!("ridge regression (alpha {})", c.alpha),
        ModelConfig::Lasso(c) => format!("lasso (alpha {})", c.alpha),
        ModelConfig::ElasticNet(c) => {
            format!("elastic net (alpha {}, l1_ratio {})", c.alpha, c.l1_ratio)
        }
        ModelConfig::Polynomial(c) => {
            format!(
                "polynomial regression (degree {}, alpha {})",
                c.degree, c.alpha
            )
        }
        ModelConfig::Logistic(c) => {
            use zhixing_ml::linear::Penalty;
            let penalty = match c.penalty {
                Penalty::L2 => "L2 penalty".to_string(),
                Penalty::L1 => "L1 penalty".to_string(),
                Penalty::ElasticNet => format!("elastic-net penalty, l1_ratio {}", c.l1_ratio),
                Penalty::None => "no penalty".to_string(),
            };
            format!("logistic regression (C {}, {penalty})", c.c)
        }
        ModelConfig::Tree(c) => format!(
            "decision tree ({:?}, max depth {:?})",
            c.criterion, c.max_depth
        ),
        ModelConfig::Forest(c) => format!("random forest ({} trees)", c.n_estimators),
        ModelConfig::Knn(c) => format!(
            "{}-nearest neighbours ({:?}, {:?} weights)",
            c.k, c.metric, c.weights
        ),
        ModelConfig::Nb(c) => format!("{:?} naive Bayes", c.variant),
        ModelConfig::Svm(c) => format!("SVM (C {}, {:?} kernel, one-vs-rest)", c.c, c.kernel),
        ModelConfig::Mlp(c) => format!(
            "MLP hidden {:?}, {:?}, {:?} lr {}, {} epochs × batch {}",
            c.hidden, c.activation, c.optimizer, c.lr, c.epochs, c.batch_size
        ),
    }
}

fn human_size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}
