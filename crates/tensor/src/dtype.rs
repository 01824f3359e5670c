//! Element types and the traits kernels are generic over.

use half::{bf16, f16};
use std::fmt;

use crate::storage::Storage;

/// The element type of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    F64,
    I64,
    U8,
    BF16,
    F16,
}

impl DType {
    pub fn size_in_bytes(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 | DType::I64 => 8,
            DType::U8 => 1,
            DType::BF16 | DType::F16 => 2,
        }
    }

    /// f32 and f64 are compute types: autograd and float ops run on them.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }

    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
            DType::I64 => "i64",
            DType::U8 => "u8",
            DType::BF16 => "bf16",
            DType::F16 => "f16",
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A type that can live in tensor storage.
pub trait Element: Copy + Send + Sync + PartialOrd + fmt::Debug + Default + 'static {
    const DTYPE: DType;
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
    fn into_storage(v: Vec<Self>) -> Storage;
    fn slice(s: &Storage) -> Option<&[Self]>;
    fn slice_mut(s: &mut Storage) -> Option<&mut [Self]>;
}

macro_rules! element {
    ($t:ty, $variant:ident, $to:expr, $from:expr) => {
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            #[inline(always)]
            fn to_f64(self) -> f64 {
                $to(self)
            }
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                $from(v)
            }
            fn into_storage(v: Vec<Self>) -> Storage {
                Storage::$variant(v)
            }
            fn slice(s: &Storage) -> Option<&[Self]> {
                match s {
                    Storage::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn slice_mut(s: &mut Storage) -> Option<&mut [Self]> {
                match s {
                    Storage::$variant(v) => Some(v),
                    _ => None,
                }
            }
        }
    };
}

element!(f32, F32, |x: f32| x as f64, |v: f64| v as f32);
element!(f64, F64, |x: f64| x, |v: f64| v);
element!(i64, I64, |x: i64| x as f64, |v: f64| v as i64);
element!(u8, U8, |x: u8| x as f64, |v: f64| v as u8);
element!(bf16, BF16, |x: bf16| x.to_f64(), bf16::from_f64);
element!(f16, F16, |x: f16| x.to_f64(), f16::from_f64);

/// A compute float (f32 or f64): what every differentiable kernel is generic over.
pub trait Float:
    Element
    + num_traits::Float
    + num_traits::FloatConst
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + std::iter::Sum
    + 'static
{
    /// Multiply two matrices with the `gemm` crate: dst = alpha*dst + beta*lhs*rhs.
    #[allow(clippy::too_many_arguments)]
    /// # Safety
    /// Pointers and strides must describe valid m×k, k×n and m×n matrices.
    unsafe fn gemm(
        m: usize,
        n: usize,
        k: usize,
        dst: *mut Self,
        dst_cs: isize,
        dst_rs: isize,
        read_dst: bool,
        lhs: *const Self,
        lhs_cs: isize,
        lhs_rs: isize,
        rhs: *const Self,
        rhs_cs: isize,
        rhs_rs: isize,
        threads: usize,
    );
}

macro_rules! float {
    ($t:ty) => {
        impl Float for $t {
            unsafe fn gemm(
                m: usize,
                n: usize,
                k: usize,
                dst: *mut Self,
                dst_cs: isize,
                dst_rs: isize,
                read_dst: bool,
                lhs: *const Self,
                lhs_cs: isize,
                lhs_rs: isize,
                rhs: *const Self,
                rhs_cs: isize,
                rhs_rs: isize,
                threads: usize,
            ) {
                let parallelism = if threads > 1 {
                    gemm::Parallelism::Rayon(threads)
                } else {
                    gemm::Parallelism::None
                };
                gemm::gemm(
                    m,
                    n,
                    k,
                    dst,
                    dst_cs,
                    dst_rs,
                    read_dst,
                    lhs,
                    lhs_cs,
                    lhs_rs,
                    rhs,
                    rhs_cs,
                    rhs_rs,
                    1.0,
                    1.0,
                    false,
                    false,
                    false,
                    parallelism,
                )
            }
        }
    };
}

float!(f32);
float!(f64);
