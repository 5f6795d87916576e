//! What both rollout runners (emulated.rs, swarm.rs) share: a rollout's plan, the balancer's
//! deadlines, its soft stop, the check that it reaches its replicas, and the stream a rollout
//! sends when its scenario names none.

use std::time::Duration;

use crate::engine::Engine;
use crate::model::engine_info::EngineKind;
use crate::model::load::{ClientProfile, LoadSpec};
use crate::model::rollout::RolloutSpec;
use crate::model::scenario::Scenario;
use crate::run::context::RunContext;
use crate::run::error::ScenarioError;
use crate::run::sink::EventSink;

/// How long HAProxy may take to answer its runtime API.
pub(super) const BALANCER_START: Duration = Duration::from_secs(15);

/// How long the balancer may take to finish its last requests, write their log lines and exit
/// once told to stop.
pub(super) const BALANCER_STOP: Duration = Duration::from_secs(10);

/// How long the request that proves the balancer reaches its replicas may take.
const PROBE_DEADLINE: Duration = Duration::from_secs(10);

/// The stream when the scenario names none: 100 requests/s of a 100 ms handler.
const DEFAULT_RATE: u32 = 100;

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

/// HAProxy's soft stop (SIGUSR1): it finishes what it serves, writes its last log lines and
/// exits; SIGKILL if it has not within [`BALANCER_STOP`]. Both runners end their balancer so.
pub(super) async fn soft_stop(engine: &Engine, id: &str) -> Result<(), ScenarioError> {
    engine.kill_container(id, "SIGUSR1").await?;
    if engine.wait_container(id, BALANCER_STOP).await.is_err() {
        engine.kill_container(id, "SIGKILL").await?;
    }
    Ok(())
}

/// Checks that one request through the balancer is answered by a replica: a fact the stream's
/// counts rely on (a balancer that reaches nothing would make every cell "lossy").
pub(super) async fn serves_through(
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
    // iptables (br_netfilter); the engine module lets a Podman run's bridge through
    // DOCKER-USER, and another firewall on the host may still drop it.
    let hint = if engine.info().kind == EngineKind::Podman {
        "; on Podman beside Docker the run's bridge is let through Docker's firewall by a DOCKER-USER rule: check that it is there (iptables -S DOCKER-USER) and that no other rule drops forwarded traffic".to_string()
    } else {
        String::new()
    };
    Err(ScenarioError::NotThroughBalancer {
        path: path.to_string(),
        answer,
        hint,
    })
}

/// The stream of a rollout that names none: 100 requests/s of a 100 ms handler on our server,
/// of `/` on another.
pub(super) fn default_load(scenario: &Scenario) -> LoadSpec {
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
        connections: None,
        vantage: None,
    }
}
