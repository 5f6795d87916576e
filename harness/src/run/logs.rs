//! Following a container's output onto the timeline: its start line signalled, the requests
//! it received counted, each line stamped when it was written rather than when it arrived; and
//! the balancer's log, its requests as records and its other lines on the timeline.

use std::time::SystemTime;

use futures_util::StreamExt;
use server_contract::LogLine;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use crate::balancer::{BalancerLine, parse_log_line};
use crate::engine::Engine;
use crate::model::events::EventKind;
use crate::run::sink::EventSink;
use crate::server_log;

/// Whose output it is, and so how its lines go on the timeline.
pub(super) enum Writer {
    /// The scenario's server: every line as it is.
    Server,
    /// A rollout's replica (`r1`): its lines under its name, but not those of single requests
    /// (the stream's would drown the timeline).
    Replica(String),
}

/// Streams container `id`'s output as log events from `writer`; says when the start line
/// came, and counts the requests received into `received` when given.
pub(super) async fn follow(
    engine: Engine,
    id: String,
    writer: Writer,
    sink: EventSink,
    started: oneshot::Sender<()>,
    received: Option<watch::Sender<usize>>,
) {
    let mut started = Some(started);
    let lines = engine.output_lines(&id);
    futures_util::pin_mut!(lines);
    while let Some(logged) = lines.next().await {
        let line = logged.text;
        if server_log::started_on(&line).is_some()
            && let Some(tx) = started.take()
        {
            let _ = tx.send(());
        }
        if let Some(received) = &received
            && server_log::is_request_received(&line)
        {
            received.send_modify(|n| *n += 1);
        }
        // Stamped when the engine received it: the stream can lag far behind under load. An
        // engine without precise stamps (Podman's whole seconds): the line's own, else now.
        let at = logged
            .at
            .or_else(|| server_log::timestamp(&line))
            .map_or_else(Instant::now, harness_instant);
        let line = match &writer {
            Writer::Server => line,
            Writer::Replica(name) => {
                if matches!(
                    LogLine::parse(&line),
                    Some(LogLine::RequestReceived { .. } | LogLine::ResponseSent { .. })
                ) {
                    continue;
                }
                server_log::of_replica(name, &line)
            }
        };
        sink.emit_at(at, EventKind::ServerLog { line });
    }
}

/// How many balancer records travel in one event at most.
const RECORDS_PER_EVENT: usize = 256;
/// How many of the balancer's last messages a repeat is looked for among: HAProxy writes a
/// server's change of state both to its log and to its standard error.
const RECENT_MESSAGES: usize = 8;

/// Streams the balancer `id`'s log until it exits: its request lines as batches of records,
/// its other lines (servers going up, down, into maintenance; warnings) as they come.
pub(super) async fn follow_balancer(engine: Engine, id: String, sink: EventSink) {
    let lines = engine.output_lines(&id);
    futures_util::pin_mut!(lines);
    let mut records = Vec::new();
    let mut recent: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    while let Some(logged) = lines.next().await {
        match parse_log_line(&logged.text) {
            BalancerLine::Request(record) => {
                records.push(record);
                if records.len() >= RECORDS_PER_EVENT {
                    sink.emit(EventKind::BalancerRecords(std::mem::take(&mut records)));
                }
            }
            BalancerLine::Unnumbered => {}
            BalancerLine::Other(line) if line.is_empty() || recent.contains(&line) => {}
            BalancerLine::Other(line) => {
                if recent.len() == RECENT_MESSAGES {
                    recent.pop_front();
                }
                recent.push_back(line.clone());
                let at = logged.at.map_or_else(Instant::now, harness_instant);
                sink.emit_at(at, EventKind::BalancerLog { line });
            }
        }
    }
    if !records.is_empty() {
        sink.emit(EventKind::BalancerRecords(records));
    }
}

/// The harness-clock instant of an engine timestamp (same host clock for a local engine).
pub(super) fn harness_instant(at: SystemTime) -> Instant {
    let age = SystemTime::now().duration_since(at).unwrap_or_default();
    Instant::now().checked_sub(age).unwrap_or_else(Instant::now)
}
