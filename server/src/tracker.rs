//! Counts requests in flight, so a shutdown can say how many it answered or cut.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use http_body::{Frame, SizeHint};

/// Shared counters of requests begun and finished.
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    counts: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    in_flight: AtomicUsize,
    finished: AtomicUsize,
}

impl Tracker {
    /// Counts a request as begun until the returned guard is dropped.
    pub fn begin(&self) -> InFlight {
        self.counts.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight {
            counts: Arc::clone(&self.counts),
        }
    }

    /// Requests begun and not yet finished (their response body not yet fully sent).
    pub fn in_flight(&self) -> usize {
        self.counts.in_flight.load(Ordering::SeqCst)
    }

    /// Requests finished since start.
    pub fn finished(&self) -> usize {
        self.counts.finished.load(Ordering::SeqCst)
    }
}

/// One request in flight; dropping it marks the request finished.
#[derive(Debug)]
pub struct InFlight {
    counts: Arc<Counts>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.counts.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.counts.finished.fetch_add(1, Ordering::SeqCst);
    }
}

/// A response body that keeps its request counted in flight until the body is sent or dropped.
///
/// A streamed body outlives the handler, so counting ends here rather than when the handler returns.
pub struct TrackedBody {
    inner: Body,
    _in_flight: InFlight,
}

impl TrackedBody {
    /// Wraps `inner`, holding `in_flight` for as long as the body lives.
    pub fn new(inner: Body, in_flight: InFlight) -> Self {
        Self {
            inner,
            _in_flight: in_flight,
        }
    }
}

impl HttpBody for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    // Delegated so hyper still sees the exact length and sends Content-Length, not chunks.
    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
