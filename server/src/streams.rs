//! The long-lived streams being served (event streams, WebSockets, streaming gRPC calls): their
//! numbers and log lines, the notice that a graceful shutdown has begun, and the count a drain
//! waits on.
//!
//! A WebSocket outlives the HTTP connection it was upgraded from, so waiting for connections
//! alone would not wait for it: the drain waits for these streams too.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use server_contract::{StreamEnd, StreamProtocol};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::log::{Log, LogLine};

/// The streams of one server; clones share them.
#[derive(Clone, Debug)]
pub struct Streams {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    log: Log,
    numbers: AtomicU64,
    /// Streams open now, by number; a stream's entry outlives it only until it is closed or cut.
    open: Mutex<HashMap<u64, Arc<Entry>>>,
    /// How many are open, for the drain to wait on.
    count: watch::Sender<usize>,
    /// The drain deadline, once a graceful shutdown has begun.
    going_away: watch::Sender<Option<Instant>>,
}

#[derive(Debug)]
struct Entry {
    protocol: StreamProtocol,
    sent: AtomicU64,
}

impl Streams {
    /// No streams yet; lines go to `log`.
    pub fn new(log: Log) -> Self {
        Self {
            shared: Arc::new(Shared {
                log,
                numbers: AtomicU64::new(0),
                open: Mutex::new(HashMap::new()),
                count: watch::Sender::new(0),
                going_away: watch::Sender::new(None),
            }),
        }
    }

    /// Opens a stream, logging `Stream opened...`; it is closed (and logged) when dropped.
    pub fn open(&self, protocol: StreamProtocol, path: &str, id: Option<String>) -> Stream {
        let shared = &self.shared;
        let number = shared.numbers.fetch_add(1, Ordering::Relaxed) + 1;
        let entry = Arc::new(Entry {
            protocol,
            sent: AtomicU64::new(0),
        });
        self.lock().insert(number, Arc::clone(&entry));
        shared.count.send_modify(|n| *n += 1);
        shared.log.emit(LogLine::StreamOpened {
            protocol,
            stream: number,
            path: path.to_string(),
            id,
        });
        Stream {
            shared: Arc::clone(shared),
            entry,
            number,
            going_away: shared.going_away.subscribe(),
            end: StreamEnd::ClosedByClient,
        }
    }

    /// Tells every stream, open now or opened later, that a graceful shutdown has begun and
    /// must be over by `deadline`.
    pub fn begin_going_away(&self, deadline: Instant) {
        self.shared.going_away.send_replace(Some(deadline));
    }

    /// Whether a graceful shutdown has begun.
    pub fn going_away(&self) -> bool {
        self.shared.going_away.borrow().is_some()
    }

    /// Streams open now.
    pub fn count(&self) -> usize {
        *self.shared.count.borrow()
    }

    /// Waits until no stream is open (at once if none is).
    pub async fn all_closed(&self) {
        let mut count = self.shared.count.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = count.wait_for(|n| *n == 0).await;
    }

    /// Logs every open stream as cut, for an exit that leaves them unfinished (the drain
    /// deadline, a second signal); their own closing lines are not written afterwards.
    pub fn cut_all(&self) {
        let mut cut: Vec<(u64, Arc<Entry>)> = self.lock().drain().collect();
        cut.sort_by_key(|(number, _)| *number);
        self.shared.count.send_replace(0);
        for (number, entry) in cut {
            self.shared.log.emit(LogLine::StreamClosed {
                protocol: entry.protocol,
                stream: number,
                how: StreamEnd::Cut,
                sent: entry.sent.load(Ordering::Relaxed),
            });
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Entry>>> {
        lock(&self.shared.open)
    }
}

// A panic elsewhere while the map was held leaves it consistent (each change is one call).
fn lock(
    open: &Mutex<HashMap<u64, Arc<Entry>>>,
) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Entry>>> {
    open.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One open stream. Dropping it closes it, logging `Stream closed...` with how it ended: as
/// marked with [`Stream::end`], else closed by the client (the only other way a stream's
/// future is dropped while the server runs).
#[derive(Debug)]
pub struct Stream {
    shared: Arc<Shared>,
    entry: Arc<Entry>,
    number: u64,
    going_away: watch::Receiver<Option<Instant>>,
    end: StreamEnd,
}

impl Stream {
    /// The stream's number, as logged.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// Counts one numbered message sent.
    pub fn sent_one(&self) {
        self.entry.sent.fetch_add(1, Ordering::Relaxed);
    }

    /// Messages counted so far.
    pub fn sent(&self) -> u64 {
        self.entry.sent.load(Ordering::Relaxed)
    }

    /// Marks how the stream is ending; logged when it is dropped.
    pub fn end(&mut self, how: StreamEnd) {
        self.end = how;
    }

    /// Waits for a graceful shutdown to begin (at once if it has) and returns its drain
    /// deadline. Cancel-safe: it can be raced against the stream's own timer.
    pub async fn going_away(&mut self) -> Instant {
        match self.going_away.wait_for(Option::is_some).await {
            Ok(deadline) => deadline.unwrap_or_else(Instant::now),
            // The sender lives as long as any stream: unreachable, but "now" is a safe answer.
            Err(_) => Instant::now(),
        }
    }

    /// The log the stream's lines go to (for lines about it, such as a close frame sent).
    pub fn log(&self) -> Log {
        self.shared.log
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        // Gone already when `cut_all` logged it.
        if lock(&self.shared.open).remove(&self.number).is_none() {
            return;
        }
        self.shared.log.emit(LogLine::StreamClosed {
            protocol: self.entry.protocol,
            stream: self.number,
            how: self.end,
            sent: self.sent(),
        });
        // Counted closed only once logged: the drain may end the process as soon as the count
        // reaches zero, and the line must be in the log by then.
        self.shared.count.send_modify(|n| *n = n.saturating_sub(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::LogFormat;
    use std::time::Duration;

    fn streams() -> Streams {
        Streams::new(Log::new(LogFormat::Text))
    }

    #[tokio::test]
    async fn streams_are_numbered_counted_and_waited_for() {
        let streams = streams();
        streams.all_closed().await;
        let first = streams.open(StreamProtocol::Sse, "/events", None);
        let second = streams.open(StreamProtocol::Ws, "/ws", Some("7".into()));
        assert_eq!((first.number(), second.number()), (1, 2));
        assert_eq!(streams.count(), 2);
        drop(first);
        let waiter = tokio::spawn({
            let streams = streams.clone();
            async move { streams.all_closed().await }
        });
        drop(second);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("still waiting after the last stream closed")
            .unwrap();
    }

    #[tokio::test]
    async fn going_away_reaches_streams_opened_before_and_after() {
        let streams = streams();
        let mut before = streams.open(StreamProtocol::Grpc, "/t", None);
        let deadline = Instant::now() + Duration::from_secs(3);
        let waiting = tokio::spawn(async move { before.going_away().await });
        streams.begin_going_away(deadline);
        assert_eq!(waiting.await.unwrap(), deadline);
        let mut after = streams.open(StreamProtocol::Sse, "/events", None);
        assert_eq!(after.going_away().await, deadline);
    }

    #[tokio::test]
    async fn cut_streams_are_closed_once() {
        let streams = streams();
        let stream = streams.open(StreamProtocol::Ws, "/ws", None);
        stream.sent_one();
        streams.cut_all();
        assert_eq!(streams.count(), 0);
        streams.all_closed().await;
        // Its own drop finds it gone and changes nothing.
        drop(stream);
        assert_eq!(streams.count(), 0);
    }
}
