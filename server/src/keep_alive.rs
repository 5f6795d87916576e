//! Ending keep-alive at shutdown: the flag that says a drain has begun, and the rule that then
//! answers every request with `Connection: close`.
//!
//! hyper closes a connection after writing a response that carries `Connection: close`, and
//! the client reads the header as "do not reuse this connection". So a request that still
//! arrives on a kept-alive connection during the drain is served, and its client stops
//! reusing the connection instead of racing the server's close of an idle one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::header::CONNECTION;
use axum::http::{HeaderValue, Response};

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

    /// Adds `Connection: close` to `response` once the drain has begun; otherwise leaves it alone
    /// (the common case costs one load of the flag, nothing is allocated).
    ///
    /// Called when the response is ready, not when the request arrived, so a request in flight
    /// at the signal is answered with `Connection: close` too.
    pub fn close_if_draining<B>(&self, response: &mut Response<B>) {
        if self.is_set() {
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_say_close_only_once_the_drain_has_begun() {
        let shutting_down = ShuttingDown::default();
        let mut before = Response::new(());
        shutting_down.close_if_draining(&mut before);
        assert_eq!(before.headers().get(CONNECTION), None);

        shutting_down.clone().begin();
        let mut after = Response::new(());
        shutting_down.close_if_draining(&mut after);
        assert_eq!(after.headers()[CONNECTION], "close");
    }
}
