//! The routes and their handlers, and the middleware that times, limits, counts and
//! logs every request (one log line each).

use std::any::Any;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Request, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value as Json};
use tokio::sync::oneshot;
use tower_http::catch_panic::CatchPanicLayer;

use crate::batcher::{panic_message, Job};
use crate::error::{ApiError, ErrorCode};
use crate::registry::ModelSlot;
use crate::server::App;

/// The service's routes over `app`.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/models", get(list_models))
        .route("/v1/models/{name}", get(get_model))
        .route("/v1/models/{name}/predict", post(predict))
        .route("/v1/models/{name}/reload", post(reload))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(app.config.max_body_bytes))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn_with_state(app.clone(), observe))
        .with_state(app)
}

/// Leaves the in-flight gauge however the request ends (a client may hang up).
struct InFlight<'a>(&'a App);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.metrics.leave();
    }
}

/// Times out, counts and logs one request.
async fn observe(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    app.metrics.enter();
    let in_flight = InFlight(&app);
    let timeout = app.config.timeout;
    let resp = match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("no answer within {} ms", timeout.as_millis()),
        )
        .into_response(),
    };
    drop(in_flight);
    let secs = start.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    let code = resp.extensions().get::<ErrorCode>().map(|c| c.0);
    if let Some(c) = code {
        app.metrics.error(c);
    }
    app.metrics.request(method.as_str(), &route, status, secs);
    tracing::info!(
        method = %method,
        path = %path,
        status,
        latency_ms = secs * 1e3,
        error = code.unwrap_or("-"),
        "request"
    );
    resp
}

fn panic_response(p: Box<dyn Any + Send + 'static>) -> Response {
    ApiError::internal(format!("panic in a handler: {}", panic_message(&*p))).into_response()
}

fn json_response(status: StatusCode, body: impl Into<axum::body::Body>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.into(),
    )
        .into_response()
}

fn ok_json(v: Json) -> Response {
    json_response(StatusCode::OK, v.to_string())
}

async fn healthz() -> Response {
    ok_json(json!({ "status": "ok" }))
}

async fn readyz(State(app): State<Arc<App>>) -> Response {
    if !app.ready.load(Ordering::Acquire) || app.registry.is_empty() {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "the server is starting or shutting down",
        )
        .into_response();
    }
    let models: Vec<Json> = app
        .registry
        .slots()
        .map(|s| json!({ "name": s.name, "version": s.current().version }))
        .collect();
    ok_json(json!({ "status": "ready", "models": models }))
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(&app.registry),
    )
        .into_response()
}

async fn list_models(State(app): State<Arc<App>>) -> Response {
    let models: Vec<Json> = app
        .registry
        .slots()
        .map(|s| s.current().describe(s.path.as_deref()))
        .collect();
    ok_json(json!({ "models": models }))
}

fn slot(app: &App, path: Result<Path<String>, PathRejection>) -> Result<&ModelSlot, ApiError> {
    let Path(name) = path.map_err(|e| ApiError::bad_request("invalid_path", e.body_text()))?;
    app.registry
        .get(&name)
        .ok_or_else(|| ApiError::unknown_model(&name, &app.registry.names()))
}

async fn get_model(
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let s = slot(&app, path)?;
    Ok(ok_json(s.current().describe(s.path.as_deref())))
}

async fn predict(
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let s = slot(&app, path)?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!(
                    "the body is over the limit of {} bytes: send fewer records per request",
                    app.config.max_body_bytes
                ),
            )
        } else {
            ApiError::bad_request("invalid_body", e.body_text())
        }
    })?;
    // Parsing, like inference, happens on the worker pool: the reactor only moves bytes.
    let (tx, rx) = oneshot::channel();
    app.pool.submit(Job {
        model: s.current(),
        body,
        reply: tx,
        arrival: app.pool.arrival(),
    })?;
    match rx.await {
        Ok(Ok(bytes)) => Ok(json_response(StatusCode::OK, bytes)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(ApiError::internal(
            "an inference worker dropped the request",
        )),
    }
}

async fn reload(
    State(app): State<Arc<App>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let name = slot(&app, path)?.name.clone();
    let previous = app.registry.get(&name).map(|s| s.current().version);
    let app2 = app.clone();
    let name2 = name.clone();
    let res = tokio::task::spawn_blocking(move || match app2.registry.get(&name2) {
        Some(s) => s.reload(),
        None => Err(ApiError::unknown_model(&name2, &[])),
    })
    .await
    .map_err(|e| ApiError::internal(format!("the reload task failed: {e}")))?;
    app.metrics.reload(&name, res.is_ok());
    let loaded = res?;
    Ok(ok_json(json!({
        "model": name,
        "version": loaded.version,
        "previous_version": previous,
        "sha256": loaded.sha256,
    })))
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no route for {method} {}: the endpoints are GET /healthz, GET /readyz, GET /metrics, \
             GET /v1/models, GET /v1/models/NAME, POST /v1/models/NAME/predict, \
             POST /v1/models/NAME/reload",
            uri.path()
        ),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}
