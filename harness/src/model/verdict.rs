//! The judgement of a scenario: its expectations and the two requirements of a correct shutdown.
//! Each failed expectation is data (what was expected, what was seen); its sentence is its
//! `Display`, for people.

use std::fmt;
use std::time::Duration;

use serde::{Serialize, Serializer};

use super::load::{Bound, format_percent};
use super::observation::{Baseline, Delivery, Percentiles, RequestObservation, RolloutPhaseCounts};
use super::outcome::Expected;
use super::rollout::HookOutcome;
use super::streams::{Goaway, GoawaySequence};
use crate::duration;
use crate::option_name::OptionName;

/// The two requirements of a server shut down correctly (the experiment's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Requirement {
    /// Every request received before the stop is answered in full.
    AnswersInFlight,
    /// No request sent after the stop is served.
    RefusesNew,
    /// The load stays within the thresholds the user set (a share of its requests lost, a
    /// latency percentile during the stop): present only when there are thresholds.
    WithinThresholds,
}

impl Requirement {
    /// The requirement in words.
    pub fn statement(self) -> &'static str {
        match self {
            Requirement::AnswersInFlight => "every request received is answered",
            Requirement::RefusesNew => "no new request is served once shutdown began",
            Requirement::WithinThresholds => "the load stays within its thresholds",
        }
    }
}

/// Whether a requirement (or a threshold) was met. Serialised as the JSON contract's `met`:
/// true, false, or null when untested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Met {
    /// It held.
    Yes,
    /// It did not.
    No,
    /// Nothing tested it, for this reason: neither met nor failed.
    Untested(Untested),
}

impl Met {
    /// Yes or No.
    pub fn from_bool(held: bool) -> Met {
        if held { Met::Yes } else { Met::No }
    }

    /// `Some(true)`, `Some(false)`, or None when untested (the JSON contract's `met`).
    pub fn as_bool(self) -> Option<bool> {
        match self {
            Met::Yes => Some(true),
            Met::No => Some(false),
            Met::Untested(_) => None,
        }
    }

    /// Why it was not tested; None when it was.
    pub fn untested(self) -> Option<Untested> {
        match self {
            Met::Untested(reason) => Some(reason),
            Met::Yes | Met::No => None,
        }
    }

    /// Both together: No when either is, else untested when either is, else Yes.
    pub fn and(self, other: Met) -> Met {
        match (self, other) {
            (Met::No, _) | (_, Met::No) => Met::No,
            (Met::Untested(reason), _) | (_, Met::Untested(reason)) => Met::Untested(reason),
            (Met::Yes, Met::Yes) => Met::Yes,
        }
    }
}

impl Serialize for Met {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.as_bool().serialize(serializer)
    }
}

/// Why a requirement was not tested (the JSON report's `untested`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Untested {
    /// No request was sent on its side of the stop.
    NoRequest,
    /// Every request meant to be in flight was answered before the signal was sent.
    NoneInFlight,
    /// Requests were cut or not served, and the server's log cannot tell which.
    NotToldApart,
    /// Behind a balancer, a stopping replica's refusals are the balancer's to route around.
    BehindBalancer,
    /// A stream is judged by its counts, not by this requirement as such.
    ByCounts,
    /// No stream of requests was sent (thresholds).
    NoStream,
    /// Nothing was answered in a latency threshold's phase.
    NothingAnswered,
    /// The stream was not delivered as asked: what it met says more of the generator or the
    /// machine than of the server.
    NotDelivered,
}

/// Whether one requirement was met, with the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequirementCheck {
    /// Which requirement.
    pub requirement: Requirement,
    /// Met, not met, or untested and why.
    pub met: Met,
    /// The requests that show it (`in-flight: ok (200, 3 bytes)`), or why nothing did.
    pub evidence: String,
}

/// The judgement of one scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// Every expectation held.
    pub passed: bool,
    /// One per expectation that did not hold.
    pub failures: Vec<Failure>,
    /// The two requirements, as observed (independent of what the scenario expected).
    pub requirements: Vec<RequirementCheck>,
    /// The stream was not delivered as asked, so nothing that depends on requests was judged:
    /// neither passed nor failed, an environment limit.
    pub not_delivered: Option<NotDelivered>,
}

/// A stream the generator could not deliver as asked: how late its requests left, against the
/// bounds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NotDelivered {
    /// The rate asked for, requests per second.
    pub rate: u32,
    /// How late the requests left.
    pub departure_lag_ms: Percentiles,
    /// The bounds it broke.
    pub delivery: Delivery,
}

impl NotDelivered {
    /// The sentence, with each option it asks to change spelled by `spell` (a front end's
    /// flags; [`OptionName::words`] in `Display`).
    pub fn message_with(&self, spell: &dyn Fn(OptionName) -> String) -> String {
        let (lag, bounds) = (&self.departure_lag_ms, &self.delivery);
        format!(
            "the load was not delivered: {} requests/s asked, and they left {:.1} ms late at the median, {:.1} ms at p99, {:.1} ms at most (bounds {} ms, {} ms, {} ms); the generator or this machine cannot hold this rate, so nothing that depends on the requests was judged: lower the rate or use {} fixed with more {}",
            self.rate,
            lag.p50_ms,
            lag.p99_ms,
            lag.max_ms,
            bounds.p50_bound_ms,
            bounds.p99_bound_ms,
            bounds.max_bound_ms,
            spell(OptionName::LoadClient),
            spell(OptionName::LoadConnections)
        )
    }
}

impl fmt::Display for NotDelivered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message_with(&OptionName::words))
    }
}

/// An expectation that did not hold: what was expected and what was seen. `kind` names it in
/// the JSON report and JUnit's `type`; `Display` is its sentence.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Failure {
    /// A named request was never sent.
    RequestNotSent {
        /// Its name.
        request: String,
        /// The outcome expected of it.
        #[serde(serialize_with = "as_text")]
        expected: Expected,
    },
    /// A named request met another outcome than the one expected.
    RequestOutcome {
        /// Its name.
        request: String,
        /// The outcome expected of it.
        #[serde(serialize_with = "as_text")]
        expected: Expected,
        /// What it met.
        seen: RequestObservation,
    },
    /// The server's exit code.
    ExitCode {
        /// The code expected.
        expected: i64,
        /// The code seen; None when no exit was seen.
        seen: Option<i64>,
    },
    /// Whether the server logged the stop signal.
    SignalReceived {
        /// Whether it should have.
        expected: bool,
        /// Whether it did; None when its log could not be read.
        seen: Option<bool>,
    },
    /// The stop returned sooner than expected.
    StopTooShort {
        /// The least it should have taken.
        #[serde(rename = "at_least_ms", serialize_with = "as_millis")]
        at_least: Duration,
        /// What it took.
        #[serde(rename = "took_ms", serialize_with = "as_millis")]
        took: Duration,
    },
    /// The stop took longer than expected.
    StopTooLong {
        /// What it should have taken less than.
        #[serde(rename = "below_ms", serialize_with = "as_millis")]
        below: Duration,
        /// What it took.
        #[serde(rename = "took_ms", serialize_with = "as_millis")]
        took: Duration,
    },
    /// The stop's duration was bounded, but the stop never returned.
    StopNeverReturned,
    /// A request meant to be in flight was answered before the signal: the run did not test
    /// what it claims.
    NeverInFlight {
        /// Its name.
        request: String,
        /// When it was answered, ms from ready.
        answered_ms: i64,
        /// When the signal was sent, ms from ready.
        signal_ms: i64,
        /// What would keep it in flight.
        remedy: Remedy,
    },
    /// The server exited before the stop was issued: it crashed, or was killed or removed
    /// from outside.
    ExitedBeforeStop {
        /// Its exit code.
        code: i64,
        /// When it exited, ms from ready.
        exited_ms: i64,
        /// When the stop was issued, if it was.
        stop_issued_ms: Option<i64>,
    },
    /// Counts of a stream were expected, but no stream was sent.
    NoStream,
    /// A count of cut or not-served requests cannot be judged: the server's log cannot tell the
    /// two apart.
    LoadNotToldApart {
        /// The count's key (`cut-draining`).
        key: String,
        /// The requests cut or not served.
        cut_or_not_served: u64,
    },
    /// A count of the stream outside its bound.
    LoadCount {
        /// The count's key (`cut-draining`).
        key: String,
        /// Its bound.
        #[serde(serialize_with = "as_text")]
        expected: Bound,
        /// The count.
        seen: u64,
        /// The requests sent in its phase (what `all` means).
        sent: u64,
    },
    /// The stream's thresholds were not all within their bounds (or not all tested).
    Thresholds {
        /// Each threshold, measured.
        thresholds: Vec<ThresholdCheck>,
    },
    /// Thresholds were set, but no stream was sent.
    ThresholdsWithoutStream,
    /// More requests in flight at the signal were lost than the path's own failure rate
    /// before the stop accounts for.
    LoadInFlight {
        /// The bound on the losses beyond the baseline.
        #[serde(serialize_with = "as_text")]
        expected: Bound,
        /// The losses beyond the baseline.
        seen: u64,
        /// The requests around the signal, with their losses.
        baseline: Baseline,
    },
    /// A rolling update was expected, but no replica was seen.
    NoRollout,
    /// The rollout lost more requests than its bound.
    RolloutLost {
        /// The bound on the requests lost.
        #[serde(serialize_with = "as_text")]
        expected: Bound,
        /// The requests lost.
        lost: u64,
        /// The requests sent.
        sent: u64,
        /// The phases that lost some.
        by_phase: Vec<RolloutPhaseCounts>,
    },
    /// Fewer replicas were terminated than were to be replaced.
    ReplicasNotTerminated {
        /// How many were.
        terminated: usize,
        /// How many should have been.
        replaced: usize,
    },
    /// A terminated replica's `preStop` hook did (or did not) end done.
    PreStop {
        /// The replica.
        replica: String,
        /// Whether it should have ended done.
        expected_done: bool,
        /// What became of it; None when none ran.
        seen: Option<HookOutcome>,
    },
    /// A WebSocket open at the signal ended with another close code than `close-code`.
    CloseCode {
        /// The stream's name.
        stream: String,
        /// The close code expected.
        expected: u16,
        /// The close code seen (1006: no close frame), or how it ended without one.
        seen: String,
    },
    /// An HTTP/2 connection's GOAWAY frames were not of the shape `goaway` expects.
    Goaway {
        /// The connection (`connection 1 (h2c)`).
        connection: String,
        /// The shape expected.
        expected: GoawaySequence,
        /// The shape seen.
        seen: GoawaySequence,
        /// The GOAWAY frames received, the evidence.
        frames: Vec<Goaway>,
    },
    /// The count of streams cut was outside `streams-cut`.
    StreamsCut {
        /// The bound.
        #[serde(serialize_with = "as_text")]
        expected: Bound,
        /// How many were cut.
        seen: u64,
        /// The names of those cut.
        cut: Vec<String>,
    },
    /// An event stream open at the signal ended with another last event than `last-event`.
    LastEvent {
        /// The stream's name.
        stream: String,
        /// The event type expected.
        expected: String,
        /// The type of its last event; None when it received none.
        seen: Option<String>,
    },
    /// A stream broke one of the two requirements read per stream: open at the signal, it did
    /// not end with its protocol's own ending; opened after it, it was accepted.
    StreamRequirement {
        /// Which requirement.
        requirement: Requirement,
        /// The stream's name.
        stream: String,
        /// How it ended, in the report's words (`cut`, `accepted, then closed 1001`).
        seen: String,
    },
    /// A stream meant to be open across the stop ended before the stop was issued: it tested
    /// nothing.
    StreamEndedEarly {
        /// The stream's name.
        stream: String,
        /// When it ended, ms from ready.
        ended_ms: i64,
        /// When the stop was issued, ms from ready.
        stop_issued_ms: i64,
        /// How it ended (`status UNIMPLEMENTED: ...`, `complete (404)`).
        seen: String,
    },
    /// A gRPC call open at the signal ended with another status than `grpc-status`.
    GrpcStatus {
        /// The call's name.
        stream: String,
        /// The status name expected.
        expected: String,
        /// The status seen, or how it ended without one (`cut`).
        seen: String,
    },
}

/// What keeps a request in flight at the signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Remedy {
    /// Our server: a longer delay on the request, or fewer scenarios at once.
    LongerDelay,
    /// Any image: a slower path, or more requests.
    SlowerPath,
}

impl Remedy {
    /// What to do, with each option to change spelled by `spell`.
    pub fn message_with(self, spell: &dyn Fn(OptionName) -> String) -> String {
        match self {
            Remedy::LongerDelay => "lengthen its delay or run fewer scenarios at once".to_string(),
            Remedy::SlowerPath => format!(
                "point {} at a slower endpoint (one that answers after the stop), or raise {} so that some stay in flight",
                spell(OptionName::Path),
                spell(OptionName::Requests)
            ),
        }
    }
}

/// One threshold of a stream, measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdCheck {
    /// Its key in scenario files (`lost-rate`, `p99-draining`).
    pub key: String,
    /// Its bound in words (`at most 0.1%`).
    pub bound: String,
    /// What was measured.
    #[serde(flatten)]
    pub seen: ThresholdSeen,
    /// Whether it held.
    pub met: Met,
}

/// What a threshold measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "seen", rename_all = "kebab-case")]
pub enum ThresholdSeen {
    /// `count` of the `sent` requests of its phase.
    Share {
        /// The requests counted.
        count: u64,
        /// The requests sent.
        sent: u64,
    },
    /// A latency percentile of the requests answered in full.
    Latency {
        /// In ms.
        ms: f64,
    },
    /// Nothing was answered in its phase: no latency to measure.
    NothingAnswered,
}

/// `count` of `sent` in parts per million; None when nothing was sent.
pub fn share_ppm(count: u64, sent: u64) -> Option<u64> {
    count.saturating_mul(1_000_000).checked_div(sent)
}

impl Failure {
    /// Its kind, as the JSON report's `kind` and JUnit's `type` name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::RequestNotSent { .. } => "request-not-sent",
            Failure::RequestOutcome { .. } => "request-outcome",
            Failure::ExitCode { .. } => "exit-code",
            Failure::SignalReceived { .. } => "signal-received",
            Failure::StopTooShort { .. } => "stop-too-short",
            Failure::StopTooLong { .. } => "stop-too-long",
            Failure::StopNeverReturned => "stop-never-returned",
            Failure::NeverInFlight { .. } => "never-in-flight",
            Failure::ExitedBeforeStop { .. } => "exited-before-stop",
            Failure::NoStream => "no-stream",
            Failure::LoadNotToldApart { .. } => "load-not-told-apart",
            Failure::LoadCount { .. } => "load-count",
            Failure::Thresholds { .. } => "thresholds",
            Failure::ThresholdsWithoutStream => "thresholds-without-stream",
            Failure::LoadInFlight { .. } => "load-in-flight",
            Failure::NoRollout => "no-rollout",
            Failure::RolloutLost { .. } => "rollout-lost",
            Failure::ReplicasNotTerminated { .. } => "replicas-not-terminated",
            Failure::PreStop { .. } => "pre-stop",
            Failure::CloseCode { .. } => "close-code",
            Failure::Goaway { .. } => "goaway",
            Failure::StreamsCut { .. } => "streams-cut",
            Failure::LastEvent { .. } => "last-event",
            Failure::GrpcStatus { .. } => "grpc-status",
            Failure::StreamRequirement { .. } => "stream-requirement",
            Failure::StreamEndedEarly { .. } => "stream-ended-early",
        }
    }
}

impl Failure {
    /// The sentence, with each option it asks to change spelled by `spell` (a front end's
    /// flags; [`OptionName::words`] in `Display`).
    pub fn message_with(&self, spell: &dyn Fn(OptionName) -> String) -> String {
        match self {
            Failure::NeverInFlight {
                request,
                answered_ms,
                signal_ms,
                remedy,
            } => format!(
                "request `{request}` was never in flight: answered at {answered_ms} ms, the signal was sent at {signal_ms} ms; {}",
                remedy.message_with(spell)
            ),
            Failure::StreamEndedEarly {
                stream,
                ended_ms,
                stop_issued_ms,
                seen,
            } => format!(
                "stream `{stream}` ended at {ended_ms} ms, before the stop (issued at {stop_issued_ms} ms): {seen}; nothing was open across the stop: point {} at one the server holds open (for gRPC, a server-streaming method), or send the stop sooner with {}",
                spell(OptionName::Path),
                spell(OptionName::StopAfter)
            ),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::RequestNotSent { request, expected } => write!(
                f,
                "request `{request}`: expected {expected}, but it was never sent"
            ),
            Failure::RequestOutcome {
                request,
                expected,
                seen,
            } => write!(
                f,
                "request `{request}`: expected {expected}, got {}",
                seen.describe()
            ),
            Failure::ExitCode {
                expected,
                seen: Some(code),
            } => write!(f, "exit code: expected {expected}, got {code}"),
            Failure::ExitCode {
                expected,
                seen: None,
            } => write!(f, "exit code: expected {expected}, but no exit was seen"),
            Failure::SignalReceived { expected, seen } => write!(
                f,
                "signal received: expected the server to have {} the signal, it had {}",
                if *expected { "logged" } else { "not logged" },
                match seen {
                    Some(true) => "logged it",
                    Some(false) => "not logged it",
                    None => "no readable log",
                }
            ),
            Failure::StopTooShort { at_least, took } => write!(
                f,
                "stop duration: expected at least {}, took {}",
                duration::format(*at_least),
                duration::format(*took)
            ),
            Failure::StopTooLong { below, took } => write!(
                f,
                "stop duration: expected below {}, took {}",
                duration::format(*below),
                duration::format(*took)
            ),
            Failure::StopNeverReturned => f.write_str("stop duration: the stop never returned"),
            Failure::NeverInFlight { .. } | Failure::StreamEndedEarly { .. } => {
                f.write_str(&self.message_with(&OptionName::words))
            }
            Failure::StreamRequirement {
                requirement: Requirement::RefusesNew,
                stream,
                seen,
            } => write!(
                f,
                "stream `{stream}` was opened after the signal and {seen}"
            ),
            Failure::StreamRequirement {
                requirement: _,
                stream,
                seen,
            } => write!(
                f,
                "stream `{stream}` was open at the signal and did not end cleanly: {seen}"
            ),
            Failure::ExitedBeforeStop {
                code,
                exited_ms,
                stop_issued_ms,
            } => write!(
                f,
                "the server exited ({code}) at {exited_ms} ms, before the stop{}: it crashed, or was killed or removed from outside",
                stop_issued_ms
                    .map(|s| format!(" was issued at {s} ms"))
                    .unwrap_or_default()
            ),
            Failure::NoStream => {
                f.write_str("load: expected a stream of requests, but none was sent")
            }
            Failure::LoadNotToldApart {
                key,
                cut_or_not_served,
            } => write!(
                f,
                "load `{key}`: not tested: {cut_or_not_served} request(s) were cut or not served, which the server's log cannot tell apart"
            ),
            Failure::LoadCount {
                key,
                expected,
                seen,
                sent,
            } => {
                write!(f, "load `{key}`: expected {expected}")?;
                if *expected == Bound::All {
                    write!(f, " ({sent})")?;
                }
                write!(f, ", got {seen}")
            }
            Failure::Thresholds { thresholds } => {
                write!(f, "thresholds: {}", ThresholdList(thresholds))
            }
            Failure::ThresholdsWithoutStream => {
                f.write_str("thresholds: not tested: no stream of requests was sent")
            }
            Failure::LoadInFlight {
                expected,
                seen,
                baseline,
            } => {
                write!(
                    f,
                    "load: of the {} request(s) in flight at the signal, {} lost",
                    baseline.in_flight_at_signal, baseline.lost_in_flight
                )?;
                if !baseline.clean() {
                    write!(
                        f,
                        ", {} of them the path's own (before any stop it lost {} of {})",
                        baseline.expected_in_flight_losses(),
                        baseline.lost_before_signal,
                        baseline.done_before_signal
                    )?;
                }
                write!(f, ": expected {expected} lost to the stop, got {seen}")
            }
            Failure::NoRollout => {
                f.write_str("rollout: expected a rolling update, but no replica was seen")
            }
            Failure::RolloutLost {
                expected,
                lost,
                sent,
                by_phase,
            } => write!(
                f,
                "lost: expected {expected}, got {lost} of {sent} ({})",
                RolloutLosses(by_phase)
            ),
            Failure::ReplicasNotTerminated {
                terminated,
                replaced,
            } => write!(
                f,
                "rollout: only {terminated} of {replaced} replica(s) were terminated"
            ),
            Failure::PreStop {
                replica,
                expected_done,
                seen,
            } => write!(
                f,
                "preStop of {replica}: expected {}, got {}",
                if *expected_done { "done" } else { "not done" },
                seen.as_ref()
                    .map_or_else(|| "none ran".to_string(), HookOutcome::describe)
            ),
            Failure::CloseCode {
                stream,
                expected,
                seen,
            } => {
                write!(
                    f,
                    "close-code of `{stream}`: expected {expected}, got {seen}"
                )?;
                if seen == "1006" {
                    f.write_str(" (no close frame: the connection was dropped)")?;
                }
                Ok(())
            }
            Failure::Goaway {
                connection,
                expected,
                seen,
                frames,
            } => {
                write!(
                    f,
                    "goaway on {connection}: expected {}, got {}",
                    expected.name(),
                    seen.name()
                )?;
                if !frames.is_empty() {
                    let ids: Vec<String> = frames
                        .iter()
                        .map(|g| g.last_stream_id.to_string())
                        .collect();
                    write!(f, " (last stream ids {})", ids.join(", "))?;
                }
                Ok(())
            }
            Failure::StreamsCut {
                expected,
                seen,
                cut,
            } => {
                write!(f, "streams-cut: expected {expected}, got {seen}")?;
                if !cut.is_empty() {
                    write!(f, " ({})", cut.join(", "))?;
                }
                Ok(())
            }
            Failure::LastEvent {
                stream,
                expected,
                seen,
            } => write!(
                f,
                "last-event of `{stream}`: expected {expected}, got {}",
                seen.as_deref().unwrap_or("no event")
            ),
            Failure::GrpcStatus {
                stream,
                expected,
                seen,
            } => write!(
                f,
                "grpc-status of `{stream}`: expected {expected}, got {seen}"
            ),
        }
    }
}

impl fmt::Display for ThresholdCheck {
    /// `lost-rate 0% (0 of 91), within at most 0.1%`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = &self.key;
        match self.seen {
            ThresholdSeen::Share { sent: 0, .. } => write!(f, "{key} - (none sent)")?,
            ThresholdSeen::Share { count, sent } => {
                let ppm = share_ppm(count, sent).unwrap_or_default();
                let percent = format_percent(u32::try_from(ppm).unwrap_or(u32::MAX));
                write!(f, "{key} {percent} ({count} of {sent})")?;
            }
            ThresholdSeen::Latency { ms } => write!(f, "{key} {ms:.0}ms")?,
            ThresholdSeen::NothingAnswered => write!(f, "{key} not tested: nothing was answered")?,
        }
        let verdict = match self.met {
            Met::Yes => "within",
            Met::No => "PAST",
            Met::Untested(_) => "untested",
        };
        write!(f, ", {verdict} {}", self.bound)
    }
}

/// Thresholds, one after the other: `lost-rate ..., within ... · p99 ..., PAST ...`.
pub(crate) struct ThresholdList<'a>(pub(crate) &'a [ThresholdCheck]);

impl fmt::Display for ThresholdList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, check) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(" · ")?;
            }
            check.fmt(f)?;
        }
        Ok(())
    }
}

/// `12 in stale-endpoint, 3 in draining`-like: where a rollout's losses were; `none`.
pub(crate) struct RolloutLosses<'a>(pub(crate) &'a [RolloutPhaseCounts]);

impl fmt::Display for RolloutLosses<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lost = self.0.iter().filter(|c| c.lost > 0).peekable();
        if lost.peek().is_none() {
            return f.write_str("none");
        }
        for (index, counts) in lost.enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{} in {}", counts.lost, counts.phase.name())?;
        }
        Ok(())
    }
}

/// Serialises a value by its words (`not-served`, `at most 5`).
fn as_text<T: fmt::Display, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// Serialises a duration in whole milliseconds.
fn as_millis<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::outcome::Outcome;
    use crate::model::rollout::RolloutPhase;

    /// One failure of each kind.
    fn one_of_each() -> Vec<Failure> {
        let ms = Duration::from_millis;
        vec![
            Failure::RequestNotSent {
                request: "in-flight".to_string(),
                expected: Expected::Is(Outcome::Ok),
            },
            Failure::RequestOutcome {
                request: "after-stop".to_string(),
                expected: Expected::NotServed,
                seen: RequestObservation {
                    name: "after-stop".to_string(),
                    outcome: Outcome::Ok,
                    status: Some(200),
                    bytes: 3,
                    connected: true,
                    sent_ms: 620,
                    done_ms: 1620,
                    sent_before_stop: false,
                },
            },
            Failure::ExitCode {
                expected: 0,
                seen: None,
            },
            Failure::SignalReceived {
                expected: true,
                seen: Some(false),
            },
            Failure::StopTooShort {
                at_least: ms(2000),
                took: ms(900),
            },
            Failure::StopTooLong {
                below: ms(1000),
                took: ms(10_200),
            },
            Failure::StopNeverReturned,
            Failure::NeverInFlight {
                request: "in-flight".to_string(),
                answered_ms: 12,
                signal_ms: 1020,
                remedy: Remedy::SlowerPath,
            },
            Failure::ExitedBeforeStop {
                code: 137,
                exited_ms: 40,
                stop_issued_ms: None,
            },
            Failure::NoStream,
            Failure::LoadNotToldApart {
                key: "cut".to_string(),
                cut_or_not_served: 3,
            },
            Failure::LoadCount {
                key: "cut".to_string(),
                expected: Bound::Exactly(0),
                seen: 2,
                sent: 100,
            },
            Failure::Thresholds {
                thresholds: vec![ThresholdCheck {
                    key: "lost-rate".to_string(),
                    bound: "at most 0.1%".to_string(),
                    seen: ThresholdSeen::Share { count: 0, sent: 0 },
                    met: Met::Yes,
                }],
            },
            Failure::ThresholdsWithoutStream,
            Failure::NoRollout,
            Failure::RolloutLost {
                expected: Bound::Exactly(0),
                lost: 15,
                sent: 400,
                by_phase: vec![
                    RolloutPhaseCounts {
                        phase: RolloutPhase::StaleEndpoint,
                        sent: 40,
                        lost: 12,
                    },
                    RolloutPhaseCounts {
                        phase: RolloutPhase::Draining,
                        sent: 50,
                        lost: 3,
                    },
                ],
            },
            Failure::ReplicasNotTerminated {
                terminated: 1,
                replaced: 2,
            },
            Failure::PreStop {
                replica: "r1".to_string(),
                expected_done: true,
                seen: Some(HookOutcome::CutByGrace),
            },
            Failure::CloseCode {
                stream: "open".to_string(),
                expected: 1001,
                seen: "1006".to_string(),
            },
            Failure::Goaway {
                connection: "connection 1 (h2c)".to_string(),
                expected: GoawaySequence::TwoStep,
                seen: GoawaySequence::Single,
                frames: vec![Goaway {
                    at: ms(1010),
                    last_stream_id: 3,
                    error_code: 0,
                    debug: String::new(),
                }],
            },
            Failure::StreamsCut {
                expected: Bound::Exactly(0),
                seen: 1,
                cut: vec!["open".to_string()],
            },
            Failure::LastEvent {
                stream: "open".to_string(),
                expected: "going-away".to_string(),
                seen: None,
            },
            Failure::GrpcStatus {
                stream: "open".to_string(),
                expected: "OK".to_string(),
                seen: "UNAVAILABLE".to_string(),
            },
        ]
    }

    #[test]
    fn each_failure_is_named_in_json_as_junit_names_it() {
        let failures = one_of_each();
        let mut kinds = Vec::new();
        for failure in &failures {
            let json = serde_json::to_value(failure).expect("serialises");
            assert_eq!(json["kind"], failure.kind(), "{json}");
            kinds.push(failure.kind());
        }
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), failures.len(), "one sample of each kind");
    }

    #[test]
    fn a_failure_carries_what_was_expected_and_seen_and_says_it_in_words() {
        let failures = one_of_each();
        let json = serde_json::to_value(&failures[1]).expect("serialises");
        assert_eq!(json["expected"], "not-served");
        assert_eq!(json["seen"]["outcome"], "ok");
        assert_eq!(json["seen"]["status"], 200);
        assert_eq!(
            failures[1].to_string(),
            "request `after-stop`: expected not-served, got ok (200, 3 bytes)"
        );
        let json = serde_json::to_value(&failures[5]).expect("serialises");
        assert_eq!(
            (&json["below_ms"], &json["took_ms"]),
            (&1000.into(), &10_200.into())
        );
        assert_eq!(
            failures[5].to_string(),
            "stop duration: expected below 1s, took 10.2s"
        );
        assert_eq!(
            failures[15].to_string(),
            "lost: expected 0, got 15 of 400 (12 in stale-endpoint, 3 in draining)"
        );
        assert_eq!(
            failures[12].to_string(),
            "thresholds: lost-rate - (none sent), within at most 0.1%"
        );
        assert_eq!(
            failures[18].to_string(),
            "close-code of `open`: expected 1001, got 1006 (no close frame: the connection was dropped)"
        );
        let json = serde_json::to_value(&failures[19]).expect("serialises");
        assert_eq!(
            (&json["expected"], &json["seen"]),
            (&"two-step".into(), &"single".into())
        );
        assert_eq!(json["frames"][0]["last_stream_id"], 3);
        assert_eq!(
            failures[20].to_string(),
            "streams-cut: expected 0, got 1 (open)"
        );
    }

    #[test]
    fn met_is_true_false_or_null_and_untested_wins_over_met_only() {
        let json = |met: Met| serde_json::to_value(met).expect("serialises");
        assert_eq!(json(Met::Yes), serde_json::Value::Bool(true));
        assert_eq!(json(Met::No), serde_json::Value::Bool(false));
        assert_eq!(
            json(Met::Untested(Untested::NoRequest)),
            serde_json::Value::Null
        );
        let untested = Met::Untested(Untested::NothingAnswered);
        assert_eq!(Met::Yes.and(untested), untested);
        assert_eq!(untested.and(Met::No), Met::No);
        assert_eq!(Met::Yes.and(Met::Yes), Met::Yes);
        assert_eq!(untested.untested(), Some(Untested::NothingAnswered));
        assert_eq!(Met::No.untested(), None);
    }
}
