//! Every endpoint and every bad-input case against a server on a loopback port.

mod common;

use common::*;
use serde_json::{json, Value as Json};
use zhixing_serve::ServeConfig;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_describe_and_predict() {
    let dir = tempfile::tempdir().unwrap();
    let table = iris();
    let model = train(&table, None);
    let server = serve_files(dir.path(), &[("iris", &model)], config()).await;
    let mut c = client(&server).await;

    let r = c.get("/healthz").await.unwrap();
    assert_eq!((r.status, r.json()), (200, json!({"status": "ok"})));
    let r = c.get("/readyz").await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["models"], json!([{"name": "iris", "version": 1}]));

    let r = c.get("/v1/models").await.unwrap();
    assert_eq!(r.status, 200);
    let list = r.json();
    assert_eq!(list["models"].as_array().unwrap().len(), 1);
    let r = c.get("/v1/models/iris").await.unwrap();
    assert_eq!(r.status, 200);
    let d = r.json();
    assert_eq!(d, list["models"][0]);
    assert_eq!(d["name"], "iris");
    assert_eq!(d["version"], 1);
    assert_eq!(d["task"], "multiclass_classification");
    assert_eq!(d["target"], "species");
    assert_eq!(d["estimator"], "logistic");
    assert_eq!(d["classes"], json!(["setosa", "versicolor", "virginica"]));
    let inputs: Vec<(String, String)> = d["schema"]["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().into(),
                i["type"].as_str().unwrap().into(),
            )
        })
        .collect();
    let numeric = |n: &str| (n.to_string(), "numeric".to_string());
    assert_eq!(
        inputs,
        vec![
            numeric("sepal_length"),
            numeric("sepal_width"),
            numeric("petal_length"),
            numeric("petal_width")
        ]
    );
    assert_eq!(
        d["metrics"],
        serde_json::to_value(&model.info.metrics).unwrap()
    );
    assert!(d["metrics"]["test"]["accuracy"].as_f64().unwrap() > 0.8);
    assert_eq!(d["sha256"].as_str().unwrap().len(), 64);

    // One record (an object): one prediction, equal to TabularModel::predict.
    let r = c
        .post(
            "/v1/models/iris/predict",
            record(&table, 0, &["species"]).to_string().as_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(body["model"], "iris");
    assert_eq!(body["version"], 1);
    let want = expected(&model, &table, &[0]);
    assert_eq!(body["predictions"].as_array().unwrap().len(), 1);
    assert_same_prediction(&body["predictions"][0], &want[0]);

    // A list: predictions in order. The target field is accepted and ignored.
    let rows: Vec<usize> = (0..150).step_by(7).collect();
    let records: Vec<Json> = rows.iter().map(|&i| record(&table, i, &[])).collect();
    let r = c
        .post(
            "/v1/models/iris/predict",
            Json::Array(records).to_string().as_bytes(),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let got = r.json()["predictions"].as_array().unwrap().clone();
    let want = expected(&model, &table, &rows);
    assert_eq!(got.len(), rows.len());
    for (g, w) in got.iter().zip(&want) {
        assert_same_prediction(g, w);
    }

    // Unknown extra fields are ignored (as predict on a file does); null is imputed.
    let mut rec = record(&table, 100, &["species"]);
    rec["note"] = json!("extra");
    rec["user"] = json!({"nested": [1, 2]});
    let r = c
        .post("/v1/models/iris/predict", rec.to_string().as_bytes())
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_same_prediction(
        &r.json()["predictions"][0],
        &expected(&model, &table, &[100])[0],
    );
    let mut rec = record(&table, 100, &["species"]);
    rec["sepal_width"] = Json::Null;
    let r = c
        .post("/v1/models/iris/predict", rec.to_string().as_bytes())
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());

    server
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_get_4xx_json_errors_and_the_server_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let table = iris();
    let model = train(&table, None);
    let cfg = ServeConfig {
        max_body_bytes: 16 * 1024,
        max_records: 50,
        ..config()
    };
    let server = serve_files(dir.path(), &[("iris", &model)], cfg).await;
    let mut c = client(&server).await;
    let good = record(&table, 0, &["species"]);
    let predict = "/v1/models/iris/predict";

    let r = c.post(predict, b"{\"sepal_length\": 5.1,").await.unwrap();
    let e = assert_error(&r, 400, "malformed_json");
    assert_eq!(e["field"], Json::Null);
    assert!(e["message"].as_str().unwrap().contains("column"));
    assert_error(&c.post(predict, b"").await.unwrap(), 400, "empty_body");
    assert_error(
        &c.post(predict, b"\"iris\"").await.unwrap(),
        400,
        "invalid_body",
    );
    assert_error(&c.post(predict, b"[]").await.unwrap(), 400, "no_records");
    let r = c
        .post(predict, format!("[{good}, 7]").as_bytes())
        .await
        .unwrap();
    let e = assert_error(&r, 400, "invalid_record");
    assert_eq!(e["record"], 1);

    // A missing field names it, and which record lacks it.
    let mut rec = good.clone();
    rec.as_object_mut().unwrap().remove("petal_width");
    let r = c
        .post(predict, json!([good, rec]).to_string().as_bytes())
        .await
        .unwrap();
    let e = assert_error(&r, 400, "missing_field");
    assert_eq!(
        (e["field"].clone(), e["record"].clone()),
        (json!("petal_width"), json!(1))
    );

    // A wrong type names the field.
    let mut rec = good.clone();
    rec["sepal_length"] = json!("five");
    let r = c
        .post(predict, json!([good, good, rec]).to_string().as_bytes())
        .await
        .unwrap();
    let e = assert_error(&r, 400, "invalid_value");
    assert_eq!(
        (e["field"].clone(), e["record"].clone()),
        (json!("sepal_length"), json!(2))
    );
    assert!(
        e["message"].as_str().unwrap().contains("expected a number"),
        "{e}"
    );
    let mut rec = good.clone();
    rec["petal_length"] = json!(true);
    let e = assert_error(
        &c.post(predict, rec.to_string().as_bytes()).await.unwrap(),
        400,
        "invalid_value",
    );
    assert_eq!(e["field"], "petal_length");
    // A number too large for the model's f32 inputs once scaled.
    let mut rec = good.clone();
    rec["sepal_width"] = json!(1e308);
    let e = assert_error(
        &c.post(predict, rec.to_string().as_bytes()).await.unwrap(),
        400,
        "invalid_value",
    );
    assert_eq!(e["field"], "sepal_width");

    // Unknown model, oversized body, too many records, deep nesting.
    let r = c
        .post("/v1/models/nope/predict", good.to_string().as_bytes())
        .await
        .unwrap();
    let e = assert_error(&r, 404, "unknown_model");
    assert!(e["message"].as_str().unwrap().contains("iris"));
    assert_error(
        &c.get("/v1/models/nope").await.unwrap(),
        404,
        "unknown_model",
    );
    let big = json!(vec![good.clone(); 1000]).to_string();
    assert!(big.len() > 16 * 1024);
    let r = c.post(predict, big.as_bytes()).await.unwrap();
    assert_error(&r, 413, "body_too_large");
    let many = json!(vec![good.clone(); 51]).to_string();
    assert!(many.len() < 16 * 1024);
    assert_error(
        &c.post(predict, many.as_bytes()).await.unwrap(),
        413,
        "too_many_records",
    );
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    assert_error(
        &c.post(predict, deep.as_bytes()).await.unwrap(),
        400,
        "malformed_json",
    );
    let deep_obj = format!("{}1{}", "{\"a\":".repeat(200), "}".repeat(200));
    assert_error(
        &c.post(predict, deep_obj.as_bytes()).await.unwrap(),
        400,
        "malformed_json",
    );

    // Routes and methods.
    assert_error(&c.get("/v2/nothing").await.unwrap(), 404, "not_found");
    assert_error(&c.get(predict).await.unwrap(), 405, "method_not_allowed");
    assert_error(
        &c.post("/v1/models", b"{}").await.unwrap(),
        405,
        "method_not_allowed",
    );

    // Still up, still right; the errors were counted by code.
    let r = c.post(predict, good.to_string().as_bytes()).await.unwrap();
    assert_eq!(r.status, 200);
    assert_same_prediction(
        &r.json()["predictions"][0],
        &expected(&model, &table, &[0])[0],
    );
    let m = c.get("/metrics").await.unwrap().text();
    for (code, n) in [
        ("malformed_json", 3.0),
        ("missing_field", 1.0),
        ("invalid_value", 3.0),
        ("unknown_model", 2.0),
        ("body_too_large", 1.0),
        ("method_not_allowed", 2.0),
    ] {
        let series = format!("zhixing_http_errors_total{{code=\"{code}\"}}");
        assert_eq!(metric(&m, &series), n, "{series}\n{m}");
    }
    server
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_latency_and_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let table = iris();
    let model = train(&table, None);
    let server = serve_files(dir.path(), &[("iris", &model)], config()).await;
    let mut c = client(&server).await;
    let ok = "zhixing_http_requests_total{method=\"POST\",route=\"/v1/models/{name}/predict\",status=\"200\"}";
    let bad = "zhixing_http_requests_total{method=\"POST\",route=\"/v1/models/{name}/predict\",status=\"400\"}";
    let hist = "zhixing_http_request_duration_seconds_count{route=\"/v1/models/{name}/predict\"}";
    let preds = "zhixing_predictions_total{model=\"iris\"}";

    let before = c.get("/metrics").await.unwrap();
    assert_eq!(before.status, 200);
    assert!(before
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    let before = before.text();
    assert!(before.contains("# TYPE zhixing_http_request_duration_seconds histogram"));
    assert_eq!(metric(&before, ok), 0.0);

    let rec = json!([record(&table, 3, &[]), record(&table, 60, &[])]).to_string();
    for _ in 0..5 {
        let r = c
            .post("/v1/models/iris/predict", rec.as_bytes())
            .await
            .unwrap();
        assert_eq!(r.status, 200);
    }
    let r = c.post("/v1/models/iris/predict", b"{").await.unwrap();
    assert_eq!(r.status, 400);

    let after = c.get("/metrics").await.unwrap().text();
    assert_eq!(metric(&after, ok), 5.0, "{after}");
    assert_eq!(metric(&after, bad), 1.0);
    assert_eq!(metric(&after, hist), 6.0);
    assert_eq!(metric(&after, preds), 10.0);
    let inf = "zhixing_http_request_duration_seconds_bucket{route=\"/v1/models/{name}/predict\",le=\"+Inf\"}";
    assert_eq!(metric(&after, inf), 6.0);
    assert_eq!(metric(&after, "zhixing_model_version{model=\"iris\"}"), 1.0);
    // The /metrics request before counts as a GET.
    let get = "zhixing_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"200\"}";
    assert_eq!(metric(&after, get), 1.0);
    server
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_not_answered_in_time_gets_503_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let model = train(&iris(), None);
    let cfg = ServeConfig {
        timeout: std::time::Duration::from_millis(200),
        ..config()
    };
    let server = serve_files(dir.path(), &[("iris", &model)], cfg).await;
    // A body promised but never sent: the handler waits for it until the deadline.
    let mut c = client(&server).await;
    let r = c
        .send_raw(b"POST /v1/models/iris/predict HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{\"a\"")
        .await
        .unwrap();
    assert_error(&r, 503, "timeout");
    // The server is fine afterwards.
    let mut c = client(&server).await;
    assert_eq!(c.get("/healthz").await.unwrap().status, 200);
    let m = c.get("/metrics").await.unwrap().text();
    assert_eq!(
        metric(&m, "zhixing_http_errors_total{code=\"timeout\"}"),
        1.0
    );
    server
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
}
