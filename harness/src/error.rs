//! The harness's top-level error: each layer's own error kept as the source, and the few that
//! belong to no layer. A failed *expectation* is not an error: it is a verdict that did not pass.
//!
//! Errors that ask for a different option name it as an [`OptionName`]: [`Display`] says it in
//! the library's words, and a front end spells it its own way with [`Error::message_with`] (the
//! CLI, as the flag to change).
//!
//! [`Display`]: std::fmt::Display

use std::path::PathBuf;

use crate::engine::EngineError;
use crate::images::BuildError;
use crate::model::results::ScenarioFault;
use crate::option_name::OptionName;
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
    Scenario(#[from] std::sync::Arc<dyn ScenarioFault>),
    /// An option of a check or an explanation is out of range or malformed.
    #[error("{}", self.message_with(&OptionName::words))]
    InvalidOption {
        /// The option.
        option: OptionName,
        /// What is wrong and what to write instead.
        reason: String,
    },
    /// Two options that cannot go together.
    #[error("{}", self.message_with(&OptionName::words))]
    OptionsConflict {
        /// The option that makes the other meaningless.
        option: OptionName,
        /// The other one.
        other: OptionName,
        /// Why, and what to do instead.
        reason: String,
    },
    /// A threshold on the steady stream was set, and no stream: neither a load nor a rollout.
    #[error("{}", self.message_with(&OptionName::words))]
    ThresholdWithoutLoad {
        /// The threshold's option.
        option: OptionName,
    },
    /// The run was interrupted before its scenarios ran (during the build).
    #[error("interrupted before the scenarios ran")]
    Interrupted,
    /// Container scenarios were given but no engine.
    #[error("container scenarios need a container engine, and none was given")]
    NoEngine,
    /// Scenarios run graceful-server, which is built from the workspace, and none was given.
    #[error("{}", self.message_with(&OptionName::words))]
    NoWorkspace,
    /// An image's STOPSIGNAL is not a signal the harness knows.
    #[error("{}", self.message_with(&OptionName::words))]
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

impl Error {
    /// The message, with each option it asks to change spelled by `spell`: the library's own
    /// words ([`OptionName::words`]) are what [`Display`](std::fmt::Display) shows, and the CLI
    /// spells each option as its flag.
    pub fn message_with(&self, spell: &dyn Fn(OptionName) -> String) -> String {
        match self {
            Error::InvalidOption { option, reason } => format!("{}: {reason}", spell(*option)),
            Error::OptionsConflict {
                option,
                other,
                reason,
            } => format!(
                "{} does not go with {}: {reason}",
                spell(*option),
                spell(*other)
            ),
            Error::ThresholdWithoutLoad { option } => format!(
                "{}: a threshold judges the steady stream across the stop: add a load ({} 200/s)",
                spell(*option),
                spell(OptionName::LoadRate)
            ),
            Error::NoWorkspace => format!(
                "these scenarios run graceful-server, which is built from this project's workspace: run from a checkout of it, or pass {}",
                spell(OptionName::Workspace)
            ),
            Error::UnknownStopSignal { image, signal } => format!(
                "{image}: its STOPSIGNAL {signal} is not one the harness knows; pass {}",
                spell(OptionName::Signal)
            ),
            Error::Scenario(error) => error.message_with(spell),
            Error::ScenarioFile(error) => error.message_with(spell),
            Error::Engine(error) => error.message_with(spell),
            other => other.to_string(),
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
