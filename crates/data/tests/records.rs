//! Readers: CSV (quoting, delimiters), JSON Lines (streaming), JSON arrays, nested
//! flattening, format sniffing, and every bad-input error naming file and line.

use std::io::Write;
use std::path::PathBuf;

use zhixing_data::records::{detect_format, Records};
use zhixing_data::{read_table, Error, Format, ReadOptions, Value};

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::File::create(&p)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    p
}

fn opts() -> ReadOptions {
    ReadOptions::default()
}

#[test]
fn csv_with_quotes_types_and_missing_cells() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        &d,
        "a.csv",
        "name,age,note,ok\n\"Smith, J\",42,\"said \"\"hi\"\"\nthen left\",true\nLee,,NA,FALSE\n",
    );
    let t = read_table(&p, &opts()).unwrap();
    assert_eq!(t.columns, ["name", "age", "note", "ok"]);
    assert_eq!(t.rows[0][0], Value::String("Smith, J".into()));
    assert_eq!(t.rows[0][1], Value::Number(42.0));
    assert_eq!(t.rows[0][2], Value::String("said \"hi\"\nthen left".into()));
    assert_eq!(t.rows[0][3], Value::Bool(true));
    assert_eq!(t.rows[1][1], Value::Null);
    assert_eq!(t.rows[1][2], Value::Null);
    assert_eq!(t.rows[1][3], Value::Bool(false));
    // The second record starts on line 4 (the quoted cell spans two lines).
    assert_eq!(t.lines, [2, 4]);
}

#[test]
fn delimiters_given_by_extension_option_or_sniffed() {
    let d = tempfile::tempdir().unwrap();
    let tsv = write(&d, "a.tsv", "x\ty\n1\t2\n");
    assert_eq!(
        detect_format(&tsv, &opts()).unwrap(),
        Format::Csv { delimiter: b'\t' }
    );
    let semi = write(&d, "a.txt", "x;y;z\n1;2;3\n4;5;6\n");
    let t = read_table(&semi, &opts()).unwrap();
    assert_eq!(t.columns, ["x", "y", "z"]);
    assert_eq!(t.rows[1][2], Value::Number(6.0));
    let pipe = write(&d, "b.csv", "x|y\n1|2\n");
    let o = ReadOptions {
        delimiter: Some(b'|'),
        ..opts()
    };
    assert_eq!(
        read_table(&pipe, &o).unwrap().rows[0][1],
        Value::Number(2.0)
    );
}

#[test]
fn jsonl_flattens_nested_objects_and_unions_keys() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        &d,
        "a.jsonl",
        "{\"id\":1,\"user\":{\"age\":25,\"geo\":{\"city\":\"Xi'an\"}},\"tags\":[\"a\",\"b\"]}\n\n{\"id\":2,\"user\":{\"age\":null},\"extra\":true}\n",
    );
    let t = read_table(&p, &opts()).unwrap();
    // Keys come in sorted order within a record (serde_json's map), new keys appended.
    assert_eq!(
        t.columns,
        ["id", "tags", "user.age", "user.geo.city", "extra"]
    );
    assert_eq!(t.get(0, "user.geo.city"), &Value::String("Xi'an".into()));
    assert_eq!(t.get(0, "tags"), &Value::String("a b".into()));
    assert_eq!(t.get(0, "extra"), &Value::Missing);
    assert_eq!(t.get(1, "user.age"), &Value::Null);
    assert_eq!(t.get(1, "user.geo.city"), &Value::Missing);
    assert_eq!(t.lines, [1, 3]);
}

#[test]
fn jsonl_streams_record_by_record() {
    let d = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..1000 {
        text.push_str(&format!("{{\"i\":{i}}}\n"));
    }
    text.push_str("{broken\n");
    let p = write(&d, "big.jsonl", &text);
    let mut recs = Records::open(&p, &opts()).unwrap();
    let first = recs.next().unwrap().unwrap();
    assert_eq!(first.fields, vec![("i".to_string(), Value::Number(0.0))]);
    // Records before the bad line arrive before its error.
    let rest: Vec<_> = recs.collect();
    assert_eq!(rest.len(), 1000);
    assert!(rest[..999].iter().all(|r| r.is_ok()));
    let e = rest[999].as_ref().unwrap_err().to_string();
    assert!(e.contains("big.jsonl:1001"), "{e}");
}

#[test]
fn json_array_records_know_their_lines() {
    let d = tempfile::tempdir().unwrap();
    let p = write(
        &d,
        "a.json",
        "[\n  {\"a\": 1, \"s\": \"x,]\"},\n  {\"a\": 2,\n   \"b\": {\"c\": false}},\n  3\n]\n",
    );
    assert_eq!(detect_format(&p, &opts()).unwrap(), Format::JsonArray);
    let e = read_table(&p, &opts()).unwrap_err().to_string();
    assert!(
        e.contains("a.json:5") && e.contains("expected a JSON object"),
        "{e}"
    );
    let skip = ReadOptions {
        skip_bad_rows: true,
        ..opts()
    };
    let t = read_table(&p, &skip).unwrap();
    assert_eq!(t.lines, [2, 3]);
    assert_eq!(t.get(1, "b.c"), &Value::Bool(false));
    assert_eq!(t.skipped, 1);
}

#[test]
fn malformed_json_line_names_file_line_and_column() {
    let d = tempfile::tempdir().unwrap();
    let p = write(&d, "m.jsonl", "{\"a\":1}\n{\"a\":2,}\n{\"a\":3}\n");
    let e = read_table(&p, &opts()).unwrap_err();
    assert!(matches!(e, Error::Record { line: 2, .. }), "{e}");
    let s = e.to_string();
    assert!(s.contains("m.jsonl:2") && s.contains("column"), "{s}");
}

#[test]
fn skipping_bad_rows_counts_them() {
    let d = tempfile::tempdir().unwrap();
    let p = write(&d, "s.jsonl", "{\"a\":1}\nnot json\n[1]\n{\"a\":4}\n");
    let o = ReadOptions {
        skip_bad_rows: true,
        ..opts()
    };
    let t = read_table(&p, &o).unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t.skipped, 2);
    assert!(t
        .warnings
        .iter()
        .any(|w| w.contains("skipped 2 bad record")));
}

#[test]
fn ragged_csv_row_names_its_line() {
    let d = tempfile::tempdir().unwrap();
    let p = write(&d, "r.csv", "a,b,c\n1,2,3\n4,5\n6,7,8\n");
    let e = read_table(&p, &opts()).unwrap_err().to_string();
    assert!(
        e.contains("r.csv:3") && e.contains("expected 3 fields"),
        "{e}"
    );
    let o = ReadOptions {
        skip_bad_rows: true,
        ..opts()
    };
    let t = read_table(&p, &o).unwrap();
    assert_eq!((t.len(), t.skipped), (2, 1));
}

#[test]
fn empty_files_are_errors() {
    let d = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("e.csv", ""),
        ("e.jsonl", "\n\n"),
        ("e.json", "  "),
        ("h.csv", "a,b\n"),
        ("n.json", "[]"),
    ] {
        let p = write(&d, name, text);
        let e = read_table(&p, &opts()).unwrap_err().to_string();
        assert!(e.contains(name), "{e}");
        assert!(e.contains("empty") || e.contains("no records"), "{e}");
    }
}

#[test]
fn a_missing_file_names_its_path() {
    let e = read_table("/nonexistent/x.csv", &opts())
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/x.csv"), "{e}");
}

#[test]
fn duplicate_fields_after_flattening_are_errors() {
    let d = tempfile::tempdir().unwrap();
    let p = write(&d, "d.jsonl", "{\"user.age\":1,\"user\":{\"age\":2}}\n");
    let e = read_table(&p, &opts()).unwrap_err().to_string();
    assert!(e.contains("d.jsonl:1") && e.contains("user.age"), "{e}");
}

#[test]
fn shipped_files_read() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data");
    for (file, rows, cols) in [
        ("iris.csv", 150, 5),
        ("wine.csv", 178, 14),
        ("breast_cancer.csv", 569, 31),
        ("diabetes.csv", 442, 11),
        ("customers.jsonl", 200, 10),
    ] {
        let t = read_table(root.join(file), &opts()).unwrap();
        assert_eq!((t.len(), t.columns.len()), (rows, cols), "{file}");
    }
}

#[test]
fn garbage_bytes_never_panic() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("g.bin");
    std::fs::write(&p, [0xffu8, 0xfe, b',', b'\n', 0, 1, 2, b'"', b'\n']).unwrap();
    let _ = read_table(&p, &opts());
    let p = write(&d, "q.csv", "a,b\n\"unterminated,1\n");
    let _ = read_table(&p, &opts());
    let p = write(&d, "z.json", "[{\"a\":1},");
    let e = read_table(&p, &opts()).unwrap_err().to_string();
    assert!(e.contains("z.json") && e.contains("line 1"), "{e}");
}
