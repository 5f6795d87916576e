//! Judges a scenario's long-lived streams: each expectation of its `expect` table about them
//! (`close-code`, `goaway`, `streams-cut`, `last-event`, `grpc-status`), and the two
//! requirements read for streams: every stream open at the signal ends cleanly; no new stream is
//! accepted once shutdown began. The protocol observers only observe; this judges.

use std::time::Duration;

use crate::model::outcome::Outcome;
use crate::model::stream_expect::{StreamCheck, StreamExpectations};
use crate::model::streams::{
    ConnectionObservation, Item, NamedStream, Protocol, StreamEnd, StreamObservation,
    StreamsObservation, WS_CLEAN_CLOSES,
};
use crate::model::verdict::{Failure, Requirement};

/// The SSE event type of an event with no `event:` field (HTML standard).
const DEFAULT_EVENT: &str = "message";

/// When the signal went out, as far as the client can place it: no earlier than the stop's issue,
/// no later than the engine's kill event (stamped after the kill, by up to ~100 ms under load).
/// A stream that ended after the issue may have been ended by the signal (a fast server says
/// goodbye before the kill event is stamped); only one opened after the kill event was surely
/// opened once shutdown had begun.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SignalWindow {
    /// When the stop was issued.
    pub(super) issued: Duration,
    /// When the engine says it sent the signal.
    pub(super) sent: Duration,
}

impl SignalWindow {
    /// A signal placed exactly (a process's, sent by the harness itself).
    pub(super) fn at(signal: Duration) -> Self {
        Self {
            issued: signal,
            sent: signal,
        }
    }
}

/// One expectation checked, with the failure it is when it did not hold.
struct Judged {
    check: StreamCheck,
    failure: Failure,
}

/// Each expectation checked against what was seen, the signal having gone out at `signal` on
/// the run's timeline: one check per stream or connection it applies to (none when there is
/// none: an expectation of nothing is not tested). `close-code`, `last-event` and `grpc-status`
/// are about the streams open at the signal; those opened later are judged by
/// [`no_new_stream_accepted`]. `streams-cut` counts them all, `goaway` looks at every
/// connection opened before the signal.
pub fn check_streams(
    expect: &StreamExpectations,
    seen: &StreamsObservation,
    signal: Duration,
) -> Vec<StreamCheck> {
    judged(
        expect,
        &seen.streams,
        &seen.connections,
        SignalWindow::at(signal),
    )
    .into_iter()
    .map(|j| j.check)
    .collect()
}

/// The expectations that did not hold, as failures with their evidence.
pub(super) fn stream_failures(
    expect: &StreamExpectations,
    streams: &[NamedStream],
    connections: &[ConnectionObservation],
    window: SignalWindow,
) -> Vec<Failure> {
    judged(expect, streams, connections, window)
        .into_iter()
        .filter(|j| !j.check.met)
        .map(|j| j.failure)
        .collect()
}

fn judged(
    expect: &StreamExpectations,
    streams: &[NamedStream],
    connections: &[ConnectionObservation],
    window: SignalWindow,
) -> Vec<Judged> {
    let signal = window.sent;
    let mut judged = Vec::new();
    let across = streams.iter().filter(|s| s.stream.opened < signal);
    let of = |protocol: Protocol| {
        across
            .clone()
            .filter(move |s| s.stream.protocol == protocol)
    };
    if let Some(code) = expect.close_code {
        for named in of(Protocol::Websocket) {
            let close = named
                .stream
                .close_code()
                .map_or_else(|| named.stream.end.name().to_string(), |c| c.to_string());
            judged.push(Judged {
                check: StreamCheck::new("close-code", &named.name, code.to_string(), close.clone()),
                failure: Failure::CloseCode {
                    stream: named.name.clone(),
                    expected: code,
                    seen: close,
                },
            });
        }
    }
    if let Some(goaway) = expect.goaway {
        // A connection opened after the signal had nothing to be told: it is judged by
        // whether its stream was accepted.
        let open = connections.iter().filter(|c| c.opened < signal);
        for (n, connection) in open.enumerate() {
            let name = format!("connection {} ({})", n + 1, connection.protocol.name());
            let sequence = connection.goaway_sequence();
            judged.push(Judged {
                check: StreamCheck::new(
                    "goaway",
                    &name,
                    goaway.name().to_string(),
                    sequence.name().to_string(),
                ),
                failure: Failure::Goaway {
                    connection: name,
                    expected: goaway,
                    seen: sequence,
                    frames: connection.goaways.clone(),
                },
            });
        }
    }
    if let Some(bound) = expect.streams_cut {
        let cut: Vec<String> = streams
            .iter()
            .filter(|s| is_cut(&s.stream, signal))
            .map(|s| s.name.clone())
            .collect();
        let count = cut.len() as u64;
        let mut check = StreamCheck::new(
            "streams-cut",
            "all streams",
            bound.to_string(),
            count.to_string(),
        );
        check.met = bound.holds(count, streams.len() as u64);
        judged.push(Judged {
            check,
            failure: Failure::StreamsCut {
                expected: bound,
                seen: count,
                cut,
            },
        });
    }
    if let Some(event) = &expect.last_event {
        // Event streams: over HTTP/1.1, and over h2c when they carried events.
        let event_streams = across.clone().filter(|s| {
            s.stream.protocol == Protocol::Sse
                || (s.stream.protocol == Protocol::H2c && last_event_type(&s.stream).is_some())
        });
        for named in event_streams {
            let last = last_event_type(&named.stream);
            judged.push(Judged {
                check: StreamCheck::new(
                    "last-event",
                    &named.name,
                    event.clone(),
                    last.unwrap_or("none").to_string(),
                ),
                failure: Failure::LastEvent {
                    stream: named.name.clone(),
                    expected: event.clone(),
                    seen: last.map(str::to_string),
                },
            });
        }
    }
    // Without a signal (the server exited before the stop) nothing here can be placed.
    if expect.requirements && signal != Duration::MAX {
        judged.extend(requirements(streams, window));
    }
    if let Some(status) = &expect.grpc_status {
        for named in of(Protocol::Grpc) {
            let seen = match &named.stream.end {
                StreamEnd::Status { name, .. } => name.clone(),
                other => other.name().to_string(),
            };
            judged.push(Judged {
                check: StreamCheck::new("grpc-status", &named.name, status.clone(), seen.clone()),
                failure: Failure::GrpcStatus {
                    stream: named.name.clone(),
                    expected: status.clone(),
                    seen,
                },
            });
        }
    }
    judged
}

/// The two requirements read per stream, each stream that breaks one a failure; and each
/// stream opened before the signal that ended before the stop, on its own and not `ok` (an `ok`
/// one is a request never in flight, judged with the other requests).
fn requirements(streams: &[NamedStream], window: SignalWindow) -> Vec<Judged> {
    let failure = |requirement| {
        move |check: StreamCheck| Judged {
            failure: Failure::StreamRequirement {
                requirement,
                stream: check.subject.clone(),
                seen: check.seen.clone(),
            },
            check,
        }
    };
    let open = open_at_signal(streams, window)
        .into_iter()
        .map(failure(Requirement::AnswersInFlight));
    let late = opened_after_signal(streams, window)
        .into_iter()
        .map(failure(Requirement::RefusesNew));
    let early = streams
        .iter()
        .filter(|s| ended_before(&s.stream, window) && s.stream.outcome() != Outcome::Ok)
        .map(|named| {
            let seen = named.stream.describe_end_fully();
            let mut check = StreamCheck::new(
                "open-across-the-stop",
                &named.name,
                "open at the signal".to_string(),
                format!("ended before it: {seen}"),
            );
            check.met = false;
            Judged {
                check,
                failure: Failure::StreamEndedEarly {
                    stream: named.name.clone(),
                    ended_ms: millis(named.stream.ended),
                    stop_issued_ms: millis(window.issued),
                    seen,
                },
            }
        });
    open.chain(late).chain(early).collect()
}

/// Whether `stream`, opened before the signal, ended on its own before the stop was issued:
/// the complement of [`open_at_signal`] among the streams opened before the signal.
fn ended_before(stream: &StreamObservation, window: SignalWindow) -> bool {
    stream.opened < window.sent
        && stream.ended < window.issued
        && !stream.end.is_goodbye()
        && ends_cleanly(stream)
}

fn millis(at: Duration) -> i64 {
    i64::try_from(at.as_millis()).unwrap_or(i64::MAX)
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
    open_at_signal(&seen.streams, SignalWindow::at(signal))
}

/// The same over `streams`. Only a stream that ended on its own before the signal (complete) was
/// not open at it: one the server ended with its goodbye, or that was cut, ended because of the
/// shutdown, however soon before the engine's kill event (stamped after the kill) it did.
pub(super) fn open_at_signal(streams: &[NamedStream], window: SignalWindow) -> Vec<StreamCheck> {
    streams
        .iter()
        .filter(|s| s.stream.opened < window.sent && !ended_before(&s.stream, window))
        .map(|named| {
            let end = named.stream.describe_end();
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
    opened_after_signal(&seen.streams, SignalWindow::at(signal))
}

/// The same over `streams`.
pub(super) fn opened_after_signal(
    streams: &[NamedStream],
    window: SignalWindow,
) -> Vec<StreamCheck> {
    streams
        .iter()
        .filter(|s| s.stream.opened >= window.sent)
        .map(|named| {
            let accepted = accepted(&named.stream);
            let mut check = StreamCheck::new(
                "no-new-stream-accepted",
                &named.name,
                "not accepted".to_string(),
                if accepted {
                    format!("accepted, then {}", named.stream.describe_end())
                } else {
                    named.stream.describe_end()
                },
            );
            check.met = !accepted;
            check
        })
        .collect()
}

/// Whether a stream ended with its protocol's own ending: an HTTP/2 END_STREAM or the last
/// chunk, the SSE goodbye, a WebSocket close frame 1000, 1001 or 1012, a gRPC status the server sent;
/// or was never processed (safe to retry).
pub fn ends_cleanly(stream: &StreamObservation) -> bool {
    match &stream.end {
        StreamEnd::Complete | StreamEnd::GoingAway | StreamEnd::Status { .. } => true,
        StreamEnd::Closed { code, .. } => WS_CLEAN_CLOSES.contains(code),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::load::Bound;
    use crate::model::streams::{ConnectionObservation, Goaway, MAX_STREAM_ID, Received};
    use crate::model::streams::{GoawaySequence, NamedStream};

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
            streams_cut: Some(Bound::Exactly(0)),
            last_event: Some("going-away".to_string()),
            grpc_status: Some("UNAVAILABLE".to_string()),
            requirements: false,
        };
        let checks = check_streams(&expect, &graceful(), Duration::from_millis(100));
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

    /// 1012 (service restart) is a server's goodbye as 1001 is; 1011 (internal error) is an
    /// ending, but not a clean one.
    #[test]
    fn a_close_1012_ends_a_websocket_cleanly_and_1011_does_not() {
        let closed = |code: u16| {
            stream(
                "ws",
                Protocol::Websocket,
                10,
                StreamEnd::Closed {
                    code,
                    reason: String::new(),
                },
                vec![Item::Head { status: 101 }],
            )
        };
        let restart = closed(1012);
        assert!(ends_cleanly(&restart.stream));
        assert!(restart.stream.end.is_goodbye());
        assert_eq!(restart.stream.outcome(), Outcome::Ok);
        let error = closed(1011);
        assert!(!ends_cleanly(&error.stream));
        assert!(!error.stream.end.is_goodbye());
        assert_eq!(error.stream.outcome(), Outcome::HttpError);
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
            streams_cut: Some(Bound::Exactly(0)),
            last_event: Some("going-away".to_string()),
            ..StreamExpectations::default()
        };
        let signal = Duration::from_millis(100);
        let seen_words: Vec<(String, String)> = check_streams(&expect, &seen, signal)
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
        assert_eq!(late[1].seen, "accepted, then cut (1006, no close frame)");
        assert!(!late[1].met);
    }

    fn requirements_only() -> StreamExpectations {
        StreamExpectations {
            requirements: true,
            ..StreamExpectations::default()
        }
    }

    #[test]
    fn the_requirements_as_expectations_fail_each_stream_that_breaks_one() {
        let signal = Duration::from_millis(100);
        let graceful = graceful();
        let failures = stream_failures(
            &requirements_only(),
            &graceful.streams,
            &graceful.connections,
            SignalWindow::at(signal),
        );
        assert_eq!(failures, []);

        let seen = [
            stream(
                "open",
                Protocol::Websocket,
                10,
                StreamEnd::Cut,
                vec![Item::Head { status: 101 }],
            ),
            stream(
                "late",
                Protocol::Grpc,
                200,
                StreamEnd::Cut,
                vec![Item::Message {
                    number: None,
                    text: "2 bytes: 0801".to_string(),
                }],
            ),
        ];
        let failures = stream_failures(&requirements_only(), &seen, &[], SignalWindow::at(signal));
        let words: Vec<String> = failures.iter().map(|f| f.to_string()).collect();
        assert_eq!(
            words,
            [
                "stream `open` was open at the signal and did not end cleanly: cut (1006, no close frame)",
                "stream `late` was opened after the signal and accepted, then cut",
            ]
        );
        // Without a signal there is nothing to place the streams against.
        assert_eq!(
            stream_failures(
                &requirements_only(),
                &seen,
                &[],
                SignalWindow::at(Duration::MAX)
            ),
            []
        );
    }

    #[test]
    fn a_stream_that_ended_before_the_signal_tested_nothing() {
        let mut unimplemented = stream(
            "open",
            Protocol::Grpc,
            10,
            StreamEnd::grpc_status(12, "unknown service no.Such"),
            vec![],
        );
        unimplemented.stream.ended = Duration::from_millis(12);
        let failures = stream_failures(
            &requirements_only(),
            &[unimplemented],
            &[],
            SignalWindow::at(Duration::from_millis(100)),
        );
        let [Failure::StreamEndedEarly { stream, seen, .. }] = &failures[..] else {
            panic!("{failures:?}");
        };
        assert_eq!(stream, "open");
        assert_eq!(seen, "status UNIMPLEMENTED (\"unknown service no.Such\")");
        let words = failures[0].to_string();
        assert!(
            words.contains("ended at 12 ms, before the stop (issued at 100 ms)"),
            "{words}"
        );
        assert!(
            words.contains("point the path at one the server holds open"),
            "{words}"
        );
    }

    /// A fast server's goodbye can come before the engine's kill event is stamped: a stream that
    /// ended after the stop was issued was open at the signal, whatever its ending.
    #[test]
    fn a_stream_ended_between_the_stop_and_the_kill_event_was_open_at_the_signal() {
        let mut watch = stream(
            "open",
            Protocol::Grpc,
            10,
            StreamEnd::grpc_status(0, ""),
            vec![Item::Message {
                number: None,
                text: "2 bytes: 0802".to_string(),
            }],
        );
        watch.stream.ended = Duration::from_millis(1024);
        let window = SignalWindow {
            issued: Duration::from_millis(1001),
            sent: Duration::from_millis(1026),
        };
        let open = open_at_signal(std::slice::from_ref(&watch), window);
        assert_eq!(open.len(), 1, "{open:?}");
        assert!(open[0].met, "{open:?}");
        let failures = stream_failures(&requirements_only(), &[watch.clone()], &[], window);
        assert_eq!(failures, []);
        // Ended before the stop was even issued: not open at the signal.
        watch.stream.ended = Duration::from_millis(990);
        assert_eq!(open_at_signal(&[watch], window), []);
    }
}
