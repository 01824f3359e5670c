//! The `zhixing` binary as a user runs it.

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

#[test]
fn stats_reports_iris_columns_and_correlations() {
    let (ok, out, err) = zhixing(&["stats", "data/iris.csv"]);
    assert!(ok, "{err}");
    // Known Iris values: sepal length mean 5.843333, sample std 0.828066;
    // Pearson(petal length, petal width) = 0.9629.
    assert!(
        out.contains("5.843333") && out.contains("0.828066"),
        "{out}"
    );
    assert!(out.contains("0.9629"), "{out}");
    assert!(
        out.contains("species") && out.contains("distinct 3"),
        "{out}"
    );
}

#[test]
fn stats_json_is_machine_readable() {
    let (ok, out, err) = zhixing(&["stats", "data/customers.jsonl", "--json"]);
    assert!(ok, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["rows"], 200);
    let numeric = doc["numeric"].as_array().unwrap();
    let age = numeric
        .iter()
        .find(|c| c["name"] == "user.age")
        .expect("nested field flattened");
    assert_eq!(age["missing"], 19);
    assert!(doc["categorical"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "review"));
}

#[test]
fn bad_input_names_the_file_and_line() {
    let (ok, _, err) = zhixing(&["stats", "no/such/file.csv"]);
    assert!(!ok && err.contains("no/such/file.csv"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.jsonl");
    std::fs::write(&path, "{\"a\": 1}\n{\"a\": 2\n{\"a\": 3}\n").unwrap();
    let (ok, _, err) = zhixing(&["stats", path.to_str().unwrap()]);
    assert!(
        !ok && err.contains("broken.jsonl") && err.contains(":2"),
        "{err}"
    );
    let (ok, out, err) = zhixing(&["stats", path.to_str().unwrap(), "--skip-bad-rows"]);
    assert!(ok, "{err}");
    assert!(out.contains("2 rows"), "{out}");
}
