//! Connecting to the engine: which one it is, where, and the deadline every call gets.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use serde::Serialize;

use super::error::EngineError;

/// Where Docker is looked for when `DOCKER_HOST` is not set.
const DOCKER_SOCKET: &str = "unix:///var/run/docker.sock";
/// Where rootful Podman's API service listens by default (`podman.socket`).
const PODMAN_SOCKET: &str = "unix:///run/podman/podman.sock";
/// The deadline of a call that should answer at once (inspect, create, start, remove): generous,
/// because the engine serialises container churn and answers late under a burst.
pub(super) const CALL_DEADLINE: Duration = Duration::from_secs(60);
/// The longest stop timeout a scenario may ask for; the client's own timeout is set above it so
/// that `docker stop` is never cut by the client.
pub const MAX_STOP_TIMEOUT: Duration = Duration::from_secs(3600);

/// Which engine answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EngineKind {
    /// Docker Engine (dockerd).
    Docker,
    /// Podman's Docker-compatible API service.
    Podman,
}

impl EngineKind {
    /// Both kinds, in the order the CLI lists them.
    pub const ALL: [EngineKind; 2] = [EngineKind::Docker, EngineKind::Podman];

    /// The name used in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Docker => "docker",
            EngineKind::Podman => "podman",
        }
    }

    /// Whether the engine reports each signal it sends a container as a `kill` event. Docker
    /// does, `docker stop`'s too; Podman 4 sends the stop signal without any event, so the
    /// moment it began stopping is read off the container's state instead.
    pub fn reports_kill_events(self) -> bool {
        self == EngineKind::Docker
    }

    /// The event action that says a container was removed: Docker's `destroy`, Podman's
    /// `remove`.
    pub(super) fn removed_action(self) -> &'static str {
        match self {
            EngineKind::Docker => "destroy",
            EngineKind::Podman => "remove",
        }
    }

    /// Where this kind of engine is looked for: its own environment variable (`DOCKER_HOST`,
    /// Podman's `CONTAINER_HOST`), else its default socket. `env` reads a variable.
    pub fn endpoint(self, env: impl Fn(&str) -> Option<String>) -> String {
        let (variable, default) = match self {
            EngineKind::Docker => ("DOCKER_HOST", DOCKER_SOCKET),
            EngineKind::Podman => ("CONTAINER_HOST", PODMAN_SOCKET),
        };
        env(variable)
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| default.to_string())
    }
}

impl std::str::FromStr for EngineKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        EngineKind::ALL
            .into_iter()
            .find(|kind| kind.name() == text)
            .ok_or_else(|| format!("unknown engine `{text}`: use docker or podman"))
    }
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the engine said about itself when the harness connected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineInfo {
    /// Docker or Podman.
    pub kind: EngineKind,
    /// The engine's version (`20.10.24+dfsg1`).
    pub version: String,
    /// The API version agreed on (`1.41`).
    pub api_version: String,
    /// Where it was reached (`unix:///var/run/docker.sock`).
    pub endpoint: String,
    /// Whether it runs on this host (a Unix socket): only then are its process ids this host's,
    /// so only then can `/proc` be read for them.
    pub local: bool,
}

/// A connection to a container engine. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    info: Arc<EngineInfo>,
}

impl Engine {
    /// Connects to the engine named by `DOCKER_HOST` (or the local Docker socket), whichever
    /// kind it is: [`Engine::connect_to`] with no kind asked for.
    pub async fn connect() -> Result<Engine, EngineError> {
        Engine::connect_to(None).await
    }

    /// Connects to an engine, agrees on an API version and learns which engine it is.
    ///
    /// With `kind` None: the engine `DOCKER_HOST` names (or the local Docker socket), whichever
    /// it is. With a kind: that kind's endpoint ([`EngineKind::endpoint`]), and an error if
    /// another kind answers there.
    ///
    /// The engines here speak API 1.41 (Docker 20.10, Podman 4.3's compatible API); bollard
    /// defaults to a newer one, so the version is negotiated, which also proves the engine
    /// answers.
    pub async fn connect_to(kind: Option<EngineKind>) -> Result<Engine, EngineError> {
        let env = |name: &str| std::env::var(name).ok();
        let endpoint = kind.unwrap_or(EngineKind::Docker).endpoint(env);
        Engine::connect_at(kind, &endpoint).await
    }

    /// Connects to the engine at `endpoint` (`unix:///path/to.sock`, `tcp://host:port`), and
    /// with `kind`, fails if another kind answers there.
    pub async fn connect_at(
        kind: Option<EngineKind>,
        endpoint: &str,
    ) -> Result<Engine, EngineError> {
        let endpoint = endpoint.to_string();
        let unreachable = |source: bollard::errors::Error| EngineError::Unreachable {
            endpoint: endpoint.clone(),
            source: Box::new(source),
        };
        let docker = Docker::connect_with_host(&endpoint).map_err(unreachable)?;
        // The client's own timeout must never cut a `docker stop` shorter than its grace period.
        let docker = docker.with_timeout(MAX_STOP_TIMEOUT + CALL_DEADLINE);
        let negotiated = deadline("negotiate version", CALL_DEADLINE, async {
            docker.negotiate_version().await.map_err(unreachable)
        })
        .await?;
        let version = deadline("version", CALL_DEADLINE, async {
            negotiated.version().await.map_err(unreachable)
        })
        .await?;
        let podman = version
            .components
            .iter()
            .flatten()
            .any(|c| c.name.to_ascii_lowercase().contains("podman"))
            || version
                .platform
                .as_ref()
                .is_some_and(|p| p.name.to_ascii_lowercase().contains("podman"));
        let found = if podman {
            EngineKind::Podman
        } else {
            EngineKind::Docker
        };
        if let Some(wanted) = kind
            && wanted != found
        {
            return Err(EngineError::WrongKind {
                endpoint,
                wanted,
                found,
            });
        }
        let info = EngineInfo {
            kind: found,
            version: version.version.unwrap_or_default(),
            api_version: negotiated.client_version().to_string(),
            local: endpoint.starts_with("unix://"),
            endpoint,
        };
        Ok(Engine {
            docker: negotiated,
            info: Arc::new(info),
        })
    }

    /// What the engine said about itself.
    pub fn info(&self) -> &EngineInfo {
        &self.info
    }

    pub(super) fn docker(&self) -> &Docker {
        &self.docker
    }
}

/// Runs an engine call with a deadline: past it, [`EngineError::Timeout`].
pub(super) async fn deadline<T>(
    operation: &'static str,
    after: Duration,
    call: impl Future<Output = Result<T, EngineError>>,
) -> Result<T, EngineError> {
    tokio::time::timeout(after, call)
        .await
        .unwrap_or(Err(EngineError::Timeout { operation, after }))
}
