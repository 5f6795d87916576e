//! Running scenarios: each target (a process, a container the harness creates, one someone else
//! started), the request schedule around the stop, and the events they emit. The runner only
//! emits events; it neither judges nor prints.

mod container;
mod context;
mod dispatch;
mod emulated;
mod error;
mod load;
mod logs;
mod netns;
mod pooled;
mod process;
pub(crate) mod ready;
mod reqwest_client;
mod rollout_plan;
mod schedule;
mod sink;
mod streams;
mod swarm;

pub(crate) use context::RunContext;
pub(crate) use dispatch::run_scenario;
pub use error::ScenarioError;
pub use load::stream as load_stream;
pub(crate) use sink::{EventSink, Message};
