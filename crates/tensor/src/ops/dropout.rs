//! Inverted dropout: zero each element with probability p, scale survivors by 1/(1−p)
//! so the expected activation is unchanged and evaluation needs no rescaling.

use crate::error::{Error, Result};
use crate::ops::expect_float;
use crate::{Rng, Tensor};

impl Tensor {
    /// The dropout mask (0 or 1/(1−p) per element) that [`Tensor::dropout`] multiplies by.
    pub fn dropout_mask(
        shape: &[usize],
        p: f64,
        dtype: crate::DType,
        rng: &mut Rng,
    ) -> Result<Tensor> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::invalid(
                "dropout",
                format!("probability must be in [0, 1), got {p}"),
            ));
        }
        let keep = 1.0 / (1.0 - p);
        let n: usize = shape.iter().product();
        let values: Vec<f64> = (0..n)
            .map(|_| if rng.uniform() < p { 0.0 } else { keep })
            .collect();
        Ok(Tensor::from_f64_values(&values, shape, dtype))
    }

    /// Applies dropout when `train` is true; identity otherwise.
    pub fn dropout(&self, p: f64, train: bool, rng: &mut Rng) -> Result<Tensor> {
        expect_float("dropout", self)?;
        if !train || p == 0.0 {
            return Ok(self.clone());
        }
        let mask = Tensor::dropout_mask(self.shape(), p, self.dtype(), rng)?;
        self.mul(&mask)
    }
}
