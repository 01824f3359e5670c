//! Embedding table: a learnable row per id.

use zhixing_tensor::{DType, Rng, Tensor};

use crate::module::join;
use crate::{init, Module, Result};

/// Configuration of an [`Embedding`].
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingConfig {
    pub num_embeddings: usize,
    pub embedding_dim: usize,
    pub dtype: DType,
}

impl EmbeddingConfig {
    pub fn new(num_embeddings: usize, embedding_dim: usize) -> Self {
        EmbeddingConfig {
            num_embeddings,
            embedding_dim,
            dtype: DType::F32,
        }
    }
}

/// `torch.nn.Embedding`: weight [num, dim] initialized N(0, 1). `forward` takes an i64
/// tensor of ids of any shape and returns [..ids.shape, dim]; an id outside 0..num is an
/// error.
pub struct Embedding {
    pub weight: Tensor,
}

impl Embedding {
    pub fn new(num_embeddings: usize, embedding_dim: usize, rng: &mut Rng) -> Result<Self> {
        Self::from_config(&EmbeddingConfig::new(num_embeddings, embedding_dim), rng)
    }

    pub fn from_config(cfg: &EmbeddingConfig, rng: &mut Rng) -> Result<Self> {
        let weight = Tensor::zeros(&[cfg.num_embeddings, cfg.embedding_dim], cfg.dtype);
        init::normal(&weight, 0.0, 1.0, rng)?;
        Ok(Embedding {
            weight: weight.requires_grad_(true),
        })
    }

    pub fn num_embeddings(&self) -> usize {
        self.weight.shape()[0]
    }

    pub fn embedding_dim(&self) -> usize {
        self.weight.shape()[1]
    }
}

impl Module for Embedding {
    fn forward(&self, ids: &Tensor) -> Result<Tensor> {
        Ok(Tensor::embedding(ids, &self.weight)?)
    }

    fn visit_params(&self, prefix: &str, f: &mut dyn FnMut(&str, &Tensor)) {
        f(&join(prefix, "weight"), &self.weight);
    }
}
