//! Loss functions and weight penalties, composed from differentiable tensor ops so that
//! `backward()` through them is exact. Definitions follow `torch.nn.functional`.
//!
//! Element-wise losses take a [`Reduction`]; cross entropy and NLL take their options
//! through [`CrossEntropy`] (the free functions use the defaults). Mistakes in the inputs
//! (shapes, dtypes, class ids) are errors, never panics.

use zhixing_tensor::{DType, Error as TensorError, Tensor};

use crate::{Error, Result};

/// How per-element losses become the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reduction {
    /// The mean (a weighted mean for weighted cross entropy / NLL).
    #[default]
    Mean,
    Sum,
    /// No reduction: one loss per element (per sample for cross entropy).
    None,
}

/// Reduces per-element losses (`Reduction::None` returns them unchanged).
pub fn reduce(losses: &Tensor, reduction: Reduction) -> Result<Tensor> {
    Ok(match reduction {
        Reduction::Mean => losses.mean_all()?,
        Reduction::Sum => losses.sum_all()?,
        Reduction::None => losses.clone(),
    })
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

/// Input and target must be float tensors of one shape (no silent broadcasting).
fn check_pair(op: &'static str, input: &Tensor, target: &Tensor) -> Result<()> {
    expect_float(op, input)?;
    expect_float(op, target)?;
    if input.shape() != target.shape() {
        return Err(TensorError::ShapeMismatch {
            op,
            lhs: input.shape().to_vec(),
            rhs: target.shape().to_vec(),
        }
        .into());
    }
    Ok(())
}

/// Mean squared error: (x − y)².
pub fn mse(input: &Tensor, target: &Tensor, reduction: Reduction) -> Result<Tensor> {
    check_pair("mse_loss", input, target)?;
    reduce(&input.sub(target)?.square()?, reduction)
}

/// Mean absolute error (L1): |x − y|.
pub fn l1(input: &Tensor, target: &Tensor, reduction: Reduction) -> Result<Tensor> {
    check_pair("l1_loss", input, target)?;
    reduce(&input.sub(target)?.abs()?, reduction)
}

/// Alias of [`l1`].
pub fn mae(input: &Tensor, target: &Tensor, reduction: Reduction) -> Result<Tensor> {
    l1(input, target, reduction)
}

/// Huber loss (`torch.nn.HuberLoss`): ½d² for |d| < δ, δ(|d| − ½δ) beyond.
pub fn huber(input: &Tensor, target: &Tensor, delta: f64, reduction: Reduction) -> Result<Tensor> {
    check_pair("huber_loss", input, target)?;
    if delta.is_nan() || delta <= 0.0 {
        return Err(Error::config(
            "huber delta",
            format!("must be > 0, got {delta}"),
        ));
    }
    // With a = |d| and q = min(a, δ): ½q² + δ(a − q) is ½a² inside and δa − ½δ² outside.
    let a = input.sub(target)?.abs()?;
    let q = a.clamp(f64::NEG_INFINITY, delta)?;
    let losses = q
        .square()?
        .mul_scalar(0.5)?
        .add(&a.sub(&q)?.mul_scalar(delta)?)?;
    reduce(&losses, reduction)
}

/// Smooth L1 (`torch.nn.SmoothL1Loss`): Huber(β)/β, and plain L1 when β = 0.
pub fn smooth_l1(
    input: &Tensor,
    target: &Tensor,
    beta: f64,
    reduction: Reduction,
) -> Result<Tensor> {
    if beta == 0.0 {
        return l1(input, target, reduction);
    }
    let losses = huber(input, target, beta, Reduction::None)?.div_scalar(beta)?;
    reduce(&losses, reduction)
}

/// Binary cross entropy on probabilities: −w·(y·ln p + (1−y)·ln(1−p)). As in PyTorch each
/// log is clamped at −100 so p = 0 or 1 gives a finite loss. `weight` broadcasts against
/// the input.
pub fn binary_cross_entropy(
    probs: &Tensor,
    targets: &Tensor,
    weight: Option<&Tensor>,
    reduction: Reduction,
) -> Result<Tensor> {
    check_pair("binary_cross_entropy", probs, targets)?;
    let p = probs.to_vec_f64();
    if let Some(bad) = p.iter().find(|v| !(0.0..=1.0).contains(*v)) {
        return Err(Error::config(
            "binary_cross_entropy input",
            format!("probabilities must be in [0, 1], got {bad} (pass logits to binary_cross_entropy_with_logits)"),
        ));
    }
    // Clamping p first keeps ln finite, so the gradient is 0 (not NaN) where clamped.
    let tiny = (-100f64).exp();
    let clamped_log =
        |t: &Tensor| -> Result<Tensor> { Ok(t.clamp(tiny, 1.0)?.log()?.clamp(-100.0, 0.0)?) };
    let log_p = clamped_log(probs)?;
    let log_q = clamped_log(&probs.affine(-1.0, 1.0)?)?;
    let one_minus_y = targets.affine(-1.0, 1.0)?;
    let losses = targets.mul(&log_p)?.add(&one_minus_y.mul(&log_q)?)?.neg()?;
    reduce(&apply_weight(losses, weight)?, reduction)
}

fn apply_weight(losses: Tensor, weight: Option<&Tensor>) -> Result<Tensor> {
    match weight {
        Some(w) => weighted(&losses, w, "weight"),
        None => Ok(losses),
    }
}

/// losses·w, where w must broadcast to the losses' shape (not enlarge it).
fn weighted(losses: &Tensor, w: &Tensor, what: &'static str) -> Result<Tensor> {
    let out = losses.mul(w)?;
    if out.shape() != losses.shape() {
        return Err(Error::config(
            what,
            format!(
                "shape {:?} does not broadcast to the loss shape {:?}",
                w.shape(),
                losses.shape()
            ),
        ));
    }
    Ok(out)
}

/// Binary cross entropy on logits, stable for any x:
/// (1−y)·softplus(x) + pw·y·softplus(−x), which without `pos_weight` (pw = 1) is
/// max(x,0) − x·y + ln(1 + e^−|x|). `pos_weight` weighs the positive term and broadcasts
/// against the input (typically one weight per class, shape [C]).
pub fn binary_cross_entropy_with_logits(
    logits: &Tensor,
    targets: &Tensor,
    pos_weight: Option<&Tensor>,
    reduction: Reduction,
) -> Result<Tensor> {
    check_pair("binary_cross_entropy_with_logits", logits, targets)?;
    let negative = targets.affine(-1.0, 1.0)?.mul(&logits.softplus()?)?;
    let positive = targets.mul(&logits.neg()?.softplus()?)?;
    let positive = match pos_weight {
        Some(pw) => weighted(&positive, pw, "pos_weight")?,
        None => positive,
    };
    reduce(&negative.add(&positive)?, reduction)
}

/// Options of cross entropy and negative log-likelihood (`torch.nn.CrossEntropyLoss`).
///
/// Targets are either class ids (an i64 tensor shaped like the input without its class
/// dim) or class probabilities (a float tensor shaped like the input). The input is
/// [N, C], [N, C, d…] or an unbatched [C].
#[derive(Debug, Clone)]
pub struct CrossEntropy {
    /// Per-class weights [C]. With `Reduction::Mean` and class-id targets the result is
    /// Σ wᵧ·lossᵢ / Σ wᵧ over the non-ignored targets, as PyTorch.
    pub weight: Option<Tensor>,
    /// Class-id targets equal to this contribute nothing (default −100, as PyTorch). A mean
    /// over a batch where every target is ignored is NaN (0/0), as in PyTorch.
    pub ignore_index: Option<i64>,
    /// ε in [0, 1]: the target becomes (1−ε)·one-hot + ε/C.
    pub label_smoothing: f64,
    pub reduction: Reduction,
}

impl Default for CrossEntropy {
    fn default() -> Self {
        CrossEntropy {
            weight: None,
            ignore_index: Some(-100),
            label_smoothing: 0.0,
            reduction: Reduction::Mean,
        }
    }
}

/// Cross entropy of logits against class ids or probabilities, mean over the batch.
pub fn cross_entropy(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    CrossEntropy::default().loss(logits, targets)
}

/// Negative log-likelihood of log-probabilities against class ids (`F.nll_loss`), mean.
pub fn nll_loss(
    log_probs: &Tensor,
    targets: &Tensor,
    weight: Option<&Tensor>,
    ignore_index: Option<i64>,
) -> Result<Tensor> {
    let opts = CrossEntropy {
        weight: weight.cloned(),
        ignore_index,
        ..CrossEntropy::default()
    };
    opts.nll(log_probs, targets)
}

impl CrossEntropy {
    pub fn new() -> Self {
        CrossEntropy::default()
    }

    pub fn weight(mut self, weight: Tensor) -> Self {
        self.weight = Some(weight);
        self
    }

    pub fn ignore_index(mut self, index: Option<i64>) -> Self {
        self.ignore_index = index;
        self
    }

    pub fn label_smoothing(mut self, epsilon: f64) -> Self {
        self.label_smoothing = epsilon;
        self
    }

    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// Cross entropy from logits: `nll(log_softmax(logits))`.
    pub fn loss(&self, logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
        expect_float("cross_entropy", logits)?;
        let class_dim = if logits.rank() == 1 { 0 } else { 1 };
        self.nll(&logits.log_softmax(class_dim)?, targets)
    }

    /// Negative log-likelihood from log-probabilities, with these options (label
    /// smoothing included, so cross entropy is exactly nll ∘ log_softmax).
    pub fn nll(&self, log_probs: &Tensor, targets: &Tensor) -> Result<Tensor> {
        expect_float("nll_loss", log_probs)?;
        let eps = self.label_smoothing;
        if !(0.0..=1.0).contains(&eps) {
            return Err(Error::config(
                "label_smoothing",
                format!("must be in [0, 1], got {eps}"),
            ));
        }
        let (rows, target_shape) = class_rows(log_probs)?;
        if let Some(w) = &self.weight {
            self.check_weight(w, log_probs)?;
        }
        if targets.dtype() == DType::I64 {
            if targets.shape() != target_shape.as_slice() {
                return Err(TensorError::ShapeMismatch {
                    op: "cross_entropy (class-id targets vs input without its class dim)",
                    lhs: target_shape,
                    rhs: targets.shape().to_vec(),
                }
                .into());
            }
            self.nll_ids(&rows, targets, &target_shape)
        } else {
            check_pair("cross_entropy (probability targets)", log_probs, targets)?;
            let (probs, _) = class_rows(targets)?;
            self.nll_probs(&rows, &probs, &target_shape)
        }
    }

    fn check_weight(&self, w: &Tensor, log_probs: &Tensor) -> Result<()> {
        let c = class_count(log_probs);
        if w.shape() != [c] || w.dtype() != log_probs.dtype() {
            return Err(Error::config(
                "class weights",
                format!(
                    "expected a {} tensor of shape [{c}], got {} {:?}",
                    log_probs.dtype(),
                    w.dtype(),
                    w.shape()
                ),
            ));
        }
        Ok(())
    }

    /// Class-id targets over log-probability rows [M, C].
    fn nll_ids(&self, rows: &Tensor, targets: &Tensor, out_shape: &[usize]) -> Result<Tensor> {
        let (m, c) = (rows.shape()[0], rows.shape()[1]);
        let (safe, keep) = checked_ids(&targets.to_vec::<i64>()?, c, self.ignore_index)?;
        let dtype = rows.dtype();
        let safe = Tensor::from_vec(safe, &[m])?;
        let keep = Tensor::from_vec(keep, &[m])?.to_dtype(dtype)?;
        let picked = rows.gather(1, &safe.reshape(&[m, 1])?)?.reshape(&[m])?;
        // wᵧ of every sample, zero where ignored: both the loss weight and mean's divisor.
        let w_y = match &self.weight {
            Some(w) => w.index_select(0, &safe)?.mul(&keep)?,
            None => keep.clone(),
        };
        let mut losses = picked.mul(&w_y)?.neg()?;
        let eps = self.label_smoothing;
        if eps > 0.0 {
            // The uniform part of the smoothed target: −Σ_c w_c·ln p_c, scaled by ε/C.
            let all = match &self.weight {
                Some(w) => rows.mul(&w.reshape(&[1, c])?)?,
                None => rows.clone(),
            };
            let smooth = all.sum(&[1], false)?.neg()?.mul(&keep)?;
            losses = losses
                .mul_scalar(1.0 - eps)?
                .add(&smooth.mul_scalar(eps / c as f64)?)?;
        }
        match self.reduction {
            Reduction::Mean => Ok(losses.sum_all()?.div(&w_y.sum_all()?)?),
            Reduction::Sum => Ok(losses.sum_all()?),
            Reduction::None => Ok(losses.reshape(out_shape)?),
        }
    }

    /// Probability targets (rows [M, C] each); the mean divides by M.
    fn nll_probs(&self, rows: &Tensor, probs: &Tensor, out_shape: &[usize]) -> Result<Tensor> {
        let c = rows.shape()[1];
        let eps = self.label_smoothing;
        let target = if eps > 0.0 {
            probs.affine(1.0 - eps, eps / c as f64)?
        } else {
            probs.clone()
        };
        let mut terms = rows.mul(&target)?;
        if let Some(w) = &self.weight {
            terms = terms.mul(&w.reshape(&[1, c])?)?;
        }
        let losses = terms.sum(&[1], false)?.neg()?;
        match self.reduction {
            Reduction::None => Ok(losses.reshape(out_shape)?),
            r => reduce(&losses, r),
        }
    }
}

fn class_count(t: &Tensor) -> usize {
    let d = if t.rank() == 1 { 0 } else { 1 };
    t.shape().get(d).copied().unwrap_or(0)
}

/// The input as rows [M, C] (class dim last) and the shape of one target per row.
fn class_rows(t: &Tensor) -> Result<(Tensor, Vec<usize>)> {
    match t.rank() {
        0 => Err(TensorError::InvalidShape {
            op: "cross_entropy",
            msg: "input needs a class dim: [C], [N, C] or [N, C, d…]".into(),
            shape: vec![],
        }
        .into()),
        1 => Ok((t.reshape(&[1, t.shape()[0]])?, vec![])),
        2 => Ok((t.clone(), vec![t.shape()[0]])),
        r => {
            // [N, C, d…] → [N, d…, C] → [N·Πd, C].
            let mut perm: Vec<usize> = (0..r).filter(|&d| d != 1).collect();
            perm.push(1);
            let moved = t.permute(&perm)?;
            let c = t.shape()[1];
            let target_shape = moved.shape()[..r - 1].to_vec();
            Ok((moved.reshape(&[t.numel() / c.max(1), c])?, target_shape))
        }
    }
}

/// (ids safe to gather with — ignored ones replaced by 0 —, 1/0 keep flags); errors on an
/// id outside 0..classes that is not the ignore index.
fn checked_ids(ids: &[i64], classes: usize, ignore: Option<i64>) -> Result<(Vec<i64>, Vec<f64>)> {
    let mut safe = Vec::with_capacity(ids.len());
    let mut keep = Vec::with_capacity(ids.len());
    for (i, &id) in ids.iter().enumerate() {
        if Some(id) == ignore {
            safe.push(0);
            keep.push(0.0);
        } else if id < 0 || id as usize >= classes {
            return Err(Error::config(
                "target",
                format!(
                    "class id {id} at position {i} is out of range for {classes} classes (valid ids are 0..{classes})"
                ),
            ));
        } else {
            safe.push(id);
            keep.push(1.0);
        }
    }
    Ok((safe, keep))
}

/// Σ over tensors of `term(t)` summed to a scalar, times λ; 0 (f32) for no tensors.
fn penalty(
    params: &[Tensor],
    lambda: f64,
    term: impl Fn(&Tensor) -> zhixing_tensor::Result<Tensor>,
) -> Result<Tensor> {
    let mut total: Option<Tensor> = None;
    for p in params {
        expect_float("penalty", p)?;
        let s = term(p)?.sum_all()?;
        total = Some(match total {
            Some(t) => t.add(&s)?,
            None => s,
        });
    }
    match total {
        Some(t) => Ok(t.mul_scalar(lambda)?),
        None => Ok(Tensor::scalar(0f32)),
    }
}

/// L1 penalty λ·Σ|w| over all elements of `params` (pass the weights to regularize).
pub fn l1_penalty(params: &[Tensor], lambda: f64) -> Result<Tensor> {
    penalty(params, lambda, Tensor::abs)
}

/// L2 penalty λ·Σw² — without a ½, so its gradient is 2λw. (SGD's `weight_decay = wd`
/// adds wd·w to the gradient, which is this penalty with λ = wd/2.)
pub fn l2_penalty(params: &[Tensor], lambda: f64) -> Result<Tensor> {
    penalty(params, lambda, Tensor::square)
}

/// Elastic net λ·(ρ·Σ|w| + (1−ρ)·Σw²) with ρ = `l1_ratio` in [0, 1]; the L2 part has no
/// ½, consistent with [`l2_penalty`] (scikit-learn's ElasticNet halves it).
pub fn elastic_net(params: &[Tensor], lambda: f64, l1_ratio: f64) -> Result<Tensor> {
    if !(0.0..=1.0).contains(&l1_ratio) {
        return Err(Error::config(
            "l1_ratio",
            format!("must be in [0, 1], got {l1_ratio}"),
        ));
    }
    let l1 = l1_penalty(params, lambda * l1_ratio)?;
    let l2 = l2_penalty(params, lambda * (1.0 - l1_ratio))?;
    Ok(l1.add(&l2)?)
}
