//! Modules made of other modules (Sequential, Residual) and Flatten.

use std::sync::Mutex;

use zhixing_tensor::{Error as TensorError, Rng, Tensor};

use crate::module::join;
use crate::{Module, Result};

/// Runs its layers in order. Children are named "0", "1", … as in `torch.nn.Sequential`,
/// so a Sequential stored in a field `layers` has parameters "layers.0.weight", ….
#[derive(Default)]
pub struct Sequential {
    layers: Vec<Box<dyn Module>>,
}

impl Sequential {
    pub fn new() -> Self {
        Sequential::default()
    }

    /// Appends a layer (builder style).
    #[allow(clippy::should_implement_trait)] // a builder step, not arithmetic
    pub fn add(mut self, layer: impl Module + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }

    /// Appends an already boxed layer.
    pub fn push(&mut self, layer: Box<dyn Module>) {
        self.layers.push(layer);
    }

    pub fn len(&self) -> usize {
        self.layers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    pub fn layers(&self) -> &[Box<dyn Module>] {
        &self.layers
    }
}

impl Module for Sequential {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for layer in &self.layers {
            h = layer.forward(&h)?;
        }
        Ok(h)
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit_params(&join(prefix, &i.to_string()), f);
        }
    }

    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit_buffers(&join(prefix, &i.to_string()), f);
        }
    }

    fn visit_rngs(&self, prefix: &str, f: &mut dyn FnMut(&str, &Mutex<Rng>)) {
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit_rngs(&join(prefix, &i.to_string()), f);
        }
    }

    fn set_training(&self, training: bool) {
        for layer in &self.layers {
            layer.set_training(training);
        }
    }
}

/// A skip connection: x + inner(x). The inner module's output must have x's shape.
/// Parameter names are the inner module's, unprefixed (the wrapper adds no level).
pub struct Residual {
    pub inner: Box<dyn Module>,
}

impl Residual {
    pub fn new(inner: impl Module + 'static) -> Self {
        Residual {
            inner: Box::new(inner),
        }
    }
}

impl Module for Residual {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = self.inner.forward(x)?;
        if y.shape() != x.shape() {
            // Broadcasting would silently change the output shape.
            return Err(TensorError::ShapeMismatch {
                op: "residual (input vs inner output)",
                lhs: x.shape().to_vec(),
                rhs: y.shape().to_vec(),
            }
            .into());
        }
        Ok(x.add(&y)?)
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        self.inner.visit_params(prefix, f);
    }

    fn visit_buffers(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        self.inner.visit_buffers(prefix, f);
    }

    fn visit_rngs(&self, prefix: &str, f: &mut dyn FnMut(&str, &Mutex<Rng>)) {
        self.inner.visit_rngs(prefix, f);
    }

    fn set_training(&self, training: bool) {
        self.inner.set_training(training);
    }
}

/// Collapses dims `start_dim..=end_dim` into one (default 1..=-1: [N, …] → [N, rest]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flatten {
    pub start_dim: isize,
    pub end_dim: isize,
}

impl Flatten {
    pub fn new(start_dim: isize, end_dim: isize) -> Self {
        Flatten { start_dim, end_dim }
    }
}

impl Default for Flatten {
    fn default() -> Self {
        Flatten::new(1, -1)
    }
}

impl Module for Flatten {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.flatten(self.start_dim, self.end_dim)?)
    }

    fn visit_params(&self, _prefix: &str, _f: &mut dyn FnMut(&str, &Tensor)) {}
}
