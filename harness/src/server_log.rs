//! The log contract of graceful-server (server/README.md) as the harness reads it.

use std::net::SocketAddr;

/// The address in a `Start Server... listening on <addr> (mode <mode>)` line.
pub fn started_on(line: &str) -> Option<SocketAddr> {
    let rest = line.split_once("Start Server... listening on ")?.1;
    rest.split_whitespace().next()?.parse().ok()
}

/// Whether the line says a request was received (`Receive Request...`).
pub fn is_request_received(line: &str) -> bool {
    line.contains("Receive Request...")
}

/// Whether the line says the server received a shutdown signal (`Received SIGNAL: ...`).
pub fn is_signal_received(line: &str) -> bool {
    line.contains("Received SIGNAL:")
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

    #[test]
    fn reads_the_contract_lines() {
        let start =
            "2026-11-25T14:13:45.123Z Start Server... listening on 127.0.0.1:40123 (mode graceful)";
        assert_eq!(started_on(start), Some("127.0.0.1:40123".parse().unwrap()));
        assert!(is_request_received(
            "2026-11-25T14:13:46.001Z Receive Request... GET /"
        ));
        assert!(is_signal_received(
            "2026-11-25T14:13:47.000Z Received SIGNAL: terminated"
        ));
        assert_eq!(
            without_timestamp("2026-11-25T14:13:47.000Z Received SIGNAL: terminated"),
            "Received SIGNAL: terminated"
        );
        assert_eq!(
            without_timestamp("tini: child exited"),
            "tini: child exited"
        );
    }
}
