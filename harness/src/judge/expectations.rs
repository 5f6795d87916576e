//! Judges an observation against a scenario's expectations, and against the two requirements
//! of a correct shutdown.

use crate::duration;
use crate::observation::{Observation, RequestObservation};
use crate::outcome::Outcome;
use crate::scenario::Scenario;
use crate::traffic::{
    Bound, LoadExpectation, LoadThreshold, LoadWhat, Phase, Quantile, format_percent,
};
use crate::verdict::{Requirement, RequirementCheck, Verdict};

/// Compares `observation` with `scenario`'s expectations.
pub fn verdict(scenario: &Scenario, observation: &Observation) -> Verdict {
    let expect = &scenario.expect;
    let mut failures = Vec::new();
    for (name, expected) in &expect.requests {
        match observation.request(name) {
            None => failures.push(format!(
                "request `{name}`: expected {expected}, but it was never sent"
            )),
            Some(request) if !expected.accepts(request.outcome) => failures.push(format!(
                "request `{name}`: expected {expected}, got {}",
                request.describe()
            )),
            Some(_) => {}
        }
    }
    if let Some(wanted) = expect.exit_code {
        match observation.exit_code {
            Some(code) if code == wanted => {}
            Some(code) => failures.push(format!("exit code: expected {wanted}, got {code}")),
            None => failures.push(format!(
                "exit code: expected {wanted}, but no exit was seen"
            )),
        }
    }
    if let Some(wanted) = expect.signal_received {
        if observation.signal_received != Some(wanted) {
            let said = if wanted { "logged" } else { "not logged" };
            failures.push(format!(
                "signal received: expected the server to have {said} the signal, it had {}",
                match observation.signal_received {
                    Some(true) => "logged it",
                    Some(false) => "not logged it",
                    None => "no readable log",
                }
            ));
        }
    }
    if let Some(stop) = observation.stop_duration {
        if let Some(min) = expect.stop_at_least.filter(|min| stop < *min) {
            failures.push(format!(
                "stop duration: expected at least {}, took {}",
                duration::format(min),
                duration::format(stop)
            ));
        }
        if let Some(max) = expect.stop_below.filter(|max| stop >= *max) {
            failures.push(format!(
                "stop duration: expected below {}, took {}",
                duration::format(max),
                duration::format(stop)
            ));
        }
    } else if expect.stop_at_least.is_some() || expect.stop_below.is_some() {
        failures.push("stop duration: the stop never returned".to_string());
    }
    failures.extend(not_in_flight(scenario, observation));
    failures.extend(exited_before_the_stop(observation));
    failures.extend(load_failures(scenario, observation));
    failures.extend(rollout_failures(scenario, observation));
    let mut requirements = match (&observation.rollout, &observation.load) {
        (Some(rollout), _) => rollout_requirements(rollout),
        (None, Some(load)) if observation.requests.is_empty() => load_requirements(load),
        _ => requirements(observation),
    };
    if let Some(check) = thresholds(&scenario.expect.thresholds, observation) {
        if check.met != Some(true) {
            failures.push(format!("thresholds: {}", check.evidence));
        }
        requirements.push(check);
    }
    Verdict {
        passed: failures.is_empty(),
        failures,
        requirements,
    }
}

/// The load's thresholds, as one requirement: met when every one holds, its evidence each
/// measured value against its bound; None without thresholds.
fn thresholds(thresholds: &[LoadThreshold], observation: &Observation) -> Option<RequirementCheck> {
    if thresholds.is_empty() {
        return None;
    }
    let Some(load) = &observation.load else {
        return Some(RequirementCheck {
            requirement: Requirement::WithinThresholds,
            met: None,
            evidence: "not tested: no stream of requests was sent".to_string(),
        });
    };
    let summary = &load.summary;
    let mut met = Some(true);
    let mut evidence = Vec::new();
    for threshold in thresholds {
        let key = threshold.key();
        let (held, seen) = match *threshold {
            LoadThreshold::Rate {
                what,
                phase,
                at_most_ppm,
            } => {
                let counts = phase.map_or(summary.total, |p| summary.phase(p));
                let count = count_of(&counts, what);
                let ppm = (count * 1_000_000).checked_div(counts.sent);
                match ppm {
                    // Nothing was sent in that phase: nothing exceeded the share.
                    None => (Some(true), format!("{key} - (none sent)")),
                    Some(ppm) => (
                        Some(ppm <= u64::from(at_most_ppm)),
                        format!(
                            "{key} {} ({count} of {})",
                            format_percent(u32::try_from(ppm).unwrap_or(u32::MAX)),
                            counts.sent
                        ),
                    ),
                }
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
                    None => (None, format!("{key} not tested: nothing was answered")),
                    Some(p) => {
                        let ms = match quantile {
                            Quantile::P50 => p.p50_ms,
                            Quantile::P99 => p.p99_ms,
                            Quantile::Max => p.max_ms,
                        };
                        (
                            Some(ms <= at_most.as_secs_f64() * 1000.0),
                            format!("{key} {ms:.0}ms"),
                        )
                    }
                }
            }
        };
        met = match (met, held) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (None, _) | (_, None) => None,
            _ => Some(true),
        };
        let verdict = match held {
            Some(true) => "within",
            Some(false) => "PAST",
            None => "untested",
        };
        evidence.push(format!("{seen}, {verdict} {}", threshold.describe_bound()));
    }
    Some(RequirementCheck {
        requirement: Requirement::WithinThresholds,
        met,
        evidence: evidence.join(" · "),
    })
}

/// The count of `what` in `counts`.
fn count_of(counts: &crate::observation::PhaseCounts, what: LoadWhat) -> u64 {
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
fn load_failures(scenario: &Scenario, observation: &Observation) -> Vec<String> {
    let expectations = &scenario.expect.load;
    if expectations.is_empty() {
        return Vec::new();
    }
    let Some(load) = &observation.load else {
        return vec!["load: expected a stream of requests, but none was sent".to_string()];
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
            failures.push(format!(
                "load `{key}`: not tested: {} request(s) were cut or not served, which the server's log cannot tell apart",
                counts.cut_or_not_served
            ));
        } else if !expectation.bound.holds(count, counts.sent) {
            failures.push(format!(
                "load `{key}`: expected {}{}, got {count}",
                expectation.bound,
                if expectation.bound == Bound::All {
                    format!(" ({})", counts.sent)
                } else {
                    String::new()
                }
            ));
        }
    }
    failures
}

/// The rollout's expectations that did not hold.
fn rollout_failures(scenario: &Scenario, observation: &Observation) -> Vec<String> {
    let Some(expect) = scenario.expect.rollout else {
        return Vec::new();
    };
    let Some(rollout) = &observation.rollout else {
        return vec!["rollout: expected a rolling update, but no replica was seen".to_string()];
    };
    let mut failures = Vec::new();
    if let Some(bound) = expect.lost
        && !bound.holds(rollout.lost, rollout.sent)
    {
        failures.push(format!(
            "lost: expected {bound}, got {} of {} ({})",
            rollout.lost,
            rollout.sent,
            rollout_losses(rollout)
        ));
    }
    let terminated: Vec<_> = rollout
        .replicas
        .iter()
        .filter(|r| r.termination_ms.is_some())
        .collect();
    let replaced = usize::from(scenario.rollout.as_ref().map_or(0, |r| r.replace));
    if terminated.len() < replaced {
        failures.push(format!(
            "rollout: only {} of {replaced} replica(s) were terminated",
            terminated.len()
        ));
    }
    if let Some(wanted) = expect.hook_done {
        for replica in &terminated {
            let done = replica.pre_stop == Some(crate::rollout::HookOutcome::Done);
            if done != wanted {
                failures.push(format!(
                    "preStop of {}: expected {}, got {}",
                    replica.name,
                    if wanted { "done" } else { "not done" },
                    replica
                        .pre_stop
                        .as_ref()
                        .map_or_else(|| "none ran".to_string(), |h| h.describe())
                ));
            }
        }
    }
    failures
}

/// `12 http-error in stale-endpoint, 3 reset in draining`-like: where the losses were.
fn rollout_losses(rollout: &crate::observation::RolloutObservation) -> String {
    let phases: Vec<String> = rollout
        .by_phase
        .iter()
        .filter(|c| c.lost > 0)
        .map(|c| format!("{} in {}", c.lost, c.phase.name()))
        .collect();
    if phases.is_empty() {
        "none".to_string()
    } else {
        phases.join(", ")
    }
}

/// A rollout's requirement: every request of the stream is answered, whichever replica the
/// balancer sent it to. Which replica refused what is the balancer's business, so the second
/// requirement is not tested as such.
fn rollout_requirements(rollout: &crate::observation::RolloutObservation) -> Vec<RequirementCheck> {
    vec![
        RequirementCheck {
            requirement: Requirement::AnswersInFlight,
            met: Some(rollout.lost == 0),
            evidence: format!(
                "rollout: {} of {} lost ({})",
                rollout.lost,
                rollout.sent,
                rollout_losses(rollout)
            ),
        },
        RequirementCheck {
            requirement: Requirement::RefusesNew,
            met: None,
            evidence: "not tested as such: behind a balancer, a stopping replica's refusals are the balancer's to route around".to_string(),
        },
    ]
}

/// A server that exited before the stop was issued was not stopped by it: it crashed, or was
/// killed or removed from outside; nothing it showed is about the stop.
fn exited_before_the_stop(observation: &Observation) -> Option<String> {
    let exited = observation
        .timeline
        .iter()
        .find_map(|event| match event.kind {
            crate::events::EventKind::Exited { code } => Some((event.ms, code)),
            _ => None,
        })?;
    let (at, code) = exited;
    match observation.stop_issued_ms {
        Some(stop) if at >= stop => None,
        stop => Some(format!(
            "the server exited ({code}) at {at} ms, before the stop{}: it crashed, or was killed or removed from outside",
            stop.map(|s| format!(" was issued at {s} ms"))
                .unwrap_or_default()
        )),
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
fn answered_before_signal(request: &RequestObservation, signal: i64) -> bool {
    request.outcome == Outcome::Ok && request.done_ms < signal
}

/// Requests meant to be in flight that were already answered when the signal went out: the
/// run did not test what it claims (a path faster than the schedule, or an overloaded engine
/// delivering the signal late), so it must not pass, whatever the server.
fn not_in_flight(scenario: &Scenario, observation: &Observation) -> Vec<String> {
    let (Some(_), Some(signal)) = (observation.stop_issued_ms, signal_ms(observation)) else {
        return Vec::new();
    };
    let advice = if scenario.runs_our_server() {
        "lengthen its delay or run fewer scenarios at once"
    } else {
        "point --path at a slower endpoint (one that answers after the stop), or raise --requests so that some stay in flight"
    };
    observation
        .requests
        .iter()
        .filter(|r| r.sent_before_stop && answered_before_signal(r, signal))
        .map(|r| {
            format!(
                "request `{}` was never in flight: answered at {} ms, the signal was sent at {signal} ms; {advice}",
                r.name, r.done_ms
            )
        })
        .collect()
}

/// Checks the two requirements from the requests sent before and after the stop. A request
/// answered before the signal tests neither; when no request meant to be in flight was still
/// in flight, the first requirement was not tested (`met` is None), and the evidence says so.
fn requirements(observation: &Observation) -> Vec<RequirementCheck> {
    let (before, after): (Vec<_>, Vec<_>) = observation
        .requests
        .iter()
        .partition(|r| r.sent_before_stop);
    let signal = signal_ms(observation);
    let (early, in_flight): (Vec<_>, Vec<_>) = before
        .iter()
        .partition(|r| signal.is_some_and(|signal| answered_before_signal(r, signal)));
    let answers = if in_flight.is_empty() && !early.is_empty() {
        RequirementCheck {
            requirement: Requirement::AnswersInFlight,
            met: None,
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
fn load_requirements(load: &crate::observation::LoadObservation) -> Vec<RequirementCheck> {
    let total = &load.summary.total;
    let answers = if total.cut_or_not_served > 0 {
        RequirementCheck {
            requirement: Requirement::AnswersInFlight,
            met: None,
            evidence: format!(
                "not tested: {} request(s) cut or not served, not told apart (the server logs no request ids)",
                total.cut_or_not_served
            ),
        }
    } else {
        RequirementCheck {
            requirement: Requirement::AnswersInFlight,
            met: Some(total.cut == 0),
            evidence: format!("load: {} of {} cut", total.cut, total.sent),
        }
    };
    let draining = load.summary.phase(crate::traffic::Phase::Draining);
    let refuses = RequirementCheck {
        requirement: Requirement::RefusesNew,
        met: None,
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
    let met = (!requests.is_empty()).then(|| requests.iter().all(|r| holds(r)));
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
    use crate::reproduce::{self, Timings};

    fn request(name: &str, outcome: Outcome, sent_ms: i64, done_ms: i64) -> RequestObservation {
        RequestObservation {
            name: name.to_string(),
            outcome,
            status: outcome.served().then_some(200),
            bytes: 3,
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
        assert!(verdict.requirements.iter().all(|r| r.met == Some(true)));
    }

    #[test]
    fn each_unmet_expectation_is_one_failure_line() {
        let (scenario, mut observation) = exec_form();
        observation.exit_code = Some(137);
        observation.requests[1] = request("after-stop", Outcome::Ok, 620, 1620);
        let verdict = verdict(&scenario, &observation);
        assert_eq!(
            verdict.failures,
            [
                "request `after-stop`: expected not-served, got ok (200, 3 bytes)",
                "exit code: expected 0, got 137",
            ]
        );
        assert_eq!(verdict.requirements[1].met, Some(false));
    }

    #[test]
    fn a_request_answered_before_the_signal_was_not_in_flight() {
        // The engine sent the signal 800 ms after the stop call: the 1 s request was done.
        let (scenario, mut observation) = exec_form();
        observation.signal_sent_ms = Some(1100);
        let verdict = verdict(&scenario, &observation);
        assert!(!verdict.passed);
        assert!(
            verdict.failures[0].starts_with("request `in-flight` was never in flight"),
            "{:?}",
            verdict.failures
        );
        // Nothing tested the first requirement: it is neither met nor failed.
        assert_eq!(verdict.requirements[0].met, None);
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
        scenario.target = crate::scenario::Target::Image(crate::scenario::ImageSpec {
            image: "busybox-httpd".to_string(),
            port: 8080,
            init: true,
            ready_path: "/".to_string(),
            ready_within: std::time::Duration::from_secs(30),
        });
        observation.signal_sent_ms = Some(1020);
        observation.requests[0] = request("in-flight", Outcome::Ok, 0, 12);
        let verdict = verdict(&scenario, &observation);
        assert!(!verdict.passed);
        assert!(
            verdict.failures.iter().any(|f| f.contains("--path")),
            "{:?}",
            verdict.failures
        );
        assert_eq!(verdict.requirements[0].met, None);
    }
}
