//! The saved tabular model: parity of `train`'s default models with scikit-learn's
//! StandardScaler + LogisticRegression / LinearRegression on the same split, save/load
//! round trips, and the model file's error messages.
//!
//! Reference values: `crates/ml/tests/reference/model_sklearn.json`, written by
//! `scripts/model_reference.py` from the splits in `model_splits.json` (which this test
//! checks are still the splits `train` makes; `ZHIXING_WRITE_SPLITS=1` rewrites them).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use zhixing_data::records::{read_table, ReadOptions, Table};
use zhixing_ml::model::{ModelConfig, TabularModel, TrainConfig, TrainOptions};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn reference(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/reference")
        .join(name)
}

const DATASETS: [(&str, &str); 5] = [
    ("iris", "species"),
    ("digits", "digit"),
    ("wine", "cultivar"),
    ("breast_cancer", "diagnosis"),
    ("diabetes", "progression"),
];

fn table(name: &str) -> Table {
    read_table(
        root().join(format!("data/{name}.csv")),
        &ReadOptions::default(),
    )
    .unwrap()
}

fn config(target: &str) -> TrainConfig {
    let mut c = TrainConfig::default();
    c.data.target = Some(target.to_string());
    c
}

#[test]
fn default_models_match_scikit_learn_on_the_same_split() {
    let splits_path = reference("model_splits.json");
    let mut splits = serde_json::Map::new();
    let sk: Value =
        serde_json::from_str(&std::fs::read_to_string(reference("model_sklearn.json")).unwrap())
            .unwrap();
    for (name, target) in DATASETS {
        let t = table(name);
        let trained = TabularModel::train(&t, &config(target), &TrainOptions::default()).unwrap();
        splits.insert(
            name.to_string(),
            json!({"file": format!("data/{name}.csv"), "target": target,
                   "task": if trained.model.task().is_classification() { "classification" } else { "regression" },
                   "train": trained.split.train, "validation": trained.split.validation, "test": trained.split.test}),
        );
        if std::env::var_os("ZHIXING_WRITE_SPLITS").is_some() {
            continue;
        }
        let ours = &trained.model.info.metrics;
        let theirs = &sk[name];
        let metric = theirs["metric"].as_str().unwrap();
        for part in ["validation", "test"] {
            let a = ours[part][metric];
            let b = theirs[part].as_f64().unwrap();
            // Within 1 point (0.01) of scikit-learn, as the issue requires.
            assert!(
                (a - b).abs() <= 0.01,
                "{name} {part} {metric}: zhixing {a} vs scikit-learn {b}"
            );
        }
        // The same test predictions, row by row (both solve the same convex problem).
        let preds = trained
            .model
            .predict(&t.select(&trained.split.test), false)
            .unwrap();
        let expected = theirs["test_predictions"].as_array().unwrap();
        if trained.model.task().is_classification() {
            for (i, e) in expected.iter().enumerate() {
                // String labels, or numbers for an integer target (digits).
                let e = e
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| e.to_string());
                assert_eq!(preds.classes[preds.labels[i]], e, "{name} test row {i}");
            }
        } else {
            for (i, e) in expected.iter().enumerate() {
                let e = e.as_f64().unwrap();
                assert!(
                    (preds.values[i] - e).abs() <= 1e-6 * e.abs().max(1.0),
                    "{name} row {i}: {} vs {e}",
                    preds.values[i]
                );
            }
        }
    }
    let splits = Value::Object(splits);
    if std::env::var_os("ZHIXING_WRITE_SPLITS").is_some() {
        std::fs::write(&splits_path, serde_json::to_string(&splits).unwrap()).unwrap();
    }
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(&splits_path).unwrap()).unwrap();
    assert_eq!(
        committed, splits,
        "the split changed: regenerate the references (see the header)"
    );
}

#[test]
fn logistic_weights_equal_scikit_learns() {
    let sk: Value =
        serde_json::from_str(&std::fs::read_to_string(reference("model_sklearn.json")).unwrap())
            .unwrap();
    for (name, target) in DATASETS.iter().filter(|d| d.0 != "diabetes") {
        let trained =
            TabularModel::train(&table(name), &config(target), &TrainOptions::default()).unwrap();
        let parts = trained.model.estimator.to_parts().unwrap();
        let coef = parts.tensor("coef").unwrap().to_vec::<f64>().unwrap();
        let intercept = parts.tensor("intercept").unwrap().to_vec::<f64>().unwrap();
        let want: Vec<f64> = sk[name]["coef"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
            .collect();
        let want_b: Vec<f64> = sk[name]["intercept"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(coef.len(), want.len(), "{name}");
        // Both converged to the unique optimum of the same objective.
        for (a, b) in coef
            .iter()
            .chain(&intercept)
            .zip(want.iter().chain(&want_b))
        {
            assert!(
                (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                "{name}: {a} vs {b}"
            );
        }
    }
}

fn round_trip(model_cfg: ModelConfig, name: &str, target: &str) {
    let t = table(name);
    let mut c = config(target);
    c.model = Some(model_cfg);
    let trained = TabularModel::train(&t, &c, &TrainOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.zxm");
    trained.model.save(&path).unwrap();
    let loaded = TabularModel::load(&path).unwrap();
    assert_eq!(loaded.info, trained.model.info);
    assert_eq!(loaded.transform, trained.model.transform);
    let a = trained.model.predict(&t, false).unwrap();
    let b = loaded.predict(&t, false).unwrap();
    assert_eq!(a, b, "{name}: predictions differ after save/load");
    // No temporary file is left behind by the atomic write.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn every_model_kind_saves_and_loads_with_identical_predictions() {
    use zhixing_ml::linear::{ElasticNetConfig, LinearConfig, LogisticConfig, PolynomialConfig};
    use zhixing_ml::neural::MlpConfig;
    round_trip(
        ModelConfig::Logistic(LogisticConfig::default()),
        "wine",
        "cultivar",
    );
    round_trip(
        ModelConfig::Linear(LinearConfig::default()),
        "diabetes",
        "progression",
    );
    round_trip(
        ModelConfig::Ridge(LinearConfig::ridge(10.0)),
        "diabetes",
        "progression",
    );
    let mlp = MlpConfig {
        hidden: vec![8],
        epochs: 3,
        dropout: 0.1,
        ..Default::default()
    };
    round_trip(
        ModelConfig::Lasso(ElasticNetConfig::lasso(0.5)),
        "diabetes",
        "progression",
    );
    round_trip(
        ModelConfig::ElasticNet(ElasticNetConfig::default()),
        "diabetes",
        "progression",
    );
    round_trip(
        ModelConfig::Polynomial(PolynomialConfig::default()),
        "diabetes",
        "progression",
    );
    for name in ["tree", "forest", "knn", "nb", "svm"] {
        round_trip(ModelConfig::by_name(name).unwrap(), "wine", "cultivar");
    }
    for name in ["tree", "forest", "knn"] {
        round_trip(
            ModelConfig::by_name(name).unwrap(),
            "diabetes",
            "progression",
        );
    }
    round_trip(ModelConfig::Mlp(mlp.clone()), "iris", "species");
    round_trip(ModelConfig::Mlp(mlp), "diabetes", "progression");
}

#[test]
fn the_mlp_learns_iris_and_regresses_diabetes() {
    use zhixing_ml::neural::MlpConfig;
    let mut c = config("species");
    c.model = Some(ModelConfig::Mlp(MlpConfig {
        lr: 1e-2,
        epochs: 60,
        ..Default::default()
    }));
    let trained = TabularModel::train(&table("iris"), &c, &TrainOptions::default()).unwrap();
    let acc = trained.model.info.metrics["test"]["accuracy"];
    assert!(acc >= 0.9, "iris test accuracy {acc}");
    let mut c = config("progression");
    c.model = Some(ModelConfig::Mlp(MlpConfig {
        hidden: vec![16],
        weight_decay: 1e-2,
        epochs: 40,
        ..Default::default()
    }));
    let trained = TabularModel::train(&table("diabetes"), &c, &TrainOptions::default()).unwrap();
    let r2 = trained.model.info.metrics["test"]["r2"];
    assert!(
        r2 >= 0.35,
        "diabetes test R² {r2} (linear regression: 0.53)"
    );
}

#[test]
fn model_file_errors_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let err = |p: &Path| TabularModel::load(p).unwrap_err().to_string();
    let empty = dir.path().join("empty.zxm");
    std::fs::write(&empty, b"").unwrap();
    assert!(
        err(&empty).contains("not a zhixing model (the file is empty)"),
        "{}",
        err(&empty)
    );
    // A valid safetensors file that is not a model.
    let plain = dir.path().join("weights.safetensors");
    let t = zhixing_tensor::Tensor::from_vec(vec![1.0f32, 2.0], &[2]).unwrap();
    zhixing_nn::state::save_safetensors(&plain, &[("w".to_string(), t)], &Default::default())
        .unwrap();
    assert!(
        err(&plain).contains("without zhixing model metadata"),
        "{}",
        err(&plain)
    );
    let csv = root().join("data/iris.csv");
    assert!(
        err(&csv).contains("does not start with a safetensors header"),
        "{}",
        err(&csv)
    );
}

#[test]
fn a_model_that_cannot_do_the_task_is_refused_before_training() {
    use zhixing_ml::linear::LogisticConfig;
    let mut c = config("progression");
    c.model = Some(ModelConfig::Logistic(LogisticConfig::default()));
    let e = TabularModel::train(&table("diabetes"), &c, &TrainOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`logistic` cannot do regression") && e.contains("use linear, ridge"),
        "{e}"
    );
    let e = TrainConfig::from_toml("[model]\nkind = \"forest9\"\n", Path::new("c.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("c.toml") && e.contains("forest9"), "{e}");
}

#[test]
fn least_squares_weights_equal_scikit_learns() {
    let sk: Value =
        serde_json::from_str(&std::fs::read_to_string(reference("model_sklearn.json")).unwrap())
            .unwrap();
    let trained = TabularModel::train(
        &table("diabetes"),
        &config("progression"),
        &TrainOptions::default(),
    )
    .unwrap();
    let parts = trained.model.estimator.to_parts().unwrap();
    let coef = parts.tensor("coef").unwrap().to_vec::<f64>().unwrap();
    let want = sk["diabetes"]["coef"][0].as_array().unwrap();
    assert_eq!(coef.len(), want.len());
    for (a, b) in coef.iter().zip(want) {
        let b = b.as_f64().unwrap();
        // The feature tensor is f32: the standardized inputs carry ~6e-8 relative rounding.
        assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "{a} vs {b}");
    }
    let b0 = parts.params["intercept"].as_f64().unwrap();
    let want_b0 = sk["diabetes"]["intercept"][0].as_f64().unwrap();
    assert!(
        (b0 - want_b0).abs() <= 1e-6 * want_b0.abs(),
        "{b0} vs {want_b0}"
    );
}

/// Every `--model` on every shipped table, against scikit-learn's same estimator with the
/// same hyperparameters on the same split (`models` in model_sklearn.json). Deterministic
/// estimators must match; randomized ones (forest, tree tie-breaks) may not be worse by
/// more than one point. Prints the table the README shows.
#[test]
fn every_model_is_within_a_point_of_scikit_learn_or_better() {
    let sk: Value =
        serde_json::from_str(&std::fs::read_to_string(reference("model_sklearn.json")).unwrap())
            .unwrap();
    let mut failures = Vec::new();
    for (name, target) in DATASETS {
        let t = table(name);
        for (model, want) in sk[name]["models"].as_object().unwrap() {
            let metric = sk[name]["metric"].as_str().unwrap();
            // Randomized estimators are compared by their mean over seeds 0..9, as the
            // reference is (see scripts/model_reference.py).
            let seeds = if matches!(model.as_str(), "tree" | "forest") {
                10
            } else {
                1
            };
            let mut ours = 0.0;
            for seed in 0..seeds {
                let mut c = config(target);
                c.model = Some(match ModelConfig::by_name(model).unwrap() {
                    ModelConfig::Tree(mut t) => {
                        t.seed = seed;
                        ModelConfig::Tree(t)
                    }
                    ModelConfig::Forest(mut f) => {
                        f.seed = seed;
                        ModelConfig::Forest(f)
                    }
                    other => other,
                });
                let trained = TabularModel::train(&t, &c, &TrainOptions::default()).unwrap();
                ours += trained.model.info.metrics["test"][metric] / seeds as f64;
            }
            let want = want.as_f64().unwrap();
            // One point, or — for the randomized estimators, whose test scores on these
            // 18–179-row test sets move by whole rows from seed to seed — two standard errors
            // of scikit-learn's mean over its 10 seeds, whichever is larger.
            let tol = match sk[name]["seed_scores"].get(model.as_str()) {
                Some(v) => {
                    let xs: Vec<f64> = v
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_f64().unwrap())
                        .collect();
                    let m = xs.iter().sum::<f64>() / xs.len() as f64;
                    let sd = (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>()
                        / (xs.len() - 1) as f64)
                        .sqrt();
                    (2.0 * sd / (xs.len() as f64).sqrt()).max(0.01)
                }
                None => 0.01,
            };
            eprintln!("| {name} | {model} | {metric} | {ours:.4} | {want:.4} | {tol:.3} |");
            if ours < want - tol {
                failures.push(format!(
                    "{name} {model}: {ours:.4} < scikit-learn {want:.4} − {tol:.4}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn new_linear_options_save_and_load_with_identical_predictions() {
    use zhixing_ml::linear::{LinearConfig, LinearSolver, LogisticConfig, Penalty};
    for penalty in [Penalty::L1, Penalty::ElasticNet] {
        let c = LogisticConfig {
            penalty,
            c: 0.5,
            ..Default::default()
        };
        round_trip(ModelConfig::Logistic(c), "wine", "cultivar");
    }
    let gd = LinearConfig {
        solver: LinearSolver::GradientDescent,
        ..Default::default()
    };
    round_trip(ModelConfig::Linear(gd), "diabetes", "progression");
}

#[test]
fn trees_split_on_categorical_columns_one_hot_or_ordinal() {
    use zhixing_data::pipeline::CategoricalEncoding;
    // The label is "yes" exactly for red and blue items; size is noise.
    let colours = ["red", "green", "blue", "black", "white", "grey"];
    let mut text = String::new();
    for i in 0..300 {
        let colour = colours[(i * 7 + i / 5) % colours.len()];
        let label = if colour == "red" || colour == "blue" {
            "yes"
        } else {
            "no"
        };
        text.push_str(&format!(
            "{{\"colour\": \"{colour}\", \"size\": {}, \"label\": \"{label}\"}}\n",
            (i * 37) % 101
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("items.jsonl");
    std::fs::write(&path, text).unwrap();
    let t = read_table(&path, &ReadOptions::default()).unwrap();
    for encoding in [CategoricalEncoding::OneHot, CategoricalEncoding::Ordinal] {
        for name in ["tree", "forest"] {
            let mut c = config("label");
            c.data.categorical = encoding;
            c.model = Some(ModelConfig::by_name(name).unwrap());
            let trained = TabularModel::train(&t, &c, &TrainOptions::default()).unwrap();
            let acc = trained.model.info.metrics["test"]["accuracy"];
            assert_eq!(acc, 1.0, "{name} with {encoding:?}: test accuracy {acc}");
        }
    }
}
