//! zhixing-tensor: the `Tensor` type, define-by-run autograd and fast CPU kernels.
//!
//! ```
//! use zhixing_tensor::{DType, Tensor};
//! let w = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3]).unwrap().requires_grad_(true);
//! let loss = w.square().unwrap().sum_all().unwrap();
//! loss.backward().unwrap();
//! assert_eq!(w.grad().unwrap().to_vec::<f32>().unwrap(), vec![2.0, 4.0, 6.0]);
//! ```

pub mod autograd;
pub mod cpu;
mod display;
pub mod dtype;
pub mod error;
pub mod gradcheck;
pub mod ops;
pub mod rng;
pub mod shape;
pub mod storage;
mod tensor;

pub use autograd::{is_grad_enabled, no_grad, NoGradGuard};
pub use dtype::{DType, Element, Float};
pub use error::{Error, Result};
pub use rng::Rng;
pub use shape::Layout;
pub use storage::Storage;
pub use tensor::Tensor;

/// The compute device. Every kernel goes through the CPU backend today; the enum is the
/// seam where another backend would plug in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    #[default]
    Cpu,
}

impl Tensor {
    pub fn device(&self) -> Device {
        Device::Cpu
    }
}
