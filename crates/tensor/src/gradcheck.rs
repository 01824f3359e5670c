//! Finite-difference gradient checking: the test every differentiable op must pass.

use crate::autograd::no_grad;
use crate::error::{Error, Result};
use crate::{DType, Rng, Tensor};

/// Tolerances for [`gradcheck`]: |analytic − numeric| ≤ atol + rtol·|numeric|.
#[derive(Debug, Clone, Copy)]
pub struct GradcheckOptions {
    pub eps: f64,
    pub atol: f64,
    pub rtol: f64,
}

impl Default for GradcheckOptions {
    fn default() -> Self {
        GradcheckOptions {
            eps: 1e-6,
            atol: 1e-6,
            rtol: 1e-4,
        }
    }
}

/// Checks the autograd gradient of `f` at `inputs` (f64 tensors) against central
/// differences. The output is contracted with a fixed random tensor so that rules whose
/// errors cancel under a plain sum (softmax, normalization) are still caught.
///
/// Inputs whose `requires_grad()` is false are held constant (e.g. integer indices).
pub fn gradcheck(
    f: impl Fn(&[Tensor]) -> Result<Tensor>,
    inputs: &[Tensor],
    opts: GradcheckOptions,
) -> Result<()> {
    for (i, t) in inputs.iter().enumerate() {
        if t.requires_grad() && t.dtype() != DType::F64 {
            return Err(Error::invalid(
                "gradcheck",
                format!("input {i} must be f64, got {}", t.dtype()),
            ));
        }
    }
    let leaves: Vec<Tensor> = inputs.iter().map(fresh_leaf).collect::<Result<_>>()?;
    let out = f(&leaves)?;
    let mut rng = Rng::seed(0x5eed);
    let weights = Tensor::randn(out.shape(), DType::F64, &mut rng);
    let loss = out.mul(&weights)?.sum_all()?;
    loss.backward()?;

    let objective =
        |xs: &[Tensor]| -> Result<f64> { no_grad(|| f(xs)?.mul(&weights)?.sum_all()?.item()) };
    for (i, input) in inputs.iter().enumerate() {
        if !input.requires_grad() {
            continue;
        }
        let analytic = match leaves[i].grad() {
            Some(g) => g.to_vec_f64(),
            None => vec![0.0; input.numel()],
        };
        let base = input.to_vec_f64();
        for j in 0..base.len() {
            let eval = |delta: f64| -> Result<f64> {
                let mut v = base.clone();
                v[j] += delta;
                let mut xs: Vec<Tensor> = inputs.iter().map(|t| t.detach()).collect();
                xs[i] = Tensor::from_vec(v, input.shape())?;
                objective(&xs)
            };
            let numeric = (eval(opts.eps)? - eval(-opts.eps)?) / (2.0 * opts.eps);
            let a = analytic[j];
            let tolerance = opts.atol + opts.rtol * numeric.abs();
            if a.is_nan() || numeric.is_nan() || (a - numeric).abs() > tolerance {
                return Err(Error::Autograd(format!(
                    "gradcheck failed for input {i} (shape {:?}) at element {j}: analytic {a:.10e} vs numeric {numeric:.10e}",
                    input.shape()
                )));
            }
        }
    }
    Ok(())
}

/// A contiguous leaf copy of `t` keeping its requires_grad flag.
fn fresh_leaf(t: &Tensor) -> Result<Tensor> {
    let copy = Tensor::from_storage(t.contiguous_storage(), t.shape());
    Ok(copy.requires_grad_(t.requires_grad()))
}
