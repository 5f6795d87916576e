//! HAProxy's log, read: its one line per request (the format [`HAPROXY_CONFIG`] sets) into a
//! [`BalancerRecord`], and everything else (server state changes, warnings) left as a line.
//!
//! [`HAPROXY_CONFIG`]: super::HAPROXY_CONFIG

use super::config::REQUEST_LOG_PREFIX;
use crate::model::rollout::BalancerRecord;

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

/// The address a request's line says it went to: a Swarm rollout's slots are no replica's,
/// their addresses are. Its connection's destination (`dst=`, `bc_dst`) when it had one, else
/// its slot's address when the line was written (`addr=`, `%si`), which a DNS change in between
/// may have moved on.
pub fn request_address(line: &str) -> Option<std::net::IpAddr> {
    let fields = line.strip_prefix(REQUEST_LOG_PREFIX)?;
    let field = |name: &str| {
        fields
            .split_whitespace()
            .find_map(|f| f.strip_prefix(name)?.parse().ok())
    };
    field("dst=").or_else(|| field("addr="))
}

/// The server slot a request's line names (`srv=t2`); None for `<NOSRV>`.
pub fn request_server(line: &str) -> Option<&str> {
    line.strip_prefix(REQUEST_LOG_PREFIX)?
        .split_whitespace()
        .find_map(|f| f.strip_prefix("srv="))
        .filter(|s| !s.starts_with('<'))
}

/// What a line of the balancer's says a DNS resolution did to a server slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsChange {
    /// `replicas/t3 changed its IP from (none) to 10.0.1.6 by DNS cache.`: the slot's address
    /// changed (None: it had none, or has none now).
    Changed {
        /// The slot (`t3`).
        slot: String,
        /// The address it had.
        from: Option<std::net::IpAddr>,
        /// The address it has.
        to: Option<std::net::IpAddr>,
    },
    /// `Server replicas/t1 is going DOWN for maintenance (No IP for server ).`: the slot's
    /// address vanished from DNS and the slot left the pool.
    Gone {
        /// The slot.
        slot: String,
    },
}

/// Reads a DNS change off one of the balancer's lines (without its level prefix), if it is one.
pub fn dns_change(line: &str) -> Option<DnsChange> {
    let line = without_level(line.trim_end());
    if let Some(rest) = line.strip_prefix("replicas/")
        && let Some((slot, change)) = rest.split_once(" changed its IP from ")
        && let Some((from, to)) = change.split_once(" to ")
    {
        let address = |text: &str| text.split_whitespace().next()?.parse().ok();
        return Some(DnsChange::Changed {
            slot: slot.to_string(),
            from: address(from),
            to: address(to),
        });
    }
    let rest = line.strip_prefix("Server replicas/")?;
    let (slot, why) = rest.split_once(' ')?;
    why.starts_with("is going DOWN for maintenance (No IP")
        .then(|| DnsChange::Gone {
            slot: slot.to_string(),
        })
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
    fn swarm_lines_give_addresses_and_dns_changes() {
        let line = "shreq id=7 srv=t2 addr=10.0.1.3 rc=0 ts=---- st=200 Tc=0 Ta=101";
        assert_eq!(request_address(line), "10.0.1.3".parse().ok());
        assert_eq!(request_address("shreq id=7 srv=<NOSRV> addr=- rc=0"), None);
        let moved = "shreq id=8 srv=t2 addr=10.0.1.7 dst=10.0.1.2 rc=0 ts=---- st=200";
        assert_eq!(request_address(moved), "10.0.1.2".parse().ok());
        let unconnected = "shreq id=9 srv=t2 addr=10.0.1.7 dst=- rc=3 ts=SC-- st=503";
        assert_eq!(request_address(unconnected), "10.0.1.7".parse().ok());
        assert_eq!(request_server(unconnected), Some("t2"));
        assert_eq!(request_server("shreq id=9 srv=<NOSRV> addr=- rc=0"), None);
        assert_eq!(
            dns_change(
                "[WARNING]  (1) : replicas/t3 changed its IP from (none) to 10.0.1.6 by DNS cache."
            ),
            Some(DnsChange::Changed {
                slot: "t3".to_string(),
                from: None,
                to: "10.0.1.6".parse().ok(),
            })
        );
        assert_eq!(
            dns_change(
                "Server replicas/t1 is going DOWN for maintenance (No IP for server ). 3 active and 0 backup servers left."
            ),
            Some(DnsChange::Gone {
                slot: "t1".to_string()
            })
        );
        assert_eq!(dns_change("Server replicas/t1 is UP"), None);
        assert_eq!(dns_change("replicas/t1 changed its IP from"), None);
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
