//! Runs one scenario to its end with its target's runner: a process, a container, a running
//! container, or a rollout (emulated or on Swarm).

use crate::model::scenario::{Scenario, Target};
use crate::model::vantage::Vantage;
use crate::run::context::RunContext;
use crate::run::error::ScenarioError;
use crate::run::sink::EventSink;
use crate::run::{container, emulated, netns, process, rollout_plan, swarm};

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
    let prepared = cx.scenarios.get(index).ok_or_else(not_prepared)?;
    let image = || prepared.image.as_ref().ok_or_else(not_prepared);
    let name = format!("shutdown-harness-{}-{index}", cx.run_id);
    if let Some(spec) = &scenario.rollout {
        let (Some(image), Some(balancer)) = (&prepared.image, &cx.balancer) else {
            return Err(not_prepared());
        };
        let plan = rollout_plan::Plan {
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
            return swarm::run_on_swarm(plan).await;
        }
        return emulated::run_emulated(plan).await;
    }
    // A stream from inside the target's network namespace, when it can run there.
    let generator = cx
        .generator
        .clone()
        .filter(|_| scenario.vantage() == Vantage::Netns)
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
                outcome = process::run_process(scenario, binary, prepared.budget, sink) => outcome,
                () = cx.cancel.cancelled() => Err(ScenarioError::Interrupted),
            }
        }
        Target::Container(_) | Target::Image(_) | Target::Runtime(_) => {
            let (engine, image) = (engine()?, image()?);
            let run = container::Run {
                name: &name,
                budget: prepared.budget,
                generator: generator.as_ref(),
            };
            container::run_container(engine, scenario, image, &run, cx, sink).await
        }
        Target::Running(spec) => {
            // Someone else's container: left as it is, for its owner; the generator is ours.
            let engine = engine()?;
            let run = container::Run {
                name: &name,
                budget: prepared.budget,
                generator: generator.as_ref(),
            };
            let outcome = tokio::select! {
                outcome = container::drive_running(engine, scenario, spec, &run, sink) => outcome,
                () = cx.cancel.cancelled() => Err(ScenarioError::Interrupted),
            };
            if let Some(generator) = &generator {
                engine.remove_container(&generator.name).await?;
            }
            outcome
        }
    }
}
