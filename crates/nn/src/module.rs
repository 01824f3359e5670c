//! The `Module` trait: a forward pass plus visitors over named parameters, buffers and
//! random generators.

use std::sync::Mutex;

use zhixing_tensor::{Rng, Tensor};

use crate::Result;

/// A layer or model. Parameters are visited with dotted names relative to the module
/// (`"layers.0.weight"`), matching the equivalent PyTorch module where there is one, so
/// state dicts move both ways.
pub trait Module: Send + Sync {
    fn forward(&self, x: &Tensor) -> Result<Tensor>;

    /// Calls `f(name, tensor)` for every learnable parameter, names prefixed by `prefix`.
    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor));

    /// Non-learnable state saved with the model (e.g. BatchNorm running statistics).
    fn visit_buffers(&self, _prefix: &str, _f: &mut dyn FnMut(&str, &Tensor)) {}

    /// Random generators owned by the module (e.g. Dropout's), named like parameters
    /// (`"layers.2.rng"`), so a checkpoint can save and restore them. They are not part
    /// of the state dict. Containers forward it to their children.
    fn visit_rngs(&self, _prefix: &str, _f: &mut dyn FnMut(&str, &Mutex<Rng>)) {}

    /// Switches train/eval behaviour (Dropout, BatchNorm); containers forward it.
    fn set_training(&self, _training: bool) {}

    fn train(&self) {
        self.set_training(true)
    }

    fn eval(&self) {
        self.set_training(false)
    }

    fn parameters(&self) -> Vec<Tensor> {
        let mut out = Vec::new();
        self.visit_params("", &mut |_, t| out.push(t.clone()));
        out
    }

    fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        self.visit_params("", &mut |n, t| out.push((n.to_string(), t.clone())));
        out
    }

    fn named_buffers(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        self.visit_buffers("", &mut |n, t| out.push((n.to_string(), t.clone())));
        out
    }

    /// Number of learnable scalars.
    fn num_parameters(&self) -> usize {
        let mut n = 0;
        self.visit_params("", &mut |_, t| n += t.numel());
        n
    }

    /// Clears the gradient of every parameter.
    fn zero_grad(&self) {
        self.visit_params("", &mut |_, t| t.zero_grad());
    }
}

/// `prefix.name`, or `name` at the root.
pub fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}
