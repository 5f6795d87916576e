//! A request of another protocol than HTTP/1.1 (a long-lived stream, or an h2c or gRPC request),
//! sent through the protocol observers: its outcome in the vocabulary, and all that was seen.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::Instant;

use crate::client::Response;
use crate::model::streams::{ConnectionObservation, StreamEnd, StreamObservation, StreamRequest};
use crate::protocol::StreamSet;

/// Opens the stream `request` asks for, calls `connected` once it is under way, and observes it to
/// its end (at most `deadline`), timing from `ready`. A stream its protocol cannot carry ends
/// at once, refused with the reason (the scenario file refuses such requests first).
pub(super) async fn observe(
    request: StreamRequest,
    addr: SocketAddr,
    ready: Instant,
    deadline: Duration,
    connected: impl FnOnce(),
) -> (Response, StreamObservation, Vec<ConnectionObservation>) {
    let protocol = request.protocol;
    let mut set = StreamSet::new(addr, ready, deadline);
    let opened = set.open(&request).await;
    // A stream that could not connect ends refused or empty, never timed out: one that
    // opened counts as connected.
    let connected_at = opened.is_ok().then(Instant::now);
    // The schedule also waits for the server to log it as received.
    connected();
    let (stream, connections) = match opened {
        Ok(()) => match set.finish().await {
            Ok(seen) => (
                seen.streams.into_iter().next().map(|named| named.stream),
                seen.connections,
            ),
            Err(_) => (None, Vec::new()),
        },
        Err(_) => (None, Vec::new()),
    };
    let stream = stream.unwrap_or_else(|| StreamObservation {
        protocol,
        target: request.path().unwrap_or_default(),
        stream_id: None,
        opened: Instant::now().saturating_duration_since(ready),
        received: Vec::new(),
        end: StreamEnd::Refused,
        ended: Instant::now().saturating_duration_since(ready),
        detail: request.unsupported().map_or_else(String::new, |how| {
            format!("{} takes {how}", protocol.name())
        }),
    });
    let response = Response {
        outcome: stream.outcome(),
        status: stream.status(),
        bytes: stream.bytes(),
        connected: connected_at,
    };
    (response, stream, connections)
}
