//! Fully connected layer: y = x·Wᵀ + b.

use zhixing_tensor::{DType, Error as TensorError, Rng, Tensor};

use crate::init::{self, FanMode, Nonlinearity};
use crate::module::join;
use crate::{Module, Result};

/// Configuration of a [`Linear`] layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearConfig {
    pub in_features: usize,
    pub out_features: usize,
    pub bias: bool,
    pub dtype: DType,
}

impl LinearConfig {
    /// `in → out` with a bias, in f32.
    pub fn new(in_features: usize, out_features: usize) -> Self {
        LinearConfig {
            in_features,
            out_features,
            bias: true,
            dtype: DType::F32,
        }
    }

    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    pub fn dtype(mut self, dtype: DType) -> Self {
        self.dtype = dtype;
        self
    }
}

/// `torch.nn.Linear`: weight [out, in], optional bias [out]; works on [.., in] inputs.
pub struct Linear {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    in_features: usize,
}

impl Linear {
    /// `in → out` with a bias, f32, PyTorch's default init.
    pub fn new(in_features: usize, out_features: usize, rng: &mut Rng) -> Result<Self> {
        Self::from_config(&LinearConfig::new(in_features, out_features), rng)
    }

    /// PyTorch's default init: kaiming_uniform(a = √5) on the weight, which is
    /// U(−1/√in, 1/√in), and the same bound for the bias.
    pub fn from_config(cfg: &LinearConfig, rng: &mut Rng) -> Result<Self> {
        let (i, o) = (cfg.in_features, cfg.out_features);
        let weight = Tensor::zeros(&[o, i], cfg.dtype);
        let a = 5f64.sqrt();
        init::kaiming_uniform(&weight, a, FanMode::FanIn, Nonlinearity::LeakyRelu, rng)?;
        let bias = if cfg.bias {
            let b = Tensor::zeros(&[o], cfg.dtype);
            let bound = if i > 0 { 1.0 / (i as f64).sqrt() } else { 0.0 };
            init::uniform(&b, -bound, bound, rng)?;
            Some(b.requires_grad_(true))
        } else {
            None
        };
        Ok(Linear {
            weight: weight.requires_grad_(true),
            bias,
            in_features: i,
        })
    }

    pub fn in_features(&self) -> usize {
        self.in_features
    }

    pub fn out_features(&self) -> usize {
        self.weight.shape()[0]
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if x.rank() == 0 || x.shape()[x.rank() - 1] != self.in_features {
            return Err(TensorError::ShapeMismatch {
                op: "linear (input [.., in] vs weight [out, in])",
                lhs: x.shape().to_vec(),
                rhs: self.weight.shape().to_vec(),
            }
            .into());
        }
        let wt = self.weight.t()?;
        let y = if x.rank() > 2 {
            // One GEMM over all leading dims instead of one per batch entry.
            let mut out_shape = x.shape().to_vec();
            *out_shape.last_mut().expect("rank > 2") = self.out_features();
            x.reshape(&[x.numel() / self.in_features.max(1), self.in_features])?
                .matmul(&wt)?
                .reshape(&out_shape)?
        } else {
            x.matmul(&wt)?
        };
        match &self.bias {
            Some(b) => Ok(y.add(b)?),
            None => Ok(y),
        }
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        f(&join(prefix, "weight"), &self.weight);
        if let Some(b) = &self.bias {
            f(&join(prefix, "bias"), b);
        }
    }
}
