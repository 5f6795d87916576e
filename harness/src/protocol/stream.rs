//! A stream being observed: the recorder its observer writes into, and the handle the caller
//! holds to wait for facts ("the first message has arrived") and to collect the observation.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::error::ProtocolError;
use super::observation::{Item, Protocol, Received, StreamEnd, StreamObservation};

/// Where an observer writes what its stream receives, timed against the run's start.
///
/// The observation lives in a watch channel, so the handle sees each item as it arrives and
/// keeps what was received when a deadline drops the observer.
pub(crate) struct Recorder {
    start: Instant,
    observation: watch::Sender<StreamObservation>,
}

impl Recorder {
    /// A stream of `protocol` asking for `target`, opened now.
    pub(crate) fn new(start: Instant, protocol: Protocol, target: &str) -> Self {
        let opened = Instant::now().saturating_duration_since(start);
        Self {
            start,
            observation: watch::Sender::new(StreamObservation {
                protocol,
                target: target.to_string(),
                stream_id: None,
                opened,
                received: Vec::new(),
                end: StreamEnd::TimedOut,
                ended: opened,
                detail: String::new(),
            }),
        }
    }

    /// The time since the run's start.
    pub(crate) fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.start)
    }

    /// Notes the stream's HTTP/2 id.
    pub(crate) fn stream_id(&self, id: u32) {
        self.observation
            .send_modify(|observation| observation.stream_id = Some(id));
    }

    /// Records `item`, arrived now.
    pub(crate) fn push(&self, item: Item) {
        let at = self.now();
        self.observation
            .send_modify(|observation| observation.received.push(Received { at, item }));
    }

    /// Records `bytes` body bytes, arrived now: one item per chunk, so a timeline shows when
    /// the bytes came.
    pub(crate) fn data(&self, bytes: usize) {
        self.push(Item::Data {
            bytes: u64::try_from(bytes).unwrap_or(u64::MAX),
        });
    }

    /// Ends the stream now with `end` and the client library's words `detail`.
    pub(crate) fn end(self, end: StreamEnd, detail: impl Into<String>) -> StreamObservation {
        let ended = self.now();
        let detail = detail.into();
        self.observation.send_modify(|observation| {
            observation.ended = ended;
            observation.end = end;
            observation.detail = detail;
        });
        self.observation.borrow().clone()
    }
}

/// A stream being observed in the background.
#[derive(Debug)]
pub struct StreamHandle {
    what: String,
    observation: watch::Receiver<StreamObservation>,
    task: JoinHandle<StreamObservation>,
}

impl StreamHandle {
    /// Runs `observe` (which records into the recorder and ends it) in the background for at
    /// most `deadline`: past it the stream ends [`StreamEnd::TimedOut`] with what it had
    /// received, and its connection is dropped.
    pub(crate) fn spawn<F, Fut>(recorder: Recorder, deadline: Duration, observe: F) -> StreamHandle
    where
        F: FnOnce(Recorder) -> Fut,
        Fut: Future<Output = StreamObservation> + Send + 'static,
    {
        let observation = recorder.observation.subscribe();
        let what = {
            let seen = observation.borrow();
            format!("{} stream {}", seen.protocol.name(), seen.target)
        };
        let start = recorder.start;
        let snapshot = observation.clone();
        let observing = observe(recorder);
        let task = tokio::spawn(async move {
            match tokio::time::timeout(deadline, observing).await {
                Ok(observation) => observation,
                Err(_) => {
                    let mut observation = snapshot.borrow().clone();
                    observation.end = StreamEnd::TimedOut;
                    observation.ended = Instant::now().saturating_duration_since(start);
                    observation.detail = format!(
                        "still open after the observer's deadline of {}",
                        crate::duration::format(deadline)
                    );
                    observation
                }
            }
        });
        StreamHandle {
            what,
            observation,
            task,
        }
    }

    /// Waits until the stream has received at least `count` items (its response head counts as
    /// one); false if it ended with fewer.
    pub async fn until_received(&mut self, count: usize) -> bool {
        self.observation
            .wait_for(|seen| seen.received.len() >= count)
            .await
            .is_ok()
    }

    /// What the stream has received so far.
    pub fn received(&self) -> usize {
        self.observation.borrow().received.len()
    }

    /// Waits for the stream to end (at most its deadline) and returns what was seen.
    pub async fn finish(self) -> Result<StreamObservation, ProtocolError> {
        self.task.await.map_err(|e| ProtocolError::Observer {
            what: self.what,
            reason: e.to_string(),
        })
    }
}
