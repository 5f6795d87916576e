//! Ending keep-alive at shutdown: the flag that says a drain has begun, and the middleware that
//! then answers every request with `Connection: close`.
//!
//! hyper closes a connection after writing a response that carries `Connection: close`, and
//! the client reads the header as "do not reuse this connection". So a request that still
//! arrives on a kept-alive connection during the drain is served, and its client stops
//! reusing the connection instead of racing the server's close of an idle one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::CONNECTION;
use axum::middleware::Next;
use axum::response::Response;

/// Shared flag, set once when the shutdown signal arrives.
#[derive(Clone, Debug, Default)]
pub struct ShuttingDown {
    flag: Arc<AtomicBool>,
}

impl ShuttingDown {
    /// Marks the drain as begun: from now on every response closes its connection.
    pub fn begin(&self) {
        self.flag.store(true, Ordering::SeqCst);
    }

    /// Whether the drain has begun.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }
}

/// Adds `Connection: close` to the response once the drain has begun.
///
/// The flag is read when the response is ready, not when the request arrived, so a request in
/// flight at the signal is answered with `Connection: close` too.
pub async fn close_when_shutting_down(
    State(shutting_down): State<ShuttingDown>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    if shutting_down.is_set() {
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
