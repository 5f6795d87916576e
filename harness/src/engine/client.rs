//! Connecting to the engine: which one it is, where, and the deadline every call gets.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use serde::Serialize;

use super::error::EngineError;

/// Where the engine is looked for when `DOCKER_HOST` is not set.
const DEFAULT_ENDPOINT: &str = "unix:///var/run/docker.sock";
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
    /// The name used in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Docker => "docker",
            EngineKind::Podman => "podman",
        }
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
    /// Connects to the engine named by `DOCKER_HOST` (or the local Docker socket), agrees on an
    /// API version and learns which engine it is.
    ///
    /// The engine here speaks API 1.41 (Docker 20.10); bollard defaults to a newer one, so the
    /// version is negotiated, which also proves the engine answers.
    pub async fn connect() -> Result<Engine, EngineError> {
        let endpoint = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let unreachable = |source: bollard::errors::Error| EngineError::Unreachable {
            endpoint: endpoint.clone(),
            source: Box::new(source),
        };
        let docker = Docker::connect_with_defaults().map_err(unreachable)?;
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
        let info = EngineInfo {
            kind: if podman {
                EngineKind::Podman
            } else {
                EngineKind::Docker
            },
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
