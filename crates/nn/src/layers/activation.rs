//! Activation functions as parameter-free modules.

use zhixing_tensor::Tensor;

use crate::{Module, Result};

macro_rules! activation {
    ($(#[$doc:meta])* $name:ident, |$x:ident| $body:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Default)]
        pub struct $name;

        impl Module for $name {
            fn forward(&self, $x: &Tensor) -> Result<Tensor> {
                Ok($body?)
            }

            fn visit_params(&self, _prefix: &str, _f: &mut dyn FnMut(&str, &Tensor)) {}
        }
    };
}

activation!(
    /// max(x, 0).
    ReLU, |x| x.relu()
);
activation!(
    /// 1/(1 + e⁻ˣ).
    Sigmoid, |x| x.sigmoid()
);
activation!(
    /// tanh(x).
    Tanh, |x| x.tanh()
);
activation!(
    /// Passes its input through unchanged.
    Identity, |x| Ok::<_, zhixing_tensor::Error>(x.clone())
);

/// x for x > 0, slope·x otherwise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeakyReLU {
    pub negative_slope: f64,
}

impl LeakyReLU {
    pub fn new(negative_slope: f64) -> Self {
        LeakyReLU { negative_slope }
    }
}

impl Default for LeakyReLU {
    /// PyTorch's default slope, 0.01.
    fn default() -> Self {
        LeakyReLU::new(0.01)
    }
}

impl Module for LeakyReLU {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.leaky_relu(self.negative_slope)?)
    }

    fn visit_params(&self, _prefix: &str, _f: &mut dyn FnMut(&str, &Tensor)) {}
}

/// How GELU evaluates the Gaussian CDF Φ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GeluApproximation {
    /// x·Φ(x) with the exact error function (PyTorch's `approximate="none"`).
    #[default]
    None,
    /// ½x(1 + tanh(√(2/π)(x + 0.044715x³))), as GPT-2 (`approximate="tanh"`).
    Tanh,
}

/// Gaussian error linear unit.
#[allow(clippy::upper_case_acronyms)] // PyTorch's name
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GELU {
    pub approximate: GeluApproximation,
}

impl GELU {
    pub fn exact() -> Self {
        GELU {
            approximate: GeluApproximation::None,
        }
    }

    pub fn tanh() -> Self {
        GELU {
            approximate: GeluApproximation::Tanh,
        }
    }
}

impl Module for GELU {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(match self.approximate {
            GeluApproximation::None => x.gelu()?,
            GeluApproximation::Tanh => x.gelu_tanh()?,
        })
    }

    fn visit_params(&self, _prefix: &str, _f: &mut dyn FnMut(&str, &Tensor)) {}
}

/// softmax along `dim`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Softmax {
    pub dim: isize,
}

impl Softmax {
    pub fn new(dim: isize) -> Self {
        Softmax { dim }
    }
}

impl Module for Softmax {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.softmax(self.dim)?)
    }

    fn visit_params(&self, _prefix: &str, _f: &mut dyn FnMut(&str, &Tensor)) {}
}

/// log-softmax along `dim`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSoftmax {
    pub dim: isize,
}

impl LogSoftmax {
    pub fn new(dim: isize) -> Self {
        LogSoftmax { dim }
    }
}

impl Module for LogSoftmax {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.log_softmax(self.dim)?)
    }

    fn visit_params(&self, _prefix: &str, _f: &mut dyn FnMut(&str, &Tensor)) {}
}
