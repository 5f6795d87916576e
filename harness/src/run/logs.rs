//! Following a container's output onto the timeline: its start line signalled, the requests
//! it received counted, each line stamped when it was written rather than when it arrived.

use std::time::SystemTime;

use futures_util::StreamExt;
use server_contract::LogLine;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use crate::engine::Engine;
use crate::events::EventKind;
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
    let lines = engine.log_lines(&id);
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

/// The harness-clock instant of an engine timestamp (same host clock for a local engine).
pub(super) fn harness_instant(at: SystemTime) -> Instant {
    let age = SystemTime::now().duration_since(at).unwrap_or_default();
    Instant::now().checked_sub(age).unwrap_or_else(Instant::now)
}
