//! Runs a rolling update behind a real load balancer: a network of its own (internal: no route
//! out), HAProxy on it with its frontend published on 127.0.0.1, the replicas, a steady stream
//! through the balancer, and each replica replaced in turn (the new one starts and enters the
//! pool, then the old one is terminated in Kubernetes' order). Everything it made is removed
//! whatever happens.

use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::balancer::{ADMIN_PORT, FRONTEND_PORT, RuntimeApi, ServerStatus};
use crate::engine::{ContainerConfig, Engine, EngineKind, ExecOutcome, run_labels};
use crate::events::EventKind;
use crate::rollout::{HookOutcome, PreStop, RolloutSpec};
use crate::run::RunContext;
use crate::run::error::ScenarioError;
use crate::run::load;
use crate::run::logs::{self, Writer};
use crate::run::ready;
use crate::run::sink::EventSink;
use crate::scenario::{Scenario, Target};
use crate::traffic::{ClientProfile, LoadSpec};

/// How long a replica may take to log its start line.
const START_WAIT: Duration = Duration::from_secs(30);
/// How long HAProxy may take to answer its runtime API.
const BALANCER_START: Duration = Duration::from_secs(15);
/// How long a new replica may take to pass the balancer's health check.
const POOL_WAIT: Duration = Duration::from_secs(15);
/// How often the balancer is asked whether a new replica passed its health check (its checks
/// run every 200 ms).
const POOL_POLL: Duration = Duration::from_millis(50);
/// How long a replica may take to exit after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(30);
/// How long the request that proves the balancer reaches its replicas may take.
const PROBE_DEADLINE: Duration = Duration::from_secs(10);
/// The stream when the scenario names none: 100 requests/s of a 100 ms handler.
const DEFAULT_RATE: u32 = 100;

/// What the rollout made, removed at the end in reverse: containers, then the network.
#[derive(Default)]
struct Made {
    containers: Vec<String>,
    network: Option<String>,
    followers: Vec<JoinHandle<()>>,
}

impl Made {
    async fn remove(self, engine: &Engine) -> Result<(), ScenarioError> {
        for follower in &self.followers {
            follower.abort();
        }
        let mut first_error = None;
        for id in self.containers.iter().rev() {
            if let Err(e) = engine.remove_container(id).await {
                first_error.get_or_insert(e);
            }
        }
        if let Some(network) = &self.network
            && let Err(e) = engine.remove_network(network).await
        {
            first_error.get_or_insert(e);
        }
        first_error.map_or(Ok(()), |e| Err(e.into()))
    }
}

/// A replica of the rollout: its name (`r1`), its balancer slot (`s1`), its container.
struct Replica {
    name: String,
    slot: String,
    id: String,
}

/// What every step of one rollout shares: its plan, its network, its balancer's API.
struct Rollout<'a> {
    plan: Plan<'a>,
    network: String,
    api: RuntimeApi,
}

/// A rollout to run: `scenario`'s `spec`, replicas of `image` behind a balancer of
/// `balancer_image`, everything named after `name`.
#[derive(Clone, Copy)]
pub(super) struct Plan<'a> {
    pub(super) engine: &'a Engine,
    pub(super) scenario: &'a Scenario,
    pub(super) spec: &'a RolloutSpec,
    pub(super) image: &'a str,
    pub(super) balancer_image: &'a str,
    pub(super) name: &'a str,
    pub(super) cx: &'a RunContext,
    pub(super) sink: &'a EventSink,
}

/// Runs `plan`'s rollout; every container and the network are removed before returning, also
/// when the run is cancelled.
pub(super) async fn run(plan: Plan<'_>) -> Result<(), ScenarioError> {
    let mut made = Made::default();
    let outcome = tokio::select! {
        outcome = rollout(plan, &mut made) => outcome,
        () = plan.cx.cancel.cancelled() => Err(ScenarioError::Interrupted),
    };
    let removed = made.remove(plan.engine).await;
    outcome?;
    removed
}

async fn rollout(plan: Plan<'_>, made: &mut Made) -> Result<(), ScenarioError> {
    let Plan {
        engine,
        scenario,
        spec,
        image,
        balancer_image,
        name,
        cx,
        sink,
    } = plan;
    let labels = run_labels(&cx.run_id);
    let network = format!("{name}-net");
    made.network = Some(engine.create_network(&network, labels.clone()).await?);

    // The balancer: published on 127.0.0.1 from the default network, and on the run's own.
    let balancer = engine
        .create_container(&ContainerConfig {
            name: Some(format!("{name}-balancer")),
            image: balancer_image.to_string(),
            env: spec.balancer.env(),
            labels,
            publish: vec![FRONTEND_PORT, ADMIN_PORT],
            ..ContainerConfig::default()
        })
        .await?;
    made.containers.push(balancer.clone());
    engine
        .connect_network(&balancer, &network, "balancer")
        .await?;
    engine.start_container(&balancer).await?;
    let state = engine.inspect_container(&balancer).await?;
    let published = |port| {
        state
            .published(port)
            .ok_or_else(|| ScenarioError::NotPublished {
                what: "the balancer".to_string(),
                port,
            })
    };
    let (frontend, admin) = (published(FRONTEND_PORT)?, published(ADMIN_PORT)?);
    let api = RuntimeApi::new(admin);
    api.wait_answering(BALANCER_START).await?;
    sink.emit(EventKind::Started {
        image: Some(image.to_string()),
    });

    let rollout = Rollout { plan, network, api };
    let count = usize::from(spec.replicas);
    let mut old = Vec::with_capacity(count);
    for k in 1..=count {
        old.push(rollout.start_replica(k, made).await?);
    }
    let probe_path = if scenario.runs_our_server() {
        "/healthz".to_string()
    } else {
        scenario
            .load
            .as_ref()
            .map_or_else(|| "/".to_string(), |l| l.path.clone())
    };
    serves_through(engine, frontend, &probe_path).await?;
    sink.emit(EventKind::Ready);
    let ready = Instant::now();

    let (done_tx, done_rx) = watch::channel(None);
    let load_spec = scenario
        .load
        .clone()
        .unwrap_or_else(|| default_load(scenario));
    let budget = rollout.budget();
    let stream = load::send(&load_spec, frontend, ready, done_rx, budget, budget, sink);
    let steps = async {
        tokio::time::sleep_until(ready + scenario.stop.at).await;
        for (i, replica) in old.into_iter().enumerate() {
            rollout.start_replica(count + i + 1, made).await?;
            rollout.terminate(&replica).await?;
        }
        // The stream runs a little past the last exit, then ends.
        done_tx.send_replace(Some(0));
        Ok::<(), ScenarioError>(())
    };
    let (_, stepped) = tokio::join!(stream, steps);
    stepped
}

impl Rollout<'_> {
    /// Starts replica `k` (`rk`, slot `sk`), waits for its start line, puts it in the
    /// balancer's pool, and, with health checks, waits until the balancer sees it up.
    async fn start_replica(&self, k: usize, made: &mut Made) -> Result<Replica, ScenarioError> {
        let replica = format!("r{k}");
        let slot = format!("s{k}");
        let (env, init) = match &self.plan.scenario.target {
            Target::Container(spec) => (self.plan.scenario.server.env(), spec.init),
            Target::Image(spec) => (Vec::new(), spec.init),
            Target::Runtime(spec) => (Vec::new(), spec.init),
            Target::Process | Target::Running(_) => (Vec::new(), false),
        };
        let id = self
            .plan
            .engine
            .create_container(&ContainerConfig {
                name: Some(format!("{}-{replica}", self.plan.name)),
                image: self.plan.image.to_string(),
                env,
                labels: run_labels(&self.plan.cx.run_id),
                init,
                stop_signal: Some(self.plan.scenario.stop.signal),
                network: Some((self.network.clone(), replica.clone())),
                ..ContainerConfig::default()
            })
            .await?;
        made.containers.push(id.clone());
        self.plan.engine.start_container(&id).await?;
        // Followed once it runs (a created container's log ends at once); the stream replays
        // what was printed before.
        let (started_tx, started_rx) = oneshot::channel();
        made.followers.push(tokio::spawn(logs::follow(
            self.plan.engine.clone(),
            id.clone(),
            Writer::Replica(replica.clone()),
            self.plan.sink.clone(),
            started_tx,
            None,
        )));
        self.plan.sink.emit(EventKind::ReplicaStarted {
            replica: replica.clone(),
        });
        let what = format!("replica {replica} ({})", self.plan.image);
        if self.plan.scenario.runs_our_server() {
            let (_never, exited) = watch::channel(None);
            ready::logged_start(started_rx, START_WAIT, exited, &what).await?;
        }
        let state = self.plan.engine.inspect_container(&id).await?;
        let address = state
            .address_on(&self.network)
            .ok_or_else(|| ScenarioError::Start {
                what: what.clone(),
                reason: format!("it has no address on network {}", self.network),
            })?;
        self.api
            .set_address(&slot, address, self.plan.scenario.port())
            .await?;
        self.api.set_in_service(&slot, true).await?;
        if self.plan.spec.balancer.checks {
            self.wait_in_pool(&replica, &slot).await?;
        }
        self.plan.sink.emit(EventKind::ReplicaInPool {
            replica: replica.clone(),
        });
        Ok(Replica {
            name: replica,
            slot,
            id,
        })
    }

    /// Waits until the balancer's health check says `slot` is up.
    async fn wait_in_pool(&self, replica: &str, slot: &str) -> Result<(), ScenarioError> {
        let until = Instant::now() + POOL_WAIT;
        loop {
            let status = self.api.status(slot).await?;
            if status == ServerStatus::Up {
                return Ok(());
            }
            if Instant::now() >= until {
                return Err(ScenarioError::NotInPool {
                    replica: replica.to_string(),
                    waited: POOL_WAIT,
                    status: format!("{status:?}"),
                });
            }
            tokio::time::sleep(POOL_POLL).await;
        }
    }

    /// Terminates `replica` in Kubernetes' order: the `preStop` step, and beside it the
    /// endpoint leaving the pool after the lag; then the stop signal, and SIGKILL once the
    /// grace period (counted from the start) is over. Returns once it has exited and left the
    /// pool; its container is removed at the end of the run.
    async fn terminate(&self, replica: &Replica) -> Result<(), ScenarioError> {
        let began = Instant::now();
        let deadline = began + self.plan.spec.termination_grace;
        self.plan.sink.emit(EventKind::TerminationBegan {
            replica: replica.name.clone(),
        });
        let endpoint = async {
            tokio::time::sleep_until(began + self.plan.spec.endpoint_lag).await;
            self.api.set_in_service(&replica.slot, false).await?;
            self.plan.sink.emit(EventKind::EndpointRemoved {
                replica: replica.name.clone(),
            });
            Ok::<(), ScenarioError>(())
        };
        let sequence = async {
            if let Some(outcome) = self.pre_stop(replica, deadline).await {
                self.plan.sink.emit(EventKind::PreStopEnded {
                    replica: replica.name.clone(),
                    outcome,
                });
            }
            let signal = self.plan.scenario.stop.signal;
            // A replica that already exited (its hook killed it, say) is not signalled. The
            // moment is taken before the call: the replica may log the signal before it returns.
            let sent = Instant::now();
            if sent < deadline
                && self
                    .plan
                    .engine
                    .kill_container(&replica.id, signal.name())
                    .await
                    .is_ok()
            {
                self.plan.sink.emit_at(
                    sent,
                    EventKind::ReplicaSignalled {
                        replica: replica.name.clone(),
                        signal,
                    },
                );
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let code = match self.plan.engine.wait_container(&replica.id, left).await {
                Ok(code) => code,
                Err(_) => {
                    let sent = Instant::now();
                    self.plan
                        .engine
                        .kill_container(&replica.id, "SIGKILL")
                        .await?;
                    self.plan.sink.emit_at(
                        sent,
                        EventKind::ReplicaKilled {
                            replica: replica.name.clone(),
                        },
                    );
                    self.plan
                        .engine
                        .wait_container(&replica.id, KILL_WAIT)
                        .await?
                }
            };
            self.plan.sink.emit(EventKind::ReplicaExited {
                replica: replica.name.clone(),
                code,
            });
            Ok::<(), ScenarioError>(())
        };
        let (removed, stopped) = tokio::join!(endpoint, sequence);
        removed?;
        stopped
    }

    /// Runs the `preStop` step, bounded by the grace period; None when there is none.
    async fn pre_stop(&self, replica: &Replica, deadline: Instant) -> Option<HookOutcome> {
        let step = async {
            match &self.plan.spec.pre_stop {
                PreStop::None => None,
                PreStop::Sleep(pause) => {
                    tokio::time::sleep(*pause).await;
                    Some(HookOutcome::Done)
                }
                PreStop::Exec(command) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    Some(
                        match self.plan.engine.exec(&replica.id, command, left).await {
                            Ok(ExecOutcome {
                                exit_code: Some(0), ..
                            }) => HookOutcome::Done,
                            Ok(outcome) => HookOutcome::Failed(failed_exec(&outcome)),
                            Err(e) => HookOutcome::Failed(e.to_string()),
                        },
                    )
                }
            }
        };
        match tokio::time::timeout_at(deadline, step).await {
            Ok(outcome) => outcome,
            Err(_) => Some(HookOutcome::CutByGrace),
        }
    }

    /// The longest the stream may run: every replacement's start, grace and lag, with room.
    fn budget(&self) -> Duration {
        let per_replica = START_WAIT
            + POOL_WAIT
            + self.plan.spec.termination_grace
            + self.plan.spec.endpoint_lag
            + KILL_WAIT;
        self.plan.scenario.stop.at + per_replica * u32::from(self.plan.spec.replicas)
    }
}

/// Checks that one request through the balancer is answered by a replica: a fact the stream's
/// counts rely on (a balancer that reaches nothing would make every cell "lossy").
async fn serves_through(
    engine: &Engine,
    frontend: std::net::SocketAddr,
    path: &str,
) -> Result<(), ScenarioError> {
    let response = crate::client::get(frontend, path, PROBE_DEADLINE, None, || {}).await;
    if response.status.is_some_and(|s| (200..300).contains(&s)) {
        return Ok(());
    }
    let answer = match response.status {
        Some(status) => format!("{status}"),
        None => response.outcome.to_string(),
    };
    // Measured: Docker sets the FORWARD policy to DROP and bridged traffic goes through
    // iptables (br_netfilter); netavark adds accept rules for Podman's networks, but none for
    // an internal one, so its containers cannot reach each other while Docker runs beside it.
    let hint = if engine.info().kind == EngineKind::Podman {
        "; on Podman with Docker on the same host, containers on an internal network cannot reach each other (Docker's FORWARD policy DROP applies to bridged traffic, and netavark adds no accept rule for internal networks): run rollouts on Docker".to_string()
    } else {
        String::new()
    };
    Err(ScenarioError::NotThroughBalancer {
        path: path.to_string(),
        answer,
        hint,
    })
}

/// What a failed exec hook said: its status and the first line of its output.
fn failed_exec(outcome: &ExecOutcome) -> String {
    let said = outcome.output.lines().next().unwrap_or("").trim();
    match (outcome.exit_code, said.is_empty()) {
        (Some(code), true) => format!("exit {code}"),
        (Some(code), false) => format!("exit {code}: {said}"),
        (None, _) => said.to_string(),
    }
}

/// The stream of a rollout that names none: 100 requests/s of a 100 ms handler on our server,
/// of `/` on another.
fn default_load(scenario: &Scenario) -> LoadSpec {
    let path = if scenario.runs_our_server() {
        "/?delay=100ms"
    } else {
        "/"
    };
    LoadSpec {
        rate: DEFAULT_RATE,
        duration: Duration::from_secs(1),
        path: path.to_string(),
        client: ClientProfile::Fresh,
    }
}
