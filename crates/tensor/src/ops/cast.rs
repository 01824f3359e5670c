//! Conversions between dtypes (bf16/f16 storage ↔ f32/f64 compute).

use half::{bf16, f16};

use crate::dtype::{DType, Element};
use crate::error::Result;
use crate::storage::Storage;
use crate::Tensor;

fn convert<S: Element, D: Element>(src: &[S]) -> Vec<D> {
    src.iter().map(|&v| D::from_f64(v.to_f64())).collect()
}

fn cast_storage(src: &Storage, to: DType) -> Storage {
    macro_rules! to {
        ($v:expr) => {
            match to {
                DType::F32 => Storage::F32(convert($v)),
                DType::F64 => Storage::F64(convert($v)),
                DType::I64 => Storage::I64(convert($v)),
                DType::U8 => Storage::U8(convert($v)),
                DType::BF16 => Storage::BF16(convert::<_, bf16>($v)),
                DType::F16 => Storage::F16(convert::<_, f16>($v)),
            }
        };
    }
    crate::with_storage!(src, v => to!(v.as_slice()))
}

impl Tensor {
    /// A copy in another dtype. Float→int truncates toward zero; between float types the
    /// gradient is cast back.
    pub fn to_dtype(&self, dtype: DType) -> Result<Tensor> {
        if dtype == self.dtype() {
            return Ok(self.clone());
        }
        let out = Tensor::from_storage(
            cast_storage(&self.contiguous_storage(), dtype),
            self.shape(),
        );
        if !(dtype.is_float() && self.dtype().is_float()) {
            return Ok(out);
        }
        let from = self.dtype();
        Ok(out.record("to_dtype", &[self], move |g| {
            Ok(vec![Some(g.to_dtype(from)?)])
        }))
    }
}
