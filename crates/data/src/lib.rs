//! zhixing-data: records become tensors — readers, datasets and mini-batches.

pub mod dataset;
pub mod error;

pub use dataset::{Batch, Batches, TensorDataset};
pub use error::{Error, Result};
