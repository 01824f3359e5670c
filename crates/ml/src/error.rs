//! Errors of metrics and statistics: every bad input is a typed error, never a panic.

/// What went wrong, naming the function (`what`) that refused its input.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No values where at least one is needed.
    #[error("{what}: the input is empty")]
    Empty { what: &'static str },
    /// Two inputs that must be the same length are not.
    #[error("{what}: length mismatch, {left} vs {right}")]
    LengthMismatch {
        what: &'static str,
        left: usize,
        right: usize,
    },
    /// A NaN or infinite value where only finite numbers make sense.
    #[error("{what}: non-finite value {value} at index {index}")]
    NonFinite {
        what: &'static str,
        index: usize,
        value: f64,
    },
    /// Fewer values than the statistic needs (e.g. a sample variance of one value).
    #[error("{what}: needs at least {needed} values, got {got}")]
    TooFew {
        what: &'static str,
        needed: usize,
        got: usize,
    },
    /// A quantity that is mathematically undefined for this input (e.g. one class where
    /// two are needed, the skewness of a constant sample).
    #[error("{what}: {msg}")]
    Undefined { what: &'static str, msg: String },
    /// An invalid argument (a quantile outside [0, 1], a log base of 1, a negative
    /// probability), with what to do about it.
    #[error("{what}: {msg}")]
    Invalid { what: &'static str, msg: String },
    #[error(transparent)]
    Tensor(#[from] zhixing_tensor::Error),
    /// Bad records, schema or features (names the file, line and field).
    #[error(transparent)]
    Data(#[from] zhixing_data::Error),
    #[error(transparent)]
    Nn(#[from] zhixing_nn::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn undefined(what: &'static str, msg: impl Into<String>) -> Self {
        Error::Undefined {
            what,
            msg: msg.into(),
        }
    }
    pub fn invalid(what: &'static str, msg: impl Into<String>) -> Self {
        Error::Invalid {
            what,
            msg: msg.into(),
        }
    }
}

/// Errors unless `a` and `b` have the same length.
pub fn same_len(what: &'static str, a: usize, b: usize) -> Result<()> {
    if a != b {
        return Err(Error::LengthMismatch {
            what,
            left: a,
            right: b,
        });
    }
    Ok(())
}

/// Errors if `n == 0`.
pub fn non_empty(what: &'static str, n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::Empty { what });
    }
    Ok(())
}

/// Errors at the first NaN or infinity.
pub fn finite(what: &'static str, x: &[f64]) -> Result<()> {
    match x.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(Error::NonFinite {
            what,
            index,
            value: x[index],
        }),
        None => Ok(()),
    }
}
