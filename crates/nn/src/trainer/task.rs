//! What a model is trained to do: how a batch's output becomes a loss and metrics.

use zhixing_tensor::{DType, Tensor};

use crate::{Error, Result};

/// Turns a model's output on a batch into the loss to minimize (and, where it makes
/// sense, an accuracy). The Trainer weights each batch's mean loss by its row count.
pub trait Task: Send + Sync {
    /// The batch's mean loss: a scalar tensor in the autograd graph.
    fn loss(&self, output: &Tensor, targets: &Tensor) -> Result<Tensor>;

    /// (correct predictions, predictions) for tasks that have an accuracy.
    fn correct(&self, _output: &Tensor, _targets: &Tensor) -> Result<Option<(usize, usize)>> {
        Ok(None)
    }
}

/// Classification from logits [..., C] with i64 class targets [...]: cross-entropy loss
/// (log-softmax + gather + mean) and accuracy (argmax).
#[derive(Clone, Copy, Debug, Default)]
pub struct Classification;

impl Classification {
    /// Logits as [M, C] and targets as [M, 1] (M = every position of every example).
    fn flat(output: &Tensor, targets: &Tensor) -> Result<(Tensor, Tensor)> {
        let classes = *output.shape().last().unwrap_or(&0);
        if output.rank() < 2 || classes == 0 {
            return Err(Error::config(
                "classification output",
                format!("expected logits [batch, classes], got {:?}", output.shape()),
            ));
        }
        if targets.dtype() != DType::I64 {
            return Err(Error::config(
                "classification targets",
                format!("expected i64 class indices, got {}", targets.dtype()),
            ));
        }
        let rows = output.numel() / classes;
        if targets.numel() != rows {
            return Err(Error::config(
                "classification targets",
                format!(
                    "{:?} do not match logits {:?}: need one class index per row",
                    targets.shape(),
                    output.shape()
                ),
            ));
        }
        Ok((
            output.reshape(&[rows, classes])?,
            targets.reshape(&[rows, 1])?,
        ))
    }
}

impl Task for Classification {
    fn loss(&self, output: &Tensor, targets: &Tensor) -> Result<Tensor> {
        let (logits, targets) = Self::flat(output, targets)?;
        let picked = logits.log_softmax(-1)?.gather(1, &targets)?;
        Ok(picked.mean_all()?.neg()?)
    }

    fn correct(&self, output: &Tensor, targets: &Tensor) -> Result<Option<(usize, usize)>> {
        let (logits, targets) = Self::flat(output, targets)?;
        let predicted = logits.argmax(-1, false)?.to_vec::<i64>()?;
        let truth = targets.to_vec::<i64>()?;
        let right = predicted.iter().zip(&truth).filter(|(p, t)| p == t).count();
        Ok(Some((right, truth.len())))
    }
}

/// Regression with mean squared error. Targets are cast to the output's dtype and may be
/// [N] for an output [N, 1].
#[derive(Clone, Copy, Debug, Default)]
pub struct Regression;

impl Task for Regression {
    fn loss(&self, output: &Tensor, targets: &Tensor) -> Result<Tensor> {
        if targets.numel() != output.numel() {
            return Err(Error::config(
                "regression targets",
                format!(
                    "{:?} do not match the output {:?}",
                    targets.shape(),
                    output.shape()
                ),
            ));
        }
        let targets = targets
            .to_dtype(output.dtype())?
            .reshape(output.shape())?
            .detach();
        Ok(output.sub(&targets)?.square()?.mean_all()?)
    }
}
