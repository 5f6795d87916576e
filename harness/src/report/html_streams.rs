//! The HTML report's stream lanes: under a scenario's timeline and on its axis, a lane per
//! long-lived stream (its name and protocol in the gutter) with a bar from its opening to its
//! end coloured by its outcome, how it ended written after it, a tick per item received
//! (several per tick where they crowd), and its protocol's markers: the GOAWAY frames of its
//! HTTP/2 connection (the first of two steps apart from the one naming the last stream), PINGs,
//! the WebSocket close frame, the `going-away` event, the gRPC status, the connection's close.

use std::time::Duration;

use maud::{Markup, html};

use super::streams::{self, StreamView};
use super::svg_axis::{
    AXIS, GUTTER, Marker, Scale, WIDTH, grid, label_rows, marker_lines, px, short,
};
use crate::model::observation::Observation;
use crate::model::streams::{
    ConnectionObservation, GoawaySequence, Item, MAX_STREAM_ID, Received, StreamEnd,
    StreamObservation, h2_error_name,
};

/// A row of markers above a lane's bar: each marker's glyph, and a GOAWAY's label after it.
/// Markers that would touch go on rows of their own, each at its own moment.
const MARK_ROW: f64 = 13.0;
/// The bar's height.
const BAR: f64 = 12.0;
/// Below the bar: the protocol's line in the gutter, then room before the next lane.
const FOOT: f64 = 16.0;
/// Items closer than this many pixels share a tick: at most about 140 ticks a lane, each one
/// apart from the next.
const TICK_CELL: f64 = 6.0;

/// Every moment the lanes of `observation` draw, in ms from ready, for the section's axis.
pub(super) fn moments(observation: &Observation) -> Vec<i64> {
    let ms = |at: Duration| i64::try_from(at.as_millis()).unwrap_or(i64::MAX);
    let mut moments = Vec::new();
    for view in streams::streams(observation) {
        let stream = view.stream;
        moments.extend([ms(stream.opened), ms(stream.ended)]);
        moments.extend(stream.received.iter().map(|r| ms(r.at)));
        for connection in view.connections {
            moments.extend(connection.goaways.iter().map(|g| ms(g.at)));
            moments.extend(connection.pings.iter().map(|at| ms(*at)));
            moments.extend(connection.closed.map(ms));
        }
    }
    moments
}

/// The keys of the lanes' markers, for the page's legend.
pub(super) fn legend_keys() -> Markup {
    html! {
        @for (class, label) in [
            ("goaway first", "GOAWAY 2^31-1: first of two steps"),
            ("goaway final", "GOAWAY naming the last stream"),
            ("ping", "PING"),
            ("ending", "close frame, going-away event or gRPC status"),
            ("closed", "connection closed"),
        ] {
            li {
                svg width="14" height="12" aria-hidden="true" {
                    g class={ "smark " (class) } { (glyph(class, 7.0, 6.0)) }
                }
                (label)
            }
        }
        li {
            svg width="14" height="12" aria-hidden="true" {
                rect.bar.o-ok width="14" height="12" {}
                rect.item x="6" width="1.5" height="12" {}
            }
            "item received"
        }
    }
}

/// A marker of a lane: when, its class (`goaway first`, `goaway final`, `ping`, `ending`,
/// `closed`), its label above the lane (GOAWAY frames only) and its hover text.
struct LaneMark {
    at: Duration,
    class: &'static str,
    label: Option<String>,
    title: String,
}

/// The markers of `view`'s lane, in time order: its connections' frames and close, and its
/// protocol's ending.
fn lane_marks(view: &StreamView<'_>) -> Vec<LaneMark> {
    let mut marks: Vec<LaneMark> = view.connections.iter().flat_map(connection_marks).collect();
    marks.extend(ending_mark(view.stream));
    marks.sort_by_key(|m| m.at);
    marks
}

/// An HTTP/2 connection's GOAWAY frames, PINGs and close.
fn connection_marks(connection: &ConnectionObservation) -> Vec<LaneMark> {
    let mut marks = Vec::new();
    let two_step = connection.goaway_sequence() == GoawaySequence::TwoStep;
    for goaway in &connection.goaways {
        let first = goaway.last_stream_id == MAX_STREAM_ID;
        let mut label = format!("GOAWAY {}", streams::stream_id_words(goaway.last_stream_id));
        if goaway.error_code != 0 {
            label.push_str(&format!(" {}", h2_error_name(goaway.error_code)));
        }
        let mut title = format!(
            "{}: error code {} ({})",
            streams::goaway_words(goaway),
            goaway.error_code,
            h2_error_name(goaway.error_code)
        );
        title.push_str(match (first, two_step) {
            (true, true) => {
                "; the first of two steps: no new streams soon, all so far will be processed"
            }
            (true, false) => "; no new streams soon, and no GOAWAY naming the last stream followed",
            (false, _) => "; the server says streams above it were not processed",
        });
        if !goaway.debug.is_empty() {
            title.push_str(&format!("; debug data {:?}", goaway.debug));
        }
        marks.push(LaneMark {
            at: goaway.at,
            class: if first {
                "goaway first"
            } else {
                "goaway final"
            },
            label: Some(label),
            title,
        });
    }
    for ping in &connection.pings {
        marks.push(LaneMark {
            at: *ping,
            class: "ping",
            label: None,
            title: format!(
                "PING from the server at {} ({})",
                streams::seconds(*ping),
                connection.protocol.name()
            ),
        });
    }
    if let Some(closed) = connection.closed {
        marks.push(LaneMark {
            at: closed,
            class: "closed",
            label: None,
            title: format!(
                "{} connection closed at {}",
                connection.protocol.name(),
                streams::seconds(closed)
            ),
        });
    }
    marks
}

/// The protocol's own ending, where it arrived: the WebSocket close frame, the gRPC status, or
/// the event stream's `going-away` event.
fn ending_mark(stream: &StreamObservation) -> Option<LaneMark> {
    let going_away = stream.received.iter().find_map(|r| match &r.item {
        Item::Event {
            event: Some(event), ..
        } if event == "going-away" => Some((r.at, streams::item_words(&r.item))),
        _ => None,
    });
    let ending = match &stream.end {
        StreamEnd::Closed { code, reason } => Some((
            stream.ended,
            format!(
                "WebSocket close frame at {}: code {code}{}",
                streams::seconds(stream.ended),
                if reason.is_empty() {
                    String::new()
                } else {
                    format!(", reason {reason:?}")
                }
            ),
        )),
        StreamEnd::Status {
            code,
            name,
            message,
        } => Some((
            stream.ended,
            format!(
                "gRPC status {name} ({code}) from the server at {}{}",
                streams::seconds(stream.ended),
                if message.is_empty() {
                    String::new()
                } else {
                    format!(": {message:?}")
                }
            ),
        )),
        _ => going_away.map(|(at, words)| {
            (
                at,
                format!("the server's {words}, at {}", streams::seconds(at)),
            )
        }),
    };
    ending.map(|(at, title)| LaneMark {
        at,
        class: "ending",
        label: None,
        title,
    })
}

/// The lanes of `observation`'s streams under its timeline, on `scale`, the timeline's
/// `markers` across them; nothing when it has no stream.
pub(super) fn stream_lanes(
    observation: &Observation,
    markers: &[Marker],
    scale: &Scale,
    name: &str,
) -> Markup {
    const TOP: f64 = 6.0;
    let views = streams::streams(observation);
    if views.is_empty() {
        return html! {};
    }
    let signal = streams::signal_at(observation);
    let lanes: Vec<Lane<'_>> = views.iter().map(|view| Lane::new(*view, scale)).collect();
    let mut tops = Vec::with_capacity(lanes.len());
    let mut bottom = TOP;
    for lane in &lanes {
        tops.push(bottom);
        bottom += lane.height();
    }
    let height = bottom + AXIS;
    html! {
        p.stream-counts {
            "streams: " (views.len())
            span.note {
                " — each from its opening to its end, a tick per item received; hover a lane, a tick"
                " or a marker to read it"
            }
        }
        svg.stream-lanes xmlns="http://www.w3.org/2000/svg" width=(px(WIDTH))
            height=(px(height)) viewBox={ "0 0 " (px(WIDTH)) " " (px(height)) }
            role="img" aria-label={ "streams of " (name) } {
            (grid(scale, TOP, bottom))
            @for (lane, top) in lanes.iter().zip(&tops) {
                (lane_markup(lane, *top, scale, signal))
            }
            (marker_lines(markers, scale, TOP - 4.0, bottom))
            // Last, so that the timeline's lines pass under them.
            @for (lane, top) in lanes.iter().zip(&tops) {
                (end_label(lane, *top, scale))
            }
        }
    }
}

/// One stream's lane, laid out: its markers and the row of each.
struct Lane<'a> {
    view: StreamView<'a>,
    marks: Vec<LaneMark>,
    rows: Vec<usize>,
}

impl<'a> Lane<'a> {
    fn new(view: StreamView<'a>, scale: &Scale) -> Lane<'a> {
        let marks = lane_marks(&view);
        // A glyph alone is measured as an empty label; labels as the timeline's 12px ones,
        // generous for these 11px ones after their glyph.
        let xs: Vec<f64> = marks.iter().map(|m| scale.x_at(m.at)).collect();
        let labels: Vec<&str> = marks
            .iter()
            .map(|m| m.label.as_deref().unwrap_or_default())
            .collect();
        let rows = label_rows(&xs, &labels);
        Lane { view, marks, rows }
    }

    /// Rows of markers above the bar: at least one, so that lanes without markers keep apart.
    fn mark_rows(&self) -> usize {
        self.rows.iter().max().map_or(1, |r| r + 1)
    }

    fn height(&self) -> f64 {
        self.mark_rows() as f64 * MARK_ROW + BAR + FOOT
    }
}

/// A lane at `top`: its name and protocol in the gutter, its bar, its items as ticks on the
/// bar, and its markers with their glyphs above it (how it ended is written after the bar by
/// [`end_label`]).
fn lane_markup(lane: &Lane<'_>, top: f64, scale: &Scale, signal: Option<Duration>) -> Markup {
    let view = &lane.view;
    let stream = view.stream;
    let bar_top = top + lane.mark_rows() as f64 * MARK_ROW;
    let (x1, x2) = bar_span(stream, scale);
    let outcome = stream.outcome();
    html! {
        g.stream-lane data-stream=(view.name) data-protocol=(stream.protocol.name())
            data-end=(stream.end.name()) data-outcome=(outcome.name())
            data-received=(stream.received.len()) {
            title { (streams::line(view, signal)) }
            text.name x=(px(GUTTER - 8.0)) y=(px(bar_top + 10.0)) { (short(view.name)) }
            text.name.quiet x=(px(GUTTER - 8.0)) y=(px(bar_top + BAR + 11.0)) {
                (short(&streams::protocol_words(stream)))
            }
            rect class={ "bar o-" (outcome.name()) } data-outcome=(outcome.name()) x=(px(x1))
                y=(px(bar_top)) width=(px(x2 - x1)) height=(px(BAR)) rx="2" {}
            (item_ticks(stream, scale, bar_top))
            @for (mark, row) in lane.marks.iter().zip(&lane.rows) {
                @let x = scale.x_at(mark.at);
                @let y = top + (*row as f64 + 0.5) * MARK_ROW;
                g class={ "smark " (mark.class) } data-ms=(px(mark.at.as_secs_f64() * 1000.0)) {
                    title { (mark.title) }
                    line class={ "smark-line " (mark.class) } x1=(px(x)) x2=(px(x))
                        y1=(px(y)) y2=(px(bar_top + BAR)) {}
                    (glyph(mark.class, x, y))
                    @if let Some(label) = &mark.label {
                        text.smark-label x=(px(x + 7.0)) y=(px(y + 4.0)) { (label) }
                    }
                }
            }
        }
    }
}

/// Where `stream`'s bar begins and ends.
fn bar_span(stream: &StreamObservation, scale: &Scale) -> (f64, f64) {
    let x1 = scale.x_at(stream.opened);
    // A refused connect takes no time: keep it visible.
    (x1, scale.x_at(stream.ended).max(x1 + 3.0))
}

/// How the stream of the lane at `top` ended, written after its bar.
fn end_label(lane: &Lane<'_>, top: f64, scale: &Scale) -> Markup {
    let stream = lane.view.stream;
    let bar_top = top + lane.mark_rows() as f64 * MARK_ROW;
    let (_, x2) = bar_span(stream, scale);
    html! {
        text.outcome data-stream=(lane.view.name) x=(px(x2 + 6.0)) y=(px(bar_top + BAR - 2.0)) {
            (streams::end_label(stream))
        }
    }
}

/// The items `stream` received as ticks over its bar at `bar_top`: one per item, or one per
/// [`TICK_CELL`] pixels where they crowd, each with its hover text.
fn item_ticks(stream: &StreamObservation, scale: &Scale, bar_top: f64) -> Markup {
    // Runs of items whose ticks would touch: (x of the first, the items).
    let mut groups: Vec<(f64, Vec<&Received>)> = Vec::new();
    for received in &stream.received {
        let x = scale.x_at(received.at);
        match groups.last_mut() {
            Some((first, items)) if x - *first < TICK_CELL => items.push(received),
            _ => groups.push((x, vec![received])),
        }
    }
    html! {
        @for (x, items) in &groups {
            g.item data-items=(items.len()) {
                title {
                    @match items.as_slice() {
                        [one] => { (streams::seconds(one.at)) "  " (streams::item_words(&one.item)) }
                        [first, .., last] => {
                            (items.len()) " items from " (streams::seconds(first.at)) " to "
                            (streams::seconds(last.at)) ": " (streams::item_words(&first.item))
                            " … " (streams::item_words(&last.item))
                        }
                        [] => {}
                    }
                }
                rect.hit x=(px(x - 2.0)) y=(px(bar_top)) width="4" height=(px(BAR)) {}
                rect.item x=(px(x - 0.5)) y=(px(bar_top + 1.0)) width=(px(if items.len() > 1 { 2.0 } else { 1.0 }))
                    height=(px(BAR - 2.0)) {}
            }
        }
    }
}

/// The glyph of a marker of `class` centred at (`x`, `y`): a triangle for a GOAWAY (hollow for
/// the first step), a circle for a PING, a square for the protocol's ending, a cross for the
/// connection's close.
fn glyph(class: &str, x: f64, y: f64) -> Markup {
    let triangle = format!(
        "M{},{} L{},{} L{},{} Z",
        px(x - 4.5),
        px(y - 4.0),
        px(x + 4.5),
        px(y - 4.0),
        px(x),
        px(y + 4.0)
    );
    let cross = format!(
        "M{},{} L{},{} M{},{} L{},{}",
        px(x - 3.5),
        px(y - 3.5),
        px(x + 3.5),
        px(y + 3.5),
        px(x - 3.5),
        px(y + 3.5),
        px(x + 3.5),
        px(y - 3.5)
    );
    html! {
        @match class {
            "goaway first" | "goaway final" => path.glyph d=(triangle) {},
            "ping" => circle.glyph cx=(px(x)) cy=(px(y)) r="3" {},
            "ending" => rect.glyph x=(px(x - 3.5)) y=(px(y - 3.5)) width="7" height="7" {},
            _ => path.glyph d=(cross) {},
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::html::render;
    use super::super::html_probe::{attribute, svg};
    use super::super::stream_fixtures::results;

    /// The section of scenario `name` in `html`.
    fn section<'a>(html: &'a str, name: &str) -> &'a str {
        let start = html
            .find(&format!(r#"data-scenario="{name}""#))
            .unwrap_or_else(|| panic!("no section {name}"));
        let rest = &html[start..];
        &rest[..rest.find("</section>").unwrap_or(rest.len())]
    }

    /// The lane of stream `name`, up to the next lane.
    fn lane<'a>(lanes: &'a str, name: &str) -> &'a str {
        let start = lanes
            .find(&format!(r#"data-stream="{name}""#))
            .unwrap_or_else(|| panic!("no lane {name} in:\n{lanes}"));
        let rest = &lanes[start..];
        let end = rest[1..]
            .find(r#"<g class="stream-lane""#)
            .map_or(rest.len(), |end| end + 1);
        &rest[..end]
    }

    /// What is written after the bar of stream `name`.
    fn end_label<'a>(lanes: &'a str, name: &str) -> &'a str {
        let start = lanes
            .find(&format!(r#"<text class="outcome" data-stream="{name}""#))
            .unwrap_or_else(|| panic!("no end label for {name} in:\n{lanes}"));
        let text = &lanes[start..];
        let text = &text[..text.find("</text>").unwrap_or(text.len())];
        &text[text.find('>').map_or(0, |i| i + 1)..]
    }

    #[test]
    fn each_stream_is_a_lane_on_the_timeline_s_axis_with_its_end_and_its_items() {
        let html = render(&results());
        let section = section(&html, "ws/graceful");
        let (timeline, lanes) = (svg(section, "timeline"), svg(section, "stream-lanes"));
        assert_eq!(lanes.matches(r#"<g class="stream-lane""#).count(), 2);
        let open = lane(lanes, "open");
        assert!(
            open.starts_with(
                r#"data-stream="open" data-protocol="websocket" data-end="closed" data-outcome="ok" data-received="8""#
            ),
            "{open}"
        );
        // Its line on hover, its protocol in the gutter, how it ended after its bar.
        assert!(open.contains("<title>open (websocket): closed 1001 &quot;server shutting down&quot; · 8 received, 1 after the signal · last tick 7</title>"), "{open}");
        assert!(open.contains(r#"<text class="name quiet""#) && open.contains(">websocket</text>"));
        assert_eq!(end_label(lanes, "open"), "close 1001");
        assert_eq!(end_label(lanes, "late"), "refused");
        // The close frame is a marker where it arrived, with its code and reason.
        assert!(open.contains(r#"<g class="smark ending" data-ms="386.0"><title>WebSocket close frame at 0.386s: code 1001, reason &quot;server shutting down&quot;</title>"#), "{open}");
        // A tick per item, each with its words.
        assert_eq!(
            open.matches(r#"<g class="item" data-items="1">"#).count(),
            8
        );
        assert!(open.contains("<title>0.350s  tick 7</title>"), "{open}");
        let late = lane(lanes, "late");
        assert!(late.contains(r#"data-end="refused" data-outcome="refused""#));
        assert!(late.contains("opened after the signal, 0 received · client: Connection refused"));
        assert!(
            !late.contains("smark"),
            "no marker for a stream that never connected"
        );
        // One axis: the stream's bar starts where the request's does, and the stop's line is at
        // the same x above and below.
        let bar = |svg: &str| attribute(svg, r#"class="bar o-ok""#, "x");
        assert!((bar(timeline) - bar(lanes)).abs() < 0.5);
        let stop = |svg: &str| attribute(svg, "marker stop", "x1");
        assert!((stop(timeline) - stop(lanes)).abs() < 0.5);
    }

    #[test]
    fn goaway_frames_are_marked_the_first_step_apart_from_the_final_one() {
        let html = render(&results());
        let lanes = svg(section(&html, "grpc/graceful"), "stream-lanes");
        let open = lane(lanes, "open");
        assert!(
            open.contains(r#"data-end="status" data-outcome="ok""#),
            "{open}"
        );
        assert!(open.contains(r#"<g class="smark goaway first" data-ms="320.0"><title>GOAWAY last stream 2^31-1 at 0.320s: error code 0 (NO_ERROR); the first of two steps: no new streams soon, all so far will be processed</title>"#), "{open}");
        assert!(open.contains(">GOAWAY 2^31-1</text>"));
        assert!(open.contains(r#"<g class="smark goaway final" data-ms="322.0"><title>GOAWAY last stream 1 at 0.322s: error code 0 (NO_ERROR); the server says streams above it were not processed</title>"#), "{open}");
        assert!(open.contains(">GOAWAY 1</text>"));
        assert_eq!(open.matches(r#"<g class="smark ping""#).count(), 2);
        assert!(open.contains("<title>gRPC status OK (0) from the server at 1.500s</title>"));
        assert!(open.contains("<title>grpc connection closed at 1.516s</title>"));
        assert_eq!(end_label(lanes, "open"), "status OK");
        // The two GOAWAY labels are 2 ms apart: on rows of their own.
        let y = |class: &str| attribute(open, &format!(r#"<g class="smark {class}""#), "y");
        assert!(y("goaway final") - y("goaway first") >= 12.0, "{open}");
        // The late call's connection: no GOAWAY, closed.
        let late = lane(lanes, "late");
        assert!(
            !late.contains("goaway") && late.contains("smark closed"),
            "{late}"
        );
        // The page's legend names the markers.
        assert!(html.contains("GOAWAY 2^31-1: first of two steps"));
        assert!(html.contains("GOAWAY naming the last stream"));
    }

    #[test]
    fn crowded_items_share_ticks_and_every_item_is_counted() {
        let html = render(&results());
        let busy = lane(svg(section(&html, "sse/busy"), "stream-lanes"), "busy");
        let ticks = busy.matches(r#"<g class="item""#).count();
        let counted: usize = busy
            .split(r#"<g class="item" data-items=""#)
            .skip(1)
            .filter_map(|rest| rest.split('"').next()?.parse::<usize>().ok())
            .sum();
        assert_eq!(
            counted, 502,
            "the head, 500 events and the going-away event"
        );
        // 2 ms apart, 1.5 px: several to a tick, which stay apart.
        assert!(ticks < 150, "{ticks} ticks");
        assert!(busy.contains("items from 0.000s to"), "{busy}");
        assert!(
            busy.contains(
                "<title>the server's event (going-away): server shutting down, at 1.003s</title>"
            ),
            "{busy}"
        );
    }

    #[test]
    fn a_scenario_without_streams_has_no_lanes_and_no_stream_legend() {
        let mut results = results();
        for result in &mut results.scenarios {
            result.observation.streams.clear();
        }
        let html = render(&results);
        assert!(!html.contains(r#"<svg class="stream-lanes""#));
        assert!(!html.contains("GOAWAY naming the last stream"));
    }
}
