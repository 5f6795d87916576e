//! The harness's one error type: each variant names the operation that failed and says what to do.

use std::path::PathBuf;

/// Everything that can go wrong before a verdict can be given.
///
/// A failed *expectation* is not an error: it is a [`crate::Verdict`] that did not pass.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Docker engine could not be reached or did not answer.
    #[error(
        "cannot reach the Docker engine ({source}): start it (systemctl start docker) or point DOCKER_HOST at a running one"
    )]
    ConnectDocker {
        #[source]
        source: bollard::errors::Error,
    },

    /// A Docker API call failed.
    #[error("docker {operation} failed: {source}")]
    Docker {
        operation: &'static str,
        #[source]
        source: bollard::errors::Error,
    },

    /// Building the static server binary failed.
    #[error("building the static server failed: {reason}; run `{command}` to see why")]
    BuildServer { command: String, reason: String },

    /// A host binary that a base image is forged from is missing.
    #[error(
        "forging the `{base}` base needs {path} from the host: install it with `apt-get install {package}`"
    )]
    ForgeBaseMissingBinary {
        base: &'static str,
        path: PathBuf,
        package: &'static str,
    },

    /// Forging a base image failed for another reason (reading host files, resolving libraries).
    #[error("forging the `{base}` base failed: {reason}")]
    ForgeBase { base: &'static str, reason: String },

    /// Building a variant image failed.
    #[error("building image {tag} failed: {reason}")]
    BuildImage { tag: String, reason: String },

    /// An image that should be run is not present locally (nothing is ever pulled).
    #[error(
        "image {image} is not present locally and the harness never pulls: build it or load it first (docker build / docker load)"
    )]
    ImageMissing { image: String },

    /// Starting a server (a process or a container) failed.
    #[error("starting {what} failed: {reason}")]
    StartServer { what: String, reason: String },

    /// The server did not become ready in time.
    #[error("{what} was not ready within {waited_ms} ms: {reason}")]
    WaitReady {
        what: String,
        waited_ms: u128,
        reason: String,
    },

    /// Stopping the server (signal or `docker stop`) failed.
    #[error("stopping {what} failed: {reason}")]
    StopServer { what: String, reason: String },

    /// A scenario file could not be read.
    #[error("cannot read scenario file {path}: {source}")]
    ReadScenario {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A scenario file is invalid; the message carries file:line:column.
    #[error("{0}")]
    ParseScenario(String),

    /// Writing a report failed.
    #[error("cannot write the report to {path}: {source}")]
    WriteReport {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// An I/O operation on the host failed.
    #[error("{operation} failed: {source}")]
    Io {
        operation: String,
        #[source]
        source: std::io::Error,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
