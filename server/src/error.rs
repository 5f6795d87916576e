//! The errors that stop the server from starting.

use std::net::SocketAddr;

use server_contract::StopSignal;

/// Why the server could not start. Each is an environment problem: exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Creating, binding or listening on the socket failed.
    #[error(
        "cannot listen on {addr}: {source}; pick a free address with --listen (port 0 picks any)"
    )]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// Installing a signal handler failed.
    #[error("cannot handle {signal}: {source}; leave it out of --signals")]
    InstallSignalHandler {
        /// The signal concerned.
        signal: StopSignal,
        /// What the operating system said.
        source: std::io::Error,
    },
}
