//! Optimizers: each updates its parameters in place from their `.grad()`.

use std::collections::BTreeMap;

use zhixing_tensor::Tensor;

use crate::Result;

/// Everything an optimizer needs to continue exactly where it stopped: scalar settings
/// and counters, and per-parameter tensors (moments, velocities) named by parameter index.
#[derive(Debug, Clone, Default)]
pub struct OptimizerState {
    pub scalars: BTreeMap<String, f64>,
    pub tensors: BTreeMap<String, Tensor>,
}

pub trait Optimizer: Send {
    /// One update of every parameter that has a gradient.
    fn step(&mut self) -> Result<()>;

    /// Clears the gradients of the optimizer's parameters.
    fn zero_grad(&self);

    fn lr(&self) -> f64;

    fn set_lr(&mut self, lr: f64);

    fn state(&self) -> OptimizerState;

    fn load_state(&mut self, state: &OptimizerState) -> Result<()>;
}
