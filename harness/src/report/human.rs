//! The human report: a timeline per scenario, the server's own log lines interleaved, then a
//! closing summary.

use std::fmt::Write;

use super::line;
use super::streams;
use crate::duration;
use crate::model::events::EventKind;
use crate::model::observation::TimedEvent;
use crate::model::results::{RunResults, ScenarioResult};
use crate::model::rollout::RolloutPhase;
use crate::model::scenario::{Scenario, Target};
use crate::model::verdict::Met;
use crate::option_name::OptionName;
use crate::server_log;

/// Renders timelines and the summary.
pub fn render(results: &RunResults) -> String {
    let mut out = String::new();
    let mut previous_kind = None;
    for result in &results.scenarios {
        let kind = match result.scenario.target {
            Target::Process => "Bare processes: the stop is a signal sent to the server",
            Target::Container(_) | Target::Image(_) | Target::Running(_) | Target::Runtime(_) => {
                "Containers: the stop is `docker stop`"
            }
        };
        if previous_kind != Some(kind) {
            let _ = writeln!(out, "{kind}\n");
            previous_kind = Some(kind);
        }
        timeline(&mut out, result, &OptionName::words);
        out.push('\n');
    }
    summary(&mut out, results);
    out
}

/// Renders one scenario's timeline and verdict, naming options in the library's words.
pub fn render_scenario(result: &ScenarioResult) -> String {
    render_scenario_with(result, &OptionName::words)
}

/// Renders one scenario's timeline and verdict, each option a remedy or an error asks to
/// change spelled by `spell` (a front end's flags).
pub fn render_scenario_with(
    result: &ScenarioResult,
    spell: &dyn Fn(OptionName) -> String,
) -> String {
    let mut out = String::new();
    timeline(&mut out, result, spell);
    out
}

/// No line of a timeline is wider than this (long words, such as image names, stay whole).
const WIDTH: usize = 100;

fn timeline(out: &mut String, result: &ScenarioResult, spell: &dyn Fn(OptionName) -> String) {
    let mut lines = String::new();
    timeline_lines(&mut lines, result, spell);
    for line in lines.lines() {
        if textwrap::core::display_width(line) <= WIDTH {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        // A wrapped line goes on under its own text, two columns in.
        let indent = line.len() - line.trim_start().len();
        let rest = " ".repeat(indent + 2);
        let options = textwrap::Options::new(WIDTH)
            .initial_indent(&line[..indent])
            .subsequent_indent(&rest)
            .break_words(false);
        for part in textwrap::wrap(line.trim_start(), options) {
            out.push_str(&part);
            out.push('\n');
        }
    }
}

/// One scenario's timeline, one line per entry, before wrapping: what ran, the events, then
/// the requirements, the summary of its stream or rollout, and the verdict.
fn timeline_lines(out: &mut String, result: &ScenarioResult, spell: &dyn Fn(OptionName) -> String) {
    let _ = writeln!(out, "── {} ──", result.scenario.name);
    setup_lines(out, result);
    let mut entries: Vec<(i64, String)> = result
        .observation
        .timeline
        .iter()
        .filter_map(|event| Some((event.ms, describe_event(event, result)?)))
        .collect();
    // Each long-lived stream once, where it ended, after the events of that millisecond.
    let signal = streams::signal_at(&result.observation);
    for view in streams::streams(&result.observation) {
        let ms = i64::try_from(view.stream.ended.as_millis()).unwrap_or(i64::MAX);
        entries.push((ms, format!("◆ {}", streams::line(&view, signal))));
    }
    entries.sort_by_key(|(ms, _)| *ms);
    for (ms, line) in entries {
        let _ = writeln!(out, "   {:>8}  {line}", seconds(ms));
    }
    for check in &result.verdict.requirements {
        let statement = check.requirement.statement();
        let _ = match check.met {
            Met::Yes => writeln!(out, "   {statement}: met ({})", check.evidence),
            Met::No => writeln!(out, "   {statement}: NOT met ({})", check.evidence),
            // The evidence says why it was not tested.
            Met::Untested(_) => writeln!(out, "   {statement}: {}", check.evidence),
        };
    }
    match (&result.observation.rollout, &result.observation.load) {
        (Some(rollout), _) => rollout_summary(out, rollout),
        (None, Some(load)) => load_summary(out, load),
        (None, None) => {}
    }
    verdict_lines(out, result, spell);
}

/// What ran: the target, a rollout's settings and PID 1.
fn setup_lines(out: &mut String, result: &ScenarioResult) {
    let scenario = &result.scenario;
    target_line(out, scenario, result.observation.image.as_deref());
    if let Some(spec) = scenario
        .rollout
        .as_ref()
        .filter(|s| s.orchestrator.is_swarm())
    {
        let _ = writeln!(out, "   {}", spec.describe_swarm());
        let _ = writeln!(out, "   HAProxy: {}", spec.balancer.describe());
    } else if let Some(spec) = &scenario.rollout {
        let _ = writeln!(
            out,
            "   rollout: {} replica(s), {} replaced; preStop {}, endpoint lag {}, termination grace {}; {} addresses",
            spec.replicas,
            spec.replace,
            spec.pre_stop.describe(),
            duration::format(spec.endpoint_lag),
            duration::format(spec.termination_grace),
            if spec.address_reuse {
                "reused"
            } else {
                "never reused"
            },
        );
        let _ = writeln!(
            out,
            "   readiness probe: {}",
            spec.readiness.describe(scenario.ready_path())
        );
        let _ = writeln!(out, "   HAProxy: {}", spec.balancer.describe());
    }
    if let Some(pid1) = &result.observation.pid1 {
        let handles = if pid1.handles_stop_signal {
            "handles"
        } else {
            "does not handle"
        };
        let _ = writeln!(
            out,
            "   PID 1: {} ({handles} {})",
            pid1.command, scenario.stop.signal
        );
    }
}

/// What the scenario stops, and how: the container (its `image` when known) or the process.
fn target_line(out: &mut String, scenario: &Scenario, image: Option<&str>) {
    match (&scenario.target, image) {
        (Target::Container(spec), Some(image)) => {
            let init = if spec.init { ", --init" } else { "" };
            let _ = writeln!(
                out,
                "   {} on {} ({image}{init}), stop signal {}, grace {}",
                spec.variant,
                spec.base,
                scenario.stop.signal,
                duration::format(scenario.stop.timeout)
            );
        }
        (Target::Running(spec), _) => {
            let _ = writeln!(
                out,
                "   container {} of {} (port {}), stop signal {}, grace {}",
                spec.container,
                spec.image,
                spec.port,
                scenario.stop.signal,
                duration::format(scenario.stop.timeout)
            );
        }
        (Target::Runtime(spec), image) => {
            let init = if spec.init { ", --init" } else { "" };
            let image = image.unwrap_or("image not forged");
            let _ = writeln!(
                out,
                "   {} ({image}{init}), stop signal {}, grace {}",
                spec.runtime,
                scenario.stop.signal,
                duration::format(scenario.stop.timeout)
            );
        }
        (Target::Image(spec), _) => {
            let init = if spec.init { ", --init" } else { "" };
            let _ = writeln!(
                out,
                "   image {} (port {}{init}), stop signal {}, grace {}",
                spec.image,
                spec.port,
                scenario.stop.signal,
                duration::format(scenario.stop.timeout)
            );
        }
        _ => {
            let _ = writeln!(
                out,
                "   bare process, {} server, {} after {}",
                scenario.server.mode,
                scenario.stop.signal,
                duration::format(scenario.stop.at)
            );
        }
    }
}

/// The verdict, with the error, the delivery and the failures that explain it, and why the
/// scenario is expected to end as it does.
fn verdict_lines(out: &mut String, result: &ScenarioResult, spell: &dyn Fn(OptionName) -> String) {
    let scenario = &result.scenario;
    let unmet = result.verdict.requirements.iter().any(|r| r.met == Met::No);
    // A check's expectations are the two requirements themselves: say so.
    let verdict = match (&scenario.target, result.passed()) {
        _ if result.not_delivered() => "NOT judged: the load was not delivered as asked",
        (Target::Image(_) | Target::Running(_), true) => "both requirements met",
        (Target::Image(_) | Target::Running(_), false) if unmet => "a requirement is NOT met",
        (Target::Image(_) | Target::Running(_), false) => {
            "NOT passed: the check did not test what it claims"
        }
        (_, true) => "as expected",
        (_, false) => "NOT as expected",
    };
    let _ = writeln!(out, "   verdict: {verdict}");
    if let Some(error) = &result.error {
        let _ = writeln!(out, "     error: {}", error.message_with(spell));
    }
    if let Some(not_delivered) = &result.verdict.not_delivered {
        let _ = writeln!(out, "     {}", not_delivered.message_with(spell));
    }
    for failure in &result.verdict.failures {
        let _ = writeln!(out, "     - {}", failure.message_with(spell));
    }
    if let Some(reason) = &scenario.reason {
        let _ = writeln!(out, "   why: {reason}");
    }
}

fn describe_event(event: &TimedEvent, result: &ScenarioResult) -> Option<String> {
    let line = match &event.kind {
        EventKind::Started { image: Some(_) } => "container started".to_string(),
        EventKind::Started { image: None } => "process started".to_string(),
        EventKind::Ready => "ready".to_string(),
        EventKind::ServerLog { line } => format!("│ {}", server_log::without_timestamp(line)),
        EventKind::Pid1(_) => return None,
        EventKind::RequestSent { name } => format!("→ {name} sent"),
        EventKind::RequestDone { name, .. } => {
            let request = result.observation.request(name)?;
            // A stream's evidence is its own line (◆), where it ended.
            if result.observation.streams.iter().any(|s| &s.name == name) {
                format!("← {name}: {}", request.outcome)
            } else {
                format!("← {name}: {}", request.describe())
            }
        }
        // Written where the stream ended (the event comes once its connections closed).
        EventKind::StreamObserved { .. } => return None,
        EventKind::StopMomentMeasured {
            warmups,
            median,
            stop_after,
        } => match median {
            Some(median) => format!(
                "stop moment: the path answered in {} (median of {warmups} warm-up request(s)), so the stop goes out {} after the requests, while they are surely in flight",
                duration::format(*median),
                duration::format(*stop_after)
            ),
            None => format!(
                "stop moment: no warm-up request was answered in full, so the stop goes out {} after the requests",
                duration::format(*stop_after)
            ),
        },
        EventKind::StopIssued { signal, timeout_ms } => match result.scenario.target {
            Target::Container(_) | Target::Image(_) | Target::Running(_) | Target::Runtime(_) => {
                format!(
                    "docker stop (grace {}, {signal})",
                    duration::format(std::time::Duration::from_millis(*timeout_ms))
                )
            }
            Target::Process => format!("kill -{signal}"),
        },
        EventKind::SignalSent { signal } => {
            format!("engine sent {}", crate::procfs::signal_name(*signal))
        }
        EventKind::StopBegan { signal } => {
            format!("engine began stopping (state `stopping`: {signal} goes out)")
        }
        EventKind::StopReturned => {
            let took = result.observation.stop_duration.unwrap_or_default();
            format!("stop returned after {}", duration::format(took))
        }
        EventKind::LoadStarted {
            rate,
            client,
            vantage,
        } => {
            format!(
                "load begins: {rate} requests/s, {client} client, {}",
                vantage.describe()
            )
        }
        EventKind::LoadRecords(_) => return None,
        EventKind::LoadEnded => "load ends: every request has an outcome".to_string(),
        EventKind::BalancerRecords(_) => return None,
        EventKind::BalancerLog { line } => format!("balancer: {line}"),
        EventKind::ReplicaStarted { replica } => format!("{replica} started"),
        EventKind::ReplicaInPool { replica, address } => {
            format!("{replica} in the balancer's pool (at {address})")
        }
        EventKind::TerminationBegan { replica } => format!("{replica} terminating"),
        EventKind::PreStopEnded { replica, outcome } => {
            format!("{replica} preStop {}", outcome.describe())
        }
        EventKind::EndpointRemoved { replica } => {
            format!("{replica} out of the balancer's pool")
        }
        EventKind::ReplicaSignalled { replica, signal } => format!("{replica} sent {signal}"),
        EventKind::ReplicaKilled { replica } => {
            format!("{replica} SIGKILLed at the end of the grace period")
        }
        EventKind::ReplicaExited { replica, code } => {
            format!("{replica} exited {}", crate::exit_code::describe(*code))
        }
        EventKind::Exited { code } => {
            let killed = if result
                .observation
                .killed_after_grace(result.scenario.stop.timeout)
            {
                " (SIGKILLed after the grace period)"
            } else {
                ""
            };
            // The grace period's SIGKILL says more than the code's meaning alone.
            if killed.is_empty() {
                format!("exited {}", crate::exit_code::describe(*code))
            } else {
                format!("exited {code}{killed}")
            }
        }
    };
    Some(line)
}

fn seconds(ms: i64) -> String {
    format!("{:.3}s", ms as f64 / 1000.0)
}

fn summary(out: &mut String, results: &RunResults) {
    out.push_str(&summary_line(results));
    out.push('\n');
}

/// `76 passed, 0 failed in 25.1s on docker 20.10.24 (longest scenario 7.3s, builds 401ms)`
/// (the engine when one ran the scenarios), and the names of what failed on the next line.
pub fn summary_line(results: &RunResults) -> String {
    let passed = results.scenarios.iter().filter(|s| s.passed()).count();
    let failed: Vec<&str> = results
        .scenarios
        .iter()
        .filter(|s| !s.passed() && !s.not_delivered() && !s.skipped())
        .map(|s| s.scenario.name.as_str())
        .collect();
    let late: Vec<&str> = results
        .scenarios
        .iter()
        .filter(|s| s.not_delivered())
        .map(|s| s.scenario.name.as_str())
        .collect();
    let on = results
        .engine
        .as_ref()
        .map(|e| format!(" on {} {}", e.kind.name(), e.version))
        .unwrap_or_default();
    // Neither passed nor failed: each skipped or undelivered line says why.
    let skipped = results.scenarios.iter().filter(|s| s.skipped()).count();
    let mut late_count = if skipped > 0 {
        format!(", {skipped} skipped")
    } else {
        String::new()
    };
    if !late.is_empty() {
        late_count.push_str(&format!(", {} not delivered", late.len()));
    }
    let mut line = format!(
        "{passed} passed, {} failed{late_count} in {}{on} (longest scenario {}, builds {})",
        failed.len(),
        duration::format(results.duration),
        duration::format(results.longest_scenario()),
        duration::format(results.build_duration),
    );
    if !failed.is_empty() {
        line.push_str(&format!("\nfailed: {}", failed.join(", ")));
    }
    if !late.is_empty() {
        line.push_str(&format!(
            "\nnot judged, their load not delivered as asked: {}",
            late.join(", ")
        ));
    }
    line
}

/// What the rollout lost, by phase and by replica.
fn rollout_summary(out: &mut String, rollout: &crate::model::observation::RolloutObservation) {
    let outcomes: Vec<String> = rollout
        .lost_by_outcome
        .iter()
        .map(|(outcome, n)| format!("{outcome} {n}"))
        .collect();
    let _ = writeln!(
        out,
        "   rollout: lost {} of {}{}",
        rollout.lost,
        rollout.sent,
        if outcomes.is_empty() {
            String::new()
        } else {
            format!(" ({})", outcomes.join(", "))
        }
    );
    let phases: Vec<String> = rollout
        .by_phase
        .iter()
        .filter(|c| c.phase != RolloutPhase::Unattributed || c.sent > 0)
        .map(|c| format!("{} {}/{}", c.phase.name(), c.lost, c.sent))
        .collect();
    let _ = writeln!(
        out,
        "     by the phase of the replica each went to (lost/sent): {}",
        phases.join(" · ")
    );
    for replica in &rollout.replicas {
        let hook = replica
            .pre_stop
            .as_ref()
            .map(|h| format!(", preStop {}", h.describe()))
            .unwrap_or_default();
        let exit = replica
            .exit_code
            .map_or_else(|| "no exit seen".to_string(), |c| format!("exit {c}"));
        let killed = if replica.killed_ms.is_some() {
            " (SIGKILLed)"
        } else {
            ""
        };
        let ended = if replica.termination_ms.is_some() {
            format!("{hook}, {exit}{killed}")
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "     {}: lost {} of {} routed to it{ended}",
            replica.name, replica.lost, replica.routed
        );
    }
}

/// The stream's counts, overall and by phase, with latencies.
fn load_summary(out: &mut String, load: &crate::model::observation::LoadObservation) {
    let summary = &load.summary;
    let _ = writeln!(
        out,
        "   load ({} requests/s, {} client, vantage {}): {}",
        load.rate,
        load.client,
        load.vantage,
        line::counts(&summary.total)
    );
    for phase in crate::model::load::Phase::ALL {
        let counts_of = summary.phase(phase);
        if counts_of.sent == 0 {
            continue;
        }
        let latency = match phase {
            crate::model::load::Phase::BeforeSignal => summary.latency_before_signal,
            crate::model::load::Phase::Draining => summary.latency_draining,
            crate::model::load::Phase::AfterExit => None,
        };
        let latency = latency
            .map(|p| {
                format!(
                    "; p50 {:.1}ms p99 {:.1}ms max {:.1}ms",
                    p.p50_ms, p.p99_ms, p.max_ms
                )
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "     {:<13} {}{latency}",
            phase.name(),
            line::counts(&counts_of)
        );
    }
    if !summary.told_apart && summary.total.cut_or_not_served > 0 {
        let _ = writeln!(
            out,
            "     cut and not-served are not told apart: only graceful-server logs which requests it received"
        );
    }
    if let Some(lag) = summary.departure_lag {
        let _ = writeln!(
            out,
            "     departure lag p50 {:.1}ms p99 {:.1}ms max {:.1}ms: {}",
            lag.p50_ms,
            lag.p99_ms,
            lag.max_ms,
            if summary.delivery.delivered {
                "delivered as asked"
            } else {
                "NOT delivered as asked"
            }
        );
    }
    if let Some(said) = summary.baseline.as_ref().and_then(line::baseline) {
        let _ = writeln!(out, "     {said}");
    }
}

#[cfg(test)]
mod tests {
    use super::super::stream_fixtures::scenario;
    use super::render_scenario;

    /// The timeline of scenario `name` of the made-up results.
    fn timeline(name: &str) -> String {
        render_scenario(&scenario(name))
    }

    /// `text` on one line: what the timeline wrapped, joined.
    fn unwrapped(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn a_websocket_s_line_is_where_it_ended_with_its_close_frame() {
        let timeline = timeline("ws/graceful");
        // Where it ended, after the signal and before the exit.
        let line = timeline
            .find("0.386s  ◆ open (websocket): closed 1001")
            .expect("the stream's line at its end");
        assert!(timeline.find("0.300s  kill -SIGTERM").expect("the signal") < line);
        assert!(
            line < timeline.find("exited").expect("the exit"),
            "{timeline}"
        );
        insta::with_settings!({filters => vec![(r"\d+ms|\d+(\.\d+)?s\b", "[duration]")]}, {
            insta::assert_snapshot!("websocket_stream_lines", timeline);
        });
    }

    #[test]
    fn a_grpc_call_s_line_gives_its_status_and_both_goaway_frames() {
        let timeline = timeline("grpc/graceful");
        // The frames' times are only in the observation: they are in the call's line, at its end.
        assert!(
            unwrapped(&timeline).contains("1.500s ◆ open (grpc): status OK · 2 received, 2 after the signal · GOAWAY last stream 2^31-1 at 0.320s, GOAWAY last stream 1 at 0.322s (two-step) · 2 PINGs · connection closed at 1.516s"),
            "{timeline}"
        );
        insta::with_settings!({filters => vec![(r"\d+ms|\d+(\.\d+)?s\b", "[duration]")]}, {
            insta::assert_snapshot!("grpc_stream_lines", timeline);
        });
    }
}
