//! The seed's recurrent MNIST classifier: a 2-layer RNN (or LSTM, or GRU) with hidden
//! size 128 reads each image row by row — 28 steps of 28 pixels — and its last hidden
//! state goes through a Linear layer to the 10 classes. Trained with the Trainer.
//!
//!     cargo run --release --example mnist_rnn -- --cell lstm [--epochs 6 --lr 2e-3]
//!
//! Fetches MNIST into `data/mnist` when missing, holds out the last 5 000 training images
//! for validation, trains with Adam, a cosine schedule and gradient clipping (global L2
//! norm 1.0 by default; `--clip 0` turns it off), keeps the best epoch and reports its
//! test accuracy.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use zhixing_data::fetch::fetch_mnist;
use zhixing_data::mnist::{Mnist, MnistOptions};
use zhixing_nn::layers::recurrent::{CellType, SequenceClassifier};
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
    let cell_name = arg("--cell", "rnn");
    let cell: CellType = cell_name.parse()?;
    let default_lr = if matches!(cell, CellType::Rnn(_)) {
        "1e-3"
    } else {
        "2e-3"
    };
    let epochs: usize = arg("--epochs", "6").parse().context("--epochs")?;
    let lr: f64 = arg("--lr", default_lr).parse().context("--lr")?;
    let clip: f64 = arg("--clip", "1.0").parse().context("--clip")?;
    let data = PathBuf::from(arg("--data", "data/mnist"));
    let out = PathBuf::from(arg("--out", &format!("runs/mnist_{cell_name}")));
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
    // Images arrive flattened [batch, 784]; the classifier reads them as [batch, 28, 28].
    let model = SequenceClassifier::new(cell, 28, 128, 2, 10, &mut rng)?;
    println!(
        "model: 2-layer {cell_name}, hidden 128, 28 steps of 28 pixels → Linear(128, 10); {} parameters",
        model.num_parameters()
    );

    let batch_size = 64;
    let steps = epochs * train.len().div_ceil(batch_size);
    let config = TrainerConfig {
        epochs,
        batch_size,
        clip_grad_norm: (clip > 0.0).then_some(clip),
        schedule: Some(LrSchedule::new(
            lr,
            Decay::Cosine {
                total_steps: steps,
                min_lr: lr / 100.0,
            },
        )),
        out_dir: Some(out.clone()),
        ..Default::default()
    };
    let adam = AdamConfig {
        lr,
        ..Default::default()
    };
    let mut optimizer = Adam::new(model.parameters(), adam)?;
    let start = Instant::now();
    let history =
        Trainer::new(config).fit(&model, &mut optimizer, &Classification, &train, Some(&val))?;
    let seconds = start.elapsed().as_secs_f64();

    state::load_module(&model, &out.join(BEST_FILE))?;
    let test = evaluate(&model, &Classification, &mnist.test, 1000)?;
    let best = history.best().context("no epoch finished")?;
    println!(
        "{cell_name}: best epoch {} (val accuracy {:.2}%); test accuracy {:.2}%, test loss {:.4}; {epochs} epochs in {seconds:.1} s",
        best.epoch,
        100.0 * best.val_accuracy.unwrap_or(f64::NAN),
        100.0 * test.accuracy.unwrap_or(f64::NAN),
        test.loss
    );
    println!("logs, curves and checkpoints in {}", out.display());
    Ok(())
}
