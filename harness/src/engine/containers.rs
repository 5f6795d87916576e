//! Containers: create (ports on 127.0.0.1, labels, init, stop signal), start, stop, kill,
//! inspect, wait, exec, remove.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

use bollard::errors::Error as ClientError;
use bollard::exec::StartExecResults;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerStateStatusEnum, ExecConfig,
    HostConfig, PortBinding,
};
use bollard::query_parameters::{
    CreateContainerOptions, KillContainerOptions, ListContainersOptions, RemoveContainerOptions,
    StopContainerOptions, WaitContainerOptions,
};
use futures_util::StreamExt;
use server_contract::StopSignal;

use super::connection::{CALL_DEADLINE, Engine, deadline};
use super::error::{EngineError, is_not_found, is_podman_stopped_state};
use super::networks::Attachment;

/// How often [`Engine::stopping_seen`] reads a container's state: an inspect costs Podman about
/// 2 ms, and the moment it finds is this precise.
pub const STATE_POLL: Duration = Duration::from_millis(5);

/// How a container is created.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerConfig {
    /// The container's name (None: the engine picks one).
    pub name: Option<String>,
    /// The image; it must be present locally.
    pub image: String,
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// Labels (the run's, at least).
    pub labels: HashMap<String, String>,
    /// Container ports to publish on 127.0.0.1, each on a host port the engine picks.
    pub publish: Vec<u16>,
    /// `docker run --init`: the engine's init as PID 1.
    pub init: bool,
    /// The stop signal (API 1.41 has no per-call one: it is the container's, set at create).
    /// None: the image's STOPSIGNAL, else SIGTERM.
    pub stop_signal: Option<StopSignal>,
    /// The default grace period of `docker stop`, whole seconds.
    pub stop_timeout: Option<Duration>,
    /// The network to create it on (None: the engine's default network).
    pub network: Option<Attachment>,
    /// Another container whose network namespace it joins (`network_mode: container:<id>`):
    /// it then has that container's interfaces and loopback, and no network or ports of its
    /// own (`network` and `publish` must be empty).
    pub network_of: Option<String>,
    /// Arguments replacing the image's CMD.
    pub cmd: Option<Vec<String>>,
}

/// What inspecting a container tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerState {
    /// Its id.
    pub id: String,
    /// The image it was created from, as named at create.
    pub image: String,
    /// Whether it is running.
    pub running: bool,
    /// Its exit code, once it has stopped.
    pub exit_code: Option<i64>,
    /// The process id of its PID 1 in the engine host's namespace, while it runs.
    pub pid: Option<i64>,
    /// Its stop signal as configured, if any.
    pub stop_signal: Option<String>,
    /// Its published TCP ports: (container port, address on 127.0.0.1).
    pub ports: Vec<(u16, SocketAddr)>,
    /// Its address on each network it is attached to, by network name.
    pub addresses: HashMap<String, IpAddr>,
}

impl ContainerState {
    /// Its address on network `network` (by name), if attached.
    pub fn address_on(&self, network: &str) -> Option<IpAddr> {
        self.addresses.get(network).copied()
    }

    /// The loopback address container port `port` is published on: traffic stays on 127.0.0.1,
    /// so a port published on all addresses (testcontainers' default) is reached there too.
    pub fn published(&self, port: u16) -> Option<SocketAddr> {
        self.ports
            .iter()
            .find(|(inside, _)| *inside == port)
            .map(|(_, addr)| *addr)
    }
}

/// A container found by its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledContainer {
    /// Its id.
    pub id: String,
    /// The image it was created from, as named at create.
    pub image: String,
    /// Its name, without the leading `/`.
    pub name: String,
    /// Its labels.
    pub labels: HashMap<String, String>,
}

/// What a command run in a container (`docker exec`) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutcome {
    /// Its exit code (None when the engine did not say).
    pub exit_code: Option<i64>,
    /// Its output, stdout and stderr interleaved.
    pub output: String,
}

impl Engine {
    /// Creates a container; returns its id.
    pub async fn create_container(&self, config: &ContainerConfig) -> Result<String, EngineError> {
        let ports: Vec<String> = config.publish.iter().map(|p| format!("{p}/tcp")).collect();
        let body = ContainerCreateBody {
            image: Some(config.image.clone()),
            env: Some(config.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(config.labels.clone()),
            exposed_ports: (!ports.is_empty()).then(|| ports.clone()),
            stop_signal: config.stop_signal.map(|s| s.name().to_string()),
            stop_timeout: config
                .stop_timeout
                .map(|t| i64::try_from(t.as_secs()).unwrap_or(i64::MAX)),
            cmd: config.cmd.clone(),
            host_config: Some(HostConfig {
                // Traffic stays on 127.0.0.1; the engine picks a free host port.
                port_bindings: (!ports.is_empty()).then(|| {
                    ports
                        .into_iter()
                        .map(|p| {
                            let binding = PortBinding {
                                host_ip: Some("127.0.0.1".to_string()),
                                host_port: Some(String::new()),
                            };
                            (p, Some(vec![binding]))
                        })
                        .collect()
                }),
                init: Some(config.init),
                network_mode: match (&config.network_of, &config.network) {
                    (Some(other), _) => Some(format!("container:{other}")),
                    (None, attachment) => attachment.as_ref().map(|a| a.network.clone()),
                },
                ..Default::default()
            }),
            networking_config: config.network.as_ref().map(|attachment| {
                bollard::models::NetworkingConfig {
                    endpoints_config: Some(HashMap::from([(
                        attachment.network.clone(),
                        attachment.endpoint(),
                    )])),
                }
            }),
            ..Default::default()
        };
        let options = CreateContainerOptions {
            name: config.name.clone(),
            ..Default::default()
        };
        deadline("create container", CALL_DEADLINE, async {
            self.docker()
                .create_container(Some(options), body)
                .await
                .map(|created| created.id)
                .map_err(|e| EngineError::on_image("create container", &config.image, e))
        })
        .await
    }

    /// Starts container `id`.
    pub async fn start_container(&self, id: &str) -> Result<(), EngineError> {
        deadline("start container", CALL_DEADLINE, async {
            self.docker()
                .start_container(id, None)
                .await
                .map_err(|e| EngineError::on_container("start container", id, e))
        })
        .await
    }

    /// `docker stop -t timeout`: the stop signal, then SIGKILL after `timeout` (whole seconds);
    /// returns once the container has stopped.
    pub async fn stop_container(&self, id: &str, timeout: Duration) -> Result<(), EngineError> {
        let seconds = timeout.as_secs();
        let options = StopContainerOptions {
            t: Some(i32::try_from(seconds).unwrap_or(i32::MAX)),
            signal: None,
        };
        deadline("stop container", timeout + CALL_DEADLINE, async {
            match self.docker().stop_container(id, Some(options)).await {
                Ok(()) => Ok(()),
                // 304: it had already stopped.
                Err(ClientError::DockerResponseServerError {
                    status_code: 304, ..
                }) => Ok(()),
                Err(e) => Err(EngineError::on_container("stop container", id, e)),
            }
        })
        .await
    }

    /// Watches container `id`'s state from now until the engine has begun stopping it: state
    /// `stopping`, or no longer running. Returns when that was first seen: about [`STATE_POLL`]
    /// and one inspect's answer (~2 ms on Podman, idle) after it happened; errs past `limit`. Meant to run beside a stop on an
    /// engine that reports no `kill` events: Podman sets `stopping` just before it sends the stop
    /// signal, so this is when the signal went out.
    pub async fn stopping_seen(
        &self,
        id: &str,
        limit: Duration,
    ) -> Result<SystemTime, EngineError> {
        deadline("watch container state", limit, async {
            loop {
                match self.docker().inspect_container(id, None).await {
                    Ok(inspect) => {
                        let state = inspect.state.unwrap_or_default();
                        if state.status == Some(ContainerStateStatusEnum::STOPPING)
                            || state.running == Some(false)
                        {
                            return Ok(SystemTime::now());
                        }
                    }
                    // Podman's `stopped` (exited, not yet cleaned up) is past running too.
                    Err(e) if is_podman_stopped_state(&e) => return Ok(SystemTime::now()),
                    Err(e) => return Err(EngineError::on_container("inspect container", id, e)),
                }
                tokio::time::sleep(STATE_POLL).await;
            }
        })
        .await
    }

    /// Sends `signal` (`SIGKILL`, `SIGTERM`, ...) to container `id`'s PID 1.
    pub async fn kill_container(&self, id: &str, signal: &str) -> Result<(), EngineError> {
        let options = KillContainerOptions {
            signal: signal.to_string(),
        };
        deadline("kill container", CALL_DEADLINE, async {
            self.docker()
                .kill_container(id, Some(options))
                .await
                .map_err(|e| EngineError::on_container("kill container", id, e))
        })
        .await
    }

    /// Inspects container `id`.
    pub async fn inspect_container(&self, id: &str) -> Result<ContainerState, EngineError> {
        deadline("inspect container", CALL_DEADLINE, async {
            past_podman_stopped(|| self.docker().inspect_container(id, None))
                .await
                .map(state)
                .map_err(|e| EngineError::on_container("inspect container", id, e))
        })
        .await
    }

    /// Waits at most `limit` for container `id` to stop running; its exit code.
    pub async fn wait_container(&self, id: &str, limit: Duration) -> Result<i64, EngineError> {
        let options = WaitContainerOptions {
            condition: "not-running".to_string(),
        };
        deadline("wait container", limit, async {
            match self.docker().wait_container(id, Some(options)).next().await {
                Some(Ok(response)) => Ok(response.status_code),
                // bollard reports a non-zero exit as an error carrying the code.
                Some(Err(ClientError::DockerContainerWaitError { code, .. })) => Ok(code),
                Some(Err(e)) => Err(EngineError::on_container("wait container", id, e)),
                None => Err(EngineError::ContainerGone {
                    container: id.to_string(),
                }),
            }
        })
        .await
    }

    /// Runs `cmd` in container `id` (as an orchestrator's exec hook does) and waits at most
    /// `limit` for it to end. A command that cannot run at all (no such file) is an outcome,
    /// not an error: the engine reports it with a non-zero exit code.
    pub async fn exec(
        &self,
        id: &str,
        cmd: &[String],
        limit: Duration,
    ) -> Result<ExecOutcome, EngineError> {
        let config = ExecConfig {
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(cmd.to_vec()),
            ..Default::default()
        };
        deadline("exec", limit, async {
            let created = self
                .docker()
                .create_exec(id, config)
                .await
                .map_err(|e| EngineError::on_container("create exec", id, e))?;
            let mut output = String::new();
            match self.docker().start_exec(&created.id, None).await {
                Ok(StartExecResults::Attached {
                    output: mut stream, ..
                }) => {
                    while let Some(Ok(chunk)) = stream.next().await {
                        output.push_str(&String::from_utf8_lossy(chunk.as_ref()));
                    }
                }
                Ok(StartExecResults::Detached) => {}
                // The runtime could not start the command (no shell, no such binary).
                Err(ClientError::DockerResponseServerError { message, .. }) => {
                    output.push_str(&message);
                }
                Err(e) => return Err(EngineError::call("start exec", e)),
            }
            let inspect = self
                .docker()
                .inspect_exec(&created.id)
                .await
                .map_err(|e| EngineError::call("inspect exec", e))?;
            Ok(ExecOutcome {
                exit_code: inspect.exit_code,
                output,
            })
        })
        .await
    }

    /// Force-removes container `id` with its volumes; false when it was already gone.
    pub async fn remove_container(&self, id: &str) -> Result<bool, EngineError> {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        deadline("remove container", CALL_DEADLINE, async {
            match self.docker().remove_container(id, Some(options)).await {
                Ok(()) => Ok(true),
                // Already gone (removed concurrently, or by its owner): nothing left to do.
                Err(e) if is_not_found(&e) => Ok(false),
                // Removal already under way (a concurrent cleanup): it will be gone.
                Err(ClientError::DockerResponseServerError {
                    status_code: 409, ..
                }) => Ok(false),
                Err(e) => Err(EngineError::call("remove container", e)),
            }
        })
        .await
    }

    /// Every container (running or not) carrying `label` (`key` or `key=value`).
    pub async fn labelled_containers(
        &self,
        label: &str,
    ) -> Result<Vec<LabelledContainer>, EngineError> {
        let filters = HashMap::from([("label".to_string(), vec![label.to_string()])]);
        let options = ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        };
        let containers = deadline("list containers", CALL_DEADLINE, async {
            past_podman_stopped(|| self.docker().list_containers(Some(options.clone())))
                .await
                .map_err(|e| EngineError::call("list containers", e))
        })
        .await?;
        Ok(containers
            .into_iter()
            .filter_map(|c| {
                let name = c
                    .names
                    .and_then(|names| names.into_iter().next())
                    .map(|name| name.trim_start_matches('/').to_string())
                    .unwrap_or_default();
                Some(LabelledContainer {
                    id: c.id?,
                    image: c.image.unwrap_or_default(),
                    name,
                    labels: c.labels.unwrap_or_default(),
                })
            })
            .collect())
    }

    /// Force-removes every container carrying `label` (`key` or `key=value`); returns how many.
    /// Swarm services carrying it go first: they would replace their tasks' containers.
    pub async fn remove_labelled_containers(&self, label: &str) -> Result<usize, EngineError> {
        self.remove_labelled_services(label).await?;
        let mut removed = 0;
        for container in self.labelled_containers(label).await? {
            if self.remove_container(&container.id).await? {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// Makes `call` again while its answer names Podman's transient `stopped` state: one container
/// in it makes an inspect or a whole list unreadable until its cleanup moves it on (ms to a few
/// hundred), so the answer is asked for again every [`STATE_POLL`]; bounded by the caller's
/// deadline.
async fn past_podman_stopped<T, F, Fut>(mut call: F) -> Result<T, ClientError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClientError>>,
{
    loop {
        match call().await {
            Err(e) if is_podman_stopped_state(&e) => tokio::time::sleep(STATE_POLL).await,
            answer => return answer,
        }
    }
}

/// The harness's view of an inspect response.
fn state(inspect: ContainerInspectResponse) -> ContainerState {
    let running = inspect
        .state
        .as_ref()
        .and_then(|s| s.running)
        .unwrap_or(false);
    let exit_code = inspect
        .state
        .as_ref()
        .filter(|_| !running)
        .and_then(|s| s.exit_code);
    let pid = inspect
        .state
        .as_ref()
        .and_then(|s| s.pid)
        .filter(|p| *p > 0);
    let config = inspect.config.unwrap_or_default();
    let addresses = inspect
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref())
        .map(|networks| {
            networks
                .iter()
                .filter_map(|(name, endpoint)| {
                    let ip = endpoint.ip_address.as_deref()?.parse().ok()?;
                    Some((name.clone(), ip))
                })
                .collect()
        })
        .unwrap_or_default();
    let ports = inspect
        .network_settings
        .and_then(|n| n.ports)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(key, bindings)| {
            let port: u16 = key.strip_suffix("/tcp")?.parse().ok()?;
            let binding = bindings?.into_iter().find(|b| {
                matches!(
                    b.host_ip.as_deref(),
                    Some("127.0.0.1" | "0.0.0.0" | "") | None
                )
            })?;
            let host_port: u16 = binding.host_port?.parse().ok()?;
            Some((port, SocketAddr::from(([127, 0, 0, 1], host_port))))
        })
        .collect();
    ContainerState {
        addresses,
        id: inspect.id.unwrap_or_default(),
        image: config.image.unwrap_or_default(),
        running,
        exit_code,
        pid,
        stop_signal: config.stop_signal.filter(|s| !s.is_empty()),
        ports,
    }
}
