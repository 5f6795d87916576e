//! The log contract of graceful-server as the harness reads it: thin wrappers over
//! [`server_contract::LogLine`], the one definition both sides share.

use std::net::SocketAddr;

use server_contract::LogLine;

/// The address in the server's start line.
pub fn started_on(line: &str) -> Option<SocketAddr> {
    match LogLine::parse(line)? {
        LogLine::Start { addr, .. } => Some(addr),
        _ => None,
    }
}

/// Whether the line says a request was received.
pub fn is_request_received(line: &str) -> bool {
    matches!(LogLine::parse(line), Some(LogLine::RequestReceived { .. }))
}

/// Whether the line says the server received a shutdown signal.
pub fn is_signal_received(line: &str) -> bool {
    matches!(LogLine::parse(line), Some(LogLine::SignalReceived { .. }))
}

pub use server_contract::log::{timestamp, without_timestamp};
