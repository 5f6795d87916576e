//! Reaping what a killed run left: a run stopped with SIGKILL cannot clean up, so the next
//! invocation removes the containers of runs whose owning process is gone. A live run's, or
//! another host's, are never touched.

use std::collections::BTreeMap;

use super::connection::Engine;
use super::containers::LabelledContainer;
use super::error::EngineError;
use super::labels::{LABEL_MANAGED, LABEL_OWNER, LABEL_RUN, Owner};

/// What one reap removed: per dead run, its containers; and the dead runs' networks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reaped {
    /// Run id, and the containers removed of it.
    pub runs: BTreeMap<String, Vec<LabelledContainer>>,
    /// How many networks of dead runs were removed (after their containers).
    pub networks: usize,
    /// How many Swarm services of dead runs were removed (before anything else).
    pub services: usize,
}

impl Reaped {
    /// How many containers were removed.
    pub fn containers(&self) -> usize {
        self.runs.values().map(Vec::len).sum()
    }
}

impl Engine {
    /// Removes the Swarm services, the containers, then the networks, of every run whose owning process on this
    /// host is gone.
    pub async fn reap_dead_runs(&self) -> Result<Reaped, EngineError> {
        let mut reaped = Reaped::default();
        // A service first: it would replace its tasks' containers as they go.
        for service in self.labelled_services(LABEL_MANAGED).await? {
            if owner_is_gone(&service.labels) && self.remove_service(&service.name).await? {
                reaped.services += 1;
            }
        }
        for container in self.labelled_containers(LABEL_MANAGED).await? {
            if !owner_is_gone(&container.labels) {
                continue;
            }
            if self.remove_container(&container.id).await? {
                let run = container.labels.get(LABEL_RUN).cloned().unwrap_or_default();
                reaped.runs.entry(run).or_default().push(container);
            }
        }
        for network in self.labelled_networks(LABEL_MANAGED).await? {
            if owner_is_gone(&network.labels) && self.remove_network(&network.name).await? {
                reaped.networks += 1;
            }
        }
        Ok(reaped)
    }
}

/// Whether the labels name an owning process on this host that is gone. No owner label (made
/// by hand, or by testcontainers): not a run's to judge.
fn owner_is_gone(labels: &std::collections::HashMap<String, String>) -> bool {
    labels
        .get(LABEL_OWNER)
        .and_then(|o| Owner::parse(o))
        .and_then(|o| o.alive())
        == Some(false)
}
