//! Flat, typed element buffers shared by tensors and their views.

use half::{bf16, f16};

use crate::dtype::{DType, Element};

/// A contiguous buffer of one dtype. Tensors view into it through a [`crate::Layout`].
#[derive(Debug, Clone)]
pub enum Storage {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    BF16(Vec<bf16>),
    F16(Vec<f16>),
}

impl Storage {
    pub fn dtype(&self) -> DType {
        match self {
            Storage::F32(_) => DType::F32,
            Storage::F64(_) => DType::F64,
            Storage::I64(_) => DType::I64,
            Storage::U8(_) => DType::U8,
            Storage::BF16(_) => DType::BF16,
            Storage::F16(_) => DType::F16,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Storage::F32(v) => v.len(),
            Storage::F64(v) => v.len(),
            Storage::I64(v) => v.len(),
            Storage::U8(v) => v.len(),
            Storage::BF16(v) => v.len(),
            Storage::F16(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn zeros(dtype: DType, n: usize) -> Storage {
        match dtype {
            DType::F32 => Storage::F32(vec![0.0; n]),
            DType::F64 => Storage::F64(vec![0.0; n]),
            DType::I64 => Storage::I64(vec![0; n]),
            DType::U8 => Storage::U8(vec![0; n]),
            DType::BF16 => Storage::BF16(vec![bf16::ZERO; n]),
            DType::F16 => Storage::F16(vec![f16::ZERO; n]),
        }
    }

    pub fn full(dtype: DType, n: usize, value: f64) -> Storage {
        fn fill<T: Element>(n: usize, v: f64) -> Storage {
            T::into_storage(vec![T::from_f64(v); n])
        }
        match dtype {
            DType::F32 => fill::<f32>(n, value),
            DType::F64 => fill::<f64>(n, value),
            DType::I64 => fill::<i64>(n, value),
            DType::U8 => fill::<u8>(n, value),
            DType::BF16 => fill::<bf16>(n, value),
            DType::F16 => fill::<f16>(n, value),
        }
    }

    /// Element `i` as f64 (for display, tests and slow paths only).
    pub fn get_f64(&self, i: usize) -> f64 {
        match self {
            Storage::F32(v) => v[i] as f64,
            Storage::F64(v) => v[i],
            Storage::I64(v) => v[i] as f64,
            Storage::U8(v) => v[i] as f64,
            Storage::BF16(v) => v[i].to_f64(),
            Storage::F16(v) => v[i].to_f64(),
        }
    }
}

/// Runs `$body` with `$v` bound to the typed slice of `$storage`, for every dtype.
#[macro_export]
#[doc(hidden)]
macro_rules! with_storage {
    ($storage:expr, $v:ident => $body:expr) => {
        match $storage {
            $crate::Storage::F32($v) => $body,
            $crate::Storage::F64($v) => $body,
            $crate::Storage::I64($v) => $body,
            $crate::Storage::U8($v) => $body,
            $crate::Storage::BF16($v) => $body,
            $crate::Storage::F16($v) => $body,
        }
    };
}
