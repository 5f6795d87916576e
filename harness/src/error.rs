//! The harness's top-level error: each layer's own error kept as the source, and the few that
//! belong to no layer. A failed *expectation* is not an error: it is a verdict that did not pass.

use std::path::PathBuf;

use crate::engine::EngineError;
use crate::images::BuildError;
use crate::run::ScenarioError;
use crate::scenario_file::ScenarioFileError;

/// Everything that can stop the harness before a verdict can be given.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Building the server or an image failed.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// Scenario files are invalid or unreadable.
    #[error(transparent)]
    ScenarioFile(#[from] ScenarioFileError),
    /// A check could not even start (no port, exited at once, a 404).
    #[error(transparent)]
    Scenario(#[from] std::sync::Arc<ScenarioError>),
    /// An option of a check or an explanation is out of range or malformed.
    #[error("--{option}: {reason}")]
    InvalidOption {
        /// The option, as the command line names it (`stop-timeout`).
        option: &'static str,
        /// What is wrong and what to write instead.
        reason: String,
    },
    /// The run was interrupted before its scenarios ran (during the build).
    #[error("interrupted before the scenarios ran")]
    Interrupted,
    /// Container scenarios were given but no engine.
    #[error("container scenarios need a container engine, and none was given")]
    NoEngine,
    /// Scenarios run graceful-server, which is built from the workspace, and none was given.
    #[error(
        "these scenarios run graceful-server, which is built from this project's workspace: run from a checkout of it, or pass --workspace"
    )]
    NoWorkspace,
    /// An image's STOPSIGNAL is not a signal the harness knows.
    #[error("{image}: its STOPSIGNAL {signal} is not one the harness knows; pass --signal")]
    UnknownStopSignal {
        /// The image.
        image: String,
        /// Its STOPSIGNAL.
        signal: String,
    },
    /// `explain` could not read the container it started.
    #[error("explaining {image} failed: {reason}")]
    Explain {
        /// The image.
        image: String,
        /// Why.
        reason: String,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// Writing a report failed.
    #[error("cannot write the report to {path}: {source}")]
    WriteReport {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
