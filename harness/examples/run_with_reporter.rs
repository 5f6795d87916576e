//! Embeds the harness: reads the workspace's blog scenarios, runs them on the engine with a
//! reporter that prints each result the moment its scenario finishes (beside the JSON-lines
//! event log, through a fan-out), then checks an image.
//!
//! Run with `cargo run -p shutdown-harness --example run_with_reporter` from the checkout
//! (needs a Docker engine).

use shutdown_harness::{
    CheckOptions, Engine, EventLog, FanOut, Requirement, RunEvent, RunOptions, Workspace,
    check_image, run_scenarios, scenario_file,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let here = std::env::current_dir()?;
    let workspace = Workspace::find_from(&here).ok_or("run this from the project's checkout")?;
    let scenarios =
        scenario_file::read(workspace.root(), &[workspace.scenarios().join("blog.toml")])?;
    let engine = Engine::connect().await?;

    // A reporter is any FnMut(RunEvent): it hears the build, each event and each result live.
    let mut reporter = |event: RunEvent<'_>| {
        if let RunEvent::ScenarioFinished { result, .. } = event {
            let verdict = if result.passed() { "PASS" } else { "FAIL" };
            println!("{verdict} {}", result.scenario.name);
        }
    };
    // Several reporters hear the same events through a fan-out: here the JSON lines that
    // `--events FILE` writes, too.
    let events = std::env::temp_dir().join("run_with_reporter.events.jsonl");
    let mut log = EventLog::create(&events)?;
    let reporters = &mut FanOut::new().with(&mut log).with(&mut reporter);
    let options = RunOptions::new(Some(workspace));
    let results = run_scenarios(Some(&engine), &scenarios, &options, reporters).await?;
    println!("events: {}", events.display());
    println!(
        "{} of {} passed",
        results.scenarios.iter().filter(|s| s.passed()).count(),
        results.scenarios.len()
    );

    // The exec-form image the run just built, checked like any image: `&mut ()` hears nothing.
    let check = CheckOptions::new(1202, "/?delay=2s");
    let image = "localhost/shutdown-harness/exec-form:dash";
    let result = check_image(&engine, image, &check, &mut ()).await?;
    println!(
        "{image}: answers in flight {:?}, refuses new {:?}",
        result.requirement(Requirement::AnswersInFlight),
        result.requirement(Requirement::RefusesNew)
    );
    Ok(())
}
