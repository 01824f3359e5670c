//! Inference off the async executor: a pool of worker threads takes predict jobs from a
//! bounded queue. A worker takes every job already queued (up to `max_batch` requests),
//! and while more requests are on their way (read but not yet queued) it waits up to
//! `window` for them, so requests that arrive together become one inference call; a lone
//! request is never delayed. The workers also parse the bodies, so the async reactor only
//! moves bytes. Each call runs under `catch_unwind`: a panic fails only the requests of
//! that call, never the worker.

use std::any::Any;
use std::collections::HashMap;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::StatusCode;
use serde_json::{json, Value as Json};
use tokio::sync::oneshot;
use zhixing_data::records::{Table, Value};
use zhixing_ml::model::Predictions;

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::registry::LoadedModel;
use crate::request;

/// A response body, or the error to answer.
pub type Reply = Result<Vec<u8>, ApiError>;

/// How the pool batches.
#[derive(Clone, Copy, Debug)]
pub struct BatchConfig {
    pub workers: usize,
    /// Requests per inference call at most.
    pub max_batch: usize,
    /// Request bytes per inference call at most (a single larger request is still one
    /// call).
    pub max_batch_bytes: usize,
    /// The longest a worker waits for requests on their way.
    pub window: Duration,
    /// Jobs waiting at most; beyond it requests get 503 `overloaded`.
    pub queue_capacity: usize,
    /// Records per request at most (413 beyond).
    pub max_records: usize,
}

/// Counts a request from the moment it is read until a worker takes it: the worker
/// waits for more only while this is non-zero.
#[derive(Debug)]
pub struct Arrival {
    counter: Arc<AtomicUsize>,
    active: bool,
}

impl Arrival {
    fn release(&mut self) {
        if self.active {
            self.active = false;
            self.counter.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Drop for Arrival {
    fn drop(&mut self) {
        self.release();
    }
}

/// One predict request.
#[derive(Debug)]
pub struct Job {
    /// The model version this request sees, fixed when it was queued.
    pub model: Arc<LoadedModel>,
    /// The request body, parsed by the worker.
    pub body: Bytes,
    pub reply: oneshot::Sender<Reply>,
    pub arrival: Arrival,
}

/// The worker threads and their queue.
#[derive(Debug)]
pub struct Pool {
    tx: RwLock<Option<SyncSender<Job>>>,
    arriving: Arc<AtomicUsize>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Pool {
    pub fn start(cfg: BatchConfig, metrics: Arc<Metrics>) -> std::io::Result<Pool> {
        let (tx, rx) = sync_channel::<Job>(cfg.queue_capacity.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let arriving = Arc::new(AtomicUsize::new(0));
        let mut threads = Vec::new();
        for i in 0..cfg.workers.max(1) {
            let (rx, arriving, metrics) = (rx.clone(), arriving.clone(), metrics.clone());
            threads.push(
                std::thread::Builder::new()
                    .name(format!("zhixing-infer-{i}"))
                    .spawn(move || worker(&rx, &cfg, &arriving, &metrics))?,
            );
        }
        Ok(Pool {
            tx: RwLock::new(Some(tx)),
            arriving,
            threads: Mutex::new(threads),
        })
    }

    /// Marks a request as on its way to the queue.
    pub fn arrival(&self) -> Arrival {
        self.arriving.fetch_add(1, Ordering::AcqRel);
        Arrival {
            counter: self.arriving.clone(),
            active: true,
        }
    }

    /// Queues a job without blocking: 503 when the queue is full or closed.
    pub fn submit(&self, job: Job) -> Result<(), ApiError> {
        let guard = self.tx.read().unwrap_or_else(PoisonError::into_inner);
        let Some(tx) = guard.as_ref() else {
            return Err(shutting_down());
        };
        tx.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "too many requests are waiting for inference: retry shortly",
            ),
            TrySendError::Disconnected(_) => shutting_down(),
        })
    }

    /// Stops taking jobs; the workers finish the queued ones and exit.
    pub fn close(&self) {
        self.tx
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let threads =
            std::mem::take(&mut *self.threads.lock().unwrap_or_else(PoisonError::into_inner));
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.close();
    }
}

fn shutting_down() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "shutting_down",
        "the server is shutting down",
    )
}

fn worker(rx: &Mutex<Receiver<Job>>, cfg: &BatchConfig, arriving: &AtomicUsize, m: &Metrics) {
    loop {
        let jobs = {
            let rx = rx.lock().unwrap_or_else(PoisonError::into_inner);
            match collect(&rx, cfg, arriving) {
                Some(jobs) => jobs,
                None => return,
            }
        };
        // run_jobs guards each inference call; this outer guard keeps the thread alive
        // whatever else goes wrong (the jobs' senders drop and their requests get 500).
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| run_jobs(jobs, cfg, m))) {
            m.panic();
            tracing::error!(cause = %panic_message(&*p), "panic in an inference worker");
        }
    }
}

/// The next batch: the first job (waiting for it), then whatever else is queued or on
/// its way within the window. `None` once the queue is closed and empty.
fn collect(rx: &Receiver<Job>, cfg: &BatchConfig, arriving: &AtomicUsize) -> Option<Vec<Job>> {
    let mut first = rx.recv().ok()?;
    first.arrival.release();
    // Bodies are parsed later, by this worker: the batch is bounded by requests and by
    // bytes, not by records.
    let mut bytes = first.body.len();
    let mut jobs = vec![first];
    let deadline = Instant::now() + cfg.window;
    while jobs.len() < cfg.max_batch && bytes < cfg.max_batch_bytes {
        let next = match rx.try_recv() {
            Ok(j) => j,
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => {
                let now = Instant::now();
                if arriving.load(Ordering::Acquire) == 0 || now >= deadline {
                    break;
                }
                match rx.recv_timeout(deadline - now) {
                    Ok(j) => j,
                    Err(_) => break,
                }
            }
        };
        let mut next = next;
        next.arrival.release();
        bytes += next.body.len();
        jobs.push(next);
    }
    Some(jobs)
}

fn run_jobs(jobs: Vec<Job>, cfg: &BatchConfig, m: &Metrics) {
    // Requests queued across a reload may hold different versions: batch per version.
    let mut groups: Vec<(Arc<LoadedModel>, Vec<Job>)> = Vec::new();
    for job in jobs {
        match groups.iter_mut().find(|(g, _)| Arc::ptr_eq(g, &job.model)) {
            Some((_, g)) => g.push(job),
            None => groups.push((job.model.clone(), vec![job])),
        }
    }
    for (model, jobs) in groups {
        run_group(&model, jobs, cfg, m);
    }
}

fn run_group(model: &LoadedModel, jobs: Vec<Job>, cfg: &BatchConfig, m: &Metrics) {
    let mut ready: Vec<(Job, Table)> = Vec::with_capacity(jobs.len());
    for job in jobs {
        if job.reply.is_closed() {
            continue; // the client is gone (timed out)
        }
        match prepare(model, &job.body, cfg.max_records) {
            Ok(t) => ready.push((job, t)),
            Err(e) => {
                let _ = job.reply.send(Err(e));
            }
        }
    }
    if ready.len() > 1 {
        let merged = concat(ready.iter().map(|(_, t)| t));
        if let Ok(p) = predict(model, &merged, m) {
            if p.len() == merged.len() {
                let mut start = 0;
                for (job, t) in ready {
                    let _ = job.reply.send(Ok(body(model, &p, start..start + t.len())));
                    start += t.len();
                }
                return;
            }
        }
        // A bad value in one request fails the whole call: answer each on its own, so
        // only that request gets the error.
    }
    for (job, t) in ready {
        let reply = predict(model, &t, m).map(|p| body(model, &p, 0..p.len()));
        let _ = job.reply.send(reply);
    }
}

/// The request's body as a table ready for the model.
fn prepare(model: &LoadedModel, body: &[u8], max_records: usize) -> Result<Table, ApiError> {
    let records = request::parse_records(body, max_records)?;
    request::to_table(model, &records)
}

fn predict(model: &LoadedModel, table: &Table, m: &Metrics) -> Result<Predictions, ApiError> {
    match catch_unwind(AssertUnwindSafe(|| model.model.predict(table, false))) {
        Ok(Ok(p)) => {
            m.batch(&model.name, table.len());
            Ok(p)
        }
        Ok(Err(e)) => Err(ApiError::from_prediction(e)),
        Err(p) => {
            m.panic();
            Err(ApiError::internal(format!(
                "panic during inference with model `{}`: {}",
                model.name,
                panic_message(&*p)
            )))
        }
    }
}

pub(crate) fn panic_message(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// The tables' rows in order, columns the union of theirs.
fn concat<'a>(tables: impl Iterator<Item = &'a Table>) -> Table {
    let mut out = Table {
        source: "request".into(),
        ..Table::default()
    };
    let mut index: HashMap<String, usize> = HashMap::new();
    for t in tables {
        let map: Vec<usize> = t
            .columns
            .iter()
            .map(|c| {
                *index.entry(c.clone()).or_insert_with(|| {
                    out.columns.push(c.clone());
                    for r in out.rows.iter_mut() {
                        r.push(Value::Missing);
                    }
                    out.columns.len() - 1
                })
            })
            .collect();
        for r in &t.rows {
            let mut row = vec![Value::Missing; out.columns.len()];
            for (v, &j) in r.iter().zip(&map) {
                row[j] = v.clone();
            }
            out.rows.push(row);
            out.lines.push(out.lines.len() as u64 + 1);
        }
    }
    out
}

/// `{"model", "version", "predictions": [...]}` for the rows `range` of `p`.
fn body(model: &LoadedModel, p: &Predictions, range: Range<usize>) -> Vec<u8> {
    let preds: Vec<Json> = range.map(|i| p.json(i)).collect();
    let doc = json!({ "model": model.name, "version": model.version, "predictions": preds });
    doc.to_string().into_bytes()
}
