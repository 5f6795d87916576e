//! Slicing a plan into CI jobs: one slice per leading name segment (`dash/...`, `bash/...`),
//! each selected by a `--filter` glob, so a workflow's job matrix comes from the scenario files.

use std::collections::BTreeMap;

use serde::Serialize;

use shutdown_harness::Scenario;

/// One CI job's share of the scenarios.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Slice {
    /// The job's name: the scenarios' shared first name segment.
    pub slice: String,
    /// The `--filter` glob that selects exactly this slice's scenarios.
    pub filter: String,
    /// How many scenarios it runs.
    pub scenarios: usize,
}

/// GitHub Actions' `strategy.matrix` value: `{"include": [slice, ...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GithubMatrix {
    /// One entry per job.
    pub include: Vec<Slice>,
}

/// Groups scenarios by the first segment of their names (the whole name when it has no `/`).
pub fn slices(scenarios: &[Scenario]) -> Vec<Slice> {
    let mut groups: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for scenario in scenarios {
        let (slice, filter) = match scenario.name.split_once('/') {
            Some((first, _)) => (first.to_string(), format!("{first}/*")),
            None => (scenario.name.clone(), scenario.name.clone()),
        };
        groups.entry(slice).or_insert((filter, 0)).1 += 1;
    }
    groups
        .into_iter()
        .map(|(slice, (filter, scenarios))| Slice {
            slice,
            filter,
            scenarios,
        })
        .collect()
}

/// The job matrix for a workflow, as the JSON a workflow's `fromJSON` reads.
pub fn github_matrix_json(scenarios: &[Scenario]) -> String {
    let matrix = GithubMatrix {
        include: slices(scenarios),
    };
    serde_json::to_string(&matrix).unwrap_or_else(|_| "{\"include\":[]}".to_string())
}
