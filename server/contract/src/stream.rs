//! Long-lived streams across the stop: which protocol a stream speaks, how it ended, why an
//! HTTP/2 connection was told to go away, and the routes and gRPC names both sides use.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The `GET` route of the server-sent event stream (`?every=100ms&for=10s`).
pub const EVENTS_PATH: &str = "/events";

/// The `GET` route of the WebSocket (`?every=100ms`).
pub const WS_PATH: &str = "/ws";

/// How often a stream sends when the client does not say (`every`).
pub const DEFAULT_EVERY: Duration = Duration::from_millis(100);

/// How long an event stream lasts when the client does not say (`for`).
pub const DEFAULT_FOR: Duration = Duration::from_secs(10);

/// The `event:` field of the last server-sent event of a stream ended by a graceful shutdown.
pub const SSE_GOING_AWAY_EVENT: &str = "going-away";

/// The WebSocket close code the server sends at a graceful shutdown (RFC 6455: "going away").
pub const WS_GOING_AWAY_CODE: u16 = 1001;

/// The reason in the server's close frame, and in the status of a gRPC stream it ends.
pub const GOING_AWAY_REASON: &str = "server shutting down";

/// How long the server waits for a WebSocket client's close frame after sending its own.
pub const WS_CLOSE_WAIT: Duration = Duration::from_secs(1);

/// The gRPC service's full name (package `shutdown.v1`, `contract/proto/shutdown/v1/probe.proto`).
pub const GRPC_SERVICE: &str = "shutdown.v1.Probe";

/// The path of the unary gRPC call `Slow`.
pub const GRPC_SLOW_PATH: &str = "/shutdown.v1.Probe/Slow";

/// The path of the server-streaming gRPC call `Tick`.
pub const GRPC_TICK_PATH: &str = "/shutdown.v1.Probe/Tick";

/// The standard gRPC health-checking service's full name (`contract/proto/grpc/health/v1/health.proto`).
pub const GRPC_HEALTH_SERVICE: &str = "grpc.health.v1.Health";

/// The path of its server-streaming call `Watch`: long-lived, and served by nearly every gRPC
/// framework, so what `check --protocol grpc` calls unless told another method.
pub const GRPC_HEALTH_WATCH_PATH: &str = "/grpc.health.v1.Health/Watch";

/// The protocol a long-lived stream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StreamProtocol {
    /// Server-sent events (`GET /events`).
    Sse,
    /// A WebSocket (`GET /ws`).
    Ws,
    /// A server-streaming gRPC call (`Tick`).
    Grpc,
}

impl StreamProtocol {
    /// Every protocol, in display order.
    pub const ALL: [StreamProtocol; 3] = [
        StreamProtocol::Sse,
        StreamProtocol::Ws,
        StreamProtocol::Grpc,
    ];

    /// The name in log lines and reports.
    pub fn name(self) -> &'static str {
        match self {
            StreamProtocol::Sse => "sse",
            StreamProtocol::Ws => "ws",
            StreamProtocol::Grpc => "grpc",
        }
    }
}

/// How a long-lived stream ended, as the server saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StreamEnd {
    /// It ran to its natural end (its `for` elapsed), with the protocol's normal ending.
    Completed,
    /// The server ended it at a graceful shutdown with the protocol's goodbye: the SSE
    /// `going-away` event, the WebSocket close 1001, the gRPC status UNAVAILABLE.
    GoingAway,
    /// The client ended it first (a WebSocket close frame, a cancelled gRPC call, a hang-up).
    ClosedByClient,
    /// The server stopped serving it without a goodbye: the drain deadline or a second signal
    /// came first.
    Cut,
}

impl StreamEnd {
    /// Every ending, in display order.
    pub const ALL: [StreamEnd; 4] = [
        StreamEnd::Completed,
        StreamEnd::GoingAway,
        StreamEnd::ClosedByClient,
        StreamEnd::Cut,
    ];

    /// The name in log lines and reports.
    pub fn name(self) -> &'static str {
        match self {
            StreamEnd::Completed => "completed",
            StreamEnd::GoingAway => "going-away",
            StreamEnd::ClosedByClient => "closed-by-client",
            StreamEnd::Cut => "cut",
        }
    }
}

/// Why the server sent an HTTP/2 connection its GOAWAY.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GoawayReason {
    /// A graceful shutdown began (after the linger, when there is one).
    Shutdown,
    /// The connection had no stream for the idle timeout.
    Idle,
}

impl GoawayReason {
    /// Every reason, in display order.
    pub const ALL: [GoawayReason; 2] = [GoawayReason::Shutdown, GoawayReason::Idle];

    /// The name in log lines.
    pub fn name(self) -> &'static str {
        match self {
            GoawayReason::Shutdown => "shutdown",
            GoawayReason::Idle => "idle",
        }
    }
}

macro_rules! named {
    ($type:ty, $what:literal) => {
        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $type {
            type Err = String;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                <$type>::ALL
                    .into_iter()
                    .find(|v| v.name() == text.trim())
                    .ok_or_else(|| {
                        let names: Vec<&str> = <$type>::ALL.iter().map(|v| v.name()).collect();
                        format!(
                            concat!("unknown ", $what, " {:?}; use one of {}"),
                            text,
                            names.join(", ")
                        )
                    })
            }
        }
    };
}

named!(StreamProtocol, "stream protocol");
named!(StreamEnd, "stream ending");
named!(GoawayReason, "GOAWAY reason");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for protocol in StreamProtocol::ALL {
            assert_eq!(protocol.name().parse(), Ok(protocol));
        }
        for end in StreamEnd::ALL {
            assert_eq!(end.to_string().parse(), Ok(end));
        }
        for reason in GoawayReason::ALL {
            assert_eq!(reason.name().parse(), Ok(reason));
        }
        let error = "h3".parse::<StreamProtocol>().unwrap_err();
        assert!(error.contains("use one of sse, ws, grpc"), "{error}");
    }

    #[test]
    fn serde_uses_the_names() {
        assert_eq!(
            serde_json::to_string(&StreamEnd::ClosedByClient).unwrap(),
            "\"closed-by-client\""
        );
        let back: StreamProtocol = serde_json::from_str("\"grpc\"").unwrap();
        assert_eq!(back, StreamProtocol::Grpc);
    }

    #[test]
    fn grpc_paths_are_under_the_service() {
        for path in [GRPC_SLOW_PATH, GRPC_TICK_PATH] {
            assert!(path.starts_with(&format!("/{GRPC_SERVICE}/")), "{path}");
        }
        assert!(GRPC_HEALTH_WATCH_PATH.starts_with(&format!("/{GRPC_HEALTH_SERVICE}/")));
    }
}
