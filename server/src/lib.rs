//! An HTTP server whose shutdown behaviour is chosen at start: graceful, abrupt or unhandled.
//!
//! It is the server every shutdown scenario runs in a container, and the example of how a
//! Rust server should shut down: close the listener, answer what is in flight, exit.

#![warn(missing_docs)]

pub mod config;
pub mod connection;
pub mod connections;
pub mod error;
pub mod keep_alive;
pub mod log;
pub mod routes;
pub mod serve;
pub mod signal;
pub mod tracker;

pub use config::{Config, KeepAliveDrain, LogFormat, Mode};
pub use error::Error;
pub use routes::app;
pub use serve::{bind, run};
pub use signal::StopSignal;
