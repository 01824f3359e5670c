//! `zhixing bench cnn`: training throughput of the seed MNIST CNN and conv2d
//! forward+backward GFLOP/s on a ResNet 3×3 layer — the same workloads as
//! benches/reference/bench_torch.py's `cnn` suite.

use anyhow::Result;
use serde_json::json;
use zhixing_nn::layers::seed_cnn;
use zhixing_nn::loss::cross_entropy;
use zhixing_nn::optim::{Optimizer, Sgd, SgdConfig};
use zhixing_nn::Module;
use zhixing_tensor::{DType, Rng, Tensor};

use crate::bench::{report, time_calls, Args};

pub fn cnn(args: &Args, threads: usize) -> Result<()> {
    cnn_train(args, threads)?;
    conv_layer(args, threads)
}

/// Training steps of the seed CNN (conv 1→16→32 3×3 pad 1, 2×2 max-pools, FC
/// 1568-120-84-10, dropout 0.25) at batch 64: cross-entropy, SGD momentum 0.9.
fn cnn_train(args: &Args, threads: usize) -> Result<()> {
    let mut rng = Rng::seed(0);
    let (batch, batches) = (64, 20);
    let xs: Vec<Tensor> = (0..batches)
        .map(|_| Tensor::rand(&[batch, 1, 28, 28], DType::F32, &mut rng))
        .collect();
    let ys: Vec<Tensor> = (0..batches)
        .map(|_| {
            let labels: Vec<i64> = (0..batch).map(|_| rng.below(10) as i64).collect();
            Tensor::from_vec(labels, &[batch])
        })
        .collect::<std::result::Result<_, _>>()?;
    let model = seed_cnn(0.25, &mut rng)?;
    model.train();
    let config = SgdConfig {
        lr: 0.01,
        momentum: 0.9,
        ..Default::default()
    };
    let mut optimizer = Sgd::new(model.parameters(), config)?;
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
    let config = json!({"batch": batch, "model": "seed-cnn", "threads": threads});
    report(args, "cnn_train", config, "samples/s", batch as f64, &secs);
    Ok(())
}

/// conv2d forward + backward (input and weight gradients) of a ResNet 3×3 layer:
/// 64→64 channels, 56×56, padding 1, no bias, batch 8. 3 × 2·N·C_out·C_in·9·H·W FLOPs.
fn conv_layer(args: &Args, threads: usize) -> Result<()> {
    let mut rng = Rng::seed(0);
    let (n, c, hw) = (8usize, 64usize, 56usize);
    let x = Tensor::randn(&[n, c, hw, hw], DType::F32, &mut rng).requires_grad_(true);
    let w = Tensor::randn(&[c, c, 3, 3], DType::F32, &mut rng)
        .mul_scalar(0.05)?
        .requires_grad_(true);
    let dy = Tensor::randn(&[n, c, hw, hw], DType::F32, &mut rng);
    let secs = time_calls(args, || {
        x.zero_grad();
        w.zero_grad();
        let y = x.conv2d(&w, None, (1, 1), (1, 1), (1, 1), 1)?;
        y.backward_with(&dy)?;
        Ok(())
    })?;
    let gflop = 3.0 * 2.0 * (n * c * c * 9 * hw * hw) as f64 / 1e9;
    let config = json!({"batch": n, "channels": c, "hw": hw, "kernel": 3, "threads": threads});
    report(args, "conv2d_fwd_bwd", config, "GFLOP/s", gflop, &secs);
    Ok(())
}
