//! Reporters: what they hear while a run goes on ([`RunEvent`], through a [`Reporter`], several
//! at once through a [`FanOut`]; the JSON-lines [`EventLog`] is one), and their renderings of
//! results: a human timeline per scenario, one line per scenario, JSON, JUnit XML, Markdown for
//! CI job summaries, and an HTML page with SVG timelines. (The command's text verdict table and
//! live display are the command's own.) They read events and results only; they never talk to
//! the engine.

mod event_log;
#[cfg(test)]
mod html_probe;
mod html_streams;
mod reporter;
#[cfg(test)]
mod stream_fixtures;
mod svg_axis;

pub mod evidence;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod line;
pub mod markdown;
pub mod streams;

pub use event_log::EventLog;
pub use reporter::{FanOut, Reporter, RunEvent};

use crate::model::results::RunResults;

/// The formats a whole report can be rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Timelines and a summary, for people.
    Table,
    /// The JSON contract.
    Json,
    /// JUnit XML, one test case per scenario.
    Junit,
    /// One self-contained HTML page: the verdict table and an SVG timeline per scenario.
    Html,
    /// Markdown, for a CI job summary or a pull-request comment.
    Markdown,
}

/// Renders `results` in `format`.
pub fn render(results: &RunResults, format: Format) -> String {
    match format {
        Format::Table => human::render(results),
        Format::Json => json::render(results),
        Format::Junit => junit::render(results),
        Format::Html => html::render(results),
        Format::Markdown => markdown::render(results, None),
    }
}
