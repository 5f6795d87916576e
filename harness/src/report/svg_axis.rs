//! The SVG geometry every drawing of a scenario's section shares (the timeline, the load's
//! strip, a rollout's lanes, the streams' lanes): the one time axis, its grid, the markers'
//! lines and the rows of their labels.

use std::time::Duration;

use maud::{Markup, html};

// The geometry of a scenario's drawings, in SVG user units (CSS pixels at the page's scale).
// The timeline, the load's strip, a rollout's lanes and the streams' lanes share WIDTH, GUTTER
// and RIGHT, and one `Scale`: the same x is the same moment in each of them.
pub(super) const WIDTH: f64 = 1060.0;
/// Left of the plot: request names.
pub(super) const GUTTER: f64 = 120.0;
/// Right of the plot: room for an outcome label after a bar that ends at the last moment.
pub(super) const RIGHT: f64 = 110.0;
/// Below the plot: the axis and its tick labels.
pub(super) const AXIS: f64 = 28.0;
/// The width of one character of a 12px label, generous (bold labels are wider) so that labels
/// never touch.
const CHAR: f64 = 7.5;
/// The least room between a label's end and the next marker's line.
const LABEL_GAP: f64 = 8.0;

/// A vertical line across the timeline with its label above the plot.
pub(super) struct Marker {
    /// When, in ms from ready.
    pub(super) ms: i64,
    /// Its CSS class: `stop`, `signal`, `kill`, `exit`.
    pub(super) class: &'static str,
    /// Its words above the plot.
    pub(super) label: String,
}

impl Marker {
    /// Its hover text.
    pub(super) fn title(&self) -> String {
        format!("{} at {}", self.label, seconds(self.ms))
    }
}

/// Rows for the markers' labels, top row 0: a label goes below every earlier label that would
/// reach its line, so that no line crosses a label and no labels overlap.
pub(super) fn label_rows(xs: &[f64], labels: &[&str]) -> Vec<usize> {
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

/// The one time axis of a scenario's section: ms from the moment the server was ready, mapped
/// onto the plot's x range of the timeline, the load's strip and a rollout's lanes alike.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Scale {
    /// Its first moment, ms from ready.
    pub(super) lo: i64,
    /// Its last.
    pub(super) hi: i64,
}

impl Scale {
    /// The axis from `lo` to `hi` ms (at least 100 ms wide).
    pub(super) fn spanning(lo: i64, hi: i64) -> Scale {
        Scale {
            lo,
            hi: hi.max(lo + 100),
        }
    }

    /// The x of `ms` from ready.
    pub(super) fn x(&self, ms: i64) -> f64 {
        let plot = WIDTH - GUTTER - RIGHT;
        GUTTER + (ms - self.lo) as f64 / (self.hi - self.lo).max(1) as f64 * plot
    }

    /// The x of `at` from ready, to the microsecond (a stream's times).
    pub(super) fn x_at(&self, at: Duration) -> f64 {
        let plot = WIDTH - GUTTER - RIGHT;
        let ms = at.as_secs_f64() * 1000.0;
        GUTTER + (ms - self.lo as f64) / (self.hi - self.lo).max(1) as f64 * plot
    }

    /// Tick positions in ms: the finest round step that leaves at most twelve ticks.
    pub(super) fn ticks(&self) -> Vec<i64> {
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

    /// The width of the time buckets of the load's strip and a rollout's lanes, in ms: the
    /// finest of 100 ms, 200 ms, 500 ms, 1 s, ... whose column is at least 3 px wide. 100 ms is
    /// the finest because the scenarios send 100 to 500 requests/s: a bucket then holds 10 to
    /// 50 requests (5 or more per replica of two), enough for a height to read as a rate and
    /// not as single requests, while a 1 s endpoint lag or a 0.3 s drain still spans several
    /// columns. Narrower than 3 px, a column's stack of outcomes can no longer be told apart,
    /// so a longer span gets wider buckets (past 28 s, 200 ms; past 4.6 minutes, 2 s).
    pub(super) fn bucket_ms(&self) -> i64 {
        let plot = WIDTH - GUTTER - RIGHT;
        let span = (self.hi - self.lo).max(1) as f64;
        [100, 200, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000]
            .into_iter()
            .find(|width| *width as f64 / span * plot >= 3.0)
            .unwrap_or(300_000)
    }
}

/// `0s`, `0.25s`, `-0.5s`, `12s`.
pub(super) fn tick_label(ms: i64) -> String {
    let text = format!("{:.3}", ms as f64 / 1000.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{}s", if text == "-0" { "0" } else { text })
}

/// One decimal is finer than a pixel; more would only bloat the page.
pub(super) fn px(value: f64) -> String {
    format!("{value:.1}")
}

/// `1.234s`.
pub(super) fn seconds(ms: i64) -> String {
    format!("{:.3}s", ms as f64 / 1000.0)
}

/// The grid lines of `scale`'s ticks from `top` to `bottom`, the axis along `bottom` and the
/// ticks' labels below it: every drawing of a section has its own, on the same x.
pub(super) fn grid(scale: &Scale, top: f64, bottom: f64) -> Markup {
    let plot_right = WIDTH - RIGHT;
    html! {
        @for ms in scale.ticks() {
            @let x = px(scale.x(ms));
            line.grid x1=(x) x2=(x) y1=(px(top)) y2=(px(bottom)) {}
            line.axis x1=(x) x2=(x) y1=(px(bottom)) y2=(px(bottom + 4.0)) {}
            text.tick x=(x) y=(px(bottom + 17.0)) { (tick_label(ms)) }
        }
        line.axis x1=(px(GUTTER)) x2=(px(plot_right)) y1=(px(bottom)) y2=(px(bottom)) {}
    }
}

/// The timeline's `markers` again, as lines from `top` to `bottom` without their labels (those
/// are above, in the timeline, at the same x), each with its hover text.
pub(super) fn marker_lines(markers: &[Marker], scale: &Scale, top: f64, bottom: f64) -> Markup {
    html! {
        @for marker in markers {
            @let x = px(scale.x(marker.ms));
            g class={ "mark " (marker.class) } {
                title { (marker.title()) }
                line class={ "marker " (marker.class) } x1=(x) x2=(x) y1=(px(top))
                    y2=(px(bottom)) {}
            }
        }
    }
}

/// A request name that fits the gutter; the full name is in the bar's hover text.
pub(super) fn short(name: &str) -> String {
    const MAX: usize = 15;
    if name.chars().count() <= MAX {
        name.to_string()
    } else {
        let head: String = name.chars().take(MAX - 1).collect();
        format!("{head}…")
    }
}

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
