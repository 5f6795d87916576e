//! What people watch while a run goes on: a progress display on stderr (images, then scenarios
//! done / running / failed) when it is a terminal and NO_COLOR is unset, and the results as
//! each scenario finishes: a line, plus its timeline where it did not behave as expected. A
//! reporter beside the others (the `--events` log) through the library's fan-out.

use std::io::IsTerminal;
use std::time::Duration;

use console::Style;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use shutdown_harness::report::{human, line};

use crate::flags;
use crate::stdout;
use crate::table;

use shutdown_harness::{BuildEvent, Reporter, RunEvent, RunResults, ScenarioResult};

/// What is shown for each finished scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// One line; the timeline too when it did not behave as expected (or with `--verbose`).
    Lines,
    /// Every timeline: the experiment, or a check, is the timeline.
    Timelines,
}

/// The live reporter of the command line.
pub struct Live {
    show: Show,
    verbose: bool,
    /// Results go to stdout as they come (the human format without `--output`); otherwise they
    /// are shown on stderr only when it is a terminal, and stdout stays byte-clean.
    results_on_stdout: bool,
    /// Everything shown as results, to be written to `--output` at the end.
    transcript: String,
    bar: ProgressBar,
    pass: Style,
    fail: Style,
    name_width: usize,
    running: usize,
    failed: usize,
    images: (usize, usize),
    /// Why the run's closing cleanup failed, if it did (said once the display is closed).
    cleanup_failed: Option<String>,
}

impl Live {
    /// A reporter showing `show`; `results_on_stdout` when the human report goes to stdout.
    pub fn new(show: Show, verbose: bool, results_on_stdout: bool) -> Live {
        let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let progress = std::io::stderr().is_terminal() && !no_colour;
        let target = if progress {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let colour = !no_colour
            && if results_on_stdout {
                std::io::stdout().is_terminal()
            } else {
                progress
            };
        Live {
            show,
            verbose,
            results_on_stdout,
            transcript: String::new(),
            bar: ProgressBar::with_draw_target(None, target),
            pass: Style::new().green().force_styling(colour),
            fail: Style::new().red().bold().force_styling(colour),
            name_width: 0,
            running: 0,
            failed: 0,
            images: (0, 0),
            cleanup_failed: None,
        }
    }

    /// Why the closing cleanup failed, if it did.
    pub fn cleanup_failed(&self) -> Option<&str> {
        self.cleanup_failed.as_deref()
    }

    /// What was shown as results, for `--output`.
    pub fn transcript(&self) -> &str {
        &self.transcript
    }

    /// Shows the closing part: the verdict table (when asked) and the summary.
    pub fn finish(&mut self, results: &RunResults, with_table: bool) {
        self.bar.finish_and_clear();
        let mut closing = String::new();
        if with_table && !results.scenarios.is_empty() {
            closing.push('\n');
            closing.push_str(&table::verdict_table(results));
        }
        closing.push_str(&human::summary_line(results));
        closing.push('\n');
        self.show_text(&closing);
    }

    /// Shows `text` as a result: on stdout, or on stderr above the progress display.
    fn show_text(&mut self, text: &str) {
        self.transcript.push_str(text);
        if self.results_on_stdout {
            self.bar.suspend(|| stdout::print(text));
        } else {
            for line in text.lines() {
                self.bar.println(line);
            }
        }
    }

    fn scenario_finished(&mut self, result: &ScenarioResult) {
        self.running = self.running.saturating_sub(1);
        if !result.passed() && !result.not_delivered() && !result.skipped() {
            self.failed += 1;
        }
        self.bar.inc(1);
        self.bar.set_message(self.counts());
        let text = match self.show {
            Show::Timelines => format!("{}\n", human::render_scenario_with(result, &flags::spell)),
            Show::Lines => {
                let line = line::line(result, self.name_width);
                let (status, rest) = line.split_at(line.find(' ').unwrap_or(0));
                let style = if result.passed() {
                    &self.pass
                } else {
                    &self.fail
                };
                let mut text = format!("{}{rest}\n", style.apply_to(status));
                // A skipped line says why and what to run: no timeline to show.
                if self.verbose || !(result.passed() || result.skipped()) {
                    text.push_str(&human::render_scenario_with(result, &flags::spell));
                    text.push('\n');
                }
                text
            }
        };
        self.show_text(&text);
    }

    fn counts(&self) -> String {
        format!("{} running · {} failed", self.running, self.failed)
    }
}

impl Reporter for Live {
    fn report(&mut self, event: RunEvent<'_>) {
        match event {
            RunEvent::Build(build) => {
                if self.bar.length().is_none() && self.bar.elapsed() < Duration::from_millis(1) {
                    self.bar.set_style(spinner_style());
                    self.bar.enable_steady_tick(Duration::from_millis(120));
                }
                match build {
                    BuildEvent::ServerBuilding => self
                        .bar
                        .set_message("building graceful-server (cargo, static)"),
                    BuildEvent::ServerReady => self.bar.set_message("graceful-server ready"),
                    BuildEvent::ImageStarted { name } => {
                        self.bar.set_message(format!("image {name}"))
                    }
                    BuildEvent::ImageFinished { built, .. } => {
                        if *built {
                            self.images.0 += 1;
                        } else {
                            self.images.1 += 1;
                        }
                        self.bar.set_message(format!(
                            "images: {} built, {} from the cache",
                            self.images.0, self.images.1
                        ));
                    }
                }
            }
            RunEvent::RunStarted { scenarios, .. } => {
                self.name_width = scenarios.iter().map(|s| s.name.len()).max().unwrap_or(0);
                self.bar.disable_steady_tick();
                self.bar.set_length(scenarios.len() as u64);
                self.bar.set_position(0);
                self.bar.set_style(bar_style());
                self.bar.set_message(self.counts());
                self.bar.enable_steady_tick(Duration::from_millis(500));
            }
            RunEvent::ScenarioStarted { .. } => {
                self.running += 1;
                self.bar.set_message(self.counts());
            }
            RunEvent::Event { .. } => {}
            RunEvent::ScenarioFinished { result, .. } => self.scenario_finished(result),
            RunEvent::CleanupFailed(error) => self.cleanup_failed = Some(error.to_string()),
            RunEvent::RunFinished { .. } => self.bar.finish_and_clear(),
        }
    }
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} done · {msg}")
        .map(|style| style.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}
