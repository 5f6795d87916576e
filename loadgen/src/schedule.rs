//! The open-model schedule (as wrk2 and vegeta send): request i is due at start + i / rate
//! whether or not earlier ones have answered, so a stalled server shows as latency and loss,
//! never as a slower load. The stream runs its duration and on until the server has exited
//! (and [`AFTER_EXIT`] after), or until its limit.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// How often the records that have an outcome are handed on.
pub const BATCH_EVERY: Duration = Duration::from_millis(100);
/// How long the stream goes on after the server exited, to see what comes after the exit.
pub const AFTER_EXIT: Duration = Duration::from_millis(300);

/// How requests leave once due.
pub trait Sender {
    /// Sends request `id`, due at `due` (now or a moment ago).
    fn send(&mut self, id: u32, due: Instant);
    /// Resolves once every request sent has its record. Cancel-safe.
    fn finish(&mut self) -> impl Future<Output = ()>;
}

/// The schedule's timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Requests per second.
    pub rate: u32,
    /// How long the stream runs at least.
    pub duration: Duration,
    /// How long it runs at most, whether or not the server exited.
    pub limit: Duration,
}

/// Sends requests on `timing`'s schedule from `start` through `sender`, until the duration has
/// passed and `exited` has said (at a request's due time) that the server exited, plus
/// [`AFTER_EXIT`]; or until the limit. `flush` runs about every [`BATCH_EVERY`] while the
/// stream runs and once at its end, after every record is in.
pub async fn run<S: Sender>(
    timing: Timing,
    start: Instant,
    sender: &mut S,
    mut exited: impl FnMut() -> bool,
    mut flush: impl FnMut(),
) {
    let interval = Duration::from_secs(1) / timing.rate.max(1);
    let mut exit_seen: Option<Instant> = None;
    let mut next_batch = start + BATCH_EVERY;
    for id in 0u32.. {
        let due = start + interval * id;
        let elapsed = due.saturating_duration_since(start);
        if exit_seen.is_none() && exited() {
            exit_seen = Some(Instant::now());
        }
        let finished =
            elapsed >= timing.duration && exit_seen.is_some_and(|at| due >= at + AFTER_EXIT);
        if finished || elapsed >= timing.limit {
            break;
        }
        // The timer wakes at most once a millisecond: past that rate, every request already
        // due leaves at once, without a timer of its own.
        let mut now = Instant::now();
        if due > now {
            tokio::time::sleep_until(due).await;
            now = Instant::now();
        }
        if now >= next_batch {
            flush();
            next_batch = now + BATCH_EVERY;
        }
        sender.send(id, due);
    }
    let mut batches = tokio::time::interval(BATCH_EVERY);
    loop {
        tokio::select! {
            () = sender.finish() => break,
            _ = batches.tick() => flush(),
        }
    }
    flush();
}
