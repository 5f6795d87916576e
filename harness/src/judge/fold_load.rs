//! A stream's records, folded: each request's phase (before the signal, draining, after the
//! exit) and class (ok, cut, not-served, ...), the counts by phase, latency percentiles, and the
//! requests per second over time.

use std::collections::HashSet;

use hdrhistogram::Histogram;
use tokio::time::Instant;

use crate::model::load::{ClientProfile, Connection, LoadRecord, Phase};
use crate::model::observation::{
    Baseline, Class, Delivery, LoadObservation, LoadSummary, ObservedRequest, Percentiles,
    PhaseCounts, Second,
};
use crate::model::outcome::Outcome;
use crate::model::vantage::Vantage;

/// What the fold gathered of a stream.
pub(super) struct Gathered {
    /// Requests per second and client, from the start event.
    pub(super) rate: u32,
    pub(super) client: ClientProfile,
    /// Where the client stood, from the start event.
    pub(super) vantage: Vantage,
    /// When the stream started, ms from ready.
    pub(super) started_ms: i64,
    /// When it started, to the instant: the origin of its records' times.
    pub(super) started_at: Instant,
    /// Every record.
    pub(super) records: Vec<LoadRecord>,
}

/// When the first request refused from inside the network namespace left, ms from ready,
/// among those that left at `after_ms` or later; None from the host, where docker-proxy
/// accepts for a closed listener.
pub(super) fn first_refusal_from_netns(gathered: &Gathered, after_ms: i64) -> Option<i64> {
    if gathered.vantage != Vantage::Netns {
        return None;
    }
    gathered
        .records
        .iter()
        .filter(|r| r.outcome == Outcome::Refused)
        .map(|r| gathered.started_ms + i64::from(r.started_us / 1000))
        .filter(|ms| *ms >= after_ms)
        .min()
}

/// When the server's life changed, ms from ready, and what its log told.
pub(super) struct Moments<'a> {
    /// Whether the stream crossed one stop (false in a rollout, whose replicas stop one after
    /// the other): only then do its requests have a phase.
    pub(super) one_stop: bool,
    /// The signal (the engine's kill event, or the stop's issue).
    pub(super) signal_ms: Option<i64>,
    /// When the stop was issued, µs from the stream's start (records' own scale): a request
    /// that left before it left before the signal, whatever milliseconds say (the server's
    /// word for its signal is a log stamp of whole milliseconds).
    pub(super) stop_issued_us: Option<u64>,
    /// The exit.
    pub(super) exit_ms: Option<i64>,
    /// The request ids the server logged on receipt, when its log can be read (our server).
    pub(super) received: Option<&'a HashSet<u32>>,
    /// Of them, those logged before the server logged the signal (our server only).
    pub(super) received_before_signal: Option<&'a HashSet<u32>>,
}

/// The observation of a stream.
pub(super) fn observe(gathered: Gathered, moments: &Moments<'_>) -> LoadObservation {
    let mut records = gathered.records;
    records.sort_by_key(|r| r.id);
    let requests: Vec<ObservedRequest> = records
        .into_iter()
        .map(|record| {
            // The phase is when it really went out: a late client must not move a request
            // sent after the signal into the time before it.
            let went_ms = gathered.started_ms + i64::from(record.started_us / 1000);
            ObservedRequest {
                phase: moments.one_stop.then(|| {
                    // Accepted while the server still served: before the signal, whatever the
                    // milliseconds on either side say.
                    let accepted_before = moments
                        .received_before_signal
                        .is_some_and(|ids| ids.contains(&record.id));
                    let left_before_stop = moments
                        .stop_issued_us
                        .is_some_and(|issued| u64::from(record.started_us) < issued);
                    // The server logs its signal to the whole millisecond, and reads a request
                    // head after it accepted the connection: a request that left within that
                    // millisecond and was answered found the listener still open (a closed one
                    // refuses), so it came before the server heard the signal.
                    let served_within_the_signal_ms = moments.received_before_signal.is_some()
                        && moments.signal_ms == Some(went_ms)
                        && record.outcome == Outcome::Ok;
                    if accepted_before || left_before_stop || served_within_the_signal_ms {
                        Phase::BeforeSignal
                    } else {
                        phase(went_ms, moments)
                    }
                }),
                class: class(&record, moments.received, gathered.vantage),
                record,
            }
        })
        .collect();
    // From inside the namespace a refused connect and a dropped connection are told apart by
    // the client alone (no proxy accepts for the server).
    let told_apart = moments.received.is_some() || gathered.vantage == Vantage::Netns;
    let mut summary = summarise(&requests, told_apart);
    summary.baseline = baseline(&requests, gathered.started_ms, moments);
    LoadObservation {
        rate: gathered.rate,
        client: gathered.client,
        vantage: gathered.vantage,
        started_ms: gathered.started_ms,
        requests,
        summary,
    }
}

fn phase(sent_ms: i64, moments: &Moments<'_>) -> Phase {
    match (moments.signal_ms, moments.exit_ms) {
        (Some(signal), _) if sent_ms < signal => Phase::BeforeSignal,
        (None, _) => Phase::BeforeSignal,
        (_, Some(exit)) if sent_ms >= exit => Phase::AfterExit,
        _ => Phase::Draining,
    }
}

/// What a request's outcome means. Through docker-proxy a closed listener also reads as an
/// empty reply or a reset, so only the server's own log of a request id tells a request it cut
/// from one it never saw; without that log the two are not told apart.
fn class(record: &LoadRecord, received: Option<&HashSet<u32>>, vantage: Vantage) -> Class {
    let accepted = received.map(|ids| ids.contains(&record.id));
    // Without the server's log: from inside the namespace a reset or an empty reply on a
    // connection opened for the request means the server's listener took it (a closed one
    // refuses) and it was dropped: cut. Through docker-proxy, or on a reused connection (the
    // keep-alive race, where the request may never have reached the server), it may be either.
    let dropped = if vantage == Vantage::Netns && record.connection == Connection::New {
        Class::Cut
    } else {
        Class::CutOrNotServed
    };
    match record.outcome {
        Outcome::Ok => Class::Ok,
        Outcome::HttpError => Class::HttpError,
        Outcome::Truncated => Class::Cut,
        Outcome::Refused => Class::NotServed,
        Outcome::Timeout => match accepted {
            Some(true) => Class::Cut,
            _ => Class::Timeout,
        },
        Outcome::EmptyReply | Outcome::Reset => match accepted {
            Some(true) => Class::Cut,
            Some(false) => Class::NotServed,
            None => dropped,
        },
    }
}

fn summarise(requests: &[ObservedRequest], told_apart: bool) -> LoadSummary {
    let mut total = PhaseCounts::default();
    let phased = requests.iter().any(|r| r.phase.is_some());
    let mut phases: Vec<(Phase, PhaseCounts)> = Phase::ALL
        .iter()
        .filter(|_| phased)
        .map(|p| (*p, PhaseCounts::default()))
        .collect();
    for request in requests {
        total.add(request);
        if let Some((_, counts)) = phases.iter_mut().find(|(p, _)| Some(*p) == request.phase) {
            counts.add(request);
        }
    }
    let latency = |phase: Option<Phase>| {
        percentiles(
            requests
                .iter()
                .filter(|r| phase.is_none_or(|p| r.phase == Some(p)) && r.class == Class::Ok)
                .map(|r| r.record.done_us.saturating_sub(r.record.sent_us)),
        )
    };
    let departure_lag = percentiles(
        requests
            .iter()
            .map(|r| r.record.started_us.saturating_sub(r.record.sent_us)),
    );
    LoadSummary {
        total,
        phases,
        told_apart,
        latency_before_signal: phased.then(|| latency(Some(Phase::BeforeSignal))).flatten(),
        latency_draining: phased.then(|| latency(Some(Phase::Draining))).flatten(),
        latency_all: latency(None),
        departure_lag,
        delivery: Delivery::of(departure_lag.as_ref()),
        baseline: None,
        per_second: per_second(requests),
    }
}

/// The requests done before the signal and those in flight at it, with their losses; None
/// without one stop or a signal.
fn baseline(
    requests: &[ObservedRequest],
    started_ms: i64,
    moments: &Moments<'_>,
) -> Option<Baseline> {
    let signal = moments.signal_ms.filter(|_| moments.one_stop)?;
    let mut baseline = Baseline::default();
    for request in requests
        .iter()
        .filter(|r| r.phase == Some(Phase::BeforeSignal))
    {
        let lost = request.class != Class::Ok;
        let done_ms = started_ms + i64::from(request.record.done_us / 1000);
        if done_ms < signal {
            baseline.done_before_signal += 1;
            baseline.lost_before_signal += u64::from(lost);
        } else {
            baseline.in_flight_at_signal += 1;
            baseline.lost_in_flight += u64::from(lost);
        }
    }
    Some(baseline)
}

/// p50, p99 and max of times in µs, in ms; None without any.
fn percentiles(times: impl Iterator<Item = u32>) -> Option<Percentiles> {
    // Three significant figures from 1 µs to an hour: the histogram's own bounds. A time of 0
    // (a request that left in the microsecond it was due) counts as 1 µs.
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).ok()?;
    for time in times {
        let _ = histogram.record(u64::from(time.max(1)));
    }
    if histogram.is_empty() {
        return None;
    }
    let ms = |us: u64| us as f64 / 1000.0;
    Some(Percentiles {
        p50_ms: ms(histogram.value_at_quantile(0.5)),
        p99_ms: ms(histogram.value_at_quantile(0.99)),
        max_ms: ms(histogram.max()),
    })
}

/// Requests by the second they were sent in (from the stream's start): ok and failed.
fn per_second(requests: &[ObservedRequest]) -> Vec<Second> {
    let mut seconds: Vec<Second> = Vec::new();
    for request in requests {
        let second = u64::from(request.record.sent_us / 1_000_000);
        let index = usize::try_from(second).unwrap_or(usize::MAX);
        if index >= seconds.len() && index < 24 * 3600 {
            seconds.resize_with(index + 1, Default::default);
        }
        if let Some(bucket) = seconds.get_mut(index) {
            bucket.second = second;
            if request.class == Class::Ok {
                bucket.ok += 1;
            } else {
                bucket.failed += 1;
            }
        }
    }
    for (index, bucket) in seconds.iter_mut().enumerate() {
        bucket.second = index as u64;
    }
    seconds
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::load::Connection;

    fn record(id: u32, sent_ms: u32, outcome: Outcome, connection: Connection) -> LoadRecord {
        LoadRecord {
            id,
            sent_us: sent_ms * 1000,
            started_us: sent_ms * 1000,
            done_us: sent_ms * 1000 + 5_000,
            outcome,
            status: if outcome == Outcome::Ok { 200 } else { 0 },
            connection,
        }
    }

    /// From inside the namespace a refused connect after the stop went out bounds the signal's
    /// moment; a dropped connection there is `cut` without the server's log. From the host
    /// neither holds.
    #[test]
    fn from_inside_the_namespace_the_client_tells_refused_from_cut() {
        let gathered = |vantage| Gathered {
            rate: 10,
            client: ClientProfile::Fresh,
            vantage,
            started_ms: 100,
            started_at: Instant::now(),
            records: vec![
                record(0, 0, Outcome::Ok, Connection::New),
                // Refused before the stop: not a fact about the stop.
                record(1, 500, Outcome::Refused, Connection::New),
                record(2, 1000, Outcome::Reset, Connection::New),
                record(3, 1020, Outcome::Refused, Connection::New),
                record(4, 1040, Outcome::Refused, Connection::New),
                record(5, 1060, Outcome::EmptyReply, Connection::Reused),
            ],
        };
        assert_eq!(
            first_refusal_from_netns(&gathered(Vantage::Netns), 1000),
            Some(1120)
        );
        assert_eq!(
            first_refusal_from_netns(&gathered(Vantage::Host), 1000),
            None
        );
        let moments = Moments {
            one_stop: true,
            signal_ms: Some(1110),
            stop_issued_us: None,
            exit_ms: Some(1300),
            received: None,
            received_before_signal: None,
        };
        let classes = |vantage| {
            observe(gathered(vantage), &moments)
                .requests
                .iter()
                .map(|r| r.class)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            classes(Vantage::Netns),
            [
                Class::Ok,
                Class::NotServed,
                Class::Cut,
                Class::NotServed,
                Class::NotServed,
                Class::CutOrNotServed
            ]
        );
        assert_eq!(classes(Vantage::Host)[2], Class::CutOrNotServed);
        assert!(
            observe(gathered(Vantage::Netns), &moments)
                .summary
                .told_apart
        );
        assert!(
            !observe(gathered(Vantage::Host), &moments)
                .summary
                .told_apart
        );
    }

    #[test]
    fn phases_and_classes_follow_the_facts() {
        let received: HashSet<u32> = [0, 1, 2].into_iter().collect();
        let gathered = Gathered {
            rate: 10,
            client: ClientProfile::Pooled,
            vantage: Vantage::Host,
            started_ms: 0,
            started_at: Instant::now(),
            records: vec![
                record(0, 0, Outcome::Ok, Connection::New),
                // Accepted, then the connection went: cut.
                record(1, 100, Outcome::Reset, Connection::Reused),
                record(2, 1100, Outcome::Ok, Connection::Reused),
                // Never seen by the server, on a connection it had closed: not served, and
                // the keep-alive race.
                record(3, 1200, Outcome::EmptyReply, Connection::Reused),
                record(4, 2500, Outcome::Refused, Connection::New),
            ],
        };
        let moments = Moments {
            one_stop: true,
            signal_ms: Some(1000),
            stop_issued_us: None,
            exit_ms: Some(2000),
            received: Some(&received),
            received_before_signal: None,
        };
        let load = observe(gathered, &moments);
        let phases: Vec<Option<Phase>> = load.requests.iter().map(|r| r.phase).collect();
        assert_eq!(
            phases,
            [
                Some(Phase::BeforeSignal),
                Some(Phase::BeforeSignal),
                Some(Phase::Draining),
                Some(Phase::Draining),
                Some(Phase::AfterExit)
            ]
        );
        let total = &load.summary.total;
        assert_eq!(
            (total.sent, total.ok, total.cut, total.not_served),
            (5, 2, 1, 2)
        );
        assert_eq!(total.reused_connection, 1);
        assert_eq!(total.lost, 3);
        assert!(load.summary.latency_before_signal.is_some());
        assert_eq!(load.summary.per_second.len(), 3);
    }

    /// Around the signal, milliseconds do not decide: a request that left before the stop was
    /// issued came before the signal, and one answered that left within the millisecond the
    /// server logged its signal found the listener open. A refused one in that millisecond, or
    /// an answered one in the next, came after.
    #[test]
    fn the_signal_s_own_millisecond_is_told_by_the_stop_s_issue_and_the_outcome() {
        let at_us = |id: u32, started_us: u32, outcome: Outcome| LoadRecord {
            started_us,
            ..record(id, started_us / 1000, outcome, Connection::New)
        };
        let gathered = Gathered {
            rate: 100,
            client: ClientProfile::Fresh,
            vantage: Vantage::Host,
            started_ms: 0,
            started_at: Instant::now(),
            records: vec![
                // Left 0.1 ms before the stop was issued, refused all the same (a crash).
                at_us(0, 601_100, Outcome::Refused),
                // Left after the issue, within the signal's millisecond, answered.
                at_us(1, 601_300, Outcome::Ok),
                // The same millisecond, refused: the listener was closed.
                at_us(2, 601_500, Outcome::Refused),
                // Answered a millisecond later: after the signal.
                at_us(3, 602_100, Outcome::Ok),
            ],
        };
        let received_before_signal = HashSet::new();
        let moments = Moments {
            one_stop: true,
            signal_ms: Some(601),
            stop_issued_us: Some(601_200),
            exit_ms: Some(650),
            received: None,
            received_before_signal: Some(&received_before_signal),
        };
        let phases: Vec<Option<Phase>> = observe(gathered, &moments)
            .requests
            .iter()
            .map(|r| r.phase)
            .collect();
        assert_eq!(
            phases,
            [
                Some(Phase::BeforeSignal),
                Some(Phase::BeforeSignal),
                Some(Phase::Draining),
                Some(Phase::Draining)
            ]
        );
    }

    /// Every request's departure lag counts, answered or not; latencies count only the
    /// answered ones.
    #[test]
    fn departure_lag_is_measured_for_every_request() {
        let late = |id: u32, lag_us: u32, outcome: Outcome| LoadRecord {
            started_us: id * 1000 + lag_us,
            ..record(id, id, outcome, Connection::Reused)
        };
        let mut records: Vec<LoadRecord> = (0..98).map(|id| late(id, 100, Outcome::Ok)).collect();
        // The two latest left 20 ms and 40 ms late; the latest failed.
        records.push(late(98, 20_000, Outcome::Ok));
        records.push(late(99, 40_000, Outcome::Reset));
        let gathered = Gathered {
            rate: 1000,
            client: ClientProfile::Fixed,
            vantage: Vantage::Host,
            started_ms: 0,
            started_at: Instant::now(),
            records,
        };
        let moments = Moments {
            one_stop: false,
            signal_ms: None,
            stop_issued_us: None,
            exit_ms: None,
            received: None,
            received_before_signal: None,
        };
        let lag = observe(gathered, &moments)
            .summary
            .departure_lag
            .expect("a departure lag");
        assert!((lag.p50_ms - 0.1).abs() < 0.001, "{lag:?}");
        assert!((lag.p99_ms - 20.0).abs() < 0.02, "{lag:?}");
        assert!((lag.max_ms - 40.0).abs() < 0.04, "{lag:?}");
    }

    #[test]
    fn a_stream_without_requests_has_no_departure_lag() {
        let gathered = Gathered {
            rate: 10,
            client: ClientProfile::Fixed,
            vantage: Vantage::Host,
            started_ms: 0,
            started_at: Instant::now(),
            records: Vec::new(),
        };
        let moments = Moments {
            one_stop: true,
            signal_ms: None,
            stop_issued_us: None,
            exit_ms: None,
            received: None,
            received_before_signal: None,
        };
        assert_eq!(observe(gathered, &moments).summary.departure_lag, None);
    }

    #[test]
    fn without_the_servers_log_cut_and_not_served_are_not_told_apart() {
        let gathered = Gathered {
            rate: 10,
            client: ClientProfile::Fresh,
            vantage: Vantage::Host,
            started_ms: 0,
            started_at: Instant::now(),
            records: vec![record(0, 0, Outcome::Reset, Connection::New)],
        };
        let moments = Moments {
            one_stop: true,
            signal_ms: None,
            stop_issued_us: None,
            exit_ms: None,
            received: None,
            received_before_signal: None,
        };
        let load = observe(gathered, &moments);
        assert_eq!(load.summary.total.cut_or_not_served, 1);
        assert!(!load.summary.told_apart);
    }

    #[test]
    fn a_request_the_server_took_before_it_logged_the_signal_went_before_it() {
        // Sent in the signal's own millisecond: one logged by the server before the signal, one
        // after it and dropped (an answered one would have found the listener open).
        let received: HashSet<u32> = [0, 1].into_iter().collect();
        let before: HashSet<u32> = [0].into_iter().collect();
        let gathered = Gathered {
            rate: 10,
            client: ClientProfile::Fresh,
            vantage: Vantage::Host,
            started_ms: 0,
            started_at: Instant::now(),
            records: vec![
                record(0, 1000, Outcome::Ok, Connection::New),
                record(1, 1000, Outcome::Reset, Connection::New),
            ],
        };
        let moments = Moments {
            one_stop: true,
            signal_ms: Some(1000),
            stop_issued_us: None,
            exit_ms: Some(2000),
            received: Some(&received),
            received_before_signal: Some(&before),
        };
        let load = observe(gathered, &moments);
        let phases: Vec<Option<Phase>> = load.requests.iter().map(|r| r.phase).collect();
        assert_eq!(phases, [Some(Phase::BeforeSignal), Some(Phase::Draining)]);
    }

    #[test]
    fn a_stream_across_many_stops_has_no_phases() {
        let gathered = Gathered {
            rate: 10,
            client: ClientProfile::Fresh,
            vantage: Vantage::Host,
            started_ms: 0,
            started_at: Instant::now(),
            records: vec![
                record(0, 0, Outcome::Ok, Connection::New),
                record(1, 1500, Outcome::HttpError, Connection::New),
            ],
        };
        let moments = Moments {
            one_stop: false,
            signal_ms: Some(1000),
            stop_issued_us: None,
            exit_ms: None,
            received: None,
            received_before_signal: None,
        };
        let load = observe(gathered, &moments);
        assert!(load.requests.iter().all(|r| r.phase.is_none()));
        assert!(load.summary.phases.is_empty());
        assert_eq!(load.summary.latency_before_signal, None);
        assert!(load.summary.latency_all.is_some());
        assert_eq!(load.summary.total.lost, 1);
    }

    /// The path's baseline is what failed before the signal; the requests in flight at it are
    /// apart, with their own losses.
    #[test]
    fn the_baseline_is_what_ended_before_the_signal() {
        let gathered = Gathered {
            rate: 10,
            client: ClientProfile::Fresh,
            vantage: Vantage::Host,
            started_ms: 0,
            started_at: Instant::now(),
            records: vec![
                record(0, 0, Outcome::Ok, Connection::New),
                // Reset by the path long before any stop.
                record(1, 100, Outcome::Reset, Connection::New),
                record(2, 200, Outcome::Ok, Connection::New),
                // In flight at the signal (done 5 ms after it was sent, at 1001 ms): cut.
                record(3, 996, Outcome::Reset, Connection::New),
                record(4, 997, Outcome::Ok, Connection::New),
                // After the signal: not part of either.
                record(5, 1500, Outcome::Refused, Connection::New),
            ],
        };
        let moments = Moments {
            one_stop: true,
            signal_ms: Some(1000),
            stop_issued_us: None,
            exit_ms: Some(2000),
            received: None,
            received_before_signal: None,
        };
        let baseline = observe(gathered, &moments)
            .summary
            .baseline
            .expect("one stop and a signal");
        assert_eq!(
            baseline,
            Baseline {
                done_before_signal: 3,
                lost_before_signal: 1,
                in_flight_at_signal: 2,
                lost_in_flight: 1,
            }
        );
        assert!(!baseline.clean());
        // One in three lost with no stop: one of the two in flight could be the path's.
        assert_eq!(baseline.expected_in_flight_losses(), 1);
    }

    #[test]
    fn a_rollout_has_no_baseline() {
        let gathered = Gathered {
            rate: 10,
            client: ClientProfile::Fresh,
            vantage: Vantage::Host,
            started_ms: 0,
            started_at: Instant::now(),
            records: vec![record(0, 0, Outcome::Ok, Connection::New)],
        };
        let moments = Moments {
            one_stop: false,
            signal_ms: Some(1000),
            stop_issued_us: None,
            exit_ms: None,
            received: None,
            received_before_signal: None,
        };
        assert_eq!(observe(gathered, &moments).summary.baseline, None);
    }

    /// A generator behind its schedule (the median late), or stalled far past it, did not
    /// deliver the load; a few requests tens of ms late on a busy machine did.
    #[test]
    fn a_stream_is_delivered_while_its_departure_lag_is_within_bounds() {
        let lag = |p50_ms, p99_ms, max_ms| Percentiles {
            p50_ms,
            p99_ms,
            max_ms,
        };
        assert!(Delivery::of(None).delivered);
        assert!(Delivery::of(Some(&lag(0.8, 50.0, 78.0))).delivered);
        assert!(!Delivery::of(Some(&lag(195.0, 527.0, 800.0))).delivered);
        assert!(!Delivery::of(Some(&lag(1.0, 150.0, 200.0))).delivered);
        assert!(!Delivery::of(Some(&lag(1.0, 5.0, 1500.0))).delivered);
    }
}
