//! Running scenarios: the runner, its two targets (process, container), the request schedule,
//! and the events they emit.

pub mod container;
pub mod events;
pub mod process;
pub mod ready;
pub mod runner;
pub mod schedule;

pub use events::{Event, EventKind, EventSink};
pub use runner::{RunOptions, run};
