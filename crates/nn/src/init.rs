//! Parameter initializers, filling a tensor in place (as `torch.nn.init.*_`).
//!
//! Every function overwrites the tensor's elements with `assign` under `no_grad`, so a
//! parameter keeps its identity (optimizers and graphs holding it see the new values).
//! Random initializers draw from the `Rng` passed in: the same seed gives the same weights.
//! Values are drawn in f64 and cast to the tensor's dtype.

use zhixing_tensor::{no_grad, DType, Error as TensorError, Rng, Tensor};

use crate::{Error, Result};

/// The nonlinearity a layer's output goes through, which sets the init gain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nonlinearity {
    /// Identity (also PyTorch's gain for conv layers).
    Linear,
    Conv,
    Sigmoid,
    Tanh,
    Relu,
    /// Leaky ReLU; the negative slope is passed separately (`param` / `a`).
    LeakyRelu,
    Selu,
}

/// Which fan kaiming init preserves: `FanIn` keeps forward activations' variance,
/// `FanOut` keeps backward gradients' variance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FanMode {
    #[default]
    FanIn,
    FanOut,
}

/// The recommended gain for a nonlinearity, as `torch.nn.init.calculate_gain`:
/// linear/conv/sigmoid 1, tanh 5/3, relu √2, leaky relu √(2/(1+slope²)) (slope defaults
/// to 0.01), selu 3/4.
pub fn calculate_gain(nonlinearity: Nonlinearity, param: Option<f64>) -> f64 {
    match nonlinearity {
        Nonlinearity::Linear | Nonlinearity::Conv | Nonlinearity::Sigmoid => 1.0,
        Nonlinearity::Tanh => 5.0 / 3.0,
        Nonlinearity::Relu => 2f64.sqrt(),
        Nonlinearity::LeakyRelu => {
            let slope = param.unwrap_or(0.01);
            (2.0 / (1.0 + slope * slope)).sqrt()
        }
        Nonlinearity::Selu => 0.75,
    }
}

/// (fan_in, fan_out) of a weight shaped [out, in, k…]: fan_in = in·Πk, fan_out = out·Πk
/// (the receptive field counts for conv kernels). Needs at least 2 dims.
pub fn fan_in_and_fan_out(shape: &[usize]) -> Result<(usize, usize)> {
    if shape.len() < 2 {
        return Err(TensorError::InvalidShape {
            op: "fan_in_and_fan_out",
            msg: "fan in and fan out need a tensor with at least 2 dims".into(),
            shape: shape.to_vec(),
        }
        .into());
    }
    let receptive: usize = shape[2..].iter().product();
    Ok((shape[1] * receptive, shape[0] * receptive))
}

fn expect_float(op: &'static str, t: &Tensor) -> Result<()> {
    if t.dtype().is_float() {
        Ok(())
    } else {
        Err(TensorError::DType {
            op,
            expected: DType::F32,
            got: t.dtype(),
        }
        .into())
    }
}

/// Overwrites `t` with `values` (row-major, f64), cast to `t`'s dtype.
fn fill(t: &Tensor, values: Vec<f64>) -> Result<()> {
    let src = Tensor::from_vec(values, t.shape())?.to_dtype(t.dtype())?;
    no_grad(|| t.assign(&src))?;
    Ok(())
}

fn samples(t: &Tensor, mut draw: impl FnMut() -> f64) -> Vec<f64> {
    (0..t.numel()).map(|_| draw()).collect()
}

pub fn zeros(t: &Tensor) -> Result<()> {
    constant(t, 0.0)
}

pub fn ones(t: &Tensor) -> Result<()> {
    constant(t, 1.0)
}

pub fn constant(t: &Tensor, value: f64) -> Result<()> {
    fill(t, vec![value; t.numel()])
}

/// U(a, b).
pub fn uniform(t: &Tensor, a: f64, b: f64, rng: &mut Rng) -> Result<()> {
    expect_float("init::uniform", t)?;
    if a.is_nan() || b.is_nan() || a > b {
        return Err(Error::config(
            "uniform bounds",
            format!("need a ≤ b, got {a}, {b}"),
        ));
    }
    fill(t, samples(t, || a + (b - a) * rng.uniform()))
}

/// N(mean, std²).
pub fn normal(t: &Tensor, mean: f64, std: f64, rng: &mut Rng) -> Result<()> {
    expect_float("init::normal", t)?;
    if std.is_nan() || std < 0.0 {
        return Err(Error::config(
            "normal std",
            format!("need std ≥ 0, got {std}"),
        ));
    }
    fill(t, samples(t, || mean + std * rng.normal()))
}

/// Glorot/Xavier: U(−a, a) with a = gain·√(6/(fan_in + fan_out)), i.e. variance
/// gain²·2/(fan_in + fan_out).
pub fn xavier_uniform(t: &Tensor, gain: f64, rng: &mut Rng) -> Result<()> {
    let std = xavier_std(t, gain)?;
    let a = 3f64.sqrt() * std;
    uniform(t, -a, a, rng)
}

/// Glorot/Xavier: N(0, std²) with std = gain·√(2/(fan_in + fan_out)).
pub fn xavier_normal(t: &Tensor, gain: f64, rng: &mut Rng) -> Result<()> {
    let std = xavier_std(t, gain)?;
    normal(t, 0.0, std, rng)
}

fn xavier_std(t: &Tensor, gain: f64) -> Result<f64> {
    let (fan_in, fan_out) = fan_in_and_fan_out(t.shape())?;
    Ok(gain * (2.0 / (fan_in + fan_out).max(1) as f64).sqrt())
}

/// He/Kaiming: std = gain/√fan with gain = `calculate_gain(nonlinearity, a)` (`a` is the
/// leaky-ReLU slope; ignored by the others).
fn kaiming_std(t: &Tensor, a: f64, mode: FanMode, nonlinearity: Nonlinearity) -> Result<f64> {
    let (fan_in, fan_out) = fan_in_and_fan_out(t.shape())?;
    let fan = match mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
    };
    Ok(calculate_gain(nonlinearity, Some(a)) / (fan.max(1) as f64).sqrt())
}

/// He/Kaiming uniform: U(−b, b) with b = √3·gain/√fan. `a = √5` with `LeakyRelu` is
/// PyTorch's default for Linear and conv weights (b = 1/√fan_in).
pub fn kaiming_uniform(
    t: &Tensor,
    a: f64,
    mode: FanMode,
    nonlinearity: Nonlinearity,
    rng: &mut Rng,
) -> Result<()> {
    if t.numel() == 0 {
        return Ok(());
    }
    let bound = 3f64.sqrt() * kaiming_std(t, a, mode, nonlinearity)?;
    uniform(t, -bound, bound, rng)
}

/// He/Kaiming normal: N(0, (gain/√fan)²).
pub fn kaiming_normal(
    t: &Tensor,
    a: f64,
    mode: FanMode,
    nonlinearity: Nonlinearity,
    rng: &mut Rng,
) -> Result<()> {
    if t.numel() == 0 {
        return Ok(());
    }
    let std = kaiming_std(t, a, mode, nonlinearity)?;
    normal(t, 0.0, std, rng)
}

/// Orthonormal columns of a tall m×n matrix (m ≥ n) given as n columns, by modified
/// Gram–Schmidt with one re-orthogonalization pass. The implied R has a positive
/// diagonal, which is PyTorch's sign correction (q·sign(diag r)) of a QR factorization.
fn orthonormal_columns(mut cols: Vec<Vec<f64>>) -> Result<Vec<Vec<f64>>> {
    for j in 0..cols.len() {
        let (done, rest) = cols.split_at_mut(j);
        let v = &mut rest[0];
        for _pass in 0..2 {
            for q in done.iter() {
                let r: f64 = q.iter().zip(v.iter()).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(q).for_each(|(x, qi)| *x -= r * qi);
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm.is_nan() || norm <= 1e-12 {
            return Err(Error::config("orthogonal init", "degenerate random matrix"));
        }
        v.iter_mut().for_each(|x| *x /= norm);
    }
    Ok(cols)
}

/// A (semi-)orthogonal matrix times `gain`, as `torch.nn.init.orthogonal_`. The tensor is
/// viewed as [rows, numel/rows]; rows are orthonormal when rows ≤ cols, columns otherwise.
pub fn orthogonal(t: &Tensor, gain: f64, rng: &mut Rng) -> Result<()> {
    expect_float("init::orthogonal", t)?;
    if t.rank() < 2 {
        return Err(TensorError::InvalidShape {
            op: "init::orthogonal",
            msg: "orthogonal init needs at least 2 dims".into(),
            shape: t.shape().to_vec(),
        }
        .into());
    }
    if t.numel() == 0 {
        return Ok(());
    }
    let rows = t.shape()[0];
    let cols = t.numel() / rows;
    let (m, n) = (rows.max(cols), rows.min(cols));
    let gaussian: Vec<Vec<f64>> = (0..n)
        .map(|_| (0..m).map(|_| rng.normal()).collect())
        .collect();
    let q = orthonormal_columns(gaussian)?;
    // q[j][i] is entry i of column j of the tall m×n factor; transpose back when wide.
    let q = &q;
    let values: Vec<f64> = (0..rows)
        .flat_map(|r| (0..cols).map(move |c| if rows >= cols { q[c][r] } else { q[r][c] }))
        .map(|v| gain * v)
        .collect();
    fill(t, values)
}

/// A sparse 2-D matrix as `torch.nn.init.sparse_`: N(0, std²) entries with
/// ⌈sparsity·rows⌉ randomly chosen entries of every column set to zero.
pub fn sparse(t: &Tensor, sparsity: f64, std: f64, rng: &mut Rng) -> Result<()> {
    expect_float("init::sparse", t)?;
    if t.rank() != 2 {
        return Err(TensorError::InvalidShape {
            op: "init::sparse",
            msg: "sparse init needs a 2-D tensor".into(),
            shape: t.shape().to_vec(),
        }
        .into());
    }
    if !(0.0..=1.0).contains(&sparsity) {
        return Err(Error::config(
            "sparsity",
            format!("must be in [0, 1], got {sparsity}"),
        ));
    }
    let (rows, cols) = (t.shape()[0], t.shape()[1]);
    let zeros_per_col = ((sparsity * rows as f64).ceil() as usize).min(rows);
    let mut values = samples(t, || std * rng.normal());
    let mut order: Vec<usize> = (0..rows).collect();
    for c in 0..cols {
        rng.shuffle(&mut order);
        for &r in &order[..zeros_per_col] {
            values[r * cols + c] = 0.0;
        }
    }
    fill(t, values)
}
