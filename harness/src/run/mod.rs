//! Running scenarios: each target (a process, a container the harness creates, one someone else
//! started), the request schedule around the stop, and the events they emit. The runner only
//! emits events; it neither judges nor prints.

mod container;
mod error;
mod load;
mod logs;
mod netns;
mod pooled;
mod process;
pub(crate) mod ready;
mod reqwest_client;
mod rollout;
mod schedule;
mod sink;
mod swarm;

use std::collections::HashMap;

use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::images::{RuntimeImage, VariantImages};
use crate::scenario::{Scenario, Target};

pub use error::ScenarioError;
pub use load::stream as load_stream;
pub(crate) use sink::{EventSink, Message};

/// What the scenarios of a run share: the engine, the server binary and the images, the run id.
#[derive(Debug, Clone)]
pub(crate) struct RunContext {
    /// The engine, when a scenario needs one.
    pub(crate) engine: Option<Engine>,
    /// The static server binary, for process scenarios.
    pub(crate) server: Option<std::path::PathBuf>,
    /// The variant images.
    pub(crate) images: VariantImages,
    /// The balancer's image, when a scenario is a rollout.
    pub(crate) balancer: Option<String>,
    /// The delaying relay's image, when a rollout's balancer has a latency to its replicas.
    pub(crate) relay: Option<String>,
    /// The load generator's image, when a stream runs from inside a container's network
    /// namespace.
    pub(crate) generator: Option<String>,
    /// The runtimes' images, by what they are made of.
    pub(crate) runtime_images: HashMap<RuntimeImage, String>,
    /// The run's id: in container names and labels.
    pub(crate) run_id: String,
    /// Cancelled when the run must stop: scenarios then end at once, removing what they made.
    pub(crate) cancel: CancellationToken,
}

impl RunContext {
    /// The image scenario `scenario` runs, as prepared: its variant's, the user's, or its
    /// runtime's; None for processes and running containers, or when it was not prepared.
    fn image_of<'a>(&'a self, scenario: &'a Scenario) -> Option<&'a String> {
        match &scenario.target {
            Target::Container(c) => self.images.get(&(c.variant, c.base)),
            Target::Image(i) => Some(&i.image),
            Target::Runtime(_) => {
                RuntimeImage::of(scenario).and_then(|image| self.runtime_images.get(&image))
            }
            Target::Process | Target::Running(_) => None,
        }
    }
}

/// Runs scenario `index` to its end, emitting its events to `sink`.
pub(crate) async fn run_scenario(
    cx: &RunContext,
    index: usize,
    scenario: &Scenario,
    sink: &EventSink,
) -> Result<(), ScenarioError> {
    let not_prepared = || ScenarioError::NotPrepared {
        scenario: scenario.name.clone(),
    };
    let engine = || cx.engine.as_ref().ok_or_else(not_prepared);
    let name = format!("shutdown-harness-{}-{index}", cx.run_id);
    if let Some(spec) = &scenario.rollout {
        let (Some(image), Some(balancer)) = (cx.image_of(scenario), &cx.balancer) else {
            return Err(not_prepared());
        };
        let plan = rollout::Plan {
            engine: engine()?,
            scenario,
            spec,
            image,
            balancer_image: balancer,
            name: &name,
            cx,
            sink,
        };
        if spec.orchestrator.is_swarm() {
            return swarm::run(plan).await;
        }
        return rollout::run(plan).await;
    }
    // A stream from inside the target's network namespace, when it can run there.
    let generator = cx
        .generator
        .clone()
        .filter(|_| crate::vantage::Vantage::of(scenario) == crate::vantage::Vantage::Netns)
        .map(|image| netns::Generator {
            image,
            name: format!("{name}-load"),
            run_id: cx.run_id.clone(),
        });
    match &scenario.target {
        Target::Process => {
            let binary = cx.server.as_ref().ok_or_else(not_prepared)?;
            // Dropping the run kills the process (kill_on_drop): nothing is left.
            tokio::select! {
                outcome = process::run(scenario, binary, sink) => outcome,
                () = cx.cancel.cancelled() => Err(ScenarioError::Interrupted),
            }
        }
        Target::Container(_) | Target::Image(_) | Target::Runtime(_) => {
            let image = cx.image_of(scenario).ok_or_else(not_prepared)?;
            container::run(
                engine()?,
                scenario,
                image,
                &name,
                cx,
                generator.as_ref(),
                sink,
            )
            .await
        }
        Target::Running(spec) => {
            // Someone else's container: left as it is, for its owner; the generator is ours.
            let engine = engine()?;
            let outcome = tokio::select! {
                outcome = container::drive_running(engine, scenario, spec, generator.as_ref(), sink) => outcome,
                () = cx.cancel.cancelled() => Err(ScenarioError::Interrupted),
            };
            if let Some(generator) = &generator {
                engine.remove_container(&generator.name).await?;
            }
            outcome
        }
    }
}
