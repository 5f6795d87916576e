//! Long-lived streams as plain data: what a scenario asks of one (protocol, a request or a
//! stream of messages), and what a client saw of it: what arrived and how it ended; per HTTP/2
//! connection, the GOAWAY frames. Times are offsets from the run's start. The observers that
//! fill these in are in `protocol/`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::outcome::Outcome;
use server_contract::stream::{EVENTS_PATH, GRPC_SLOW_PATH, GRPC_TICK_PATH, WS_PATH};

/// The largest HTTP/2 stream id (2^31-1): a GOAWAY naming it is the first step of a graceful
/// shutdown (RFC 9113 §6.8), "no new streams soon, but all so far will be processed".
pub const MAX_STREAM_ID: u32 = (1 << 31) - 1;

/// The WebSocket close code a client reports when the connection ended without a close frame
/// (RFC 6455 §7.1.5: 1006, abnormal closure; it is never sent on the wire).
pub const WS_ABNORMAL_CLOSURE: u16 = 1006;

/// The WebSocket close codes that end a stream cleanly at a shutdown: 1000 (normal closure),
/// 1001 (going away, RFC 6455 §7.4.1) and 1012 (service restart, IANA's registry: the server is
/// restarting, its client may reconnect).
pub const WS_CLEAN_CLOSES: [u16; 3] = [1000, 1001, 1012];

/// The WebSocket close code of a close frame that carried no code (RFC 6455 §7.1.5).
pub const WS_NO_STATUS: u16 = 1005;

/// The HTTP/2 error code REFUSED_STREAM (RFC 9113 §7): the stream was not processed.
pub const REFUSED_STREAM: u32 = 0x7;

/// The protocol a stream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// HTTP/1.1: one request per exchange.
    Http1,
    /// HTTP/2 without TLS, with prior knowledge: streams on one connection.
    H2c,
    /// gRPC calls (over h2c).
    Grpc,
    /// A WebSocket (HTTP/1.1 upgrade).
    Websocket,
    /// Server-sent events (an HTTP/1.1 response that goes on).
    Sse,
}

impl Protocol {
    /// Every protocol, in display order.
    pub const ALL: [Protocol; 5] = [
        Protocol::Http1,
        Protocol::H2c,
        Protocol::Grpc,
        Protocol::Websocket,
        Protocol::Sse,
    ];

    /// The name in scenario files, reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Http1 => "http1",
            Protocol::H2c => "h2c",
            Protocol::Grpc => "grpc",
            Protocol::Websocket => "websocket",
            Protocol::Sse => "sse",
        }
    }

    /// The protocol called `name`, as [`Protocol::name`] writes it.
    pub fn from_name(name: &str) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|p| p.name() == name)
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One thing a stream received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Item {
    /// A response head: the HTTP status (`101` for a WebSocket, `200` for a gRPC call).
    Head {
        /// The status code.
        status: u16,
    },
    /// Body bytes of an HTTP response.
    Data {
        /// How many.
        bytes: u64,
    },
    /// A message: a WebSocket text message (`tick N` carries number N) or a gRPC reply.
    Message {
        /// The message's number, when it carries one (`tick 3`, a gRPC `TickReply`).
        number: Option<u64>,
        /// Its text (a gRPC reply's fields, written out).
        text: String,
    },
    /// A server-sent event.
    Event {
        /// Its `id:` field, when it had one.
        id: Option<String>,
        /// Its `event:` field, when it had one (`going-away` for the server's goodbye).
        event: Option<String>,
        /// Its data lines, joined with `\n`.
        data: String,
    },
}

/// One item with the time it arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Received {
    /// When it arrived, from the start of the run.
    #[serde(rename = "at_ms", with = "millis")]
    pub at: Duration,
    /// What it was.
    #[serde(flatten)]
    pub item: Item,
}

/// How a stream ended, as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "end", rename_all = "kebab-case")]
pub enum StreamEnd {
    /// It ran to its end with the protocol's normal ending (HTTP/2 END_STREAM, the last chunk).
    Complete,
    /// The server said goodbye in the protocol's own way and then ended the stream cleanly: an
    /// event stream's last event was `going-away`, then its last chunk.
    GoingAway,
    /// The stream's id was above the last stream id of a GOAWAY the server sent, or it could not
    /// be opened because a GOAWAY had arrived: never processed, safe to retry.
    RefusedByGoaway,
    /// The server reset the stream (HTTP/2 RST_STREAM) with this error code.
    Reset {
        /// The HTTP/2 error code (7 is REFUSED_STREAM: not processed).
        code: u32,
    },
    /// The TCP connect was refused: the stream never reached a server.
    Refused,
    /// The connection dropped mid-stream (after the response had begun), with no protocol
    /// ending.
    Cut,
    /// The connection closed or failed before any response to this stream arrived (curl's
    /// "empty reply"): whether the server had taken the stream on, the client cannot tell; the
    /// run's phases can (before the signal: cut; after: not served).
    EmptyReply,
    /// A WebSocket close frame arrived.
    Closed {
        /// Its close code (1001 is going away; 1005 when the frame had none).
        code: u16,
        /// Its reason.
        reason: String,
    },
    /// A gRPC call ended with this status, sent by the server (in trailers, or a trailers-only
    /// response). A call whose connection failed ends `Cut`, `EmptyReply`, `Refused` or
    /// `RefusedByGoaway`.
    Status {
        /// The gRPC status code (0 is OK, 14 UNAVAILABLE).
        code: i32,
        /// The code's canonical name (`OK`, `UNAVAILABLE`, ...); `status` in JSON, where `name`
        /// is the stream's.
        #[serde(rename = "status")]
        name: String,
        /// The status message.
        message: String,
    },
    /// The observer's deadline passed with the stream still open.
    TimedOut,
}

impl StreamEnd {
    /// Its name in JSON and reports (`complete`, `going-away`, `refused-by-goaway`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            StreamEnd::Complete => "complete",
            StreamEnd::GoingAway => "going-away",
            StreamEnd::RefusedByGoaway => "refused-by-goaway",
            StreamEnd::Reset { .. } => "reset",
            StreamEnd::Refused => "refused",
            StreamEnd::Cut => "cut",
            StreamEnd::EmptyReply => "empty-reply",
            StreamEnd::Closed { .. } => "closed",
            StreamEnd::Status { .. } => "status",
            StreamEnd::TimedOut => "timed-out",
        }
    }

    /// Whether this is a server's goodbye at shutdown: the `going-away` event then the end, a
    /// WebSocket close 1001 (going away) or 1012 (service restart), a gRPC UNAVAILABLE status.
    pub fn is_goodbye(&self) -> bool {
        matches!(
            self,
            StreamEnd::GoingAway
                | StreamEnd::Closed {
                    code: 1001 | 1012,
                    ..
                }
                | StreamEnd::Status { code: 14, .. }
        )
    }

    /// Whether the connection failed under the stream once its response had begun, or the
    /// server reset it (other than REFUSED_STREAM): cut, whenever it was opened. An
    /// [`StreamEnd::EmptyReply`] is cut only if the stream was opened before the signal.
    pub fn is_cut(&self) -> bool {
        match self {
            StreamEnd::Cut => true,
            StreamEnd::Reset { code } => *code != REFUSED_STREAM,
            _ => false,
        }
    }

    /// The stream was never processed by the server, so a client may retry it anywhere: refused
    /// by a GOAWAY, reset with REFUSED_STREAM, or never connected.
    pub fn never_processed(&self) -> bool {
        matches!(
            self,
            StreamEnd::RefusedByGoaway
                | StreamEnd::Refused
                | StreamEnd::Reset {
                    code: REFUSED_STREAM
                }
        )
    }

    /// A gRPC status as a [`StreamEnd::Status`], with the code's canonical name.
    pub fn grpc_status(code: i32, message: impl Into<String>) -> StreamEnd {
        StreamEnd::Status {
            code,
            name: grpc_code_name(code).to_string(),
            message: message.into(),
        }
    }
}

/// The canonical name of gRPC status `code` (`UNKNOWN_CODE` for one outside 0..=16).
pub fn grpc_code_name(code: i32) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|i| NAMES.get(i).copied())
        .unwrap_or("UNKNOWN_CODE")
}

/// The name of HTTP/2 error code `code` (RFC 9113 §7: `NO_ERROR`, `REFUSED_STREAM`, ...;
/// `UNKNOWN_ERROR` for one the RFC does not define, which a peer may send).
pub fn h2_error_name(code: u32) -> &'static str {
    const NAMES: [&str; 14] = [
        "NO_ERROR",
        "PROTOCOL_ERROR",
        "INTERNAL_ERROR",
        "FLOW_CONTROL_ERROR",
        "SETTINGS_TIMEOUT",
        "STREAM_CLOSED",
        "FRAME_SIZE_ERROR",
        "REFUSED_STREAM",
        "CANCEL",
        "COMPRESSION_ERROR",
        "CONNECT_ERROR",
        "ENHANCE_YOUR_CALM",
        "INADEQUATE_SECURITY",
        "HTTP_1_1_REQUIRED",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|i| NAMES.get(i).copied())
        .unwrap_or("UNKNOWN_ERROR")
}

/// One stream from its opening to its end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamObservation {
    /// Its protocol.
    pub protocol: Protocol,
    /// What was asked for: the path and query, or the gRPC method's path.
    pub target: String,
    /// The HTTP/2 stream id, when it had one.
    pub stream_id: Option<u32>,
    /// When the client began to open it, from the start of the run.
    #[serde(rename = "opened_ms", with = "millis")]
    pub opened: Duration,
    /// What arrived, in order.
    pub received: Vec<Received>,
    /// How it ended.
    #[serde(flatten)]
    pub end: StreamEnd,
    /// When it ended (when the client knew how).
    #[serde(rename = "ended_ms", with = "millis")]
    pub ended: Duration,
    /// The client library's words for a failure, for people (empty when it ended cleanly).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl StreamObservation {
    /// How many items arrived strictly after `at` (e.g. the signal): heads, data, messages and
    /// events alike.
    pub fn received_after(&self, at: Duration) -> usize {
        self.received.iter().filter(|r| r.at > at).count()
    }

    /// The highest message number received: a WebSocket `tick N`, a gRPC tick, or a server-sent
    /// event whose id is a number.
    pub fn last_number(&self) -> Option<u64> {
        self.received
            .iter()
            .filter_map(|r| match &r.item {
                Item::Message { number, .. } => *number,
                Item::Event { id, .. } => id.as_deref().and_then(|id| id.parse().ok()),
                _ => None,
            })
            .max()
    }

    /// The id of the last server-sent event that had one (what a client would send back as
    /// `Last-Event-ID` when it reconnects).
    pub fn last_event_id(&self) -> Option<&str> {
        self.received.iter().rev().find_map(|r| match &r.item {
            Item::Event { id: Some(id), .. } => Some(id.as_str()),
            _ => None,
        })
    }

    /// The name of the last server-sent event that had one.
    pub fn last_event_name(&self) -> Option<&str> {
        self.received.iter().rev().find_map(|r| match &r.item {
            Item::Event {
                event: Some(event), ..
            } => Some(event.as_str()),
            _ => None,
        })
    }

    /// The WebSocket close code as a client library reports it: the close frame's code, or
    /// 1006 (abnormal closure) when the connection ended without one. None for a stream that
    /// never opened or is no WebSocket.
    pub fn close_code(&self) -> Option<u16> {
        match &self.end {
            StreamEnd::Closed { code, .. } => Some(*code),
            StreamEnd::Cut if self.protocol == Protocol::Websocket => Some(WS_ABNORMAL_CLOSURE),
            _ => None,
        }
    }

    /// How it ended, in a report's words: `closed 1001`, `status UNAVAILABLE`, `reset 2`,
    /// `cut`; a WebSocket cut says the code its client reports (`cut (1006, no close frame)`).
    pub fn describe_end(&self) -> String {
        match &self.end {
            StreamEnd::Closed { code, .. } => format!("closed {code}"),
            StreamEnd::Status { name, .. } => format!("status {name}"),
            StreamEnd::Reset { code } => format!("reset {code}"),
            StreamEnd::Cut if self.protocol == Protocol::Websocket => {
                format!("cut ({WS_ABNORMAL_CLOSURE}, no close frame)")
            }
            other => other.name().to_string(),
        }
    }

    /// [`StreamObservation::describe_end`] with what else the end carried: a gRPC status's
    /// message, a close frame's reason, the HTTP status of a response that ran to its end
    /// (`status UNIMPLEMENTED ("unknown service")`, `complete (404)`).
    pub fn describe_end_fully(&self) -> String {
        let words = self.describe_end();
        let said = match &self.end {
            StreamEnd::Status { message, .. }
            | StreamEnd::Closed {
                reason: message, ..
            } => Some(message.clone())
                .filter(|m| !m.is_empty())
                .map(|m| format!("{m:?}")),
            StreamEnd::Complete | StreamEnd::GoingAway => {
                self.status().map(|status| status.to_string())
            }
            _ => None,
        };
        match said {
            Some(said) => format!("{words} ({said})"),
            None => words,
        }
    }

    /// Whether the stream ended with a status the server sent (gRPC trailers), rather than with
    /// a failure of its connection.
    pub fn ended_with_trailers(&self) -> bool {
        matches!(self.end, StreamEnd::Status { .. })
    }

    /// The stream's outcome in the vocabulary of requests, for expectations and reports that
    /// speak it: `ok` for a clean end with a success (a 2xx or 101 head, a close 1000, 1001 or 1012,
    /// gRPC OK); `http-error` for a clean end with another status or close code; `truncated`
    /// for a cut after the response began; `reset` for a reset or a GOAWAY's refusal;
    /// `empty-reply`, `refused` and `timeout` as they are.
    pub fn outcome(&self) -> Outcome {
        let success =
            |status: Option<u16>| status.is_some_and(|s| s == 101 || (200..300).contains(&s));
        match &self.end {
            StreamEnd::Complete | StreamEnd::GoingAway if success(self.status()) => Outcome::Ok,
            StreamEnd::Complete | StreamEnd::GoingAway => Outcome::HttpError,
            StreamEnd::Closed { code, .. } if WS_CLEAN_CLOSES.contains(code) => Outcome::Ok,
            StreamEnd::Closed { .. } => Outcome::HttpError,
            StreamEnd::Status { code: 0, .. } => Outcome::Ok,
            StreamEnd::Status { .. } => Outcome::HttpError,
            StreamEnd::Cut => Outcome::Truncated,
            StreamEnd::Reset { .. } | StreamEnd::RefusedByGoaway => Outcome::Reset,
            StreamEnd::EmptyReply => Outcome::EmptyReply,
            StreamEnd::Refused => Outcome::Refused,
            StreamEnd::TimedOut => Outcome::Timeout,
        }
    }

    /// Body bytes received (HTTP/2 data; 0 for streams of messages).
    pub fn bytes(&self) -> u64 {
        self.received
            .iter()
            .map(|r| match r.item {
                Item::Data { bytes } => bytes,
                _ => 0,
            })
            .sum()
    }

    /// The HTTP status of the response head, if one arrived.
    pub fn status(&self) -> Option<u16> {
        self.received.iter().find_map(|r| match r.item {
            Item::Head { status } => Some(status),
            _ => None,
        })
    }
}

/// A GOAWAY frame the server sent on an HTTP/2 connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Goaway {
    /// When it arrived, from the start of the run.
    #[serde(rename = "at_ms", with = "millis")]
    pub at: Duration,
    /// The last stream id the server says it may process (2^31-1 in a first, warning GOAWAY).
    pub last_stream_id: u32,
    /// The HTTP/2 error code (0 is NO_ERROR).
    pub error_code: u32,
    /// The debug data, as text (lossy), when there was any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub debug: String,
}

/// The shape of the GOAWAY frames one connection received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GoawaySequence {
    /// No GOAWAY arrived.
    None,
    /// GOAWAY frames arrived, but not as the two steps: e.g. one naming the last stream at once,
    /// so a request sent meanwhile is refused without warning.
    Single,
    /// RFC 9113 §6.8's two steps: first 2^31-1, then a later one naming a real last stream.
    TwoStep,
}

impl GoawaySequence {
    /// Every shape, in display order.
    pub const ALL: [GoawaySequence; 3] = [
        GoawaySequence::None,
        GoawaySequence::Single,
        GoawaySequence::TwoStep,
    ];

    /// The name in scenario files, reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            GoawaySequence::None => "none",
            GoawaySequence::Single => "single",
            GoawaySequence::TwoStep => "two-step",
        }
    }

    /// The shape called `name`, as [`GoawaySequence::name`] writes it.
    pub fn from_name(name: &str) -> Option<GoawaySequence> {
        GoawaySequence::ALL.into_iter().find(|g| g.name() == name)
    }
}

/// One HTTP/2 connection: the GOAWAY frames it received and its streams.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionObservation {
    /// Its protocol (`h2c`, or `grpc` for a gRPC client's connections).
    pub protocol: Protocol,
    /// When the client began to connect, from the start of the run.
    #[serde(rename = "opened_ms", with = "millis")]
    pub opened: Duration,
    /// The GOAWAY frames, in the order they arrived.
    pub goaways: Vec<Goaway>,
    /// When each PING the server sent arrived (its answers to the client's aside): a graceful
    /// server times its second GOAWAY with one.
    #[serde(rename = "pings_ms", with = "millis::list", default)]
    pub pings: Vec<Duration>,
    /// When the client saw the connection end, if it did before the observer stopped.
    #[serde(rename = "closed_ms", with = "millis::option")]
    pub closed: Option<Duration>,
    /// Its streams, in the order they were opened.
    pub streams: Vec<StreamObservation>,
}

impl ConnectionObservation {
    /// The shape of the GOAWAY frames received.
    pub fn goaway_sequence(&self) -> GoawaySequence {
        goaway_sequence(&self.goaways)
    }
}

/// The shape of a connection's GOAWAY frames, in the order they arrived.
pub fn goaway_sequence(goaways: &[Goaway]) -> GoawaySequence {
    match goaways {
        [] => GoawaySequence::None,
        [first, rest @ ..]
            if first.last_stream_id == MAX_STREAM_ID
                && rest.iter().any(|g| g.last_stream_id < MAX_STREAM_ID) =>
        {
            GoawaySequence::TwoStep
        }
        _ => GoawaySequence::Single,
    }
}

/// What one stream asks the server for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StreamWhat {
    /// One request answered after `delay`: h2c `GET /?delay=`, gRPC `Slow(delay)`.
    Request {
        /// How long the server waits before answering.
        #[serde(rename = "delay_ms", with = "millis")]
        delay: Duration,
    },
    /// A stream of numbered messages, one every `every`, for `lasting` (the server's default,
    /// 10 s, when None): h2c `GET /events`, gRPC `Tick`, a WebSocket (`lasting` does not apply:
    /// it lasts until shutdown), server-sent events.
    Stream {
        /// How often the server sends.
        #[serde(rename = "every_ms", with = "millis")]
        every: Duration,
        /// How long the server keeps it going.
        #[serde(rename = "for_ms", with = "millis::option")]
        lasting: Option<Duration>,
    },
}

/// Whose routes a stream asks for: graceful-server's (`/ws`, `/events`, `/?delay=`, its gRPC
/// service, which the WebSocket and gRPC runtimes serve too), nginx's h2c listener's, which
/// serves files: a 4 s download at `/slow` and a trickled event file at `/events`, or a user's
/// image's, of which only the one path given is known.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StreamRoutes {
    /// graceful-server's, and the servers that copy them.
    #[default]
    GracefulServer,
    /// nginx's h2c listener: its pace is the files' (`delay` and `every` do not apply).
    NginxH2c,
    /// Any server's: this path (the gRPC method's path for gRPC), asked as it is, whatever the
    /// stream asks (`delay` and `every` are the server's to choose).
    Given {
        /// The path and query, or `/package.Service/Method`.
        path: String,
    },
}

impl StreamRoutes {
    /// The path `what` asks for over `protocol` on these routes; None when they do not serve it.
    pub fn path(&self, protocol: Protocol, what: StreamWhat) -> Option<String> {
        match (self, protocol, what) {
            (StreamRoutes::Given { .. }, Protocol::Http1, _) => None,
            (StreamRoutes::Given { path }, ..) => Some(path.clone()),
            (StreamRoutes::GracefulServer, ..) => stream_path(protocol, what),
            (StreamRoutes::NginxH2c, Protocol::H2c, StreamWhat::Request { .. }) => {
                Some(NGINX_SLOW_PATH.to_string())
            }
            (StreamRoutes::NginxH2c, Protocol::H2c, StreamWhat::Stream { .. }) => {
                Some(EVENTS_PATH.to_string())
            }
            (StreamRoutes::NginxH2c, ..) => None,
        }
    }
}

/// nginx's h2c listener's slow path: 256 KiB at 64 KiB/s.
const NGINX_SLOW_PATH: &str = "/slow";

/// One named stream of a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRequest {
    /// Its name in the scenario, the report and the server's log (`x-request-id`).
    pub name: String,
    /// Its protocol.
    pub protocol: Protocol,
    /// What it asks for.
    pub what: StreamWhat,
    /// Whose routes it asks them of.
    #[serde(default)]
    pub routes: StreamRoutes,
}

impl StreamRequest {
    /// The path it asks for (the gRPC method's path for gRPC); None when its protocol does not
    /// serve what it asks ([`StreamRequest::unsupported`] says what it takes instead).
    pub fn path(&self) -> Option<String> {
        self.routes.path(self.protocol, self.what)
    }

    /// What the request's protocol takes instead, when it does not serve what it asks.
    pub fn unsupported(&self) -> Option<&'static str> {
        match (self.protocol, self.what) {
            (Protocol::Http1, _) => {
                Some("an ordinary request (HTTP/1.1 requests are not long-lived streams)")
            }
            // The server's own path: whatever it streams, it streams.
            _ if matches!(self.routes, StreamRoutes::Given { .. }) => None,
            (Protocol::Websocket | Protocol::Sse, StreamWhat::Request { .. }) => {
                Some("a stream: write `stream = { every = \"100ms\" }` instead of a delay")
            }
            _ => None,
        }
    }
}

/// The path `what` asks for over `protocol` on graceful-server (the gRPC method's path for
/// gRPC); None when the protocol does not serve it.
pub fn stream_path(protocol: Protocol, what: StreamWhat) -> Option<String> {
    let query = |every: Duration, lasting: Option<Duration>| {
        let mut query = format!("every={}ms", every.as_millis().max(1));
        if let Some(lasting) = lasting {
            query.push_str(&format!("&for={}ms", lasting.as_millis().max(1)));
        }
        query
    };
    match (protocol, what) {
        (Protocol::H2c, StreamWhat::Request { delay }) => {
            Some(format!("/?delay={}ms", delay.as_millis()))
        }
        (Protocol::H2c | Protocol::Sse, StreamWhat::Stream { every, lasting }) => {
            Some(format!("{EVENTS_PATH}?{}", query(every, lasting)))
        }
        (Protocol::Websocket, StreamWhat::Stream { every, .. }) => {
            Some(format!("{WS_PATH}?{}", query(every, None)))
        }
        (Protocol::Grpc, StreamWhat::Request { .. }) => Some(GRPC_SLOW_PATH.to_string()),
        (Protocol::Grpc, StreamWhat::Stream { .. }) => Some(GRPC_TICK_PATH.to_string()),
        (Protocol::Websocket | Protocol::Sse, StreamWhat::Request { .. })
        | (Protocol::Http1, _) => None,
    }
}

/// What is wrong with `path` as a gRPC method's path, `/package.Service/Method` (the fully
/// qualified service, then the method); None when nothing is.
pub fn grpc_method_problem(path: &str) -> Option<String> {
    let parts = path
        .strip_prefix('/')
        .map(|rest| rest.split('/').collect::<Vec<_>>());
    let fine = match parts.as_deref() {
        Some([service, method]) => {
            let name = |part: &str| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
            };
            name(service) && name(method) && !method.contains('.')
        }
        _ => false,
    };
    (!fine).then(|| {
        "write the method's path, `/package.Service/Method` (e.g. /grpc.health.v1.Health/Watch)"
            .to_string()
    })
}

/// A scenario's streams, one named observation each, and the HTTP/2 connections they used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamsObservation {
    /// Each stream, in the order it was opened.
    pub streams: Vec<NamedStream>,
    /// The h2c connection and the gRPC client's connections, with their GOAWAY frames (their
    /// streams are in `streams`, not repeated here).
    pub connections: Vec<ConnectionObservation>,
}

/// A stream with its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedStream {
    /// Its name in the scenario.
    pub name: String,
    /// What was seen of it.
    #[serde(flatten)]
    pub stream: StreamObservation,
}

/// Durations as milliseconds with a fraction (microsecond precision), as the reports read them.
pub(crate) mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        at: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(to_ms(*at))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        from_ms(f64::deserialize(deserializer)?)
    }

    fn to_ms(at: Duration) -> f64 {
        // Whole microseconds: enough for a timeline, and exact in an f64 for centuries.
        u64::try_from(at.as_micros()).unwrap_or(u64::MAX) as f64 / 1000.0
    }

    fn from_ms<E: serde::de::Error>(ms: f64) -> Result<Duration, E> {
        Duration::try_from_secs_f64(ms / 1000.0)
            .map_err(|_| E::custom(format!("{ms} is not a time in milliseconds from the start")))
    }

    /// The same for lists of times.
    pub(crate) mod list {
        use std::time::Duration;

        use serde::{Deserialize, Deserializer, Serializer};

        pub(crate) fn serialize<S: Serializer>(
            times: &[Duration],
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            serializer.collect_seq(times.iter().map(|at| super::to_ms(*at)))
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Vec<Duration>, D::Error> {
            Vec::<f64>::deserialize(deserializer)?
                .into_iter()
                .map(super::from_ms)
                .collect()
        }
    }

    /// The same for optional times (null when absent).
    pub(crate) mod option {
        use std::time::Duration;

        use serde::{Deserialize, Deserializer, Serializer};

        pub(crate) fn serialize<S: Serializer>(
            at: &Option<Duration>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match at {
                Some(at) => serializer.serialize_f64(super::to_ms(*at)),
                None => serializer.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Duration>, D::Error> {
            Option::<f64>::deserialize(deserializer)?
                .map(super::from_ms)
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn goaway(last_stream_id: u32) -> Goaway {
        Goaway {
            at: Duration::ZERO,
            last_stream_id,
            error_code: 0,
            debug: String::new(),
        }
    }

    #[test]
    fn the_goaway_sequence_is_told_from_the_stream_ids() {
        assert_eq!(goaway_sequence(&[]), GoawaySequence::None);
        assert_eq!(goaway_sequence(&[goaway(3)]), GoawaySequence::Single);
        assert_eq!(
            goaway_sequence(&[goaway(MAX_STREAM_ID)]),
            GoawaySequence::Single
        );
        assert_eq!(
            goaway_sequence(&[goaway(MAX_STREAM_ID), goaway(3)]),
            GoawaySequence::TwoStep
        );
        assert_eq!(
            goaway_sequence(&[goaway(3), goaway(MAX_STREAM_ID)]),
            GoawaySequence::Single
        );
    }

    #[test]
    fn goaway_sequence_names_read_back() {
        for sequence in GoawaySequence::ALL {
            assert_eq!(GoawaySequence::from_name(sequence.name()), Some(sequence));
            let json = serde_json::to_string(&sequence).unwrap();
            assert_eq!(json, format!("\"{}\"", sequence.name()));
        }
    }

    #[test]
    fn protocol_names_read_back() {
        for protocol in Protocol::ALL {
            assert_eq!(Protocol::from_name(protocol.name()), Some(protocol));
            let json = serde_json::to_string(&protocol).unwrap();
            assert_eq!(json, format!("\"{}\"", protocol.name()));
        }
        assert_eq!(Protocol::from_name("http3"), None);
    }

    #[test]
    fn h2_error_codes_have_their_rfc_names() {
        assert_eq!(h2_error_name(0), "NO_ERROR");
        assert_eq!(h2_error_name(REFUSED_STREAM), "REFUSED_STREAM");
        assert_eq!(h2_error_name(13), "HTTP_1_1_REQUIRED");
        assert_eq!(h2_error_name(14), "UNKNOWN_ERROR");
        assert_eq!(h2_error_name(u32::MAX), "UNKNOWN_ERROR");
    }

    #[test]
    fn grpc_methods_are_a_service_and_a_method() {
        for good in [
            "/grpc.health.v1.Health/Watch",
            "/shutdown.v1.Probe/Tick",
            "/Svc/Do_It",
        ] {
            assert_eq!(grpc_method_problem(good), None, "{good}");
        }
        for bad in [
            "",
            "/",
            "grpc.health.v1.Health/Watch",
            "/grpc.health.v1.Health",
            "/grpc.health.v1.Health/",
            "/a/b/c",
            "/Svc/Watch?x=1",
            "/Svc/pkg.Method",
        ] {
            let problem = grpc_method_problem(bad).expect(bad);
            assert!(problem.contains("/package.Service/Method"), "{problem}");
        }
    }

    #[test]
    fn grpc_codes_have_their_canonical_names() {
        assert_eq!(grpc_code_name(0), "OK");
        assert_eq!(grpc_code_name(14), "UNAVAILABLE");
        assert_eq!(grpc_code_name(-1), "UNKNOWN_CODE");
        assert_eq!(grpc_code_name(17), "UNKNOWN_CODE");
    }

    #[test]
    fn a_stream_reads_back_from_json() {
        let stream = StreamObservation {
            protocol: Protocol::Sse,
            target: "/events".to_string(),
            stream_id: None,
            opened: Duration::from_micros(1500),
            received: vec![
                Received {
                    at: Duration::from_millis(2),
                    item: Item::Head { status: 200 },
                },
                Received {
                    at: Duration::from_millis(3),
                    item: Item::Event {
                        id: Some("7".to_string()),
                        event: None,
                        data: "7".to_string(),
                    },
                },
                Received {
                    at: Duration::from_millis(4),
                    item: Item::Event {
                        id: None,
                        event: Some("going-away".to_string()),
                        data: "server shutting down".to_string(),
                    },
                },
            ],
            end: StreamEnd::GoingAway,
            ended: Duration::from_millis(5),
            detail: String::new(),
        };
        let json = serde_json::to_value(&stream).unwrap();
        assert_eq!(json["end"], "going-away");
        assert_eq!(json["opened_ms"], 1.5);
        assert_eq!(json["received"][1]["kind"], "event");
        let back: StreamObservation = serde_json::from_value(json).unwrap();
        assert_eq!(back, stream);
        assert_eq!(stream.last_event_id(), Some("7"));
        assert_eq!(stream.last_event_name(), Some("going-away"));
        assert_eq!(stream.last_number(), Some(7));
        assert_eq!(stream.received_after(Duration::from_millis(3)), 1);
        assert_eq!(stream.status(), Some(200));
    }

    #[test]
    fn a_named_grpc_stream_keeps_its_name_beside_its_status() {
        let named = NamedStream {
            name: "tick".to_string(),
            stream: StreamObservation {
                protocol: Protocol::Grpc,
                target: "/shutdown.v1.Probe/Tick".to_string(),
                stream_id: None,
                opened: Duration::ZERO,
                received: Vec::new(),
                end: StreamEnd::grpc_status(14, "server shutting down"),
                ended: Duration::ZERO,
                detail: String::new(),
            },
        };
        let json = serde_json::to_value(&named).unwrap();
        assert_eq!(json["name"], "tick");
        assert_eq!(json["status"], "UNAVAILABLE");
        assert_eq!(json["code"], 14);
        let back: NamedStream = serde_json::from_value(json).unwrap();
        assert_eq!(back, named);
        assert!(named.stream.end.is_goodbye());
        assert!(!StreamEnd::grpc_status(0, "").is_goodbye());
        assert!(!StreamEnd::Complete.is_goodbye());
    }

    #[test]
    fn end_names_are_their_json_tags() {
        let ends = [
            StreamEnd::Complete,
            StreamEnd::GoingAway,
            StreamEnd::RefusedByGoaway,
            StreamEnd::Reset { code: 2 },
            StreamEnd::Refused,
            StreamEnd::Cut,
            StreamEnd::EmptyReply,
            StreamEnd::Closed {
                code: 1001,
                reason: String::new(),
            },
            StreamEnd::grpc_status(14, "x"),
            StreamEnd::TimedOut,
        ];
        for end in ends {
            let json = serde_json::to_value(&end).unwrap();
            assert_eq!(json["end"], end.name());
        }
        assert!(StreamEnd::Reset { code: 2 }.is_cut());
        assert!(
            !StreamEnd::Reset {
                code: REFUSED_STREAM
            }
            .is_cut()
        );
    }

    #[test]
    fn a_websocket_cut_reads_as_abnormal_closure() {
        let mut stream = StreamObservation {
            protocol: Protocol::Websocket,
            target: "/ws".to_string(),
            stream_id: None,
            opened: Duration::ZERO,
            received: Vec::new(),
            end: StreamEnd::Cut,
            ended: Duration::ZERO,
            detail: String::new(),
        };
        assert_eq!(stream.close_code(), Some(WS_ABNORMAL_CLOSURE));
        stream.end = StreamEnd::Closed {
            code: 1001,
            reason: "bye".to_string(),
        };
        assert_eq!(stream.close_code(), Some(1001));
        assert!(StreamEnd::Reset { code: 7 }.never_processed());
        assert!(!StreamEnd::Cut.never_processed());
    }
}

#[cfg(test)]
mod request_tests {
    use super::*;

    fn request(protocol: Protocol, what: StreamWhat) -> StreamRequest {
        StreamRequest {
            name: "s".to_string(),
            protocol,
            what,
            routes: Default::default(),
        }
    }

    #[test]
    fn a_request_reads_back_from_json_in_milliseconds() {
        let request = request(
            Protocol::Grpc,
            StreamWhat::Stream {
                every: Duration::from_millis(100),
                lasting: None,
            },
        );
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(json["protocol"], "grpc");
        assert_eq!(json["what"]["stream"]["every_ms"], 100.0);
        assert!(json["what"]["stream"]["for_ms"].is_null());
        let back: StreamRequest = serde_json::from_value(json).unwrap();
        assert_eq!(back, request);
    }

    #[test]
    fn each_protocol_asks_for_its_route() {
        let stream = StreamWhat::Stream {
            every: Duration::from_millis(100),
            lasting: Some(Duration::from_secs(2)),
        };
        let delay = StreamWhat::Request {
            delay: Duration::from_millis(400),
        };
        let path = |protocol, what| request(protocol, what).path();
        assert_eq!(path(Protocol::H2c, delay).unwrap(), "/?delay=400ms");
        assert_eq!(
            path(Protocol::H2c, stream).unwrap(),
            "/events?every=100ms&for=2000ms"
        );
        assert_eq!(
            path(Protocol::Sse, stream).unwrap(),
            "/events?every=100ms&for=2000ms"
        );
        assert_eq!(
            path(Protocol::Websocket, stream).unwrap(),
            "/ws?every=100ms"
        );
        assert_eq!(
            path(Protocol::Grpc, stream).unwrap(),
            "/shutdown.v1.Probe/Tick"
        );
        assert_eq!(
            path(Protocol::Grpc, delay).unwrap(),
            "/shutdown.v1.Probe/Slow"
        );
        assert_eq!(path(Protocol::Websocket, delay), None);
        assert!(
            request(Protocol::Websocket, delay)
                .unsupported()
                .unwrap()
                .contains("stream = { every")
        );
        assert_eq!(path(Protocol::Http1, delay), None);
        assert_eq!(request(Protocol::Grpc, delay).unsupported(), None);
    }
}
