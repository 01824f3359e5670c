//! `zhixing bench rnn`: training throughput of the MNIST recurrent models (the seed's
//! 2-layer RNN, hidden 128, reading a 28×28 image as 28 steps of 28 pixels, last hidden
//! state → Linear → 10 classes) and their LSTM and GRU siblings — the same workloads as
//! bench_torch.py's `rnn` suite: synthetic data, batch 64, cross-entropy, Adam (lr 1e-3).

use anyhow::Result;
use serde_json::json;
use zhixing_nn::layers::recurrent::{CellType, RnnActivation, SequenceClassifier};
use zhixing_nn::loss::cross_entropy;
use zhixing_nn::optim::{Adam, AdamConfig, Optimizer};
use zhixing_nn::Module;
use zhixing_tensor::{DType, Rng, Tensor};

use crate::bench::{report, time_calls, Args};

pub fn rnn(args: &Args, threads: usize) -> Result<()> {
    let (batch, batches, steps, input, hidden, layers) = (64, 20, 28, 28, 128, 2);
    let mut rng = Rng::seed(0);
    let xs: Vec<Tensor> = (0..batches)
        .map(|_| Tensor::rand(&[batch, steps, input], DType::F32, &mut rng))
        .collect();
    let ys: Vec<Tensor> = (0..batches)
        .map(|_| {
            let labels: Vec<i64> = (0..batch).map(|_| rng.below(10) as i64).collect();
            Tensor::from_vec(labels, &[batch])
        })
        .collect::<std::result::Result<_, _>>()?;
    for (name, cell) in [
        ("rnn_train", CellType::Rnn(RnnActivation::Tanh)),
        ("lstm_train", CellType::Lstm),
        ("gru_train", CellType::Gru),
    ] {
        let model = SequenceClassifier::new(cell, input, hidden, layers, 10, &mut rng)?;
        let mut optimizer = Adam::new(model.parameters(), AdamConfig::default())?;
        let mut step = 0usize;
        let secs = time_calls(args, || {
            let (x, y) = (&xs[step % batches], &ys[step % batches]);
            step += 1;
            optimizer.zero_grad();
            let loss = cross_entropy(&model.forward(x)?, y)?;
            loss.backward()?;
            optimizer.step()?;
            Ok(())
        })?;
        let config = json!({
            "batch": batch, "hidden": hidden, "layers": layers, "steps": steps,
            "input": input, "threads": threads,
        });
        report(args, name, config, "samples/s", batch as f64, &secs);
    }
    Ok(())
}
