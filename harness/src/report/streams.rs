//! A scenario's long-lived streams in words, the same in every report: each stream's line (its
//! name, protocol, how it ended and its protocol's evidence) and the words of what it received
//! and of its connections' frames, which the HTML lanes' hover texts reuse.

use std::time::Duration;

use crate::model::observation::Observation;
use crate::model::streams::{
    ConnectionObservation, Goaway, Item, MAX_STREAM_ID, Protocol, StreamEnd, StreamObservation,
    WS_ABNORMAL_CLOSURE, WS_NO_STATUS, goaway_sequence, h2_error_name,
};

/// A stream as the reports show it: its name, what was seen of it, and the HTTP/2 connections
/// it used.
#[derive(Debug, Clone, Copy)]
pub struct StreamView<'a> {
    /// Its name in the scenario.
    pub name: &'a str,
    /// What was seen of it.
    pub stream: &'a StreamObservation,
    /// Its HTTP/2 connections (none for a WebSocket or an event stream over HTTP/1.1).
    pub connections: &'a [ConnectionObservation],
}

/// The streams of `observation`, in the order they were opened.
pub fn streams(observation: &Observation) -> Vec<StreamView<'_>> {
    let mut views: Vec<StreamView<'_>> = observation
        .streams
        .iter()
        .map(|named| StreamView {
            name: &named.name,
            stream: &named.stream,
            connections: observation.stream_connections(&named.name),
        })
        .collect();
    views.sort_by_key(|v| v.stream.opened);
    views
}

/// When the stop's signal went out, as the judge reads it: the engine's kill event, else the
/// stop's issue (a process's signal is sent at once); None before any stop.
pub fn signal_at(observation: &Observation) -> Option<Duration> {
    observation
        .signal_sent_ms
        .or(observation.stop_issued_ms)
        .map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or_default()))
}

/// `0.386s`: a time from ready, as the timelines print it.
pub fn seconds(at: Duration) -> String {
    format!("{:.3}s", at.as_secs_f64())
}

/// `open (websocket): closed 1001 "server shutting down" · 9 received, 1 after the signal ·
/// last tick 8`: the stream's line, `signal` the moment the stop's signal went out.
pub fn line(view: &StreamView<'_>, signal: Option<Duration>) -> String {
    let stream = view.stream;
    let mut parts = vec![format!(
        "{} ({}): {}",
        view.name,
        protocol_words(stream),
        end_words(stream)
    )];
    parts.push(received_words(stream, signal));
    if let Some(last) = last_words(stream) {
        parts.push(last);
    }
    for connection in view.connections {
        parts.push(connection_words(connection));
    }
    // A status's message is in its words already.
    if !stream.detail.is_empty() && !matches!(stream.end, StreamEnd::Status { .. }) {
        parts.push(format!("client: {}", stream.detail));
    }
    parts.join(" · ")
}

/// `h2c, stream 3`, `websocket`: the protocol, and the HTTP/2 stream id when it had one.
pub fn protocol_words(stream: &StreamObservation) -> String {
    match stream.stream_id {
        Some(id) => format!("{}, stream {id}", stream.protocol.name()),
        None => stream.protocol.name().to_string(),
    }
}

/// How the stream ended, with its protocol's evidence: `closed 1001 "going away"`, `cut, no
/// close frame (1006)`, `status UNAVAILABLE "server shutting down"`, `going-away`, ...
pub fn end_words(stream: &StreamObservation) -> String {
    match &stream.end {
        StreamEnd::Closed { code, reason } => {
            let mut words = format!("closed {code}");
            if *code == WS_NO_STATUS {
                words.push_str(" (the close frame had no code)");
            }
            if !reason.is_empty() {
                words.push_str(&format!(" {reason:?}"));
            }
            words
        }
        StreamEnd::Cut if stream.protocol == Protocol::Websocket => {
            format!("cut, no close frame ({WS_ABNORMAL_CLOSURE})")
        }
        StreamEnd::Status { name, message, .. } => {
            let mut words = format!("status {name}");
            if !message.is_empty() {
                words.push_str(&format!(" {message:?}"));
            }
            words
        }
        StreamEnd::Reset { code } if stream.end.never_processed() => {
            format!("reset {} (never processed)", h2_error_name(*code))
        }
        StreamEnd::Reset { code } => format!("reset {}", h2_error_name(*code)),
        StreamEnd::RefusedByGoaway => "refused-by-goaway (never processed)".to_string(),
        StreamEnd::GoingAway => "going-away (the server's last event, then the end)".to_string(),
        end => end.name().to_string(),
    }
}

/// The end in a word or two, written after a lane's bar: `close 1001`, `status UNAVAILABLE`,
/// `cut (1006)`, `going-away`, `reset REFUSED_STREAM`.
pub fn end_label(stream: &StreamObservation) -> String {
    match &stream.end {
        StreamEnd::Closed { code, .. } => format!("close {code}"),
        StreamEnd::Cut if stream.protocol == Protocol::Websocket => {
            format!("cut ({WS_ABNORMAL_CLOSURE})")
        }
        StreamEnd::Status { name, .. } => format!("status {name}"),
        StreamEnd::Reset { code } => format!("reset {}", h2_error_name(*code)),
        end => end.name().to_string(),
    }
}

/// `9 received, 1 after the signal`: how much arrived, and how much of it after `signal`.
pub fn received_words(stream: &StreamObservation, signal: Option<Duration>) -> String {
    let total = stream.received.len();
    match signal {
        Some(signal) if stream.opened < signal => format!(
            "{total} received, {} after the signal",
            stream.received_after(signal)
        ),
        Some(_) => format!("opened after the signal, {total} received"),
        None => format!("{total} received"),
    }
}

/// The last thing of its protocol's kind that arrived: `last event 7 (going-away)` for an event
/// stream, `last tick 8` for numbered messages; None when nothing of the kind came.
pub fn last_words(stream: &StreamObservation) -> Option<String> {
    let event = stream.received.iter().rev().find_map(|r| match &r.item {
        Item::Event { id, event, .. } => Some((id, event)),
        _ => None,
    });
    if let Some((id, event)) = event {
        let id = id.as_deref().map_or(String::new(), |id| format!(" {id}"));
        let event = event
            .as_deref()
            .map_or(String::new(), |event| format!(" ({event})"));
        return Some(format!("last event{id}{event}"));
    }
    stream.last_number().map(|n| format!("last tick {n}"))
}

/// `GOAWAY last stream 2^31-1 at 0.310s, GOAWAY last stream 1 at 0.320s (two-step) · 1 PING ·
/// connection closed at 0.520s`: one connection's frames and close.
pub fn connection_words(connection: &ConnectionObservation) -> String {
    let mut parts = Vec::new();
    if connection.goaways.is_empty() {
        parts.push("no GOAWAY".to_string());
    } else {
        let frames: Vec<String> = connection.goaways.iter().map(goaway_words).collect();
        parts.push(format!(
            "{} ({})",
            frames.join(", "),
            goaway_sequence(&connection.goaways).name()
        ));
    }
    match connection.pings.len() {
        0 => {}
        1 => parts.push("1 PING".to_string()),
        n => parts.push(format!("{n} PINGs")),
    }
    match connection.closed {
        Some(closed) => parts.push(format!("connection closed at {}", seconds(closed))),
        None => parts.push("connection open when the client stopped watching".to_string()),
    }
    parts.join(" · ")
}

/// `GOAWAY last stream 1 at 0.320s`, with its error code when it is not NO_ERROR.
pub fn goaway_words(goaway: &Goaway) -> String {
    let mut words = format!(
        "GOAWAY last stream {} at {}",
        stream_id_words(goaway.last_stream_id),
        seconds(goaway.at)
    );
    if goaway.error_code != 0 {
        words.push_str(&format!(" {}", h2_error_name(goaway.error_code)));
    }
    words
}

/// A last stream id as people read it: 2^31-1 (the first step's "no new streams soon") by
/// name, others as numbers.
pub fn stream_id_words(id: u32) -> String {
    if id == MAX_STREAM_ID {
        "2^31-1".to_string()
    } else {
        id.to_string()
    }
}

/// One received item in words: `head 101`, `tick 3`, `event 7 (going-away): server shutting
/// down`, `data 16384 bytes`.
pub fn item_words(item: &Item) -> String {
    match item {
        Item::Head { status } => format!("head {status}"),
        Item::Data { bytes } => format!("data {bytes} bytes"),
        Item::Message { text, .. } => short(text),
        Item::Event { id, event, data } => {
            let id = id.as_deref().map_or(String::new(), |id| format!(" {id}"));
            let event = event
                .as_deref()
                .map_or(String::new(), |event| format!(" ({event})"));
            format!("event{id}{event}: {}", short(data))
        }
    }
}

/// At most 60 characters of `text`, on one line.
fn short(text: &str) -> String {
    const MAX: usize = 60;
    let text = text.replace('\n', " ");
    if text.chars().count() <= MAX {
        text
    } else {
        let head: String = text.chars().take(MAX - 1).collect();
        format!("{head}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::streams::Received;

    fn at(ms: u64, item: Item) -> Received {
        Received {
            at: Duration::from_millis(ms),
            item,
        }
    }

    fn tick(ms: u64, n: u64) -> Received {
        at(
            ms,
            Item::Message {
                number: Some(n),
                text: format!("tick {n}"),
            },
        )
    }

    fn stream(protocol: Protocol, end: StreamEnd, received: Vec<Received>) -> StreamObservation {
        StreamObservation {
            protocol,
            target: "/".to_string(),
            stream_id: None,
            opened: Duration::from_millis(5),
            received,
            end,
            ended: Duration::from_millis(400),
            detail: String::new(),
        }
    }

    #[test]
    fn a_websocket_s_line_gives_its_close_frame_and_what_came_after_the_signal() {
        let ws = stream(
            Protocol::Websocket,
            StreamEnd::Closed {
                code: 1001,
                reason: "server shutting down".to_string(),
            },
            vec![
                at(6, Item::Head { status: 101 }),
                tick(100, 1),
                tick(350, 2),
            ],
        );
        let view = StreamView {
            name: "open",
            stream: &ws,
            connections: &[],
        };
        assert_eq!(
            line(&view, Some(Duration::from_millis(300))),
            r#"open (websocket): closed 1001 "server shutting down" · 3 received, 1 after the signal · last tick 2"#
        );
        assert_eq!(end_label(&ws), "close 1001");
        let cut = stream(Protocol::Websocket, StreamEnd::Cut, Vec::new());
        assert_eq!(end_words(&cut), "cut, no close frame (1006)");
        assert_eq!(end_label(&cut), "cut (1006)");
    }

    #[test]
    fn an_h2c_stream_s_line_gives_its_connection_s_goaway_frames() {
        let mut h2c = stream(
            Protocol::H2c,
            StreamEnd::GoingAway,
            vec![at(
                390,
                Item::Event {
                    id: Some("7".to_string()),
                    event: Some("going-away".to_string()),
                    data: "server shutting down".to_string(),
                },
            )],
        );
        h2c.stream_id = Some(1);
        let goaway = |ms, last_stream_id, error_code| Goaway {
            at: Duration::from_millis(ms),
            last_stream_id,
            error_code,
            debug: String::new(),
        };
        let connection = ConnectionObservation {
            protocol: Protocol::H2c,
            opened: Duration::from_millis(1),
            goaways: vec![goaway(310, MAX_STREAM_ID, 0), goaway(320, 1, 0)],
            pings: vec![Duration::from_millis(315)],
            closed: Some(Duration::from_millis(520)),
            streams: Vec::new(),
        };
        let view = StreamView {
            name: "open",
            stream: &h2c,
            connections: std::slice::from_ref(&connection),
        };
        assert_eq!(
            line(&view, None),
            "open (h2c, stream 1): going-away (the server's last event, then the end) · 1 received · last event 7 (going-away) · GOAWAY last stream 2^31-1 at 0.310s, GOAWAY last stream 1 at 0.320s (two-step) · 1 PING · connection closed at 0.520s"
        );
        assert_eq!(
            goaway_words(&goaway(5, 3, 2)),
            "GOAWAY last stream 3 at 0.005s INTERNAL_ERROR"
        );
        let silent = ConnectionObservation {
            goaways: Vec::new(),
            pings: Vec::new(),
            closed: None,
            ..connection
        };
        assert_eq!(
            connection_words(&silent),
            "no GOAWAY · connection open when the client stopped watching"
        );
    }

    #[test]
    fn a_grpc_call_s_end_is_its_status_and_a_failure_keeps_the_client_s_words() {
        let call = stream(
            Protocol::Grpc,
            StreamEnd::grpc_status(14, "server shutting down"),
            Vec::new(),
        );
        assert_eq!(
            end_words(&call),
            r#"status UNAVAILABLE "server shutting down""#
        );
        assert_eq!(end_label(&call), "status UNAVAILABLE");
        let mut late = stream(Protocol::Grpc, StreamEnd::Refused, Vec::new());
        late.opened = Duration::from_millis(600);
        late.detail = "connection refused".to_string();
        let view = StreamView {
            name: "late",
            stream: &late,
            connections: &[],
        };
        assert_eq!(
            line(&view, Some(Duration::from_millis(300))),
            "late (grpc): refused · opened after the signal, 0 received · client: connection refused"
        );
    }
}
