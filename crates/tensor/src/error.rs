//! The typed error every fallible tensor operation returns.

use crate::DType;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{op}: shape mismatch: {lhs:?} vs {rhs:?}")]
    ShapeMismatch {
        op: &'static str,
        lhs: Vec<usize>,
        rhs: Vec<usize>,
    },
    #[error("{op}: shapes {lhs:?} and {rhs:?} cannot be broadcast together")]
    Broadcast {
        op: &'static str,
        lhs: Vec<usize>,
        rhs: Vec<usize>,
    },
    #[error("{op}: dimension {dim} is out of range for a tensor of shape {shape:?}")]
    DimOutOfRange {
        op: &'static str,
        dim: isize,
        shape: Vec<usize>,
    },
    #[error("{op}: expected dtype {expected}, got {got}")]
    DType {
        op: &'static str,
        expected: DType,
        got: DType,
    },
    #[error("{op}: dtypes differ: {lhs} vs {rhs}")]
    DTypeMismatch {
        op: &'static str,
        lhs: DType,
        rhs: DType,
    },
    #[error("{op}: {msg} (shape {shape:?})")]
    InvalidShape {
        op: &'static str,
        msg: String,
        shape: Vec<usize>,
    },
    #[error("{op}: index {index} is out of bounds for size {size}")]
    IndexOutOfBounds {
        op: &'static str,
        index: i64,
        size: usize,
    },
    #[error("{0}")]
    Autograd(String),
    #[error("{op}: {msg}")]
    Invalid { op: &'static str, msg: String },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn invalid(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Invalid {
            op,
            msg: msg.into(),
        }
    }
    pub(crate) fn shape(op: &'static str, msg: impl Into<String>, shape: &[usize]) -> Self {
        Error::InvalidShape {
            op,
            msg: msg.into(),
            shape: shape.to_vec(),
        }
    }
}
