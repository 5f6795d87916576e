//! The contract between graceful-server and the harness that drives it, in one place both
//! depend on (the server never depends on the harness): the log lines the server prints and the
//! harness parses, the signals, modes and keep-alive drains both name, and the `SERVER_*`
//! variables that configure the server.
//!
//! ```
//! use server_contract::{LogLine, StopSignal};
//!
//! let line = LogLine::SignalReceived { signal: StopSignal::Sigterm };
//! assert_eq!(line.text(), "Received SIGNAL: terminated");
//! let printed = format!("2026-11-25T14:28:23.699Z {}", line.text());
//! assert_eq!(LogLine::parse(&printed), Some(line));
//! ```

#![warn(missing_docs)]

pub mod env;
pub mod keep_alive;
pub mod log;
pub mod mode;
pub mod signal;
pub mod stream;

pub use log::LogLine;

/// The header a client names its request with; the server logs it on receipt
/// (`Receive Request... GET / id=17`), so that a request cut by the shutdown can be told from one
/// that never reached the server.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The longest handler delay the server accepts (`--delay`, `?delay=`): longer would only tie
/// up a connection.
pub const MAX_DELAY: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// How long the server keeps an idle keep-alive connection unless told otherwise
/// (`--idle-timeout`): Apache's keep-alive default, and what the server did before the flag.
pub const DEFAULT_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The shortest idle timeout the server accepts (`--idle-timeout`): its timers count whole
/// milliseconds, and zero would not be an idle timeout but no keep-alive at all.
pub const MIN_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(1);

/// The longest idle timeout the server accepts (`--idle-timeout`): longer only ties up
/// connections nobody uses.
pub const MAX_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10 * 60);
pub use keep_alive::{KeepAliveDrain, MAX_LINGER};
pub use mode::Mode;
pub use signal::StopSignal;
pub use stream::{GoawayReason, StreamEnd, StreamProtocol};

/// The gRPC contract, `proto/shutdown/v1/probe.proto` in this crate's folder: the server is
/// generated from that file, and a client can be too (from the file, or from this text written
/// out by a build script that depends on this crate).
pub const PROBE_PROTO: &str = include_str!("../proto/shutdown/v1/probe.proto");
