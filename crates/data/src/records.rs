//! Records: typed values read from JSON arrays, JSON Lines and CSV files, and the table
//! they are gathered into.
//!
//! ```no_run
//! use zhixing_data::records::{read_table, ReadOptions};
//! let table = read_table("data/customers.jsonl", &ReadOptions::default()).unwrap();
//! println!("{} rows, columns {:?}", table.len(), table.columns);
//! ```

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{csv_reader, json, Error, Result};

/// One field's value, with its type kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// The key is absent from the record (or the column from the file).
    Missing,
    /// An explicit `null`, an empty CSV cell or a CSV `NA`/`NaN`/`null`.
    Null,
    Bool(bool),
    Number(f64),
    String(String),
}

impl Value {
    /// Missing, null or an empty string.
    pub fn is_missing(&self) -> bool {
        match self {
            Value::Missing | Value::Null => true,
            Value::String(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    /// The value as a number: numbers, and strings that parse as finite numbers.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(x) => Some(*x),
            Value::String(s) => parse_number(s.trim()),
            _ => None,
        }
    }

    /// The value as a boolean: booleans and the strings `true`/`false` (any case).
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::String(s) => parse_bool(s.trim()),
            _ => None,
        }
    }

    /// The value as a category or text string (numbers written shortest-form).
    pub fn as_text(&self) -> Option<String> {
        match self {
            Value::Missing | Value::Null => None,
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(x) => Some(format_number(*x)),
            Value::String(s) => Some(s.clone()),
        }
    }

    /// A short name of the type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Missing => "missing",
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
        }
    }

    /// A short rendering for error messages.
    pub fn describe(&self) -> String {
        match self {
            Value::String(s) => {
                let short: String = s.chars().take(40).collect();
                let dots = if short.len() < s.len() { "…" } else { "" };
                format!("string {short:?}{dots}")
            }
            Value::Number(x) => format!("number {}", format_number(*x)),
            Value::Bool(b) => format!("boolean {b}"),
            other => other.type_name().to_string(),
        }
    }
}

/// Writes integers without a trailing `.0`.
pub fn format_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// A finite number written the usual way (no `inf`/`nan` words).
pub fn parse_number(s: &str) -> Option<f64> {
    let first = s.chars().next()?;
    if !(first.is_ascii_digit() || matches!(first, '-' | '+' | '.')) {
        return None;
    }
    s.parse::<f64>().ok().filter(|x| x.is_finite())
}

pub fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// One record: its 1-based line in the file and its fields, nested objects flattened to
/// dotted names (`user.age`).
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub line: u64,
    pub fields: Vec<(String, Value)>,
}

/// The file formats read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Format {
    /// A JSON array of objects (read whole).
    JsonArray,
    /// One JSON object per line (streamed).
    JsonLines,
    /// Delimited text with a header row (streamed).
    Csv { delimiter: u8 },
}

/// How to read a file.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// The format; `None` picks it from the extension, then the content.
    pub format: Option<Format>,
    /// The CSV delimiter; `None` sniffs it from the header line.
    pub delimiter: Option<u8>,
    /// Skip bad records (malformed line, ragged row) and count them instead of failing.
    pub skip_bad_rows: bool,
}

/// Picks the format of `path` from its extension, then from its first bytes.
pub fn detect_format(path: &Path, opts: &ReadOptions) -> Result<Format> {
    if let Some(f) = opts.format {
        return Ok(match (f, opts.delimiter) {
            (Format::Csv { .. }, Some(d)) => Format::Csv { delimiter: d },
            _ => f,
        });
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();
    let head = read_head(path)?;
    let text = String::from_utf8_lossy(&head);
    let text = text.trim_start_matches('\u{feff}');
    let first = text.chars().find(|c| !c.is_whitespace());
    let Some(first) = first else {
        return Err(Error::format(path, "the file is empty"));
    };
    let csv = |text: &str| Format::Csv {
        delimiter: opts.delimiter.unwrap_or_else(|| sniff_delimiter(text)),
    };
    Ok(match ext.as_str() {
        "jsonl" | "ndjson" => Format::JsonLines,
        "csv" => Format::Csv {
            delimiter: opts.delimiter.unwrap_or(b','),
        },
        "tsv" | "tab" => Format::Csv {
            delimiter: opts.delimiter.unwrap_or(b'\t'),
        },
        _ if first == '[' => Format::JsonArray,
        _ if first == '{' => Format::JsonLines,
        _ => csv(text),
    })
}

fn read_head(path: &Path) -> Result<Vec<u8>> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut buf = vec![0u8; 8192];
    let mut n = 0;
    while n < buf.len() {
        let k = f.read(&mut buf[n..]).map_err(|e| Error::io(path, e))?;
        if k == 0 {
            break;
        }
        n += k;
    }
    buf.truncate(n);
    Ok(buf)
}

/// The most frequent of `, \t ; |` on the first line (comma when none occurs).
pub fn sniff_delimiter(text: &str) -> u8 {
    let line = text.lines().next().unwrap_or("");
    let mut best = (0usize, b',');
    for d in [b',', b'\t', b';', b'|'] {
        let n = line.bytes().filter(|&b| b == d).count();
        if n > best.0 {
            best = (n, d);
        }
    }
    best.1
}

/// A stream of records from one file. JSON Lines and CSV are read line by line; a JSON
/// array is parsed whole. Errors of a single record are [`Error::Record`] and the stream
/// goes on after them; any other error ends it.
pub struct Records {
    path: PathBuf,
    inner: Inner,
}

enum Inner {
    Lines {
        reader: BufReader<File>,
        line: u64,
        buf: String,
        done: bool,
    },
    Array(std::vec::IntoIter<Result<Record>>),
    Csv(csv_reader::CsvRecords),
}

impl Records {
    /// Opens `path` for streaming.
    pub fn open(path: impl AsRef<Path>, opts: &ReadOptions) -> Result<Records> {
        let path = path.as_ref().to_path_buf();
        let format = detect_format(&path, opts)?;
        let inner = match format {
            Format::JsonLines => {
                let f = File::open(&path).map_err(|e| Error::io(&path, e))?;
                Inner::Lines {
                    reader: BufReader::new(f),
                    line: 0,
                    buf: String::new(),
                    done: false,
                }
            }
            Format::JsonArray => Inner::Array(json::read_array(&path)?.into_iter()),
            Format::Csv { delimiter } => {
                Inner::Csv(csv_reader::CsvRecords::open(&path, delimiter)?)
            }
        };
        Ok(Records { path, inner })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The column names known before reading any record (CSV headers), if any.
    pub fn header(&self) -> Option<&[String]> {
        match &self.inner {
            Inner::Csv(c) => Some(c.header()),
            _ => None,
        }
    }
}

impl Iterator for Records {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        match &mut self.inner {
            Inner::Array(it) => it.next(),
            Inner::Csv(c) => c.next(),
            Inner::Lines {
                reader,
                line,
                buf,
                done,
            } => loop {
                if *done {
                    return None;
                }
                buf.clear();
                match reader.read_line(buf) {
                    Ok(0) => {
                        *done = true;
                        return None;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        *done = true;
                        let msg = format!("line {}: {e}", *line + 1);
                        return Some(Err(Error::format(&self.path, msg)));
                    }
                }
                *line += 1;
                let text = buf.trim_start_matches('\u{feff}').trim();
                if text.is_empty() {
                    continue;
                }
                return Some(json::parse_line(&self.path, *line, text));
            },
        }
    }
}

/// Records gathered into rows and columns (the union of every record's fields, in order
/// of first appearance; a field a record lacks is [`Value::Missing`]).
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub source: PathBuf,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    /// The 1-based line of each row in `source`.
    pub lines: Vec<u64>,
    /// Records skipped as bad (only with `skip_bad_rows`).
    pub skipped: usize,
    /// Human-readable notes: the first skipped records' errors and the count.
    pub warnings: Vec<String>,
}

/// How many skipped-record errors a table keeps as warnings.
const MAX_WARNINGS: usize = 5;

/// Reads every record of `path` into a table. An empty file, or one with no records, is
/// an error.
pub fn read_table(path: impl AsRef<Path>, opts: &ReadOptions) -> Result<Table> {
    let records = Records::open(path, opts)?;
    Table::from_records(records, opts.skip_bad_rows)
}

impl Table {
    /// Gathers a record stream; with `skip_bad_rows`, record errors are counted instead
    /// of returned.
    pub fn from_records(records: Records, skip_bad_rows: bool) -> Result<Table> {
        let mut t = Table {
            source: records.path().to_path_buf(),
            ..Table::default()
        };
        let mut index: HashMap<String, usize> = HashMap::new();
        if let Some(h) = records.header() {
            for name in h {
                index.insert(name.clone(), t.columns.len());
                t.columns.push(name.clone());
            }
        }
        for rec in records {
            let rec = match rec {
                Ok(r) => r,
                Err(e @ Error::Record { .. }) if skip_bad_rows => {
                    t.skip(e.to_string());
                    continue;
                }
                Err(e) => return Err(e),
            };
            t.push_record(&mut index, rec);
        }
        if t.skipped > 0 {
            t.warnings.push(format!(
                "{}: skipped {} bad record(s)",
                t.source.display(),
                t.skipped
            ));
        }
        if t.rows.is_empty() {
            return Err(Error::format(&t.source, "the file holds no records"));
        }
        Ok(t)
    }

    /// Gathers JSON values, each one record as a JSON Lines line holds, with the same
    /// rules as reading a file (nested objects flattened to dotted names, arrays of
    /// scalars joined as text, columns in order of first appearance). Row `i` gets line
    /// `i + 1`, the 1-based record number, so the third record's errors read
    /// `SOURCE:3: …`. A value that is not an object, or no values, is an error.
    pub fn from_json_records(
        values: &[serde_json::Value],
        source: impl Into<PathBuf>,
    ) -> Result<Table> {
        let mut t = Table {
            source: source.into(),
            ..Table::default()
        };
        let mut index: HashMap<String, usize> = HashMap::new();
        for (i, v) in values.iter().enumerate() {
            let rec = json::record_from_value(&t.source, i as u64 + 1, v)?;
            t.push_record(&mut index, rec);
        }
        if t.rows.is_empty() {
            return Err(Error::format(&t.source, "no records"));
        }
        Ok(t)
    }

    /// Appends one record, adding its new fields as columns (Missing in earlier rows).
    fn push_record(&mut self, index: &mut HashMap<String, usize>, rec: Record) {
        let mut row = vec![Value::Missing; self.columns.len()];
        for (name, value) in rec.fields {
            let j = *index.entry(name.clone()).or_insert_with(|| {
                self.columns.push(name);
                for r in self.rows.iter_mut() {
                    r.push(Value::Missing);
                }
                self.columns.len() - 1
            });
            if j >= row.len() {
                row.resize(j + 1, Value::Missing);
            }
            row[j] = value;
        }
        row.resize(self.columns.len(), Value::Missing);
        self.rows.push(row);
        self.lines.push(rec.line);
    }

    fn skip(&mut self, msg: String) {
        self.skipped += 1;
        if self.skipped <= MAX_WARNINGS {
            self.warnings.push(format!("skipped: {msg}"));
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// The values of column `j`, one per row.
    pub fn column(&self, j: usize) -> impl Iterator<Item = &Value> + '_ {
        self.rows
            .iter()
            .map(move |r| r.get(j).unwrap_or(&Value::Missing))
    }

    /// The value at row `i` of column `name` ([`Value::Missing`] when the column is absent).
    pub fn get(&self, i: usize, name: &str) -> &Value {
        self.column_index(name)
            .and_then(|j| self.rows.get(i).and_then(|r| r.get(j)))
            .unwrap_or(&Value::Missing)
    }

    /// A table of the rows at `indices`, in that order (indices out of range are ignored).
    pub fn select(&self, indices: &[usize]) -> Table {
        let keep: Vec<usize> = indices
            .iter()
            .copied()
            .filter(|&i| i < self.rows.len())
            .collect();
        Table {
            source: self.source.clone(),
            columns: self.columns.clone(),
            rows: keep.iter().map(|&i| self.rows[i].clone()).collect(),
            lines: keep.iter().map(|&i| self.lines[i]).collect(),
            skipped: self.skipped,
            warnings: self.warnings.clone(),
        }
    }

    /// An error about row `i`, naming the file, its line and `field`.
    pub fn row_error(&self, i: usize, field: Option<&str>, msg: impl Into<String>) -> Error {
        let line = self.lines.get(i).copied().unwrap_or(0);
        Error::record(&self.source, line, field, msg)
    }
}
