//! The HTTP routes: a slow `/`, an instant `/healthz`, a paced `/download`, and the long-lived
//! streams: server-sent events (`/events`), a WebSocket (`/ws`) and the gRPC services
//! (`shutdown.v1.Probe`, and the standard `grpc.health.v1.Health`).

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http_body::{Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::config::{Config, parse_delay};
use crate::grpc::{self, Probe};
use crate::health::{self, Health};
use crate::log::{Log, LogLine};
use crate::query::BadRequest;
use crate::request_id::request_id;
use crate::state::AppState;
use crate::streams::Streams;
use crate::tracker::{TrackedBody, Tracker};
use crate::{sse, ws};

/// The largest `/download` body: enough to watch a transfer being cut, small enough to be harmless.
pub const MAX_DOWNLOAD_BYTES: u64 = 1 << 30;

/// The fastest `/download` rate, in bytes per second.
pub const MAX_DOWNLOAD_RATE: u64 = 1 << 30;

/// `/download` sends about this many chunks per second, so a cut transfer is visibly short.
const CHUNKS_PER_SECOND: u64 = 10;

const MAX_CHUNK: usize = 64 * 1024;
static FILLER: [u8; MAX_CHUNK] = [b'x'; MAX_CHUNK];

/// The server's routes, logging and counting requests as the configuration says.
pub fn app(config: &Config) -> Router {
    let log = Log::new(config.log_format);
    router(config, Tracker::default(), Streams::new(log))
}

/// The routes, counting requests in flight with `tracker` and long-lived streams with `streams`
/// (both shared with the shutdown logic). `Connection: close` during a drain is added per
/// connection ([`crate::connection`]).
pub(crate) fn router(config: &Config, tracker: Tracker, streams: Streams) -> Router {
    let state = AppState {
        delay: config.delay,
        log: Log::new(config.log_format),
        tracker,
        streams: streams.clone(),
    };
    // gRPC shares the port: its calls are HTTP/2 POSTs to `/shutdown.v1.Probe/<method>`, so
    // they are routed, logged, counted and drained like any other request.
    let grpc_path = format!("/{}/{{*method}}", server_contract::stream::GRPC_SERVICE);
    let health_path = format!(
        "/{}/{{*method}}",
        server_contract::stream::GRPC_HEALTH_SERVICE
    );
    let observed = Router::new()
        .route("/", get(slow_ok))
        .route("/download", get(download))
        .route(server_contract::stream::EVENTS_PATH, get(sse::events))
        .route(server_contract::stream::WS_PATH, get(ws::websocket))
        .route_service(&grpc_path, grpc::server(Probe::new(streams.clone())))
        .route_service(&health_path, health::server(Health::new(streams)))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), log_and_track));
    // Probes are neither logged nor counted: they would flood the log, and they are instant.
    Router::new()
        .route("/healthz", get(healthz))
        .merge(observed)
        .with_state(state)
}

/// Logs each request and its response, and counts it in flight until its body is sent.
async fn log_and_track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let in_flight = state.tracker.begin();
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let id = request_id(request.headers());
    state.log.emit(LogLine::RequestReceived {
        method: request.method().as_str().to_string(),
        path: path.to_string(),
        id,
    });
    let response = next.run(request).await;
    state.log.emit(LogLine::ResponseSent {
        status: response.status().as_u16(),
    });
    response.map(|body| Body::new(TrackedBody::new(body, in_flight)))
}

#[derive(serde::Deserialize)]
struct DelayQuery {
    delay: Option<String>,
}

/// `GET /`: waits the delay (the configured one or `?delay=`), then answers `OK`.
async fn slow_ok(
    State(state): State<AppState>,
    Query(query): Query<DelayQuery>,
) -> Result<&'static str, BadRequest> {
    let delay = match query.delay {
        Some(text) => parse_delay(&text).map_err(BadRequest)?,
        None => state.delay,
    };
    tokio::time::sleep(delay).await;
    Ok("OK\n")
}

async fn healthz() -> &'static str {
    "OK\n"
}

#[derive(serde::Deserialize)]
struct DownloadQuery {
    bytes: Option<String>,
    rate: Option<String>,
}

/// `GET /download?bytes=N&rate=R`: N bytes at about R bytes/s, with Content-Length.
async fn download(Query(query): Query<DownloadQuery>) -> Result<Response, BadRequest> {
    let bytes = bounded(query.bytes.as_deref(), "bytes", 0, MAX_DOWNLOAD_BYTES)?;
    let rate = bounded(query.rate.as_deref(), "rate", 1, MAX_DOWNLOAD_RATE)?;
    Ok(Body::new(Paced::new(bytes, rate)).into_response())
}

async fn not_found() -> (StatusCode, &'static str) {
    (StatusCode::NOT_FOUND, "not found\n")
}

fn bounded(text: Option<&str>, name: &str, min: u64, max: u64) -> Result<u64, BadRequest> {
    let text = text.ok_or_else(|| BadRequest(format!("missing query parameter {name}")))?;
    text.parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            BadRequest(format!(
                "{name}={text:?} must be a whole number from {min} to {max}"
            ))
        })
}

/// A body of `remaining` filler bytes sent in chunks paced to `rate` bytes per second.
struct Paced {
    remaining: u64,
    sent: u64,
    rate: u64,
    chunk: usize,
    start: Instant,
    wait: Pin<Box<Sleep>>,
}

impl Paced {
    fn new(bytes: u64, rate: u64) -> Self {
        let chunk = (rate / CHUNKS_PER_SECOND).clamp(1, MAX_CHUNK as u64) as usize;
        let start = Instant::now();
        Self {
            remaining: bytes,
            sent: 0,
            rate,
            chunk,
            start,
            wait: Box::pin(tokio::time::sleep_until(start)),
        }
    }
}

impl HttpBody for Paced {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        ready!(self.wait.as_mut().poll(cx));
        let len = self.chunk.min(self.remaining as usize);
        self.remaining -= len as u64;
        self.sent += len as u64;
        // Pace against the start rather than the last chunk, so timer granularity does not add up.
        let due = self.start + Duration::from_secs_f64(self.sent as f64 / self.rate as f64);
        self.wait.as_mut().reset(due);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(&FILLER[..len])))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}
