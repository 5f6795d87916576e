//! The labels that mark what the harness creates, and the run ids in them, so that a run
//! removes exactly its own.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

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

/// A fresh run id: 64 random bits, so that concurrent runs never share one (a run's cleanup
/// removes exactly what carries its id).
pub fn new_run_id() -> String {
    // std's RandomState is seeded from the operating system's randomness.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_sixty_four_random_bits() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_run_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|id| id.len() == 16));
    }
}
