//! The engine module: the only code that talks to the container engine. Everything else asks it
//! in the harness's own words (images, containers, log lines, kill events), written against the
//! Docker-compatible API so that another engine with that API can stand behind the same calls.

mod connection;
mod containers;
mod error;
mod forward;
mod images;
mod labels;
mod networks;
mod reap;
mod streams;
mod swarm;

pub use connection::{Engine, MAX_STOP_TIMEOUT};
pub use containers::{ContainerConfig, ContainerState, ExecOutcome, LabelledContainer, STATE_POLL};
pub use error::EngineError;
pub use images::ImageConfig;
pub use labels::{LABEL_MANAGED, LABEL_OWNER, LABEL_RUN, Owner, new_run_id, run_labels};
pub use networks::{Attachment, LabelledNetwork, RunNetwork, Subnet};
pub use reap::Reaped;
pub use streams::{KillEvent, OutputLine};
pub use swarm::{
    ContainerAction, ContainerEvent, LabelledService, ServiceConfig, SwarmState, TaskFact,
};
