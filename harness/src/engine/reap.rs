//! Reaping what a killed run left: a run stopped with SIGKILL cannot clean up, so the next
//! invocation removes the containers of runs whose owning process is gone. A live run's, or
//! another host's, are never touched.

use std::collections::BTreeMap;

use super::client::Engine;
use super::containers::LabelledContainer;
use super::error::EngineError;
use super::labels::{LABEL_MANAGED, LABEL_OWNER, LABEL_RUN, Owner};

/// What one reap removed: per dead run, its containers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reaped {
    /// Run id, and the containers removed of it.
    pub runs: BTreeMap<String, Vec<LabelledContainer>>,
}

impl Reaped {
    /// How many containers were removed.
    pub fn containers(&self) -> usize {
        self.runs.values().map(Vec::len).sum()
    }
}

impl Engine {
    /// Removes the containers of every run whose owning process on this host is gone.
    pub async fn reap_dead_runs(&self) -> Result<Reaped, EngineError> {
        let mut reaped = Reaped::default();
        for container in self.labelled_containers(LABEL_MANAGED).await? {
            let owner = container
                .labels
                .get(LABEL_OWNER)
                .and_then(|o| Owner::parse(o));
            // No owner label (made by hand, or by testcontainers): not a run's to judge.
            if owner.and_then(|o| o.alive()) != Some(false) {
                continue;
            }
            if self.remove_container(&container.id).await? {
                let run = container.labels.get(LABEL_RUN).cloned().unwrap_or_default();
                reaped.runs.entry(run).or_default().push(container);
            }
        }
        Ok(reaped)
    }
}
