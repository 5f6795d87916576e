//! Images of real servers the project did not write (nginx, busybox httpd, node and npm,
//! gunicorn; nginx over h2c, WebSocket servers on python3-websockets and node's ws, a gRPC
//! server on python3-grpcio), forged from Debian host packages, so that `check` and scenario files can show
//! servers with their own shutdown behaviour; one file per runtime.
//!
//! Their upstream images cannot be pulled here, so each is `FROM scratch` plus the host's binary,
//! its libraries and a generated configuration, forged and tagged by content like the bases.

mod busybox;
mod grpcio;
mod gunicorn;
mod nginx;
mod nginx_h2c;
mod node;
mod node_ws;
mod python;
mod websockets;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use super::error::BuildError;
use super::rootfs::{Forged, GeneratedFile, HostBinary, forge};
use crate::engine::Engine;
use crate::model::runtime::Runtime;
use crate::model::scenario::{Scenario, Target};
use crate::model::variant::ServerMode;

pub use busybox::busybox_httpd_image;
pub use nginx::nginx_image;
pub use nginx_h2c::{H2C_EVENTS, NGINX_EVENTS_PATH};

pub use crate::model::runtime::HTTP_PORT;
/// nginx's slow path: [`BIG_FILE_LEN`] bytes sent at [`NGINX_RATE_PER_S`], so a download is in
/// flight for about 4 s and declares its Content-Length (a cut one is seen as `truncated`).
pub const NGINX_SLOW_PATH: &str = "/slow";
/// The size of the file behind [`NGINX_SLOW_PATH`].
pub const BIG_FILE_LEN: usize = 256 * 1024;
/// nginx's `limit_rate` for [`NGINX_SLOW_PATH`], in bytes per second.
pub const NGINX_RATE_PER_S: usize = 64 * 1024;
/// busybox httpd's slow path: a CGI script that sleeps [`BUSYBOX_CGI_SLEEP_S`] before answering.
pub const BUSYBOX_SLOW_PATH: &str = "/cgi-bin/slow";
/// How long the busybox CGI script sleeps.
pub const BUSYBOX_CGI_SLEEP_S: u32 = 3;

/// What a runtime's image is made of: the runtime and the settings its users would write into
/// their image (a signal handler in the code, a default delay, gunicorn's `--graceful-timeout`),
/// so that `check` and `explain` on the image see what a scenario ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuntimeImage {
    /// The runtime.
    pub runtime: Runtime,
    /// The server's code: `graceful` (a SIGTERM handler that closes the listener and drains,
    /// closes WebSockets with 1001, stops gRPC with a grace) or `unhandled` (no handler at
    /// all), for the runtimes that [take a mode](Runtime::takes_mode); ignored by the others.
    pub mode: ServerMode,
    /// How long the slow endpoint `GET /` takes unless `?delay=` says (node, gunicorn).
    pub delay: Duration,
    /// gunicorn's `--graceful-timeout` (None: gunicorn's own default, 30 s).
    pub graceful_timeout: Option<Duration>,
}

impl RuntimeImage {
    /// The image of `runtime` with the settings that apply to it; the others take fixed values,
    /// so that scenarios differing only in them share one image.
    pub fn new(
        runtime: Runtime,
        mode: ServerMode,
        delay: Duration,
        graceful_timeout: Option<Duration>,
    ) -> RuntimeImage {
        RuntimeImage {
            runtime,
            mode: if runtime.takes_mode() {
                mode
            } else {
                ServerMode::Graceful
            },
            delay: runtime.fixed_delay().unwrap_or(delay),
            graceful_timeout: graceful_timeout.filter(|_| runtime.takes_drain_timeout()),
        }
    }

    /// The image a runtime scenario runs: its runtime with the settings that apply to it;
    /// None for other targets.
    pub fn of(scenario: &Scenario) -> Option<RuntimeImage> {
        match &scenario.target {
            Target::Runtime(spec) => Some(RuntimeImage::new(
                spec.runtime,
                scenario.server.mode,
                scenario.server.delay,
                scenario.server.drain_timeout,
            )),
            _ => None,
        }
    }

    /// Its short name in the build's progress: `node:unhandled`, `gunicorn:graceful-timeout-3s`.
    pub fn short_name(&self) -> String {
        if self.runtime.takes_mode() {
            return format!("{}:{}", self.runtime, self.mode);
        }
        match self.runtime {
            Runtime::Gunicorn => match self.graceful_timeout {
                Some(t) => format!(
                    "{}:graceful-timeout-{}",
                    self.runtime,
                    crate::duration::format(t)
                ),
                None => self.runtime.name().to_string(),
            },
            _ => self.runtime.name().to_string(),
        }
    }
}

/// Forges the image of `image` unless it exists: its content tag, and whether it was built now.
/// The stable name `localhost/shutdown-harness/<runtime>:<mode>` (`:latest` for a runtime
/// without modes) then points at it, so that people can `check` or `explain` the latest one
/// without its hash.
pub async fn runtime_image(engine: &Engine, image: &RuntimeImage) -> Result<Forged, BuildError> {
    let spec = match image.runtime {
        Runtime::Nginx => nginx::nginx_spec(),
        Runtime::BusyboxHttpd => busybox::busybox_httpd_spec(),
        Runtime::Node | Runtime::NpmStart => node::node_spec(image),
        Runtime::Gunicorn => gunicorn::gunicorn_spec(image),
        Runtime::NginxH2c | Runtime::NginxH2cShellForm => nginx_h2c::nginx_h2c_spec(image),
        Runtime::PythonWebsockets | Runtime::PythonWebsocketsShellForm => {
            websockets::websockets_spec(image)
        }
        Runtime::NodeWs | Runtime::NodeWsShellForm => node_ws::node_ws_spec(image),
        Runtime::Grpcio | Runtime::GrpcioShellForm => grpcio::grpcio_spec(image),
    };
    let forged = forge(engine, &spec).await?;
    let stable = spec.flavour.as_deref().unwrap_or("latest");
    engine
        .tag_image(
            &forged.tag,
            &format!("{}/{}", super::IMAGE_PREFIX, spec.repository),
            stable,
        )
        .await?;
    Ok(forged)
}

/// The label that tells a real server's image (a runtime's, the balancer's) from the harness's
/// own.
pub(crate) fn third_party_label(name: &str) -> HashMap<String, String> {
    HashMap::from([("shutdown-harness.third-party".to_string(), name.to_string())])
}

/// The ENTRYPOINT instruction running `command`: in exec form (the program is PID 1), or for a
/// [shell-form runtime](Runtime::shell_form) in shell form, as `ENTRYPOINT program args` is
/// written (the engine runs `/bin/sh -c "program args"`; the image needs [`dash`]).
pub(super) fn entrypoint(runtime: Runtime, command: &[&str]) -> String {
    if runtime.shell_form() {
        format!("ENTRYPOINT {}", command.join(" "))
    } else {
        format!(
            "ENTRYPOINT {}",
            serde_json::to_string(command).unwrap_or_default()
        )
    }
}

/// Debian's `/bin/sh`: dash, which a shell-form ENTRYPOINT runs.
pub(super) fn dash() -> HostBinary {
    HostBinary {
        candidates: vec![PathBuf::from("/bin/dash")],
        package: "dash".to_string(),
        installed_as: vec!["/bin/sh".to_string(), "/bin/dash".to_string()],
        is_static: false,
    }
}

/// /etc/passwd and /etc/group with root and nobody: servers resolve their user by name.
pub(super) fn accounts() -> [GeneratedFile; 2] {
    [
        text(
            "/etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        ),
        text("/etc/group", "root:x:0:\nnogroup:x:65534:\n"),
    ]
}

/// A deterministic (so the tag is stable) file of [`BIG_FILE_LEN`] printable bytes.
pub(super) fn big_file() -> Vec<u8> {
    b"0123456789abcdef"
        .iter()
        .copied()
        .cycle()
        .take(BIG_FILE_LEN)
        .collect()
}

pub(super) fn text(path: &str, content: &str) -> GeneratedFile {
    GeneratedFile::text(path, content)
}

pub(super) fn keep_dir(dir: &str) -> GeneratedFile {
    GeneratedFile::keep_dir(dir)
}

pub(super) fn file(path: &str, bytes: Vec<u8>, mode: u32) -> GeneratedFile {
    GeneratedFile {
        path: path.to_string(),
        bytes,
        mode,
    }
}
