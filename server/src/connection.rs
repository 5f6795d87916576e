//! Serving one accepted connection: its requests go to the router, its responses say
//! `Connection: close` once a drain has begun, and the connection is closed when it waits too
//! long for a request head (the first one, or the next one on a kept-alive connection).
//!
//! Both are done here, once per connection, because that is cheap. An axum `from_fn` layer
//! boxed and cloned a service for every request, and hyper's `header_read_timeout` creates,
//! registers and removes a timer for every request head: together they cost about a fifth of
//! the server's own instructions per `/healthz` request. Here the common case is a load of the
//! drain flag, a clock read when a response ends, and no timer work at all: the one timer of a
//! connection is moved only when it fires (and once, when the first response has ended).

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::http::{Request, Response};
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::service::{TowerToHyperService, TowerToHyperServiceFuture};
use tokio::time::Instant;

use crate::keep_alive::ShuttingDown;

/// How long a connection may wait for a request head before the server closes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadTimeouts {
    /// For a new connection's first request head, counted from accept.
    pub first: Duration,
    /// For each later request head on a kept-alive connection, counted from the end of the
    /// previous response: how long an idle keep-alive connection is kept.
    pub idle: Duration,
}

/// One connection's bookkeeping, shared by its service (which marks requests begun and ended)
/// and its timer (which closes the connection once it has waited too long for a head).
#[derive(Clone, Debug)]
pub struct Activity {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    accepted: Instant,
    shutting_down: ShuttingDown,
    // hyper calls the service, and drops each response body, inside the connection's own
    // future, which `close_when_idle` polls: every access is on one task, so relaxed atomics
    // suffice (they are atomics only because the service must be `Sync`).
    /// Requests begun on this connection.
    begun: AtomicU64,
    /// Requests whose response has been sent in full, or abandoned.
    ended: AtomicU64,
    /// When the last response ended, in nanoseconds after `accepted`.
    last_end: AtomicU64,
}

impl Activity {
    /// The bookkeeping of a connection accepted now, whose responses close the connection once
    /// `shutting_down` is set.
    pub fn new(shutting_down: ShuttingDown) -> Self {
        Self {
            shared: Arc::new(Shared {
                accepted: Instant::now(),
                shutting_down,
                begun: AtomicU64::new(0),
                ended: AtomicU64::new(0),
                last_end: AtomicU64::new(0),
            }),
        }
    }

    /// When the connection is to be closed unless a request head has arrived by then; `None`
    /// while a request is being served (no timeout applies to it).
    fn deadline(&self, timeouts: HeadTimeouts) -> Option<Instant> {
        let shared = &*self.shared;
        let ended = shared.ended.load(Ordering::Relaxed);
        if shared.begun.load(Ordering::Relaxed) != ended {
            return None;
        }
        if ended == 0 {
            return Some(shared.accepted + timeouts.first);
        }
        let last_end = Duration::from_nanos(shared.last_end.load(Ordering::Relaxed));
        Some(shared.accepted + last_end + timeouts.idle)
    }

    /// Drives `connection` (hyper's, for this activity's service) to its end, or returns once it
    /// has waited for a request head longer than `timeouts` allow; dropping it then closes the
    /// socket. A head that arrives only in part by then does not count.
    pub async fn close_when_idle<C: Future>(
        self,
        mut connection: Pin<&mut C>,
        timeouts: HeadTimeouts,
    ) {
        let mut timer = pin!(tokio::time::sleep_until(
            self.shared.accepted + timeouts.first
        ));
        // The timer is not moved when a request begins or ends. When it fires, the deadline is
        // worked out afresh: past, the connection is closed; later, the timer is moved there.
        // Deadlines only ever move later, except once: the first idle deadline, which may come
        // before the first head's.
        let mut first_head = true;
        poll_fn(|cx| {
            // The connection first: a head that has arrived is read, and counts, before the
            // deadline is looked at.
            if connection.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            if first_head && self.shared.ended.load(Ordering::Relaxed) > 0 {
                if let Some(idle_deadline) = self.deadline(timeouts) {
                    first_head = false;
                    if idle_deadline < timer.deadline() {
                        timer.as_mut().reset(idle_deadline);
                    }
                }
            }
            loop {
                ready!(timer.as_mut().poll(cx));
                match self.deadline(timeouts) {
                    Some(deadline) if deadline <= Instant::now() => return Poll::Ready(()),
                    Some(deadline) => timer.as_mut().reset(deadline),
                    // A request is being served. The timer stays fired, so every wake of this
                    // task looks again, and the wake that ends the response (in the
                    // connection's poll above) moves the timer to the idle deadline.
                    None => return Poll::Pending,
                }
            }
        })
        .await;
    }
}

/// The hyper service of one connection.
#[derive(Clone, Debug)]
pub struct Service {
    router: TowerToHyperService<Router>,
    activity: Activity,
}

impl Service {
    /// Serves `router`, telling `activity` when each request begins and ends.
    pub fn new(router: Router, activity: &Activity) -> Self {
        Self {
            router: TowerToHyperService::new(router),
            activity: activity.clone(),
        }
    }
}

impl hyper::service::Service<Request<Incoming>> for Service {
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, request: Request<Incoming>) -> ResponseFuture {
        ResponseFuture {
            route: self.router.call(request),
            serving: Some(Serving::begin(&self.activity)),
        }
    }
}

/// A request being served; dropping it marks the request ended (its response sent or abandoned).
#[derive(Debug)]
struct Serving {
    shared: Arc<Shared>,
}

impl Serving {
    fn begin(activity: &Activity) -> Self {
        activity.shared.begun.fetch_add(1, Ordering::Relaxed);
        Self {
            shared: Arc::clone(&activity.shared),
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let shared = &*self.shared;
        let since_accept = shared.accepted.elapsed().as_nanos();
        shared.last_end.store(
            u64::try_from(since_accept).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        shared.ended.fetch_add(1, Ordering::Relaxed);
    }
}

/// The router's answer to one request, marked `Connection: close` if a drain has begun by the
/// time it is ready.
pub struct ResponseFuture {
    route: TowerToHyperServiceFuture<Router, Request<Incoming>>,
    serving: Option<Serving>,
}

impl Future for ResponseFuture {
    type Output = Result<Response<ResponseBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut response = ready!(Pin::new(&mut self.route).poll(cx))?;
        let serving = self
            .serving
            .take()
            .expect("ResponseFuture polled after it completed");
        serving
            .shared
            .shutting_down
            .close_if_draining(&mut response);
        Poll::Ready(Ok(response.map(|inner| ResponseBody {
            inner,
            _serving: serving,
        })))
    }
}

/// A response body that keeps its request counted as being served until hyper has sent it all
/// (and drops it): the idle timeout counts from there.
pub struct ResponseBody {
    inner: Body,
    _serving: Serving,
}

impl HttpBody for ResponseBody {
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::oneshot;

    const TIMEOUTS: HeadTimeouts = HeadTimeouts {
        first: Duration::from_secs(5),
        idle: Duration::from_millis(50),
    };

    /// Stands in for hyper's connection: serves one request until told its response is sent
    /// (ending it inside its own poll, as hyper does), then waits for a head that never comes.
    async fn one_request(activity: Activity, sent: oneshot::Receiver<()>) {
        let serving = Serving::begin(&activity);
        let _ = sent.await;
        drop(serving);
        std::future::pending::<()>().await
    }

    /// Asserts that `elapsed` is `expected`, give or take the timer's millisecond.
    fn assert_about(elapsed: Duration, expected: Duration) {
        assert!(
            elapsed >= expected && elapsed <= expected + Duration::from_millis(2),
            "closed after {elapsed:?}, expected {expected:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_that_sends_no_request_is_closed_after_the_first_head_timeout() {
        let activity = Activity::new(ShuttingDown::default());
        let accepted = Instant::now();
        let connection = pin!(std::future::pending::<()>());
        activity.close_when_idle(connection, TIMEOUTS).await;
        assert_about(accepted.elapsed(), TIMEOUTS.first);
    }

    #[tokio::test(start_paused = true)]
    async fn no_timeout_applies_while_a_request_is_served_and_the_idle_one_counts_from_its_end() {
        let activity = Activity::new(ShuttingDown::default());
        let (send, sent) = oneshot::channel();
        let closer = tokio::spawn(async move {
            let connection = pin!(one_request(activity.clone(), sent));
            activity.close_when_idle(connection, TIMEOUTS).await;
        });

        // The paused clock jumps past both timeouts while the request is being served.
        tokio::time::sleep(2 * TIMEOUTS.first).await;
        assert!(!closer.is_finished(), "closed while serving a request");

        let ended = Instant::now();
        send.send(()).unwrap();
        closer.await.unwrap();
        assert_about(ended.elapsed(), TIMEOUTS.idle);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_timeout_shorter_than_the_first_heads_applies_from_the_first_response() {
        let activity = Activity::new(ShuttingDown::default());
        let (send, sent) = oneshot::channel();
        // Answered at once: the response ends during the connection's first poll.
        send.send(()).unwrap();
        let accepted = Instant::now();
        let connection = pin!(one_request(activity.clone(), sent));
        activity.close_when_idle(connection, TIMEOUTS).await;
        assert_about(accepted.elapsed(), TIMEOUTS.idle);
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_that_ends_by_itself_is_not_waited_for() {
        let activity = Activity::new(ShuttingDown::default());
        let accepted = Instant::now();
        activity.close_when_idle(pin!(async {}), TIMEOUTS).await;
        assert_eq!(accepted.elapsed(), Duration::ZERO);
    }
}
