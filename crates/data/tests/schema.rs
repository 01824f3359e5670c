//! Schema inference on the shipped files, overrides, task inference and the bad-target
//! errors.

use std::io::Write;
use std::path::PathBuf;

use zhixing_data::{
    infer_schema, read_table, ColumnKind, MissingPolicy, ReadOptions, SchemaOptions, Table, Task,
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
    std::fs::File::create(&p)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let t = read_table(&p, &ReadOptions::default()).unwrap();
    (d, t)
}

#[test]
fn shipped_classification_sets() {
    for (file, target, classes, task) in [
        ("iris.csv", "species", 3, Task::MulticlassClassification),
        ("wine.csv", "cultivar", 3, Task::MulticlassClassification),
        (
            "breast_cancer.csv",
            "diagnosis",
            2,
            Task::BinaryClassification,
        ),
    ] {
        let s = infer_schema(&data(file), &SchemaOptions::new(target)).unwrap();
        assert_eq!(s.task, task, "{file}");
        assert_eq!(s.classes.len(), classes, "{file}");
        assert!(
            s.columns.iter().all(|c| c.kind == ColumnKind::Numeric),
            "{file}"
        );
    }
}

#[test]
fn diabetes_is_regression() {
    let s = infer_schema(&data("diabetes.csv"), &SchemaOptions::new("progression")).unwrap();
    assert_eq!(s.task, Task::Regression);
    assert!(s.classes.is_empty());
    assert_eq!(s.features().count(), 10);
}

#[test]
fn customers_kinds_missing_and_notices() {
    let t = data("customers.jsonl");
    let s = infer_schema(&t, &SchemaOptions::new("label")).unwrap();
    assert_eq!(s.task, Task::BinaryClassification);
    assert_eq!(s.classes, ["buy", "skip"]);
    let kind = |n: &str| s.column(n).unwrap().kind;
    assert_eq!(kind("id"), ColumnKind::Identifier);
    assert_eq!(kind("user.age"), ColumnKind::Numeric);
    assert_eq!(kind("user.country"), ColumnKind::Categorical);
    assert_eq!(kind("user.member"), ColumnKind::Boolean);
    assert_eq!(kind("newsletter"), ColumnKind::Boolean);
    assert_eq!(kind("channel"), ColumnKind::Categorical);
    assert_eq!(kind("review"), ColumnKind::Text);
    assert_eq!(kind("avg_spend"), ColumnKind::Numeric);
    let age = s.column("user.age").unwrap();
    assert!(age.n_missing > 0);
    assert_eq!(age.missing, MissingPolicy::Mean);
    assert!(s
        .notices
        .iter()
        .any(|n| n.contains("`id`") && n.contains("dropped")));
    assert!(s
        .notices
        .iter()
        .any(|n| n.contains("`user.age`") && n.contains("impute mean")));
}

#[test]
fn overrides_win() {
    let t = data("customers.jsonl");
    let mut o = SchemaOptions::new("label");
    o.kinds.insert("review".into(), ColumnKind::Ignore);
    o.kinds.insert("channel".into(), ColumnKind::Text);
    o.missing.insert("user.age".into(), MissingPolicy::Median);
    o.max_categories = 3;
    let s = infer_schema(&t, &o).unwrap();
    assert_eq!(s.column("review").unwrap().kind, ColumnKind::Ignore);
    assert_eq!(s.column("channel").unwrap().kind, ColumnKind::Text);
    assert_eq!(s.column("user.age").unwrap().missing, MissingPolicy::Median);
    // Five countries > three categories: free text now.
    assert_eq!(s.column("user.country").unwrap().kind, ColumnKind::Text);
    // A task override: iris's species stay classes, diabetes can be forced to classes.
    let mut o = SchemaOptions::new("progression");
    o.task = Some(Task::MulticlassClassification);
    let s = infer_schema(&data("diabetes.csv"), &o).unwrap();
    assert!(s.classes.len() > 100);
}

#[test]
fn integer_targets_with_few_values_are_classes() {
    let (_d, t) = tmp("c.csv", "x,y\n1,0\n2,1\n3,2\n4,0\n5,1.5\n");
    let s = infer_schema(&t, &SchemaOptions::new("y")).unwrap();
    assert_eq!(s.task, Task::Regression);
    let (_d, t) = tmp("c.csv", "x,y\n1,0\n2,1\n3,2\n4,0\n");
    let s = infer_schema(&t, &SchemaOptions::new("y")).unwrap();
    assert_eq!(s.task, Task::MulticlassClassification);
    assert_eq!(s.classes, ["0", "1", "2"]);
}

#[test]
fn unknown_target_names_file_and_column() {
    let e = infer_schema(&data("iris.csv"), &SchemaOptions::new("colour"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("iris.csv") && e.contains("`colour`"), "{e}");
}

#[test]
fn single_class_target_is_an_error() {
    let (_d, t) = tmp("one.csv", "x,label\n1,buy\n2,buy\n3,\n");
    let e = infer_schema(&t, &SchemaOptions::new("label"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("one.csv") && e.contains("`label`") && e.contains("single class"),
        "{e}"
    );
}

#[test]
fn regression_on_a_text_target_names_the_line() {
    let (_d, t) = tmp("r.csv", "x,y\n1,2.5\n2,lots\n");
    let mut o = SchemaOptions::new("y");
    o.task = Some(Task::Regression);
    let e = infer_schema(&t, &o).unwrap_err().to_string();
    assert!(e.contains("r.csv:3") && e.contains("`y`"), "{e}");
}

#[test]
fn policies_that_do_not_fit_the_kind_are_refused() {
    let t = data("customers.jsonl");
    let mut o = SchemaOptions::new("label");
    o.missing.insert("channel".into(), MissingPolicy::Mean);
    let e = infer_schema(&t, &o).unwrap_err().to_string();
    assert!(e.contains("`channel`"), "{e}");
    let mut o = SchemaOptions::new("label");
    o.kinds.insert("nope".into(), ColumnKind::Text);
    assert!(infer_schema(&t, &o).is_err());
}

#[test]
fn unique_strings_are_identifiers() {
    let mut text = String::from("email,score,y\n");
    for i in 0..40 {
        text.push_str(&format!("u{i}@x.org,{},{}\n", i % 7, i % 2));
    }
    let (_d, t) = tmp("u.csv", &text);
    let s = infer_schema(&t, &SchemaOptions::new("y")).unwrap();
    assert_eq!(s.column("email").unwrap().kind, ColumnKind::Identifier);
    assert_eq!(s.column("score").unwrap().kind, ColumnKind::Numeric);
}
