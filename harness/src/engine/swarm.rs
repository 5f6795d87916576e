//! Docker Swarm, as far as a rollout needs it: whether the engine is a swarm manager, making it
//! one (single node, 127.0.0.1) and leaving, an overlay network, a service (dnsrr, replicas,
//! stop grace period, update order and parallelism), its forced update, its tasks and the
//! `kill`/`die` events of their containers, its removal. Only explicit commands init or leave.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use bollard::models::{
    EndpointSpec, EndpointSpecModeEnum, LocalNodeState, NetworkAttachmentConfig,
    NetworkCreateRequest, ServiceSpec, ServiceSpecMode, ServiceSpecModeReplicated,
    ServiceSpecUpdateConfig, ServiceSpecUpdateConfigFailureActionEnum,
    ServiceSpecUpdateConfigOrderEnum, SwarmInitRequest, TaskSpec, TaskSpecContainerSpec,
    TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum, TaskState,
};
use bollard::query_parameters::{
    EventsOptions, LeaveSwarmOptions, ListServicesOptions, ListTasksOptions, UpdateServiceOptions,
};
use futures_util::{Stream, StreamExt};
use server_contract::StopSignal;

use super::connection::{CALL_DEADLINE, Engine, deadline};
use super::error::{EngineError, is_not_found};
use crate::model::rollout::UpdateOrder;

/// The label Swarm puts on a task's container: its service's name.
const SERVICE_LABEL: &str = "com.docker.swarm.service.name";
/// The bridge Swarm creates for overlay containers' way out; left behind by `swarm leave`.
const GATEWAY_BRIDGE: &str = "docker_gwbridge";
/// How long a removed service's containers may take to be gone (their grace period included).
const REMOVE_WAIT: Duration = Duration::from_secs(60);
/// How often a removed service's containers are looked for.
const REMOVE_POLL: Duration = Duration::from_millis(100);

/// What the engine is in Swarm's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwarmState {
    /// Not in a swarm.
    Inactive,
    /// A manager of an active swarm: services can be created here.
    Manager,
    /// In a swarm, but services cannot be made from here (a worker, pending, locked, in error).
    Other(String),
}

/// A service to create.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Its name: its tasks answer at `tasks.<name>` in the engine's DNS.
    pub name: String,
    /// Its image (local: nothing is pulled).
    pub image: String,
    /// The tasks' environment.
    pub env: Vec<(String, String)>,
    /// Labels on the service and on its tasks' containers.
    pub labels: HashMap<String, String>,
    /// The overlay network its tasks join.
    pub network: String,
    /// How many tasks.
    pub replicas: u8,
    /// `--stop-grace-period`.
    pub stop_grace: Duration,
    /// `--stop-signal` (None: the image's).
    pub stop_signal: Option<StopSignal>,
    /// `--init`.
    pub init: bool,
    /// `--update-order`.
    pub order: UpdateOrder,
    /// `--update-parallelism`.
    pub parallelism: u8,
}

/// One task of a service, as polled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFact {
    /// Its id.
    pub id: String,
    /// Its slot (1, 2, ...: a replacement takes its predecessor's).
    pub slot: i64,
    /// The state Swarm wants it in (`running`, `shutdown`).
    pub desired: String,
    /// The state it is in (`starting`, `running`, `shutdown`, ...).
    pub state: String,
    /// Its container, once it has one.
    pub container: Option<String>,
    /// What Swarm said went wrong with it, if anything.
    pub error: Option<String>,
}

/// What happened to a task's container, by the engine's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerAction {
    /// The engine sent it this signal.
    Kill(i32),
    /// It exited with this code.
    Die(i64),
}

/// A `kill` or `die` event of a service's container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEvent {
    /// The container's id.
    pub container: String,
    /// What happened.
    pub action: ContainerAction,
    /// When, by the engine's clock.
    pub at: SystemTime,
}

/// A service carrying a label, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledService {
    /// Its name.
    pub name: String,
    /// Its labels.
    pub labels: HashMap<String, String>,
}

impl Engine {
    /// Whether the engine is in a swarm, and as what.
    pub async fn swarm_state(&self) -> Result<SwarmState, EngineError> {
        let info = deadline("info", CALL_DEADLINE, async {
            self.docker()
                .info()
                .await
                .map_err(|e| EngineError::call("info", e))
        })
        .await?;
        let swarm = info.swarm.unwrap_or_default();
        Ok(match swarm.local_node_state {
            None | Some(LocalNodeState::INACTIVE) | Some(LocalNodeState::EMPTY) => {
                SwarmState::Inactive
            }
            Some(LocalNodeState::ACTIVE) if swarm.control_available == Some(true) => {
                SwarmState::Manager
            }
            Some(state) => SwarmState::Other(format!("{state:?}").to_lowercase()),
        })
    }

    /// Makes the engine a single-node swarm manager advertising 127.0.0.1; false when it
    /// already was in a swarm (nothing is changed then).
    pub async fn swarm_init(&self) -> Result<bool, EngineError> {
        if self.swarm_state().await? != SwarmState::Inactive {
            return Ok(false);
        }
        let request = SwarmInitRequest {
            advertise_addr: Some("127.0.0.1".to_string()),
            listen_addr: Some("127.0.0.1:2377".to_string()),
            ..Default::default()
        };
        deadline("swarm init", CALL_DEADLINE, async {
            self.docker()
                .init_swarm(request)
                .await
                .map_err(|e| EngineError::call("swarm init", e))
        })
        .await?;
        Ok(true)
    }

    /// Leaves the swarm (forcing, as a last manager must) and removes the bridge Swarm left
    /// behind; false when the engine was in no swarm.
    pub async fn swarm_leave(&self) -> Result<bool, EngineError> {
        if self.swarm_state().await? == SwarmState::Inactive {
            return Ok(false);
        }
        deadline("swarm leave", CALL_DEADLINE, async {
            self.docker()
                .leave_swarm(Some(LeaveSwarmOptions { force: true }))
                .await
                .map_err(|e| EngineError::call("swarm leave", e))
        })
        .await?;
        self.remove_network(GATEWAY_BRIDGE).await?;
        Ok(true)
    }

    /// Creates an overlay network that containers may join (`--attachable`) and no traffic can
    /// leave (`--internal`), with `labels`; returns its id.
    pub async fn create_overlay_network(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<String, EngineError> {
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("overlay".to_string()),
            attachable: Some(true),
            internal: Some(true),
            labels: Some(labels),
            ..Default::default()
        };
        self.create_network_as(request).await
    }

    /// Creates `config`'s service, its tasks found through DNS only (`--endpoint-mode
    /// dnsrr`: no virtual IP, which needs IPVS), never restarted by Swarm (a task that exits
    /// is a fact of the run, not something to hide); returns its id.
    pub async fn create_service(&self, config: &ServiceConfig) -> Result<String, EngineError> {
        let env = config.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let spec = ServiceSpec {
            name: Some(config.name.clone()),
            labels: Some(config.labels.clone()),
            task_template: Some(TaskSpec {
                container_spec: Some(TaskSpecContainerSpec {
                    image: Some(config.image.clone()),
                    labels: Some(config.labels.clone()),
                    env: Some(env),
                    stop_signal: config.stop_signal.map(|s| s.name().to_string()),
                    stop_grace_period: Some(nanos(config.stop_grace)),
                    init: Some(config.init),
                    ..Default::default()
                }),
                restart_policy: Some(TaskSpecRestartPolicy {
                    condition: Some(TaskSpecRestartPolicyConditionEnum::NONE),
                    ..Default::default()
                }),
                networks: Some(vec![NetworkAttachmentConfig {
                    target: Some(config.network.clone()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            mode: Some(ServiceSpecMode {
                replicated: Some(ServiceSpecModeReplicated {
                    replicas: Some(i64::from(config.replicas)),
                }),
                ..Default::default()
            }),
            update_config: Some(ServiceSpecUpdateConfig {
                parallelism: Some(i64::from(config.parallelism)),
                order: Some(match config.order {
                    UpdateOrder::StartFirst => ServiceSpecUpdateConfigOrderEnum::START_FIRST,
                    UpdateOrder::StopFirst => ServiceSpecUpdateConfigOrderEnum::STOP_FIRST,
                }),
                failure_action: Some(ServiceSpecUpdateConfigFailureActionEnum::PAUSE),
                ..Default::default()
            }),
            endpoint_spec: Some(EndpointSpec {
                mode: Some(EndpointSpecModeEnum::DNSRR),
                ..Default::default()
            }),
            ..Default::default()
        };
        deadline("create service", CALL_DEADLINE, async {
            self.docker()
                .create_service(spec, None)
                .await
                .map_err(|e| EngineError::call("create service", e))
        })
        .await?
        .id
        .ok_or(EngineError::Call {
            operation: "create service",
            source: "the engine returned no service id".into(),
        })
    }

    /// Replaces every task of service `name` with its own spec (`docker service update
    /// --force`): the rolling update, in the service's order and parallelism.
    pub async fn force_update_service(&self, name: &str) -> Result<(), EngineError> {
        let service = deadline("inspect service", CALL_DEADLINE, async {
            self.docker()
                .inspect_service(name, None)
                .await
                .map_err(|e| EngineError::call("inspect service", e))
        })
        .await?;
        let version = service.version.and_then(|v| v.index).unwrap_or(0);
        let mut spec = service.spec.unwrap_or_default();
        let template = spec.task_template.get_or_insert_with(TaskSpec::default);
        template.force_update = Some(template.force_update.unwrap_or(0) + 1);
        let options = UpdateServiceOptions {
            version: i32::try_from(version).unwrap_or(i32::MAX),
            ..Default::default()
        };
        deadline("update service", CALL_DEADLINE, async {
            self.docker()
                .update_service(name, spec, options, None)
                .await
                .map_err(|e| EngineError::call("update service", e))
        })
        .await?;
        Ok(())
    }

    /// The update state of service `name` (`updating`, `completed`, `paused`, ...; None before
    /// any update) and Swarm's message about it.
    pub async fn service_update_state(
        &self,
        name: &str,
    ) -> Result<Option<(String, String)>, EngineError> {
        let service = deadline("inspect service", CALL_DEADLINE, async {
            self.docker()
                .inspect_service(name, None)
                .await
                .map_err(|e| EngineError::call("inspect service", e))
        })
        .await?;
        Ok(service.update_status.and_then(|s| {
            let state = s.state?.to_string();
            Some((state, s.message.unwrap_or_default()))
        }))
    }

    /// Every task of service `name`, in no order.
    pub async fn service_tasks(&self, name: &str) -> Result<Vec<TaskFact>, EngineError> {
        let options = ListTasksOptions {
            filters: Some(HashMap::from([(
                "service".to_string(),
                vec![name.to_string()],
            )])),
        };
        let tasks = deadline("list tasks", CALL_DEADLINE, async {
            self.docker()
                .list_tasks(Some(options))
                .await
                .map_err(|e| EngineError::call("list tasks", e))
        })
        .await?;
        let word = |state: Option<TaskState>| state.map_or_else(String::new, |s| s.to_string());
        Ok(tasks
            .into_iter()
            .filter_map(|task| {
                let status = task.status.unwrap_or_default();
                Some(TaskFact {
                    id: task.id?,
                    slot: task.slot.unwrap_or(0),
                    desired: word(task.desired_state),
                    state: word(status.state),
                    container: status
                        .container_status
                        .and_then(|c| c.container_id)
                        .filter(|id| !id.is_empty()),
                    error: status.err.filter(|e| !e.is_empty()),
                })
            })
            .collect())
    }

    /// Follows the `kill` and `die` events of service `name`'s containers, from now on. Never
    /// ends by itself.
    pub fn service_container_events(
        &self,
        name: &str,
    ) -> impl Stream<Item = ContainerEvent> + Send + 'static {
        let filters = HashMap::from([
            ("type".to_string(), vec!["container".to_string()]),
            (
                "event".to_string(),
                vec!["kill".to_string(), "die".to_string()],
            ),
            ("label".to_string(), vec![format!("{SERVICE_LABEL}={name}")]),
        ]);
        let options = EventsOptions {
            since: None,
            until: None,
            filters: Some(filters),
        };
        self.docker()
            .events(Some(options))
            .take_while(|event| std::future::ready(event.is_ok()))
            .filter_map(|event| async move {
                let event = event.ok()?;
                let actor = event.actor?;
                let attributes = actor.attributes.unwrap_or_default();
                let number = |key: &str| attributes.get(key).and_then(|v| v.parse::<i64>().ok());
                let action = match event.action.as_deref()? {
                    "kill" => ContainerAction::Kill(
                        number("signal")
                            .and_then(|n| i32::try_from(n).ok())
                            .unwrap_or(0),
                    ),
                    "die" => ContainerAction::Die(number("exitCode").unwrap_or(-1)),
                    _ => return None,
                };
                let at = event.time_nano.map_or_else(SystemTime::now, |nanos| {
                    SystemTime::UNIX_EPOCH + Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
                });
                Some(ContainerEvent {
                    container: actor.id?,
                    action,
                    at,
                })
            })
    }

    /// Removes service `name` and waits until its containers are gone (so that its network
    /// can go next); false when it was already gone.
    pub async fn remove_service(&self, name: &str) -> Result<bool, EngineError> {
        let removed = deadline("remove service", CALL_DEADLINE, async {
            match self.docker().delete_service(name).await {
                Ok(()) => Ok(true),
                Err(e) if is_not_found(&e) => Ok(false),
                Err(e) => Err(EngineError::call("remove service", e)),
            }
        })
        .await?;
        let label = format!("{SERVICE_LABEL}={name}");
        deadline("remove service", REMOVE_WAIT, async {
            while !self.labelled_containers(&label).await?.is_empty() {
                tokio::time::sleep(REMOVE_POLL).await;
            }
            Ok(())
        })
        .await?;
        Ok(removed)
    }

    /// The services carrying `label` (`key` or `key=value`); none when the engine is no swarm
    /// manager (it can have none to list).
    pub async fn labelled_services(
        &self,
        label: &str,
    ) -> Result<Vec<LabelledService>, EngineError> {
        if self.swarm_state().await? != SwarmState::Manager {
            return Ok(Vec::new());
        }
        let options = ListServicesOptions {
            filters: Some(HashMap::from([(
                "label".to_string(),
                vec![label.to_string()],
            )])),
            status: None,
        };
        let services = deadline("list services", CALL_DEADLINE, async {
            self.docker()
                .list_services(Some(options))
                .await
                .map_err(|e| EngineError::call("list services", e))
        })
        .await?;
        Ok(services
            .into_iter()
            .filter_map(|s| {
                let spec = s.spec?;
                Some(LabelledService {
                    name: spec.name?,
                    labels: spec.labels.unwrap_or_default(),
                })
            })
            .collect())
    }

    /// Removes every service carrying `label`; returns how many.
    pub async fn remove_labelled_services(&self, label: &str) -> Result<usize, EngineError> {
        let mut removed = 0;
        for service in self.labelled_services(label).await? {
            if self.remove_service(&service.name).await? {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// A duration in the API's nanoseconds.
fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_nanoseconds() {
        assert_eq!(nanos(Duration::from_secs(2)), 2_000_000_000);
    }
}
