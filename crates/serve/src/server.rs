//! Starting and stopping: the shared state, binding, serving until a shutdown signal,
//! and a graceful stop (no new connections; requests in flight finish).

use std::future::Future;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::batcher::{BatchConfig, Pool};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::registry::{ModelSpec, Registry};

/// How the server listens, batches and limits.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub host: String,
    /// 0 picks a free port.
    pub port: u16,
    /// Inference worker threads.
    pub workers: usize,
    /// Requests per inference call when requests arriving together are batched.
    pub max_batch: usize,
    /// The longest a worker waits for requests arriving together.
    pub batch_window: Duration,
    /// Predict requests waiting for a worker at most (then 503 `overloaded`).
    pub queue_capacity: usize,
    /// Request bodies over this are refused (413).
    pub max_body_bytes: usize,
    /// Records per predict request at most (413).
    pub max_records: usize,
    /// A request not answered within this gets 503 `timeout`.
    pub timeout: Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            host: "127.0.0.1".into(),
            port: 8080,
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            max_batch: 64,
            batch_window: Duration::from_micros(500),
            queue_capacity: 4096,
            max_body_bytes: 4 << 20,
            max_records: 10_000,
            timeout: Duration::from_secs(10),
        }
    }
}

/// What every handler shares.
#[derive(Debug)]
pub struct App {
    pub registry: Registry,
    pub pool: Pool,
    pub metrics: Arc<Metrics>,
    pub config: ServeConfig,
    /// False while shutting down (`/readyz` then answers 503).
    pub ready: AtomicBool,
}

impl App {
    /// Starts the inference workers for `registry`.
    pub fn new(registry: Registry, config: ServeConfig) -> Result<Arc<App>> {
        let metrics = Arc::new(Metrics::default());
        let batch = BatchConfig {
            workers: config.workers,
            max_batch: config.max_batch,
            window: config.batch_window,
            queue_capacity: config.queue_capacity,
            max_records: config.max_records,
            max_batch_bytes: config.max_body_bytes,
        };
        let pool = Pool::start(batch, metrics.clone()).map_err(|e| Error::Io {
            what: "cannot start the inference workers".into(),
            cause: e,
        })?;
        Ok(Arc::new(App {
            registry,
            pool,
            metrics,
            config,
            ready: AtomicBool::new(true),
        }))
    }
}

/// A running server (what tests and embedders hold).
pub struct Server {
    addr: SocketAddr,
    app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Binds `config.host:config.port` and serves `registry` in the background.
    pub async fn start(registry: Registry, config: ServeConfig) -> Result<Server> {
        let bind = format!("{}:{}", config.host, config.port);
        let listener = TcpListener::bind(&bind).await.map_err(|e| Error::Io {
            what: format!("cannot listen on {bind}"),
            cause: e,
        })?;
        let addr = listener.local_addr().map_err(|e| Error::Io {
            what: "no local address".into(),
            cause: e,
        })?;
        let app = App::new(registry, config)?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, app.clone(), async move {
            let _ = stopped.await;
        }));
        Ok(Server {
            addr,
            app,
            stop: Some(stop),
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// Stops gracefully: no new connections, requests in flight answered (waiting at
    /// most `drain`), then the inference workers finish their queue and exit.
    pub async fn shutdown(mut self, drain: Duration) -> Result<()> {
        self.app.ready.store(false, Ordering::Release);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let res = tokio::time::timeout(drain, &mut self.task).await;
        let app = self.app.clone();
        // Joining the workers blocks: do it off the executor.
        let _ = tokio::task::spawn_blocking(move || app.pool.close()).await;
        match res {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(Error::Io {
                what: "the server stopped with an error".into(),
                cause: e,
            }),
            Ok(Err(e)) => Err(Error::Spec(format!("the server task failed: {e}"))),
            Err(_) => {
                tracing::warn!(
                    "requests still open after {} s; stopping anyway",
                    drain.as_secs()
                );
                self.task.abort();
                Ok(())
            }
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then finishes the requests in
/// flight.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = crate::http::router(app);
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Resolves at SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// `zhixing serve`: loads the models, serves until SIGINT/SIGTERM, stops gracefully.
/// Prints `listening on http://ADDR` on stdout once ready.
pub fn run(specs: &[ModelSpec], config: ServeConfig) -> Result<()> {
    let registry = Registry::load(specs)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("zhixing-http")
        .build()
        .map_err(|e| Error::Io {
            what: "cannot start the async runtime".into(),
            cause: e,
        })?;
    let drain = config.timeout + Duration::from_secs(5);
    runtime.block_on(async move {
        let server = Server::start(registry, config).await?;
        let names = server.app().registry.names().join(", ");
        tracing::info!(addr = %server.addr(), models = %names, "listening");
        println!("listening on http://{} (models: {names})", server.addr());
        use std::io::Write;
        let _ = std::io::stdout().flush();
        shutdown_signal().await;
        tracing::info!("shutting down: finishing requests in flight");
        server.shutdown(drain).await?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// Logs to stderr, one line per event, at `level` (error, warn, info, debug, trace).
pub fn init_logging(level: &str) -> Result<()> {
    let level: tracing::Level = level.parse().map_err(|_| {
        Error::Spec(format!(
            "unknown log level `{level}`: use error, warn, info, debug or trace"
        ))
    })?;
    // Already set (an embedding program, a second test): keep that one.
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
    Ok(())
}
