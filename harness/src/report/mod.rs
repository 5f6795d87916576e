//! Reporters: render results as a human timeline and table, JSON, or JUnit XML. They never talk
//! to Docker; they read [`crate::results::RunResults`] only.

pub mod human;
pub mod json;
pub mod junit;

/// The report formats of `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Timelines and a verdict table, for people.
    Table,
    /// The JSON contract.
    Json,
    /// JUnit XML, one test case per scenario.
    Junit,
}

/// Renders `results` in `format`.
pub fn render(results: &crate::results::RunResults, format: Format) -> String {
    match format {
        Format::Table => human::render(results),
        Format::Json => json::render(results),
        Format::Junit => junit::render(results),
    }
}
