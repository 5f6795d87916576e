//! What the scenarios of a run share (the engine, the images, the run's id) and what prepare
//! worked out once for each scenario (its image and budget).

use std::collections::HashMap;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::images::{RuntimeImage, VariantImages};
use crate::model::scenario::{Scenario, Target};

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
    /// What was worked out once for each scenario, in plan order (see [`RunContext::prepare`]).
    pub(crate) scenarios: Vec<Prepared>,
    /// The run's id: in container names and labels.
    pub(crate) run_id: String,
    /// Cancelled when the run must stop: scenarios then end at once, removing what they made.
    pub(crate) cancel: CancellationToken,
}

/// What is worked out once for a scenario when the run is prepared, for the runner to use.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    /// The image it runs (None for processes and running containers, or when it was not
    /// prepared).
    pub(crate) image: Option<String>,
    /// Its budget: the longest it can take once its server is ready ([`Scenario::budget`]).
    pub(crate) budget: Duration,
}

impl RunContext {
    /// Works out, once, what each of `scenarios` runs and its budget, once the images are
    /// built.
    pub(crate) fn prepare(&mut self, scenarios: &[Scenario]) {
        self.scenarios = scenarios
            .iter()
            .map(|scenario| Prepared {
                image: self.image_of(scenario).cloned(),
                budget: scenario.budget(),
            })
            .collect();
    }

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
