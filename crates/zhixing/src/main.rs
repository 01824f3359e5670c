//! The `zhixing` command line: parses arguments, calls the libraries, prints results.

mod bench;
mod quickstart;

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
    /// Run a benchmark suite and print one JSON line per measurement.
    Bench(bench::Args),
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
    }
}

// Tensor ops allocate their outputs; mimalloc keeps freed pages for reuse instead of
// returning large blocks to the OS, so a training loop does not page-fault every step.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
