//! Metrics against scikit-learn 1.9.1 values committed in tests/reference/.

mod common;

use common::*;
use zhixing_ml::metrics::{self, Average, ClassificationReport, ConfusionMatrix};

#[test]
fn classification_matches_sklearn() {
    let r = load("classification.json");
    for case in r["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let t = labels(&case["y_true"]);
        let p = labels(&case["y_pred"]);
        let given = (!case["labels"].is_null()).then(|| labels(&case["labels"]));
        let order = labels(&case["label_order"]);

        let cm = match &given {
            Some(l) => ConfusionMatrix::with_labels(&t, &p, l).unwrap(),
            None => ConfusionMatrix::new(&t, &p).unwrap(),
        };
        assert_eq!(cm.labels, order, "{name}: label order");
        let want: Vec<Vec<u64>> = case["confusion_matrix"]
            .as_array()
            .unwrap()
            .iter()
            .map(vu)
            .collect();
        assert_eq!(cm.counts, want, "{name}: confusion matrix");

        close(
            metrics::accuracy(&t, &p).unwrap(),
            f(&case["accuracy"]),
            name,
        );

        let rows = metrics::precision_recall_f1(&t, &p, given.as_deref()).unwrap();
        let pc = &case["per_class"];
        let col = |k: &str| rows.iter().map(|r| r.get(k)).collect::<Vec<f64>>();
        close_all(&col("precision"), &vf(&pc["precision"]), name);
        close_all(&col("recall"), &vf(&pc["recall"]), name);
        close_all(&col("f1"), &vf(&pc["f1"]), name);
        let support: Vec<u64> = rows.iter().map(|r| r.support).collect();
        assert_eq!(support, vu(&pc["support"]), "{name}: support");

        for (key, avg) in [
            ("micro", Average::Micro),
            ("macro", Average::Macro),
            ("weighted", Average::Weighted),
        ] {
            let a = metrics::precision_recall_f1_average(&t, &p, given.as_deref(), avg).unwrap();
            let w = &case[key];
            let what = format!("{name}: {key}");
            close(a.precision, f(&w["precision"]), &what);
            close(a.recall, f(&w["recall"]), &what);
            close(a.f1, f(&w["f1"]), &what);
        }
    }
}

/// Field access by name, to walk the reference columns.
trait Get {
    fn get(&self, k: &str) -> f64;
}

impl<L> Get for metrics::ClassScores<L> {
    fn get(&self, k: &str) -> f64 {
        match k {
            "precision" => self.precision,
            "recall" => self.recall,
            _ => self.f1,
        }
    }
}

#[test]
fn binary_scores_match_sklearn() {
    let r = load("classification.json");
    for case in r["binary"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let t = labels(&case["y_true"]);
        let p = labels(&case["y_pred"]);
        let pos = label(&case["pos_label"]);
        let s = metrics::binary_scores(&t, &p, &pos).unwrap();
        close(s.precision, f(&case["precision"]), name);
        close(s.recall, f(&case["recall"]), name);
        close(s.f1, f(&case["f1"]), name);
    }
}

#[test]
fn zero_division_is_zero_with_a_flag() {
    // Class 3 is in y_true but never predicted: its recall is defined (0) but precision
    // is 0/0. Class 4 is never seen at all when listed explicitly.
    let t = [0, 1, 3, 3];
    let p = [0, 1, 0, 1];
    let rows = metrics::precision_recall_f1(&t, &p, Some(&[0, 1, 3, 4])).unwrap();
    assert_eq!(rows[2].precision, 0.0);
    assert!(rows[2].ill_defined.precision && !rows[2].ill_defined.recall);
    assert!(!rows[2].ill_defined.f1);
    assert!(rows[3].ill_defined.precision && rows[3].ill_defined.recall);
    assert!(rows[3].ill_defined.f1);
    assert!(!rows[0].ill_defined.any());
    let m =
        metrics::precision_recall_f1_average(&t, &p, Some(&[0, 1, 3, 4]), Average::Macro).unwrap();
    assert!(m.ill_defined.precision);
    let report = ClassificationReport::new(&t, &p).unwrap();
    assert!(report.any_ill_defined());
    assert_eq!(report.warnings.len(), 1);
}

#[test]
fn roc_matches_sklearn_including_ties() {
    let r = load("probabilistic.json");
    for case in r["roc"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let t = vb(&case["y_true"]);
        let s = vf(&case["y_score"]);
        close(metrics::roc_auc(&t, &s).unwrap(), f(&case["auc"]), name);
        let curve = metrics::roc_curve(&t, &s).unwrap();
        close_all(&curve.fpr, &vf(&case["fpr"]), name);
        close_all(&curve.tpr, &vf(&case["tpr"]), name);
        assert_eq!(curve.thresholds[0], f64::INFINITY);
        close_all(
            &curve.thresholds[1..],
            &vf(&case["thresholds_after_inf"]),
            name,
        );
    }
}

#[test]
fn log_loss_matches_sklearn() {
    let r = load("probabilistic.json");
    for case in r["log_loss"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let t = labels(&case["y_true"]);
        let p = vvf(&case["y_proba"]);
        let given = (!case["labels"].is_null()).then(|| labels(&case["labels"]));
        let got = metrics::log_loss(&t, &p, given.as_deref()).unwrap();
        close(got, f(&case["loss"]), name);
    }
    for case in r["log_loss_binary"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let got = metrics::log_loss_binary(&vb(&case["y_true"]), &vf(&case["p"])).unwrap();
        close(got, f(&case["loss"]), name);
    }
}

#[test]
fn regression_matches_sklearn() {
    let r = load("regression.json");
    for case in r["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (t, p) = (vf(&case["y_true"]), vf(&case["y_pred"]));
        close(metrics::mse(&t, &p).unwrap(), f(&case["mse"]), name);
        close(metrics::rmse(&t, &p).unwrap(), f(&case["rmse"]), name);
        close(metrics::mae(&t, &p).unwrap(), f(&case["mae"]), name);
        close(metrics::r2(&t, &p).unwrap(), f(&case["r2"]), name);
        let rep = metrics::RegressionReport::new(&t, &p).unwrap();
        close(rep.r2, f(&case["r2"]), name);
        assert_eq!(rep.n, t.len());
    }
}

#[test]
fn ranking_matches_hand_computed_values() {
    let r = load("ranking.json");
    let ranked: Vec<Vec<String>> = r["ranked"].as_array().unwrap().iter().map(vs).collect();
    let relevant: Vec<Vec<String>> = r["relevant"].as_array().unwrap().iter().map(vs).collect();
    for k in 1..=3usize {
        let key = k.to_string();
        let hr = metrics::hit_rate_at_k(&ranked, &relevant, k).unwrap();
        close(hr, f(&r["hit_rate"][&key]), "hit rate");
        let mrr = metrics::mean_reciprocal_rank(&ranked, &relevant, Some(k)).unwrap();
        close(mrr, f(&r["mrr_at"][&key]), "mrr@k");
    }
    let mrr = metrics::mean_reciprocal_rank(&ranked, &relevant, None).unwrap();
    close(mrr, f(&r["mrr"]), "mrr");
}

#[test]
fn reports_render_and_serialize() {
    let t = ["cat", "dog", "dog", "fish", "cat"];
    let p = ["cat", "dog", "cat", "fish", "cat"];
    let rep = ClassificationReport::new(&t, &p)
        .unwrap()
        .with_roc_auc(0.9)
        .with_log_loss(0.25);
    let text = rep.to_string();
    for needle in [
        "precision",
        "weighted avg",
        "macro avg",
        "accuracy",
        "ROC AUC",
        "log-loss",
        "true \\ pred",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let json = serde_json::to_value(&rep).unwrap();
    assert_eq!(json["classes"][0]["label"], "cat");
    assert_eq!(json["confusion_matrix"]["counts"][0][0], 2);
    assert_eq!(json["accuracy"], 0.8);

    let cm = ConfusionMatrix::new(&t, &p).unwrap();
    let grid = cm.to_string();
    let lines: Vec<&str> = grid.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[2].trim_start().starts_with("dog"));
    assert_eq!(lines[2], "        dog     1     1     0", "{grid}");

    let reg = metrics::RegressionReport::new(&[1.0, 2.0, 3.0], &[1.0, 2.5, 2.0]).unwrap();
    assert!(reg.to_string().contains("RMSE"));
    let json = serde_json::to_value(&reg).unwrap();
    assert_eq!(json["n"], 3);
}
