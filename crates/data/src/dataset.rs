//! In-memory datasets of (input, target) tensors and seeded mini-batch iteration.

use zhixing_tensor::{Rng, Tensor};

use crate::{Error, Result};

/// Inputs [N, ...] and targets [N, ...] with one row per example.
#[derive(Clone, Debug)]
pub struct TensorDataset {
    pub inputs: Tensor,
    pub targets: Tensor,
}

/// One mini-batch: rows of a dataset.
#[derive(Clone, Debug)]
pub struct Batch {
    pub inputs: Tensor,
    pub targets: Tensor,
}

impl TensorDataset {
    pub fn new(inputs: Tensor, targets: Tensor) -> Result<Self> {
        let (n, m) = (inputs.shape().first(), targets.shape().first());
        if n.is_none() || n != m {
            return Err(Error::Invalid(format!(
                "inputs {:?} and targets {:?} must have the same number of rows",
                inputs.shape(),
                targets.shape()
            )));
        }
        Ok(TensorDataset { inputs, targets })
    }

    pub fn len(&self) -> usize {
        self.inputs.shape()[0]
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Result<Batch> {
        let idx: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
        let idx = Tensor::from_vec(idx, &[indices.len()])?;
        Ok(Batch {
            inputs: self.inputs.index_select(0, &idx)?,
            targets: self.targets.index_select(0, &idx)?,
        })
    }

    /// Rows `start..start+len` (views, no copy).
    pub fn slice(&self, start: usize, len: usize) -> Result<TensorDataset> {
        Ok(TensorDataset {
            inputs: self.inputs.narrow(0, start, len)?,
            targets: self.targets.narrow(0, start, len)?,
        })
    }

    /// Mini-batches of `batch_size` rows, shuffled by `rng` when given (the last batch may
    /// be smaller).
    pub fn batches(&self, batch_size: usize, rng: Option<&mut Rng>) -> Result<Batches<'_>> {
        if batch_size == 0 {
            return Err(Error::Invalid("batch size must be at least 1".into()));
        }
        let mut order: Vec<usize> = (0..self.len()).collect();
        if let Some(rng) = rng {
            rng.shuffle(&mut order);
        }
        Ok(Batches {
            dataset: self,
            order,
            batch_size,
            next: 0,
        })
    }
}

/// Iterator over the mini-batches of one epoch.
pub struct Batches<'a> {
    dataset: &'a TensorDataset,
    order: Vec<usize>,
    batch_size: usize,
    next: usize,
}

impl Batches<'_> {
    pub fn num_batches(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }
}

impl Iterator for Batches<'_> {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.order.len() {
            return None;
        }
        let end = (self.next + self.batch_size).min(self.order.len());
        let rows = &self.order[self.next..end];
        self.next = end;
        Some(self.dataset.select(rows))
    }
}
