//! The server's log lines: what it prints (text or JSON, one line per event) and how the harness
//! reads the text form back. Keep these stable: they are how the harness knows the server
//! started, received a request and got the signal.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::mode::Mode;
use crate::signal::StopSignal;
use crate::stream::{GoawayReason, StreamEnd, StreamProtocol};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// `<ts> <message>`, like the Go server of the original experiment.
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// The name used by `--log-format`.
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("unknown log format {text:?}; use text or json")),
        }
    }
}

/// One event of the server's life, as a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogLine {
    /// Listening; `addr` is the address actually bound. Always the first line.
    Start {
        /// The bound address (with the real port when port 0 was asked for).
        addr: SocketAddr,
        /// The shutdown mode.
        mode: Mode,
    },
    /// A request arrived.
    RequestReceived {
        /// HTTP method.
        method: String,
        /// Path and query.
        path: String,
        /// The client's request id ([`crate::REQUEST_ID_HEADER`]), when it sent one: how the
        /// harness knows a request reached the server, whatever the client saw.
        id: Option<String>,
    },
    /// A response's head is about to be sent.
    ResponseSent {
        /// HTTP status code.
        status: u16,
    },
    /// The first shutdown signal arrived.
    SignalReceived {
        /// Which one.
        signal: StopSignal,
    },
    /// The listener is closed; requests in flight are being drained.
    ShutdownBegun,
    /// The linger drain began (`--keep-alive-drain linger`): for up to `linger`, requests on
    /// connections already open are still served, each answered with `Connection: close`.
    Linger {
        /// How long the server lingers at most (less once every connection has closed).
        linger: Duration,
    },
    /// Every request in flight was answered.
    Drained {
        /// Requests answered during the drain.
        count: usize,
    },
    /// The drain deadline passed; what was left is cut.
    DeadlineHit {
        /// Requests cut.
        count: usize,
    },
    /// Another signal arrived during the drain.
    SecondSignal {
        /// Which one.
        signal: StopSignal,
    },
    /// The process is about to exit.
    Exit {
        /// The exit code.
        code: i32,
    },
    /// A long-lived stream began: an event stream, a WebSocket or a streaming gRPC call.
    StreamOpened {
        /// Its protocol.
        protocol: StreamProtocol,
        /// The server's number for it, from 1, unique for the process: its closing line has it.
        stream: u64,
        /// The request's path and query (the gRPC method's path).
        path: String,
        /// The client's request id ([`crate::REQUEST_ID_HEADER`]), when it sent one.
        id: Option<String>,
    },
    /// A long-lived stream ended.
    StreamClosed {
        /// Its protocol.
        protocol: StreamProtocol,
        /// Its number, as in its [`LogLine::StreamOpened`] line.
        stream: u64,
        /// How it ended.
        how: StreamEnd,
        /// Messages the server had sent on it (events, WebSocket messages, gRPC ticks), its
        /// goodbye not included.
        sent: u64,
    },
    /// The server began an HTTP/2 connection's graceful close: a GOAWAY naming the largest stream
    /// id (2^31-1), a PING, and after the client's answer a GOAWAY naming the last stream it
    /// processed. Streams in flight are still served.
    GoawaySent {
        /// Why.
        reason: GoawayReason,
        /// The client's address.
        peer: SocketAddr,
        /// Requests in flight on the connection at that moment.
        in_flight: u64,
    },
    /// The server sent a WebSocket close frame.
    CloseFrameSent {
        /// The stream's protocol (a WebSocket).
        protocol: StreamProtocol,
        /// The stream's number.
        stream: u64,
        /// The close code (1001 at a shutdown).
        code: u16,
        /// The close reason.
        reason: String,
    },
}

const START: &str = "Start Server... listening on ";
const RECEIVED: &str = "Receive Request... ";
const RESPONSE: &str = "Send Response... ";
const SIGNAL: &str = "Received SIGNAL: ";
const CLOSE: &str = "Close Server...";
const LINGER: &str = "Linger ";
const LINGER_REST: &str = ": open connections served with Connection: close";
const DRAINED: &str = "Drained: ";
const DEADLINE: &str = "Drain deadline hit: ";
const SECOND: &str = "Received second SIGNAL: ";
const EXIT: &str = "Exit ";
const STREAM_OPENED: &str = "Stream opened... ";
const STREAM_CLOSED: &str = "Stream closed... ";
const GOAWAY: &str = "GOAWAY sent... ";
const CLOSE_FRAME: &str = "Close frame sent... ";

impl LogLine {
    /// The message of the text format, without the timestamp.
    pub fn text(&self) -> String {
        match self {
            LogLine::Start { addr, mode } => format!("{START}{addr} (mode {mode})"),
            LogLine::RequestReceived { method, path, id } => match id {
                Some(id) => format!("{RECEIVED}{method} {path} id={id}"),
                None => format!("{RECEIVED}{method} {path}"),
            },
            LogLine::ResponseSent { status } => format!("{RESPONSE}{status}"),
            LogLine::SignalReceived { signal } => format!("{SIGNAL}{}", signal.go_name()),
            LogLine::ShutdownBegun => CLOSE.to_string(),
            LogLine::Linger { linger } => {
                format!(
                    "{LINGER}{}{LINGER_REST}",
                    humantime::format_duration(*linger)
                )
            }
            LogLine::Drained { count } => format!("{DRAINED}{count} request(s) answered"),
            LogLine::DeadlineHit { count } => format!("{DEADLINE}{count} request(s) cut"),
            LogLine::SecondSignal { signal } => {
                format!("{SECOND}{}, exiting now", signal.go_name())
            }
            LogLine::Exit { code } => format!("{EXIT}{code}"),
            LogLine::StreamOpened {
                protocol,
                stream,
                path,
                id,
            } => match id {
                Some(id) => format!("{STREAM_OPENED}{protocol} #{stream} {path} id={id}"),
                None => format!("{STREAM_OPENED}{protocol} #{stream} {path}"),
            },
            LogLine::StreamClosed {
                protocol,
                stream,
                how,
                sent,
            } => format!("{STREAM_CLOSED}{protocol} #{stream} {how}, {sent} message(s) sent"),
            LogLine::GoawaySent {
                reason,
                peer,
                in_flight,
            } => format!("{GOAWAY}{reason} to {peer}, {in_flight} stream(s) in flight"),
            LogLine::CloseFrameSent {
                protocol,
                stream,
                code,
                reason,
            } => format!("{CLOSE_FRAME}{protocol} #{stream} {code} {reason}"),
        }
    }

    /// The fields of the JSON format, without the timestamp.
    pub fn json(&self) -> Value {
        match self {
            LogLine::Start { addr, mode } => {
                json!({"event": "start", "addr": addr.to_string(), "mode": mode.name()})
            }
            LogLine::RequestReceived { method, path, id } => {
                json!({"event": "request_received", "method": method, "path": path, "id": id})
            }
            LogLine::ResponseSent { status } => json!({"event": "response_sent", "status": status}),
            LogLine::SignalReceived { signal } => {
                json!({"event": "signal_received", "signal": signal.go_name()})
            }
            LogLine::ShutdownBegun => json!({"event": "shutdown_begun"}),
            LogLine::Linger { linger } => {
                let millis = u64::try_from(linger.as_millis()).unwrap_or(u64::MAX);
                json!({"event": "linger", "linger_ms": millis})
            }
            LogLine::Drained { count } => json!({"event": "drained", "count": count}),
            LogLine::DeadlineHit { count } => json!({"event": "deadline_hit", "count": count}),
            LogLine::SecondSignal { signal } => {
                json!({"event": "second_signal", "signal": signal.go_name()})
            }
            LogLine::Exit { code } => json!({"event": "exit", "code": code}),
            LogLine::StreamOpened {
                protocol,
                stream,
                path,
                id,
            } => json!({
                "event": "stream_opened",
                "protocol": protocol.name(),
                "stream": stream,
                "path": path,
                "id": id,
            }),
            LogLine::StreamClosed {
                protocol,
                stream,
                how,
                sent,
            } => json!({
                "event": "stream_closed",
                "protocol": protocol.name(),
                "stream": stream,
                "how": how.name(),
                "sent": sent,
            }),
            LogLine::GoawaySent {
                reason,
                peer,
                in_flight,
            } => json!({
                "event": "goaway_sent",
                "reason": reason.name(),
                "peer": peer.to_string(),
                "in_flight": in_flight,
            }),
            LogLine::CloseFrameSent {
                protocol,
                stream,
                code,
                reason,
            } => json!({
                "event": "close_frame_sent",
                "protocol": protocol.name(),
                "stream": stream,
                "code": code,
                "reason": reason,
            }),
        }
    }

    /// Reads a JSON-format line (one object, with or without `ts`); None for anything else.
    pub fn parse_json(line: &str) -> Option<LogLine> {
        let value: Value = serde_json::from_str(line.trim()).ok()?;
        let text = |name: &str| value.get(name)?.as_str();
        let number = |name: &str| value.get(name)?.as_u64();
        let id = || match value.get("id")? {
            Value::Null => Some(None),
            Value::String(id) => Some(Some(id.clone())),
            _ => None,
        };
        let signal = || StopSignal::from_go_name(text("signal")?);
        let line = match text("event")? {
            "start" => LogLine::Start {
                addr: text("addr")?.parse().ok()?,
                mode: text("mode")?.parse().ok()?,
            },
            "request_received" => LogLine::RequestReceived {
                method: text("method")?.to_string(),
                path: text("path")?.to_string(),
                id: id()?,
            },
            "response_sent" => LogLine::ResponseSent {
                status: u16::try_from(number("status")?).ok()?,
            },
            "signal_received" => LogLine::SignalReceived { signal: signal()? },
            "shutdown_begun" => LogLine::ShutdownBegun,
            "linger" => LogLine::Linger {
                linger: Duration::from_millis(number("linger_ms")?),
            },
            "drained" => LogLine::Drained {
                count: usize::try_from(number("count")?).ok()?,
            },
            "deadline_hit" => LogLine::DeadlineHit {
                count: usize::try_from(number("count")?).ok()?,
            },
            "second_signal" => LogLine::SecondSignal { signal: signal()? },
            "exit" => LogLine::Exit {
                code: i32::try_from(value.get("code")?.as_i64()?).ok()?,
            },
            "stream_opened" => LogLine::StreamOpened {
                protocol: text("protocol")?.parse().ok()?,
                stream: number("stream")?,
                path: text("path")?.to_string(),
                id: id()?,
            },
            "stream_closed" => LogLine::StreamClosed {
                protocol: text("protocol")?.parse().ok()?,
                stream: number("stream")?,
                how: text("how")?.parse().ok()?,
                sent: number("sent")?,
            },
            "goaway_sent" => LogLine::GoawaySent {
                reason: text("reason")?.parse().ok()?,
                peer: text("peer")?.parse().ok()?,
                in_flight: number("in_flight")?,
            },
            "close_frame_sent" => LogLine::CloseFrameSent {
                protocol: text("protocol")?.parse().ok()?,
                stream: number("stream")?,
                code: u16::try_from(number("code")?).ok()?,
                reason: text("reason")?.to_string(),
            },
            _ => return None,
        };
        Some(line)
    }

    /// The full line in `format` at `now`, newline included.
    pub fn render(&self, format: LogFormat, now: SystemTime) -> String {
        let ts = humantime::format_rfc3339_millis(now).to_string();
        match format {
            LogFormat::Text => format!("{ts} {}\n", self.text()),
            LogFormat::Json => {
                let mut fields = self.json();
                fields["ts"] = Value::String(ts);
                format!("{fields}\n")
            }
        }
    }

    /// Reads a text-format line (with or without its timestamp); None for any other line (a
    /// shell's, tini's, or the server's stderr).
    pub fn parse(line: &str) -> Option<LogLine> {
        let message = without_timestamp(line.trim_end());
        if let Some(rest) = message.strip_prefix(START) {
            let (addr, mode) = rest.split_once(" (mode ")?;
            return Some(LogLine::Start {
                addr: addr.parse().ok()?,
                mode: mode.strip_suffix(')')?.parse().ok()?,
            });
        }
        if let Some(rest) = message.strip_prefix(RECEIVED) {
            let (method, rest) = rest.split_once(' ')?;
            // A path has no spaces (it is a URI): an ` id=` after it is the request id.
            let (path, id) = match rest.split_once(" id=") {
                Some((path, id)) => (path, Some(id.to_string())),
                None => (rest, None),
            };
            return Some(LogLine::RequestReceived {
                method: method.to_string(),
                path: path.to_string(),
                id,
            });
        }
        if let Some(rest) = message.strip_prefix(RESPONSE) {
            return Some(LogLine::ResponseSent {
                status: rest.parse().ok()?,
            });
        }
        if let Some(rest) = message.strip_prefix(SECOND) {
            let name = rest.strip_suffix(", exiting now")?;
            return Some(LogLine::SecondSignal {
                signal: StopSignal::from_go_name(name)?,
            });
        }
        if let Some(rest) = message.strip_prefix(SIGNAL) {
            return Some(LogLine::SignalReceived {
                signal: StopSignal::from_go_name(rest)?,
            });
        }
        if message == CLOSE {
            return Some(LogLine::ShutdownBegun);
        }
        if let Some(rest) = message.strip_prefix(LINGER) {
            return Some(LogLine::Linger {
                linger: humantime::parse_duration(rest.strip_suffix(LINGER_REST)?).ok()?,
            });
        }
        if let Some(rest) = message.strip_prefix(DRAINED) {
            return Some(LogLine::Drained {
                count: rest.strip_suffix(" request(s) answered")?.parse().ok()?,
            });
        }
        if let Some(rest) = message.strip_prefix(DEADLINE) {
            return Some(LogLine::DeadlineHit {
                count: rest.strip_suffix(" request(s) cut")?.parse().ok()?,
            });
        }
        if let Some(rest) = message.strip_prefix(EXIT) {
            return Some(LogLine::Exit {
                code: rest.parse().ok()?,
            });
        }
        if let Some(rest) = message.strip_prefix(STREAM_OPENED) {
            let (protocol, stream, rest) = protocol_and_number(rest)?;
            // A path has no spaces: an ` id=` after it is the request id, as in Receive Request.
            let (path, id) = match rest.split_once(" id=") {
                Some((path, id)) => (path, Some(id.to_string())),
                None => (rest, None),
            };
            return Some(LogLine::StreamOpened {
                protocol,
                stream,
                path: path.to_string(),
                id,
            });
        }
        if let Some(rest) = message.strip_prefix(STREAM_CLOSED) {
            let (protocol, stream, rest) = protocol_and_number(rest)?;
            let (how, sent) = rest.split_once(", ")?;
            return Some(LogLine::StreamClosed {
                protocol,
                stream,
                how: how.parse().ok()?,
                sent: sent.strip_suffix(" message(s) sent")?.parse().ok()?,
            });
        }
        if let Some(rest) = message.strip_prefix(GOAWAY) {
            let (reason, rest) = rest.split_once(" to ")?;
            let (peer, in_flight) = rest.split_once(", ")?;
            return Some(LogLine::GoawaySent {
                reason: reason.parse().ok()?,
                peer: peer.parse().ok()?,
                in_flight: in_flight
                    .strip_suffix(" stream(s) in flight")?
                    .parse()
                    .ok()?,
            });
        }
        if let Some(rest) = message.strip_prefix(CLOSE_FRAME) {
            let (protocol, stream, rest) = protocol_and_number(rest)?;
            let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
            return Some(LogLine::CloseFrameSent {
                protocol,
                stream,
                code: code.parse().ok()?,
                reason: reason.to_string(),
            });
        }
        None
    }
}

/// Splits `<protocol> #<n> <rest>`, the start of every stream line.
fn protocol_and_number(text: &str) -> Option<(StreamProtocol, u64, &str)> {
    let (protocol, rest) = text.split_once(" #")?;
    let (number, rest) = rest.split_once(' ')?;
    Some((protocol.parse().ok()?, number.parse().ok()?, rest))
}

/// The line's leading RFC 3339 timestamp, when it has one: when the server wrote it.
pub fn timestamp(line: &str) -> Option<SystemTime> {
    let (first, _) = line.split_once(' ')?;
    humantime::parse_rfc3339(first).ok()
}

/// The line without its leading RFC 3339 timestamp, for timelines that show their own clock.
pub fn without_timestamp(line: &str) -> &str {
    match line.split_once(' ') {
        Some((first, rest)) if humantime::parse_rfc3339(first).is_ok() => rest,
        _ => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const T: Duration = Duration::from_millis(1_700_000_000_123);

    fn every_line() -> Vec<LogLine> {
        vec![
            LogLine::Start {
                addr: "127.0.0.1:40123".parse().unwrap(),
                mode: Mode::Graceful,
            },
            LogLine::RequestReceived {
                method: "GET".into(),
                path: "/?delay=2s".into(),
                id: None,
            },
            LogLine::RequestReceived {
                method: "GET".into(),
                path: "/".into(),
                id: Some("17".into()),
            },
            LogLine::ResponseSent { status: 200 },
            LogLine::SignalReceived {
                signal: StopSignal::Sigterm,
            },
            LogLine::ShutdownBegun,
            LogLine::Linger {
                linger: Duration::from_secs(1),
            },
            LogLine::Linger {
                linger: Duration::from_millis(1500),
            },
            LogLine::Drained { count: 3 },
            LogLine::DeadlineHit { count: 1 },
            LogLine::SecondSignal {
                signal: StopSignal::Sigint,
            },
            LogLine::Exit { code: 143 },
            LogLine::StreamOpened {
                protocol: StreamProtocol::Sse,
                stream: 1,
                path: "/events?every=100ms&for=10s".into(),
                id: None,
            },
            LogLine::StreamOpened {
                protocol: StreamProtocol::Grpc,
                stream: 12,
                path: "/shutdown.v1.Probe/Tick".into(),
                id: Some("tick-7".into()),
            },
            LogLine::StreamClosed {
                protocol: StreamProtocol::Ws,
                stream: 3,
                how: StreamEnd::GoingAway,
                sent: 41,
            },
            LogLine::StreamClosed {
                protocol: StreamProtocol::Grpc,
                stream: 4,
                how: StreamEnd::ClosedByClient,
                sent: 0,
            },
            LogLine::GoawaySent {
                reason: GoawayReason::Shutdown,
                peer: "127.0.0.1:50022".parse().unwrap(),
                in_flight: 2,
            },
            LogLine::GoawaySent {
                reason: GoawayReason::Idle,
                peer: "[::1]:443".parse().unwrap(),
                in_flight: 0,
            },
            LogLine::CloseFrameSent {
                protocol: StreamProtocol::Ws,
                stream: 3,
                code: 1001,
                reason: "server shutting down".into(),
            },
            LogLine::CloseFrameSent {
                protocol: StreamProtocol::Ws,
                stream: 5,
                code: 1000,
                reason: String::new(),
            },
        ]
    }

    #[test]
    fn every_text_line_parses_back() {
        for line in every_line() {
            let printed = line.render(LogFormat::Text, SystemTime::UNIX_EPOCH + T);
            assert_eq!(LogLine::parse(&printed), Some(line.clone()), "{printed}");
            assert_eq!(LogLine::parse(&line.text()), Some(line));
        }
    }

    #[test]
    fn every_json_line_parses_back() {
        for line in every_line() {
            let printed = line.render(LogFormat::Json, SystemTime::UNIX_EPOCH + T);
            assert_eq!(
                LogLine::parse_json(&printed),
                Some(line.clone()),
                "{printed}"
            );
            assert_eq!(LogLine::parse_json(&line.json().to_string()), Some(line));
        }
        assert_eq!(LogLine::parse_json("{\"event\":\"reboot\"}"), None);
        assert_eq!(LogLine::parse_json("{\"event\":\"exit\"}"), None);
        assert_eq!(LogLine::parse_json("Exit 0"), None);
    }

    #[test]
    fn stream_lines_follow_the_documented_form() {
        let lines = [
            (
                LogLine::StreamOpened {
                    protocol: StreamProtocol::Ws,
                    stream: 3,
                    path: "/ws?every=50ms".into(),
                    id: Some("a1".into()),
                },
                "Stream opened... ws #3 /ws?every=50ms id=a1",
                r#"{"event":"stream_opened","id":"a1","path":"/ws?every=50ms","protocol":"ws","stream":3}"#,
            ),
            (
                LogLine::StreamClosed {
                    protocol: StreamProtocol::Sse,
                    stream: 1,
                    how: StreamEnd::GoingAway,
                    sent: 12,
                },
                "Stream closed... sse #1 going-away, 12 message(s) sent",
                r#"{"event":"stream_closed","how":"going-away","protocol":"sse","sent":12,"stream":1}"#,
            ),
            (
                LogLine::GoawaySent {
                    reason: GoawayReason::Shutdown,
                    peer: "127.0.0.1:50022".parse().unwrap(),
                    in_flight: 1,
                },
                "GOAWAY sent... shutdown to 127.0.0.1:50022, 1 stream(s) in flight",
                r#"{"event":"goaway_sent","in_flight":1,"peer":"127.0.0.1:50022","reason":"shutdown"}"#,
            ),
            (
                LogLine::CloseFrameSent {
                    protocol: StreamProtocol::Ws,
                    stream: 3,
                    code: 1001,
                    reason: "server shutting down".into(),
                },
                "Close frame sent... ws #3 1001 server shutting down",
                r#"{"code":1001,"event":"close_frame_sent","protocol":"ws","reason":"server shutting down","stream":3}"#,
            ),
        ];
        for (line, text, json) in lines {
            assert_eq!(line.text(), text);
            assert_eq!(line.json().to_string(), json);
        }
        // Not a stream line: the close of the listener is still its own line.
        assert_eq!(
            LogLine::parse("Close Server..."),
            Some(LogLine::ShutdownBegun)
        );
        assert_eq!(
            LogLine::parse("Stream closed... sse #1 vanished, 2 message(s) sent"),
            None
        );
        assert_eq!(
            LogLine::parse("GOAWAY sent... shutdown to nowhere, 1 stream(s) in flight"),
            None
        );
    }

    #[test]
    fn text_lines_follow_the_documented_form() {
        let line = LogLine::SignalReceived {
            signal: StopSignal::Sigterm,
        };
        assert_eq!(
            line.render(LogFormat::Text, SystemTime::UNIX_EPOCH + T),
            "2023-11-14T22:13:20.123Z Received SIGNAL: terminated\n"
        );
    }

    #[test]
    fn json_lines_carry_event_and_fields() {
        let line =
            LogLine::DeadlineHit { count: 3 }.render(LogFormat::Json, SystemTime::UNIX_EPOCH + T);
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["event"], "deadline_hit");
        assert_eq!(value["count"], 3);
        assert_eq!(value["ts"], "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn the_linger_line_names_its_length() {
        let line = LogLine::Linger {
            linger: Duration::from_millis(250),
        };
        assert_eq!(
            line.text(),
            "Linger 250ms: open connections served with Connection: close"
        );
        let json = line.render(LogFormat::Json, SystemTime::UNIX_EPOCH + T);
        let value: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["event"], "linger");
        assert_eq!(value["linger_ms"], 250);
        assert_eq!(LogLine::parse("Linger soon: open connections"), None);
    }

    #[test]
    fn other_lines_are_not_the_servers() {
        assert_eq!(LogLine::parse("tini: child exited"), None);
        assert_eq!(LogLine::parse("Receive Request..."), None);
        assert_eq!(
            without_timestamp("tini: child exited"),
            "tini: child exited"
        );
    }
}
