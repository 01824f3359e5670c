//! The first tour: XOR learned by a 2-layer ReLU network with MSE and batch gradient
//! descent, written directly with tensor ops and `backward()`.

use anyhow::Result;
use zhixing_tensor::{no_grad, DType, Rng, Tensor};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Passes over the four XOR examples.
    #[arg(long, default_value_t = 1000)]
    pub epochs: usize,
    /// Gradient-descent step size.
    #[arg(long, default_value_t = 0.1)]
    pub lr: f64,
    /// Hidden units.
    #[arg(long, default_value_t = 8)]
    pub hidden: usize,
    /// Random seed for the initial weights.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print the loss every this many epochs (1: every epoch).
    #[arg(long, default_value_t = 50)]
    pub every: usize,
    /// Where the Iris run writes its metrics, curves and checkpoints.
    #[arg(long, default_value = "runs/quickstart")]
    pub out: std::path::PathBuf,
}

/// What a quickstart run learned.
pub struct XorResult {
    pub losses: Vec<f64>,
    pub predictions: Vec<f32>,
}

pub fn run(args: &Args) -> Result<()> {
    run_xor(args)?;
    println!();
    crate::quickstart_iris::run(&args.out)
}

fn run_xor(args: &Args) -> Result<()> {
    println!(
        "XOR with a 2-{}-1 ReLU network, MSE loss, batch gradient descent (lr {})",
        args.hidden, args.lr
    );
    let result = train_xor(args, |epoch, loss| {
        if epoch == 1 || epoch % args.every.max(1) == 0 || epoch == args.epochs {
            println!("epoch {epoch:>5}  loss {loss:.6}");
        }
    })?;
    println!("\n  x1  x2  target  prediction");
    for (i, p) in result.predictions.iter().enumerate() {
        let (a, b) = (INPUTS[2 * i], INPUTS[2 * i + 1]);
        println!("  {a:>2}  {b:>2}  {:>6}  {p:>10.4}", TARGETS[i]);
    }
    let last = result.losses.last().copied().unwrap_or(f64::NAN);
    if last < 0.01 {
        println!("\nlearned XOR: final loss {last:.6} < 0.01");
        Ok(())
    } else {
        anyhow::bail!(
            "final loss {last:.6} did not reach 0.01: try more --epochs or another --seed"
        )
    }
}

const INPUTS: [f32; 8] = [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0];
const TARGETS: [f32; 4] = [0.0, 1.0, 1.0, 0.0];

/// Trains the network, calling `on_epoch(epoch, loss)` after each step.
pub fn train_xor(args: &Args, mut on_epoch: impl FnMut(usize, f64)) -> Result<XorResult> {
    let x = Tensor::from_slice(&INPUTS, &[4, 2])?;
    let y = Tensor::from_slice(&TARGETS, &[4, 1])?;
    let mut rng = Rng::seed(args.seed);
    // He-style initial scale for ReLU layers: N(0, 2/fan_in).
    let init = |shape: &[usize], fan_in: usize, rng: &mut Rng| -> Result<Tensor> {
        let w = Tensor::randn(shape, DType::F32, rng).mul_scalar((2.0 / fan_in as f64).sqrt())?;
        Ok(w.requires_grad_(true))
    };
    let w1 = init(&[2, args.hidden], 2, &mut rng)?;
    let b1 = Tensor::full(&[args.hidden], 0.1, DType::F32).requires_grad_(true);
    let w2 = init(&[args.hidden, 1], args.hidden, &mut rng)?;
    let b2 = Tensor::zeros(&[1], DType::F32).requires_grad_(true);
    let params = [&w1, &b1, &w2, &b2];
    let forward = |x: &Tensor| -> Result<Tensor> {
        Ok(x.matmul(&w1)?.add(&b1)?.relu()?.matmul(&w2)?.add(&b2)?)
    };
    let mut losses = Vec::with_capacity(args.epochs);
    for epoch in 1..=args.epochs {
        // Forward pass, loss, backward pass (chain rule), then a gradient step.
        let loss = forward(&x)?.sub(&y)?.square()?.mean_all()?;
        loss.backward()?;
        no_grad(|| -> Result<()> {
            for p in params {
                if let Some(g) = p.grad() {
                    p.assign(&p.sub(&g.mul_scalar(args.lr)?)?)?;
                }
                p.zero_grad();
            }
            Ok(())
        })?;
        let l = loss.item()?;
        if !l.is_finite() {
            anyhow::bail!("loss became {l} at epoch {epoch}: lower --lr");
        }
        losses.push(l);
        on_epoch(epoch, l);
    }
    // The loss recorded at each epoch is before that epoch's step; report the final fit.
    let out = no_grad(|| forward(&x))?;
    let final_loss = no_grad(|| out.sub(&y)?.square()?.mean_all()?.item())?;
    losses.push(final_loss);
    Ok(XorResult {
        losses,
        predictions: out.to_vec::<f32>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quickstart_learns_xor() {
        let args = Args {
            epochs: 1000,
            lr: 0.1,
            hidden: 8,
            seed: 0,
            every: 1,
            out: std::path::PathBuf::from("unused"),
        };
        let r = train_xor(&args, |_, _| {}).unwrap();
        let last = *r.losses.last().unwrap();
        assert!(last < 0.01, "final loss {last}");
        assert!(
            r.losses[0] > 0.1,
            "initial loss {} should be far from solved",
            r.losses[0]
        );
        for (p, t) in r.predictions.iter().zip(TARGETS) {
            assert!((p - t).abs() < 0.25, "prediction {p} for target {t}");
        }
    }
}
