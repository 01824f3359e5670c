//! zhixing-data: records become tensors — readers, datasets and mini-batches.

pub mod dataset;
pub mod error;
pub mod fetch;
pub mod mnist;

pub use dataset::{Batch, Batches, TensorDataset};
pub use error::{Error, Result};
pub use fetch::fetch_mnist;
pub use mnist::{read_idx_images, read_idx_labels, Mnist, MnistOptions};
