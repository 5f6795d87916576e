//! The JUnit XML report, for CI systems that show test results: one test case per scenario.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::model::results::RunResults;
use crate::model::verdict::Failure;
use crate::report::human;

/// Renders `results` as JUnit XML; a failed scenario's `type` names the kinds of its failures
/// (`error`, `exit-code`, ...), its message gives their sentences, and its timeline is the test
/// case's output.
pub fn render(results: &RunResults) -> String {
    let mut suite = TestSuite::new("shutdown-harness");
    suite.set_time(results.duration);
    for result in &results.scenarios {
        let status = if result.passed() {
            TestCaseStatus::success()
        } else if let Some(not_delivered) = &result.verdict.not_delivered {
            // Not judged: skipped, with why.
            let mut status = TestCaseStatus::skipped();
            status.set_type("not-delivered");
            status.set_message(not_delivered.to_string());
            status
        } else {
            let kind = if result.error.is_some() {
                NonSuccessKind::Error
            } else {
                NonSuccessKind::Failure
            };
            let mut status = TestCaseStatus::non_success(kind);
            let lines: Vec<String> = result
                .error
                .iter()
                .map(|e| e.to_string())
                .chain(result.verdict.failures.iter().map(ToString::to_string))
                .collect();
            let mut kinds: Vec<&str> = Vec::new();
            let each = result.error.iter().map(|_| "error");
            for kind in each.chain(result.verdict.failures.iter().map(Failure::kind)) {
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
            status.set_type(kinds.join(", "));
            status.set_message(lines.join("; "));
            status
        };
        let mut case = TestCase::new(result.scenario.name.as_str(), status);
        case.set_classname("shutdown-harness")
            .set_time(result.observation.duration)
            .set_system_out(human::render_scenario(result));
        suite.add_test_case(case);
    }
    let mut report = Report::new("shutdown-harness");
    report.set_time(results.duration).add_test_suite(suite);
    report
        .to_string()
        .expect("a report of plain strings serialises")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::results::ScenarioResult;
    use crate::model::verdict::Verdict;
    use crate::reproduce::{Timings, scenarios};

    #[test]
    fn a_failures_type_names_its_kinds_and_its_message_their_sentences() {
        let exit = Failure::ExitCode {
            expected: 0,
            seen: Some(137),
        };
        let results = RunResults {
            scenarios: vec![ScenarioResult {
                scenario: scenarios(Timings::fast())[3].clone(),
                observation: Default::default(),
                verdict: Verdict {
                    passed: false,
                    failures: vec![exit.clone(), Failure::StopNeverReturned, exit],
                    requirements: Vec::new(),
                    not_delivered: None,
                },
                error: None,
                started: Duration::ZERO,
            }],
            duration: Duration::ZERO,
            build_duration: Duration::ZERO,
            engine: None,
        };
        let xml = render(&results);
        assert!(
            xml.contains(r#"type="exit-code, stop-never-returned""#),
            "{xml}"
        );
        assert!(
            xml.contains(
                "exit code: expected 0, got 137; stop duration: the stop never returned; exit code"
            ),
            "{xml}"
        );
    }
}
