//! Layers: plain structs built from a config struct (or `new(...)`) and an explicit `Rng`,
//! each implementing [`crate::Module`] with PyTorch's parameter and buffer names.

mod activation;
mod container;
pub mod conv;
mod dropout;
mod embedding;
mod linear;
mod norm;
pub mod recurrent;

pub use activation::{
    GeluApproximation, Identity, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh, GELU,
};
pub use container::{Flatten, Residual, Sequential};
pub use dropout::Dropout;
pub use embedding::{Embedding, EmbeddingConfig};
pub use linear::{Linear, LinearConfig};
pub use norm::{BatchNorm1d, BatchNormConfig, LayerNorm, LayerNormConfig};
