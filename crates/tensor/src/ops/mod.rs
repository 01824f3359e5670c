//! Differentiable ops, one family per file; each op holds its forward and its backward.

pub mod batch_norm;
pub mod cast;
pub mod compare;
pub mod conv;
pub mod dropout;
pub mod elementwise;
pub mod index;
pub mod matmul;
pub mod norm;
pub mod pool;
pub mod recurrent;
pub mod reduce;
pub mod shape;
pub mod softmax;

/// Binds `$T` to the Rust type of a float tensor's dtype and evaluates `$body`.
#[macro_export]
#[doc(hidden)]
macro_rules! float_dispatch {
    ($op:expr, $dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::DType::F64 => {
                type $T = f64;
                $body
            }
            other => {
                return Err($crate::Error::DType {
                    op: $op,
                    expected: $crate::DType::F32,
                    got: other,
                })
            }
        }
    };
}

use crate::{DType, Error, Result, Tensor};

/// Errors unless `t` is a float tensor.
pub(crate) fn expect_float(op: &'static str, t: &Tensor) -> Result<()> {
    if t.dtype().is_float() {
        Ok(())
    } else {
        Err(Error::DType {
            op,
            expected: DType::F32,
            got: t.dtype(),
        })
    }
}

/// Errors unless both tensors share a dtype.
pub(crate) fn same_dtype(op: &'static str, a: &Tensor, b: &Tensor) -> Result<()> {
    if a.dtype() == b.dtype() {
        Ok(())
    } else {
        Err(Error::DTypeMismatch {
            op,
            lhs: a.dtype(),
            rhs: b.dtype(),
        })
    }
}
