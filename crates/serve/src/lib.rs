//! zhixing-serve: HTTP/JSON inference for saved tabular models.
//!
//! `POST /v1/models/{name}/predict` takes one record or a list of records in the shape
//! of the training data and answers the predictions in order; `GET /v1/models[/{name}]`
//! describes the models; `/healthz`, `/readyz` and `/metrics` (Prometheus) are for
//! operators; `POST /v1/models/{name}/reload` swaps in a new version of the file.
//! Inference runs on a pool of worker threads that batches requests arriving together
//! ([`batcher`]); every bad input is a 4xx with `{"error": {"code", "message", "field"}}`.
//!
//! ```no_run
//! use zhixing_serve::{run, ModelSpec, ServeConfig};
//! let spec = ModelSpec::parse("iris=models/iris.zxm").unwrap();
//! run(&[spec], ServeConfig::default()).unwrap();
//! ```

pub mod batcher;
pub mod client;
pub mod error;
pub mod http;
pub mod metrics;
pub mod registry;
pub mod request;
pub mod server;

pub use error::{ApiError, Error, Result};
pub use registry::{LoadedModel, ModelSlot, ModelSpec, Registry};
pub use server::{init_logging, run, serve, shutdown_signal, App, ServeConfig, Server};
