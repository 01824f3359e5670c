//! Counters and histograms, written in the Prometheus text format by `GET /metrics`.
//! Kept by hand (a few mutex-guarded maps) rather than through a metrics crate: the set
//! is small and fixed.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::registry::Registry;

/// Request latency bucket bounds, seconds.
const LATENCY_BOUNDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];
/// Records-per-inference-call bucket bounds.
const BATCH_BOUNDS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 1024.0];

#[derive(Clone, Debug)]
struct Histogram {
    bounds: &'static [f64],
    /// Per bucket (not cumulative); the last is +Inf.
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
            count: 0,
        }
    }

    fn observe(&mut self, v: f64) {
        let i = self.bounds.partition_point(|&b| b < v);
        self.counts[i] += 1;
        self.sum += v;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cum = 0;
        for (i, c) in self.counts.iter().enumerate() {
            cum += c;
            let le = match self.bounds.get(i) {
                Some(b) => format!("{b}"),
                None => "+Inf".to_string(),
            };
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cum}");
        }
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// Everything `/metrics` reports.
#[derive(Debug)]
pub struct Metrics {
    /// (method, route, status) → count.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    /// route → latency histogram.
    latency: Mutex<BTreeMap<String, Histogram>>,
    /// error code → count.
    errors: Mutex<BTreeMap<&'static str, u64>>,
    /// model → records predicted.
    predictions: Mutex<BTreeMap<String, u64>>,
    /// (model, result) → count.
    reloads: Mutex<BTreeMap<(String, &'static str), u64>>,
    batch_sizes: Mutex<Histogram>,
    panics: AtomicU64,
    in_flight: AtomicI64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: Default::default(),
            latency: Default::default(),
            errors: Default::default(),
            predictions: Default::default(),
            reloads: Default::default(),
            batch_sizes: Mutex::new(Histogram::new(BATCH_BOUNDS)),
            panics: AtomicU64::new(0),
            in_flight: AtomicI64::new(0),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A label value with `\`, `"` and newlines escaped.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// One answered request.
    pub fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        *lock(&self.requests)
            .entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
        lock(&self.latency)
            .entry(route.to_string())
            .or_insert_with(|| Histogram::new(LATENCY_BOUNDS))
            .observe(seconds);
    }

    pub fn error(&self, code: &'static str) {
        *lock(&self.errors).entry(code).or_default() += 1;
    }

    /// One inference call of `rows` records.
    pub fn batch(&self, model: &str, rows: usize) {
        lock(&self.batch_sizes).observe(rows as f64);
        *lock(&self.predictions)
            .entry(model.to_string())
            .or_default() += rows as u64;
    }

    pub fn reload(&self, model: &str, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        *lock(&self.reloads)
            .entry((model.to_string(), result))
            .or_default() += 1;
    }

    pub fn panic(&self) {
        self.panics.fetch_add(1, Ordering::Relaxed);
    }

    pub fn enter(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests being handled now.
    pub fn in_flight(&self) -> i64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub fn leave(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self, registry: &Registry) -> String {
        let mut o = String::new();
        let head = |o: &mut String, name: &str, kind: &str, help: &str| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        head(
            &mut o,
            "zhixing_http_requests_total",
            "counter",
            "HTTP requests answered, by method, route and status.",
        );
        for ((m, r, s), n) in lock(&self.requests).iter() {
            let _ = writeln!(
                o,
                "zhixing_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{s}\"}} {n}",
                esc(m),
                esc(r)
            );
        }
        head(
            &mut o,
            "zhixing_http_request_duration_seconds",
            "histogram",
            "Time from request to response, by route.",
        );
        for (r, h) in lock(&self.latency).iter() {
            let labels = format!("route=\"{}\"", esc(r));
            h.render(&mut o, "zhixing_http_request_duration_seconds", &labels);
        }
        head(
            &mut o,
            "zhixing_http_errors_total",
            "counter",
            "Error responses, by error code.",
        );
        for (c, n) in lock(&self.errors).iter() {
            let _ = writeln!(o, "zhixing_http_errors_total{{code=\"{c}\"}} {n}");
        }
        head(
            &mut o,
            "zhixing_predictions_total",
            "counter",
            "Records predicted (successful calls), by model.",
        );
        for (m, n) in lock(&self.predictions).iter() {
            let _ = writeln!(o, "zhixing_predictions_total{{model=\"{}\"}} {n}", esc(m));
        }
        head(
            &mut o,
            "zhixing_inference_batch_records",
            "histogram",
            "Records per successful inference call (requests arriving together are batched).",
        );
        lock(&self.batch_sizes).render(&mut o, "zhixing_inference_batch_records", "");
        head(
            &mut o,
            "zhixing_model_reloads_total",
            "counter",
            "Model reloads, by model and result.",
        );
        for ((m, r), n) in lock(&self.reloads).iter() {
            let _ = writeln!(
                o,
                "zhixing_model_reloads_total{{model=\"{}\",result=\"{r}\"}} {n}",
                esc(m)
            );
        }
        head(
            &mut o,
            "zhixing_model_version",
            "gauge",
            "The version now served (1 at start, +1 per reload).",
        );
        for slot in registry.slots() {
            let v = slot.current().version;
            let _ = writeln!(
                o,
                "zhixing_model_version{{model=\"{}\"}} {v}",
                esc(&slot.name)
            );
        }
        head(
            &mut o,
            "zhixing_inference_panics_total",
            "counter",
            "Panics caught during inference.",
        );
        let _ = writeln!(
            o,
            "zhixing_inference_panics_total {}",
            self.panics.load(Ordering::Relaxed)
        );
        head(
            &mut o,
            "zhixing_http_requests_in_flight",
            "gauge",
            "Requests being handled now.",
        );
        let _ = writeln!(
            o,
            "zhixing_http_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_in_the_text() {
        let mut h = Histogram::new(&[1.0, 2.0]);
        for v in [0.5, 1.0, 1.5, 3.0] {
            h.observe(v);
        }
        let mut out = String::new();
        h.render(&mut out, "x", "r=\"a\"");
        assert_eq!(
            out,
            "x_bucket{r=\"a\",le=\"1\"} 2\nx_bucket{r=\"a\",le=\"2\"} 3\n\
             x_bucket{r=\"a\",le=\"+Inf\"} 4\nx_sum{r=\"a\"} 6\nx_count{r=\"a\"} 4\n"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(esc("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
