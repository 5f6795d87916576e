//! What a scenario may expect of its long-lived streams, and each expectation checked against
//! what was seen: `close-code = 1001`, `goaway = "two-step"`, `streams-cut = 0`,
//! `last-event = "going-away"`, `grpc-status = "OK"`, and the two requirements read for
//! streams: every stream open at the signal ends cleanly; no new stream is accepted once
//! shutdown began.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::observation::{
    GoawaySequence, Item, Protocol, StreamEnd, StreamObservation, grpc_code_name,
};
use super::set::StreamsObservation;

/// The SSE event type of an event with no `event:` field (HTML standard).
const DEFAULT_EVENT: &str = "message";

/// Expectations of a scenario's streams; None expects nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct StreamExpectations {
    /// Every WebSocket's close code (1006 stands for "no close frame").
    pub close_code: Option<u16>,
    /// Every HTTP/2 connection's GOAWAY frames.
    pub goaway: Option<GoawaySequence>,
    /// How many streams were cut: accepted, then the connection failed under them (see
    /// [`is_cut`]).
    pub streams_cut: Option<usize>,
    /// The type of every event stream's last event (`message` for one with no `event:` field),
    /// over HTTP/1.1 or h2c.
    pub last_event: Option<String>,
    /// Every gRPC call's status name (`OK`, `UNAVAILABLE`, ...).
    pub grpc_status: Option<String>,
}

/// One expectation checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamCheck {
    /// The expectation's name in scenario files (`close-code`, ...), or the requirement's
    /// (`open-streams-end-cleanly`, `no-new-stream-accepted`).
    pub what: String,
    /// The stream or connection it is about (a stream's name, `connection N`), when one.
    pub subject: String,
    /// What was expected, in the scenario file's words.
    pub expected: String,
    /// What was seen, in the same words.
    pub seen: String,
    /// Whether it held.
    pub met: bool,
}

impl StreamCheck {
    fn new(what: &str, subject: &str, expected: String, seen: String) -> StreamCheck {
        let met = expected == seen;
        StreamCheck {
            what: what.to_string(),
            subject: subject.to_string(),
            expected,
            seen,
            met,
        }
    }
}

impl StreamExpectations {
    /// Each expectation checked against what was seen, the signal having gone out at `signal`
    /// on the run's timeline: one check per stream or connection it applies to (none when there
    /// is none: an expectation of nothing is not tested). `close-code`, `last-event` and
    /// `grpc-status` are about the streams open at the signal; those opened later are judged by
    /// [`no_new_stream_accepted`]. `streams-cut` counts them all, `goaway` looks at every
    /// connection.
    pub fn check(&self, seen: &StreamsObservation, signal: Duration) -> Vec<StreamCheck> {
        let mut checks = Vec::new();
        let across = seen.streams.iter().filter(|s| s.stream.opened < signal);
        let of = |protocol: Protocol| {
            across
                .clone()
                .filter(move |s| s.stream.protocol == protocol)
        };
        if let Some(code) = self.close_code {
            for named in of(Protocol::Websocket) {
                let close = named
                    .stream
                    .close_code()
                    .map_or_else(|| named.stream.end.name().to_string(), |c| c.to_string());
                checks.push(StreamCheck::new(
                    "close-code",
                    &named.name,
                    code.to_string(),
                    close,
                ));
            }
        }
        if let Some(goaway) = self.goaway {
            for (n, connection) in seen.connections.iter().enumerate() {
                checks.push(StreamCheck::new(
                    "goaway",
                    &format!("connection {} ({})", n + 1, connection.protocol.name()),
                    goaway.name().to_string(),
                    connection.goaway_sequence().name().to_string(),
                ));
            }
        }
        if let Some(cut) = self.streams_cut {
            let count = seen
                .streams
                .iter()
                .filter(|s| is_cut(&s.stream, signal))
                .count();
            checks.push(StreamCheck::new(
                "streams-cut",
                "all streams",
                cut.to_string(),
                count.to_string(),
            ));
        }
        if let Some(event) = &self.last_event {
            // Event streams: over HTTP/1.1, and over h2c when they carried events.
            let event_streams = across.clone().filter(|s| {
                s.stream.protocol == Protocol::Sse
                    || (s.stream.protocol == Protocol::H2c && last_event_type(&s.stream).is_some())
            });
            for named in event_streams {
                let last = last_event_type(&named.stream).unwrap_or("none");
                checks.push(StreamCheck::new(
                    "last-event",
                    &named.name,
                    event.clone(),
                    last.to_string(),
                ));
            }
        }
        if let Some(status) = &self.grpc_status {
            for named in of(Protocol::Grpc) {
                let seen = match &named.stream.end {
                    StreamEnd::Status { name, .. } => name.clone(),
                    other => other.name().to_string(),
                };
                checks.push(StreamCheck::new(
                    "grpc-status",
                    &named.name,
                    status.clone(),
                    seen,
                ));
            }
        }
        checks
    }
}

/// Whether `stream` was cut, the signal having gone out at `signal`: the connection failed
/// under it once its response had begun, or the server reset it; or it got no reply at all
/// though opened before the signal (the server had it: an empty reply then is a cut, as for an
/// HTTP/1.1 request in flight). An empty reply to a stream opened after the signal is "not
/// served", not cut.
pub fn is_cut(stream: &StreamObservation, signal: Duration) -> bool {
    stream.end.is_cut() || (stream.end == StreamEnd::EmptyReply && stream.opened < signal)
}

/// The type of the stream's last event, if it received one.
fn last_event_type(stream: &StreamObservation) -> Option<&str> {
    stream.received.iter().rev().find_map(|r| match &r.item {
        Item::Event { event, .. } => Some(event.as_deref().unwrap_or(DEFAULT_EVENT)),
        _ => None,
    })
}

/// Requirement 1 read for streams: every stream open when the signal went out (at `signal`,
/// on the run's timeline) ends cleanly, with its protocol's own ending. One check per such
/// stream.
pub fn open_streams_end_cleanly(seen: &StreamsObservation, signal: Duration) -> Vec<StreamCheck> {
    seen.streams
        .iter()
        .filter(|s| s.stream.opened < signal && s.stream.ended >= signal)
        .map(|named| {
            let end = describe(&named.stream.end);
            let mut check = StreamCheck::new(
                "open-streams-end-cleanly",
                &named.name,
                "a clean end".to_string(),
                end,
            );
            check.met = ends_cleanly(&named.stream);
            check
        })
        .collect()
}

/// Requirement 2 read for streams: no stream opened once shutdown began (at `signal`) is
/// accepted. One check per such stream.
pub fn no_new_stream_accepted(seen: &StreamsObservation, signal: Duration) -> Vec<StreamCheck> {
    seen.streams
        .iter()
        .filter(|s| s.stream.opened >= signal)
        .map(|named| {
            let accepted = accepted(&named.stream);
            let mut check = StreamCheck::new(
                "no-new-stream-accepted",
                &named.name,
                "not accepted".to_string(),
                if accepted {
                    format!("accepted, then {}", describe(&named.stream.end))
                } else {
                    describe(&named.stream.end)
                },
            );
            check.met = !accepted;
            check
        })
        .collect()
}

/// Whether a stream ended with its protocol's own ending: an HTTP/2 END_STREAM or the last
/// chunk, the SSE goodbye, a WebSocket close frame 1000 or 1001, a gRPC status the server sent;
/// or was never processed (safe to retry).
pub fn ends_cleanly(stream: &StreamObservation) -> bool {
    match &stream.end {
        StreamEnd::Complete | StreamEnd::GoingAway | StreamEnd::Status { .. } => true,
        StreamEnd::Closed { code, .. } => matches!(code, 1000 | 1001),
        end => end.never_processed(),
    }
}

/// Whether the server took the stream on: it answered with a success head (101, 2xx) or, for
/// gRPC, a message or status OK. A refusal in the protocol's words (gRPC UNAVAILABLE in
/// trailers, an HTTP 503) is not acceptance.
fn accepted(stream: &StreamObservation) -> bool {
    if stream.end.never_processed() {
        return false;
    }
    match stream.protocol {
        Protocol::Grpc => {
            matches!(&stream.end, StreamEnd::Status { code: 0, .. })
                || stream
                    .received
                    .iter()
                    .any(|r| matches!(r.item, Item::Message { .. }))
        }
        _ => stream
            .status()
            .is_some_and(|status| status == 101 || (200..300).contains(&status)),
    }
}

/// An end in a report's words: `closed 1001`, `status UNAVAILABLE`, `reset 2`, `cut`, ...
fn describe(end: &StreamEnd) -> String {
    match end {
        StreamEnd::Closed { code, .. } => format!("closed {code}"),
        StreamEnd::Status { name, .. } => format!("status {name}"),
        StreamEnd::Reset { code } => format!("reset {code}"),
        other => other.name().to_string(),
    }
}

/// Checks that `name` is a gRPC status name (`OK`, `UNAVAILABLE`, ...), for a scenario file's
/// `grpc-status`; the error lists the names.
pub fn check_grpc_status_name(name: &str) -> Result<(), String> {
    if (0..=16).any(|code| grpc_code_name(code) == name) {
        Ok(())
    } else {
        let names: Vec<&str> = (0..=16).map(grpc_code_name).collect();
        Err(format!(
            "{name:?} is not a gRPC status: write one of {}",
            names.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::observation::{ConnectionObservation, Goaway, MAX_STREAM_ID, Received};
    use crate::protocol::set::NamedStream;

    fn stream(
        name: &str,
        protocol: Protocol,
        opened: u64,
        end: StreamEnd,
        received: Vec<Item>,
    ) -> NamedStream {
        NamedStream {
            name: name.to_string(),
            stream: StreamObservation {
                protocol,
                target: "/".to_string(),
                stream_id: None,
                opened: Duration::from_millis(opened),
                received: received
                    .into_iter()
                    .map(|item| Received {
                        at: Duration::from_millis(opened + 1),
                        item,
                    })
                    .collect(),
                end,
                ended: Duration::from_millis(500),
                detail: String::new(),
            },
        }
    }

    fn graceful() -> StreamsObservation {
        let event = |event: Option<&str>| Item::Event {
            id: None,
            event: event.map(str::to_string),
            data: String::new(),
        };
        StreamsObservation {
            streams: vec![
                stream(
                    "ws",
                    Protocol::Websocket,
                    10,
                    StreamEnd::Closed {
                        code: 1001,
                        reason: String::new(),
                    },
                    vec![Item::Head { status: 101 }],
                ),
                stream(
                    "sse",
                    Protocol::Sse,
                    10,
                    StreamEnd::GoingAway,
                    vec![
                        Item::Head { status: 200 },
                        event(None),
                        event(Some("going-away")),
                    ],
                ),
                stream(
                    "tick",
                    Protocol::Grpc,
                    10,
                    StreamEnd::grpc_status(14, "bye"),
                    vec![],
                ),
                stream("late", Protocol::Grpc, 200, StreamEnd::Refused, vec![]),
                stream(
                    "late-h2",
                    Protocol::H2c,
                    200,
                    StreamEnd::RefusedByGoaway,
                    vec![],
                ),
            ],
            connections: vec![ConnectionObservation {
                protocol: Protocol::H2c,
                opened: Duration::ZERO,
                goaways: [MAX_STREAM_ID, 1]
                    .map(|last_stream_id| Goaway {
                        at: Duration::from_millis(101),
                        last_stream_id,
                        error_code: 0,
                        debug: String::new(),
                    })
                    .to_vec(),
                pings: Vec::new(),
                closed: None,
                streams: Vec::new(),
            }],
        }
    }

    #[test]
    fn a_graceful_stop_meets_the_expectations() {
        let expect = StreamExpectations {
            close_code: Some(1001),
            goaway: Some(GoawaySequence::TwoStep),
            streams_cut: Some(0),
            last_event: Some("going-away".to_string()),
            grpc_status: Some("UNAVAILABLE".to_string()),
        };
        let checks = expect.check(&graceful(), Duration::from_millis(100));
        let whats: Vec<&str> = checks.iter().map(|c| c.what.as_str()).collect();
        assert_eq!(
            whats,
            [
                "close-code",
                "goaway",
                "streams-cut",
                "last-event",
                "grpc-status",
            ]
        );
        // The late call is not asked for a status: it is judged as a new stream, below.
        assert!(checks.iter().all(|c| c.met), "{checks:#?}");

        let signal = Duration::from_millis(100);
        let open = open_streams_end_cleanly(&graceful(), signal);
        assert_eq!(open.len(), 3);
        assert!(open.iter().all(|c| c.met), "{open:#?}");
        let late = no_new_stream_accepted(&graceful(), signal);
        assert_eq!(late.len(), 2);
        assert!(late.iter().all(|c| c.met), "{late:#?}");
    }

    #[test]
    fn an_abrupt_stop_fails_them_with_what_was_seen() {
        let seen = StreamsObservation {
            streams: vec![
                stream(
                    "ws",
                    Protocol::Websocket,
                    10,
                    StreamEnd::Cut,
                    vec![Item::Head { status: 101 }],
                ),
                stream("sse", Protocol::Sse, 10, StreamEnd::Cut, vec![]),
                stream(
                    "h2",
                    Protocol::H2c,
                    10,
                    StreamEnd::Reset { code: 2 },
                    vec![],
                ),
                // In flight at the signal, never answered: cut.
                stream("call", Protocol::Grpc, 10, StreamEnd::EmptyReply, vec![]),
                // Opened after the signal, never answered: not served, not cut.
                stream(
                    "late-call",
                    Protocol::Grpc,
                    200,
                    StreamEnd::EmptyReply,
                    vec![],
                ),
                // Opened after the signal and served: accepted.
                stream(
                    "late",
                    Protocol::Websocket,
                    200,
                    StreamEnd::Cut,
                    vec![Item::Head { status: 101 }],
                ),
            ],
            connections: Vec::new(),
        };
        let expect = StreamExpectations {
            close_code: Some(1001),
            streams_cut: Some(0),
            last_event: Some("going-away".to_string()),
            ..StreamExpectations::default()
        };
        let signal = Duration::from_millis(100);
        let seen_words: Vec<(String, String)> = expect
            .check(&seen, signal)
            .into_iter()
            .filter(|c| !c.met)
            .map(|c| (c.subject, c.seen))
            .collect();
        assert_eq!(
            seen_words,
            [
                ("ws".to_string(), "1006".to_string()),
                ("all streams".to_string(), "5".to_string()),
                ("sse".to_string(), "none".to_string()),
            ]
        );
        assert!(
            open_streams_end_cleanly(&seen, signal)
                .iter()
                .all(|c| !c.met)
        );
        let late = no_new_stream_accepted(&seen, signal);
        assert_eq!(late[0].seen, "empty-reply");
        assert!(late[0].met);
        assert_eq!(late[1].seen, "accepted, then cut");
        assert!(!late[1].met);
    }

    #[test]
    fn grpc_status_names_are_checked() {
        assert!(check_grpc_status_name("UNAVAILABLE").is_ok());
        let error = check_grpc_status_name("Unavailable").unwrap_err();
        assert!(error.contains("OK, CANCELLED"), "{error}");
    }
}
