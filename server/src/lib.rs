//! An HTTP server whose shutdown behaviour is chosen at start: graceful, abrupt or unhandled.
//!
//! It is the server every shutdown scenario runs in a container, and the example of how a
//! Rust server should shut down: close the listener, answer what is in flight, say goodbye on
//! long-lived streams as each protocol says (HTTP/2 GOAWAY, WebSocket close 1001, a last
//! server-sent event, gRPC status), exit.

#![warn(missing_docs)]

pub mod activity;
pub mod config;
pub mod connection;
pub mod connections;
pub mod error;
pub mod grpc;
pub mod h2c;
pub mod health;
pub mod hub;
pub mod io;
pub mod keep_alive;
pub mod log;
mod query;
mod request_id;
pub mod routes;
pub mod serve;
pub mod serving;
pub mod signal;
pub mod sse;
mod state;
pub mod streams;
pub mod tracker;
pub mod ws;

pub use config::{Config, KeepAliveDrain, LogFormat, Mode};
pub use error::Error;
pub use routes::app;
pub use serve::{bind, run};
pub use signal::StopSignal;
