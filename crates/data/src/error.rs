//! Errors that name the file, line or field at fault.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Tensor(#[from] zhixing_tensor::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file's content is not what its format requires.
    #[error("{path}: {msg}")]
    Format { path: PathBuf, msg: String },
    /// One record (row) is bad: the file, its 1-based line and, where known, the field.
    #[error("{}", record_message(path, *line, field.as_deref(), msg))]
    Record {
        path: PathBuf,
        line: u64,
        field: Option<String>,
        msg: String,
    },
    #[error("{0}")]
    Invalid(String),
}

fn record_message(path: &std::path::Path, line: u64, field: Option<&str>, msg: &str) -> String {
    match field {
        Some(f) => format!("{}:{line}: field `{f}`: {msg}", path.display()),
        None => format!("{}:{line}: {msg}", path.display()),
    }
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
    pub fn record(
        path: impl Into<PathBuf>,
        line: u64,
        field: Option<&str>,
        msg: impl Into<String>,
    ) -> Self {
        Error::Record {
            path: path.into(),
            line,
            field: field.map(str::to_string),
            msg: msg.into(),
        }
    }
    pub fn format(path: impl Into<PathBuf>, msg: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            msg: msg.into(),
        }
    }
}
