//! What can go wrong driving the balancer.

use std::net::SocketAddr;
use std::time::Duration;

/// A failure talking to HAProxy's runtime API.
#[derive(Debug, thiserror::Error)]
pub enum BalancerError {
    /// Its runtime API did not answer.
    #[error(
        "HAProxy's runtime API at {addr} did not answer within {}s: the balancer did not start (see its log in the timeline)",
        within.as_secs()
    )]
    NotAnswering {
        /// Where it was asked.
        addr: SocketAddr,
        /// How long it was given.
        within: Duration,
    },
    /// A command could not be sent or its answer read.
    #[error("HAProxy's runtime API at {addr} failed on `{command}`: {source}")]
    Io {
        /// Where.
        addr: SocketAddr,
        /// The command.
        command: String,
        /// The socket's error.
        #[source]
        source: std::io::Error,
    },
    /// HAProxy refused a command.
    #[error("HAProxy refused `{command}`: {answer}")]
    Refused {
        /// The command.
        command: String,
        /// What it said.
        answer: String,
    },
    /// A server slot the balancer does not have.
    #[error("the balancer has no server `{server}` in `show stat`")]
    NoSuchServer {
        /// The server's name.
        server: String,
    },
}
