//! Runs a rollout on Docker Swarm: the replicas are a service's tasks on an overlay network of
//! the run's own, HAProxy finds them through the engine's DNS (`tasks.<service>`), and a real
//! `docker service update --force` replaces them in Swarm's own order under the steady stream.
//! What Swarm did is read from the engine's facts as they come: the tasks' states (polled), the
//! `kill` and `die` events of their containers, and the addresses the balancer's log says
//! entered and left its pool; each request is given to the task whose address it went to.
//! Everything it made is removed whatever happens.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::balancer::{
    ADMIN_PORT, BalancerControl, BalancerLine, DnsChange, FRONTEND_PORT, dns_change,
    parse_log_line, request_address, request_server,
};
use crate::engine::{
    Attachment, ContainerAction, ContainerConfig, Engine, ServiceConfig, SwarmState, TaskFact,
    run_labels,
};
use crate::model::events::EventKind;
use crate::model::rollout::{BalancerRecord, Orchestrator, replica_name, swarm_balancer_env};
use crate::model::scenario::Target;
use crate::run::error::ScenarioError;
use crate::run::load;
use crate::run::logs::harness_instant;
use crate::run::rollout_plan::{
    BALANCER_START, BALANCER_STOP, Plan, default_load, serves_through, soft_stop,
};
use crate::run::sink::EventSink;

/// How long the service's first tasks may take to run and enter the balancer's pool.
const START_WAIT: Duration = Duration::from_secs(60);
/// How often the service's tasks are listed: the precision of a task's state change.
const TASK_POLL: Duration = Duration::from_millis(50);
/// How long Swarm waits between taking a task out of DNS and stopping it (moby's
/// `defaultGossipConvergeDelay`): part of every replacement's time.
const GOSSIP_DELAY: Duration = Duration::from_secs(2);
/// How long one task's replacement may take beyond its grace period.
const PER_TASK: Duration = Duration::from_secs(30);

/// What the run made, removed at the end: the balancer, then the service, then the network.
#[derive(Default)]
struct Made {
    balancer: Option<String>,
    service: Option<String>,
    network: Option<String>,
    followers: Vec<JoinHandle<()>>,
    balancer_log: Option<JoinHandle<Deferred>>,
}

impl Made {
    async fn remove(self, engine: &Engine) -> Result<(), ScenarioError> {
        for follower in &self.followers {
            follower.abort();
        }
        if let Some(log) = &self.balancer_log {
            log.abort();
        }
        let mut first_error = None;
        if let Some(balancer) = &self.balancer
            && let Err(e) = engine.remove_container(balancer).await
        {
            first_error.get_or_insert(e);
        }
        if let Some(service) = &self.service
            && let Err(e) = engine.remove_service(service).await
        {
            first_error.get_or_insert(e);
        }
        if let Some(network) = &self.network
            && let Err(e) = engine.remove_network(network).await
        {
            first_error.get_or_insert(e);
        }
        first_error.map_or(Ok(()), |e| Err(e.into()))
    }
}

/// The tasks seen so far: each one's replica number (in the order they were first seen), its
/// container and its address on the run's network.
#[derive(Default)]
struct Tasks {
    by_task: HashMap<String, u8>,
    by_container: HashMap<String, u8>,
    by_address: HashMap<IpAddr, u8>,
    /// Replicas whose termination (desired state `shutdown`) was seen.
    terminating: Vec<u8>,
    /// The latest poll.
    latest: Vec<TaskFact>,
}

/// Facts that named an address or container before the poller had matched it to a task:
/// emitted at the end, at their own instants.
#[derive(Default)]
struct Deferred {
    entered: Vec<(Instant, IpAddr)>,
    left: Vec<(Instant, IpAddr)>,
    records: Vec<(BalancerRecord, Option<IpAddr>)>,
}

/// Runs `plan`'s rollout on Swarm; everything it made is removed before returning, also when
/// the run is cancelled. Without a swarm manager to run it on, it is skipped.
pub(super) async fn run_on_swarm(plan: Plan<'_>) -> Result<(), ScenarioError> {
    match plan.engine.swarm_state().await? {
        SwarmState::Manager => {}
        SwarmState::Inactive => {
            return Err(ScenarioError::NoSwarm {
                reason: "the engine is not in a swarm".to_string(),
            });
        }
        SwarmState::Other(state) => {
            return Err(ScenarioError::NoSwarm {
                reason: format!("the engine is in a swarm but not as a manager ({state})"),
            });
        }
    }
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
    let Orchestrator::Swarm { order, parallelism } = spec.orchestrator else {
        return Err(ScenarioError::NotPrepared {
            scenario: scenario.name.clone(),
        });
    };
    let labels = run_labels(&cx.run_id);
    let network = format!("{name}-net");
    engine
        .create_overlay_network(&network, labels.clone())
        .await?;
    made.network = Some(network.clone());

    let (env, init) = match &scenario.target {
        Target::Container(c) => (scenario.server.env(), c.init),
        Target::Image(i) => (Vec::new(), i.init),
        Target::Runtime(r) => (Vec::new(), r.init),
        Target::Process | Target::Running(_) => (Vec::new(), false),
    };
    let service = format!("{name}-svc");
    engine
        .create_service(&ServiceConfig {
            name: service.clone(),
            image: image.to_string(),
            env,
            labels: labels.clone(),
            network: network.clone(),
            replicas: spec.replicas,
            stop_grace: spec.termination_grace,
            stop_signal: Some(scenario.stop.signal),
            init,
            order,
            parallelism,
        })
        .await?;
    made.service = Some(service.clone());
    let tasks = Arc::new(Mutex::new(Tasks::default()));
    made.followers.push(tokio::spawn(poll_tasks(
        engine.clone(),
        service.clone(),
        network.clone(),
        tasks.clone(),
        sink.clone(),
    )));
    made.followers.push(tokio::spawn(follow_containers(
        engine.clone(),
        service.clone(),
        tasks.clone(),
        sink.clone(),
        scenario.stop.signal,
    )));

    // The balancer: published on 127.0.0.1 from the default network, and on the overlay.
    let balancer = engine
        .create_container(&ContainerConfig {
            name: Some(format!("{name}-balancer")),
            image: balancer_image.to_string(),
            env: swarm_balancer_env(&spec.balancer, &service, scenario.port()),
            labels,
            publish: vec![FRONTEND_PORT, ADMIN_PORT],
            ..ContainerConfig::default()
        })
        .await?;
    made.balancer = Some(balancer.clone());
    engine
        .connect_network(
            &balancer,
            &Attachment {
                network: network.clone(),
                alias: "balancer".to_string(),
                address: None,
            },
        )
        .await?;
    engine.start_container(&balancer).await?;
    let (pool_tx, mut pool_rx) = watch::channel(0usize);
    made.balancer_log = Some(tokio::spawn(follow_balancer(
        engine.clone(),
        balancer.clone(),
        tasks.clone(),
        sink.clone(),
        pool_tx,
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
    let (frontend, admin): (SocketAddr, SocketAddr) =
        (published(FRONTEND_PORT)?, published(ADMIN_PORT)?);
    BalancerControl::new(admin)
        .wait_answering(BALANCER_START)
        .await?;
    sink.emit(EventKind::Started {
        image: Some(image.to_string()),
    });

    // Every first task in the balancer's pool, by its own log.
    let replicas = usize::from(spec.replicas);
    let in_pool = tokio::time::timeout(START_WAIT, async {
        pool_rx.wait_for(|n| *n >= replicas).await.is_ok()
    })
    .await;
    if in_pool != Ok(true) {
        let seen = tasks_summary(&tasks);
        return Err(ScenarioError::NotReady {
            what: format!("service {service}"),
            waited: START_WAIT,
            reason: format!(
                "the balancer did not find its {replicas} task(s) through DNS (tasks: {seen})"
            ),
        });
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
    let per_task = spec.termination_grace + GOSSIP_DELAY + PER_TASK;
    let budget = scenario.stop.at
        + load_spec.duration
        + per_task * u32::from(spec.replicas)
        + (spec.balancer.connect_timeout + Duration::from_secs(1))
            * (u32::from(spec.balancer.retries) + 1);
    let stream = load::send(&load_spec, frontend, ready, done_rx, budget, budget, sink);
    let steps = async {
        tokio::time::sleep_until(ready + scenario.stop.at).await;
        engine.force_update_service(&service).await?;
        wait_replaced(engine, &service, &tasks, spec.replicas, budget).await?;
        done_tx.send_replace(Some(0));
        Ok::<(), ScenarioError>(())
    };
    let (_, stepped) = tokio::join!(stream, steps);
    stepped?;

    soft_stop(engine, &balancer).await?;
    if let Some(follower) = made.balancer_log.take()
        && let Ok(Ok(deferred)) = tokio::time::timeout(BALANCER_STOP, follower).await
    {
        emit_deferred(deferred, &tasks, sink);
    }
    Ok(())
}

/// Waits until Swarm says the update completed and every replaced task's container has died.
async fn wait_replaced(
    engine: &Engine,
    service: &str,
    tasks: &Mutex<Tasks>,
    replicas: u8,
    within: Duration,
) -> Result<(), ScenarioError> {
    let until = Instant::now() + within;
    loop {
        let update = engine.service_update_state(service).await?;
        if let Some((state, message)) = &update
            && (state.contains("paused") || state.contains("rollback"))
        {
            return Err(ScenarioError::Start {
                what: format!("the update of service {service}"),
                reason: format!(
                    "Swarm's update is {state}: {message} (tasks: {})",
                    tasks_summary(tasks)
                ),
            });
        }
        let done = {
            let seen = lock(tasks);
            let ended = |t: &TaskFact| {
                matches!(
                    t.state.as_str(),
                    "shutdown" | "complete" | "failed" | "rejected" | "orphaned" | "remove"
                )
            };
            let old: Vec<&TaskFact> = seen.latest.iter().filter(|t| shutting(t)).collect();
            old.len() >= usize::from(replicas) && old.iter().all(|t| ended(t))
        };
        if update.is_some_and(|(state, _)| state == "completed") && done {
            return Ok(());
        }
        if Instant::now() >= until {
            return Err(ScenarioError::Start {
                what: format!("the update of service {service}"),
                reason: format!(
                    "it did not complete within {}s (tasks: {})",
                    within.as_secs(),
                    tasks_summary(tasks)
                ),
            });
        }
        tokio::time::sleep(TASK_POLL).await;
    }
}

/// Lists the service's tasks every [`TASK_POLL`]: a new task is a replica (`r1`... in the order
/// seen, the first ones by slot), started once it runs, with its address on the run's network;
/// a task Swarm wants shut down has begun its termination.
async fn poll_tasks(
    engine: Engine,
    service: String,
    network: String,
    tasks: Arc<Mutex<Tasks>>,
    sink: EventSink,
) {
    let mut next: u8 = 1;
    let mut started: Vec<String> = Vec::new();
    loop {
        if let Ok(mut listed) = engine.service_tasks(&service).await {
            let at = Instant::now();
            listed.sort_by_key(|t| t.slot);
            for task in &listed {
                let known = lock(&tasks).by_task.get(&task.id).copied();
                // The first tasks are r1.. by slot (the update comes later), then their
                // replacements in the order seen.
                let number = match known {
                    Some(n) => n,
                    None => {
                        let n = next;
                        next = next.saturating_add(1);
                        lock(&tasks).by_task.insert(task.id.clone(), n);
                        n
                    }
                };
                let replica = replica_name(number);
                if task.state == "running"
                    && !started.contains(&task.id)
                    && let Some(container) = &task.container
                {
                    started.push(task.id.clone());
                    let address = engine
                        .inspect_container(container)
                        .await
                        .ok()
                        .and_then(|s| s.address_on(&network));
                    {
                        let mut seen = lock(&tasks);
                        seen.by_container.insert(container.clone(), number);
                        if let Some(address) = address {
                            seen.by_address.insert(address, number);
                        }
                    }
                    sink.emit_at(
                        at,
                        EventKind::ReplicaStarted {
                            replica: replica.clone(),
                        },
                    );
                }
                if known.is_some() && shutting(task) && !lock(&tasks).terminating.contains(&number)
                {
                    lock(&tasks).terminating.push(number);
                    sink.emit_at(at, EventKind::TerminationBegan { replica });
                }
            }
            lock(&tasks).latest = listed;
        }
        tokio::time::sleep(TASK_POLL).await;
    }
}

/// Follows the `kill` and `die` events of the service's containers: the stop signal, SIGKILL
/// after the grace period, the exit.
async fn follow_containers(
    engine: Engine,
    service: String,
    tasks: Arc<Mutex<Tasks>>,
    sink: EventSink,
    signal: crate::model::variant::StopSignal,
) {
    let events = engine.service_container_events(&service);
    futures_util::pin_mut!(events);
    while let Some(event) = events.next().await {
        // A container is matched to its task as soon as the poller saw it; a kill comes
        // seconds after that.
        let Some(number) = lock(&tasks).by_container.get(&event.container).copied() else {
            continue;
        };
        let replica = replica_name(number);
        let at = harness_instant(event.at);
        let kind = match event.action {
            ContainerAction::Kill(9) => EventKind::ReplicaKilled { replica },
            ContainerAction::Kill(_) => EventKind::ReplicaSignalled { replica, signal },
            ContainerAction::Die(code) => EventKind::ReplicaExited { replica, code },
        };
        sink.emit_at(at, kind);
    }
}

/// Follows the balancer's log: its request lines (kept, to be given to their tasks at the end),
/// the addresses DNS brought into its pool and took out (a replica in the pool, an endpoint
/// removed), and its other lines as they are. `pool` counts the addresses in the pool.
async fn follow_balancer(
    engine: Engine,
    id: String,
    tasks: Arc<Mutex<Tasks>>,
    sink: EventSink,
    pool: watch::Sender<usize>,
) -> Deferred {
    let lines = engine.output_lines(&id);
    futures_util::pin_mut!(lines);
    let mut deferred = Deferred::default();
    let mut slots: HashMap<String, IpAddr> = HashMap::new();
    // Each slot's last address, kept after DNS took it away.
    let mut last: HashMap<String, IpAddr> = HashMap::new();
    let mut recent: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    while let Some(logged) = lines.next().await {
        let at = logged.at.map_or_else(Instant::now, harness_instant);
        let line = match parse_log_line(&logged.text) {
            BalancerLine::Request(record) => {
                // A request that never connected, logged after its slot lost its address,
                // names no address: it went to the slot's last one.
                let address = request_address(&logged.text).or_else(|| {
                    request_server(&logged.text).and_then(|slot| last.get(slot).copied())
                });
                deferred.records.push((record, address));
                continue;
            }
            BalancerLine::Unnumbered => continue,
            BalancerLine::Other(line) => line,
        };
        // HAProxy writes each message twice (its log and its standard error).
        if line.is_empty() || recent.contains(&line) {
            continue;
        }
        if recent.len() == 8 {
            recent.pop_front();
        }
        recent.push_back(line.clone());
        match dns_change(&line) {
            Some(DnsChange::Changed { slot, from, to }) => {
                if let Some(from) = from {
                    deferred.left.push((at, from));
                }
                match to {
                    Some(to) => {
                        last.insert(slot.clone(), to);
                        slots.insert(slot, to);
                        deferred.entered.push((at, to));
                    }
                    None => {
                        slots.remove(&slot);
                    }
                }
            }
            Some(DnsChange::Gone { slot }) => {
                if let Some(address) = slots.remove(&slot) {
                    deferred.left.push((at, address));
                }
            }
            None => {}
        }
        pool.send_replace(slots.len());
        // Given to their replicas now when the poller knows the address, else at the end.
        let known = |address: &IpAddr| lock(&tasks).by_address.get(address).copied();
        deferred
            .entered
            .retain(|(at, address)| match known(address) {
                Some(n) => {
                    sink.emit_at(
                        *at,
                        EventKind::ReplicaInPool {
                            replica: replica_name(n),
                            address: *address,
                        },
                    );
                    false
                }
                None => true,
            });
        deferred.left.retain(|(at, address)| match known(address) {
            Some(n) => {
                sink.emit_at(
                    *at,
                    EventKind::EndpointRemoved {
                        replica: replica_name(n),
                    },
                );
                false
            }
            None => true,
        });
        sink.emit_at(at, EventKind::BalancerLog { line });
    }
    deferred
}

/// Emits what the balancer's log said once every task is known: the pool changes not given to a
/// replica yet, and every request, given to the task at its address.
fn emit_deferred(deferred: Deferred, tasks: &Mutex<Tasks>, sink: &EventSink) {
    let by_address = lock(tasks).by_address.clone();
    for (at, address) in deferred.entered {
        if let Some(n) = by_address.get(&address) {
            sink.emit_at(
                at,
                EventKind::ReplicaInPool {
                    replica: replica_name(*n),
                    address,
                },
            );
        }
    }
    for (at, address) in deferred.left {
        if let Some(n) = by_address.get(&address) {
            sink.emit_at(
                at,
                EventKind::EndpointRemoved {
                    replica: replica_name(*n),
                },
            );
        }
    }
    let records: Vec<BalancerRecord> = deferred
        .records
        .into_iter()
        .map(|(record, address)| BalancerRecord {
            replica: address.and_then(|a| by_address.get(&a).copied()),
            ..record
        })
        .collect();
    for chunk in records.chunks(256) {
        sink.emit(EventKind::BalancerRecords(chunk.to_vec()));
    }
}

/// Whether Swarm wants `task` gone (a new task waits as `ready` until it may run).
fn shutting(task: &TaskFact) -> bool {
    matches!(task.desired.as_str(), "shutdown" | "remove" | "orphaned")
}

/// `r1 running/running, r3 shutdown/running`: the tasks as last polled, for error messages.
fn tasks_summary(tasks: &Mutex<Tasks>) -> String {
    let seen = lock(tasks);
    let mut parts: Vec<String> = seen
        .latest
        .iter()
        .map(|t| {
            let name = seen
                .by_task
                .get(&t.id)
                .map_or_else(|| format!("slot {}", t.slot), |n| replica_name(*n));
            let error = t
                .error
                .as_ref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default();
            format!("{name} wanted {} is {}{error}", t.desired, t.state)
        })
        .collect();
    if parts.is_empty() {
        parts.push("none yet".to_string());
    }
    parts.join(", ")
}

/// The tasks, whatever a panicking holder left (each update is whole).
fn lock(tasks: &Mutex<Tasks>) -> std::sync::MutexGuard<'_, Tasks> {
    tasks
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
