//! shutdown-harness: proves on a real container engine whether an HTTP server in a container
//! shuts down gracefully when `docker stop` arrives while requests are in flight.
//!
//! Data flows one way: [`Scenario`]s (the model's data, from code or [`scenario_file::read`])
//! name images built from variant Dockerfiles on bases forged from host files ([`images`]);
//! [`run_scenarios`] starts each one, drives its requests and its stop, and reports its
//! [`Event`]s live to a [`Reporter`]
//! (several at once through a [`FanOut`]; [`report`] holds all a reporter hears);
//! each finished scenario's events are folded and judged into a [`ScenarioResult`] at once.
//! [`check`] does the same for any image or running container, [`explain()`] says why, and
//! [`report`] renders results for people and for CI. Only [`Engine`] talks to the engine.
//!
//! ```
//! use shutdown_harness::{EventLog, Expected, FanOut, Outcome, RunEvent};
//!
//! // The vocabulary: `not-served` accepts a refused connect, a reset or an empty reply.
//! let expected = Expected::parse("not-served").unwrap();
//! assert!(expected.accepts(Outcome::Reset));
//! assert!(!expected.accepts(Outcome::Ok));
//!
//! // A reporter is anything that takes the run's events as they happen; a fan-out passes
//! // each to several, here a counter and the JSON-lines event log.
//! let mut finished = 0;
//! let mut counter = |event: RunEvent<'_>| {
//!     if let RunEvent::ScenarioFinished { .. } = event {
//!         finished += 1;
//!     }
//! };
//! let mut log = EventLog::new(std::io::sink());
//! let reporter = FanOut::new().with(&mut counter).with(&mut log);
//! # drop(reporter);
//! ```

#![warn(missing_docs)]

pub mod balancer;
pub mod check;
pub mod engine;
pub mod explain;
pub mod images;
pub mod protocol;
pub mod report;
pub mod reproduce;
pub mod scenario_file;

mod client;
mod duration;
mod error;
pub mod exit_code;
mod judge;
mod model;
mod option_name;
mod pipeline;
mod procfs;
mod run;
mod server_log;
mod workspace;

#[cfg(feature = "testcontainers")]
pub use check::check_testcontainer;
pub use check::{CheckOptions, check_container, check_image};
pub use client::path_problem;
pub use duration::{
    MAX as MAX_DURATION, format as format_duration, parse as parse_duration,
    parse_at_most as parse_duration_at_most,
};
pub use engine::{Engine, EngineError, new_run_id};
pub use error::{Error, Result};
pub use explain::{ExplainOptions, Explanation, explain};
pub use images::BuildError;
pub use judge::{
    check_streams, ends_cleanly, is_cut, judge, no_new_stream_accepted, open_streams_end_cleanly,
    verdict,
};
pub use model::engine_info::{EngineInfo, EngineKind};
pub use model::events::{BuildEvent, Event, EventKind};
pub use model::load::{
    Bound, ClientProfile, Connection, DEFAULT_CONNECTIONS, DEFAULT_H2C_CONNECTIONS, Limit,
    LoadExpectation, LoadRecord, LoadSpec, LoadThreshold, LoadWhat, MAX_CONNECTIONS, MAX_RATE,
    Phase, Quantile,
};
pub use model::observation::{Observation, RequestObservation, RolloutObservation, TimedEvent};
pub use model::outcome::{Expected, Outcome};
pub use model::pid1::Pid1;
pub use model::readiness::Readiness;
pub use model::results::{RunResults, ScenarioFault, ScenarioResult};
pub use model::rollout::{
    BalancerRecord, BalancerSettings, HealthChecks, HookOutcome, MAX_REPLICAS, Orchestrator,
    PreStop, ReadinessProbe, RetryOn, Reuse, RolloutExpectation, RolloutPhase, RolloutSpec,
    UpdateOrder, replica_name,
};
pub use model::runtime::Runtime;
pub use model::scenario::{
    ContainerSpec, Expectations, FromPath, ImageSpec, Offset, RequestKind, RequestSpec,
    RunningSpec, RuntimeSpec, Scenario, ServerSpec, StopSpec, Target,
};
pub use model::vantage::Vantage;
pub use model::variant::{Base, ServerMode, StopSignal, Variant};
pub use model::verdict::{
    Failure, Met, Remedy, Requirement, RequirementCheck, ThresholdCheck, ThresholdSeen, Untested,
    Verdict,
};
pub use option_name::OptionName;
pub use pipeline::{RunOptions, default_jobs, default_jobs_on, run_scenarios};
pub use report::{EventLog, FanOut, Reporter, RunEvent};
pub use run::{ScenarioError, load_stream};
pub use scenario_file::{Diagnostic, ScenarioFileError};
pub use workspace::Workspace;
