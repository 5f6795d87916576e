//! The HTML report as a browser renders it: real results of the experiment's bare-process
//! scenarios (no engine needed), rendered by headless Chromium, asserted on its DOM and its
//! screenshot.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use shutdown_harness::report::{Format, render};
use shutdown_harness::reproduce::{Timings, scenarios};
use shutdown_harness::{RunOptions, RunResults, Target, Workspace};

/// Chromium renders a small page in about two seconds here; past this it is stuck.
const CHROMIUM_DEADLINE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn the_html_report_shows_each_scenario_s_timeline_in_a_browser() {
    let chromium = chromium();
    let results = process_results().await;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html_report");
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("report.html");
    std::fs::write(&page, render(&results, Format::Html)).unwrap();
    let url = format!("file://{}", page.display());

    let dom = run_chromium(&chromium, &["--dump-dom", &url]).await;
    let dom = String::from_utf8_lossy(&dom);
    assert_eq!(
        dom.matches(r#"class="timeline""#).count(),
        results.scenarios.len(),
        "one timeline per scenario in:\n{dom}"
    );
    // A shape left open would swallow what follows it, and the browser would draw none of it.
    for shape in ["rect", "line"] {
        for (at, _) in dom.match_indices(&format!("<{shape} ")) {
            let rest = &dom[at..];
            let end = rest.find('>').unwrap();
            assert!(
                rest[end + 1..].starts_with(&format!("</{shape}>")),
                "an SVG {shape} holds other elements: {}",
                &rest[..rest.len().min(300)]
            );
        }
    }
    for result in &results.scenarios {
        let name = &result.scenario.name;
        let section = section(&dom, name);
        assert_eq!(section.matches(r#"class="timeline""#).count(), 1, "{name}");
        // Every request is a bar carrying its outcome, with the outcome written beside it.
        for request in &result.observation.requests {
            let word = request.outcome.name();
            assert!(
                section.contains(&format!(r#"data-outcome="{word}""#)),
                "{name}: no bar for {} ({word}) in:\n{section}",
                request.name
            );
            assert!(
                section.contains(&format!(">{word}</text>")),
                "{name}: no label {word} in:\n{section}"
            );
        }
        // The stop and the exit are marked; the server's lines are there to hover.
        let code = result.observation.exit_code.unwrap();
        assert!(
            section.contains("SIGTERM sent</text>"),
            "{name}:\n{section}"
        );
        assert!(section.contains(&format!("exit {code}</text>")), "{name}");
        assert!(
            section.contains("Receive Request"),
            "{name}: server log missing"
        );
    }
    // The experiment's outcomes: the graceful server answers, the abrupt one cuts its request,
    // and nothing is served once the listener is closed.
    assert!(dom.contains(">ok</text>"));
    assert!(dom.contains(">refused</text>"));
    assert!(dom.contains(">empty-reply</text>") || dom.contains(">reset</text>"));

    let png = dir.join("report.png");
    let _ = std::fs::remove_file(&png);
    let screenshot = format!("--screenshot={}", png.display());
    run_chromium(
        &chromium,
        &[
            "--hide-scrollbars",
            "--window-size=1200,1600",
            &screenshot,
            &url,
        ],
    )
    .await;
    let bytes =
        std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot {}: {e}", png.display()));
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        png.display()
    );
}

/// The results of the experiment's bare-process scenarios: abrupt and graceful.
async fn process_results() -> RunResults {
    let workspace = Workspace::find_from(Path::new(env!("CARGO_MANIFEST_DIR")))
        .expect("the tests run inside the checkout");
    let scenarios: Vec<_> = scenarios(Timings::fast())
        .into_iter()
        .filter(|s| matches!(s.target, Target::Process))
        .collect();
    assert_eq!(
        scenarios.len(),
        2,
        "the experiment has two process scenarios"
    );
    let results =
        shutdown_harness::run(None, &scenarios, &RunOptions::new(Some(workspace)), &mut ())
            .await
            .expect("process scenarios need no engine");
    assert!(results.passed(), "{}", render(&results, Format::Table));
    results
}

/// Chromium, as Debian installs it.
fn chromium() -> PathBuf {
    let path = PathBuf::from("/usr/bin/chromium");
    assert!(
        path.is_file(),
        "headless Chromium renders the HTML report in this test and {} is missing: \
         apt-get install chromium",
        path.display()
    );
    path
}

/// Runs headless Chromium with `args`; its standard output. Killed, with its children, past the
/// deadline.
async fn run_chromium(chromium: &Path, args: &[&str]) -> Vec<u8> {
    let mut command = tokio::process::Command::new(chromium);
    command
        .args(["--headless", "--no-sandbox", "--disable-gpu"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so that a stuck browser is killed with its helpers.
        .process_group(0)
        .kill_on_drop(true);
    let child = command.spawn().expect("chromium starts");
    let group = child.id().map(|id| nix::unistd::Pid::from_raw(id as i32));
    match tokio::time::timeout(CHROMIUM_DEADLINE, child.wait_with_output()).await {
        Ok(output) => {
            let output = output.expect("chromium's output is read");
            assert!(
                output.status.success(),
                "chromium {args:?} failed ({}):\n{}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
            output.stdout
        }
        Err(_) => {
            if let Some(group) = group {
                let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
            }
            panic!("chromium {args:?} took more than {CHROMIUM_DEADLINE:?}: killed");
        }
    }
}

/// The rendered section of scenario `name`.
fn section<'a>(dom: &'a str, name: &str) -> &'a str {
    let marker = format!(r#"data-scenario="{name}""#);
    let start = dom
        .find(&marker)
        .unwrap_or_else(|| panic!("no section for {name} in:\n{dom}"));
    let rest = &dom[start..];
    let end = rest.find("</section>").unwrap_or(rest.len());
    &rest[..end]
}
