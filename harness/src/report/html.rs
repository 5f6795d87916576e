//! The HTML report: one self-contained page (inline CSS and SVG, no script) with the verdict
//! table, a summary, and per scenario its verdict and an SVG timeline of requests, stop and exit.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::human::summary_line;
use super::line;
use super::table::requirement_outcomes;
use crate::duration;
use crate::events::EventKind;
use crate::observation::LoadObservation;
use crate::outcome::Outcome;
use crate::procfs::signal_name;
use crate::results::{RunResults, ScenarioResult};
use crate::scenario::Target;
use crate::server_log;
use crate::verdict::Requirement;

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
                        "seconds from the moment the server was ready; "
                        "hover a server log tick to read its line"
                    }
                }
                (legend())
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
                        @if result.passed() { td.met { "yes" } } @else { td.unmet { "NO" } }
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
            Some((None, _)) => td.untested { "not tested" },
            Some((Some(true), evidence)) => td.met { "met: " (evidence) },
            Some((Some(false), evidence)) => td.unmet { "NOT met: " (evidence) },
        }
    }
}

/// The outcome colours and the markers, once for every timeline.
fn legend() -> Markup {
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
        }
    }
}

fn scenario_section(result: &ScenarioResult) -> Markup {
    let scenario = &result.scenario;
    let observation = &result.observation;
    let passed = result.passed();
    html! {
        section.scenario id=(anchor(&scenario.name)) data-scenario=(scenario.name) {
            h3 {
                @if passed { span.badge.pass { "passed" } } @else { span.badge.fail { "failed" } }
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
                            Some(true) => span.met { "met" },
                            Some(false) => span.unmet { "NOT met" },
                            None => span.untested { "untested" },
                        }
                        " (" (check.evidence) ")"
                    }
                }
            }
            @if let Some(error) = &result.error {
                p.error { "error: " (error.to_string()) }
            }
            @if !result.verdict.failures.is_empty() {
                ul.failures {
                    @for failure in &result.verdict.failures { li { (failure) } }
                }
            }
            (timeline(result))
            @if let Some(load) = &observation.load {
                (load_strip(result, load))
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

// The timeline's geometry, in SVG user units (CSS pixels at the page's scale).
const WIDTH: f64 = 1060.0;
/// Left of the plot: request names.
const GUTTER: f64 = 120.0;
/// Right of the plot: room for an outcome label after a bar that ends at the last moment.
const RIGHT: f64 = 110.0;
const ROW: f64 = 24.0;
const BAR: f64 = 14.0;
const LABEL_ROW: f64 = 16.0;
const LOG_LANE: f64 = 22.0;
const AXIS: f64 = 28.0;
/// The width of one character of a 12px label, generous (bold labels are wider) so that labels
/// never touch.
const CHAR: f64 = 7.5;
/// The least room between a label's end and the next marker's line.
const LABEL_GAP: f64 = 8.0;

/// A vertical line across the timeline with its label above the plot.
struct Marker {
    ms: i64,
    class: &'static str,
    label: String,
}

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
        let (class, label) = match &event.kind {
            EventKind::Exited { code } => ("exit", format!("exit {code}")),
            EventKind::TerminationBegan { replica } => ("stop", format!("{replica} terminating")),
            EventKind::PreStopEnded { replica, outcome } => (
                "stop",
                match outcome {
                    crate::rollout::HookOutcome::Done => format!("{replica} preStop done"),
                    _ => format!("{replica} preStop failed"),
                },
            ),
            EventKind::EndpointRemoved { replica } => ("stop", format!("{replica} out of pool")),
            EventKind::ReplicaSignalled { replica, signal } => {
                ("signal", format!("{replica} {signal}"))
            }
            EventKind::ReplicaKilled { replica } => ("kill", format!("{replica} SIGKILL")),
            EventKind::ReplicaExited { replica, code } => {
                ("exit", format!("{replica} exit {code}"))
            }
            _ => continue,
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

/// Rows for the markers' labels, top row 0: a label goes below every earlier label that would
/// reach its line, so that no line crosses a label and no labels overlap.
fn label_rows(xs: &[f64], labels: &[&str]) -> Vec<usize> {
    let mut placed: Vec<(usize, f64)> = Vec::new();
    for (x, label) in xs.iter().zip(labels) {
        let row = placed
            .iter()
            .filter(|(_, end)| end + LABEL_GAP > *x)
            .map(|(row, _)| row + 1)
            .max()
            .unwrap_or(0);
        placed.push((row, x + 3.0 + label.chars().count() as f64 * CHAR));
    }
    placed.into_iter().map(|(row, _)| row).collect()
}

/// Maps ms onto the plot's x range.
struct Scale {
    lo: i64,
    hi: i64,
}

impl Scale {
    fn x(&self, ms: i64) -> f64 {
        let plot = WIDTH - GUTTER - RIGHT;
        GUTTER + (ms - self.lo) as f64 / (self.hi - self.lo).max(1) as f64 * plot
    }

    /// Tick positions in ms: the finest round step that leaves at most twelve ticks.
    fn ticks(&self) -> Vec<i64> {
        let span = self.hi - self.lo;
        let step = [100, 200, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000]
            .into_iter()
            .find(|step| span <= step * 12)
            .unwrap_or(300_000);
        let first = self.lo.div_euclid(step) * step;
        (0..)
            .map(|i| first + i * step)
            .skip_while(|ms| *ms < self.lo)
            .take_while(|ms| *ms <= self.hi)
            .collect()
    }
}

/// `0s`, `0.25s`, `-0.5s`, `12s`.
fn tick_label(ms: i64) -> String {
    let text = format!("{:.3}", ms as f64 / 1000.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{}s", if text == "-0" { "0" } else { text })
}

/// One decimal is finer than a pixel; more would only bloat the page.
fn px(value: f64) -> String {
    format!("{value:.1}")
}

fn seconds(ms: i64) -> String {
    format!("{:.3}s", ms as f64 / 1000.0)
}

fn timeline(result: &ScenarioResult) -> Markup {
    let observation = &result.observation;
    let requests = &observation.requests;
    let markers = markers(result);
    let times = observation
        .timeline
        .iter()
        .map(|e| e.ms)
        .chain(requests.iter().flat_map(|r| [r.sent_ms, r.done_ms]))
        .chain(markers.iter().map(|m| m.ms));
    let (lo, hi) = times.fold((0, 0), |(lo, hi), ms| (lo.min(ms), hi.max(ms)));
    let scale = Scale {
        lo,
        hi: hi.max(lo + 100),
    };
    let xs: Vec<f64> = markers.iter().map(|m| scale.x(m.ms)).collect();
    let labels: Vec<&str> = markers.iter().map(|m| m.label.as_str()).collect();
    let rows = label_rows(&xs, &labels);
    let label_rows = rows.iter().max().map_or(0, |r| r + 1);
    let plot_top = 4.0 + label_rows as f64 * LABEL_ROW + 6.0;
    let log_top = plot_top + requests.len() as f64 * ROW;
    let plot_bottom = log_top + LOG_LANE;
    let height = plot_bottom + AXIS;
    let plot_right = WIDTH - RIGHT;
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
            @for ms in scale.ticks() {
                @let x = px(scale.x(ms));
                line.grid x1=(x) x2=(x) y1=(px(plot_top)) y2=(px(plot_bottom)) {}
                line.axis x1=(x) x2=(x) y1=(px(plot_bottom)) y2=(px(plot_bottom + 4.0)) {}
                text.tick x=(x) y=(px(plot_bottom + 17.0)) { (tick_label(ms)) }
            }
            line.axis x1=(px(GUTTER)) x2=(px(plot_right)) y1=(px(plot_bottom)) y2=(px(plot_bottom)) {}
            @for (i, request) in requests.iter().enumerate() {
                @let y = plot_top + i as f64 * ROW;
                @let x1 = scale.x(request.sent_ms);
                // A refused connect takes no time: keep it visible.
                @let x2 = scale.x(request.done_ms).max(x1 + 3.0);
                @let word = request.outcome.name();
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
            text.name x=(px(GUTTER - 8.0)) y=(px(log_top + LOG_LANE / 2.0 + 4.0)) { "server log" }
            @for (ms, line) in &logs {
                @let x = scale.x(*ms);
                g.logline {
                    title { (seconds(*ms)) "  " (line) }
                    // A wider invisible target than the tick itself, to hover it easily.
                    rect.hit x=(px(x - 4.0)) y=(px(log_top + 3.0)) width="8" height=(px(LOG_LANE - 6.0)) {}
                    rect.log x=(px(x - 1.0)) y=(px(log_top + 5.0)) width="2" height=(px(LOG_LANE - 10.0)) {}
                }
            }
            @for ((marker, x), row) in markers.iter().zip(&xs).zip(&rows) {
                @let baseline = 4.0 + (*row as f64 + 1.0) * LABEL_ROW - 4.0;
                g class={ "mark " (marker.class) } {
                    title { (marker.label) " at " (seconds(marker.ms)) }
                    line class={ "marker " (marker.class) } x1=(px(*x)) x2=(px(*x))
                        y1=(px(baseline - 10.0)) y2=(px(plot_bottom)) {}
                    text.marker-label x=(px(x + 3.0)) y=(px(baseline)) { (marker.label) }
                }
            }
        }
    }
}

/// The load's strip: requests per second sent, answered in full or not, over the stream, with
/// the signal and the exit marked; its counts by phase above it.
fn load_strip(result: &ScenarioResult, load: &LoadObservation) -> Markup {
    const HEIGHT: f64 = 96.0;
    const TOP: f64 = 18.0;
    let plot_bottom = TOP + HEIGHT;
    let plot_right = WIDTH - RIGHT;
    let seconds = &load.summary.per_second;
    let span = seconds.len().max(1) as f64;
    let x = |second: f64| GUTTER + (second / span).clamp(0.0, 1.0) * (plot_right - GUTTER);
    let peak = seconds
        .iter()
        .map(|s| s.ok + s.failed)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let column = (plot_right - GUTTER) / span;
    let at = |ms: Option<i64>| ms.map(|ms| (ms - load.started_ms) as f64 / 1000.0);
    let observation = &result.observation;
    let signal = at(observation
        .signal_logged_ms
        .or(observation.signal_sent_ms)
        .or(observation.stop_issued_ms));
    let exit = at(observation.timeline.iter().find_map(|e| match e.kind {
        EventKind::Exited { .. } => Some(e.ms),
        _ => None,
    }));
    html! {
        p.load-counts {
            "load: " (load.rate) " requests/s, " (load.client) " client — "
            (line::counts(&load.summary.total))
        }
        svg.load-strip xmlns="http://www.w3.org/2000/svg" width=(px(WIDTH))
            height=(px(plot_bottom + AXIS)) viewBox={ "0 0 " (px(WIDTH)) " " (px(plot_bottom + AXIS)) }
            role="img" aria-label={ "requests per second of " (result.scenario.name) } {
            text.name x=(px(GUTTER - 8.0)) y=(px(TOP + 12.0)) { "requests/s" }
            text.name x=(px(GUTTER - 8.0)) y=(px(TOP + 28.0)) { (peak as u64) " max" }
            line.axis x1=(px(GUTTER)) x2=(px(plot_right)) y1=(px(plot_bottom)) y2=(px(plot_bottom)) {}
            @for bucket in seconds {
                @let left = x(bucket.second as f64) + 1.0;
                @let ok = bucket.ok as f64 / peak * HEIGHT;
                @let failed = bucket.failed as f64 / peak * HEIGHT;
                g.second data-second=(bucket.second) data-ok=(bucket.ok) data-failed=(bucket.failed) {
                    title { "second " (bucket.second) ": " (bucket.ok) " ok, " (bucket.failed) " failed" }
                    rect.per-second.ok x=(px(left)) y=(px(plot_bottom - ok)) width=(px((column - 2.0).max(1.0)))
                        height=(px(ok)) {}
                    rect.per-second.failed x=(px(left)) y=(px(plot_bottom - ok - failed))
                        width=(px((column - 2.0).max(1.0))) height=(px(failed)) {}
                }
                text.tick x=(px(x(bucket.second as f64))) y=(px(plot_bottom + 17.0)) { (bucket.second) "s" }
            }
            @for (class, label, second) in [("signal", "signal", signal), ("exit", "exit", exit)] {
                @if let Some(second) = second {
                    @let mx = px(x(second));
                    g class={ "mark " (class) } {
                        line class={ "marker " (class) } x1=(mx) x2=(mx) y1=(px(TOP - 6.0)) y2=(px(plot_bottom)) {}
                        text.marker-label x=(px(x(second) + 3.0)) y=(px(TOP - 8.0)) { (label) }
                    }
                }
            }
        }
    }
}

/// A request name that fits the gutter; the full name is in the bar's hover text.
fn short(name: &str) -> String {
    const MAX: usize = 15;
    if name.chars().count() <= MAX {
        name.to_string()
    } else {
        let head: String = name.chars().take(MAX - 1).collect();
        format!("{head}…")
    }
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
rect.per-second.ok { fill: #4e9a6b; }
rect.per-second.failed { fill: #c0392b; }
p.load-counts { margin-top: 10px; color: #3e4c59; }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_are_seconds_without_trailing_zeros() {
        assert_eq!(tick_label(0), "0s");
        assert_eq!(tick_label(250), "0.25s");
        assert_eq!(tick_label(-500), "-0.5s");
        assert_eq!(tick_label(12_000), "12s");
    }

    #[test]
    fn ticks_are_round_and_few() {
        let scale = Scale { lo: -8, hi: 2_700 };
        assert_eq!(scale.ticks(), [0, 500, 1000, 1500, 2000, 2500]);
        let scale = Scale {
            lo: -300,
            hi: 11_300,
        };
        assert_eq!(scale.ticks().first(), Some(&0));
        assert_eq!(scale.ticks().last(), Some(&11_000));
    }

    #[test]
    fn close_markers_get_rows_of_their_own_and_distant_ones_share_the_top() {
        // docker stop and the signal 4 px apart, SIGKILL and exit far later and apart.
        let rows = label_rows(
            &[300.0, 304.0, 700.0, 820.0],
            &["docker stop", "SIGTERM sent", "SIGKILL", "exit 137"],
        );
        assert_eq!(rows, [0, 1, 0, 0]);
        // SIGKILL's label would reach the exit's line 57 px later: the exit goes below it.
        let rows = label_rows(&[700.0, 757.0], &["SIGKILL", "exit 137"]);
        assert_eq!(rows, [0, 1]);
    }
}
