//! The HTML report: one self-contained page (inline CSS and SVG, no script) with the verdict
//! table, a summary, and per scenario its verdict and an SVG timeline of requests, stop and exit
//! (with, on its axis, the load's strip, a rollout's lanes and the streams' lanes).

use std::collections::BTreeMap;

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::evidence::requirement_outcomes;
use super::html_streams;
use super::human::summary_line;
use super::line;
use super::svg_axis::{
    AXIS, GUTTER, Marker, RIGHT, Scale, WIDTH, grid, label_rows, marker_lines, px, seconds, short,
};
use crate::duration;
use crate::model::events::EventKind;
use crate::model::observation::{
    LoadObservation, Observation, ReplicaObservation, RequestObservation, RolloutObservation,
};
use crate::model::outcome::Outcome;
use crate::model::results::{RunResults, ScenarioResult};
use crate::model::rollout::replica_name;
use crate::model::scenario::Target;
use crate::model::verdict::{Met, Requirement};
use crate::procfs::signal_name;
use crate::server_log;

/// Renders `results` as one HTML document that needs nothing else to be read.
pub fn render(results: &RunResults) -> String {
    let verdict = if results.passed() { "pass" } else { "fail" };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "shutdown-harness report" }
                // A constant of this file, not data: it must reach the page unescaped.
                style { (PreEscaped(CSS)) }
            }
            body {
                h1 { "shutdown-harness report" }
                p class={ "summary " (verdict) } { (summary_line(results)) }
                @if let Some(engine) = &results.engine {
                    p.engine {
                        "engine: " (engine.kind.name()) " " (engine.version)
                        " (API " (engine.api_version) ")"
                    }
                }
                (verdict_table(results))
                h2 {
                    "Timelines "
                    span.note {
                        "seconds from the moment the server was ready, one axis per scenario; "
                        "hover a log tick, a column or a lane to read it"
                    }
                }
                (legend(results))
                @for result in &results.scenarios {
                    (scenario_section(result))
                }
            }
        }
    }
    .into_string()
}

/// The verdict table with the columns and legend of the text report's table.
fn verdict_table(results: &RunResults) -> Markup {
    html! {
        table.verdicts {
            thead {
                tr {
                    th { "scenario" } th { "R1" } th { "R2" } th.num { "exit" }
                    th.num { "stop" } th { "sig" } th { "ok" }
                }
            }
            tbody {
                @for result in &results.scenarios {
                    @let observation = &result.observation;
                    tr {
                        td { a href={ "#" (anchor(&result.scenario.name)) } { (result.scenario.name) } }
                        (requirement_cell(result, Requirement::AnswersInFlight))
                        (requirement_cell(result, Requirement::RefusesNew))
                        td.num { (observation.exit_code.map_or("-".to_string(), |c| c.to_string())) }
                        td.num { (observation.stop_duration.map_or("-".to_string(), duration::format)) }
                        td {
                            (match observation.signal_received {
                                Some(true) => "yes",
                                Some(false) => "no",
                                None => "?",
                            })
                        }
                        @if result.passed() { td.met { "yes" } } @else if result.not_delivered() { td { "not delivered" } } @else { td.unmet { "NO" } }
                    }
                }
            }
        }
        p.legend {
            "R1: " (Requirement::AnswersInFlight.statement())
            "; R2: " (Requirement::RefusesNew.statement()) br;
            "sig: the server logged the stop signal (? when the server is not ours)"
        }
    }
}

/// `met: ok`, `NOT met: ok`, `not tested`, as the verdict table words them.
fn requirement_cell(result: &ScenarioResult, which: Requirement) -> Markup {
    html! {
        @match requirement_outcomes(result, which) {
            None => td { "-" },
            Some((Met::Untested(_), _)) => td.untested { "not tested" },
            Some((Met::Yes, evidence)) => td.met { "met: " (evidence) },
            Some((Met::No, evidence)) => td.unmet { "NOT met: " (evidence) },
        }
    }
}

/// The outcome colours and the markers, once for every timeline; a rollout's bands and the
/// balancer's ticks when some scenario has them.
fn legend(results: &RunResults) -> Markup {
    let rollout = results
        .scenarios
        .iter()
        .any(|r| r.observation.rollout.is_some());
    let balancer = results
        .scenarios
        .iter()
        .any(|r| !balancer_lines(&r.observation).is_empty());
    let streams = results
        .scenarios
        .iter()
        .any(|r| !r.observation.streams.is_empty());
    html! {
        ul.legend-keys {
            @for outcome in Outcome::ALL {
                li {
                    svg width="14" height="10" aria-hidden="true" {
                        rect class={ "bar o-" (outcome.name()) } width="14" height="10" rx="2" {}
                    }
                    (outcome.name())
                }
            }
            @for (class, label) in [("stop", "stop issued"), ("signal", "signal sent"),
                                    ("kill", "SIGKILL"), ("exit", "exit")] {
                li {
                    svg width="14" height="12" aria-hidden="true" {
                        line class={ "marker " (class) } x1="7" x2="7" y1="0" y2="12" {}
                    }
                    (label)
                }
            }
            li {
                svg width="14" height="12" aria-hidden="true" {
                    rect.log width="3" height="12" x="5" {}
                }
                "server log line"
            }
            @if balancer {
                li.balancerline {
                    svg width="14" height="12" aria-hidden="true" {
                        rect.log width="3" height="12" x="5" {}
                    }
                    "balancer log line"
                }
            }
            @if streams { (html_streams::legend_keys()) }
            @if rollout {
                @for (class, label) in [("bar o-ok redispatched", "redispatched to the replica"),
                                        ("life", "replica running"),
                                        ("pool", "in the balancer's pool"),
                                        ("pool stale", "in the pool after its exit")] {
                    li {
                        svg width="14" height="10" aria-hidden="true" {
                            rect class=(class) width="14" height="10" rx="2" {}
                        }
                        (label)
                    }
                }
            }
        }
    }
}

fn scenario_section(result: &ScenarioResult) -> Markup {
    let scenario = &result.scenario;
    let observation = &result.observation;
    let passed = result.passed();
    // One axis for every drawing of the section.
    let markers = markers(result);
    let scale = covering(result, &markers);
    html! {
        section.scenario id=(anchor(&scenario.name)) data-scenario=(scenario.name) {
            h3 {
                @if passed { span.badge.pass { "passed" } } @else if result.not_delivered() { span.badge { "not delivered" } } @else { span.badge.fail { "failed" } }
                " " (scenario.name)
            }
            p.target { (describe_target(result)) }
            @if let Some(pid1) = &observation.pid1 {
                p.pid1 {
                    "PID 1: " code { (pid1.command) }
                    (if pid1.handles_stop_signal { " (handles " } else { " (does not handle " })
                    (scenario.stop.signal) ")"
                }
            }
            @if let Some(reason) = &scenario.reason {
                p.reason { "why: " (reason) }
            }
            ul.requirements {
                @for check in &result.verdict.requirements {
                    li {
                        (check.requirement.statement()) ": "
                        @match check.met {
                            Met::Yes => span.met { "met" },
                            Met::No => span.unmet { "NOT met" },
                            Met::Untested(_) => span.untested { "untested" },
                        }
                        " (" (check.evidence) ")"
                    }
                }
            }
            @if let Some(error) = &result.error {
                p.error { "error: " (error.to_string()) }
            }
            @if let Some(not_delivered) = &result.verdict.not_delivered {
                p { "Not judged: " (not_delivered.to_string()) }
            }
            @if !result.verdict.failures.is_empty() {
                ul.failures {
                    @for failure in &result.verdict.failures { li { (failure) } }
                }
            }
            (timeline(result, &markers, &scale))
            (html_streams::stream_lanes(observation, &markers, &scale, &scenario.name))
            @if let Some(load) = &observation.load {
                (load_strip(load, &markers, &scale, &scenario.name))
            }
            @if let Some(rollout) = &observation.rollout {
                (rollout_lanes(rollout, &balancer_lines(observation), &scale, &scenario.name))
            }
        }
    }
}

/// What was run, in one line.
fn describe_target(result: &ScenarioResult) -> String {
    let scenario = &result.scenario;
    let grace = duration::format(scenario.stop.timeout);
    let signal = scenario.stop.signal;
    match &scenario.target {
        Target::Container(spec) => {
            let image = result
                .observation
                .image
                .as_deref()
                .unwrap_or("image not built");
            let init = if spec.init { ", --init" } else { "" };
            format!(
                "{} on {} ({image}{init}), stop signal {signal}, grace {grace}",
                spec.variant, spec.base
            )
        }
        Target::Runtime(spec) => {
            let image = result
                .observation
                .image
                .as_deref()
                .unwrap_or("image not forged");
            let init = if spec.init { ", --init" } else { "" };
            format!(
                "{} ({image}{init}), stop signal {signal}, grace {grace}",
                spec.runtime
            )
        }
        Target::Image(spec) => {
            let init = if spec.init { ", --init" } else { "" };
            format!(
                "image {} (port {}{init}), stop signal {signal}, grace {grace}",
                spec.image, spec.port
            )
        }
        Target::Running(spec) => format!(
            "container {} of {} (port {}), stop signal {signal}, grace {grace}",
            spec.container, spec.image, spec.port
        ),
        Target::Process => format!(
            "bare process, {} server, {signal} after {}",
            scenario.server.mode,
            duration::format(scenario.stop.at)
        ),
    }
}

/// An id for a scenario's section: its name, which may hold `/` (valid in HTML ids) but not
/// whitespace.
fn anchor(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| if c.is_whitespace() { '-' } else { c })
        .collect();
    format!("scenario-{name}")
}

// The timeline's own geometry (the shared one is in `svg_axis`), in SVG user units.
const ROW: f64 = 24.0;
const BAR: f64 = 14.0;
const LABEL_ROW: f64 = 16.0;
const LOG_LANE: f64 = 22.0;

/// The moments marked across a scenario's drawings, in time order: the stop, the signals, the
/// exit, and a rollout's steps.
fn markers(result: &ScenarioResult) -> Vec<Marker> {
    let observation = &result.observation;
    let mut markers = Vec::new();
    if let Some(ms) = observation.stop_issued_ms {
        let label = match result.scenario.target {
            Target::Process => format!("{} sent", result.scenario.stop.signal),
            _ => "docker stop".to_string(),
        };
        markers.push(Marker {
            ms,
            class: "stop",
            label,
        });
    }
    let mut signals = observation.timeline.iter().filter_map(|e| match e.kind {
        EventKind::SignalSent { signal } => Some((e.ms, signal)),
        EventKind::StopBegan { signal } => Some((e.ms, signal.number())),
        _ => None,
    });
    if let Some((ms, signal)) = signals.next() {
        markers.push(Marker {
            ms,
            class: "signal",
            label: format!("{} sent", signal_name(signal)),
        });
    }
    // The engine's second kill event is the SIGKILL at the end of the grace period.
    if let Some((ms, _)) = signals.find(|(_, signal)| *signal == 9) {
        markers.push(Marker {
            ms,
            class: "kill",
            label: "SIGKILL".to_string(),
        });
    }
    for event in &observation.timeline {
        // A rollout's steps, each replica's by name; label rows keep them apart.
        let Some((class, label)) = step(&event.kind) else {
            continue;
        };
        markers.push(Marker {
            ms: event.ms,
            class,
            label,
        });
    }
    markers.sort_by_key(|m| m.ms);
    markers
}

/// The marker of an exit or of a rollout's step: its class and label; None for other events.
/// A replica's start and entry into the pool are drawn in its lane only.
fn step(kind: &EventKind) -> Option<(&'static str, String)> {
    Some(match kind {
        EventKind::Exited { code } => ("exit", format!("exit {code}")),
        EventKind::TerminationBegan { replica } => ("stop", format!("{replica} terminating")),
        EventKind::PreStopEnded { replica, outcome } => (
            "stop",
            match outcome {
                crate::model::rollout::HookOutcome::Done => format!("{replica} preStop done"),
                _ => format!("{replica} preStop failed"),
            },
        ),
        EventKind::EndpointRemoved { replica } => ("stop", format!("{replica} out of pool")),
        EventKind::ReplicaSignalled { replica, signal } => {
            ("signal", format!("{replica} {signal}"))
        }
        EventKind::ReplicaKilled { replica } => ("kill", format!("{replica} SIGKILL")),
        EventKind::ReplicaExited { replica, code } => ("exit", format!("{replica} exit {code}")),
        _ => return None,
    })
}

/// The axis that holds everything drawn of `result`: the timeline's events, the requests,
/// the `markers`, every request of its load and rollout from when it was due to its
/// outcome, and all that its streams' lanes draw.
fn covering(result: &ScenarioResult, markers: &[Marker]) -> Scale {
    let observation = &result.observation;
    let events = observation.timeline.iter().map(|e| e.ms);
    let requests = observation
        .requests
        .iter()
        .flat_map(|r| [r.sent_ms, r.done_ms]);
    let load = observation.load.iter().flat_map(|load| {
        load.requests.iter().flat_map(|r| {
            let record = &r.record;
            [record.sent_us, record.started_us, record.done_us]
                .map(|us| load_ms(load.started_ms, us))
        })
    });
    let rollout = observation
        .rollout
        .iter()
        .flat_map(|rollout| rollout.requests.iter().flat_map(|r| [r.sent_ms, r.done_ms]));
    let (lo, hi) = events
        .chain(requests)
        .chain(markers.iter().map(|m| m.ms))
        .chain(load)
        .chain(rollout)
        .chain(html_streams::moments(observation))
        .fold((0, 0), |(lo, hi), ms| (lo.min(ms), hi.max(ms)));
    Scale::spanning(lo, hi)
}

/// A load record's time, µs from the stream's start, in ms from ready: rounded down, as the
/// fold places a rollout's requests, so that a request falls in the same bucket everywhere.
fn load_ms(stream_started_ms: i64, us: u32) -> i64 {
    stream_started_ms + i64::from(us / 1000)
}

/// The timeline: the `markers` with their labels above the plot, a row per request, the
/// server's log and (when there is one) the balancer's, on `scale`.
fn timeline(result: &ScenarioResult, markers: &[Marker], scale: &Scale) -> Markup {
    let observation = &result.observation;
    let requests = &observation.requests;
    let xs: Vec<f64> = markers.iter().map(|m| scale.x(m.ms)).collect();
    let labels: Vec<&str> = markers.iter().map(|m| m.label.as_str()).collect();
    let rows = label_rows(&xs, &labels);
    let label_rows = rows.iter().max().map_or(0, |r| r + 1);
    let plot_top = 4.0 + label_rows as f64 * LABEL_ROW + 6.0;
    let log_top = plot_top + requests.len() as f64 * ROW;
    let balancer = balancer_lines(observation);
    let balancer_top = log_top + LOG_LANE;
    let plot_bottom = balancer_top + if balancer.is_empty() { 0.0 } else { LOG_LANE };
    let height = plot_bottom + AXIS;
    let logs: Vec<(i64, &str)> = observation
        .timeline
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ServerLog { line } => Some((e.ms, server_log::without_timestamp(line))),
            _ => None,
        })
        .collect();
    // Shapes are written `{}`: maud's `;` makes `<rect ...>` with no `/>`, which an HTML parser
    // leaves open inside SVG, swallowing all that follows.
    html! {
        svg.timeline xmlns="http://www.w3.org/2000/svg" width=(px(WIDTH)) height=(px(height))
            viewBox={ "0 0 " (px(WIDTH)) " " (px(height)) } role="img"
            aria-label={ "timeline of " (result.scenario.name) } {
            // Grid and axis first, so that everything else is drawn over them.
            (grid(scale, plot_top, plot_bottom))
            @for (i, request) in requests.iter().enumerate() {
                (request_row(request, plot_top + i as f64 * ROW, scale))
            }
            (log_lane("server log", "logline", &logs, log_top, scale))
            @if !balancer.is_empty() {
                (log_lane("balancer log", "balancerline", &balancer, balancer_top, scale))
            }
            @for ((marker, x), row) in markers.iter().zip(&xs).zip(&rows) {
                @let baseline = 4.0 + (*row as f64 + 1.0) * LABEL_ROW - 4.0;
                g class={ "mark " (marker.class) } {
                    title { (marker.title()) }
                    line class={ "marker " (marker.class) } x1=(px(*x)) x2=(px(*x))
                        y1=(px(baseline - 10.0)) y2=(px(plot_bottom)) {}
                    text.marker-label x=(px(x + 3.0)) y=(px(baseline)) { (marker.label) }
                }
            }
        }
    }
}

/// One request of the timeline: its name, a bar from sent to done in its outcome's colour, and
/// the outcome written after it.
fn request_row(request: &RequestObservation, y: f64, scale: &Scale) -> Markup {
    let x1 = scale.x(request.sent_ms);
    // A refused connect takes no time: keep it visible.
    let x2 = scale.x(request.done_ms).max(x1 + 3.0);
    let word = request.outcome.name();
    html! {
        g.request {
            title {
                (request.name) ": " (request.describe()) ", sent at "
                (seconds(request.sent_ms)) ", done at " (seconds(request.done_ms))
            }
            text.name x=(px(GUTTER - 8.0)) y=(px(y + ROW / 2.0 + 4.0)) { (short(&request.name)) }
            rect class={ "bar o-" (word) } data-outcome=(word) x=(px(x1))
                y=(px(y + (ROW - BAR) / 2.0)) width=(px(x2 - x1)) height=(px(BAR)) rx="2" {}
            text.outcome x=(px(x2 + 6.0)) y=(px(y + ROW / 2.0 + 4.0)) { (word) }
        }
    }
}

/// A lane of log lines at `top`: a tick per line, whose hover text is the line; `class` names
/// each tick's group (`logline` for the server's, `balancerline` for the balancer's).
fn log_lane(name: &str, class: &str, lines: &[(i64, &str)], top: f64, scale: &Scale) -> Markup {
    html! {
        text.name x=(px(GUTTER - 8.0)) y=(px(top + LOG_LANE / 2.0 + 4.0)) { (name) }
        @for (ms, line) in lines {
            @let x = scale.x(*ms);
            g class=(class) {
                title { (seconds(*ms)) "  " (line) }
                // A wider invisible target than the tick itself, to hover it easily.
                rect.hit x=(px(x - 4.0)) y=(px(top + 3.0)) width="8" height=(px(LOG_LANE - 6.0)) {}
                rect.log x=(px(x - 1.0)) y=(px(top + 5.0)) width="2" height=(px(LOG_LANE - 10.0)) {}
            }
        }
    }
}

/// Requests counted by outcome: one time bucket's, or a lane's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tally([u64; Outcome::ALL.len()]);

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        if let Some(i) = Outcome::ALL.iter().position(|o| *o == outcome)
            && let Some(n) = self.0.get_mut(i)
        {
            *n += 1;
        }
    }

    /// Each outcome with its count, ok first and then the failures in the legend's order: the
    /// order a column is stacked in from the bottom.
    fn counts(&self) -> impl Iterator<Item = (Outcome, u64)> + '_ {
        Outcome::ALL.into_iter().zip(self.0).filter(|(_, n)| *n > 0)
    }

    fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// This tally and `other` together.
    fn and(&self, other: &Tally) -> Tally {
        let mut both = *self;
        for (n, m) in both.0.iter_mut().zip(other.0) {
            *n += m;
        }
        both
    }

    /// Every request that was not answered in full.
    fn lost(&self) -> u64 {
        self.counts()
            .filter(|(o, _)| *o != Outcome::Ok)
            .map(|(_, n)| n)
            .sum()
    }

    /// `http-error 33, reset 2`: the failures alone.
    fn failures(&self) -> String {
        let parts: Vec<String> = self
            .counts()
            .filter(|(o, _)| *o != Outcome::Ok)
            .map(|(o, n)| format!("{o} {n}"))
            .collect();
        parts.join(", ")
    }
}

/// One time bucket's requests: those that came straight, and those a balancer redispatched
/// there after its retries on another replica (a rollout's lanes only: they went out earlier,
/// to that other replica, and are drawn paler).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Bucket {
    direct: Tally,
    redispatched: Tally,
}

impl Bucket {
    fn all(&self) -> Tally {
        self.direct.and(&self.redispatched)
    }
}

/// Requests at `ms` from ready with their outcomes, and whether each was redispatched, counted
/// in buckets of `width` ms on the axis (bucket k holds `k * width` up to `(k + 1) * width`), in
/// time order.
fn buckets(requests: impl Iterator<Item = (i64, Outcome, bool)>, width: i64) -> Vec<(i64, Bucket)> {
    let mut buckets: BTreeMap<i64, Bucket> = BTreeMap::new();
    for (ms, outcome, redispatched) in requests {
        let bucket = buckets.entry(ms.div_euclid(width.max(1))).or_default();
        if redispatched {
            bucket.redispatched.add(outcome);
        } else {
            bucket.direct.add(outcome);
        }
    }
    buckets
        .into_iter()
        .map(|(k, bucket)| (k * width, bucket))
        .collect()
}

/// One time bucket's column from `start` ms, `width` ms wide: its requests stacked from
/// `bottom` by outcome in the legend's colours (the redispatched ones above, paler), `height`
/// px for `peak` requests, with its counts on hover.
fn column(
    scale: &Scale,
    start: i64,
    width: i64,
    bucket: &Bucket,
    bottom: f64,
    height: f64,
    peak: u64,
) -> Markup {
    let left = scale.x(start);
    let right = scale.x(start + width);
    // A gap between columns while they are wide enough to spare one.
    let gap = ((right - left) * 0.25).min(1.0);
    let unit = height / peak.max(1) as f64;
    let mut stacked = Vec::new();
    let mut top = bottom;
    for (tally, class) in [
        (&bucket.direct, ""),
        (&bucket.redispatched, " redispatched"),
    ] {
        for (outcome, n) in tally.counts() {
            let h = n as f64 * unit;
            top -= h;
            stacked.push((outcome, class, n, top, h));
        }
    }
    let all = bucket.all();
    let failures = all.failures();
    let redispatched = bucket.redispatched.total();
    html! {
        g.bucket data-ms=(start) data-sent=(all.total()) data-lost=(all.lost()) {
            title {
                (seconds(start)) " to " (seconds(start + width)) ": " (all.total()) " sent"
                @if !failures.is_empty() { ", " (all.lost()) " lost (" (failures) ")" }
                @if redispatched > 0 {
                    "; " (redispatched)
                    " of them redispatched here after retries on another replica"
                }
            }
            @for (outcome, class, n, y, h) in stacked {
                rect class={ "bar o-" (outcome.name()) (class) } data-outcome=(outcome.name())
                    data-count=(n) x=(px(left)) y=(px(y)) width=(px((right - left - gap).max(0.5)))
                    height=(px(h)) {}
            }
        }
    }
}

/// `100 ms`, `1 s`: a bucket's width in words.
fn bucket_words(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{} s", ms / 1000)
    }
}

/// The load's strip: its requests in time buckets on the section's axis, by when each really
/// went out (as its phase is placed), stacked by outcome; under them, how many were in
/// flight (sent, no outcome yet); the timeline's markers across both; its counts above it. Each
/// second of the stream (by when its requests were due, as the JSON's `per_second`) can be
/// hovered for its counts.
fn load_strip(load: &LoadObservation, markers: &[Marker], scale: &Scale, name: &str) -> Markup {
    const HEIGHT: f64 = 96.0;
    const TOP: f64 = 8.0;
    let plot_bottom = TOP + HEIGHT;
    let in_flight_top = plot_bottom + 6.0;
    let axis = in_flight_top + IN_FLIGHT;
    let height = axis + AXIS;
    let width = scale.bucket_ms();
    let went = load.requests.iter().map(|r| {
        (
            load_ms(load.started_ms, r.record.started_us),
            r.record.outcome,
            false,
        )
    });
    let buckets = buckets(went, width);
    let peak = buckets
        .iter()
        .map(|(_, b)| b.all().total())
        .max()
        .unwrap_or(0)
        .max(1);
    let spans = load.requests.iter().map(|r| {
        let record = &r.record;
        (
            load_ms(load.started_ms, record.started_us),
            load_ms(load.started_ms, record.done_us),
        )
    });
    let in_flight = in_flight(spans, width);
    html! {
        p.load-counts {
            "load: " (load.rate) " requests/s, " (load.client) " client, vantage " (load.vantage) " — "
            (line::counts(&load.summary.total))
        }
        svg.load-strip xmlns="http://www.w3.org/2000/svg" width=(px(WIDTH)) height=(px(height))
            viewBox={ "0 0 " (px(WIDTH)) " " (px(height)) } role="img"
            aria-label={ "requests per " (bucket_words(width)) " of " (name) } {
            (grid(scale, TOP, axis))
            // The columns' baseline; the axis is under the band of requests in flight.
            line.axis x1=(px(GUTTER)) x2=(px(WIDTH - RIGHT)) y1=(px(plot_bottom))
                y2=(px(plot_bottom)) {}
            text.name x=(px(GUTTER - 8.0)) y=(px(TOP + 12.0)) { "requests" }
            text.name x=(px(GUTTER - 8.0)) y=(px(TOP + 27.0)) { "per " (bucket_words(width)) }
            text.name.quiet x=(px(GUTTER - 8.0)) y=(px(TOP + 42.0)) { (peak) " max" }
            @for second in &load.summary.per_second {
                @let start = load.started_ms + second.second as i64 * 1000;
                @let x1 = scale.x(start);
                g.second data-second=(second.second) data-ok=(second.ok)
                    data-failed=(second.failed) {
                    title {
                        "second " (second.second) " of the stream (due then): "
                        (second.ok) " ok, " (second.failed) " failed"
                    }
                    rect.hit x=(px(x1)) y=(px(TOP)) width=(px(scale.x(start + 1000) - x1))
                        height=(px(HEIGHT)) {}
                }
            }
            @for (start, tally) in &buckets {
                (column(scale, *start, width, tally, plot_bottom, HEIGHT, peak))
            }
            (in_flight_band(&in_flight, width, scale, in_flight_top))
            (marker_lines(markers, scale, TOP - 4.0, axis))
        }
    }
}

/// The height of the strip's band of requests in flight.
const IN_FLIGHT: f64 = 26.0;

/// Requests that went out at `start` ms and had their outcome at `done` ms, counted at the end
/// of each bucket `width` ms wide while in flight: (bucket start, count), every bucket
/// from the first request's to the last outcome's, in time order.
fn in_flight(spans: impl Iterator<Item = (i64, i64)>, width: i64) -> Vec<(i64, u64)> {
    let width = width.max(1);
    // +1 in the bucket it went out in, -1 in the bucket its outcome came in: the running sum
    // is what is still in flight at each bucket's end.
    let mut changes: BTreeMap<i64, i64> = BTreeMap::new();
    for (start, done) in spans {
        *changes.entry(start.div_euclid(width)).or_default() += 1;
        *changes
            .entry(done.max(start).div_euclid(width))
            .or_default() -= 1;
    }
    let (Some(first), Some(last)) = (
        changes.keys().next().copied(),
        changes.keys().next_back().copied(),
    ) else {
        return Vec::new();
    };
    let mut count = 0i64;
    (first..=last)
        .map(|k| {
            count += changes.get(&k).copied().unwrap_or(0);
            (k * width, count.max(0) as u64)
        })
        .collect()
}

/// The strip's band at `top` of the requests `in_flight`, an area as high as their most: it
/// shows how long the last outcomes took, which can stretch the axis far past the stream (a
/// balancer retrying a gone replica's address answers 503 only after its connect timeouts).
fn in_flight_band(in_flight: &[(i64, u64)], width: i64, scale: &Scale, top: f64) -> Markup {
    let most = in_flight.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let bottom = top + IN_FLIGHT;
    let y = |n: u64| bottom - n as f64 / most.max(1) as f64 * (IN_FLIGHT - 2.0);
    let mut path = String::new();
    if let (Some((first, _)), Some((last, _))) = (in_flight.first(), in_flight.last()) {
        path.push_str(&format!("M{},{}", px(scale.x(*first)), px(bottom)));
        for (start, n) in in_flight {
            let h = px(y(*n));
            let (x1, x2) = (px(scale.x(*start)), px(scale.x(start + width)));
            path.push_str(&format!(" L{x1},{h} L{x2},{h}"));
        }
        path.push_str(&format!(" L{},{} Z", px(scale.x(last + width)), px(bottom)));
    }
    html! {
        text.name x=(px(GUTTER - 8.0)) y=(px(top + 11.0)) { "in flight" }
        text.name.quiet x=(px(GUTTER - 8.0)) y=(px(top + 24.0)) { (most) " max" }
        g.in-flight data-most=(most) {
            title {
                "requests in flight (sent, no outcome yet) at the end of each "
                (bucket_words(width)) ": " (most) " at most"
            }
            path.in-flight d=(path) {}
        }
    }
}

// A rollout's lanes, one per replica, in the order they started.
const LANE: f64 = 34.0;
const LANE_GAP: f64 = 4.0;
/// The lane's band of bars ends this far above the lane's bottom, leaving room for its pool
/// band.
const LANE_FOOT: f64 = 5.0;
/// Above the bars: room for the balancer's ticks.
const LANE_HEAD: f64 = 4.0;

/// One lane of a rollout: the requests the balancer routed to a replica (or to none), in time
/// buckets.
struct Lane<'a> {
    name: &'a str,
    /// None for the lane of requests the balancer's log names no replica for.
    replica: Option<&'a ReplicaObservation>,
    buckets: Vec<(i64, Bucket)>,
    tally: Tally,
    /// Of them, redispatched to it after retries on another replica.
    redispatched: u64,
}

impl Lane<'_> {
    /// `r1: 98 routed, 33 lost (http-error 33)`.
    fn title(&self) -> String {
        let tally = &self.tally;
        let mut title = match self.replica {
            Some(_) => format!(
                "{}: {} routed, {} lost",
                self.name,
                tally.total(),
                tally.lost()
            ),
            None => format!(
                "{}: {} the balancer's log names no replica for, {} lost",
                self.name,
                tally.total(),
                tally.lost()
            ),
        };
        if tally.lost() > 0 {
            title.push_str(&format!(" ({})", tally.failures()));
        }
        if self.redispatched > 0 {
            title.push_str(&format!(
                "; {} of them redispatched here after retries on another replica",
                self.redispatched
            ));
        }
        title
    }
}

/// The lanes of `rollout`, in buckets `width` ms wide: a lane per replica, then one of the
/// requests no replica is known for, when there are any.
fn lanes(rollout: &RolloutObservation, width: i64) -> Vec<Lane<'_>> {
    let mut lanes: Vec<Lane> = rollout
        .replicas
        .iter()
        .map(|replica| lane(rollout, replica.name.as_str(), Some(replica), width))
        .collect();
    if rollout.requests.iter().any(|r| r.replica.is_none()) {
        lanes.push(lane(rollout, "unattributed", None, width));
    }
    lanes
}

/// The lane `name` of `replica` (None: of the requests no replica is known for).
fn lane<'a>(
    rollout: &'a RolloutObservation,
    name: &'a str,
    replica: Option<&'a ReplicaObservation>,
    width: i64,
) -> Lane<'a> {
    let mine = || {
        rollout
            .requests
            .iter()
            .filter(move |r| r.replica.as_deref() == replica.map(|r| r.name.as_str()))
    };
    let mut tally = Tally::default();
    for request in mine() {
        tally.add(request.outcome);
    }
    Lane {
        name,
        replica,
        buckets: buckets(
            mine().map(|r| (r.sent_ms, r.outcome, r.redispatched)),
            width,
        ),
        tally,
        redispatched: mine().filter(|r| r.redispatched).count() as u64,
    }
}

/// The replica a balancer line names by its slot: `Server replicas/s3 is UP/READY ...` names
/// `r3` (the harness puts replica rN in slot sN).
fn balancer_slot(line: &str) -> Option<String> {
    let (_, rest) = line.split_once("Server ")?;
    let server = rest.split_whitespace().next()?;
    let slot = server.rsplit('/').next()?;
    let n: u8 = slot.strip_prefix('s')?.parse().ok()?;
    Some(replica_name(n))
}

/// The balancer's lines other than its requests' (a server going up, down, into maintenance),
/// ms from ready.
fn balancer_lines(observation: &Observation) -> Vec<(i64, &str)> {
    observation
        .timeline
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::BalancerLog { line } => Some((e.ms, line.as_str())),
            _ => None,
        })
        .collect()
}

/// A rollout's lanes under the load's strip, on the section's axis: per replica, the requests
/// the balancer routed to it in time buckets by when they went out, stacked by outcome; the
/// replica's life, its time in the balancer's pool and its steps; the balancer's lines that
/// name it.
fn rollout_lanes(
    rollout: &RolloutObservation,
    balancer: &[(i64, &str)],
    scale: &Scale,
    name: &str,
) -> Markup {
    const TOP: f64 = 6.0;
    let width = scale.bucket_ms();
    let lanes = lanes(rollout, width);
    let peak = lanes
        .iter()
        .flat_map(|lane| lane.buckets.iter().map(|(_, b)| b.all().total()))
        .max()
        .unwrap_or(0)
        .max(1);
    let bottom = TOP + lanes.len() as f64 * (LANE + LANE_GAP);
    let height = bottom + AXIS;
    let by_outcome: Vec<String> = rollout
        .lost_by_outcome
        .iter()
        .map(|(outcome, n)| format!("{outcome} {n}"))
        .collect();
    html! {
        p.rollout-counts {
            "rollout: " (rollout.sent) " requests sent, " (rollout.lost) " lost"
            @if !by_outcome.is_empty() { " (" (by_outcome.join(", ")) ")" }
            @if rollout.unattributed > 0 {
                ", " (rollout.unattributed) " not attributed to a replica"
            }
            span.note {
                " — per replica, the requests the balancer routed to it per "
                (bucket_words(width))
                " (by when they went out; " (peak) " at most), its life and its time in the pool"
            }
        }
        svg.rollout-lanes xmlns="http://www.w3.org/2000/svg" width=(px(WIDTH)) height=(px(height))
            viewBox={ "0 0 " (px(WIDTH)) " " (px(height)) } role="img"
            aria-label={ "requests per replica of " (name) } {
            (grid(scale, TOP, bottom))
            @for (i, lane) in lanes.iter().enumerate() {
                @let top = TOP + i as f64 * (LANE + LANE_GAP);
                (lane_markup(lane, top, scale, width, peak, balancer))
            }
        }
    }
}

/// One lane at `top`: its name and counts in the gutter, the replica's life and pool bands, its
/// columns (`peak` requests fill the lane), its steps as faint lines and the balancer's lines
/// that name it as ticks.
fn lane_markup(
    lane: &Lane<'_>,
    top: f64,
    scale: &Scale,
    width: i64,
    peak: u64,
    balancer: &[(i64, &str)],
) -> Markup {
    let floor = top + LANE - LANE_FOOT;
    let ticks: Vec<&(i64, &str)> = match lane.replica {
        Some(replica) => balancer
            .iter()
            .filter(|(_, line)| balancer_slot(line).as_deref() == Some(replica.name.as_str()))
            .collect(),
        None => Vec::new(),
    };
    html! {
        g.lane data-lane=(lane.name) data-replica=[lane.replica.map(|r| r.name.as_str())]
            data-routed=(lane.tally.total()) data-lost=(lane.tally.lost()) {
            title { (lane.title()) }
            text.name x=(px(GUTTER - 8.0)) y=(px(top + 14.0)) { (lane.name) }
            text.name.quiet x=(px(GUTTER - 8.0)) y=(px(top + 28.0)) {
                (lane.tally.lost()) " of " (lane.tally.total()) " lost"
            }
            @if let Some(replica) = lane.replica { (bands(replica, top, scale)) }
            @for (start, tally) in &lane.buckets {
                (column(scale, *start, width, tally, floor, LANE - LANE_FOOT - LANE_HEAD, peak))
            }
            @if let Some(replica) = lane.replica {
                @for (ms, class, words) in replica_steps(replica) {
                    @let x = px(scale.x(ms));
                    g class={ "step " (class) } {
                        title { (replica.name) " " (words) " at " (seconds(ms)) }
                        line class={ "marker " (class) } x1=(x) x2=(x) y1=(px(top))
                            y2=(px(top + LANE)) {}
                    }
                }
            }
            @for (ms, line) in ticks {
                @let x = scale.x(*ms);
                g.balancerline {
                    title { (seconds(*ms)) "  balancer: " (line) }
                    rect.hit x=(px(x - 4.0)) y=(px(top)) width="8" height=(px(LANE)) {}
                    rect.log x=(px(x - 1.0)) y=(px(top)) width="2" height="8" {}
                }
            }
        }
    }
}

/// A replica's life (from its start to its exit) behind its lane, and along the lane's foot its
/// time in the balancer's pool, the part after its exit apart: the balancer still sends to a
/// replica that is gone.
fn bands(replica: &ReplicaObservation, top: f64, scale: &Scale) -> Markup {
    let from = replica
        .started_ms
        .or(replica.in_pool_ms)
        .unwrap_or(scale.lo);
    let exit = replica.exit_ms.unwrap_or(scale.hi);
    let pool = replica.in_pool_ms.map(|joined| {
        let left = replica.endpoint_removed_ms.unwrap_or(scale.hi);
        (
            joined,
            left.min(exit),
            (left > exit).then_some((exit, left)),
        )
    });
    let band = |from: i64, to: i64| {
        (
            px(scale.x(from)),
            px((scale.x(to) - scale.x(from)).max(1.0)),
        )
    };
    html! {
        @let (x, w) = band(from, exit);
        rect.life x=(x) y=(px(top)) width=(w) height=(px(LANE - 4.0)) {}
        @if let Some((joined, until, stale)) = pool {
            @let (x, w) = band(joined, until);
            rect.pool x=(x) y=(px(top + LANE - 3.0)) width=(w) height="3" {}
            @if let Some((exit, left)) = stale {
                @let (x, w) = band(exit, left);
                rect.pool.stale x=(x) y=(px(top + LANE - 3.0)) width=(w) height="3" {}
            }
        }
    }
}

/// A replica's steps in time order: when, the marker's class, and what happened.
fn replica_steps(replica: &ReplicaObservation) -> Vec<(i64, &'static str, String)> {
    let pre_stop = replica
        .pre_stop
        .as_ref()
        .map(|hook| format!("preStop {}", hook.describe()));
    let exit = replica
        .exit_code
        .map_or("exited".to_string(), |code| format!("exit {code}"));
    let mut steps: Vec<(i64, &'static str, String)> = [
        (replica.started_ms, "start", Some("started".to_string())),
        (replica.in_pool_ms, "start", Some("in the pool".to_string())),
        (
            replica.termination_ms,
            "stop",
            Some("terminating".to_string()),
        ),
        (replica.pre_stop_ended_ms, "stop", pre_stop),
        (replica.signal_ms, "signal", Some("signalled".to_string())),
        (replica.killed_ms, "kill", Some("SIGKILL".to_string())),
        (replica.exit_ms, "exit", Some(exit)),
        (
            replica.endpoint_removed_ms,
            "stop",
            Some("out of the pool".to_string()),
        ),
    ]
    .into_iter()
    .filter_map(|(ms, class, words)| Some((ms?, class, words?)))
    .collect();
    steps.sort_by_key(|(ms, _, _)| *ms);
    steps
}

const CSS: &str = r#"
:root { color-scheme: light; }
body { font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2933;
  background: #f7f8fa; margin: 0; padding: 20px 32px; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 22px 0 4px; }
h3 { font-size: 14px; margin: 0 0 6px; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
p { margin: 4px 0; }
.summary { white-space: pre-line; font-weight: 600; }
.summary.pass { color: #1e6b34; }
.summary.fail { color: #a61b1b; }
.engine, .note, .legend, .target { color: #52606d; }
h2 .note { font-size: 13px; font-weight: normal; margin-left: 6px; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; }
table.verdicts { border-collapse: collapse; margin: 12px 0 6px; background: #fff;
  border: 1px solid #e4e7eb; }
table.verdicts th, table.verdicts td { padding: 4px 12px; text-align: left;
  border-bottom: 1px solid #e4e7eb; white-space: nowrap; }
table.verdicts th { background: #eef0f3; font-weight: 600; }
table.verdicts td:first-child { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; }
table.verdicts a { color: inherit; text-decoration: none; }
table.verdicts a:hover { text-decoration: underline; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
table.verdicts .num { text-align: right; }
.met { color: #1e6b34; }
.unmet { color: #a61b1b; font-weight: 600; }
.untested { color: #7b8794; }
ul.legend-keys { list-style: none; padding: 0; margin: 8px 0 4px; display: flex; flex-wrap: wrap;
  gap: 6px 18px; color: #3e4c59; }
ul.legend-keys li { display: flex; align-items: center; gap: 6px; }
section.scenario { background: #fff; border: 1px solid #e4e7eb; border-radius: 6px;
  padding: 12px 18px 10px; margin: 12px 0; }
.badge { font-family: system-ui, sans-serif; font-size: 12px; font-weight: 600; padding: 1px 8px;
  border-radius: 10px; vertical-align: 1px; }
.badge.pass { background: #e3f2e7; color: #1e6b34; }
.badge.fail { background: #fbe5e3; color: #a61b1b; }
ul.requirements, ul.failures { margin: 4px 0; padding-left: 20px; }
ul.failures, .error { color: #a61b1b; }
svg.timeline { display: block; margin-top: 6px; overflow: visible; max-width: 100%; height: auto; }
svg text { font-size: 12px; fill: #3e4c59; }
text.name { text-anchor: end; fill: #1f2933; }
text.tick { text-anchor: middle; fill: #7b8794; font-size: 11px; }
text.outcome { paint-order: stroke; stroke: #fff; stroke-width: 3px; fill: #1f2933; }
line.grid { stroke: #eef0f3; }
line.axis { stroke: #9aa5b1; }
.bar.o-ok { fill: #4e9a6b; }
.bar.o-http-error { fill: #e0913a; }
.bar.o-truncated { fill: #9b6bc2; }
.bar.o-empty-reply { fill: #d0668a; }
.bar.o-reset { fill: #c0392b; }
.bar.o-refused { fill: #5b7fb5; }
.bar.o-timeout { fill: #8a939e; }
rect.log { fill: #52606d; }
rect.hit { fill: transparent; }
g.logline:hover rect.log { fill: #1f2933; }
line.marker { stroke-width: 1.5; }
line.marker.stop { stroke: #52606d; stroke-dasharray: 5 3; }
line.marker.signal { stroke: #52606d; stroke-dasharray: 2 2; }
line.marker.kill { stroke: #7f1d1d; stroke-width: 2; }
line.marker.exit { stroke: #1f2933; }
text.marker-label { paint-order: stroke; stroke: #fff; stroke-width: 3px; }
g.stop text, g.signal text { fill: #52606d; }
g.kill text { fill: #7f1d1d; font-weight: 600; }
g.exit text { fill: #1f2933; font-weight: 600; }
svg.load-strip { display: block; margin-top: 4px; overflow: visible; max-width: 100%; height: auto; }
text.name.quiet { fill: #7b8794; font-size: 11px; }
g.bucket:hover rect.bar { opacity: 0.75; }
g.mark:hover line.marker { stroke-width: 3; }
path.in-flight { fill: #cbd2d9; stroke: #7b8794; stroke-width: 1; }
g.balancerline rect.log, li.balancerline rect.log { fill: #8c6d1f; }
g.balancerline:hover rect.log { fill: #4d3b0c; }
svg.rollout-lanes { display: block; margin-top: 4px; overflow: visible; max-width: 100%;
  height: auto; }
p.rollout-counts { margin-top: 10px; color: #3e4c59; }
rect.bar.redispatched { fill-opacity: 0.45; }
rect.life { fill: #eef0f3; }
rect.pool { fill: #8fb9a0; }
rect.pool.stale { fill: #d9a62e; }
g.step line.marker { opacity: 0.45; }
g.step:hover line.marker { opacity: 1; stroke-width: 3; }
line.marker.start { stroke: #4e9a6b; stroke-dasharray: 1 2; }
p.load-counts { margin-top: 10px; color: #3e4c59; }
svg.stream-lanes { display: block; margin-top: 4px; overflow: visible; max-width: 100%;
  height: auto; }
p.stream-counts { margin-top: 10px; color: #3e4c59; }
rect.item { fill: #fff; fill-opacity: 0.85; }
g.item:hover rect.item { fill: #1f2933; fill-opacity: 1; }
text.smark-label { font-size: 11px; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
line.smark-line { stroke-width: 1.2; }
.smark.goaway .glyph, line.smark-line.goaway { stroke: #0b7285; }
.smark.goaway text { fill: #0b7285; }
.smark.goaway.final .glyph { fill: #0b7285; }
.smark.goaway.first .glyph { fill: #fff; stroke-width: 1.5; }
line.smark-line.goaway.first { stroke-dasharray: 3 2; }
.smark.ping .glyph { fill: #fff; stroke: #52606d; stroke-width: 1.5; }
line.smark-line.ping { stroke: #9aa5b1; stroke-dasharray: 1 2; }
.smark.ending .glyph { fill: #1f2933; }
line.smark-line.ending { stroke: #1f2933; }
.smark.closed .glyph { stroke: #1f2933; stroke-width: 1.8; fill: none; }
line.smark-line.closed { stroke: #52606d; stroke-dasharray: 2 2; }
g.smark:hover line.smark-line { stroke-width: 2.5; }
"#;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::load::{ClientProfile, Connection, LoadRecord};
    use crate::model::observation::{
        Class, LoadSummary, ObservedRequest, PhaseCounts, RolloutRequest, Second, TimedEvent,
    };
    use crate::model::verdict::Verdict;
    use crate::report::html_probe::{attribute, svg};
    use crate::reproduce::{Timings, scenarios};

    /// `scenario` with `observation`, passed.
    fn result(name: &str, observation: Observation) -> ScenarioResult {
        let mut scenario = scenarios(Timings::fast())
            .into_iter()
            .find(|s| s.name == "container/exec-form")
            .expect("the experiment has an exec-form container");
        scenario.name = name.to_string();
        ScenarioResult {
            scenario,
            observation,
            verdict: Verdict {
                passed: true,
                failures: Vec::new(),
                requirements: Vec::new(),
                not_delivered: None,
            },
            error: None,
            started: Duration::ZERO,
        }
    }

    fn at(ms: i64, kind: EventKind) -> TimedEvent {
        TimedEvent { ms, kind }
    }

    /// A request of a stream that went out `went_ms` after its start (2 ms after it was due)
    /// and took 10 ms.
    fn record(id: u32, went_ms: u32, outcome: Outcome) -> ObservedRequest {
        ObservedRequest {
            record: LoadRecord {
                id,
                sent_us: went_ms.saturating_sub(2) * 1000,
                started_us: went_ms * 1000,
                done_us: went_ms * 1000 + 10_000,
                outcome,
                status: match outcome {
                    Outcome::Ok => 200,
                    Outcome::HttpError => 502,
                    _ => 0,
                },
                connection: Connection::New,
            },
            phase: None,
            class: match outcome {
                Outcome::Ok => Class::Ok,
                Outcome::HttpError => Class::HttpError,
                _ => Class::NotServed,
            },
        }
    }

    /// A stream of `records` started at `started_ms`, its summary counted from them.
    fn load(started_ms: i64, requests: Vec<ObservedRequest>) -> LoadObservation {
        let mut total = PhaseCounts::default();
        let mut per_second: Vec<Second> = Vec::new();
        for request in &requests {
            total.add(request);
            let second = u64::from(request.record.sent_us / 1_000_000);
            if per_second.last().is_none_or(|s| s.second != second) {
                per_second.push(Second {
                    second,
                    ..Second::default()
                });
            }
            if let Some(bucket) = per_second.last_mut() {
                if request.class == Class::Ok {
                    bucket.ok += 1;
                } else {
                    bucket.failed += 1;
                }
            }
        }
        LoadObservation {
            rate: 100,
            client: ClientProfile::Fresh,
            vantage: crate::model::vantage::Vantage::Host,
            started_ms,
            requests,
            summary: LoadSummary {
                total,
                phases: Vec::new(),
                told_apart: true,
                latency_before_signal: None,
                latency_draining: None,
                latency_all: None,
                departure_lag: None,
                delivery: Default::default(),
                baseline: None,
                per_second,
            },
        }
    }

    /// A container under a stream of 100 requests/s that starts 300 ms before ready: `docker
    /// stop` at 1190 ms, SIGTERM at 1200, exit at 1500; the requests sent after the exit fail,
    /// alternately reset and http-error.
    fn loaded() -> ScenarioResult {
        let requests = (0..300)
            .map(|i| {
                let went = i * 10 + 5;
                let outcome = match (i64::from(went) - 300 >= 1500, i % 2) {
                    (false, _) => Outcome::Ok,
                    (true, 0) => Outcome::Reset,
                    (true, _) => Outcome::HttpError,
                };
                record(i, went, outcome)
            })
            .collect();
        let observation = Observation {
            ready: true,
            exit_code: Some(0),
            stop_issued_ms: Some(1190),
            signal_sent_ms: Some(1200),
            timeline: vec![
                at(0, EventKind::Ready),
                at(
                    1190,
                    EventKind::StopIssued {
                        signal: crate::model::variant::StopSignal::Sigterm,
                        timeout_ms: 2000,
                    },
                ),
                at(1200, EventKind::SignalSent { signal: 15 }),
                at(1500, EventKind::Exited { code: 0 }),
            ],
            load: Some(load(-300, requests)),
            ..Observation::default()
        };
        result("load/synthetic", observation)
    }

    #[test]
    fn the_strip_and_the_timeline_put_the_same_moment_at_the_same_x() {
        let html = scenario_section(&loaded()).into_string();
        let (timeline, strip) = (svg(&html, "timeline"), svg(&html, "load-strip"));
        for marker in ["marker stop", "marker signal", "marker exit"] {
            let above = attribute(timeline, marker, "x1");
            let below = attribute(strip, marker, "x1");
            assert!(
                (above - below).abs() < 0.5,
                "{marker}: {above} above, {below} below"
            );
        }
        // The stream starts 300 ms before ready and the axis with it; the signal's bucket
        // (1200 to 1300 ms) starts under the signal's line, whatever the stream's own seconds.
        let signal = attribute(timeline, "marker signal", "x1");
        let column = attribute(strip, r#"data-ms="1200""#, "x");
        assert!(
            (signal - column).abs() < 0.5,
            "signal at {signal}, its bucket at {column}"
        );
        // Nothing is lost before the exit, and the first loss is right after it.
        let exit = attribute(timeline, "marker exit", "x1");
        let first_loss = attribute(strip, r#"class="bar o-reset""#, "x");
        assert!(
            first_loss >= exit - 0.5 && first_loss < exit + 12.0,
            "{first_loss} vs {exit}"
        );
    }

    #[test]
    fn the_strip_stacks_failures_by_outcome_and_keeps_its_seconds() {
        let result = loaded();
        let html = scenario_section(&result).into_string();
        let strip = svg(&html, "load-strip");
        // An http-error is orange, not reset's red; ok is green.
        for outcome in ["ok", "http-error", "reset"] {
            assert!(
                strip.contains(&format!(
                    r#"class="bar o-{outcome}" data-outcome="{outcome}""#
                )),
                "{outcome}"
            );
        }
        assert!(!strip.contains("o-timeout"));
        // The columns add up to the stream: the 120 sent from 1500 ms on are lost, 60 of each.
        let count = |needle: &str| -> u64 {
            strip
                .split(needle)
                .skip(1)
                .filter_map(|rest| rest.split('"').next()?.parse::<u64>().ok())
                .sum()
        };
        assert_eq!(count(r#"data-sent=""#), 300);
        assert_eq!(count(r#"data-lost=""#), 120);
        assert_eq!(count(r#"data-outcome="http-error" data-count=""#), 60);
        let load = result.observation.load.as_ref().expect("a load");
        for second in &load.summary.per_second {
            let hook = format!(
                r#"data-second="{}" data-ok="{}" data-failed="{}""#,
                second.second, second.ok, second.failed
            );
            assert!(strip.contains(&hook), "{hook}");
        }
    }

    fn replica_event(ms: i64, step: &str, replica: &str) -> TimedEvent {
        let replica = replica.to_string();
        at(
            ms,
            match step {
                "started" => EventKind::ReplicaStarted { replica },
                "in-pool" => EventKind::ReplicaInPool {
                    replica,
                    address: [10, 0, 0, 3].into(),
                },
                "terminating" => EventKind::TerminationBegan { replica },
                "signalled" => EventKind::ReplicaSignalled {
                    replica,
                    signal: crate::model::variant::StopSignal::Sigterm,
                },
                "exited" => EventKind::ReplicaExited { replica, code: 0 },
                _ => EventKind::EndpointRemoved { replica },
            },
        )
    }

    fn balancer_log(ms: i64, line: &str) -> TimedEvent {
        at(
            ms,
            EventKind::BalancerLog {
                line: line.to_string(),
            },
        )
    }

    /// A rollout of two replicas with an endpoint lag of 700 ms: r3 replaces r1 from 1200 ms
    /// (r1 exits at 1500, leaves the pool at 2210), r4 replaces r2 from 2500 (r2 exits at 2800,
    /// leaves at 3510). A stream of 100 requests/s from ready to 4 s goes round robin over the
    /// pool; what reaches a replica after its exit is the balancer's 503, one request r1 was
    /// draining is reset, two are redispatched, and the balancer names no replica for two
    /// timeouts.
    fn rollout() -> ScenarioResult {
        let timeline = rollout_timeline();
        let requests = rollout_requests();
        let replicas = ["r1", "r2", "r3", "r4"]
            .into_iter()
            .map(|name| replica(name, &timeline, &requests))
            .collect();
        let stream = requests
            .iter()
            .map(|r| record(r.id, r.sent_ms as u32, r.outcome))
            .collect();
        let lost: Vec<Outcome> = requests
            .iter()
            .map(|r| r.outcome)
            .filter(|o| *o != Outcome::Ok)
            .collect();
        let mut lost_by_outcome: Vec<(Outcome, u64)> = Outcome::ALL
            .into_iter()
            .map(|o| (o, lost.iter().filter(|l| **l == o).count() as u64))
            .filter(|(_, n)| *n > 0)
            .collect();
        lost_by_outcome.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        let rollout = RolloutObservation {
            replicas,
            sent: requests.len() as u64,
            lost: lost.len() as u64,
            unattributed: requests.iter().filter(|r| r.replica.is_none()).count() as u64,
            by_phase: Vec::new(),
            lost_by_outcome,
            requests,
        };
        let observation = Observation {
            ready: true,
            timeline,
            load: Some(load(0, stream)),
            rollout: Some(rollout),
            ..Observation::default()
        };
        let mut result = result("rollout/synthetic", observation);
        result.scenario.rollout = Some(crate::model::rollout::RolloutSpec::default());
        result
    }

    /// The rollout's steps and the balancer's lines, in time order.
    fn rollout_timeline() -> Vec<TimedEvent> {
        let up = |n| format!("Server replicas/s{n} is UP/READY (leaving forced maintenance).");
        let down = |n| {
            format!("Server replicas/s{n} is going DOWN for maintenance. 2 active servers left.")
        };
        let mut timeline = vec![
            replica_event(-300, "started", "r1"),
            replica_event(-290, "in-pool", "r1"),
            balancer_log(-289, &up(1)),
            replica_event(-20, "started", "r2"),
            replica_event(-10, "in-pool", "r2"),
            balancer_log(-9, &up(2)),
            at(0, EventKind::Ready),
        ];
        for (old, new, from) in [(1, 3, 1200), (2, 4, 2500)] {
            let (old_name, new_name) = (replica_name(old), replica_name(new));
            timeline.extend([
                replica_event(from, "started", &new_name),
                replica_event(from + 10, "in-pool", &new_name),
                balancer_log(from + 11, &up(new)),
                replica_event(from + 10, "terminating", &old_name),
                replica_event(from + 15, "signalled", &old_name),
                replica_event(from + 300, "exited", &old_name),
                replica_event(from + 1010, "removed", &old_name),
                balancer_log(from + 1011, &down(old)),
            ]);
        }
        timeline.sort_by_key(|e| e.ms);
        timeline
    }

    /// The stream's 400 requests as the balancer routed them.
    fn rollout_requests() -> Vec<RolloutRequest> {
        // In the pool: (name, joined, left); and when the old ones exited.
        let pool = [
            ("r1", -290, 2210),
            ("r2", -10, 3510),
            ("r3", 1210, i64::MAX),
            ("r4", 2510, i64::MAX),
        ];
        let exits = [("r1", 1500), ("r2", 2800)];
        (0..400u32)
            .map(|id| {
                let sent_ms = i64::from(id) * 10;
                let in_pool: Vec<&str> = pool
                    .iter()
                    .filter(|(_, joined, left)| (*joined..*left).contains(&sent_ms))
                    .map(|(name, _, _)| *name)
                    .collect();
                let replica = match id {
                    // The balancer's log names no replica for these two.
                    390 | 395 => None,
                    _ => in_pool.get(id as usize % in_pool.len().max(1)).copied(),
                };
                let gone = exits
                    .iter()
                    .any(|(name, exit)| Some(*name) == replica && sent_ms >= *exit);
                let outcome = match (replica, gone) {
                    (None, _) => Outcome::Timeout,
                    (_, true) => Outcome::HttpError,
                    (Some("r1"), false) if (1300..1330).contains(&sent_ms) => Outcome::Reset,
                    _ => Outcome::Ok,
                };
                RolloutRequest {
                    id,
                    replica: replica.map(str::to_string),
                    phase: crate::model::rollout::RolloutPhase::Steady,
                    retries: 0,
                    // Two the balancer sent to r3 and r4 after retries on r2, gone.
                    redispatched: (301..=302).contains(&id),
                    termination_state: replica.map(|_| "----".to_string()),
                    outcome,
                    status: match outcome {
                        Outcome::Ok => Some(200),
                        Outcome::HttpError => Some(503),
                        _ => None,
                    },
                    sent_ms,
                    done_ms: sent_ms + 100,
                }
            })
            .collect()
    }

    /// Replica `name` as the fold sees it: its steps from `timeline`, its counts from
    /// `requests`.
    fn replica(
        name: &str,
        timeline: &[TimedEvent],
        requests: &[RolloutRequest],
    ) -> ReplicaObservation {
        let event = |which: fn(&EventKind) -> bool| {
            timeline
                .iter()
                .find(|e| which(&e.kind) && step_of(&e.kind) == Some(name))
                .map(|e| e.ms)
        };
        let exit_ms = event(|k| matches!(k, EventKind::ReplicaExited { .. }));
        let mine = requests
            .iter()
            .filter(|r| r.replica.as_deref() == Some(name));
        ReplicaObservation {
            name: name.to_string(),
            started_ms: event(|k| matches!(k, EventKind::ReplicaStarted { .. })),
            in_pool_ms: event(|k| matches!(k, EventKind::ReplicaInPool { .. })),
            termination_ms: event(|k| matches!(k, EventKind::TerminationBegan { .. })),
            signal_ms: event(|k| matches!(k, EventKind::ReplicaSignalled { .. })),
            exit_ms,
            exit_code: exit_ms.map(|_| 0),
            endpoint_removed_ms: event(|k| matches!(k, EventKind::EndpointRemoved { .. })),
            routed: mine.clone().count() as u64,
            lost: mine.filter(|r| r.outcome != Outcome::Ok).count() as u64,
            ..ReplicaObservation::default()
        }
    }

    /// The replica a rollout's step names.
    fn step_of(kind: &EventKind) -> Option<&str> {
        match kind {
            EventKind::ReplicaStarted { replica }
            | EventKind::ReplicaInPool { replica, .. }
            | EventKind::TerminationBegan { replica }
            | EventKind::ReplicaSignalled { replica, .. }
            | EventKind::ReplicaExited { replica, .. }
            | EventKind::EndpointRemoved { replica } => Some(replica),
            _ => None,
        }
    }

    /// The lane `name` of a rendered section, up to the next lane.
    fn lane_of<'a>(html: &'a str, name: &str) -> &'a str {
        let start = html
            .find(&format!(r#"data-lane="{name}""#))
            .unwrap_or_else(|| panic!("no lane {name} in:\n{html}"));
        let rest = &html[start..];
        let end = rest[1..]
            .find(r#"<g class="lane""#)
            .map_or_else(|| rest.find("</svg>").unwrap_or(rest.len()), |end| end + 1);
        &rest[..end]
    }

    /// The sum of the numbers in `html` after each `needle` (an attribute's `name="`).
    fn sum(html: &str, needle: &str) -> u64 {
        html.split(needle)
            .skip(1)
            .filter_map(|rest| rest.split('"').next()?.parse::<u64>().ok())
            .sum()
    }

    #[test]
    fn a_rollout_has_a_lane_per_replica_with_its_losses_in_their_outcomes_colours() {
        let result = rollout();
        let html = scenario_section(&result).into_string();
        let rollout = result.observation.rollout.as_ref().expect("a rollout");
        let lanes = svg(&html, "rollout-lanes");
        // A lane per replica, in start order, and one for the requests no replica is known for.
        assert_eq!(lanes.matches(r#"<g class="lane""#).count(), 5);
        let mut at = 0;
        for replica in &rollout.replicas {
            let lane = format!(
                r#"data-lane="{0}" data-replica="{0}" data-routed="{1}" data-lost="{2}""#,
                replica.name, replica.routed, replica.lost
            );
            let found = lanes[at..]
                .find(&lane)
                .unwrap_or_else(|| panic!("{lane} in order"));
            at += found;
            // What is drawn adds up to the observation's counts: the lane's columns, after the
            // lane's own tag.
            let lane = lane_of(lanes, &replica.name);
            let columns = &lane[lane.find('>').unwrap_or(0)..];
            let name = &replica.name;
            assert_eq!(sum(columns, r#"data-sent=""#), replica.routed, "{name}");
            assert_eq!(sum(columns, r#"data-lost=""#), replica.lost, "{name}");
        }
        assert!(rollout.replicas[0].lost > 0 && rollout.replicas[1].lost > 0);
        let unattributed = lane_of(lanes, "unattributed");
        assert!(!unattributed.contains("data-replica="));
        assert!(unattributed.contains(r#"data-routed="2" data-lost="2""#));
        assert!(unattributed.contains(r#"class="bar o-timeout""#));
        // The balancer's 503s are http-error's orange, the reset red; r2 had no reset.
        let (r1, r2) = (lane_of(lanes, "r1"), lane_of(lanes, "r2"));
        assert!(r1.contains(r#"class="bar o-http-error" data-outcome="http-error""#));
        assert!(r1.contains(r#"class="bar o-reset" data-outcome="reset""#));
        assert!(r2.contains(r#"class="bar o-http-error""#) && !r2.contains("o-reset"));
        let r1_lost = rollout.replicas[0].lost;
        assert!(
            r1.contains(&format!(
                "<title>r1: {} routed, {r1_lost} lost (http-error {}, reset 1)</title>",
                rollout.replicas[0].routed,
                r1_lost - 1
            )),
            "{r1}"
        );
        // Redispatched requests are drawn paler, in the lane of the replica that answered.
        for (name, redispatched) in [("r1", 0), ("r2", 0), ("r3", 1), ("r4", 1)] {
            let lane = lane_of(lanes, name);
            assert_eq!(
                sum(
                    lane,
                    r#"class="bar o-ok redispatched" data-outcome="ok" data-count=""#
                ),
                redispatched,
                "{name}"
            );
            assert_eq!(
                lane.contains("1 of them redispatched here after retries on another replica"),
                redispatched > 0,
                "{name}"
            );
        }
    }

    #[test]
    fn a_rollout_s_steps_and_balancer_lines_are_in_its_lanes_on_the_section_s_axis() {
        let html = scenario_section(&rollout()).into_string();
        let lanes = svg(&html, "rollout-lanes");
        let r1 = lane_of(lanes, "r1");
        // Its steps, faint, and the balancer's lines that name its slot.
        assert!(r1.contains("<title>r1 exit 0 at 1.500s</title>"), "{r1}");
        assert!(r1.contains("replicas/s1 is going DOWN"), "{r1}");
        assert!(!r1.contains("replicas/s2"), "{r1}");
        assert!(lane_of(lanes, "r3").contains("replicas/s3 is UP/READY"));
        // Every balancer line is a tick in the timeline's balancer lane.
        let timeline = svg(&html, "timeline");
        assert!(timeline.contains(">balancer log</text>"));
        assert_eq!(timeline.matches(r#"<g class="balancerline">"#).count(), 6);
        // The lanes, the strip and the timeline share one axis.
        let strip = svg(&html, "load-strip");
        let lane_column = attribute(r1, r#"data-ms="1500""#, "x");
        let strip_column = attribute(strip, r#"data-ms="1500""#, "x");
        let exit = attribute(timeline, "r1 exit 0 at", "x1");
        assert!((lane_column - strip_column).abs() < 0.5 && (lane_column - exit).abs() < 0.5);
    }

    #[test]
    fn in_flight_counts_what_is_still_unanswered_at_each_bucket_s_end() {
        // Answered within its bucket, answered in the next but one, a short one, a long one.
        let spans = [(0, 50), (0, 250), (120, 130), (150, 1000)];
        let counts: Vec<u64> = in_flight(spans.into_iter(), 100)
            .iter()
            .map(|(_, n)| *n)
            .collect();
        assert_eq!(counts, [1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
        assert_eq!(in_flight(spans.into_iter(), 100)[1].0, 100);
        // Before ready, buckets count from ms 0 down.
        assert_eq!(
            in_flight([(-150, -20)].into_iter(), 100),
            [(-200, 1), (-100, 0)]
        );
        assert!(in_flight(std::iter::empty(), 100).is_empty());
    }

    #[test]
    fn balancer_lines_name_the_replica_of_their_slot() {
        let up = "Server replicas/s3 is UP/READY (leaving forced maintenance).";
        assert_eq!(balancer_slot(up).as_deref(), Some("r3"));
        let down = "Server replicas/s12 is going DOWN for maintenance. 1 active servers left.";
        assert_eq!(balancer_slot(down).as_deref(), Some("r12"));
        assert_eq!(
            balancer_slot("Proxy web stopped (cumulated conns: FE: 389, BE: 0)."),
            None
        );
        assert_eq!(balancer_slot("Server replicas/backup is UP"), None);
    }
}
