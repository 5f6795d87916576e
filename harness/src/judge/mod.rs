//! The one fold-and-judge stage: a finished scenario's events become its observation, the
//! observation is judged against the expectations and the two requirements. The pipeline,
//! `check` and the library all go through [`judge`].

mod expectations;
mod fold;
mod fold_load;
mod fold_rollout;
mod streams;

use std::sync::Arc;

use tokio::time::Instant;

use crate::model::events::Event;
use crate::model::results::ScenarioResult;
use crate::model::scenario::Scenario;
use crate::run::ScenarioError;

pub use expectations::verdict;
pub use fold::fold;
pub use streams::{
    check_streams, ends_cleanly, is_cut, no_new_stream_accepted, open_streams_end_cleanly,
};

/// Judges `scenario` from its `events` (in order) and the error that cut it short, if any;
/// `run_started` is when the run began, to say when the scenario's server started.
pub fn judge(
    scenario: &Scenario,
    events: &[Event],
    error: Option<ScenarioError>,
    run_started: Instant,
) -> ScenarioResult {
    let observation = fold(events, scenario.runs_our_server());
    let verdict = verdict(scenario, &observation);
    ScenarioResult {
        scenario: scenario.clone(),
        started: events.first().map_or_else(Default::default, |e| {
            e.at.saturating_duration_since(run_started)
        }),
        observation,
        verdict,
        error: error.map(|e| Arc::new(e) as Arc<dyn crate::model::results::ScenarioFault>),
    }
}
