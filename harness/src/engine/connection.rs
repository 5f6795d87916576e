//! Connecting to the engine: which one it is, where, and the deadline every call gets.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;

use super::error::EngineError;
use crate::model::engine_info::{EngineInfo, EngineKind};

/// The deadline of a call that should answer at once (inspect, create, start, remove): generous,
/// because the engine serialises container churn and answers late under a burst.
pub(super) const CALL_DEADLINE: Duration = Duration::from_secs(60);
/// The longest stop timeout a scenario may ask for; the client's own timeout is set above it so
/// that `docker stop` is never cut by the client.
pub const MAX_STOP_TIMEOUT: Duration = Duration::from_secs(3600);

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

/// The event action that says a container was removed: Docker's `destroy`, Podman's `remove`.
pub(super) fn removed_action(kind: EngineKind) -> &'static str {
    match kind {
        EngineKind::Docker => "destroy",
        EngineKind::Podman => "remove",
    }
}
