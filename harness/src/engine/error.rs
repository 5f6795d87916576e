//! What can go wrong talking to the engine. The engine client's own error is kept as the source,
//! boxed, so that it is not part of the harness's public API.

use std::time::Duration;

use crate::option_name::OptionName;

/// An engine's error, kept as a source without naming its type.
pub type EngineSource = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failed call to the container engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine could not be reached or did not answer.
    #[error("{}", self.message_with(&OptionName::words))]
    Unreachable {
        /// Where it was looked for (DOCKER_HOST or the default socket).
        endpoint: String,
        /// What the client said.
        #[source]
        source: EngineSource,
    },
    /// Another kind of engine answered where the one asked for was looked for.
    #[error("{}", self.message_with(&OptionName::words))]
    WrongKind {
        /// Where it was reached.
        endpoint: String,
        /// The kind asked for.
        wanted: crate::model::engine_info::EngineKind,
        /// The kind that answered.
        found: crate::model::engine_info::EngineKind,
    },
    /// An image is not present locally (nothing is ever pulled).
    #[error(
        "image {image} is not present locally and the harness never pulls: build it or load it first (docker build / docker load)"
    )]
    ImageMissing {
        /// The reference asked for.
        image: String,
    },
    /// A container the harness was using is gone (removed from outside, for example).
    #[error("container {container} is gone: it was removed while the harness was using it")]
    ContainerGone {
        /// Its id or name.
        container: String,
    },
    /// The engine stopped answering mid-run: its socket closed or refused the connection.
    #[error(
        "lost the container engine during `{operation}` ({source}): is it still running? once it is back, `shutdown-harness clean` removes what this run left"
    )]
    Lost {
        /// The call that found it gone.
        operation: &'static str,
        /// What the client said.
        #[source]
        source: EngineSource,
    },
    /// A call did not answer within its deadline.
    #[error(
        "the engine did not answer `{operation}` within {}s: it is overloaded or stuck; check `docker info`",
        after.as_secs()
    )]
    Timeout {
        /// The call.
        operation: &'static str,
        /// The deadline it had.
        after: Duration,
    },
    /// Building an image failed.
    #[error("building image {tag} failed: {reason}")]
    Build {
        /// The tag being built.
        tag: String,
        /// What the builder said (the tail of its output).
        reason: String,
    },
    /// Containers of a Podman network could not be let reach each other past Docker's firewall.
    #[error(
        "Docker runs on this host and its firewall drops traffic between the containers of a Podman internal network; letting bridge {bridge} through (iptables -I DOCKER-USER) failed: {said}. Run as root, or run rollouts on Docker"
    )]
    Firewall {
        /// The network's bridge.
        bridge: String,
        /// What iptables said.
        said: String,
    },
    /// Any other failed call.
    #[error("engine call `{operation}` failed: {source}")]
    Call {
        /// The call.
        operation: &'static str,
        /// What the engine said.
        #[source]
        source: EngineSource,
    },
}

impl EngineError {
    /// The message, with each option it asks to change spelled by `spell` (see
    /// [`Error::message_with`](crate::Error::message_with)).
    pub fn message_with(&self, spell: &dyn Fn(OptionName) -> String) -> String {
        match self {
            EngineError::Unreachable { endpoint, source } => format!(
                "cannot reach the container engine at {endpoint} ({source}): start it (systemctl start docker, or `podman system service --time=0 unix://<socket>` for Podman) or point DOCKER_HOST (CONTAINER_HOST with {} podman) at a running one",
                spell(OptionName::Engine)
            ),
            EngineError::WrongKind {
                endpoint,
                wanted,
                found,
            } => format!(
                "the engine at {endpoint} is {found}, not {wanted}: point {} at a {wanted} socket, or leave out {}",
                if *wanted == crate::model::engine_info::EngineKind::Podman {
                    "CONTAINER_HOST"
                } else {
                    "DOCKER_HOST"
                },
                spell(OptionName::Engine)
            ),
            other => other.to_string(),
        }
    }

    /// The error of `operation` from the client's error: a failed transport is
    /// [`EngineError::Lost`].
    pub(super) fn call(operation: &'static str, source: bollard::errors::Error) -> EngineError {
        use bollard::errors::Error as Client;
        match source {
            // The transport failed, not the call: the engine is gone (or its socket is).
            Client::IOError { .. }
            | Client::HyperResponseError { .. }
            | Client::HyperLegacyError { .. }
            | Client::SocketNotFoundError(_)
            | Client::RequestTimeoutError => EngineError::Lost {
                operation,
                source: Box::new(source),
            },
            source => EngineError::Call {
                operation,
                source: Box::new(source),
            },
        }
    }

    /// Whether the engine itself is gone, rather than one call failing.
    pub fn is_lost(&self) -> bool {
        matches!(self, EngineError::Lost { .. })
    }

    /// A 404 from a call on container `container` means it is gone; anything else is a call error.
    pub(super) fn on_container(
        operation: &'static str,
        container: &str,
        source: bollard::errors::Error,
    ) -> EngineError {
        if is_not_found(&source) {
            EngineError::ContainerGone {
                container: container.to_string(),
            }
        } else {
            EngineError::call(operation, source)
        }
    }

    /// A 404 from a call naming image `image` means it is missing locally.
    pub(super) fn on_image(
        operation: &'static str,
        image: &str,
        source: bollard::errors::Error,
    ) -> EngineError {
        if is_not_found(&source) {
            EngineError::ImageMissing {
                image: image.to_string(),
            }
        } else {
            EngineError::call(operation, source)
        }
    }
}

/// Whether the answer named Podman's transient `stopped` state (between a container's exit and
/// its cleanup, a few ms to a few hundred), which the API model bollard reads has no word for:
/// asked again a moment later, the container reads `exited`.
pub(super) fn is_podman_stopped_state(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::JsonDataError { message, .. } if message.contains("`stopped`")
    )
}

/// Whether the engine answered 404 (no such container, image or network).
pub(super) fn is_not_found(error: &bollard::errors::Error) -> bool {
    matches!(
        error,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}
