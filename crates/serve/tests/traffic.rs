//! Concurrent requests, a reload during traffic, a panic inside inference, and a
//! graceful shutdown with a request in flight.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::{json, Value as Json};
use tokio::io::AsyncWriteExt;
use zhixing_data::records::{Table, Value};
use zhixing_ml::estimator::{Estimator, EstimatorKind, Parts};
use zhixing_ml::model::TabularModel;
use zhixing_serve::{Registry, Server};
use zhixing_tensor::Tensor;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_each_get_their_own_answer() {
    let dir = tempfile::tempdir().unwrap();
    let table = iris();
    let model = train(&table, None);
    let server = serve_files(dir.path(), &[("iris", &model)], config()).await;
    let all: Vec<usize> = (0..table.len()).collect();
    let want = Arc::new(expected(&model, &table, &all));
    let table = Arc::new(table);
    let mut tasks = Vec::new();
    for t in 0..32usize {
        let (want, table, addr) = (want.clone(), table.clone(), server.addr());
        tasks.push(tokio::spawn(async move {
            let mut c = zhixing_serve::client::Client::connect(addr).await.unwrap();
            for k in 0..15usize {
                let i = (t * 15 + k) % table.len();
                // Every 5th request of every 4th task is bad: it must fail alone.
                if t % 4 == 0 && k % 5 == 0 {
                    let mut rec = record(&table, i, &["species"]);
                    rec["petal_length"] = json!("long");
                    let r = c
                        .post("/v1/models/iris/predict", rec.to_string().as_bytes())
                        .await
                        .unwrap();
                    assert_eq!(r.status, 400, "{}", r.text());
                    assert_eq!(r.json()["error"]["field"], "petal_length");
                    continue;
                }
                let body = if k % 3 == 0 {
                    json!([
                        record(&table, i, &["species"]),
                        record(&table, (i + 1) % 150, &["species"])
                    ])
                } else {
                    record(&table, i, &["species"])
                };
                let r = c
                    .post("/v1/models/iris/predict", body.to_string().as_bytes())
                    .await
                    .unwrap();
                assert_eq!(r.status, 200, "{}", r.text());
                let got = r.json()["predictions"].as_array().unwrap().clone();
                assert_same_prediction(&got[0], &want[i]);
                if k % 3 == 0 {
                    assert_same_prediction(&got[1], &want[(i + 1) % 150]);
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut c = client(&server).await;
    let m = c.get("/metrics").await.unwrap().text();
    let ok = "zhixing_http_requests_total{method=\"POST\",route=\"/v1/models/{name}/predict\",status=\"200\"}";
    assert_eq!(metric(&m, ok), (32 * 15 - 8 * 3) as f64);
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// Iris with the labels rotated, so a model trained on it answers differently.
fn rotated(table: &Table) -> Table {
    let mut t = table.clone();
    let j = t.column_index("species").unwrap();
    for r in t.rows.iter_mut() {
        let next = match &r[j] {
            Value::String(s) if s == "setosa" => "versicolor",
            Value::String(s) if s == "versicolor" => "virginica",
            _ => "setosa",
        };
        r[j] = Value::String(next.into());
    }
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_during_traffic_is_atomic_and_a_failed_reload_keeps_the_old_model() {
    let dir = tempfile::tempdir().unwrap();
    let table = iris();
    let (a, b) = (train(&table, None), train(&rotated(&table), None));
    let row = 10;
    let (want_a, want_b) = (expected(&a, &table, &[row]), expected(&b, &table, &[row]));
    assert_ne!(want_a[0]["prediction"], want_b[0]["prediction"]);
    let server = serve_files(dir.path(), &[("iris", &a)], config()).await;
    let path = dir.path().join("iris.zxm");
    let body = Arc::new(record(&table, row, &["species"]).to_string());

    let answered = Arc::new(AtomicUsize::new(0));
    let reloaded = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (body, answered, reloaded) = (body.clone(), answered.clone(), reloaded.clone());
        let (want_a, want_b, addr) = (want_a[0].clone(), want_b[0].clone(), server.addr());
        tasks.push(tokio::spawn(async move {
            let mut c = zhixing_serve::client::Client::connect(addr).await.unwrap();
            let (mut last, mut after) = (0, 0);
            // Run until 30 requests were sent after the reload was answered.
            while after < 30 {
                let sent_after_reload = reloaded.load(Ordering::SeqCst);
                let r = c
                    .post("/v1/models/iris/predict", body.as_bytes())
                    .await
                    .unwrap();
                assert_eq!(r.status, 200, "{}", r.text());
                let j = r.json();
                let v = j["version"].as_u64().unwrap();
                match v {
                    1 => assert_same_prediction(&j["predictions"][0], &want_a),
                    2 => assert_same_prediction(&j["predictions"][0], &want_b),
                    other => panic!("version {other}"),
                }
                assert!(v >= last, "versions went back: {last} then {v}");
                last = v;
                if sent_after_reload {
                    assert_eq!(v, 2, "a request sent after the reload saw the old model");
                    after += 1;
                }
                answered.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    while answered.load(Ordering::SeqCst) < 40 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // Replace the file atomically, then reload.
    let tmp = dir.path().join("next.zxm");
    b.save(&tmp).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    let mut c = client(&server).await;
    let r = c.post("/v1/models/iris/reload", b"").await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        (
            r.json()["version"].clone(),
            r.json()["previous_version"].clone()
        ),
        (json!(2), json!(1))
    );
    reloaded.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await.unwrap();
    }

    // A damaged file, then a missing one: 500 reload_failed, version 2 still served.
    std::fs::write(&path, b"not a model").unwrap();
    let r = c.post("/v1/models/iris/reload", b"").await.unwrap();
    let e = assert_error(&r, 500, "reload_failed");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("not a zhixing model"),
        "{e}"
    );
    std::fs::remove_file(&path).unwrap();
    assert_error(
        &c.post("/v1/models/iris/reload", b"").await.unwrap(),
        500,
        "reload_failed",
    );
    assert_error(
        &c.post("/v1/models/nope/reload", b"").await.unwrap(),
        404,
        "unknown_model",
    );
    let r = c
        .post("/v1/models/iris/predict", body.as_bytes())
        .await
        .unwrap();
    assert_eq!(r.json()["version"], 2);
    assert_same_prediction(&r.json()["predictions"][0], &want_b[0]);
    assert_eq!(c.get("/v1/models/iris").await.unwrap().json()["version"], 2);
    let m = c.get("/metrics").await.unwrap().text();
    assert_eq!(
        metric(
            &m,
            "zhixing_model_reloads_total{model=\"iris\",result=\"ok\"}"
        ),
        1.0
    );
    assert_eq!(
        metric(
            &m,
            "zhixing_model_reloads_total{model=\"iris\",result=\"error\"}"
        ),
        2.0
    );
    assert_eq!(metric(&m, "zhixing_model_version{model=\"iris\"}"), 2.0);
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

/// Delegates to a real estimator but panics on a feature above 1e6.
struct PanicsOnHuge(Box<dyn Estimator>);

impl PanicsOnHuge {
    fn check(x: &Tensor) {
        let (v, _, _) = zhixing_ml::estimator::matrix(x, "test").unwrap();
        if v.iter().any(|&z| z > 1e6) {
            panic!("huge feature");
        }
    }
}

impl Estimator for PanicsOnHuge {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn kind(&self) -> EstimatorKind {
        self.0.kind()
    }
    fn fit(&mut self, x: &Tensor, y: &Tensor) -> zhixing_ml::Result<()> {
        self.0.fit(x, y)
    }
    fn predict(&self, x: &Tensor) -> zhixing_ml::Result<Tensor> {
        Self::check(x);
        self.0.predict(x)
    }
    fn predict_proba(&self, x: &Tensor) -> zhixing_ml::Result<Option<Tensor>> {
        self.0.predict_proba(x)
    }
    fn to_parts(&self) -> zhixing_ml::Result<Parts> {
        self.0.to_parts()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_inference_fails_only_its_request() {
    let table = iris();
    let good_model = train(&table, None);
    let TabularModel {
        info,
        transform,
        estimator,
    } = train(&table, None);
    let panicky = TabularModel {
        info,
        transform,
        estimator: Box::new(PanicsOnHuge(estimator)),
    };
    let registry = Registry::from_models(vec![("iris".into(), panicky)]).unwrap();
    let server = Server::start(registry, config()).await.unwrap();
    let mut c = client(&server).await;
    let good = record(&table, 120, &["species"]);
    let mut huge = good.clone();
    huge["sepal_length"] = json!(1e12);

    let r = c
        .post("/v1/models/iris/predict", huge.to_string().as_bytes())
        .await
        .unwrap();
    let e = assert_error(&r, 500, "internal");
    assert!(
        !e["message"].as_str().unwrap().contains("huge"),
        "the cause is logged, not sent"
    );
    let r = c
        .post("/v1/models/iris/predict", good.to_string().as_bytes())
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_same_prediction(
        &r.json()["predictions"][0],
        &expected(&good_model, &table, &[120])[0],
    );

    // Mixed with good requests: only the panicking one fails, whatever the batching.
    let mut tasks = Vec::new();
    for t in 0..16 {
        let body = if t == 5 {
            huge.to_string()
        } else {
            good.to_string()
        };
        let addr = server.addr();
        tasks.push(tokio::spawn(async move {
            let mut c = zhixing_serve::client::Client::connect(addr).await.unwrap();
            c.post("/v1/models/iris/predict", body.as_bytes())
                .await
                .unwrap()
                .status
        }));
    }
    for (t, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap(), if t == 5 { 500 } else { 200 });
    }
    let m = c.get("/metrics").await.unwrap().text();
    assert!(metric(&m, "zhixing_inference_panics_total") >= 2.0, "{m}");
    assert_eq!(c.get("/healthz").await.unwrap().status, 200);
    // A model given in memory has no file to reload.
    assert_error(
        &c.post("/v1/models/iris/reload", b"").await.unwrap(),
        409,
        "not_reloadable",
    );
    server.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_answers_the_request_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let table = iris();
    let model = train(&table, None);
    let server = serve_files(dir.path(), &[("iris", &model)], config()).await;
    let addr = server.addr();
    let app = server.app().clone();
    let records: Vec<Json> = (0..150).map(|i| record(&table, i, &["species"])).collect();
    let body = Json::Array(records).to_string();
    let (head, tail) = body.as_bytes().split_at(body.len() / 2);

    // Send the head and half the body: the request is in flight, waiting for the rest.
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST /v1/models/iris/predict HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(head).await.unwrap();
    while app.metrics.in_flight() < 1 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let stopping = tokio::spawn(server.shutdown(Duration::from_secs(20)));
    while app.ready.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    s.write_all(tail).await.unwrap();
    let mut raw = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut s, &mut raw)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let json_start = text.find("{\"model\"").unwrap();
    let resp: Json = serde_json::from_str(&text[json_start..]).unwrap();
    assert_eq!(resp["predictions"].as_array().unwrap().len(), 150);
    stopping.await.unwrap().unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting"
    );
}
