//! `Table::from_json_records`: JSON values in memory read exactly as the same records
//! in a JSON Lines file.

use std::io::Write;

use zhixing_data::records::{read_table, ReadOptions, Table, Value};
use zhixing_data::Error;

#[test]
fn same_table_as_a_jsonl_file() {
    let lines = [
        r#"{"user": {"age": 31, "name": "ann"}, "tags": ["a", "b"], "vip": true}"#,
        r#"{"user": {"age": null}, "spend": 12.5}"#,
        r#"{"tags": [[1], {"x": 2}], "vip": false, "spend": "7"}"#,
    ];
    let mut file = tempfile::Builder::new()
        .suffix(".jsonl")
        .tempfile()
        .unwrap();
    for l in lines {
        writeln!(file, "{l}").unwrap();
    }
    let from_file = read_table(file.path(), &ReadOptions::default()).unwrap();
    let values: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let t = Table::from_json_records(&values, "request").unwrap();
    assert_eq!(t.columns, from_file.columns);
    assert_eq!(t.rows, from_file.rows);
    assert_eq!(t.lines, vec![1, 2, 3]);
    assert_eq!(t.source.to_str(), Some("request"));
    assert_eq!(t.get(0, "user.age"), &Value::Number(31.0));
    assert_eq!(t.get(0, "tags"), &Value::String("a b".into()));
    assert_eq!(t.get(1, "user.age"), &Value::Null);
    assert_eq!(t.get(1, "vip"), &Value::Missing);
}

#[test]
fn a_value_that_is_not_an_object_names_its_record() {
    let values = vec![serde_json::json!({"a": 1}), serde_json::json!([1, 2])];
    match Table::from_json_records(&values, "request") {
        Err(Error::Record {
            line, field, msg, ..
        }) => {
            assert_eq!(line, 2);
            assert_eq!(field, None);
            assert!(
                msg.contains("expected a JSON object, found an array"),
                "{msg}"
            );
        }
        other => panic!("expected a record error, got {other:?}"),
    }
}

#[test]
fn duplicate_flattened_field_and_no_records_are_errors() {
    let values = vec![serde_json::json!({"a": {"b": 1}, "a.b": 2})];
    let err = Table::from_json_records(&values, "request").unwrap_err();
    assert!(matches!(err, Error::Record { line: 1, .. }), "{err}");
    assert!(err.to_string().contains("appears twice"), "{err}");
    let err = Table::from_json_records(&[], "request").unwrap_err();
    assert!(err.to_string().contains("no records"), "{err}");
}
