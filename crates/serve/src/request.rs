//! A predict request's body → the records as a table: one JSON object or a list of
//! them, read with the same rules as a JSON Lines file (zhixing-data's
//! `Table::from_json_records`), every field the model needs present.

use axum::http::StatusCode;
use serde_json::Value as Json;
use zhixing_data::records::Table;

use crate::error::ApiError;
use crate::registry::LoadedModel;

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

/// One record (an object) or a list of them.
pub fn parse_records(body: &[u8], max_records: usize) -> Result<Vec<Json>, ApiError> {
    const SHAPE: &str = "send a JSON object (one record) or an array of objects";
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "empty_body",
            format!("the body is empty: {SHAPE}"),
        ));
    }
    let v: Json = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            format!(
                "malformed JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    let records = match v {
        Json::Array(items) => items,
        obj @ Json::Object(_) => vec![obj],
        other => {
            return Err(ApiError::bad_request(
                "invalid_body",
                format!("found {}: {SHAPE}", json_type(&other)),
            ))
        }
    };
    if records.is_empty() {
        return Err(ApiError::bad_request(
            "no_records",
            format!("the list of records is empty: {SHAPE}"),
        ));
    }
    if records.len() > max_records {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_records",
            format!(
                "{} records in one request; the limit is {max_records}",
                records.len()
            ),
        ));
    }
    if let Some(i) = records.iter().position(|r| !r.is_object()) {
        return Err(ApiError::bad_request(
            "invalid_record",
            format!(
                "record {i}: expected a JSON object, found {}",
                json_type(&records[i])
            ),
        )
        .with_record(i));
    }
    Ok(records)
}

/// The records as a table, every required field present. A target field is dropped:
/// predictions never read it, and a label unseen in training must not fail.
pub fn to_table(model: &LoadedModel, records: &[Json]) -> Result<Table, ApiError> {
    let mut table = Table::from_json_records(records, "request").map_err(ApiError::from_data)?;
    if let Some(j) = table.column_index(&model.model.transform.schema.target) {
        table.columns.remove(j);
        for r in table.rows.iter_mut() {
            r.remove(j);
        }
    }
    model.check_input(&table)?;
    Ok(table)
}
