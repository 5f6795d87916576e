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

/// A rollout replica's line as the timeline shows it: `[r1] Received SIGNAL: terminated`.
pub fn of_replica(replica: &str, line: &str) -> String {
    format!("[{replica}] {}", without_timestamp(line))
}

/// The line without a replica's `[r1] ` prefix, if it has one.
pub fn without_replica(line: &str) -> &str {
    line.strip_prefix('[')
        .and_then(|rest| rest.split_once("] "))
        .map_or(line, |(_, text)| text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replicas_prefix_comes_and_goes() {
        let line = of_replica("r2", "2026-11-29T00:21:02.314Z Received SIGNAL: terminated");
        assert_eq!(line, "[r2] Received SIGNAL: terminated");
        assert!(is_signal_received(without_replica(&line)));
        assert_eq!(without_replica("no prefix"), "no prefix");
    }
}
