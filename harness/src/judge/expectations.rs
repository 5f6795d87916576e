//! Judges an observation against a scenario's expectations, and against the two requirements
//! of a correct shutdown.

use std::time::Duration;

use super::streams::{SignalWindow, open_at_signal, opened_after_signal, stream_failures};
use crate::model::load::{LoadExpectation, LoadThreshold, LoadWhat, Phase, Quantile};
use crate::model::observation::{Observation, RequestObservation};
use crate::model::outcome::Outcome;
use crate::model::scenario::Scenario;
use crate::model::stream_expect::StreamCheck;
use crate::model::verdict::{
    Failure, Met, NotDelivered, Remedy, Requirement, RequirementCheck, RolloutLosses,
    ThresholdCheck, ThresholdList, ThresholdSeen, Untested, Verdict, share_ppm,
};

/// Compares `observation` with `scenario`'s expectations.
pub fn verdict(scenario: &Scenario, observation: &Observation) -> Verdict {
    let expect = &scenario.expect;
    let mut failures = Vec::new();
    for (name, expected) in &expect.requests {
        match observation.request(name) {
            None => failures.push(Failure::RequestNotSent {
                request: name.clone(),
                expected: *expected,
            }),
            Some(request) if !request.meets(*expected) => {
                failures.push(Failure::RequestOutcome {
                    request: name.clone(),
                    expected: *expected,
                    seen: request.clone(),
                });
            }
            Some(_) => {}
        }
    }
    if let Some(wanted) = expect.exit_code
        && observation.exit_code != Some(wanted)
    {
        failures.push(Failure::ExitCode {
            expected: wanted,
            seen: observation.exit_code,
        });
    }
    if let Some(wanted) = expect.signal_received
        && observation.signal_received != Some(wanted)
    {
        failures.push(Failure::SignalReceived {
            expected: wanted,
            seen: observation.signal_received,
        });
    }
    if let Some(took) = observation.stop_duration {
        if let Some(at_least) = expect.stop_at_least.filter(|min| took < *min) {
            failures.push(Failure::StopTooShort { at_least, took });
        }
        if let Some(below) = expect.stop_below.filter(|max| took >= *max) {
            failures.push(Failure::StopTooLong { below, took });
        }
    } else if expect.stop_at_least.is_some() || expect.stop_below.is_some() {
        failures.push(Failure::StopNeverReturned);
    }
    failures.extend(not_in_flight(scenario, observation));
    failures.extend(exited_before_the_stop(observation));
    if let Some(not_delivered) = not_delivered(observation) {
        return not_judged(scenario, observation, failures, not_delivered);
    }
    failures.extend(load_failures(scenario, observation));
    failures.extend(load_in_flight(scenario, observation));
    failures.extend(rollout_failures(scenario, observation));
    failures.extend(stream_failures_of(scenario, observation));
    let mut requirements = match (&observation.rollout, &observation.load) {
        (Some(rollout), _) => rollout_requirements(rollout),
        (None, Some(load)) if observation.requests.is_empty() => load_requirements(load),
        _ if all_streams(observation) => stream_requirements(observation),
        _ => requirements(observation),
    };
    if let Some((check, failure)) = thresholds(&scenario.expect.thresholds, observation) {
        failures.extend(failure);
        requirements.push(check);
    }
    Verdict {
        passed: failures.is_empty(),
        failures,
        requirements,
        not_delivered: None,
    }
}

/// The failed stream expectations, judged from the streams and their connections, the signal
/// at the engine's kill event (else the stop's issue).
fn stream_failures_of(scenario: &Scenario, observation: &Observation) -> Vec<Failure> {
    let expect = &scenario.expect.streams;
    if expect.is_empty() {
        return Vec::new();
    }
    let window = signal_window(observation).unwrap_or(SignalWindow::at(Duration::MAX));
    stream_failures(
        expect,
        &observation.streams,
        &observation.connections,
        window,
    )
}

/// Where the signal went out for the streams: after the stop's issue, by the engine's kill
/// event; None when no stop was issued.
fn signal_window(observation: &Observation) -> Option<SignalWindow> {
    let at = |ms: i64| Duration::from_millis(u64::try_from(ms).unwrap_or_default());
    let sent = at(signal_ms(observation)?);
    let issued = observation.stop_issued_ms.map_or(sent, at).min(sent);
    Some(SignalWindow { issued, sent })
}

/// Whether every request was a stream observed by its protocol's client (a scenario with a
/// `protocol` other than HTTP/1.1).
fn all_streams(observation: &Observation) -> bool {
    !observation.requests.is_empty()
        && observation
            .requests
            .iter()
            .all(|r| observation.streams.iter().any(|s| s.name == r.name))
}

/// The two requirements read for streams, from what each stream's client saw rather than from
/// its outcome in the words of requests: every stream open at the signal ends with its
/// protocol's own ending (a close frame 1000, 1001 or 1012, the going-away event, END_STREAM, a gRPC
/// status in trailers); no stream opened once shutdown began is accepted.
fn stream_requirements(observation: &Observation) -> Vec<RequirementCheck> {
    let (Some(ms), Some(window)) = (signal_ms(observation), signal_window(observation)) else {
        return requirements(observation);
    };
    let open = open_at_signal(&observation.streams, window);
    let late = opened_after_signal(&observation.streams, window);
    let judged = |requirement, checks: &[StreamCheck], untested, none: &str| {
        let met = if checks.is_empty() {
            Met::Untested(untested)
        } else {
            Met::from_bool(checks.iter().all(|c| c.met))
        };
        let evidence = if checks.is_empty() {
            format!("not tested: {none} (signal at {ms} ms)")
        } else {
            checks
                .iter()
                .map(|c| format!("{}: {}", c.subject, c.seen))
                .collect::<Vec<_>>()
                .join("; ")
        };
        RequirementCheck {
            requirement,
            met,
            evidence,
        }
    };
    vec![
        judged(
            Requirement::AnswersInFlight,
            &open,
            Untested::NoneInFlight,
            "no stream was open at the signal",
        ),
        judged(
            Requirement::RefusesNew,
            &late,
            Untested::NoRequest,
            "no stream was opened after the signal",
        ),
    ]
}

/// The verdict of a scenario whose load was not delivered as asked: what its requests met says
/// more of the generator or the machine than of the server, so the requests' expectations and
/// the requirements are not judged; `failures` keeps what the server did on its own.
fn not_judged(
    scenario: &Scenario,
    observation: &Observation,
    mut failures: Vec<Failure>,
    not_delivered: NotDelivered,
) -> Verdict {
    failures.extend(rollout_failures(scenario, observation));
    failures.retain(|f| !depends_on_requests(f));
    let requirements = [
        Requirement::AnswersInFlight,
        Requirement::RefusesNew,
        Requirement::WithinThresholds,
    ]
    .into_iter()
    .filter(|r| *r != Requirement::WithinThresholds || !scenario.expect.thresholds.is_empty())
    .map(|requirement| RequirementCheck {
        requirement,
        met: Met::Untested(Untested::NotDelivered),
        evidence: "not tested: the load was not delivered as asked".to_string(),
    })
    .collect();
    Verdict {
        passed: failures.is_empty(),
        failures,
        requirements,
        not_delivered: Some(not_delivered),
    }
}

/// The stream's delivery, when it was not delivered as asked.
fn not_delivered(observation: &Observation) -> Option<NotDelivered> {
    let load = observation.load.as_ref()?;
    let summary = &load.summary;
    match summary.departure_lag {
        Some(lag) if !summary.delivery.delivered => Some(NotDelivered {
            rate: load.rate,
            departure_lag_ms: lag,
            delivery: summary.delivery,
        }),
        _ => None,
    }
}

/// Whether a failure is about what requests met (and so not judged when the load was not
/// delivered), rather than about the server's exit, its log or the stop's duration.
fn depends_on_requests(failure: &Failure) -> bool {
    matches!(
        failure,
        Failure::RequestOutcome { .. }
            | Failure::NeverInFlight { .. }
            | Failure::RolloutLost { .. }
    )
}

/// The requests in flight at the signal lost beyond the path's baseline, against the
/// scenario's bound on them.
fn load_in_flight(scenario: &Scenario, observation: &Observation) -> Option<Failure> {
    let expected = scenario.expect.load_in_flight?;
    let baseline = observation.load.as_ref()?.summary.baseline?;
    let seen = baseline
        .lost_in_flight
        .saturating_sub(baseline.expected_in_flight_losses());
    (!expected.holds(seen, baseline.in_flight_at_signal)).then_some(Failure::LoadInFlight {
        expected,
        seen,
        baseline,
    })
}

/// The load's thresholds, as one requirement: met when every one holds, its evidence each
/// measured value against its bound; with the failure when it is not met (or not tested).
/// None without thresholds.
fn thresholds(
    thresholds: &[LoadThreshold],
    observation: &Observation,
) -> Option<(RequirementCheck, Option<Failure>)> {
    if thresholds.is_empty() {
        return None;
    }
    let Some(load) = &observation.load else {
        let check = RequirementCheck {
            requirement: Requirement::WithinThresholds,
            met: Met::Untested(Untested::NoStream),
            evidence: "not tested: no stream of requests was sent".to_string(),
        };
        return Some((check, Some(Failure::ThresholdsWithoutStream)));
    };
    let summary = &load.summary;
    let checks: Vec<ThresholdCheck> = thresholds
        .iter()
        .map(|threshold| {
            let (seen, met) = match *threshold {
                LoadThreshold::Rate {
                    what,
                    phase,
                    at_most_ppm,
                } => {
                    let counts = phase.map_or(summary.total, |p| summary.phase(p));
                    let count = count_of(&counts, what);
                    // Nothing sent in that phase: nothing exceeded the share.
                    let met = share_ppm(count, counts.sent).map_or(Met::Yes, |ppm| {
                        Met::from_bool(ppm <= u64::from(at_most_ppm))
                    });
                    let seen = ThresholdSeen::Share {
                        count,
                        sent: counts.sent,
                    };
                    (seen, met)
                }
                LoadThreshold::Latency {
                    quantile,
                    phase,
                    at_most,
                } => {
                    let percentiles = match phase {
                        None => summary.latency_all,
                        Some(Phase::BeforeSignal) => summary.latency_before_signal,
                        Some(Phase::Draining) => summary.latency_draining,
                        Some(Phase::AfterExit) => None,
                    };
                    match percentiles {
                        None => (
                            ThresholdSeen::NothingAnswered,
                            Met::Untested(Untested::NothingAnswered),
                        ),
                        Some(p) => {
                            let ms = match quantile {
                                Quantile::P50 => p.p50_ms,
                                Quantile::P99 => p.p99_ms,
                                Quantile::Max => p.max_ms,
                            };
                            let met = Met::from_bool(ms <= at_most.as_secs_f64() * 1000.0);
                            (ThresholdSeen::Latency { ms }, met)
                        }
                    }
                }
            };
            ThresholdCheck {
                key: threshold.key(),
                bound: threshold.describe_bound(),
                seen,
                met,
            }
        })
        .collect();
    let met = checks
        .iter()
        .fold(Met::Yes, |met, check| met.and(check.met));
    let check = RequirementCheck {
        requirement: Requirement::WithinThresholds,
        met,
        evidence: ThresholdList(&checks).to_string(),
    };
    let failure = (met != Met::Yes).then_some(Failure::Thresholds { thresholds: checks });
    Some((check, failure))
}

/// The count of `what` in `counts`.
fn count_of(counts: &crate::model::observation::PhaseCounts, what: LoadWhat) -> u64 {
    match what {
        LoadWhat::Sent => counts.sent,
        LoadWhat::Ok => counts.ok,
        LoadWhat::Cut => counts.cut,
        LoadWhat::NotServed => counts.not_served,
        LoadWhat::Lost => counts.lost,
        LoadWhat::ReusedConnection => counts.reused_connection,
    }
}

/// The load's expectations that did not hold. Where cut and not-served cannot be told apart (not
/// our server), an expectation on either is not tested, and says so.
fn load_failures(scenario: &Scenario, observation: &Observation) -> Vec<Failure> {
    let expectations = &scenario.expect.load;
    if expectations.is_empty() {
        return Vec::new();
    }
    let Some(load) = &observation.load else {
        return vec![Failure::NoStream];
    };
    let summary = &load.summary;
    let mut failures = Vec::new();
    for expectation in expectations {
        let counts = match expectation.phase {
            Some(phase) => summary.phase(phase),
            None => summary.total,
        };
        let key = LoadExpectation::key(expectation.what, expectation.phase);
        let count = count_of(&counts, expectation.what);
        let untold = matches!(expectation.what, LoadWhat::Cut | LoadWhat::NotServed)
            && counts.cut_or_not_served > 0;
        if untold {
            failures.push(Failure::LoadNotToldApart {
                key,
                cut_or_not_served: counts.cut_or_not_served,
            });
        } else if !expectation.bound.holds(count, counts.sent) {
            failures.push(Failure::LoadCount {
                key,
                expected: expectation.bound,
                seen: count,
                sent: counts.sent,
            });
        }
    }
    failures
}

/// The rollout's expectations that did not hold.
fn rollout_failures(scenario: &Scenario, observation: &Observation) -> Vec<Failure> {
    let Some(expect) = scenario.expect.rollout else {
        return Vec::new();
    };
    let Some(rollout) = &observation.rollout else {
        return vec![Failure::NoRollout];
    };
    let mut failures = Vec::new();
    if let Some(bound) = expect.lost
        && !bound.holds(rollout.lost, rollout.sent)
    {
        failures.push(Failure::RolloutLost {
            expected: bound,
            lost: rollout.lost,
            sent: rollout.sent,
            by_phase: rollout
                .by_phase
                .iter()
                .filter(|c| c.lost > 0)
                .copied()
                .collect(),
        });
    }
    let terminated: Vec<_> = rollout
        .replicas
        .iter()
        .filter(|r| r.termination_ms.is_some())
        .collect();
    let replaced = usize::from(scenario.rollout.as_ref().map_or(0, |r| r.replace));
    if terminated.len() < replaced {
        failures.push(Failure::ReplicasNotTerminated {
            terminated: terminated.len(),
            replaced,
        });
    }
    if let Some(wanted) = expect.hook_done {
        for replica in &terminated {
            let done = replica.pre_stop == Some(crate::model::rollout::HookOutcome::Done);
            if done != wanted {
                failures.push(Failure::PreStop {
                    replica: replica.name.clone(),
                    expected_done: wanted,
                    seen: replica.pre_stop.clone(),
                });
            }
        }
    }
    failures
}

/// A rollout's requirement: every request of the stream is answered, whichever replica the
/// balancer sent it to. Which replica refused what is the balancer's business, so the second
/// requirement is not tested as such.
fn rollout_requirements(
    rollout: &crate::model::observation::RolloutObservation,
) -> Vec<RequirementCheck> {
    vec![
        RequirementCheck {
            requirement: Requirement::AnswersInFlight,
            met: Met::from_bool(rollout.lost == 0),
            evidence: format!(
                "rollout: {} of {} lost ({})",
                rollout.lost,
                rollout.sent,
                RolloutLosses(&rollout.by_phase)
            ),
        },
        RequirementCheck {
            requirement: Requirement::RefusesNew,
            met: Met::Untested(Untested::BehindBalancer),
            evidence: "not tested as such: behind a balancer, a stopping replica's refusals are the balancer's to route around".to_string(),
        },
    ]
}

/// A server that exited before the stop was issued was not stopped by it: it crashed, or was
/// killed or removed from outside; nothing it showed is about the stop.
fn exited_before_the_stop(observation: &Observation) -> Option<Failure> {
    let (exited_ms, code) = observation
        .timeline
        .iter()
        .find_map(|event| match event.kind {
            crate::model::events::EventKind::Exited { code } => Some((event.ms, code)),
            _ => None,
        })?;
    match observation.stop_issued_ms {
        Some(stop) if exited_ms >= stop => None,
        stop_issued_ms => Some(Failure::ExitedBeforeStop {
            code,
            exited_ms,
            stop_issued_ms,
        }),
    }
}

/// When the stop began for the server: the engine's kill event, else the stop's issue (a
/// process's signal is sent at once).
fn signal_ms(observation: &Observation) -> Option<i64> {
    observation.signal_sent_ms.or(observation.stop_issued_ms)
}

/// Whether `request`, sent before the stop, was answered before the signal went out: it was
/// never in flight. A request cut by the signal ends about when the engine logs it (the kill
/// event is stamped after the kill, by up to ~100 ms under load): only a complete answer counts.
/// Nor does a stream the server ended with its goodbye, or that ended after the stop was
/// issued: the shutdown may have ended it, so it was open at the signal, however soon after the
/// signal (and before its kill event) it ended.
fn answered_before_signal(
    request: &RequestObservation,
    signal: i64,
    observation: &Observation,
) -> bool {
    let issued = observation.stop_issued_ms.unwrap_or(signal);
    let ended_by_the_stop = observation.streams.iter().any(|s| {
        s.name == request.name
            && (s.stream.end.is_goodbye()
                || i64::try_from(s.stream.ended.as_millis()).unwrap_or(i64::MAX) >= issued)
    });
    request.outcome == Outcome::Ok && request.done_ms < signal && !ended_by_the_stop
}

/// Requests meant to be in flight that were already answered when the signal went out: the
/// run did not test what it claims (a path faster than the schedule, or an overloaded engine
/// delivering the signal late), so it must not pass, whatever the server.
fn not_in_flight(scenario: &Scenario, observation: &Observation) -> Vec<Failure> {
    let (Some(_), Some(signal_ms)) = (observation.stop_issued_ms, signal_ms(observation)) else {
        return Vec::new();
    };
    let remedy = if scenario.runs_our_server() {
        Remedy::LongerDelay
    } else {
        Remedy::SlowerPath
    };
    observation
        .requests
        .iter()
        .filter(|r| r.sent_before_stop && answered_before_signal(r, signal_ms, observation))
        .map(|r| Failure::NeverInFlight {
            request: r.name.clone(),
            answered_ms: r.done_ms,
            signal_ms,
            remedy,
        })
        .collect()
}

/// Checks the two requirements from the requests sent before and after the stop. A request
/// answered before the signal tests neither; when no request meant to be in flight was still
/// in flight, the first requirement was not tested, and the evidence says so.
fn requirements(observation: &Observation) -> Vec<RequirementCheck> {
    let (before, after): (Vec<_>, Vec<_>) = observation
        .requests
        .iter()
        .partition(|r| r.sent_before_stop);
    let signal = signal_ms(observation);
    let (early, in_flight): (Vec<_>, Vec<_>) = before
        .iter()
        .partition(|r| signal.is_some_and(|signal| answered_before_signal(r, signal, observation)));
    let answers = if in_flight.is_empty() && !early.is_empty() {
        RequirementCheck {
            requirement: Requirement::AnswersInFlight,
            met: Met::Untested(Untested::NoneInFlight),
            evidence: format!(
                "not tested: {} answered before the signal was sent (at {} ms), so none was in flight",
                names(&early),
                signal.unwrap_or_default()
            ),
        }
    } else {
        check(Requirement::AnswersInFlight, &in_flight, |r| {
            r.outcome == Outcome::Ok
        })
    };
    vec![
        answers,
        check(Requirement::RefusesNew, &after, |r| !r.outcome.served()),
    ]
}

/// The requirements of a stream without requests of its own: every request the server accepted
/// is answered (nothing cut); the second is the stream's counts' to tell, by phase.
fn load_requirements(load: &crate::model::observation::LoadObservation) -> Vec<RequirementCheck> {
    let total = &load.summary.total;
    let answers = if total.cut_or_not_served > 0 {
        RequirementCheck {
            requirement: Requirement::AnswersInFlight,
            met: Met::Untested(Untested::NotToldApart),
            evidence: format!(
                "not tested: {} request(s) cut or not served, not told apart (the server logs no request ids)",
                total.cut_or_not_served
            ),
        }
    } else {
        RequirementCheck {
            requirement: Requirement::AnswersInFlight,
            met: Met::from_bool(total.cut == 0),
            evidence: format!("load: {} of {} cut", total.cut, total.sent),
        }
    };
    let draining = load.summary.phase(crate::model::load::Phase::Draining);
    let refuses = RequirementCheck {
        requirement: Requirement::RefusesNew,
        met: Met::Untested(Untested::ByCounts),
        evidence: format!(
            "not tested as such: a stream is judged by its counts (draining: {} sent, {} ok, {} not served)",
            draining.sent, draining.ok, draining.not_served
        ),
    };
    vec![answers, refuses]
}

/// `in-flight-1, in-flight-2`.
fn names(requests: &[&RequestObservation]) -> String {
    let names: Vec<&str> = requests.iter().map(|r| r.name.as_str()).collect();
    names.join(", ")
}

fn check(
    requirement: Requirement,
    requests: &[&RequestObservation],
    holds: impl Fn(&RequestObservation) -> bool,
) -> RequirementCheck {
    let met = if requests.is_empty() {
        Met::Untested(Untested::NoRequest)
    } else {
        Met::from_bool(requests.iter().all(|r| holds(r)))
    };
    let descriptions: Vec<String> = requests.iter().map(|r| r.describe()).collect();
    let evidence = match requests {
        [] => "no request tested it".to_string(),
        [_, _, ..] if descriptions.iter().all(|d| *d == descriptions[0]) => {
            format!("all {} requests: {}", requests.len(), descriptions[0])
        }
        _ => requests
            .iter()
            .zip(&descriptions)
            .map(|(r, d)| format!("{}: {d}", r.name))
            .collect::<Vec<_>>()
            .join("; "),
    };
    RequirementCheck {
        requirement,
        met,
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::streams::{
        Item, NamedStream, Protocol, Received, StreamEnd, StreamObservation,
    };
    use crate::reproduce::{self, Timings};

    fn request(name: &str, outcome: Outcome, sent_ms: i64, done_ms: i64) -> RequestObservation {
        RequestObservation {
            name: name.to_string(),
            outcome,
            status: outcome.served().then_some(200),
            bytes: 3,
            connected: true,
            sent_ms,
            done_ms,
            // The stop of the tests' observations is issued at 300 ms.
            sent_before_stop: sent_ms < 300,
        }
    }

    /// The fast exec-form scenario, observed as it should go.
    fn exec_form() -> (Scenario, Observation) {
        let scenario = reproduce::scenarios(Timings::fast())[3].clone();
        let observation = Observation {
            exit_code: Some(0),
            stop_issued_ms: Some(300),
            signal_sent_ms: Some(320),
            stop_duration: Some(std::time::Duration::from_millis(900)),
            signal_received: Some(true),
            requests: vec![
                request("in-flight", Outcome::Ok, 0, 1000),
                request("after-stop", Outcome::Reset, 620, 621),
            ],
            ..Observation::default()
        };
        (scenario, observation)
    }

    #[test]
    fn the_expected_observation_passes_and_meets_both_requirements() {
        let (scenario, observation) = exec_form();
        let verdict = verdict(&scenario, &observation);
        assert!(verdict.passed, "{:?}", verdict.failures);
        assert!(verdict.requirements.iter().all(|r| r.met == Met::Yes));
    }

    #[test]
    fn each_unmet_expectation_is_one_failure_line() {
        let (scenario, mut observation) = exec_form();
        observation.exit_code = Some(137);
        observation.requests[1] = request("after-stop", Outcome::Ok, 620, 1620);
        let verdict = verdict(&scenario, &observation);
        let lines: Vec<String> = verdict.failures.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "request `after-stop`: expected not-served, got ok (200, 3 bytes)",
                "exit code: expected 0, got 137",
            ]
        );
        assert_eq!(
            verdict.failures[1],
            Failure::ExitCode {
                expected: 0,
                seen: Some(137)
            }
        );
        assert_eq!(verdict.requirements[1].met, Met::No);
    }

    /// A request after the stop whose connection attempt the engine's network dropped (Podman,
    /// tearing down the container's network) reached no server: not served, and said so.
    #[test]
    fn a_timeout_that_never_connected_is_not_served_and_one_that_connected_is_not() {
        let (scenario, mut observation) = exec_form();
        observation.requests[1] = RequestObservation {
            connected: false,
            ..request("after-stop", Outcome::Timeout, 620, 8620)
        };
        let judged = verdict(&scenario, &observation);
        assert!(judged.passed, "{:?}", judged.failures);
        assert_eq!(
            observation.requests[1].describe(),
            "timeout (never connected)"
        );

        // A connection the server took and never answered is no refusal.
        observation.requests[1].connected = true;
        let judged = verdict(&scenario, &observation);
        let lines: Vec<String> = judged.failures.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            ["request `after-stop`: expected not-served, got timeout"]
        );

        // Not reaching the server is no answer either.
        observation.requests[0] = RequestObservation {
            connected: false,
            ..request("in-flight", Outcome::Timeout, 0, 8000)
        };
        let judged = verdict(&scenario, &observation);
        assert!(
            judged.failures.iter().any(|f| f.to_string()
                == "request `in-flight`: expected ok, got timeout (never connected)"),
            "{:?}",
            judged.failures
        );
    }

    #[test]
    fn a_request_answered_before_the_signal_was_not_in_flight() {
        // The engine sent the signal 800 ms after the stop call: the 1 s request was done.
        let (scenario, mut observation) = exec_form();
        observation.signal_sent_ms = Some(1100);
        let verdict = verdict(&scenario, &observation);
        assert!(!verdict.passed);
        assert!(
            verdict.failures[0]
                .to_string()
                .starts_with("request `in-flight` was never in flight"),
            "{:?}",
            verdict.failures
        );
        // Nothing tested the first requirement: it is neither met nor failed.
        assert_eq!(
            verdict.requirements[0].met,
            Met::Untested(Untested::NoneInFlight)
        );
        assert!(
            verdict.requirements[0].evidence.starts_with("not tested"),
            "{:?}",
            verdict.requirements
        );
    }

    #[test]
    fn a_fast_path_on_any_image_tests_nothing_and_fails_with_advice() {
        // `check` on a path answered in 12 ms, the signal sent at 1020 ms.
        let (mut scenario, mut observation) = exec_form();
        scenario.target =
            crate::model::scenario::Target::Image(crate::model::scenario::ImageSpec {
                image: "busybox-httpd".to_string(),
                port: 8080,
                init: true,
                readiness: crate::model::readiness::Readiness::HttpPath {
                    path: "/".to_string(),
                    within: std::time::Duration::from_secs(30),
                },
            });
        observation.signal_sent_ms = Some(1020);
        observation.requests[0] = request("in-flight", Outcome::Ok, 0, 12);
        let verdict = verdict(&scenario, &observation);
        assert!(!verdict.passed);
        // Spelled as the CLI spells options, the remedy names the path's flag.
        let flags = |o: crate::option_name::OptionName| match o {
            crate::option_name::OptionName::Path => "--path".to_string(),
            other => other.words(),
        };
        assert!(
            verdict
                .failures
                .iter()
                .any(|f| f.message_with(&flags).contains("--path")),
            "{:?}",
            verdict.failures
        );
        assert_eq!(
            verdict.requirements[0].met,
            Met::Untested(Untested::NoneInFlight)
        );
    }

    /// A stream of 1000 requests, 20 of them lost, 10 draining; answered in 40 ms at p99.
    fn with_a_stream(observation: &mut Observation) {
        use crate::model::observation::{LoadObservation, LoadSummary, Percentiles, PhaseCounts};
        let total = PhaseCounts {
            sent: 1000,
            ok: 980,
            cut: 20,
            lost: 20,
            ..PhaseCounts::default()
        };
        let latency = Percentiles {
            p50_ms: 2.0,
            p99_ms: 40.0,
            max_ms: 90.0,
        };
        observation.load = Some(LoadObservation {
            rate: 200,
            client: crate::model::load::ClientProfile::Fresh,
            vantage: crate::model::vantage::Vantage::Host,
            started_ms: 0,
            requests: Vec::new(),
            summary: LoadSummary {
                total,
                phases: vec![(
                    Phase::Draining,
                    PhaseCounts {
                        sent: 10,
                        ok: 10,
                        ..PhaseCounts::default()
                    },
                )],
                told_apart: true,
                latency_before_signal: Some(latency),
                latency_draining: None,
                latency_all: Some(latency),
                departure_lag: None,
                delivery: Default::default(),
                baseline: None,
                per_second: Vec::new(),
            },
        });
    }

    #[test]
    fn a_threshold_past_its_bound_fails_with_each_measured_value() {
        let (mut scenario, mut observation) = exec_form();
        with_a_stream(&mut observation);
        scenario.expect.thresholds = vec![
            LoadThreshold::Rate {
                what: LoadWhat::Lost,
                phase: None,
                at_most_ppm: 1000,
            },
            LoadThreshold::Latency {
                quantile: Quantile::P99,
                phase: None,
                at_most: std::time::Duration::from_millis(500),
            },
        ];
        let verdict = verdict(&scenario, &observation);
        let check = verdict
            .requirements
            .iter()
            .find(|r| r.requirement == Requirement::WithinThresholds)
            .expect("thresholds are a requirement");
        assert_eq!(check.met, Met::No);
        let Some(Failure::Thresholds { thresholds }) = verdict.failures.last() else {
            panic!("{:?}", verdict.failures);
        };
        assert_eq!(
            thresholds[0].seen,
            ThresholdSeen::Share {
                count: 20,
                sent: 1000
            }
        );
        assert_eq!((thresholds[0].met, thresholds[1].met), (Met::No, Met::Yes));
        assert_eq!(
            verdict.failures.last().map(ToString::to_string).as_deref(),
            Some(
                "thresholds: lost-rate 2% (20 of 1000), PAST at most 0.1% · p99 40ms, within at most 500ms"
            )
        );
    }

    #[test]
    fn a_threshold_with_nothing_to_measure_is_untested_and_fails() {
        let (mut scenario, mut observation) = exec_form();
        with_a_stream(&mut observation);
        scenario.expect.thresholds = vec![LoadThreshold::Latency {
            quantile: Quantile::P99,
            phase: Some(Phase::Draining),
            at_most: std::time::Duration::from_millis(500),
        }];
        let verdict = verdict(&scenario, &observation);
        assert_eq!(
            verdict.requirements.last().map(|r| r.met),
            Some(Met::Untested(Untested::NothingAnswered))
        );
        assert!(!verdict.passed);
        assert_eq!(
            verdict.failures.last().map(ToString::to_string).as_deref(),
            Some(
                "thresholds: p99-draining not tested: nothing was answered, untested at most 500ms"
            )
        );
    }

    #[test]
    fn a_count_outside_its_bound_says_its_bound_and_what_was_counted() {
        let (mut scenario, mut observation) = exec_form();
        with_a_stream(&mut observation);
        scenario.expect.load = vec![LoadExpectation {
            what: LoadWhat::Ok,
            phase: None,
            bound: crate::model::load::Bound::All,
        }];
        let verdict = verdict(&scenario, &observation);
        assert_eq!(
            verdict.failures,
            [Failure::LoadCount {
                key: "ok".to_string(),
                expected: crate::model::load::Bound::All,
                seen: 980,
                sent: 1000,
            }]
        );
        assert_eq!(
            verdict.failures[0].to_string(),
            "load `ok`: expected all (1000), got 980"
        );
    }

    /// A stream that left far behind its schedule judges nothing that depends on requests:
    /// its counts, its thresholds, the named requests and the requirements are untested, what
    /// the server did on its own (its exit) still is.
    #[test]
    fn a_load_not_delivered_is_not_judged_on_its_requests() {
        use crate::model::observation::{Delivery, Percentiles};
        let (mut scenario, mut observation) = exec_form();
        with_a_stream(&mut observation);
        let lag = Percentiles {
            p50_ms: 195.0,
            p99_ms: 527.0,
            max_ms: 800.0,
        };
        let summary = &mut observation.load.as_mut().expect("a stream").summary;
        summary.departure_lag = Some(lag);
        summary.delivery = Delivery::of(Some(&lag));
        observation.requests[0].outcome = Outcome::Reset;
        observation.exit_code = Some(137);
        scenario.expect.load = vec![LoadExpectation {
            what: LoadWhat::Ok,
            phase: None,
            bound: crate::model::load::Bound::All,
        }];
        let verdict = verdict(&scenario, &observation);
        let not_delivered = verdict.not_delivered.expect("not delivered");
        assert_eq!(not_delivered.departure_lag_ms, lag);
        assert!(
            verdict
                .requirements
                .iter()
                .all(|r| r.met == Met::Untested(Untested::NotDelivered)),
            "{:?}",
            verdict.requirements
        );
        assert_eq!(
            verdict.failures,
            [Failure::ExitCode {
                expected: 0,
                seen: Some(137)
            }]
        );
    }

    /// `check`'s stream: the requests in flight at the signal may lose what the path lost
    /// before any stop, at its rate, and no more.
    #[test]
    fn in_flight_losses_are_judged_beyond_the_paths_baseline() {
        use crate::model::observation::Baseline;
        let (mut scenario, mut observation) = exec_form();
        with_a_stream(&mut observation);
        scenario.expect.load_in_flight = Some(crate::model::load::Bound::Exactly(0));
        let mut judge = |baseline: Baseline| {
            observation
                .load
                .as_mut()
                .expect("a stream")
                .summary
                .baseline = Some(baseline);
            verdict(&scenario, &observation).failures
        };
        // 13 of 2031 lost before the stop: 1 of 45 in flight is the path's.
        let noisy = Baseline {
            done_before_signal: 2031,
            lost_before_signal: 13,
            in_flight_at_signal: 45,
            lost_in_flight: 1,
        };
        assert_eq!(judge(noisy), []);
        let cut = Baseline {
            lost_in_flight: 3,
            ..noisy
        };
        let failures = judge(cut);
        assert_eq!(
            failures,
            [Failure::LoadInFlight {
                expected: crate::model::load::Bound::Exactly(0),
                seen: 2,
                baseline: cut,
            }]
        );
        assert_eq!(
            failures[0].to_string(),
            "load: of the 45 request(s) in flight at the signal, 3 lost, 1 of them the path's own (before any stop it lost 13 of 2031): expected 0 lost to the stop, got 2"
        );
        // A clean path leaves no allowance.
        let clean = Baseline {
            lost_before_signal: 0,
            ..noisy
        };
        assert_eq!(judge(clean).len(), 1);
    }

    /// A stream of `protocol` named `name`, opened and ended at those ms.
    fn stream(name: &str, opened: u64, end: StreamEnd, ended: u64) -> NamedStream {
        NamedStream {
            name: name.to_string(),
            stream: StreamObservation {
                protocol: Protocol::Websocket,
                target: "/ws".to_string(),
                stream_id: None,
                opened: Duration::from_millis(opened),
                received: vec![Received {
                    at: Duration::from_millis(opened + 1),
                    item: Item::Head { status: 101 },
                }],
                end,
                ended: Duration::from_millis(ended),
                detail: String::new(),
            },
        }
    }

    #[test]
    fn streams_are_judged_from_what_their_clients_saw() {
        let (mut scenario, mut observation) = exec_form();
        scenario.expect.requests.clear();
        scenario.expect.exit_code = None;
        scenario.expect.streams.close_code = Some(1001);
        observation.requests = vec![
            request("in-flight", Outcome::Truncated, 0, 330),
            request("after-stop", Outcome::Truncated, 620, 900),
        ];
        // Cut just before the engine's kill event is stamped: still open at the signal.
        observation.streams = vec![
            stream("in-flight", 0, StreamEnd::Cut, 318),
            stream("after-stop", 620, StreamEnd::Cut, 900),
        ];
        let verdict = verdict(&scenario, &observation);
        assert_eq!(
            verdict.failures,
            [Failure::CloseCode {
                stream: "in-flight".to_string(),
                expected: 1001,
                seen: "1006".to_string(),
            }]
        );
        let [answers, refuses] = &verdict.requirements[..] else {
            panic!("{:?}", verdict.requirements);
        };
        assert_eq!(
            (answers.met, answers.evidence.as_str()),
            (Met::No, "in-flight: cut (1006, no close frame)")
        );
        assert_eq!(
            (refuses.met, refuses.evidence.as_str()),
            (
                Met::No,
                "after-stop: accepted, then cut (1006, no close frame)"
            )
        );
    }
}
