//! Why a scenario could not be run to its end: carried, typed, in its result.

use std::time::Duration;

use crate::engine::EngineError;
use crate::model::results::ScenarioFault;
use crate::option_name::OptionName;

/// A scenario that could not run to its end. Its result then fails, whatever was observed.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The server (a process, or a container) could not be started.
    #[error("starting {what} failed: {reason}")]
    Start {
        /// The process or container.
        what: String,
        /// Why.
        reason: String,
    },
    /// The server did not become ready in time.
    #[error("{what} was not ready within {}: {reason}", crate::duration::format(*waited))]
    NotReady {
        /// The process or container.
        what: String,
        /// How long it was given.
        waited: Duration,
        /// What was (not) seen.
        reason: String,
    },
    /// The server never answered its readiness probe at all.
    #[error("{}", self.message_with(&OptionName::words))]
    NoResponse {
        /// The process or container.
        what: String,
        /// How long it was given.
        waited: Duration,
        /// The path probed.
        path: String,
        /// The last probe's outcome.
        last: String,
    },
    /// The server answered its readiness probe with a non-2xx status.
    #[error("{}", self.message_with(&OptionName::words))]
    NotOk {
        /// The container.
        what: String,
        /// The path probed.
        path: String,
        /// The status it answered.
        status: u16,
    },
    /// The container exited before it was ready.
    #[error(
        "{what} exited with code {code} before it was ready; see its logs with the report's timeline"
    )]
    ExitedEarly {
        /// The container.
        what: String,
        /// Its exit code.
        code: i64,
    },
    /// The server's port is not published, so nothing can reach it.
    #[error("{what}: port {port}/tcp is not published on the host; publish it (-p)")]
    NotPublished {
        /// The container.
        what: String,
        /// The container port.
        port: u16,
    },
    /// Stopping the server (the signal, or `docker stop`) failed.
    #[error("stopping {what} failed: {reason}")]
    Stop {
        /// The process or container.
        what: String,
        /// Why.
        reason: String,
    },
    /// The load balancer of a rollout failed a command the scenario needed.
    #[error(transparent)]
    Balancer(#[from] crate::balancer::BalancerError),
    /// A rollout's replica did not enter the balancer's pool in time.
    #[error(
        "{replica} did not enter the balancer's pool within {}: its health check kept failing (last status: {status})",
        crate::duration::format(*waited)
    )]
    NotInPool {
        /// The replica.
        replica: String,
        /// How long it was given.
        waited: Duration,
        /// The balancer's last word on it.
        status: String,
    },
    /// The balancer, its replicas in its pool, did not answer through them.
    #[error("the balancer does not reach its replicas (GET {path} through it: {answer}){hint}")]
    NotThroughBalancer {
        /// The path asked for.
        path: String,
        /// What came back.
        answer: String,
        /// What is known to cause it on this engine, if anything.
        hint: String,
    },
    /// The engine failed a call the scenario needed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The run was interrupted (a signal to the harness) before the scenario finished.
    #[error("interrupted before it finished")]
    Interrupted,
    /// The image or binary the scenario needs was not prepared: a bug in the harness.
    #[error("{scenario}: its server binary or image was not prepared (a bug in the harness)")]
    NotPrepared {
        /// The scenario's name.
        scenario: String,
    },
    /// The scenario needs a Docker Swarm manager and the engine is none: it is skipped, neither
    /// passed nor failed. The harness never makes the engine a swarm manager by itself.
    #[error(
        "skipped: {reason}; run `shutdown-harness swarm init` (a single-node swarm on 127.0.0.1; `shutdown-harness swarm leave` undoes it) to run it"
    )]
    NoSwarm {
        /// What the engine is instead.
        reason: String,
    },
    /// The scenario's task panicked: a bug in the harness.
    #[error("the scenario panicked (a bug in the harness): {message}")]
    Panicked {
        /// The panic's message.
        message: String,
    },
}

impl ScenarioError {
    /// The message, with each option it asks to change spelled by `spell` (see
    /// [`Error::message_with`](crate::Error::message_with)).
    pub fn message_with(&self, spell: &dyn Fn(OptionName) -> String) -> String {
        match self {
            ScenarioError::NoResponse {
                what,
                waited,
                path,
                last,
            } => format!(
                "{what} was not ready within {}: GET {path} never got a response (last: {last}); check {} and that the server listens on 0.0.0.0",
                crate::duration::format(*waited),
                spell(OptionName::Port)
            ),
            ScenarioError::NotOk { what, path, status } => format!(
                "{what}: GET {path} answered {status}; pass a path that answers 2xx ({} or {})",
                spell(OptionName::Path),
                spell(OptionName::ReadyPath)
            ),
            ScenarioError::Engine(error) => error.message_with(spell),
            other => other.to_string(),
        }
    }
}

impl ScenarioFault for ScenarioError {
    fn skipped(&self) -> bool {
        matches!(self, ScenarioError::NoSwarm { .. })
    }

    fn message_with(&self, spell: &dyn Fn(OptionName) -> String) -> String {
        ScenarioError::message_with(self, spell)
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }
}
