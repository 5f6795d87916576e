//! What can stop an observer before it observes anything: the caller's input, or a connection it
//! could not set up. Whatever happens to a stream once asked for is an observation, not an error.

use std::net::SocketAddr;

/// An observer could not start, or could not hand back what it saw.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// A path that is not an HTTP origin-form target.
    #[error(
        "{path:?} is not a request path: write one starting with '/', e.g. \"/events?every=100ms\""
    )]
    BadPath {
        /// What was given.
        path: String,
    },

    /// A gRPC method's path that is not `/package.Service/Method`.
    #[error("{path:?} is not a gRPC method: {problem}")]
    BadMethod {
        /// What was given.
        path: String,
        /// What is wrong with it, and what to write.
        problem: String,
    },

    /// A request id that cannot travel in a header (gRPC metadata, `x-request-id`).
    #[error("{id:?} cannot be a request id: use visible ASCII characters only, e.g. \"stream-1\"")]
    BadRequestId {
        /// What was given.
        id: String,
    },

    /// A stream asking its protocol for what it does not serve.
    #[error("stream {name:?} over {}: {} takes {how}", protocol.name(), protocol.name())]
    Unsupported {
        /// The stream's name.
        name: String,
        /// Its protocol.
        protocol: crate::model::streams::Protocol,
        /// What the protocol takes instead.
        how: &'static str,
    },

    /// The TCP connection for an HTTP/2 connection could not be made.
    #[error("cannot connect to {addr}: {reason}; is the server listening there?")]
    Connect {
        /// Where.
        addr: SocketAddr,
        /// The system's words.
        reason: String,
        /// Whether the connect was refused (nothing listening: e.g. a server already shutting
        /// down).
        refused: bool,
    },

    /// The HTTP/2 connection preface or SETTINGS exchange failed.
    #[error(
        "the HTTP/2 handshake with {addr} failed: {reason}; the server must speak HTTP/2 without \
         TLS with prior knowledge (h2c) on that port"
    )]
    Handshake {
        /// Where.
        addr: SocketAddr,
        /// The h2 library's words.
        reason: String,
    },

    /// An observer's task ended without its observation.
    #[error(
        "the observer of {what} stopped before handing back what it saw ({reason}); this is a bug \
         in the harness: please report it with the run's output"
    )]
    Observer {
        /// The stream or connection observed.
        what: String,
        /// Why (a panic or a cancelled task).
        reason: String,
    },
}

impl ProtocolError {
    /// Whether the server refused the connection (nothing listening).
    pub fn is_refused(&self) -> bool {
        matches!(self, ProtocolError::Connect { refused: true, .. })
    }
}

/// Checks that `path` is an origin-form request target (`/...`) with no spaces or control
/// characters, which would not survive into a request line.
pub(crate) fn check_path(path: &str) -> Result<(), ProtocolError> {
    let fine = path.starts_with('/') && !path.bytes().any(|b| b <= b' ' || b == 0x7f);
    if fine {
        Ok(())
    } else {
        Err(ProtocolError::BadPath {
            path: path.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_be_origin_form() {
        assert!(check_path("/").is_ok());
        assert!(check_path("/events?every=100ms&for=1s").is_ok());
        for bad in ["", "events", "/a b", "/\r\n", "http://x/"] {
            let error = check_path(bad).unwrap_err();
            assert!(error.to_string().contains("starting with '/'"), "{error}");
        }
    }
}
