//! `zhixing train`, `eval` and `predict` as a user runs them: from a JSON file to
//! metrics and predictions, the model file carrying its fitted transforms, and every
//! bad input answered with an error that names the file, line or field.

use std::path::{Path, PathBuf};
use std::process::Command;

fn zhixing(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zhixing"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .expect("the binary runs");
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).into_owned();
    (out.status.success(), text(out.stdout), text(out.stderr))
}

fn tmp(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Trains on `data`, returns (model path, predictions written by train).
fn train(dir: &tempfile::TempDir, data: &str, target: &str, extra: &[&str]) -> (PathBuf, String) {
    let model = tmp(dir, "model.zxm");
    let preds = tmp(dir, "train_predictions.jsonl");
    let mut args = vec![
        "train",
        data,
        "--target",
        target,
        "-o",
        s(&model),
        "--predictions",
        s(&preds),
    ];
    args.extend_from_slice(extra);
    let (ok, out, err) = zhixing(&args);
    assert!(ok, "train failed: {out}{err}");
    (model, std::fs::read_to_string(&preds).unwrap())
}

#[test]
fn predict_reproduces_trains_predictions_exactly() {
    for (data, target, extra) in [
        ("data/customers.jsonl", "label", vec![]),
        (
            "data/customers.jsonl",
            "label",
            vec!["--model", "mlp", "--epochs", "5", "--hidden", "16"],
        ),
        ("data/diabetes.csv", "progression", vec![]),
        (
            "data/diabetes.csv",
            "progression",
            vec!["--model", "mlp", "--epochs", "3"],
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (model, at_train) = train(&dir, data, target, &extra);
        let (ok, out, err) = zhixing(&["predict", s(&model), data]);
        assert!(ok, "{err}");
        // Byte for byte: the imputation, encoders, scaler and weights travelled with the model.
        assert_eq!(out, at_train, "{data} {extra:?}");
        assert_eq!(
            out.lines().count(),
            if data.contains("customers") { 200 } else { 442 }
        );
    }
}

#[test]
fn a_json_file_becomes_metrics_and_predictions_in_three_commands() {
    let dir = tempfile::tempdir().unwrap();
    let model = tmp(&dir, "customers.zxm");
    let (ok, out, err) = zhixing(&[
        "train",
        "data/customers.jsonl",
        "--target",
        "label",
        "-o",
        s(&model),
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("binary classification") && out.contains("confusion matrix"),
        "{out}"
    );
    assert!(
        out.contains("`id`: identifier"),
        "the id column is dropped with a notice: {out}"
    );
    let (ok, out, err) = zhixing(&[
        "eval",
        s(&model),
        "data/customers.jsonl",
        "--split",
        "test",
        "--json",
    ]);
    assert!(ok, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["metrics"]["rows"], 20.0, "10 % of 200 rows: {out}");
    let cm = &doc["report"]["confusion_matrix"]["counts"];
    assert!(cm.is_array(), "{out}");
    let preds_path = tmp(&dir, "p.jsonl");
    let (ok, _, err) = zhixing(&[
        "predict",
        s(&model),
        "data/customers.jsonl",
        "-o",
        s(&preds_path),
    ]);
    assert!(ok && err.contains("wrote 200 predictions"), "{err}");
    let first: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&preds_path)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let p = &first["probabilities"];
    let total = p["buy"].as_f64().unwrap() + p["skip"].as_f64().unwrap();
    assert!((total - 1.0).abs() < 1e-12, "{first}");
    assert!(["buy", "skip"].contains(&first["prediction"].as_str().unwrap()));
}

#[test]
fn eval_on_the_test_split_repeats_trains_test_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let model = tmp(&dir, "iris.zxm");
    let (ok, out, err) = zhixing(&[
        "train",
        "data/iris.csv",
        "--target",
        "species",
        "-o",
        s(&model),
        "--json",
    ]);
    assert!(ok, "{err}");
    let trained: serde_json::Value = serde_json::from_str(&out).unwrap();
    let (ok, out, err) = zhixing(&[
        "eval",
        s(&model),
        "data/iris.csv",
        "--split",
        "test",
        "--json",
    ]);
    assert!(ok, "{err}");
    let eval: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(eval["metrics"], trained["metrics"]["test"]);
    assert_eq!(trained["split"]["test"], 15);
}

#[test]
fn a_toml_config_sets_the_model_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = tmp(&dir, "train.toml");
    std::fs::write(
        &cfg,
        "[data]\ntarget = \"species\"\nsplit = [0.6, 0.2, 0.2]\n\n[model]\nkind = \"mlp\"\nhidden = [8]\nepochs = 2\n",
    )
    .unwrap();
    let model = tmp(&dir, "m.zxm");
    let (ok, out, err) = zhixing(&[
        "train",
        "data/iris.csv",
        "--config",
        s(&cfg),
        "--epochs",
        "3",
        "-o",
        s(&model),
        "--json",
    ]);
    assert!(ok, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["model"]["kind"], "mlp");
    assert_eq!(doc["model"]["hidden"], serde_json::json!([8]));
    assert_eq!(doc["model"]["epochs"], 3, "the flag overrides the file");
    assert_eq!(doc["split"]["train"], 90);
    std::fs::write(&cfg, "[model]\nkind = \"mlp\"\nhiden = [8]\n").unwrap();
    let (ok, _, err) = zhixing(&[
        "train",
        "data/iris.csv",
        "--target",
        "species",
        "--config",
        s(&cfg),
        "-o",
        s(&model),
    ]);
    assert!(
        !ok && err.contains("train.toml") && err.contains("hiden"),
        "{err}"
    );
}

/// Runs `train` on `content` written to a file named `name`; returns stderr.
fn train_error(name: &str, content: &str, target: &str) -> String {
    train_error_with(name, content, target, &[])
}

fn train_error_with(name: &str, content: &str, target: &str, extra: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let data = tmp(&dir, name);
    std::fs::write(&data, content).unwrap();
    let model = tmp(&dir, "m.zxm");
    let mut args = vec!["train", s(&data), "--target", target, "-o", s(&model)];
    args.extend_from_slice(extra);
    let (ok, out, err) = zhixing(&args);
    assert!(!ok, "expected a failure, got: {out}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!model.exists(), "no model is written on failure");
    err
}

#[test]
fn bad_input_gets_an_error_naming_file_line_and_field() {
    let rows = "{\"x\": 1, \"y\": \"a\"}\n{\"x\": 2, \"y\": \"b\"}\n";
    let err = train_error(
        "bad.jsonl",
        &format!("{rows}{{\"x\": 3, \"y\": \n{rows}"),
        "y",
    );
    assert!(err.contains("bad.jsonl:3"), "malformed line: {err}");
    let err = train_error(
        "type.jsonl",
        &format!(
            "{rows}{{\"x\": \"three\", \"y\": \"a\"}}\n{}",
            rows.repeat(10)
        ),
        "y",
    );
    assert!(
        err.contains("type.jsonl:3") && err.contains("`x`"),
        "wrong type: {err}"
    );
    let err = train_error("t.jsonl", rows, "label");
    assert!(
        err.contains("unknown target column `label`") && err.contains("x, y"),
        "unknown target: {err}"
    );
    let err = train_error("empty.csv", "", "y");
    assert!(
        err.contains("empty.csv") && err.contains("empty"),
        "empty file: {err}"
    );
    let one = "{\"x\": 1, \"y\": \"a\"}\n{\"x\": 2, \"y\": \"a\"}\n";
    let err = train_error("one.jsonl", one, "y");
    assert!(err.contains("single class `a`"), "one class: {err}");
    let err = train_error_with("reg.jsonl", rows, "y", &["--task", "regression"]);
    assert!(
        err.contains("reg.jsonl:1") && err.contains("needs a numeric target"),
        "{err}"
    );
    let err = train_error_with("lin.jsonl", rows, "y", &["--model", "linear"]);
    assert!(
        err.contains("`linear` cannot do binary classification"),
        "{err}"
    );
}

#[test]
fn skip_bad_rows_trains_on_the_rest_and_says_how_many() {
    let dir = tempfile::tempdir().unwrap();
    let data = tmp(&dir, "d.jsonl");
    let mut text = String::new();
    for i in 0..40 {
        text.push_str(&format!(
            "{{\"x\": {i}, \"y\": \"{}\"}}\n",
            if i % 2 == 0 { "a" } else { "b" }
        ));
    }
    text.push_str("{\"x\": oops\n");
    std::fs::write(&data, &text).unwrap();
    let model = tmp(&dir, "m.zxm");
    let (ok, out, err) = zhixing(&[
        "train",
        s(&data),
        "--target",
        "y",
        "-o",
        s(&model),
        "--skip-bad-rows",
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("40 records")
            && out.contains("d.jsonl:41")
            && out.contains("skipped 1 bad record"),
        "{out}"
    );
}

#[test]
fn loading_something_that_is_not_a_model_says_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = train(&dir, "data/iris.csv", "species", &[]);
    let bytes = std::fs::read(&model).unwrap();
    let cut = tmp(&dir, "cut.zxm");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let (ok, _, err) = zhixing(&["predict", s(&cut), "data/iris.csv"]);
    assert!(!ok && err.contains("cut.zxm is truncated"), "{err}");
    let (ok, _, err) = zhixing(&["predict", "data/iris.csv", "data/iris.csv"]);
    assert!(
        !ok && err.contains("iris.csv is not a zhixing model"),
        "{err}"
    );
    let (ok, _, err) = zhixing(&["eval", s(&tmp(&dir, "absent.zxm")), "data/iris.csv"]);
    assert!(!ok && err.contains("absent.zxm"), "{err}");
    // A model file from a newer format: bump the version in the header in place.
    let key = b"\"format_version\":\"1\"";
    let at = bytes
        .windows(key.len())
        .position(|w| w == key)
        .expect("the version is in the header");
    let mut newer_bytes = bytes.clone();
    newer_bytes[at + key.len() - 2] = b'9';
    let newer = tmp(&dir, "newer.zxm");
    std::fs::write(&newer, newer_bytes).unwrap();
    let (ok, _, err) = zhixing(&["predict", s(&newer), "data/iris.csv"]);
    assert!(
        !ok && err.contains("newer zhixing") && err.contains("format 9"),
        "{err}"
    );
}

#[test]
fn eval_rejects_a_label_the_model_never_saw_naming_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = train(&dir, "data/iris.csv", "species", &[]);
    let data = tmp(&dir, "new.csv");
    std::fs::write(&data, "sepal_length,sepal_width,petal_length,petal_width,species\n5.1,3.5,1.4,0.2,setosa\n6,3,5,2,unknown_flower\n").unwrap();
    let (ok, _, err) = zhixing(&["eval", s(&model), s(&data)]);
    assert!(
        !ok && err.contains("new.csv:3")
            && err.contains("`species`")
            && err.contains("unknown_flower"),
        "{err}"
    );
    // predict needs no target column and handles a record without it.
    std::fs::write(
        &data,
        "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n",
    )
    .unwrap();
    let (ok, out, err) = zhixing(&["predict", s(&model), s(&data)]);
    assert!(ok, "{err}");
    assert!(out.starts_with("{\"prediction\":\"setosa\""), "{out}");
}

#[test]
fn cross_validation_scores_every_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let model = tmp(&dir, "w.zxm");
    let (ok, out, err) = zhixing(&[
        "train",
        "data/wine.csv",
        "--target",
        "cultivar",
        "-o",
        s(&model),
        "--cv",
        "5",
        "--json",
    ]);
    assert!(ok, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let folds = doc["cross_validation"]["folds"].as_array().unwrap();
    assert_eq!(folds.len(), 5);
    let rows: f64 = folds.iter().map(|f| f["rows"].as_f64().unwrap()).sum();
    assert_eq!(
        rows, 178.0,
        "each of the 178 wines is held out exactly once"
    );
    let mean = doc["cross_validation"]["mean"]["accuracy"]
        .as_f64()
        .unwrap();
    assert!(mean > 0.95, "{mean}");
    let (ok, _, err) = zhixing(&[
        "train",
        "data/wine.csv",
        "--target",
        "cultivar",
        "-o",
        s(&model),
        "--cv",
        "1",
    ]);
    assert!(!ok && err.contains("k-fold needs 2 <= k"), "{err}");
}

#[test]
fn cluster_and_pca_report_known_iris_values_and_draw() {
    let dir = tempfile::tempdir().unwrap();
    let elbow = tmp(&dir, "elbow.png");
    let (ok, out, err) = zhixing(&[
        "cluster",
        "data/iris.csv",
        "--k",
        "3",
        "--label",
        "species",
        "--elbow",
        "5",
        "--plot",
        s(&elbow),
        "--json",
    ]);
    assert!(ok, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    // scikit-learn's KMeans(3, n_init=10) on standardized Iris: inertia 139.820.
    let inertia = doc["inertia"].as_f64().unwrap();
    assert!((inertia - 139.820).abs() < 0.01, "{inertia}");
    let sizes: Vec<u64> = doc["sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(sizes.iter().sum::<u64>(), 150);
    assert_eq!(
        doc["label_counts"]["setosa"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| **v == 50)
            .count(),
        1,
        "setosa is one cluster"
    );
    assert_eq!(doc["elbow"].as_array().unwrap().len(), 5);
    assert!(std::fs::metadata(&elbow).unwrap().len() > 1000);
    let plot = tmp(&dir, "pca.svg");
    let (ok, out, err) = zhixing(&[
        "pca",
        "data/iris.csv",
        "--components",
        "2",
        "--label",
        "species",
        "--plot",
        s(&plot),
        "--json",
    ]);
    assert!(ok, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    // scikit-learn's PCA on standardized Iris: explained variance ratio 0.729624, 0.228508.
    let r = doc["explained_variance_ratio"].as_array().unwrap();
    assert!(
        (r[0].as_f64().unwrap() - 0.729624).abs() < 1e-6
            && (r[1].as_f64().unwrap() - 0.228508).abs() < 1e-6,
        "{r:?}"
    );
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(
        svg.contains("virginica") && svg.contains("PC1"),
        "the legend and axis are drawn"
    );
    let (ok, _, err) = zhixing(&["pca", "data/iris.csv", "--label", "kind"]);
    assert!(!ok && err.contains("unknown label column `kind`"), "{err}");
}

#[test]
fn penalty_flags_choose_l1_or_elastic_net_logistic_regression() {
    let dir = tempfile::tempdir().unwrap();
    let model = tmp(&dir, "bc.zxm");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "train",
            "data/breast_cancer.csv",
            "--target",
            "diagnosis",
            "-o",
            s(&model),
        ];
        args.extend_from_slice(extra);
        zhixing(&args)
    };
    let (ok, out, err) = run(&["--penalty", "l1", "--c", "0.05"]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("logistic regression (C 0.05, L1 penalty)"),
        "{out}"
    );
    let (ok, out, err) = run(&["--penalty", "elastic-net", "--l1-ratio", "0.3", "--json"]);
    assert!(ok, "{out}{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["model"]["penalty"], "elastic_net", "{out}");
    assert_eq!(doc["model"]["l1_ratio"], 0.3, "{out}");
    assert!(
        doc["metrics"]["test"]["accuracy"].as_f64().unwrap() > 0.9,
        "{out}"
    );

    let (ok, out, err) = run(&["--model", "svm", "--c", "2", "--json"]);
    assert!(ok, "{out}{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["model"]["c"], 2.0, "--c sets the SVM's C: {out}");

    let (ok, _, err) = run(&["--penalty", "l3"]);
    assert!(
        !ok && err.contains("--penalty l3: expected one of l2, l1, elastic_net, none"),
        "{err}"
    );
    let (ok, _, err) = run(&["--l1-ratio", "0.3"]);
    assert!(
        !ok && err.contains("--l1-ratio applies to --penalty elastic_net"),
        "{err}"
    );
    let (ok, _, err) = run(&["--model", "tree", "--penalty", "l1"]);
    assert!(
        !ok && err.contains("--penalty and --l1-ratio to logistic"),
        "{err}"
    );
    let (ok, _, err) = run(&["--penalty", "elastic_net", "--l1-ratio", "2"]);
    assert!(
        !ok && err.contains("l1_ratio must be in [0, 1], got 2"),
        "{err}"
    );
}

#[test]
fn gradient_descent_linear_regression_predicts_as_the_closed_form_does() {
    let dir = tempfile::tempdir().unwrap();
    let (_, closed) = train(&dir, "data/diabetes.csv", "progression", &[]);
    let (_, by_gd) = train(
        &dir,
        "data/diabetes.csv",
        "progression",
        &["--solver", "gradient-descent"],
    );
    let values = |text: &str| -> Vec<f64> {
        text.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["prediction"].as_f64().unwrap()
            })
            .collect()
    };
    let (a, b) = (values(&closed), values(&by_gd));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-6 * x.abs().max(1.0), "{x} vs {y}");
    }
    let model = tmp(&dir, "iris.zxm");
    let (ok, _, err) = zhixing(&[
        "train",
        "data/iris.csv",
        "--target",
        "species",
        "--model",
        "logistic",
        "--solver",
        "gradient-descent",
        "-o",
        s(&model),
    ]);
    assert!(
        !ok && err.contains("--solver applies to --model linear and ridge"),
        "{err}"
    );
}
