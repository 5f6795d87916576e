//! Which engine a run ran on, as its results and reports name it: Docker or Podman, its version,
//! and where it was reached.

use serde::Serialize;

/// Where Docker is looked for when `DOCKER_HOST` is not set.
const DOCKER_SOCKET: &str = "unix:///var/run/docker.sock";
/// Where rootful Podman's API service listens by default (`podman.socket`).
const PODMAN_SOCKET: &str = "unix:///run/podman/podman.sock";
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
