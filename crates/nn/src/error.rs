//! Errors of model building, training and (de)serialization.

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
    /// A file that is not what it claims to be (truncated, wrong format, wrong version).
    #[error("{path}: {msg}")]
    Format { path: PathBuf, msg: String },
    /// A state dict that does not fit the model (missing, unexpected or mis-shaped names).
    #[error("state dict: {0}")]
    StateDict(String),
    /// An invalid configuration value, named.
    #[error("invalid {what}: {msg}")]
    Config { what: &'static str, msg: String },
    /// Training diverged: the loss became NaN or infinite.
    #[error("{0}")]
    Diverged(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn config(what: &'static str, msg: impl Into<String>) -> Self {
        Error::Config {
            what,
            msg: msg.into(),
        }
    }
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
