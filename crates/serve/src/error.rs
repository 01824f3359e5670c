//! Errors: [`Error`] for starting the server and loading models, [`ApiError`] for what a
//! client is told — a status and `{"error": {"code", "message", "field"}}`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Starting the server or loading a model failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model file could not be loaded. (The causes are written into the message, not
    /// chained, so `{:#}` does not print them twice.)
    #[error("model `{name}` ({path}): {cause}")]
    Load {
        name: String,
        path: String,
        cause: Box<zhixing_ml::Error>,
    },
    /// A bad `NAME=PATH` argument, a duplicate name, no models.
    #[error("{0}")]
    Spec(String),
    #[error("{what}: {cause}")]
    Io { what: String, cause: std::io::Error },
}

pub type Result<T> = std::result::Result<T, Error>;

/// The error code of a response, kept in its extensions so the request log and the
/// metrics can name it.
#[derive(Clone, Copy, Debug)]
pub struct ErrorCode(pub &'static str);

/// An error answered to a client.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    /// A stable machine-readable name: `malformed_json`, `missing_field`, …
    pub code: &'static str,
    pub message: String,
    /// The record field at fault, where known.
    pub field: Option<String>,
    /// The 0-based index of the record at fault, where known.
    pub record: Option<usize>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            record: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// A failure that is not the client's; the cause goes to the log, not the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error (the cause is in the server log)",
        )
    }

    pub fn unknown_model(name: &str, known: &[&str]) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown_model",
            format!(
                "no model named `{name}`: the server has {}",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ),
        )
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn with_record(mut self, record: usize) -> Self {
        self.record = Some(record);
        self
    }

    /// A bad record or value found while reading or transforming the request's records.
    /// Record errors carry the 1-based record number as their line.
    pub fn from_data(e: zhixing_data::Error) -> Self {
        use zhixing_data::Error as D;
        match e {
            D::Record {
                line, field, msg, ..
            } => {
                let index = line.saturating_sub(1) as usize;
                let (code, message) = match &field {
                    Some(f) => (
                        "invalid_value",
                        format!("record {index}: field `{f}`: {msg}"),
                    ),
                    None => ("invalid_record", format!("record {index}: {msg}")),
                };
                let mut err = Self::bad_request(code, message).with_record(index);
                err.field = field;
                err
            }
            D::Format { msg, .. } => Self::bad_request("invalid_input", msg),
            D::Invalid(msg) => Self::bad_request("invalid_input", msg),
            other => Self::internal(other),
        }
    }

    /// An error of `TabularModel::predict`: bad input is the client's (400, naming the
    /// field), anything else is ours (500).
    pub fn from_prediction(e: zhixing_ml::Error) -> Self {
        match e {
            zhixing_ml::Error::Data(d) => Self::from_data(d),
            other => Self::internal(other),
        }
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        let mut inner = json!({
            "code": self.code,
            "message": self.message,
            "field": self.field,
        });
        if let Some(r) = self.record {
            inner["record"] = json!(r);
        }
        json!({ "error": inner })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            self.body().to_string(),
        )
            .into_response();
        resp.extensions_mut().insert(ErrorCode(self.code));
        resp
    }
}
