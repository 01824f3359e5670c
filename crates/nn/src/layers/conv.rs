//! Convolutional layers: Conv1d, Conv2d, pooling, BatchNorm2d and Dropout2d, with
//! PyTorch's names so state dicts move both ways.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use zhixing_tensor::{DType, Error as TensorError, Rng, Tensor};

use super::norm::{update_running_stats, visit_affine, visit_running_stats};
use crate::init::{self, FanMode, Nonlinearity};
use crate::layers::BatchNormConfig;
use crate::module::join;
use crate::{Error, Module, Result};

pub(super) fn shape_error(op: &'static str, msg: String, shape: &[usize]) -> Error {
    TensorError::InvalidShape {
        op,
        msg,
        shape: shape.to_vec(),
    }
    .into()
}

/// PyTorch's default conv init: kaiming_uniform(a = √5) on the weight (U(±1/√fan_in)) and
/// U(±1/√fan_in) on the bias, with fan_in = C_in/groups · kernel taps.
fn conv_params(
    shape: &[usize],
    bias: bool,
    dtype: DType,
    rng: &mut Rng,
) -> Result<(Tensor, Option<Tensor>)> {
    let weight = Tensor::zeros(shape, dtype);
    init::kaiming_uniform(
        &weight,
        5f64.sqrt(),
        FanMode::FanIn,
        Nonlinearity::LeakyRelu,
        rng,
    )?;
    let bias = if bias {
        let fan_in: usize = shape[1..].iter().product();
        let b = Tensor::zeros(&[shape[0]], dtype);
        let bound = if fan_in > 0 {
            1.0 / (fan_in as f64).sqrt()
        } else {
            0.0
        };
        init::uniform(&b, -bound, bound, rng)?;
        Some(b.requires_grad_(true))
    } else {
        None
    };
    Ok((weight.requires_grad_(true), bias))
}

fn check_channels(what: &'static str, c_in: usize, c_out: usize, groups: usize) -> Result<()> {
    if c_in == 0
        || c_out == 0
        || groups == 0
        || !c_in.is_multiple_of(groups)
        || !c_out.is_multiple_of(groups)
    {
        return Err(Error::config(
            what,
            format!("groups={groups} must be positive and divide in_channels={c_in} and out_channels={c_out} (both positive)"),
        ));
    }
    Ok(())
}

fn positive(what: &'static str, values: &[usize]) -> Result<()> {
    if values.contains(&0) {
        return Err(Error::config(
            what,
            format!("kernel size, stride and dilation must be positive, got {values:?}"),
        ));
    }
    Ok(())
}

// ---- Conv2d --------------------------------------------------------------------------------

/// Configuration of a [`Conv2d`].
#[derive(Debug, Clone, PartialEq)]
pub struct Conv2dConfig {
    pub in_channels: usize,
    pub out_channels: usize,
    pub kernel_size: (usize, usize),
    pub stride: (usize, usize),
    pub padding: (usize, usize),
    pub dilation: (usize, usize),
    pub groups: usize,
    pub bias: bool,
    pub dtype: DType,
}

impl Conv2dConfig {
    /// `in → out` channels with a square `kernel`; stride 1, no padding, bias, f32.
    pub fn new(in_channels: usize, out_channels: usize, kernel: usize) -> Self {
        Conv2dConfig {
            in_channels,
            out_channels,
            kernel_size: (kernel, kernel),
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
            groups: 1,
            bias: true,
            dtype: DType::F32,
        }
    }

    pub fn stride(mut self, s: usize) -> Self {
        self.stride = (s, s);
        self
    }

    pub fn padding(mut self, p: usize) -> Self {
        self.padding = (p, p);
        self
    }

    pub fn dilation(mut self, d: usize) -> Self {
        self.dilation = (d, d);
        self
    }

    pub fn groups(mut self, g: usize) -> Self {
        self.groups = g;
        self
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

/// `torch.nn.Conv2d`: weight [C_out, C_in/groups, kH, kW], optional bias [C_out]; input
/// [N, C_in, H, W] or [C_in, H, W].
pub struct Conv2d {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    cfg: Conv2dConfig,
}

impl Conv2d {
    pub fn from_config(cfg: &Conv2dConfig, rng: &mut Rng) -> Result<Self> {
        check_channels(
            "conv2d channels",
            cfg.in_channels,
            cfg.out_channels,
            cfg.groups,
        )?;
        let (k, s, d) = (cfg.kernel_size, cfg.stride, cfg.dilation);
        positive("conv2d", &[k.0, k.1, s.0, s.1, d.0, d.1])?;
        let shape = [cfg.out_channels, cfg.in_channels / cfg.groups, k.0, k.1];
        let (weight, bias) = conv_params(&shape, cfg.bias, cfg.dtype, rng)?;
        Ok(Conv2d {
            weight,
            bias,
            cfg: cfg.clone(),
        })
    }

    pub fn config(&self) -> &Conv2dConfig {
        &self.cfg
    }
}

impl Module for Conv2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let c = &self.cfg;
        Ok(x.conv2d(
            &self.weight,
            self.bias.as_ref(),
            c.stride,
            c.padding,
            c.dilation,
            c.groups,
        )?)
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        f(&join(prefix, "weight"), &self.weight);
        if let Some(b) = &self.bias {
            f(&join(prefix, "bias"), b);
        }
    }
}

// ---- Conv1d --------------------------------------------------------------------------------

/// Configuration of a [`Conv1d`].
#[derive(Debug, Clone, PartialEq)]
pub struct Conv1dConfig {
    pub in_channels: usize,
    pub out_channels: usize,
    pub kernel_size: usize,
    pub stride: usize,
    pub padding: usize,
    pub dilation: usize,
    pub groups: usize,
    pub bias: bool,
    pub dtype: DType,
}

impl Conv1dConfig {
    /// `in → out` channels with kernel `k`; stride 1, no padding, bias, f32.
    pub fn new(in_channels: usize, out_channels: usize, kernel: usize) -> Self {
        Conv1dConfig {
            in_channels,
            out_channels,
            kernel_size: kernel,
            stride: 1,
            padding: 0,
            dilation: 1,
            groups: 1,
            bias: true,
            dtype: DType::F32,
        }
    }
}

/// `torch.nn.Conv1d`: weight [C_out, C_in/groups, k], bias [C_out]; input [N, C_in, L]
/// or [C_in, L].
pub struct Conv1d {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    cfg: Conv1dConfig,
}

impl Conv1d {
    pub fn from_config(cfg: &Conv1dConfig, rng: &mut Rng) -> Result<Self> {
        check_channels(
            "conv1d channels",
            cfg.in_channels,
            cfg.out_channels,
            cfg.groups,
        )?;
        positive("conv1d", &[cfg.kernel_size, cfg.stride, cfg.dilation])?;
        let shape = [
            cfg.out_channels,
            cfg.in_channels / cfg.groups,
            cfg.kernel_size,
        ];
        let (weight, bias) = conv_params(&shape, cfg.bias, cfg.dtype, rng)?;
        Ok(Conv1d {
            weight,
            bias,
            cfg: cfg.clone(),
        })
    }
}

impl Module for Conv1d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let c = &self.cfg;
        Ok(x.conv1d(
            &self.weight,
            self.bias.as_ref(),
            c.stride,
            c.padding,
            c.dilation,
            c.groups,
        )?)
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        f(&join(prefix, "weight"), &self.weight);
        if let Some(b) = &self.bias {
            f(&join(prefix, "bias"), b);
        }
    }
}

// ---- pooling -------------------------------------------------------------------------------

/// `torch.nn.MaxPool2d` (floor mode): stride defaults to the kernel size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPool2d {
    pub kernel_size: (usize, usize),
    pub stride: (usize, usize),
    pub padding: (usize, usize),
}

impl MaxPool2d {
    /// A square `k`×`k` window with stride `k`, no padding.
    pub fn new(k: usize) -> Self {
        MaxPool2d {
            kernel_size: (k, k),
            stride: (k, k),
            padding: (0, 0),
        }
    }
}

impl Module for MaxPool2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.max_pool2d(self.kernel_size, self.stride, self.padding)?)
    }

    fn visit_params(&self, _prefix: &str, _f: &mut dyn FnMut(&str, &Tensor)) {}
}

/// `torch.nn.AvgPool2d` (floor mode, count_include_pad): stride defaults to the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvgPool2d {
    pub kernel_size: (usize, usize),
    pub stride: (usize, usize),
    pub padding: (usize, usize),
}

impl AvgPool2d {
    /// A square `k`×`k` window with stride `k`, no padding.
    pub fn new(k: usize) -> Self {
        AvgPool2d {
            kernel_size: (k, k),
            stride: (k, k),
            padding: (0, 0),
        }
    }
}

impl Module for AvgPool2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.avg_pool2d(self.kernel_size, self.stride, self.padding)?)
    }

    fn visit_params(&self, _prefix: &str, _f: &mut dyn FnMut(&str, &Tensor)) {}
}

/// `torch.nn.AdaptiveAvgPool2d` to a fixed (H_out, W_out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdaptiveAvgPool2d {
    pub output_size: (usize, usize),
}

impl AdaptiveAvgPool2d {
    pub fn new(output_size: (usize, usize)) -> Self {
        AdaptiveAvgPool2d { output_size }
    }
}

impl Module for AdaptiveAvgPool2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.adaptive_avg_pool2d(self.output_size)?)
    }

    fn visit_params(&self, _prefix: &str, _f: &mut dyn FnMut(&str, &Tensor)) {}
}

// ---- BatchNorm2d ---------------------------------------------------------------------------

/// `torch.nn.BatchNorm2d` over [N, C, H, W], with the engine's fused batch-norm kernel.
///
/// Training mode normalizes with the batch mean and biased variance and updates the
/// running averages with the *unbiased* variance (as PyTorch); eval mode normalizes with
/// the running averages. Buffers: running_mean, running_var, num_batches_tracked.
pub struct BatchNorm2d {
    pub weight: Option<Tensor>,
    pub bias: Option<Tensor>,
    pub running_mean: Tensor,
    pub running_var: Tensor,
    /// i64 scalar: how many training batches updated the running statistics.
    pub num_batches_tracked: Tensor,
    cfg: BatchNormConfig,
    training: AtomicBool,
}

impl BatchNorm2d {
    /// PyTorch's defaults (eps 1e-5, momentum 0.1, affine) over `num_features` channels.
    pub fn new(num_features: usize) -> Self {
        Self::from_config(&BatchNormConfig::new(num_features))
    }

    pub fn from_config(cfg: &BatchNormConfig) -> Self {
        let c = cfg.num_features;
        let param = |v: f64| Tensor::full(&[c], v, cfg.dtype).requires_grad_(true);
        BatchNorm2d {
            weight: cfg.affine.then(|| param(1.0)),
            bias: cfg.affine.then(|| param(0.0)),
            running_mean: Tensor::zeros(&[c], cfg.dtype),
            running_var: Tensor::ones(&[c], cfg.dtype),
            num_batches_tracked: Tensor::scalar(0i64),
            cfg: cfg.clone(),
            training: AtomicBool::new(true),
        }
    }

    pub fn is_training(&self) -> bool {
        self.training.load(Ordering::Relaxed)
    }

    fn update_running(&self, mean: &Tensor, var: &Tensor, n: usize) -> Result<()> {
        let stats = [
            &self.running_mean,
            &self.running_var,
            &self.num_batches_tracked,
        ];
        update_running_stats(stats, self.cfg.momentum, mean, var, n)
    }
}

impl Module for BatchNorm2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let c = self.cfg.num_features;
        if x.rank() != 4 || x.shape()[1] != c {
            return Err(shape_error(
                "batch_norm2d",
                format!("expected an input [N, {c}, H, W]"),
                x.shape(),
            ));
        }
        if self.is_training() {
            let (y, mean, var) =
                x.batch_norm(self.weight.as_ref(), self.bias.as_ref(), self.cfg.eps)?;
            self.update_running(&mean, &var, x.numel() / c)?;
            return Ok(y);
        }
        // Eval: one per-channel scale and shift, y = x·scale + shift.
        let shape = [1, c, 1, 1];
        let rstd = self.running_var.add_scalar(self.cfg.eps)?.sqrt()?.recip()?;
        let scale = match &self.weight {
            Some(w) => w.mul(&rstd)?,
            None => rstd,
        };
        let shift = self.running_mean.mul(&scale)?.neg()?;
        let shift = match &self.bias {
            Some(b) => shift.add(b)?,
            None => shift,
        };
        Ok(x.mul(&scale.reshape(&shape)?)?
            .add(&shift.reshape(&shape)?)?)
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        visit_affine(prefix, &self.weight, &self.bias, f);
    }

    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        let stats = [
            &self.running_mean,
            &self.running_var,
            &self.num_batches_tracked,
        ];
        visit_running_stats(prefix, stats, f);
    }

    fn set_training(&self, training: bool) {
        self.training.store(training, Ordering::Relaxed);
    }
}

// ---- Dropout2d -----------------------------------------------------------------------------

/// `torch.nn.Dropout2d`: in training mode zeroes whole channels of [N, C, H, W] (or
/// [C, H, W]) with probability `p` and scales the rest by 1/(1−p); identity in eval mode.
pub struct Dropout2d {
    p: f64,
    training: AtomicBool,
    rng: Mutex<Rng>,
}

impl Dropout2d {
    /// `p` must be in [0, 1).
    pub fn new(p: f64, rng: &mut Rng) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::config(
                "dropout2d probability",
                format!("must be in [0, 1), got {p}"),
            ));
        }
        Ok(Dropout2d {
            p,
            training: AtomicBool::new(true),
            rng: Mutex::new(Rng::seed(rng.next_u64())),
        })
    }

    pub fn p(&self) -> f64 {
        self.p
    }

    pub fn is_training(&self) -> bool {
        self.training.load(Ordering::Relaxed)
    }
}

impl Module for Dropout2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if x.rank() != 3 && x.rank() != 4 {
            return Err(shape_error(
                "dropout2d",
                "expected an input [N, C, H, W] or [C, H, W]".into(),
                x.shape(),
            ));
        }
        if !self.is_training() || self.p == 0.0 {
            return Ok(x.clone());
        }
        // One mask value per (sample, channel), broadcast over the plane.
        let mut mask_shape = x.shape().to_vec();
        let r = mask_shape.len();
        mask_shape[r - 2..].fill(1);
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        let mask = Tensor::dropout_mask(&mask_shape, self.p, x.dtype(), &mut rng)?;
        Ok(x.mul(&mask)?)
    }

    fn visit_params(&self, _prefix: &str, _f: &mut dyn FnMut(&str, &Tensor)) {}

    fn visit_rngs(&self, prefix: &str, f: &mut dyn FnMut(&str, &Mutex<Rng>)) {
        f(&join(prefix, "rng"), &self.rng);
    }

    fn set_training(&self, training: bool) {
        self.training.store(training, Ordering::Relaxed);
    }
}
