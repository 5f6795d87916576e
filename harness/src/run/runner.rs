//! Runs a plan of scenarios: builds what they need once, runs them concurrently (bounded), and
//! collects each one's events into results. Never prints.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use futures_util::FutureExt;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

use crate::docker::{LABEL_RUN, remove_labelled_containers};
use crate::error::{Error, Result};
use crate::images::{ensure_images, image_present};
use crate::observation::Observation;
use crate::results::{RunResults, ScenarioResult};
use crate::run::container::{self, ContainerRun};
use crate::run::events::{Event, EventSink};
use crate::run::process;
use crate::scenario::{Scenario, Target};
use crate::server_build::{ServerBinary, build_static_server, workspace_root};
use crate::variant::{Base, Variant};
use crate::verdict::judge;

/// How to run a plan.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// At most this many scenarios at once.
    pub jobs: usize,
    /// The run's id: in container names and the run label.
    pub run_id: String,
    /// The workspace (server sources, `Dockerfiles/`).
    pub workspace: PathBuf,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            jobs: default_jobs(),
            run_id: new_run_id(),
            workspace: workspace_root(),
        }
    }
}

/// Scenarios mostly wait (on handlers, grace periods), so many more than the cores can run at
/// once; the bound keeps image-less bursts of containers reasonable on a small machine.
pub fn default_jobs() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (cores * 16).clamp(4, 64)
}

/// A fresh run id: unique enough to tell concurrent runs' containers apart.
pub fn new_run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{:x}{:05x}", std::process::id(), nanos & 0xfffff)
}

/// Runs every scenario and judges it. `docker` is needed only when some scenario is a
/// container; an error is returned only for what stops the whole run (no engine, a failed
/// build); a scenario that cannot run carries its error in its result.
pub async fn run(
    docker: Option<&Docker>,
    scenarios: &[Scenario],
    options: &RunOptions,
) -> Result<RunResults> {
    let build_started = Instant::now();
    let server = if scenarios.iter().any(Scenario::runs_our_server) {
        Some(build_static_server(&options.workspace).await?)
    } else {
        None
    };
    let pairs: Vec<(Variant, Base)> = scenarios
        .iter()
        .filter_map(Scenario::container)
        .map(|c| (c.variant, c.base))
        .collect();
    let needs_docker = scenarios.iter().any(|s| s.target != Target::Process);
    let docker = match (needs_docker, docker) {
        (true, None) => {
            return Err(Error::StartServer {
                what: "container scenarios".to_string(),
                reason: "no Docker engine was given".to_string(),
            });
        }
        (_, docker) => docker,
    };
    let mut images = HashMap::new();
    if let (Some(docker), Some(server)) = (docker, &server) {
        if !pairs.is_empty() {
            images = ensure_images(docker, &options.workspace, server, &pairs).await?;
        }
    }
    for scenario in scenarios {
        if let (Target::Image(spec), Some(docker)) = (&scenario.target, docker) {
            if !image_present(docker, &spec.image).await? {
                return Err(Error::ImageMissing {
                    image: spec.image.clone(),
                });
            }
        }
    }
    let build_duration = build_started.elapsed();

    let started = Instant::now();
    let outcomes = run_all(docker, scenarios, options, server.as_ref(), &images).await;
    let duration = started.elapsed();
    if let Some(docker) = docker {
        // Belt and braces: whatever a failed or panicked scenario left behind goes now.
        remove_labelled_containers(docker, &format!("{LABEL_RUN}={}", options.run_id)).await?;
    }

    let results = scenarios
        .iter()
        .zip(outcomes)
        .map(|(scenario, (events, error))| {
            let observation = Observation::from_events(&events, scenario.runs_our_server());
            let verdict = judge(scenario, &observation);
            ScenarioResult {
                scenario: scenario.clone(),
                observation,
                verdict,
                error,
                started: events.first().map_or_else(Duration::default, |e| {
                    e.at.saturating_duration_since(started)
                }),
            }
        })
        .collect();
    Ok(RunResults {
        scenarios: results,
        duration,
        build_duration,
    })
}

/// Runs the scenarios concurrently; returns each one's events and error, in plan order.
async fn run_all(
    docker: Option<&Docker>,
    scenarios: &[Scenario],
    options: &RunOptions,
    server: Option<&ServerBinary>,
    images: &HashMap<(Variant, Base), String>,
) -> Vec<(Vec<Event>, Option<String>)> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let permits = Arc::new(Semaphore::new(options.jobs.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, scenario) in scenarios.iter().enumerate() {
        let sink = EventSink::new(index, tx.clone());
        let scenario = scenario.clone();
        let permits = Arc::clone(&permits);
        let docker = docker.cloned();
        let binary = server.map(|s| s.path.clone());
        let image = match &scenario.target {
            Target::Image(spec) => Some(spec.image.clone()),
            Target::Container(spec) => images.get(&(spec.variant, spec.base)).cloned(),
            Target::Process => None,
        };
        let run_id = options.run_id.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let one = async {
                match (&scenario.target, binary, docker, image) {
                    (Target::Process, Some(binary), _, _) => {
                        process::run(&scenario, &binary, &sink).await
                    }
                    (_, _, Some(docker), Some(image)) => {
                        let run = ContainerRun {
                            docker: &docker,
                            image: &image,
                            name: format!("shutdown-harness-{run_id}-{index}"),
                            run_id: &run_id,
                        };
                        container::run(&scenario, &run, &sink).await
                    }
                    _ => Err(Error::StartServer {
                        what: scenario.name.clone(),
                        reason: "its server binary or image was not prepared (a harness bug)"
                            .to_string(),
                    }),
                }
            };
            // A panicking scenario is reported with the others instead of ending the run.
            let error = match AssertUnwindSafe(one).catch_unwind().await {
                Ok(Ok(())) => None,
                Ok(Err(error)) => Some(error.to_string()),
                Err(_) => Some("the scenario panicked (a bug in the harness)".to_string()),
            };
            (index, error)
        });
    }
    drop(tx);

    let mut errors: Vec<Option<String>> = vec![None; scenarios.len()];
    while let Some(joined) = tasks.join_next().await {
        if let Ok((index, error)) = joined {
            errors[index] = error;
        }
    }
    let mut events: Vec<Vec<Event>> = vec![Vec::new(); scenarios.len()];
    while let Ok(event) = rx.try_recv() {
        events[event.scenario].push(event);
    }
    events.into_iter().zip(errors).collect()
}
