//! Runs a rollout as the harness emulates it (Kubernetes' order of termination on single
//! containers) behind a real load balancer: a network of its own (internal: no route out, a
//! subnet of its own so that no replica is handed an address another one had), HAProxy on it
//! with its frontend published on 127.0.0.1 and its log followed, the replicas, a steady stream
//! through the balancer, and each replica replaced in turn (the new one starts and enters the
//! pool once its readiness probe passes, then the old one is terminated in Kubernetes' order).
//! Everything it made is removed whatever happens. What both rollout runners share is in
//! `rollout_plan.rs`.

use std::net::IpAddr;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::balancer::{
    ADMIN_PORT, BalancerControl, FRONTEND_PORT, RELAY_PORT_BASE, RELAY_READY_LINE, ServerStatus,
    relay_env,
};
use crate::engine::{Attachment, ContainerConfig, Engine, ExecOutcome, run_labels};
use crate::model::events::EventKind;
use crate::model::rollout::{HookOutcome, PreStop, replica_name};
use crate::model::scenario::Target;
use crate::run::error::ScenarioError;
use crate::run::load;
use crate::run::logs::{self, Writer};
use crate::run::ready;
use crate::run::rollout_plan::{
    BALANCER_START, BALANCER_STOP, Plan, default_load, serves_through, soft_stop,
};

/// How long a replica may take to pass its readiness probe.
const START_WAIT: Duration = Duration::from_secs(30);
/// How long a new replica may take to pass the balancer's health checks, when it runs them.
const POOL_WAIT: Duration = Duration::from_secs(30);
/// How often the balancer is asked whether a new replica passed its health checks.
const POOL_POLL: Duration = Duration::from_millis(50);
/// How many addresses of the run's network are set aside: the balancer's, then one for each
/// replica and replacement, then the relay's.
const ADDRESSES: usize = 2 + crate::balancer::SLOTS;
/// How long a replica may take to exit after SIGKILL.
const KILL_WAIT: Duration = Duration::from_secs(30);

/// What the rollout made, removed at the end in reverse: containers, then the network.
#[derive(Default)]
struct Made {
    containers: Vec<String>,
    network: Option<String>,
    followers: Vec<JoinHandle<()>>,
    /// The balancer's log follower, which ends on its own once the balancer has exited.
    balancer_log: Option<JoinHandle<()>>,
}

impl Made {
    async fn remove(self, engine: &Engine) -> Result<(), ScenarioError> {
        for follower in self.followers.iter().chain(&self.balancer_log) {
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

/// What every step of one rollout shares: its plan, its network and the addresses set aside on
/// it (the balancer's first, then replica k's at k, the relay's last), its balancer's API, and
/// the relay's address when the balancer reaches its replicas through it.
struct Rollout<'a> {
    plan: Plan<'a>,
    network: String,
    addresses: Vec<IpAddr>,
    api: BalancerControl,
    relay: Option<IpAddr>,
}

/// Runs `plan`'s rollout; every container and the network are removed before returning, also
/// when the run is cancelled.
pub(super) async fn run_emulated(plan: Plan<'_>) -> Result<(), ScenarioError> {
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
    let network = engine
        .create_run_network(&format!("{name}-net"), labels.clone())
        .await?;
    made.network = Some(network.name.clone());
    let addresses: Vec<IpAddr> = network
        .addresses()
        .take(ADDRESSES)
        .map(IpAddr::V4)
        .collect();

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
        .connect_network(
            &balancer,
            &Attachment {
                network: network.name.clone(),
                alias: "balancer".to_string(),
                address: addresses.first().copied(),
            },
        )
        .await?;
    engine.start_container(&balancer).await?;
    made.balancer_log = Some(tokio::spawn(logs::follow_balancer(
        engine.clone(),
        balancer.clone(),
        sink.clone(),
    )));
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
    let api = BalancerControl::new(admin);
    api.wait_answering(BALANCER_START).await?;
    sink.emit(EventKind::Started {
        image: Some(image.to_string()),
    });

    let relay = if spec.balancer.latency.is_zero() {
        None
    } else {
        Some(start_relay(plan, &network.name, &addresses, made).await?)
    };
    let rollout = Rollout {
        plan,
        network: network.name,
        addresses,
        api,
        relay,
    };
    let count = spec.replicas;
    let mut old = Vec::with_capacity(usize::from(count));
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
        if spec.replace > 0 {
            tokio::time::sleep_until(ready + scenario.stop.at).await;
        }
        let replaced = old.into_iter().take(usize::from(spec.replace));
        for (k, replica) in (count + 1..).zip(replaced) {
            rollout.start_replica(k, made).await?;
            rollout.terminate(&replica).await?;
        }
        // The stream runs its duration, and a little past the last exit; then it ends.
        done_tx.send_replace(Some(0));
        Ok::<(), ScenarioError>(())
    };
    let (_, stepped) = tokio::join!(stream, steps);
    stepped?;
    rollout.stop_balancer(&balancer, made).await
}

impl Rollout<'_> {
    /// Starts replica `k` (`rk`, slot `sk`) at its own address (unless the scenario lets the
    /// engine reuse addresses), waits until its readiness probe passes, puts it in the
    /// balancer's pool, and, when the balancer checks, waits until its checks pass too.
    async fn start_replica(&self, k: u8, made: &mut Made) -> Result<Replica, ScenarioError> {
        let replica = replica_name(k);
        let slot = format!("s{k}");
        let scenario = self.plan.scenario;
        let (env, init) = match &scenario.target {
            Target::Container(spec) => (scenario.server.env(), spec.init),
            Target::Image(spec) => (Vec::new(), spec.init),
            Target::Runtime(spec) => (Vec::new(), spec.init),
            Target::Process | Target::Running(_) => (Vec::new(), false),
        };
        let port = scenario.port();
        let what = format!("replica {replica} ({})", self.plan.image);
        // Published on 127.0.0.1 for the readiness probe, which the kubelet runs from the node
        // and not through the balancer; the balancer reaches it on the run's network.
        let id = self
            .plan
            .engine
            .create_container(&ContainerConfig {
                name: Some(format!("{}-{replica}", self.plan.name)),
                image: self.plan.image.to_string(),
                env,
                labels: run_labels(&self.plan.cx.run_id),
                init,
                stop_signal: Some(scenario.stop.signal),
                publish: vec![port],
                ..ContainerConfig::default()
            })
            .await?;
        made.containers.push(id.clone());
        let address = if self.plan.spec.address_reuse {
            None
        } else {
            Some(
                *self
                    .addresses
                    .get(usize::from(k))
                    .ok_or_else(|| ScenarioError::Start {
                        what: what.clone(),
                        reason: format!("the run's network has no address left for {replica}"),
                    })?,
            )
        };
        self.plan
            .engine
            .connect_network(
                &id,
                &Attachment {
                    network: self.network.clone(),
                    alias: replica.clone(),
                    address,
                },
            )
            .await?;
        self.plan.engine.start_container(&id).await?;
        // Followed once it runs (a created container's log ends at once); the stream replays
        // what was printed before.
        let (started_tx, _started_rx) = oneshot::channel();
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
        let state = self.plan.engine.inspect_container(&id).await?;
        let probed = state
            .published(port)
            .ok_or_else(|| ScenarioError::NotPublished {
                what: what.clone(),
                port,
            })?;
        let readiness = &self.plan.spec.readiness;
        let path = readiness
            .path
            .clone()
            .unwrap_or_else(|| scenario.ready_path().to_string());
        ready::probe_passes(probed, &path, readiness, START_WAIT, &what).await?;
        let address = state
            .address_on(&self.network)
            .ok_or_else(|| ScenarioError::Start {
                what: what.clone(),
                reason: format!("it has no address on network {}", self.network),
            })?;
        // Through the relay, on slot k's own port, which leads to replica k's address.
        let (target, target_port) = match self.relay {
            Some(relay) => (relay, RELAY_PORT_BASE + u16::from(k)),
            None => (address, port),
        };
        self.api.set_address(&slot, target, target_port).await?;
        self.api.set_in_service(&slot, true).await?;
        if self.plan.spec.balancer.checks.is_some() {
            self.wait_in_pool(&replica, &slot).await?;
        }
        self.plan.sink.emit(EventKind::ReplicaInPool {
            replica: replica.clone(),
            address,
        });
        Ok(Replica {
            name: replica,
            slot,
            id,
        })
    }

    /// Tells the balancer to stop (HAProxy's soft stop: it finishes what it serves, writes
    /// its last log lines and exits), then waits until its log has been read to the end, so
    /// that every request of the stream has its record.
    async fn stop_balancer(&self, id: &str, made: &mut Made) -> Result<(), ScenarioError> {
        soft_stop(self.plan.engine, id).await?;
        if let Some(follower) = made.balancer_log.take() {
            // The log ends with the container; bounded in case the engine's stream does not.
            let _ = tokio::time::timeout(BALANCER_STOP, follower).await;
        }
        Ok(())
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
            // The engine's stamp of the exit, not when the wait returned: the stale-endpoint
            // phase starts there.
            let died = self.plan.engine.died_at(&replica.id).await;
            self.plan.sink.emit_at(
                died.map_or_else(Instant::now, logs::harness_instant),
                EventKind::ReplicaExited {
                    replica: replica.name.clone(),
                    code,
                },
            );
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

    /// The longest the stream may run, and any request of it take: every replacement's start,
    /// grace and lag, and the balancer's tries of a gone replica, with room.
    fn budget(&self) -> Duration {
        let spec = self.plan.spec;
        let per_replica =
            START_WAIT + POOL_WAIT + spec.termination_grace + spec.endpoint_lag + KILL_WAIT;
        // Each try waits out the connect timeout, and HAProxy turns around for a second between
        // tries.
        let tries = (spec.balancer.connect_timeout + Duration::from_secs(1))
            * (u32::from(spec.balancer.retries) + 1);
        self.plan.scenario.stop.at
            + self
                .plan
                .scenario
                .load
                .as_ref()
                .map_or(Duration::ZERO, |l| l.duration)
            + per_replica * u32::from(spec.replace)
            + tries
    }
}

/// Starts the delaying relay on the run's network at its address (the last set aside), with a
/// route for every slot to the address its replica will have, and waits until it listens.
async fn start_relay(
    plan: Plan<'_>,
    network: &str,
    addresses: &[IpAddr],
    made: &mut Made,
) -> Result<IpAddr, ScenarioError> {
    let what = "the relay".to_string();
    let (Some(image), Some(address)) = (&plan.cx.relay, addresses.last().copied()) else {
        return Err(ScenarioError::NotPrepared {
            scenario: plan.scenario.name.clone(),
        });
    };
    let id = plan
        .engine
        .create_container(&ContainerConfig {
            name: Some(format!("{}-relay", plan.name)),
            image: image.clone(),
            env: relay_env(plan.spec.balancer.latency, addresses, plan.scenario.port()),
            labels: run_labels(&plan.cx.run_id),
            network: Some(Attachment {
                network: network.to_string(),
                alias: "relay".to_string(),
                address: Some(address),
            }),
            ..ContainerConfig::default()
        })
        .await?;
    made.containers.push(id.clone());
    plan.engine.start_container(&id).await?;
    let lines = plan.engine.output_lines(&id);
    let listening = async {
        futures_util::pin_mut!(lines);
        while let Some(line) = lines.next().await {
            if line.text == RELAY_READY_LINE {
                return true;
            }
        }
        false
    };
    match tokio::time::timeout(START_WAIT, listening).await {
        Ok(true) => Ok(address),
        Ok(false) => Err(ScenarioError::ExitedEarly { what, code: -1 }),
        Err(_) => Err(ScenarioError::NotReady {
            what,
            waited: START_WAIT,
            reason: format!("it never printed {RELAY_READY_LINE:?}"),
        }),
    }
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
