//! One connection's activity: the requests begun and ended on it, whether it speaks HTTP/2,
//! and the driving of its hyper connection to the end, closed when it waits too long for a
//! request head (the first one, or the next one on a kept-alive connection) and told to close
//! at a graceful shutdown (an HTTP/2 connection is sent its GOAWAY frames).
//!
//! hyper's `header_read_timeout` creates, registers and removes a timer for every request head;
//! here the common case is a clock read when a response ends and no timer work at all: the one
//! timer of a connection is moved only when it fires (and once, when the first response has
//! ended).

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Poll, ready};
use std::time::Duration;

use axum::http::Response;
use server_contract::GoawayReason;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::keep_alive::ShuttingDown;
use crate::log::{Log, LogLine};

/// How long an HTTP/2 connection told to go away for being idle may take to close by itself
/// (the client answers the GOAWAY's PING, the server sends the final GOAWAY and closes) before
/// the server drops it.
pub const IDLE_GOAWAY_GRACE: Duration = Duration::from_secs(1);

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
    peer: SocketAddr,
    /// Whether the client speaks HTTP/2 (prior knowledge, seen by [`crate::io::Sniff`], or an
    /// h2c upgrade).
    h2: AtomicBool,
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
    /// The bookkeeping of a connection from `peer` accepted now, whose responses close the
    /// connection once `shutting_down` is set.
    pub fn new(shutting_down: ShuttingDown, peer: SocketAddr) -> Self {
        Self {
            shared: Arc::new(Shared {
                accepted: Instant::now(),
                peer,
                h2: AtomicBool::new(false),
                shutting_down,
                begun: AtomicU64::new(0),
                ended: AtomicU64::new(0),
                last_end: AtomicU64::new(0),
            }),
        }
    }

    /// Marks the connection as HTTP/2.
    pub fn mark_h2(&self) {
        self.shared.h2.store(true, Ordering::Relaxed);
    }

    /// Whether the connection speaks HTTP/2 (as far as known: a connection whose first bytes
    /// have not arrived is not yet).
    pub fn is_h2(&self) -> bool {
        self.shared.h2.load(Ordering::Relaxed)
    }

    /// The client's address.
    pub fn peer(&self) -> SocketAddr {
        self.shared.peer
    }

    /// Requests begun and not yet ended on the connection.
    pub fn in_flight(&self) -> u64 {
        let shared = &*self.shared;
        let ended = shared.ended.load(Ordering::Relaxed);
        shared.begun.load(Ordering::Relaxed).saturating_sub(ended)
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
    ///
    /// When `shutdown` turns true (a graceful shutdown has begun), calls `graceful_shutdown` on
    /// the connection: hyper then closes an idle HTTP/1.1 connection, finishes a busy one's
    /// response and closes it, and sends an HTTP/2 connection its GOAWAY frames (logged here).
    /// An HTTP/2 connection left idle is sent its GOAWAY too, and dropped if it has not closed
    /// [`IDLE_GOAWAY_GRACE`] later; an HTTP/1.1 one is just closed, as it always was.
    pub async fn serve<C: Future>(
        self,
        mut connection: Pin<&mut C>,
        graceful_shutdown: impl Fn(Pin<&mut C>),
        timeouts: HeadTimeouts,
        shutdown: watch::Receiver<bool>,
        log: Log,
    ) {
        let mut shutdown = pin!(async move {
            let mut shutdown = shutdown;
            // A closed channel means the server is ending: as good as a shutdown.
            let _ = shutdown.wait_for(|begun| *begun).await;
        });
        let mut timer = pin!(tokio::time::sleep_until(
            self.shared.accepted + timeouts.first
        ));
        // The timer is not moved when a request begins or ends. When it fires, the deadline is
        // worked out afresh: past, the connection is closed; later, the timer is moved there.
        // Deadlines only ever move later, except once: the first idle deadline, which may come
        // before the first head's.
        let mut first_head = true;
        let mut shutdown_seen = false;
        // Whether the connection has been told to close (GOAWAY sent, for HTTP/2).
        let mut closing = false;
        let mut grace_until: Option<Instant> = None;
        poll_fn(|cx| {
            loop {
                // The connection first: a head that has arrived is read, and counts, before the
                // deadline is looked at.
                if connection.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(());
                }
                if shutdown_seen || shutdown.as_mut().poll(cx).is_pending() {
                    break;
                }
                shutdown_seen = true;
                if !closing {
                    closing = true;
                    self.goaway(GoawayReason::Shutdown, log);
                }
                graceful_shutdown(connection.as_mut());
                // Polled again at once, so the connection acts on it (sends its GOAWAY, or
                // ends now if it was idle).
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
                let now = Instant::now();
                match self.deadline(timeouts) {
                    Some(deadline) if deadline <= now => {
                        if !closing && self.is_h2() {
                            // An idle HTTP/2 connection is told to go away rather than dropped,
                            // so its client knows not to send on it again.
                            closing = true;
                            self.goaway(GoawayReason::Idle, log);
                            graceful_shutdown(connection.as_mut());
                            grace_until = Some(now + IDLE_GOAWAY_GRACE);
                        }
                        match grace_until {
                            Some(grace) if grace > now => {
                                timer.as_mut().reset(grace);
                                // Polled again at once, so the connection sends its GOAWAY.
                                cx.waker().wake_by_ref();
                                return Poll::Pending;
                            }
                            _ => return Poll::Ready(()),
                        }
                    }
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

    /// Logs the GOAWAY that `graceful_shutdown` is about to send, if this is an HTTP/2 connection.
    fn goaway(&self, reason: GoawayReason, log: Log) {
        if self.is_h2() {
            log.emit(LogLine::GoawaySent {
                reason,
                peer: self.peer(),
                in_flight: self.in_flight(),
            });
        }
    }
}

/// A request being served; dropping it marks the request ended (its response sent or abandoned).
#[derive(Debug)]
pub(crate) struct Serving {
    shared: Arc<Shared>,
}

impl Serving {
    /// Marks a request begun on `activity`'s connection.
    pub(crate) fn begin(activity: &Activity) -> Self {
        activity.shared.begun.fetch_add(1, Ordering::Relaxed);
        Self {
            shared: Arc::clone(&activity.shared),
        }
    }

    /// Marks `response` `Connection: close` if a drain has begun by now.
    pub(crate) fn close_if_draining<B>(&self, response: &mut Response<B>) {
        self.shared.shutting_down.close_if_draining(response);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Context;
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

    fn activity() -> Activity {
        Activity::new(ShuttingDown::default(), "127.0.0.1:1".parse().unwrap())
    }

    fn quiet() -> Log {
        Log::new(crate::log::LogFormat::Text)
    }

    impl Activity {
        /// [`Activity::serve`] with no shutdown: the timer alone.
        async fn close_when_idle<C: Future>(self, connection: Pin<&mut C>, timeouts: HeadTimeouts) {
            let (_never, shutdown) = watch::channel(false);
            self.serve(connection, |_| {}, timeouts, shutdown, quiet())
                .await;
        }
    }

    /// Stands in for hyper's connection: pending until `graceful_shutdown` is called, then done
    /// at its next poll (what an idle connection does).
    #[derive(Default)]
    struct Closable {
        told: std::cell::Cell<u32>,
    }

    impl Future for &Closable {
        type Output = ();

        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            if self.told.get() > 0 {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_shutdown_tells_the_connection_to_close_and_polls_it_again() {
        let activity = activity();
        let closable = Closable::default();
        let (begin, shutdown) = watch::channel(false);
        let mut connection = &closable;
        let serve = activity.serve(
            Pin::new(&mut connection),
            |c| c.told.set(c.told.get() + 1),
            TIMEOUTS,
            shutdown,
            quiet(),
        );
        let started = Instant::now();
        tokio::join!(serve, async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            begin.send_replace(true);
        });
        assert_eq!(closable.told.get(), 1);
        assert_eq!(started.elapsed(), Duration::from_millis(10));
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_http2_connection_is_told_to_go_away_then_dropped_after_the_grace() {
        let activity = activity();
        activity.mark_h2();
        let told = std::cell::Cell::new(0);
        let (_never, shutdown) = watch::channel(false);
        let accepted = Instant::now();
        // A client that never answers the GOAWAY's PING: the connection stays open by itself.
        activity
            .serve(
                pin!(std::future::pending::<()>()),
                |_| told.set(told.get() + 1),
                TIMEOUTS,
                shutdown,
                quiet(),
            )
            .await;
        assert_eq!(told.get(), 1);
        assert_about(accepted.elapsed(), TIMEOUTS.first + IDLE_GOAWAY_GRACE);
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_that_sends_no_request_is_closed_after_the_first_head_timeout() {
        let activity = activity();
        let accepted = Instant::now();
        let connection = pin!(std::future::pending::<()>());
        activity.close_when_idle(connection, TIMEOUTS).await;
        assert_about(accepted.elapsed(), TIMEOUTS.first);
    }

    #[tokio::test(start_paused = true)]
    async fn no_timeout_applies_while_a_request_is_served_and_the_idle_one_counts_from_its_end() {
        let activity = activity();
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
        let activity = activity();
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
        let activity = activity();
        let accepted = Instant::now();
        activity.close_when_idle(pin!(async {}), TIMEOUTS).await;
        assert_eq!(accepted.elapsed(), Duration::ZERO);
    }
}
