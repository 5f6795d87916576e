//! Traffic across the stop, as data: which client sends the stream, and what each request of
//! it met. One record per request, kept small: a run records every request of a stream.

use std::net::SocketAddr;
use std::time::Duration;

use load_generator::{ClientKind, Plan};
use serde::{Deserialize, Serialize};

use super::outcome::Outcome;
use super::vantage::Vantage;

/// How the load's client holds its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientProfile {
    /// A new connection per request (`Connection: close`).
    Fresh,
    /// A pool of keep-alive connections reused from request to request, as services call
    /// each other (hyper-util's pooled client, the one inside reqwest, with reqwest's settings),
    /// noting which connection each request went out on. It opens another connection whenever
    /// every open one is busy.
    Pooled,
    /// reqwest itself, with its default settings: what a reqwest user gets (it cannot say which
    /// connection a request went out on).
    Reqwest,
    /// A fixed set of keep-alive connections ([`LoadSpec::connections`]), at most one request
    /// in flight on each, as wrk2 drives them: when every connection is busy a request waits
    /// for one, and its departure lag shows it. The generator for production rates.
    Fixed,
    /// HTTP/2 with prior knowledge: each request a stream of its own, many in flight on each of
    /// [`LoadSpec::connections`] connections (one by default), up to the server's
    /// SETTINGS_MAX_CONCURRENT_STREAMS; a stream the server never processed (refused by its
    /// GOAWAY or REFUSED_STREAM) is `refused`.
    H2c,
}

impl ClientProfile {
    /// Every client, in display order.
    pub const ALL: [ClientProfile; 5] = [
        ClientProfile::Fresh,
        ClientProfile::Pooled,
        ClientProfile::Reqwest,
        ClientProfile::Fixed,
        ClientProfile::H2c,
    ];

    /// The name in scenario files, flags and reports.
    pub fn name(self) -> &'static str {
        match self {
            ClientProfile::Fresh => "fresh",
            ClientProfile::Pooled => "pooled",
            ClientProfile::Reqwest => "reqwest",
            ClientProfile::Fixed => "fixed",
            ClientProfile::H2c => "h2c",
        }
    }

    /// What each client does, for diagnostics that list them.
    pub fn describe(self) -> &'static str {
        match self {
            ClientProfile::Fresh => "a connection per request",
            ClientProfile::Pooled => "keep-alive, a new connection whenever all are busy",
            ClientProfile::Reqwest => "reqwest with its defaults",
            ClientProfile::Fixed => "a fixed set of keep-alive connections, as wrk2",
            ClientProfile::H2c => "HTTP/2 streams with prior knowledge on one connection or a few",
        }
    }

    /// The clients as a diagnostic lists them: `"fresh" (a connection per request), ...`.
    pub fn choices() -> String {
        ClientProfile::ALL
            .map(|c| format!("\"{}\" ({})", c.name(), c.describe()))
            .join(", ")
    }

    /// Parses one of [`ClientProfile::ALL`]'s names.
    pub fn parse(text: &str) -> Option<ClientProfile> {
        ClientProfile::ALL
            .into_iter()
            .find(|c| c.name() == text.trim())
    }

    /// Whether the load generator runs this client, so that it can run inside a container's
    /// network namespace (`pooled` and `reqwest` are hyper's and reqwest's pools, on the host).
    pub fn runs_in_netns(self) -> bool {
        matches!(
            self,
            ClientProfile::Fresh | ClientProfile::Fixed | ClientProfile::H2c
        )
    }

    /// Whether the client takes a connection count (`fixed` and `h2c`; the others open their
    /// connections as they need them).
    pub fn takes_connections(self) -> bool {
        matches!(self, ClientProfile::Fixed | ClientProfile::H2c)
    }
}

impl std::fmt::Display for ClientProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether a request went out on a connection of its own or on one a request used before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Connection {
    /// Opened for this request (or never opened: refused).
    New,
    /// Kept alive from an earlier request.
    Reused,
    /// The client does not say (reqwest).
    Unknown,
}

/// What one request of a stream met. Times are µs from the stream's start; `sent_us` is when
/// the request was *due* (the open model: a late send shows as latency, never as a lower rate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadRecord {
    /// The request's id, as sent in its `x-request-id` header.
    pub id: u32,
    /// When it was due.
    pub sent_us: u32,
    /// When it really went out (later than due when the client falls behind): its phase.
    pub started_us: u32,
    /// When its outcome was known.
    pub done_us: u32,
    /// Its outcome.
    pub outcome: Outcome,
    /// The status, 0 when no headers arrived.
    pub status: u16,
    /// New or reused connection.
    pub connection: Connection,
}

/// A stream's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadSpec {
    /// Requests per second, sent on schedule whether or not earlier ones were answered.
    pub rate: u32,
    /// How long the stream runs, from the moment the server is ready; it goes on past this
    /// until the server has exited (and a little after), so that every phase is seen.
    pub duration: std::time::Duration,
    /// The path each request asks for.
    pub path: String,
    /// The client.
    pub client: ClientProfile,
    /// How many connections the `fixed` or `h2c` client keeps (None: [`DEFAULT_CONNECTIONS`]
    /// for `fixed`, [`DEFAULT_H2C_CONNECTIONS`] for `h2c`); the other clients take none.
    pub connections: Option<u16>,
    /// Where the client stands (None: `netns` where it works, else `host`; see
    /// [`Scenario::vantage`](super::scenario::Scenario::vantage)).
    pub vantage: Option<Vantage>,
}

impl LoadSpec {
    /// How many connections the `fixed` or `h2c` client keeps.
    pub fn connection_count(&self) -> u16 {
        let default = match self.client {
            ClientProfile::H2c => DEFAULT_H2C_CONNECTIONS,
            _ => DEFAULT_CONNECTIONS,
        };
        self.connections
            .unwrap_or(default)
            .clamp(1, MAX_CONNECTIONS)
    }

    /// The load generator's plan of this stream, to `target`, each request waited for at most
    /// `deadline`. The generator runs `fixed` and `h2c`, and `fresh` for any other client
    /// (pooled and reqwest are the harness's own; a netns stream never asks for them).
    pub fn generator_plan(&self, target: SocketAddr, deadline: Duration) -> Plan {
        Plan {
            target,
            path: self.path.clone(),
            rate: self.rate,
            client: match self.client {
                ClientProfile::Fixed => ClientKind::Fixed,
                ClientProfile::H2c => ClientKind::H2c,
                _ => ClientKind::Fresh,
            },
            connections: self.connection_count(),
            duration: self.duration,
            deadline,
        }
    }
}

/// The most requests per second a stream may ask for.
pub const MAX_RATE: u32 = 100_000;

/// How many connections the `fixed` client keeps when the load names no count (wrk's usual
/// `-c64`): enough for 640 requests/s of a 100 ms handler before requests wait.
pub const DEFAULT_CONNECTIONS: u16 = 64;
/// How many connections the `h2c` client keeps when the load names no count: streams on one
/// connection, as an HTTP/2 client keeps one per server.
pub const DEFAULT_H2C_CONNECTIONS: u16 = 1;
/// The most connections a `fixed` or `h2c` client may keep: each is a file descriptor.
pub const MAX_CONNECTIONS: u16 = 4096;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_small() {
        // Every request of a stream is kept: a few dozen bytes each, at most.
        assert!(std::mem::size_of::<LoadRecord>() <= 28);
    }

    #[test]
    fn bounds_and_keys_parse() {
        assert_eq!(Bound::parse("0"), Some(Bound::Exactly(0)));
        assert_eq!(Bound::parse("all"), Some(Bound::All));
        assert_eq!(Bound::parse("some"), Some(Bound::AtLeast(1)));
        assert_eq!(Bound::parse("<= 5"), Some(Bound::AtMost(5)));
        assert_eq!(Bound::parse("several"), None);
        assert_eq!(Bound::parse("20..47"), Some(Bound::Between(20, 47)));
        assert_eq!(Bound::parse("47..20"), None);
        assert!(Bound::Between(20, 47).holds(47, 100));
        assert!(!Bound::Between(20, 47).holds(19, 100));
        assert!(Bound::All.holds(10, 10));
        assert!(!Bound::AtMost(2).holds(3, 10));
        assert_eq!(
            LoadExpectation::parse_key("not-served-draining"),
            Some((LoadWhat::NotServed, Some(Phase::Draining)))
        );
        assert_eq!(
            LoadExpectation::parse_key("cut"),
            Some((LoadWhat::Cut, None))
        );
        assert_eq!(LoadExpectation::parse_key("cuts"), None);
    }

    #[test]
    fn thresholds_parse_as_k6_users_write_them() {
        assert_eq!(
            LoadThreshold::parse("lost-rate", "<= 0.1%"),
            Some(Ok(LoadThreshold::Rate {
                what: LoadWhat::Lost,
                phase: None,
                at_most_ppm: 1000
            }))
        );
        assert_eq!(
            LoadThreshold::parse("p99-draining", "<= 500ms"),
            Some(Ok(LoadThreshold::Latency {
                quantile: Quantile::P99,
                phase: Some(Phase::Draining),
                at_most: std::time::Duration::from_millis(500)
            }))
        );
        assert_eq!(LoadThreshold::parse("cut", "0"), None);
        assert!(matches!(
            LoadThreshold::parse("lost-rate", "1%"),
            Some(Err(_))
        ));
        assert!(matches!(
            LoadThreshold::parse("p99-after-exit", "<= 1s"),
            Some(Err(_))
        ));
        let threshold = LoadThreshold::parse("cut-rate-draining", "<= 5%")
            .unwrap()
            .unwrap();
        assert_eq!(threshold.key(), "cut-rate-draining");
        assert_eq!(threshold.describe_bound(), "at most 5%");
        assert_eq!(format_percent(125), "0.0125%");
        assert_eq!(Limit::parse("5"), Ok(Limit::Count(5)));
        assert_eq!(Limit::parse("0.1%"), Ok(Limit::Share(1000)));
        assert!(Limit::parse("lots").is_err());
        assert_eq!(parse_percent("101%"), None);
    }

    #[test]
    fn clients_parse_by_name() {
        assert_eq!(ClientProfile::parse("pooled"), Some(ClientProfile::Pooled));
        assert_eq!(ClientProfile::parse("fixed"), Some(ClientProfile::Fixed));
        for client in ClientProfile::ALL {
            assert_eq!(ClientProfile::parse(client.name()), Some(client));
            assert!(ClientProfile::choices().contains(client.name()));
        }
        assert_eq!(ClientProfile::parse("keepalive"), None);
    }
}

/// When a request of a stream was sent, relative to the stop: the phases of a shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Before the engine sent the stop signal.
    BeforeSignal,
    /// After the signal, before the server exited: it is draining (or should be).
    Draining,
    /// After the server exited.
    AfterExit,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; 3] = [Phase::BeforeSignal, Phase::Draining, Phase::AfterExit];

    /// The vocabulary's word.
    pub fn name(self) -> &'static str {
        match self {
            Phase::BeforeSignal => "before-signal",
            Phase::Draining => "draining",
            Phase::AfterExit => "after-exit",
        }
    }
}

/// What a load expectation counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoadWhat {
    /// Requests sent.
    Sent,
    /// Answered in full with 2xx.
    Ok,
    /// Accepted by the server and not completed (reset or empty reply mid-request, truncated).
    Cut,
    /// Never accepted (refused, or closed before the server saw it).
    NotServed,
    /// Any client-visible failure: everything not `ok`.
    Lost,
    /// Failed on a pooled keep-alive connection the server had already closed.
    ReusedConnection,
}

impl LoadWhat {
    /// Every count, in display order.
    pub const ALL: [LoadWhat; 6] = [
        LoadWhat::Sent,
        LoadWhat::Ok,
        LoadWhat::Cut,
        LoadWhat::NotServed,
        LoadWhat::Lost,
        LoadWhat::ReusedConnection,
    ];

    /// The word in scenario files and reports.
    pub fn name(self) -> &'static str {
        match self {
            LoadWhat::Sent => "sent",
            LoadWhat::Ok => "ok",
            LoadWhat::Cut => "cut",
            LoadWhat::NotServed => "not-served",
            LoadWhat::Lost => "lost",
            LoadWhat::ReusedConnection => "reused-connection",
        }
    }
}

/// A bound on a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// Exactly this many (`0`: none).
    Exactly(u64),
    /// At most this many (`"<= 5"`).
    AtMost(u64),
    /// At least this many (`">= 1"`, `"some"`).
    AtLeast(u64),
    /// From the first to the second, both included (`"20..47"`): a measured range.
    Between(u64, u64),
    /// As many as were sent in that phase (`"all"`).
    All,
}

impl Bound {
    /// Parses `0`, `"all"`, `"some"`, `"none"`, `"<= 5"`, `">= 1"`, `"20..47"`.
    pub fn parse(text: &str) -> Option<Bound> {
        let text = text.trim();
        match text {
            "all" => return Some(Bound::All),
            "some" | "any" => return Some(Bound::AtLeast(1)),
            "none" => return Some(Bound::Exactly(0)),
            _ => {}
        }
        if let Some(n) = text.strip_prefix("<=") {
            return n.trim().parse().ok().map(Bound::AtMost);
        }
        if let Some(n) = text.strip_prefix(">=") {
            return n.trim().parse().ok().map(Bound::AtLeast);
        }
        if let Some((low, high)) = text.split_once("..") {
            let (low, high) = (low.trim().parse().ok()?, high.trim().parse().ok()?);
            return (low <= high).then_some(Bound::Between(low, high));
        }
        text.parse().ok().map(Bound::Exactly)
    }

    /// Whether `count` meets the bound, `sent` being how many were sent (for `all`).
    pub fn holds(self, count: u64, sent: u64) -> bool {
        match self {
            Bound::Exactly(n) => count == n,
            Bound::AtMost(n) => count <= n,
            Bound::AtLeast(n) => count >= n,
            Bound::Between(low, high) => (low..=high).contains(&count),
            Bound::All => count == sent,
        }
    }
}

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bound::Exactly(n) => write!(f, "{n}"),
            Bound::AtMost(n) => write!(f, "at most {n}"),
            Bound::AtLeast(1) => f.write_str("some"),
            Bound::AtLeast(n) => write!(f, "at least {n}"),
            Bound::Between(low, high) => write!(f, "{low} to {high}"),
            Bound::All => f.write_str("all"),
        }
    }
}

/// A latency percentile of the requests answered in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quantile {
    /// The median.
    P50,
    /// The 99th percentile.
    P99,
    /// The slowest.
    Max,
}

impl Quantile {
    /// Every one, in display order.
    pub const ALL: [Quantile; 3] = [Quantile::P50, Quantile::P99, Quantile::Max];

    /// The word in scenario files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Quantile::P50 => "p50",
            Quantile::P99 => "p99",
            Quantile::Max => "max",
        }
    }
}

/// A threshold on a stream, as k6 and vegeta users write them: a share of the requests, or a
/// latency percentile, in a phase or over the whole stream, that must not be exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoadThreshold {
    /// At most this share of the requests (sent in the phase, or all) may be `what`
    /// (`lost-rate = "<= 0.1%"`): parts per million, so that 0.1 % is 1000.
    Rate {
        /// What is counted.
        what: LoadWhat,
        /// In which phase (None: the whole stream).
        phase: Option<Phase>,
        /// The most, in parts per million of the requests sent.
        at_most_ppm: u32,
    },
    /// A latency percentile of the requests answered in full (in the phase, or all) may be at
    /// most this long (`p99-draining = "<= 500ms"`).
    Latency {
        /// Which percentile.
        quantile: Quantile,
        /// In which phase (None: the whole stream); after the exit nothing is answered.
        phase: Option<Phase>,
        /// The longest.
        at_most: std::time::Duration,
    },
}

impl LoadThreshold {
    /// The phase it is about (None: the whole stream).
    pub fn phase(&self) -> Option<Phase> {
        match self {
            LoadThreshold::Rate { phase, .. } | LoadThreshold::Latency { phase, .. } => *phase,
        }
    }

    /// Its key in scenario files: `lost-rate`, `cut-rate-draining`, `p99-draining`, `max`.
    pub fn key(&self) -> String {
        let (stem, phase) = match self {
            LoadThreshold::Rate { what, phase, .. } => (format!("{}-rate", what.name()), phase),
            LoadThreshold::Latency {
                quantile, phase, ..
            } => (quantile.name().to_string(), phase),
        };
        match phase {
            Some(phase) => format!("{stem}-{}", phase.name()),
            None => stem,
        }
    }

    /// `at most 0.1%`, `at most 500ms`.
    pub fn describe_bound(&self) -> String {
        match self {
            LoadThreshold::Rate { at_most_ppm, .. } => {
                format!("at most {}", format_percent(*at_most_ppm))
            }
            LoadThreshold::Latency { at_most, .. } => {
                format!("at most {}", crate::duration::format(*at_most))
            }
        }
    }

    /// Parses `key = "<= value"`: a rate key with a percentage, a latency key with a duration.
    /// None when the key names no threshold; Err when the key does but the value is wrong.
    pub fn parse(key: &str, value: &str) -> Option<Result<LoadThreshold, String>> {
        let (stem, phase) = split_phase(key);
        let at_most = value.trim().strip_prefix("<=").map(str::trim);
        if let Some(what) = stem.strip_suffix("-rate") {
            let what = LoadWhat::ALL.into_iter().find(|w| w.name() == what)?;
            let Some(ppm) = at_most.and_then(parse_percent) else {
                return Some(Err(format!(
                    "`{key}` takes a share of the requests, like \"<= 0.1%\""
                )));
            };
            return Some(Ok(LoadThreshold::Rate {
                what,
                phase,
                at_most_ppm: ppm,
            }));
        }
        let quantile = Quantile::ALL.into_iter().find(|q| q.name() == stem)?;
        if phase == Some(Phase::AfterExit) {
            return Some(Err(format!(
                "`{key}`: nothing is answered after the exit; write `{stem}`, `{stem}-before-signal` or `{stem}-draining`"
            )));
        }
        match at_most.and_then(crate::duration::parse) {
            Some(at_most) => Some(Ok(LoadThreshold::Latency {
                quantile,
                phase,
                at_most,
            })),
            None => Some(Err(format!(
                "`{key}` takes a latency bound, like \"<= 500ms\""
            ))),
        }
    }
}

/// A most a user allows of some requests: a count, or a share of those sent (`--max-lost 5`,
/// `--max-lost 0.1%`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// At most this many.
    Count(u64),
    /// At most this share, in parts per million.
    Share(u32),
}

impl Limit {
    /// Parses `5` or `0.1%`.
    pub fn parse(text: &str) -> Result<Limit, String> {
        let text = text.trim();
        if text.ends_with('%') {
            return parse_percent(text)
                .map(Limit::Share)
                .ok_or_else(|| format!("{text:?} is not a share from 0% to 100%, like 0.1%"));
        }
        text.parse()
            .map(Limit::Count)
            .map_err(|_| format!("{text:?} is not a count (5) or a share (0.1%)"))
    }

    /// As a count bound or a rate threshold on `what` in `phase` (None: the whole stream).
    pub fn on(
        self,
        what: LoadWhat,
        phase: Option<Phase>,
    ) -> (Option<LoadExpectation>, Option<LoadThreshold>) {
        match self {
            Limit::Count(n) => (
                Some(LoadExpectation {
                    what,
                    phase,
                    bound: Bound::AtMost(n),
                }),
                None,
            ),
            Limit::Share(ppm) => (
                None,
                Some(LoadThreshold::Rate {
                    what,
                    phase,
                    at_most_ppm: ppm,
                }),
            ),
        }
    }
}

/// `cut-rate-draining` as (`cut-rate`, draining).
fn split_phase(key: &str) -> (&str, Option<Phase>) {
    for phase in Phase::ALL {
        if let Some(stem) = key.strip_suffix(&format!("-{}", phase.name())) {
            return (stem, Some(phase));
        }
    }
    (key, None)
}

/// `0.1%` (or `0.1 %`) as parts per million; at most 100 %.
pub fn parse_percent(text: &str) -> Option<u32> {
    let number: f64 = text.trim().strip_suffix('%')?.trim().parse().ok()?;
    (number.is_finite() && (0.0..=100.0).contains(&number))
        .then(|| (number * 10_000.0).round() as u32)
}

/// Parts per million as a percentage: `0.1%`, `5%`, `0.0125%`.
pub fn format_percent(ppm: u32) -> String {
    let text = format!("{:.4}", f64::from(ppm) / 10_000.0);
    format!("{}%", text.trim_end_matches('0').trim_end_matches('.'))
}

/// One load expectation: a count, in a phase or over the whole stream, and its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadExpectation {
    /// What is counted.
    pub what: LoadWhat,
    /// In which phase (None: the whole stream).
    pub phase: Option<Phase>,
    /// The bound.
    pub bound: Bound,
}

impl LoadExpectation {
    /// The key of a count in scenario files: `cut`, `ok-before-signal`, `not-served-draining`.
    pub fn key(what: LoadWhat, phase: Option<Phase>) -> String {
        match phase {
            Some(phase) => format!("{}-{}", what.name(), phase.name()),
            None => what.name().to_string(),
        }
    }

    /// The count a key names, if any.
    pub fn parse_key(key: &str) -> Option<(LoadWhat, Option<Phase>)> {
        for what in LoadWhat::ALL {
            if key == what.name() {
                return Some((what, None));
            }
            for phase in Phase::ALL {
                if key == LoadExpectation::key(what, Some(phase)) {
                    return Some((what, Some(phase)));
                }
            }
        }
        None
    }
}
