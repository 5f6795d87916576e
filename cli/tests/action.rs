//! The GitHub Action users drop into their pipelines: `action.yml` passes every input to its
//! script, and the script, run here as a runner would run it (a temporary job summary and step
//! output), checks a real image, writes the four reports, appends the Markdown summary and exits
//! with the check's own code.

#[path = "../../harness/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use shutdown_harness::images::build_variant_images;
use shutdown_harness::{Base, Variant};
use yaml_rust2::YamlLoader;

use common::{engine, workspace};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the command is in the workspace")
        .to_path_buf()
}

/// What one run of the action's script left: its exit code, the job summary, the step's
/// output, and the report directory.
struct Ran {
    code: Option<i32>,
    summary: String,
    output: String,
    reports: PathBuf,
    log: String,
}

/// Runs the action's script on `image` with `inputs` (INPUT_* variables), in a directory of
/// its own named `name`.
fn run_action(name: &str, image: &str, inputs: &[(&str, &str)]) -> Ran {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("action-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (summary, output, reports) = (dir.join("summary"), dir.join("output"), dir.join("reports"));
    let ran = Command::new(root().join(".github/action/check.sh"))
        .env(
            "SHUTDOWN_HARNESS_BIN",
            env!("CARGO_BIN_EXE_shutdown-harness"),
        )
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_RUN_ID", "42")
        .env("GITHUB_REPOSITORY", "you/your-service")
        .env("REPORT_DIR", &reports)
        .env("INPUT_IMAGE", image)
        .env("INPUT_PORT", "1202")
        .envs(inputs.iter().copied())
        .env("NO_COLOR", "1")
        .output()
        .expect("the script runs");
    Ran {
        code: ran.status.code(),
        summary: std::fs::read_to_string(&summary).unwrap_or_default(),
        output: std::fs::read_to_string(&output).unwrap_or_default(),
        reports,
        log: format!(
            "{}{}",
            String::from_utf8_lossy(&ran.stdout),
            String::from_utf8_lossy(&ran.stderr)
        ),
    }
}

#[test]
fn the_action_passes_every_input_to_its_script() {
    let text = std::fs::read_to_string(root().join("action.yml")).expect("action.yml");
    let action = &YamlLoader::load_from_str(&text).expect("action.yml is YAML")[0];
    let inputs = action["inputs"].as_hash().expect("inputs");
    let script = std::fs::read_to_string(root().join(".github/action/check.sh")).unwrap();
    for (name, _) in inputs {
        let name = name.as_str().expect("a name");
        if name == "report-dir" {
            assert!(text.contains("REPORT_DIR: ${{ inputs.report-dir }}"));
            continue;
        }
        let variable = format!("INPUT_{}", name.to_uppercase().replace('-', "_"));
        assert!(
            text.contains(&format!("{variable}: ${{{{ inputs.{name} }}}}")),
            "action.yml does not pass input {name} as {variable}"
        );
        assert!(
            script.contains(&variable),
            "the script does not read {variable}"
        );
    }
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
}

#[tokio::test]
async fn the_action_writes_the_reports_and_the_job_summary_and_exits_as_the_check_does() {
    let pairs = [
        (Variant::ExecForm, Base::Busybox),
        (Variant::ShellForm, Base::Dash),
    ];
    let images = build_variant_images(&engine().await, &workspace(), &pairs)
        .await
        .expect("the images build");
    let (good, bad) = (images[&pairs[0]].clone(), images[&pairs[1]].clone());
    let (passed, failed) = tokio::task::spawn_blocking(move || {
        let passed = std::thread::spawn(move || {
            run_action(
                "passed",
                &good,
                &[
                    ("INPUT_PATH", "/?delay=500ms"),
                    ("INPUT_LOAD", "50/s"),
                    // A request sent in the last millisecond or two before the signal can
                    // reach the server through docker-proxy after its listener closed (0 to 2
                    // per run): 3% of the ~90 sent before it leaves room for two.
                    ("INPUT_MAX_LOST", "3%"),
                    ("INPUT_ARGS", "--stop-timeout 5 --load-duration 1s"),
                ],
            )
        });
        let failed = run_action(
            "failed",
            &bad,
            &[
                ("INPUT_PATH", "/?delay=500ms"),
                ("INPUT_ARGS", "--stop-timeout 2"),
            ],
        );
        (passed.join().expect("joins"), failed)
    })
    .await
    .expect("joins");

    assert_eq!(passed.code, Some(0), "{}", passed.log);
    assert!(
        passed.summary.starts_with("## shutdown-harness: passed"),
        "{}",
        passed.summary
    );
    assert!(
        passed.summary.contains("| met: ok | met: "),
        "{}",
        passed.summary
    );
    assert!(
        passed.summary.contains("Thresholds: met"),
        "{}",
        passed.summary
    );
    assert!(
        passed.summary.contains("[HTML report](report.html)"),
        "{}",
        passed.summary
    );
    assert!(
        passed
            .summary
            .contains("https://github.com/you/your-service/actions/runs/42"),
        "{}",
        passed.summary
    );
    assert_eq!(passed.output.trim(), "passed=true");
    for report in ["junit.xml", "report.json", "report.html", "summary.md"] {
        let path = passed.reports.join(report);
        assert!(
            std::fs::metadata(&path).is_ok_and(|m| m.len() > 0),
            "{} was not written",
            path.display()
        );
    }

    // The shell form on dash serves after the stop and is SIGKILLed: the job fails with it.
    assert_eq!(failed.code, Some(1), "{}", failed.log);
    assert!(
        failed.summary.starts_with("## shutdown-harness: FAILED"),
        "{}",
        failed.summary
    );
    assert!(failed.summary.contains("**NOT met**"), "{}", failed.summary);
    assert_eq!(failed.output.trim(), "passed=false");
}
