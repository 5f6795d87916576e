//! The run pipeline: the server binary and images first, then the scenarios, concurrently and
//! bounded. Each scenario's events reach the reporter (what it hears: [`crate::report`]) as they
//! happen; each scenario is judged the moment it ends, and its result reported then, so that a
//! long run shows its results as it goes (cargo-nextest's runner and reporter are the model).

use std::collections::{BTreeSet, HashMap};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::balancer::{balancer_image, relay_image};
use crate::engine::{Engine, LABEL_RUN, new_run_id};
use crate::error::Error;
use crate::images::{
    BuildError, Forged, RuntimeImage, ServerBinary, VariantImages, build_static_server,
    ensure_variant_images, generator_image, runtime_image,
};
use crate::judge::judge;
use crate::model::engine_info::EngineKind;
use crate::model::events::{BuildEvent, Event};
use crate::model::results::{RunResults, ScenarioResult};
use crate::model::scenario::{Scenario, Target};
use crate::model::variant::{Base, Variant};
use crate::report::{Reporter, RunEvent};
use crate::run::{EventSink, Message, RunContext, ScenarioError, run_scenario};
use crate::workspace::Workspace;

/// How to run a plan.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// At most this many scenarios at once.
    pub jobs: usize,
    /// The run's id: in container names and the run label.
    pub run_id: String,
    /// The workspace the server and the variant images are built from; needed only when a
    /// scenario runs graceful-server.
    pub workspace: Option<Workspace>,
    /// Cancel it to stop the run: nothing new starts, running scenarios end at once and remove
    /// what they made, and the run returns what it has.
    pub cancel: CancellationToken,
}

impl RunOptions {
    /// Default concurrency and a fresh run id, building from `workspace`.
    pub fn new(workspace: Option<Workspace>) -> RunOptions {
        RunOptions {
            jobs: default_jobs(),
            run_id: new_run_id(),
            workspace,
            cancel: CancellationToken::new(),
        }
    }
}

/// The machine's cores.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// How many scenarios run at once by default on Docker: [`default_jobs_on`] Docker.
pub fn default_jobs() -> usize {
    default_jobs_on(EngineKind::Docker)
}

/// How many scenarios run at once by default on an engine of `kind`. Scenarios mostly wait (on
/// handlers, grace periods), so many more than the cores can run at once; the bound keeps
/// bursts of containers reasonable on a small machine. Podman does far more work per container
/// (conmon, runc, netavark's firewall rules): with the matrix on 2 cores its stop signal went
/// out up to 4.7 s after `stop` at 32 jobs, 1.4 s at 8, 0.4 s at 4 (Docker: 0.6 s at 32).
pub fn default_jobs_on(kind: EngineKind) -> usize {
    match kind {
        EngineKind::Docker => (cores() * 16).clamp(4, 64),
        EngineKind::Podman => (cores() * 2).clamp(2, 16),
    }
}

/// Runs every scenario and judges it, reporting as it goes. `engine` is needed only when some
/// scenario is a container. An error is returned only for what stops the whole run (no engine,
/// a failed build); a scenario that cannot run carries its error in its result.
pub async fn run_scenarios(
    engine: Option<&Engine>,
    scenarios: &[Scenario],
    options: &RunOptions,
    reporter: &mut dyn Reporter,
) -> Result<RunResults, Error> {
    let build_started = Instant::now();
    // Lost the engine in one scenario: the others would only fail the same way, so they stop.
    let cancel = options.cancel.child_token();
    let cx = match prepare(engine, scenarios, options, &cancel, reporter).await {
        Err(Error::Build(BuildError::Interrupted)) => return Err(Error::Interrupted),
        prepared => prepared?,
    };
    let build_duration = build_started.elapsed();

    let run_started = Instant::now();
    reporter.report(RunEvent::RunStarted {
        scenarios,
        jobs: options.jobs,
    });
    let (tx, rx) = mpsc::unbounded_channel();
    let mut tasks = spawn_scenarios(&cx, scenarios, options.jobs, tx);
    let results = judge_as_they_end(rx, scenarios, &cancel, run_started, reporter).await;
    while tasks.join_next().await.is_some() {}
    let duration = run_started.elapsed();
    if let Some(engine) = &cx.engine {
        // Belt and braces: whatever a failed or panicked scenario left behind goes now.
        let label = format!("{LABEL_RUN}={}", options.run_id);
        if let Err(error) = engine.remove_labelled_containers(&label).await {
            reporter.report(RunEvent::CleanupFailed(&error));
        }
    }

    let results = RunResults {
        scenarios: results,
        duration,
        build_duration,
        engine: cx.engine.as_ref().map(|e| e.info().clone()),
    };
    reporter.report(RunEvent::RunFinished { results: &results });
    Ok(results)
}

/// Starts every scenario as a task that waits for its share of the `jobs`, each telling `tx`
/// when it begins, what happens and when it ends. `tx` goes when they are spawned: the
/// channel closes when the last scenario is done.
fn spawn_scenarios(
    cx: &RunContext,
    scenarios: &[Scenario],
    jobs: usize,
    tx: mpsc::UnboundedSender<Message>,
) -> tokio::task::JoinSet<()> {
    let jobs = jobs.max(1);
    let permits = Arc::new(Semaphore::new(jobs));
    // A stream keeps a core busy and measures latencies: it weighs a core's share of the jobs,
    // so streams run at most one per core, beside few other scenarios. The semaphore is fair:
    // a stream waiting for its share holds back the scenarios behind it, never starves.
    let stream_weight = u32::try_from((jobs / cores()).max(1)).unwrap_or(u32::MAX);
    let mut tasks = tokio::task::JoinSet::new();
    for (index, scenario) in scenarios.iter().enumerate() {
        let weight = if scenario.load.is_some() {
            stream_weight
        } else {
            1
        };
        tasks.spawn(run_in_turn(
            cx.clone(),
            index,
            scenario.clone(),
            Arc::clone(&permits),
            weight,
            tx.clone(),
        ));
    }
    tasks
}

/// Runs scenario `index` once it holds `weight` of the `permits` (unless the run is cancelled
/// first), telling `tx` when it begins and how it ended.
async fn run_in_turn(
    cx: RunContext,
    index: usize,
    scenario: Scenario,
    permits: Arc<Semaphore>,
    weight: u32,
    tx: mpsc::UnboundedSender<Message>,
) {
    let sink = EventSink::new(index, tx.clone());
    let _permit = tokio::select! {
        permit = permits.acquire_many_owned(weight) => permit,
        () = cx.cancel.cancelled() => {
            let _ = tx.send(Message::Ended(index, Some(ScenarioError::Interrupted)));
            return;
        }
    };
    if cx.cancel.is_cancelled() {
        let _ = tx.send(Message::Ended(index, Some(ScenarioError::Interrupted)));
        return;
    }
    let _ = tx.send(Message::Began(index));
    let one = run_scenario(&cx, index, &scenario, &sink);
    // A panicking scenario is reported with the others instead of ending the run.
    let error = match AssertUnwindSafe(one).catch_unwind().await {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error),
        Err(panic) => Some(ScenarioError::Panicked {
            message: panic_message(panic.as_ref()),
        }),
    };
    let _ = tx.send(Message::Ended(index, error));
}

/// Hears the scenarios until the last one ends: reports each event as it comes, and judges
/// each scenario the moment it ends. A lost engine cancels the rest of the run. The results
/// are in the order of `scenarios`.
async fn judge_as_they_end(
    mut rx: mpsc::UnboundedReceiver<Message>,
    scenarios: &[Scenario],
    cancel: &CancellationToken,
    run_started: Instant,
    reporter: &mut dyn Reporter,
) -> Vec<ScenarioResult> {
    let mut events: Vec<Vec<Event>> = vec![Vec::new(); scenarios.len()];
    let mut results: Vec<Option<ScenarioResult>> = vec![None; scenarios.len()];
    while let Some(message) = rx.recv().await {
        match message {
            Message::Began(index) => reporter.report(RunEvent::ScenarioStarted {
                index,
                scenario: &scenarios[index],
            }),
            Message::Event(event) => {
                // Late events of a scenario already judged change nothing.
                if results[event.scenario].is_none() {
                    reporter.report(RunEvent::Event {
                        scenario: &scenarios[event.scenario],
                        event: &event,
                    });
                    events[event.scenario].push(event);
                }
            }
            Message::Ended(index, error) => {
                if let Some(ScenarioError::Engine(lost)) = &error
                    && lost.is_lost()
                {
                    cancel.cancel();
                }
                let result = judge(&scenarios[index], &events[index], error, run_started);
                reporter.report(RunEvent::ScenarioFinished {
                    index,
                    result: &result,
                });
                events[index] = Vec::new();
                results[index] = Some(result);
            }
        }
    }
    results.into_iter().flatten().collect()
}

/// Builds what the scenarios need, reporting the build's progress: the static server (when a
/// scenario runs it), the variant images, and a check that every user image is present.
async fn prepare(
    engine: Option<&Engine>,
    scenarios: &[Scenario],
    options: &RunOptions,
    cancel: &CancellationToken,
    reporter: &mut dyn Reporter,
) -> Result<RunContext, Error> {
    let needs_engine = scenarios.iter().any(|s| s.target != Target::Process);
    let engine = match (needs_engine, engine) {
        (true, None) => return Err(Error::NoEngine),
        (_, engine) => engine.cloned(),
    };
    let needs_relay = scenarios.iter().any(has_latency);
    // The generator is built with the server; without a workspace to build it from, the
    // streams run from the host.
    let needs_generator = options.workspace.is_some()
        && scenarios
            .iter()
            .any(|s| s.vantage() == crate::model::vantage::Vantage::Netns);
    let server =
        if needs_relay || needs_generator || scenarios.iter().any(Scenario::runs_our_server) {
            Some(build_server(options, cancel, reporter).await?)
        } else {
            None
        };
    let images = match (&engine, &server, &options.workspace) {
        (Some(engine), Some(server), Some(workspace)) => {
            build_variants(engine, workspace, server, scenarios, cancel, reporter).await?
        }
        _ => HashMap::new(),
    };
    let mut balancer = None;
    let mut relay = None;
    let mut generator = None;
    let mut runtime_images = HashMap::new();
    if let Some(engine) = &engine {
        for scenario in scenarios {
            if let Target::Image(spec) = &scenario.target {
                engine.require_image(&spec.image).await?;
            }
        }
        if scenarios.iter().any(|s| s.rollout.is_some()) {
            let forged = balancer_image(engine);
            balancer = Some(forge_reported("balancer:haproxy", forged, reporter).await?);
        }
        if let (true, Some(server)) = (needs_relay, &server) {
            let forged = relay_image(engine, &server.relay);
            relay = Some(forge_reported("relay", forged, reporter).await?);
        }
        if let (true, Some(server)) = (needs_generator, &server) {
            let forged = generator_image(engine, &server.generator);
            generator = Some(forge_reported("load-generator", forged, reporter).await?);
        }
        runtime_images = forge_runtime_images(engine, scenarios, cancel, reporter).await?;
    }
    let mut cx = RunContext {
        engine,
        server: server.map(|s| s.path),
        images,
        balancer,
        relay,
        generator,
        runtime_images,
        scenarios: Vec::new(),
        run_id: options.run_id.clone(),
        cancel: cancel.clone(),
    };
    cx.prepare(scenarios);
    Ok(cx)
}

/// Builds the static server from the options' workspace, reporting it.
async fn build_server(
    options: &RunOptions,
    cancel: &CancellationToken,
    reporter: &mut dyn Reporter,
) -> Result<ServerBinary, Error> {
    let workspace = options.workspace.as_ref().ok_or(Error::NoWorkspace)?;
    reporter.report(RunEvent::Build(&BuildEvent::ServerBuilding));
    // Cargo is killed if the build is cut short: it makes nothing the engine holds.
    let server = tokio::select! {
        built = build_static_server(workspace) => built?,
        () = cancel.cancelled() => return Err(Error::Interrupted),
    };
    reporter.report(RunEvent::Build(&BuildEvent::ServerReady));
    Ok(server)
}

/// Builds the variant images the container scenarios run (none when there is none),
/// reporting the build's progress as it goes.
async fn build_variants(
    engine: &Engine,
    workspace: &Workspace,
    server: &ServerBinary,
    scenarios: &[Scenario],
    cancel: &CancellationToken,
    reporter: &mut dyn Reporter,
) -> Result<VariantImages, Error> {
    let pairs: Vec<(Variant, Base)> = scenarios
        .iter()
        .filter_map(Scenario::container)
        .map(|c| (c.variant, c.base))
        .collect();
    if pairs.is_empty() {
        return Ok(HashMap::new());
    }
    // The build reports from inside concurrent futures: through a channel, forwarded here.
    let (tx, mut rx) = mpsc::unbounded_channel();
    let progress = move |event: BuildEvent| {
        let _ = tx.send(event);
    };
    let build = ensure_variant_images(engine, workspace, server, &pairs, &progress, cancel);
    tokio::pin!(build);
    let images = loop {
        tokio::select! {
            built = &mut build => break built?,
            Some(event) = rx.recv() => reporter.report(RunEvent::Build(&event)),
        }
    };
    while let Ok(event) = rx.try_recv() {
        reporter.report(RunEvent::Build(&event));
    }
    Ok(images)
}

/// Forges one image, `name` in the build's progress, reporting when it starts and ends; its tag.
async fn forge_reported(
    name: &str,
    forging: impl Future<Output = Result<Forged, BuildError>>,
    reporter: &mut dyn Reporter,
) -> Result<String, Error> {
    reporter.report(RunEvent::Build(&BuildEvent::ImageStarted {
        name: name.to_string(),
    }));
    let forged = forging.await?;
    reporter.report(RunEvent::Build(&BuildEvent::ImageFinished {
        name: name.to_string(),
        built: forged.built,
    }));
    Ok(forged.tag)
}

/// Forges the images the runtime scenarios run, each distinct one once, reporting each; one at
/// a time, since each reads a runtime's tree from the host and the engine builds one at a time.
async fn forge_runtime_images(
    engine: &Engine,
    scenarios: &[Scenario],
    cancel: &CancellationToken,
    reporter: &mut dyn Reporter,
) -> Result<HashMap<RuntimeImage, String>, Error> {
    let wanted: BTreeSet<RuntimeImage> = scenarios.iter().filter_map(RuntimeImage::of).collect();
    let mut forged = HashMap::new();
    for image in wanted {
        if cancel.is_cancelled() {
            return Err(Error::Interrupted);
        }
        let tag =
            forge_reported(&image.short_name(), runtime_image(engine, &image), reporter).await?;
        forged.insert(image, tag);
    }
    Ok(forged)
}

/// Whether `scenario` is a rollout whose balancer reaches its replicas through the delaying
/// relay.
fn has_latency(scenario: &Scenario) -> bool {
    scenario
        .rollout
        .as_ref()
        .is_some_and(|r| !r.balancer.latency.is_zero())
}

/// The message a panic carried, when it carried text.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_are_bounded() {
        assert!((4..=64).contains(&default_jobs()));
    }
}
