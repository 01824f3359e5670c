//! Splits (stratification, k-fold coverage, time order), fit-on-train-only, the full
//! records → tensors path, serialization, and bad values naming file, line and field.

use std::collections::BTreeMap;
use std::path::PathBuf;

use zhixing_data::pipeline::{class_ids, FeatureTransform, PipelineOptions, TransformOptions};
use zhixing_data::{
    infer_schema, kfold, ordered_split, random_split, read_table, stratified_kfold,
    stratified_split, time_order, CategoricalEncoding, MissingPolicy, ReadOptions, SchemaOptions,
    SplitRatios, Table,
};

fn data(file: &str) -> Table {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(file);
    read_table(p, &ReadOptions::default()).unwrap()
}

fn tmp(name: &str, text: &str) -> (tempfile::TempDir, Table) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join(name);
    std::fs::write(&p, text).unwrap();
    let t = read_table(&p, &ReadOptions::default()).unwrap();
    (d, t)
}

fn counts(labels: &[usize], rows: &[usize]) -> BTreeMap<usize, usize> {
    let mut m = BTreeMap::new();
    for &i in rows {
        *m.entry(labels[i]).or_default() += 1;
    }
    m
}

#[test]
fn random_split_is_seeded_and_partitions_rows() {
    let a = random_split(100, SplitRatios::default(), 7).unwrap();
    assert_eq!(a, random_split(100, SplitRatios::default(), 7).unwrap());
    assert_ne!(a, random_split(100, SplitRatios::default(), 8).unwrap());
    assert_eq!(
        (a.train.len(), a.validation.len(), a.test.len()),
        (80, 10, 10)
    );
    let mut all: Vec<usize> = [a.train, a.validation, a.test].concat();
    all.sort();
    assert_eq!(all, (0..100).collect::<Vec<_>>());
    let bad = SplitRatios {
        train: 0.5,
        validation: 0.1,
        test: 0.1,
    };
    assert!(random_split(10, bad, 0).is_err());
}

#[test]
fn stratified_split_keeps_class_proportions() {
    let t = data("breast_cancer.csv");
    let s = infer_schema(&t, &SchemaOptions::new("diagnosis")).unwrap();
    let labels = class_ids(&t, &s).unwrap();
    let total = counts(&labels, &(0..labels.len()).collect::<Vec<_>>());
    let sp = stratified_split(&labels, SplitRatios::default(), 3).unwrap();
    for (rows, frac) in [(&sp.train, 0.8), (&sp.validation, 0.1), (&sp.test, 0.1)] {
        let c = counts(&labels, rows);
        for (class, n) in &total {
            let want = *n as f64 * frac;
            assert!(
                (c[class] as f64 - want).abs() <= 1.0,
                "{class}: {} vs {want}",
                c[class]
            );
        }
    }
    assert_eq!(sp.train.len() + sp.validation.len() + sp.test.len(), 569);
}

#[test]
fn kfold_covers_every_row_exactly_once() {
    for n in [10, 11, 150] {
        let folds = kfold(n, 4, 1).unwrap();
        let mut seen = vec![0; n];
        for f in &folds {
            assert_eq!(f.train.len() + f.test.len(), n);
            assert!(f.test.iter().all(|i| !f.train.contains(i)));
            f.test.iter().for_each(|&i| seen[i] += 1);
        }
        assert!(seen.iter().all(|&c| c == 1), "{seen:?}");
        let sizes: Vec<usize> = folds.iter().map(|f| f.test.len()).collect();
        assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
    }
    assert!(kfold(3, 4, 0).is_err());
    assert!(kfold(3, 1, 0).is_err());
}

#[test]
fn stratified_kfold_covers_rows_and_balances_classes() {
    let t = data("iris.csv");
    let s = infer_schema(&t, &SchemaOptions::new("species")).unwrap();
    let labels = class_ids(&t, &s).unwrap();
    let folds = stratified_kfold(&labels, 5, 9).unwrap();
    let mut seen = vec![0; labels.len()];
    for f in &folds {
        f.test.iter().for_each(|&i| seen[i] += 1);
        let c = counts(&labels, &f.test);
        assert_eq!(c.values().copied().collect::<Vec<_>>(), [10, 10, 10]);
    }
    assert!(seen.iter().all(|&c| c == 1));
}

#[test]
fn time_ordered_split_does_not_shuffle() {
    let (_d, t) = tmp(
        "t.csv",
        "day,x,y\n2024-01-05,1,a\n2024-01-01,2,b\n2024-01-03,3,a\n2024-01-02,4,b\n2024-01-04,5,a\n",
    );
    let order = time_order(&t, "day").unwrap();
    assert_eq!(order, [1, 3, 2, 4, 0]);
    let r = SplitRatios {
        train: 0.6,
        validation: 0.2,
        test: 0.2,
    };
    let sp = ordered_split(&order, r).unwrap();
    assert_eq!(
        (sp.train, sp.validation, sp.test),
        (vec![1, 3, 2], vec![4], vec![0])
    );
    assert!(time_order(&t, "nope").is_err());
}

#[test]
fn statistics_come_from_the_training_rows_only() {
    let (_d, t) = tmp(
        "f.csv",
        "x,c,y\n1,red,a\n2,red,b\n3,blue,a\n100,green,b\n,red,a\n",
    );
    let s = infer_schema(&t, &SchemaOptions::new("y")).unwrap();
    let train = [0, 1, 2];
    let ft = FeatureTransform::fit(&t, &s, &train, &PipelineOptions::default()).unwrap();
    // Train x = 1, 2, 3: mean 2, population std sqrt(2/3).
    let f = ft
        .transform_rows(&t, &[3, 4], &TransformOptions::default())
        .unwrap();
    assert_eq!(ft.feature_names, ["x", "c=blue", "c=red"]);
    let x = f.x.to_vec::<f32>().unwrap();
    let std = (2.0f64 / 3.0).sqrt();
    assert!((x[0] as f64 - 98.0 / std).abs() < 1e-4);
    // The missing x of row 4 takes the train mean → 0 after scaling.
    assert_eq!(x[3], 0.0);
    // "green" was not in the train rows: all zeros, counted.
    assert_eq!(&x[1..3], &[0.0, 0.0]);
    assert_eq!(f.unseen["c"], 1);
    assert_eq!(f.y.unwrap().to_vec::<i64>().unwrap(), [1, 0]);
}

#[test]
fn customers_become_tensors_and_the_transform_round_trips() {
    let t = data("customers.jsonl");
    let s = infer_schema(&t, &SchemaOptions::new("label")).unwrap();
    let labels = class_ids(&t, &s).unwrap();
    let sp = stratified_split(&labels, SplitRatios::default(), 42).unwrap();
    let ft = FeatureTransform::fit(&t, &s, &sp.train, &PipelineOptions::default()).unwrap();
    let f = ft.transform(&t, &TransformOptions::default()).unwrap();
    assert_eq!(f.x.shape(), &[200, ft.n_features()]);
    assert!(ft.feature_names.iter().any(|n| n == "user.age"));
    assert!(ft.feature_names.iter().any(|n| n == "user.country=CN"));
    assert!(ft.feature_names.iter().any(|n| n.starts_with("review:")));
    assert!(!ft.feature_names.iter().any(|n| n == "id"));
    assert!(f.x.to_vec::<f32>().unwrap().iter().all(|v| v.is_finite()));
    assert_eq!(f.y.as_ref().unwrap().shape(), &[200]);
    let back = FeatureTransform::from_json(&ft.to_json().unwrap()).unwrap();
    assert_eq!(back, ft);
    let g = back.transform(&t, &TransformOptions::default()).unwrap();
    assert_eq!(g.x.to_vec::<f32>().unwrap(), f.x.to_vec::<f32>().unwrap());
    // Ordinal encoding gives one column per categorical.
    let o = PipelineOptions {
        categorical: CategoricalEncoding::Ordinal,
        ..PipelineOptions::default()
    };
    let ord = FeatureTransform::fit(&t, &s, &sp.train, &o).unwrap();
    assert!(ord.feature_names.iter().any(|n| n == "channel"));
}

#[test]
fn regression_targets_are_f32() {
    let t = data("diabetes.csv");
    let s = infer_schema(&t, &SchemaOptions::new("progression")).unwrap();
    let sp = random_split(t.len(), SplitRatios::default(), 0).unwrap();
    let ft = FeatureTransform::fit(&t, &s, &sp.train, &PipelineOptions::default()).unwrap();
    let f = ft
        .transform_rows(&t, &sp.test, &TransformOptions::default())
        .unwrap();
    assert_eq!(f.x.shape(), &[sp.test.len(), 10]);
    let y = f.y.unwrap().to_vec::<f32>().unwrap();
    assert_eq!(y.len(), sp.test.len());
    assert!(class_ids(&t, &s).is_err());
}

#[test]
fn predict_tables_without_target_or_with_absent_columns() {
    let t = data("iris.csv");
    let s = infer_schema(&t, &SchemaOptions::new("species")).unwrap();
    let ft = FeatureTransform::fit(
        &t,
        &s,
        &[0, 1, 50, 51, 100, 101],
        &PipelineOptions::default(),
    )
    .unwrap();
    let (_d, p) = tmp(
        "p.jsonl",
        "{\"sepal_length\":5.0,\"sepal_width\":3.1,\"petal_length\":1.5}\n",
    );
    let f = ft.transform(&p, &TransformOptions::default()).unwrap();
    assert!(f.y.is_none());
    assert_eq!(f.x.shape(), &[1, 4]);
    assert!(f.warnings.iter().any(|w| w.contains("`petal_width`")));
    let req = TransformOptions {
        require_target: true,
        ..TransformOptions::default()
    };
    let e = ft.transform(&p, &req).unwrap_err().to_string();
    assert!(e.contains("p.jsonl") && e.contains("`species`"), "{e}");
}

#[test]
fn wrong_types_and_missing_values_name_file_line_and_field() {
    let (_d, t) = tmp(
        "w.jsonl",
        "{\"a\":1,\"b\":true,\"y\":\"x\"}\n{\"a\":2,\"b\":false,\"y\":\"z\"}\n{\"a\":3,\"b\":true,\"y\":\"x\"}\n{\"a\":4,\"b\":false,\"y\":\"z\"}\n{\"a\":5,\"b\":true,\"y\":\"x\"}\n{\"a\":6,\"b\":false,\"y\":\"z\"}\n{\"a\":7,\"b\":true,\"y\":\"x\"}\n{\"a\":8,\"b\":false,\"y\":\"z\"}\n{\"a\":9,\"b\":true,\"y\":\"x\"}\n{\"a\":\"ten\",\"b\":true,\"y\":\"z\"}\n{\"b\":3,\"y\":\"x\"}\n{\"a\":1,\"b\":true}\n",
    );
    let s = infer_schema(&t, &SchemaOptions::new("y")).unwrap();
    let all: Vec<usize> = (0..t.len()).collect();
    let e = FeatureTransform::fit(&t, &s, &all, &PipelineOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("w.jsonl:10") && e.contains("`a`") && e.contains("\"ten\""),
        "{e}"
    );
    let ft = FeatureTransform::fit(&t, &s, &all[..9], &PipelineOptions::default()).unwrap();
    let strict = TransformOptions::default();
    let e = ft
        .transform_rows(&t, &[10], &strict)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("w.jsonl:11") && e.contains("`b`") && e.contains("boolean"),
        "{e}"
    );
    let e = ft
        .transform_rows(&t, &[11], &strict)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("w.jsonl:12") && e.contains("`y`") && e.contains("missing target"),
        "{e}"
    );
    let lenient = TransformOptions {
        skip_bad_rows: true,
        ..strict
    };
    let f = ft.transform(&t, &lenient).unwrap();
    assert_eq!((f.rows.len(), f.skipped), (9, 3));
    assert!(f.warnings.iter().any(|w| w.contains("skipped 3 bad row")));
    // The `error` policy for missing values.
    let mut o = SchemaOptions::new("y");
    o.missing.insert("a".into(), MissingPolicy::Error);
    let s = infer_schema(&t, &o).unwrap();
    let e = FeatureTransform::fit(&t, &s, &[0, 10], &PipelineOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("w.jsonl:11") && e.contains("`a`") && e.contains("missing"),
        "{e}"
    );
    // A label not seen when the schema was inferred.
    let (_d2, u) = tmp("u.csv", "a,b,y\n1,true,q\n");
    let e = ft.transform(&u, &strict).unwrap_err().to_string();
    assert!(
        e.contains("u.csv:2") && e.contains("unknown class `q`"),
        "{e}"
    );
}
