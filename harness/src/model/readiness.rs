//! Readiness: how the harness knows a started server can be sent requests (its log line, an HTTP
//! path answering 2xx, or a TCP port accepting), and how long it waits for that.

use std::time::Duration;

/// How long a started server may take to be ready when nothing says otherwise (our server's
/// start line, a runtime's path).
pub const START_WAIT: Duration = Duration::from_secs(30);

/// What proves a started server ready, with the longest it may take.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Readiness {
    /// It logs its start line: our server, which says when it listens.
    LogLine {
        /// How long it may take to log it.
        within: Duration,
    },
    /// `GET path` answers 2xx: any HTTP server (a non-2xx answer is an error: the path would not
    /// tell a served request from a failing one).
    HttpPath {
        /// The path polled.
        path: String,
        /// How long it may take to answer.
        within: Duration,
    },
    /// Its port accepts a TCP connection and holds it open: a server that speaks no HTTP/1.1
    /// (nginx's h2c listener, grpcio). Through docker-proxy a port accepts before anything
    /// listens behind it, then drops the connection, so a connection closed at once is not
    /// readiness.
    TcpPort {
        /// How long it may take to accept.
        within: Duration,
    },
}

impl Readiness {
    /// The longest the server may take to be ready.
    pub fn within(&self) -> Duration {
        match self {
            Readiness::LogLine { within }
            | Readiness::HttpPath { within, .. }
            | Readiness::TcpPort { within } => *within,
        }
    }

    /// The path polled, when readiness is an HTTP path.
    pub fn path(&self) -> Option<&str> {
        match self {
            Readiness::HttpPath { path, .. } => Some(path),
            Readiness::LogLine { .. } | Readiness::TcpPort { .. } => None,
        }
    }
}
