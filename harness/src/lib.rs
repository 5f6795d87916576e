//! shutdown-harness: proves on a real Docker engine whether an HTTP server in a container shuts
//! down gracefully when `docker stop` arrives while requests are in flight.
//!
//! Data flows one way: a [`Scenario`] (data) names an image built from a variant Dockerfile on
//! a forged base ([`images`], [`forge`]); a run ([`run`]) starts it, drives the requests and the
//! stop, and emits timestamped events; the events fold into an [`Observation`]; the observation
//! is judged into a [`Verdict`]; reporters ([`report`]) render the results.
//!
//! ```
//! use shutdown_harness::{Expected, Outcome};
//!
//! // The vocabulary: `not-served` accepts a refused connect, a reset or an empty reply.
//! let expected = Expected::parse("not-served").unwrap();
//! assert!(expected.accepts(Outcome::Reset));
//! assert!(!expected.accepts(Outcome::Ok));
//! ```

pub mod check;
pub mod cli;
pub mod client;
pub mod docker;
pub mod dockerfile;
pub mod duration;
pub mod error;
pub mod explain;
pub mod forge;
pub mod images;
pub mod matrix;
pub mod observation;
pub mod outcome;
pub mod pid1;
pub mod report;
pub mod reproduce;
pub mod results;
pub mod run;
pub mod scenario;
pub mod scenario_file;
pub mod server_build;
pub mod server_log;
pub mod slices;
pub mod third_party;
pub mod variant;
pub mod verdict;

pub use error::{Error, Result};
pub use observation::{Observation, RequestObservation};
pub use outcome::{Expected, Outcome};
pub use pid1::Pid1;
pub use results::{RunResults, ScenarioResult};
pub use scenario::{
    ContainerSpec, Expectations, ImageSpec, Offset, RequestKind, RequestSpec, Scenario, ServerSpec,
    StopSpec, Target,
};
pub use variant::{Base, ServerMode, StopSignal, Variant};
pub use verdict::{Requirement, RequirementCheck, Verdict};
