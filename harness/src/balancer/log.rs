//! HAProxy's log, read: its one line per request (the format [`HAPROXY_CONFIG`] sets) into a
//! [`BalancerRecord`], and everything else (server state changes, warnings) left as a line.
//!
//! [`HAPROXY_CONFIG`]: super::HAPROXY_CONFIG

use super::config::REQUEST_LOG_PREFIX;
use crate::rollout::BalancerRecord;

/// What one line of the balancer's output is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BalancerLine {
    /// A request of the stream, with what the balancer did with it.
    Request(BalancerRecord),
    /// A request that carried no stream id (the harness's own probe through the balancer).
    Unnumbered,
    /// Anything else: a server going up, down or into maintenance, a warning, an alert.
    Other(String),
}

/// Reads one line of HAProxy's output. A message HAProxy also prints on its standard error
/// (`[WARNING]  (1) : Server replicas/s1 is UP`) is given without that prefix, so that the
/// two copies read the same.
pub fn parse(line: &str) -> BalancerLine {
    let Some(fields) = line.strip_prefix(REQUEST_LOG_PREFIX) else {
        return BalancerLine::Other(without_level(line.trim_end()).to_string());
    };
    match request(fields) {
        Some(record) => BalancerLine::Request(record),
        None => BalancerLine::Unnumbered,
    }
}

/// `Server ... is UP` from `[WARNING]  (1) : Server ... is UP`.
fn without_level(line: &str) -> &str {
    if line.starts_with('[')
        && let Some((_, message)) = line.split_once(") : ")
    {
        return message;
    }
    line
}

/// `id=12 srv=s1 rc=+3 ts=SC-- st=503 Tc=-1 Ta=4003`: None without a numeric id.
fn request(fields: &str) -> Option<BalancerRecord> {
    let field = |name: &str| {
        fields
            .split_whitespace()
            .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
    };
    let id = field("id")?.parse().ok()?;
    let replica = field("srv")
        .and_then(|s| s.strip_prefix('s'))
        .and_then(|n| n.parse().ok());
    let retries = field("rc").unwrap_or("0");
    let redispatched = retries.starts_with('+');
    let retries = retries.trim_start_matches('+').parse().unwrap_or(0);
    let mut termination = *b"----";
    if let Some(state) = field("ts") {
        for (slot, byte) in termination.iter_mut().zip(state.bytes()) {
            *slot = byte;
        }
    }
    // HAProxy writes -1 for a timer that never ran and a status that was never set.
    let timer = |name: &str| field(name).and_then(|t| t.parse::<u32>().ok());
    Some(BalancerRecord {
        id,
        replica,
        retries,
        redispatched,
        termination,
        status: field("st").and_then(|s| s.parse().ok()),
        connect_ms: timer("Tc"),
        total_ms: timer("Ta"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_become_records() {
        let ok = parse("shreq id=7 srv=s2 rc=0 ts=---- st=200 Tc=0 Ta=101");
        assert_eq!(
            ok,
            BalancerLine::Request(BalancerRecord {
                id: 7,
                replica: Some(2),
                retries: 0,
                redispatched: false,
                termination: *b"----",
                status: Some(200),
                connect_ms: Some(0),
                total_ms: Some(101),
            })
        );
        let BalancerLine::Request(failed) =
            parse("shreq id=130 srv=s1 rc=3 ts=SC-- st=503 Tc=-1 Ta=18004\n")
        else {
            panic!("a request line");
        };
        assert_eq!(failed.termination_state(), "SC--");
        assert_eq!((failed.retries, failed.redispatched), (3, false));
        assert_eq!((failed.connect_ms, failed.total_ms), (None, Some(18004)));
        let BalancerLine::Request(moved) =
            parse("shreq id=5 srv=s3 rc=+3 ts=---- st=200 Tc=1 Ta=3012")
        else {
            panic!("a request line");
        };
        assert_eq!(
            (moved.replica, moved.retries, moved.redispatched),
            (Some(3), 3, true)
        );
        let BalancerLine::Request(nowhere) =
            parse("shreq id=9 srv=<NOSRV> rc=0 ts=SC-- st=503 Tc=-1 Ta=0")
        else {
            panic!("a request line");
        };
        assert_eq!(nowhere.replica, None);
    }

    #[test]
    fn other_lines_stay_lines() {
        assert_eq!(
            parse("shreq id=- srv=s1 rc=0 ts=---- st=200 Tc=0 Ta=1"),
            BalancerLine::Unnumbered
        );
        assert_eq!(
            parse("Server replicas/s1 is going DOWN for maintenance.\n"),
            BalancerLine::Other("Server replicas/s1 is going DOWN for maintenance.".to_string())
        );
        assert_eq!(
            parse("[WARNING]  (1) : Server replicas/s2 is UP/READY (leaving forced maintenance)."),
            BalancerLine::Other(
                "Server replicas/s2 is UP/READY (leaving forced maintenance).".to_string()
            )
        );
        // Truncated or garbled lines never panic.
        for line in [
            "shreq ",
            "shreq id=",
            "shreq id=1 ts=S",
            "shreq id=1 st=x Tc=y",
        ] {
            let _ = parse(line);
        }
    }
}
