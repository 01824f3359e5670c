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
pub mod resnet;

pub use activation::{
    GeluApproximation, Identity, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh, GELU,
};
pub use container::{Flatten, Residual, Sequential};
pub use conv::{
    AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv1d, Conv1dConfig, Conv2d, Conv2dConfig,
    Dropout2d, MaxPool2d,
};
pub use dropout::Dropout;
pub use embedding::{Embedding, EmbeddingConfig};
pub use linear::{Linear, LinearConfig};
pub use norm::{BatchNorm1d, BatchNormConfig, LayerNorm, LayerNormConfig};
pub use recurrent::{Gru, Lstm, RecurrentConfig, RecurrentOutput, Rnn, SequenceClassifier};
pub use resnet::{seed_cnn, seed_cnn_for, BasicBlock, Downsample, ResNet, ResNetConfig};
