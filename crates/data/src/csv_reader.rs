//! CSV (any one-byte delimiter, RFC 4180 quoting) read record by record.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::records::{parse_bool, parse_number, Record, Value};
use crate::{Error, Result};

/// The cell texts read as missing (any case), besides the empty cell.
const MISSING_WORDS: [&str; 5] = ["na", "n/a", "nan", "null", "none"];

/// Types one CSV cell: empty or `NA`-like → null, a number, `true`/`false`, else a string.
pub fn cell_value(cell: &str) -> Value {
    let t = cell.trim();
    if t.is_empty() || MISSING_WORDS.iter().any(|w| t.eq_ignore_ascii_case(w)) {
        return Value::Null;
    }
    if let Some(x) = parse_number(t) {
        return Value::Number(x);
    }
    if let Some(b) = parse_bool(t) {
        return Value::Bool(b);
    }
    Value::String(cell.to_string())
}

/// A streaming reader of one CSV file with a header row.
pub struct CsvRecords {
    path: PathBuf,
    reader: csv::Reader<File>,
    header: Vec<String>,
    record: csv::StringRecord,
    done: bool,
}

impl CsvRecords {
    pub fn open(path: &Path, delimiter: u8) -> Result<CsvRecords> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            .flexible(true)
            .from_reader(file);
        let header = match reader.headers() {
            Ok(h) => h.clone(),
            Err(e) => return Err(csv_error(path, e)),
        };
        if header.is_empty() || (header.len() == 1 && header[0].trim().is_empty()) {
            return Err(Error::format(path, "the file is empty (no header row)"));
        }
        let mut names: Vec<String> = Vec::with_capacity(header.len());
        for (j, h) in header.iter().enumerate() {
            let name = h.trim().trim_start_matches('\u{feff}').trim().to_string();
            let name = if name.is_empty() {
                format!("column_{}", j + 1)
            } else {
                name
            };
            if names.contains(&name) {
                return Err(Error::record(
                    path,
                    1,
                    Some(&name),
                    "the header names this column twice",
                ));
            }
            names.push(name);
        }
        Ok(CsvRecords {
            path: path.to_path_buf(),
            reader,
            header: names,
            record: csv::StringRecord::new(),
            done: false,
        })
    }

    pub fn header(&self) -> &[String] {
        &self.header
    }
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    let line = e.position().map(|p| p.line());
    match (e.kind(), line) {
        (csv::ErrorKind::Io(_), _) | (_, None) => Error::format(path, e.to_string()),
        (csv::ErrorKind::Utf8 { err, .. }, Some(l)) => Error::record(
            path,
            l,
            Some(&format!("#{}", err.field() + 1)),
            "not UTF-8 text",
        ),
        (_, Some(l)) => Error::record(path, l, None, e.to_string()),
    }
}

impl Iterator for CsvRecords {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        loop {
            if self.done {
                return None;
            }
            match self.reader.read_record(&mut self.record) {
                Ok(false) => {
                    self.done = true;
                    return None;
                }
                Ok(true) => {}
                Err(e) => {
                    let fatal = matches!(e.kind(), csv::ErrorKind::Io(_));
                    self.done = fatal;
                    return Some(Err(csv_error(&self.path, e)));
                }
            }
            let line = self.record.position().map(|p| p.line()).unwrap_or(0);
            // A blank line: skip it.
            if self.record.len() == 1 && self.record[0].trim().is_empty() && self.header.len() > 1 {
                continue;
            }
            if self.record.len() != self.header.len() {
                let msg = format!(
                    "expected {} fields (as the header), found {}",
                    self.header.len(),
                    self.record.len()
                );
                return Some(Err(Error::record(&self.path, line, None, msg)));
            }
            let fields = self
                .header
                .iter()
                .zip(self.record.iter())
                .map(|(h, cell)| (h.clone(), cell_value(cell)))
                .collect();
            return Some(Ok(Record { line, fields }));
        }
    }
}
