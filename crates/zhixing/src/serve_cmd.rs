//! `zhixing serve MODEL... [--host H] [--port P] [--workers N]`: HTTP/JSON inference for
//! saved models (see zhixing-serve for the endpoints).

use std::time::Duration;

use anyhow::Result;
use zhixing_serve::{ModelSpec, ServeConfig};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Models to serve: MODEL_FILE (named by its file stem) or NAME=MODEL_FILE.
    #[arg(required = true, value_name = "MODEL")]
    pub models: Vec<String>,
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0: any free port; the address is printed).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Inference worker threads (default: one per core).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Most requests in one inference call when requests arriving together are batched.
    #[arg(long, default_value_t = 64)]
    pub max_batch: usize,
    /// Longest wait, in microseconds, for requests arriving together (0: no waiting;
    /// a lone request is never delayed).
    #[arg(long, default_value_t = 500)]
    pub batch_window_us: u64,
    /// Request bodies larger than this are refused with 413.
    #[arg(long, default_value_t = 4 << 20)]
    pub max_body_bytes: usize,
    /// Records per predict request at most.
    #[arg(long, default_value_t = 10_000)]
    pub max_records: usize,
    /// Requests not answered within this many milliseconds get 503.
    #[arg(long, default_value_t = 10_000)]
    pub timeout_ms: u64,
    /// Log level on stderr: error, warn, info (one line per request), debug, trace.
    #[arg(long, default_value = "info")]
    pub log_level: String,
}

pub fn run(args: &Args) -> Result<()> {
    zhixing_serve::init_logging(&args.log_level)?;
    let specs = args
        .models
        .iter()
        .map(|m| ModelSpec::parse(m))
        .collect::<Result<Vec<_>, _>>()?;
    let defaults = ServeConfig::default();
    let config = ServeConfig {
        host: args.host.clone(),
        port: args.port,
        workers: args.workers.unwrap_or(defaults.workers).max(1),
        max_batch: args.max_batch.max(1),
        batch_window: Duration::from_micros(args.batch_window_us),
        max_body_bytes: args.max_body_bytes,
        max_records: args.max_records.max(1),
        timeout: Duration::from_millis(args.timeout_ms.max(1)),
        ..defaults
    };
    zhixing_serve::run(&specs, config)?;
    Ok(())
}
