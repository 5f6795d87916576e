//! The variant matrix: a representative subset runs on the engine, the CLI lists and slices the
//! scenario files, and the nightly workflow is built from that slicing.

#[path = "../../harness/tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;

use assert_cmd::cargo::cargo_bin_cmd;
use serde_json::Value;
use shutdown_harness::scenario_file::filter;
use shutdown_harness::{RunOptions, Variant};
use yaml_rust2::YamlLoader;

use common::{
    all_scenarios, assert_run_left_nothing, engine, failed_report, matrix_subset, workspace,
};

#[tokio::test]
async fn a_representative_subset_of_the_matrix_behaves_as_its_file_says() {
    let subset = matrix_subset();
    for variant in Variant::ALL {
        assert!(
            subset
                .iter()
                .any(|s| s.container().is_some_and(|c| c.variant == variant)),
            "no scenario of {variant} in the subset"
        );
    }

    let engine = engine().await;
    let options = RunOptions::new(Some(workspace()));
    let results = shutdown_harness::run_scenarios(Some(&engine), &subset, &options, &mut ())
        .await
        .expect("the run completes");
    assert_run_left_nothing(&options.run_id).await;
    assert!(results.passed(), "{}", failed_report(&results));
}

#[test]
fn list_prints_one_line_per_scenario() {
    let output = cargo_bin_cmd!("shutdown-harness")
        .arg("list")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let names: Vec<&str> = stdout
        .lines()
        .map(|line| line.split('\t').next().unwrap())
        .collect();
    let expected: Vec<String> = all_scenarios().into_iter().map(|s| s.name).collect();
    assert_eq!(names, expected);
    assert!(
        names.len() >= 30,
        "the matrix has {} scenarios",
        names.len()
    );
}

#[test]
fn the_github_matrix_covers_every_scenario_exactly_once() {
    let output = cargo_bin_cmd!("shutdown-harness")
        .args(["list", "--format", "github-matrix"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let matrix: Value = serde_json::from_slice(&output.stdout).expect("the matrix is JSON");
    let scenarios = all_scenarios();
    let mut runs: BTreeMap<String, usize> = BTreeMap::new();
    for slice in matrix["include"].as_array().expect("an include list") {
        let glob = slice["filter"].as_str().expect("each slice has a filter");
        let selected = filter(scenarios.clone(), glob).expect("the filter is a valid glob");
        assert_eq!(
            slice["scenarios"].as_u64(),
            Some(selected.len() as u64),
            "{slice}"
        );
        for scenario in selected {
            *runs.entry(scenario.name).or_default() += 1;
        }
    }
    for scenario in &scenarios {
        assert_eq!(runs.get(&scenario.name), Some(&1), "{} runs", scenario.name);
    }
}

#[test]
fn the_nightly_workflow_is_valid_yaml_built_from_the_matrix_command() {
    let path = workspace().root().join(".github/workflows/nightly.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let docs = YamlLoader::load_from_str(&text).expect("the workflow is valid YAML");
    let workflow = &docs[0];
    assert!(!workflow["on"]["schedule"].is_badvalue(), "it is scheduled");
    let plan_steps = workflow["jobs"]["plan"]["steps"]
        .as_vec()
        .expect("plan has steps");
    assert!(
        plan_steps.iter().any(|step| step["run"]
            .as_str()
            .is_some_and(|run| run.contains("list --format github-matrix"))),
        "the plan job asks the harness for the matrix"
    );
    let slice = &workflow["jobs"]["slice"];
    assert_eq!(
        slice["strategy"]["matrix"].as_str(),
        Some("${{ fromJSON(needs.plan.outputs.matrix) }}")
    );
    let runs: Vec<&str> = slice["steps"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(|step| step["run"].as_str())
        .collect();
    // The filter reaches the shell through the environment, never pasted into the script.
    assert_eq!(
        slice["env"]["SLICE_FILTER"].as_str(),
        Some("${{ matrix.filter }}")
    );
    assert!(
        runs.iter()
            .any(|run| run.contains("--filter \"$SLICE_FILTER\"")
                && run.contains("--format junit")
                && run.contains("--json-output"))
    );
    assert!(runs.iter().all(|run| !run.contains("${{")), "{runs:?}");
    // Bounded, pinned, and an empty slice list makes no job.
    for job in ["plan", "slice"] {
        assert!(
            workflow["jobs"][job]["timeout-minutes"].as_i64().is_some(),
            "{job} has a timeout"
        );
    }
    assert!(workflow["env"]["RUST_TOOLCHAIN"].as_str().is_some());
    assert_eq!(
        slice["if"].as_str(),
        Some("needs.plan.outputs.slices != '0'")
    );
}

#[test]
fn every_push_runs_the_readme_test_command() {
    let root = workspace().root().to_path_buf();
    let text = std::fs::read_to_string(root.join(".github/workflows/ci.yml")).unwrap();
    let docs = YamlLoader::load_from_str(&text).expect("the workflow is valid YAML");
    let workflow = &docs[0];
    assert!(!workflow["on"]["push"].is_badvalue());
    assert!(!workflow["on"]["pull_request"].is_badvalue());
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains("cargo test --workspace"));
    let runs: Vec<&str> = workflow["jobs"]["test"]["steps"]
        .as_vec()
        .expect("steps")
        .iter()
        .filter_map(|step| step["run"].as_str())
        .collect();
    assert!(runs.contains(&"cargo test --workspace"), "{runs:?}");
    assert!(
        workflow["jobs"]["test"]["timeout-minutes"]
            .as_i64()
            .is_some()
    );
}

#[test]
fn a_bad_scenario_file_runs_nothing_and_says_where() {
    let dir = std::env::temp_dir().join(format!("shutdown-harness-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.toml");
    std::fs::write(
        &file,
        "[[scenario]]\nname = \"x\"\nbase = \"dash\"\nvariant = \"exec-form\"\ndelay = \"fast\"\n\
         requests = [{ name = \"a\", at = \"-1s\" }]\nexpect = { requests = { a = \"ok\" } }\n",
    )
    .unwrap();
    let output = cargo_bin_cmd!("shutdown-harness")
        .arg("run")
        .arg(&file)
        // No engine is needed to reject a file: prove it by pointing at none.
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.toml:5:9"), "{stderr}");
    assert!(stderr.contains("fast"), "{stderr}");
}
