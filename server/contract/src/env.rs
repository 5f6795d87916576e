//! The environment variables that configure graceful-server, one per flag. The harness passes
//! the server's settings this way: a shell-form entrypoint ignores CMD arguments, so the
//! environment is the one channel every variant honours.

/// `--listen`: the address to listen on.
pub const LISTEN: &str = "SERVER_LISTEN";
/// `--mode`: graceful, abrupt or unhandled.
pub const MODE: &str = "SERVER_MODE";
/// `--delay`: how long `GET /` waits before answering.
pub const DELAY: &str = "SERVER_DELAY";
/// `--drain-timeout`: how long a graceful shutdown waits for requests in flight.
pub const DRAIN_TIMEOUT: &str = "SERVER_DRAIN_TIMEOUT";
/// `--signals`: the signals that begin shutdown, comma separated.
pub const SIGNALS: &str = "SERVER_SIGNALS";
/// `--log-format`: text or json.
pub const LOG_FORMAT: &str = "SERVER_LOG_FORMAT";
/// `--keep-alive-drain`: close-idle or linger ([`crate::KeepAliveDrain`]).
pub const KEEP_ALIVE_DRAIN: &str = "SERVER_KEEP_ALIVE_DRAIN";
/// `--linger`: how long the linger drain keeps serving open keep-alive connections.
pub const LINGER: &str = "SERVER_LINGER";
/// `--idle-timeout`: how long an idle keep-alive connection is kept before the server closes it.
pub const IDLE_TIMEOUT: &str = "SERVER_IDLE_TIMEOUT";

/// The port the server listens on by default (the original experiment's).
pub const DEFAULT_PORT: u16 = 1202;
