//! What can stop the relay.

use std::net::SocketAddr;

/// A failure of the relay as a whole (one connection failing only ends that connection).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A route's port could not be listened on.
    #[error("cannot listen on {addr}: {source}; is the port free?")]
    Listen {
        /// Where.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}
