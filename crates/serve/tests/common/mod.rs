//! Shared by the integration tests: an Iris model trained in the test, its records as
//! JSON, and a server on a loopback port.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Map, Value as Json};
use zhixing_data::records::{read_table, ReadOptions, Table, Value};
use zhixing_ml::model::{ModelConfig, TabularModel, TrainConfig, TrainOptions};
use zhixing_serve::client::{Client, Response};
use zhixing_serve::{ModelSpec, Registry, ServeConfig, Server};

pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(name)
}

pub fn iris() -> Table {
    read_table(data("iris.csv"), &ReadOptions::default()).unwrap()
}

/// Trains on `table` (target `species`) with `model` (default: logistic).
pub fn train(table: &Table, model: Option<&str>) -> TabularModel {
    let mut config = TrainConfig::default();
    config.data.target = Some("species".into());
    config.model = model.map(|m| ModelConfig::by_name(m).unwrap());
    TabularModel::train(table, &config, &TrainOptions::default())
        .unwrap()
        .model
}

/// Row `i` of `table` as a JSON record (without the columns in `skip`).
pub fn record(table: &Table, i: usize, skip: &[&str]) -> Json {
    let mut m = Map::new();
    for (c, v) in table.columns.iter().zip(&table.rows[i]) {
        if skip.contains(&c.as_str()) {
            continue;
        }
        let j = match v {
            Value::Number(x) => json!(x),
            Value::String(s) => json!(s),
            Value::Bool(b) => json!(b),
            Value::Null | Value::Missing => Json::Null,
        };
        m.insert(c.clone(), j);
    }
    Json::Object(m)
}

/// What `TabularModel::predict` answers for rows `rows` of `table`, one JSON each.
pub fn expected(model: &TabularModel, table: &Table, rows: &[usize]) -> Vec<Json> {
    let p = model.predict(&table.select(rows), false).unwrap();
    (0..p.len()).map(|i| p.json(i)).collect()
}

/// Same label; probabilities equal to 1e-9 (a batched call may sum in another order).
pub fn assert_same_prediction(got: &Json, want: &Json) {
    assert_eq!(got["prediction"], want["prediction"], "{got} vs {want}");
    let (g, w) = (&got["probabilities"], &want["probabilities"]);
    let w = w.as_object().expect("probabilities");
    let g = g
        .as_object()
        .unwrap_or_else(|| panic!("no probabilities in {got}"));
    assert_eq!(g.len(), w.len());
    for (k, wv) in w {
        let (a, b) = (g[k].as_f64().unwrap(), wv.as_f64().unwrap());
        assert!((a - b).abs() < 1e-9, "{k}: {a} vs {b}");
    }
}

pub fn config() -> ServeConfig {
    ServeConfig {
        port: 0,
        workers: 2,
        timeout: Duration::from_secs(30),
        ..ServeConfig::default()
    }
}

/// Saves `model` as `dir/NAME.zxm` and serves it from that file.
pub async fn serve_files(dir: &Path, models: &[(&str, &TabularModel)], cfg: ServeConfig) -> Server {
    let mut specs = Vec::new();
    for (name, model) in models {
        let path = dir.join(format!("{name}.zxm"));
        model.save(&path).unwrap();
        specs.push(ModelSpec::parse(path.to_str().unwrap()).unwrap());
    }
    Server::start(Registry::load(&specs).unwrap(), cfg)
        .await
        .unwrap()
}

pub async fn client(server: &Server) -> Client {
    Client::connect(server.addr()).await.unwrap()
}

/// Asserts the status and the error body's code; returns the error object.
pub fn assert_error(resp: &Response, status: u16, code: &str) -> Json {
    let body = resp.json();
    assert_eq!(resp.status, status, "{}", resp.text());
    assert_eq!(resp.header("content-type"), Some("application/json"));
    let err = body["error"].clone();
    assert_eq!(err["code"], code, "{}", resp.text());
    assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(err.get("field").is_some(), "no field key: {}", resp.text());
    err
}

/// The value of the Prometheus sample whose line starts with `series` (0 when absent).
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            let rest = l.strip_prefix(series)?;
            rest.strip_prefix(' ')?.trim().parse::<f64>().ok()
        })
        .unwrap_or(0.0)
}
