//! JSON records: one object per line (JSON Lines) or a JSON array of objects, nested
//! objects flattened to dotted names.

use std::path::Path;

use serde_json::Value as Json;

use crate::records::{Record, Value};
use crate::{Error, Result};

/// Flattens one JSON object into dotted field names: `{"user":{"age":3}}` gives
/// `user.age = 3`. An array of scalars becomes one string of its items joined by spaces
/// (so a list of tags reads as text); any other array is kept as its JSON text. Keys come
/// out in sorted order.
pub fn flatten(
    obj: &serde_json::Map<String, Json>,
) -> std::result::Result<Vec<(String, Value)>, String> {
    let mut out = Vec::new();
    flatten_into("", obj, &mut out);
    let mut seen = std::collections::HashSet::new();
    for (k, _) in &out {
        if !seen.insert(k.as_str()) {
            return Err(format!("field `{k}` appears twice (after flattening)"));
        }
    }
    Ok(out)
}

fn flatten_into(prefix: &str, obj: &serde_json::Map<String, Json>, out: &mut Vec<(String, Value)>) {
    for (k, v) in obj {
        let name = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            Json::Object(inner) => flatten_into(&name, inner, out),
            other => out.push((name, scalar(other))),
        }
    }
}

fn scalar(v: &Json) -> Value {
    match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => n.as_f64().map(Value::Number).unwrap_or(Value::Null),
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => {
            if items
                .iter()
                .all(|i| !matches!(i, Json::Array(_) | Json::Object(_)))
            {
                let parts: Vec<String> = items.iter().filter_map(|i| scalar(i).as_text()).collect();
                Value::String(parts.join(" "))
            } else {
                Value::String(v.to_string())
            }
        }
        Json::Object(_) => Value::String(v.to_string()),
    }
}

/// Parses one JSON Lines line (already trimmed, not empty) into a record.
pub fn parse_line(path: &Path, line: u64, text: &str) -> Result<Record> {
    let v: Json = serde_json::from_str(text).map_err(|e| {
        Error::record(
            path,
            line,
            None,
            format!("malformed JSON at column {}: {e}", e.column()),
        )
    })?;
    record_from(path, line, v)
}

fn record_from(path: &Path, line: u64, v: Json) -> Result<Record> {
    record_from_value(path, line, &v)
}

/// One parsed JSON value as the record at `line`: an object, flattened.
pub(crate) fn record_from_value(path: &Path, line: u64, v: &Json) -> Result<Record> {
    match v {
        Json::Object(map) => {
            let fields = flatten(map).map_err(|m| Error::record(path, line, None, m))?;
            Ok(Record { line, fields })
        }
        other => Err(Error::record(
            path,
            line,
            None,
            format!("expected a JSON object, found {}", json_type(other)),
        )),
    }
}

fn json_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// Reads a JSON array of objects. A syntax error ends the read (naming line and column);
/// an element that is not an object is a record error (naming its line).
pub fn read_array(path: &Path) -> Result<Vec<Result<Record>>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| Error::format(path, format!("not UTF-8 text: {e}")))?;
    let text = text.trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return Err(Error::format(path, "the file is empty"));
    }
    let v: Json = serde_json::from_str(text).map_err(|e| {
        Error::format(
            path,
            format!(
                "malformed JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    let Json::Array(items) = v else {
        return Err(Error::format(
            path,
            format!("expected a JSON array of objects, found {}", json_type(&v)),
        ));
    };
    let lines = element_lines(text);
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, item)| record_from(path, lines.get(i).copied().unwrap_or(1), item))
        .collect())
}

/// The 1-based line where each element of the top-level array starts.
fn element_lines(text: &str) -> Vec<u64> {
    let mut lines = Vec::new();
    let (mut depth, mut line) = (0usize, 1u64);
    let (mut in_str, mut escape, mut expect) = (false, false, false);
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        }
        if in_str {
            if escape {
                escape = false;
            } else if c == '\\' {
                escape = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        if expect && !c.is_whitespace() && c != ']' {
            lines.push(line);
            expect = false;
        }
        match c {
            '"' => in_str = true,
            '[' | '{' => {
                depth += 1;
                if depth == 1 {
                    expect = true;
                }
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 1 => expect = true,
            _ => {}
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_lines_follow_the_array() {
        let text = "[\n {\"a\": \"x,]\"},\n {\"a\": [1,2]}\n,{}]";
        assert_eq!(element_lines(text), vec![2, 3, 4]);
    }
}
