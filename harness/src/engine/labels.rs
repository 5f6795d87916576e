//! The labels that mark what the harness creates, so that a run removes exactly its own.

use std::collections::HashMap;

/// Label carried by every container, network and image the harness creates.
pub const LABEL_MANAGED: &str = "shutdown-harness.managed";
/// Label naming the run that created a container or network.
pub const LABEL_RUN: &str = "shutdown-harness.run";

/// The labels of something created by run `run_id`.
pub fn run_labels(run_id: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_MANAGED.to_string(), "true".to_string()),
        (LABEL_RUN.to_string(), run_id.to_string()),
    ])
}
