//! Scenario files: the shipped ones load, and every class of mistake gets a one-line error with
//! `path:line:column` and the offending key or value. No Docker needed.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use shutdown_harness::scenario_file::{filter, parse, read};
use shutdown_harness::{
    Base, Expected, Outcome, RequestKind, Runtime, ScenarioFileError, ServerMode, StopSignal,
    Target, Variant,
};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the harness is in the workspace")
        .to_path_buf()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad")
}

/// A workspace with only `shell-form` and `exec-form` Dockerfiles.
fn partial_workspace() -> PathBuf {
    fixtures().join("workspace")
}

/// The error lines of parsing `text` as `scenarios/test.toml` in `workspace`.
fn errors_in(workspace: &Path, text: &str) -> Vec<String> {
    let path = workspace.join("scenarios/test.toml");
    match parse(workspace, &path, text) {
        Ok(scenarios) => panic!("expected errors, got {} scenarios", scenarios.len()),
        Err(ScenarioFileError::Invalid { diagnostics }) => {
            diagnostics.iter().map(ToString::to_string).collect()
        }
        Err(other) => panic!("expected diagnostics, got {other:?}"),
    }
}

fn errors(text: &str) -> Vec<String> {
    errors_in(&workspace(), text)
}

fn assert_one_error(lines: &[String], prefix: &str, mentions: &[&str]) {
    assert_eq!(lines.len(), 1, "expected one error, got {lines:#?}");
    let line = &lines[0];
    assert!(
        line.starts_with(prefix),
        "{line:?} should start with {prefix:?}"
    );
    for m in mentions {
        assert!(line.contains(m), "{line:?} should mention {m:?}");
    }
}

const GOOD_HEAD: &str = r#"[defaults]
base = "dash"
delay = "1s"
stop-timeout = "2s"
requests = [
  { name = "in-flight", at = "-300ms" },
  { name = "after-stop", at = "+300ms" },
]
"#;

fn all_expected(scenarios: &[shutdown_harness::Scenario]) {
    let mut names = HashSet::new();
    for s in scenarios {
        assert!(names.insert(s.name.clone()), "duplicate name {}", s.name);
        for r in &s.requests {
            assert!(
                s.expect.requests.iter().any(|(n, _)| *n == r.name),
                "{} has no expectation for {}",
                s.name,
                r.name
            );
        }
        assert!(
            s.expect.exit_code.is_some(),
            "{} expects no exit code",
            s.name
        );
        assert!(s.reason.is_some(), "{} gives no reason", s.name);
    }
}

#[test]
fn blog_file_is_the_experiment_with_fast_timings() {
    let scenarios = read(&workspace(), &[workspace().join("scenarios/blog.toml")]).unwrap();
    let names: Vec<_> = scenarios.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["blog/shell-form", "blog/exec-form"]);
    all_expected(&scenarios);
    let fast = shutdown_harness::reproduce::Timings::fast();
    for s in &scenarios {
        assert_eq!(s.server.delay, fast.handler);
        assert_eq!(s.server.mode, ServerMode::Graceful);
        assert_eq!(s.stop.timeout, fast.grace);
        assert_eq!(s.stop.at, fast.stop_into_request);
        assert_eq!(s.stop.signal, StopSignal::Sigterm);
        assert_eq!(
            s.requests[0].at.0,
            -(fast.stop_into_request.as_millis() as i64)
        );
        assert_eq!(s.requests[1].at.0, fast.after_stop.as_millis() as i64);
    }
    let shell = &scenarios[0];
    assert_eq!(
        shell.target,
        Target::Container(shutdown_harness::ContainerSpec {
            variant: Variant::ShellForm,
            base: Base::Dash,
            init: false
        })
    );
    assert_eq!(shell.expect.exit_code, Some(137));
    assert_eq!(shell.expect.stop_at_least, Some(fast.grace));
    assert_eq!(
        scenarios[1].expect.requests,
        [
            ("in-flight".to_string(), Expected::Is(Outcome::Ok)),
            ("after-stop".to_string(), Expected::NotServed)
        ]
    );
}

#[test]
fn matrix_file_loads_every_cell_with_expectations() {
    let scenarios = read(&workspace(), &[workspace().join("scenarios/matrix.toml")]).unwrap();
    assert!(scenarios.len() >= 30, "only {} scenarios", scenarios.len());
    all_expected(&scenarios);
    // No cell puts a shell-needing variant on `none`.
    for s in &scenarios {
        if let Some(c) = s.container() {
            assert!(
                !(c.variant.needs_shell() && c.base == Base::None),
                "{}",
                s.name
            );
        }
    }
    let by_name = |name: &str| {
        scenarios
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no scenario {name}"))
    };
    // Rules: dash's shell form overrides the mode; bash's behaves like exec form.
    assert_eq!(
        by_name("dash/shell-form/graceful").expect.exit_code,
        Some(137)
    );
    assert_eq!(
        by_name("bash/shell-form/graceful").expect.exit_code,
        Some(0)
    );
    assert_eq!(by_name("none/tini/unhandled").expect.exit_code, Some(143));
    let reason = by_name("bash/exec-form-sh/graceful")
        .reason
        .clone()
        .unwrap();
    assert!(reason.contains("bash and busybox ash exec"), "{reason}");
    assert!(reason.contains("drains"), "{reason}");
    // Matrix order follows the axes as written: base, then variant, then mode.
    assert_eq!(scenarios[0].name, "dash/shell-form/graceful");
    assert_eq!(scenarios[1].name, "dash/shell-form/abrupt");
    // The special cases.
    let sigint = by_name("dash/exec-form/sigint-only/stop-SIGINT");
    assert_eq!(sigint.stop.signal, StopSignal::Sigint);
    assert_eq!(sigint.server.signals, Some(vec![StopSignal::Sigint]));
    assert!(
        by_name("dash/shell-form/graceful/init")
            .container()
            .unwrap()
            .init
    );
    let long = by_name("dash/exec-form/request-longer-than-grace");
    assert!(matches!(
        long.requests[0].kind,
        shutdown_harness::RequestKind::Slow { delay: Some(d) } if d > long.stop.timeout
    ));
    let download = by_name("dash/exec-form/abrupt/download");
    assert_eq!(
        download.expect.requests[0],
        ("download".to_string(), Expected::Is(Outcome::Truncated))
    );
}

#[test]
fn a_directory_loads_its_files_sorted() {
    let scenarios = read(&workspace(), &[workspace().join("scenarios")]).unwrap();
    assert_eq!(scenarios[0].name, "blog/shell-form");
    let matrix = read(&workspace(), &[workspace().join("scenarios/matrix.toml")]).unwrap();
    assert!(scenarios.len() >= 2 + matrix.len());
}

#[test]
fn filter_selects_by_glob() {
    let scenarios = read(&workspace(), &[workspace().join("scenarios")]).unwrap();
    let dash = filter(scenarios.clone(), "dash/*").unwrap();
    assert!(!dash.is_empty());
    assert!(dash.iter().all(|s| s.name.starts_with("dash/")));
    let exec = filter(scenarios.clone(), "*/exec-form/*").unwrap();
    assert!(exec.iter().all(|s| s.name.contains("/exec-form/")));
    assert_eq!(filter(scenarios, "blog/exec-form").unwrap().len(), 1);
}

#[test]
fn defaults_fill_in_and_stop_at_follows_the_earliest_request() {
    let text = format!(
        "{GOOD_HEAD}\n[[scenario]]\nname = \"x\"\nvariant = \"exec-form\"\nreason = \"r\"\n\
         expect = {{ requests = {{ in-flight = \"ok\", after-stop = \"reset\" }} }}\n"
    );
    let scenarios = parse(&workspace(), Path::new("t.toml"), &text).unwrap();
    let s = &scenarios[0];
    assert_eq!(s.stop.at, Duration::from_millis(300));
    assert_eq!(s.stop.signal, StopSignal::Sigterm);
    assert_eq!(s.server.mode, ServerMode::Graceful);
    assert_eq!(s.expect.requests[1].1, Expected::Is(Outcome::Reset));
}

#[test]
fn unknown_key_is_named_with_its_table_and_a_suggestion() {
    let text = format!(
        "{GOOD_HEAD}\n[[scenario]]\nname = \"x\"\nvariant = \"exec-form\"\nstop-timout = \"2s\"\n"
    );
    let lines = errors(&text);
    assert_one_error(
        &lines,
        "scenarios/test.toml:13:1: unknown key `stop-timout` in [[scenario]]",
        &["did you mean `stop-timeout`?", "expected one of: name,"],
    );
}

#[test]
fn unknown_key_inside_an_inline_table() {
    let text = format!(
        "{GOOD_HEAD}\n[[scenario]]\nname = \"x\"\nvariant = \"exec-form\"\n\
         expect = {{ requests = {{ in-flight = \"ok\", after-stop = \"ok\" }}, exit-cod = 0 }}\n"
    );
    let lines = errors(&text);
    assert_one_error(
        &lines,
        "scenarios/test.toml:13:64: unknown key `exit-cod` in `expect`",
        &["did you mean `exit-code`?"],
    );
}

#[test]
fn bad_duration_points_at_the_value() {
    let text = format!(
        "{GOOD_HEAD}\n[[scenario]]\nname = \"x\"\nvariant = \"exec-form\"\ndelay = \"1,5s\"\n\
         expect = {{ requests = {{ in-flight = \"ok\", after-stop = \"ok\" }} }}\n"
    );
    let lines = errors(&text);
    assert_one_error(
        &lines,
        "scenarios/test.toml:13:9: bad duration \"1,5s\" for `delay`",
        &["write it like 250ms, 2s or 1.5s"],
    );
}

#[test]
fn missing_dockerfile_names_the_file_and_variant() {
    let text = format!(
        "{GOOD_HEAD}\n[[scenario]]\nname = \"x\"\nvariant = \"tini\"\n\
         expect = {{ requests = {{ in-flight = \"ok\", after-stop = \"ok\" }} }}\n"
    );
    let lines = errors_in(&partial_workspace(), &text);
    assert_one_error(
        &lines,
        "scenarios/test.toml:12:11: Dockerfile Dockerfiles/tini.Dockerfile not found for variant `tini`",
        &[],
    );
}

#[test]
fn unknown_variant_lists_the_known_ones() {
    let text = format!(
        "{GOOD_HEAD}\n[[scenario]]\nname = \"x\"\nvariant = \"foo\"\n\
         expect = {{ requests = {{ in-flight = \"ok\", after-stop = \"ok\" }} }}\n"
    );
    assert_one_error(
        &errors(&text),
        "scenarios/test.toml:12:11: unknown variant \"foo\"",
        &["Dockerfiles/foo.Dockerfile", "shell-form, exec-form"],
    );
}

#[test]
fn shell_variant_on_base_none_is_an_error_in_a_scenario() {
    let text = format!(
        "{GOOD_HEAD}\n[[scenario]]\nname = \"x\"\nbase = \"none\"\nvariant = \"shell-form\"\n\
         expect = {{ requests = {{ in-flight = \"ok\", after-stop = \"ok\" }} }}\n"
    );
    assert_one_error(
        &errors(&text),
        "scenarios/test.toml:13:11: variant `shell-form` needs /bin/sh, but base `none` has no shell",
        &[],
    );
}

#[test]
fn expectation_for_a_request_not_sent() {
    let text = format!(
        "{GOOD_HEAD}\n[[scenario]]\nname = \"x\"\nvariant = \"exec-form\"\n\
         expect = {{ requests = {{ in-flight = \"ok\", after-stp = \"ok\" }} }}\n"
    );
    let lines = errors(&text);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert_eq!(
        lines[0],
        "scenarios/test.toml:10:1: scenario `x` has no expectation for request `after-stop` (add it to `expect.requests`)"
    );
    assert_eq!(
        lines[1],
        "scenarios/test.toml:13:43: expectation names request `after-stp`, which this scenario does not send (it sends: in-flight, after-stop)"
    );
}

#[test]
fn unknown_expectation_word() {
    let text = format!(
        "{GOOD_HEAD}\n[[scenario]]\nname = \"x\"\nvariant = \"exec-form\"\n\
         expect = {{ requests = {{ in-flight = \"fine\", after-stop = \"ok\" }} }}\n"
    );
    assert_one_error(
        &errors(&text),
        "scenarios/test.toml:13:37: unknown expectation \"fine\" for request `in-flight`",
        &["not-served"],
    );
}

#[test]
fn stop_timeout_must_be_whole_seconds_for_containers() {
    let text = format!(
        "{GOOD_HEAD}\n[[scenario]]\nname = \"x\"\nvariant = \"exec-form\"\nstop-timeout = \"1500ms\"\n\
         expect = {{ requests = {{ in-flight = \"ok\", after-stop = \"ok\" }} }}\n"
    );
    assert_one_error(
        &errors(&text),
        "scenarios/test.toml:13:16: stop-timeout 1.5s is not whole seconds",
        &["docker stop takes its grace period in seconds"],
    );
    // A process takes any grace period.
    let process = "[[scenario]]\nname = \"p\"\ntarget = \"process\"\ndelay = \"1s\"\n\
                   stop-timeout = \"1500ms\"\nrequests = [{ name = \"a\", at = \"-1s\" }]\n\
                   expect = { requests = { a = \"ok\" } }\n";
    let scenarios = parse(&workspace(), Path::new("p.toml"), process).unwrap();
    assert_eq!(scenarios[0].target, Target::Process);
    assert_eq!(scenarios[0].stop.timeout, Duration::from_millis(1500));
}

#[test]
fn duplicate_names_within_and_across_files() {
    let text = format!(
        "{GOOD_HEAD}\n[[scenario]]\nname = \"x\"\nvariant = \"exec-form\"\n\
         expect = {{ requests = {{ in-flight = \"ok\", after-stop = \"ok\" }} }}\n\n\
         [[scenario]]\nname = \"x\"\nvariant = \"shell-form\"\n\
         expect = {{ requests = {{ in-flight = \"ok\", after-stop = \"ok\" }} }}\n"
    );
    assert_one_error(
        &errors(&text),
        "scenarios/test.toml:15:1: duplicate scenario name `x` (first defined at scenarios/test.toml:10:1)",
        &[],
    );

    let dir = fixtures();
    let result = read(
        &workspace(),
        &[
            workspace().join("scenarios/blog.toml"),
            dir.join("duplicate-of-blog.toml"),
        ],
    );
    let Err(error @ ScenarioFileError::Invalid { .. }) = result else {
        panic!("expected an error, got {result:?}")
    };
    let message = error.to_string();
    assert_eq!(
        message,
        // Files load sorted by path: harness/... before scenarios/...
        "scenarios/blog.toml:23:1: duplicate scenario name `blog/exec-form` (first defined at harness/tests/fixtures/bad/duplicate-of-blog.toml:3:1)"
    );
}

#[test]
fn matrix_template_that_collides_names_the_missing_axis() {
    let text = format!(
        "{GOOD_HEAD}\n[[matrix]]\nname = \"{{base}}/{{variant}}\"\nvariant = \"exec-form\"\n\
         mode = [\"graceful\", \"abrupt\"]\n\
         expect = {{ requests = {{ in-flight = \"ok\", after-stop = \"ok\" }} }}\n"
    );
    assert_one_error(
        &errors(&text),
        "scenarios/test.toml:11:8: name template \"{base}/{variant}\" gives `dash/exec-form` to more than one cell",
        &["{mode}"],
    );
}

#[test]
fn matrix_cell_without_expectation_names_the_cell_and_the_matrix() {
    let text = format!(
        "{GOOD_HEAD}\n[[matrix]]\nname = \"{{base}}/{{variant}}/{{mode}}\"\nvariant = \"exec-form\"\n\
         mode = [\"graceful\", \"abrupt\"]\n\n[[matrix.rule]]\nwhen = {{ mode = \"graceful\" }}\n\
         expect = {{ requests = {{ in-flight = \"ok\", after-stop = \"ok\" }} }}\n"
    );
    let lines = errors(&text);
    assert_eq!(
        lines,
        [
            "scenarios/test.toml:10:1: matrix cell `dash/exec-form/abrupt` has no expectation for request `in-flight` (add a [[matrix.rule]] whose `when` matches this cell)",
            "scenarios/test.toml:10:1: matrix cell `dash/exec-form/abrupt` has no expectation for request `after-stop` (add a [[matrix.rule]] whose `when` matches this cell)",
        ]
    );
}

#[test]
fn matrix_skips_shell_variants_on_none_and_honours_exclude() {
    let text = format!(
        "{GOOD_HEAD}\n[[matrix]]\nname = \"{{base}}/{{variant}}/{{mode}}\"\n\
         base = [\"dash\", \"none\"]\nvariant = [\"shell-form\", \"exec-form\"]\n\
         mode = [\"graceful\", \"abrupt\"]\nexclude = [{{ base = \"none\", mode = \"abrupt\" }}]\n\
         expect = {{ requests = {{ in-flight = \"ok\", after-stop = \"ok\" }} }}\n"
    );
    let scenarios = parse(&workspace(), Path::new("t.toml"), &text).unwrap();
    let names: Vec<_> = scenarios.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "dash/shell-form/graceful",
            "dash/shell-form/abrupt",
            "dash/exec-form/graceful",
            "dash/exec-form/abrupt",
            "none/exec-form/graceful",
        ]
    );
}

#[test]
fn lists_outside_a_matrix_and_rules_that_match_nothing() {
    let text = format!(
        "{GOOD_HEAD}\n[[scenario]]\nname = \"x\"\nvariant = [\"exec-form\", \"tini\"]\n\
         expect = {{ requests = {{ in-flight = \"ok\", after-stop = \"ok\" }} }}\n"
    );
    assert_one_error(
        &errors(&text),
        "scenarios/test.toml:12:11: `variant` takes one value in [[scenario]]; a list makes a matrix axis",
        &[],
    );
    let text = format!(
        "{GOOD_HEAD}\n[[matrix]]\nname = \"{{mode}}\"\nvariant = \"exec-form\"\nmode = [\"graceful\"]\n\
         expect = {{ requests = {{ in-flight = \"ok\", after-stop = \"ok\" }} }}\n\n\
         [[matrix.rule]]\nwhen = {{ mode = \"abrupt\" }}\nreason = \"never\"\n"
    );
    assert_one_error(
        &errors(&text),
        "scenarios/test.toml:16:1: this [[matrix.rule]] matches no cell of the matrix",
        &[],
    );
}

#[test]
fn syntax_errors_are_one_line_with_a_position() {
    let lines = errors("[[scenario]]\nname = \"x\ndelay = \"1s\"\n");
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].starts_with("scenarios/test.toml:2:"), "{lines:?}");
    assert!(!lines[0].contains('\n'));
}

#[test]
fn one_bad_file_of_two_returns_nothing_and_lists_errors_of_both() {
    let dir = fixtures();
    let result = read(
        &workspace(),
        &[dir.join("unknown-key.toml"), dir.join("bad-values.toml")],
    );
    let Err(error @ ScenarioFileError::Invalid { .. }) = result else {
        panic!("expected an error, got {result:?}")
    };
    let message = error.to_string();
    let lines: Vec<_> = message.lines().collect();
    // Sorted by file name: bad-values.toml first.
    assert_eq!(
        lines,
        [
            "harness/tests/fixtures/bad/bad-values.toml:4:9: bad duration \"1,5s\" for `delay`: write it like 250ms, 2s or 1.5s",
            "harness/tests/fixtures/bad/bad-values.toml:11:11: variant `script-exec` needs /bin/sh, but base `none` has no shell (use exec-form or tini on `none`, or a base with a shell)",
            "harness/tests/fixtures/bad/unknown-key.toml:7:1: unknown key `stop-timout` in [[scenario]]: did you mean `stop-timeout`? (expected one of: name, reason, expect, signals, requests, load, rollout, balancer, target, runtime, base, variant, init, mode, delay, drain-timeout, stop-signal, stop-timeout, stop-at, client, keep-alive, linger, idle-timeout, protocol)",
        ]
    );
    // A good file next to a bad one does not load either.
    let result = read(
        &workspace(),
        &[
            workspace().join("scenarios/blog.toml"),
            dir.join("unknown-key.toml"),
        ],
    );
    assert!(matches!(result, Err(ScenarioFileError::Invalid { .. })));
}

#[test]
fn a_missing_file_is_a_read_error() {
    let result = read(&workspace(), &[workspace().join("scenarios/nope.toml")]);
    assert!(
        matches!(result, Err(ScenarioFileError::Read { .. })),
        "{result:?}"
    );
}

#[test]
fn a_malformed_filter_glob_is_an_error() {
    let scenarios = read(&workspace(), &[workspace().join("scenarios")]).unwrap();
    let error = filter(scenarios, "dash/[").unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("the filter: bad glob `dash/[`"),
        "{message}"
    );
    // A front end names its own spelling of the option (the CLI: `--filter`).
    let spelled = error.message_with(&|option| format!("<{option:?}>"));
    assert!(spelled.contains("<Filter>: bad glob `dash/[`"), "{spelled}");
}

#[test]
fn wrong_types_and_unknown_when_keys() {
    let text = format!(
        "{GOOD_HEAD}\n[[scenario]]\nname = \"x\"\nvariant = \"exec-form\"\ninit = \"yes\"\n\
         expect = {{ requests = {{ in-flight = \"ok\", after-stop = \"ok\" }} }}\n"
    );
    assert_one_error(
        &errors(&text),
        "scenarios/test.toml:13:8: invalid type: string \"yes\", expected a boolean",
        &[],
    );
    let text = format!(
        "{GOOD_HEAD}\n[[matrix]]\nname = \"{{mode}}\"\nvariant = \"exec-form\"\nmode = [\"graceful\"]\n\n\
         [[matrix.rule]]\nwhen = {{ mod = \"graceful\" }}\n"
    );
    assert_one_error(
        &errors(&text),
        "scenarios/test.toml:16:10: unknown key `mod` in a `when` or `exclude` table: did you mean `mode`?",
        &[],
    );
    assert_one_error(
        &errors("# nothing\n"),
        "scenarios/test.toml:1:1: this file defines no scenario",
        &[],
    );
}

#[test]
fn runtimes_file_loads_every_cell_with_expectations() {
    let scenarios = read(&workspace(), &[workspace().join("scenarios/runtimes.toml")]).unwrap();
    all_expected(&scenarios);
    let runtimes: HashSet<_> = scenarios
        .iter()
        .filter_map(|s| match &s.target {
            Target::Runtime(spec) => Some(spec.runtime),
            _ => None,
        })
        .collect();
    // The long-lived protocol runtimes' cells hold streams open across the stop: they are
    // protocol cells (issue 19), not HTTP/1.1 requests around the stop.
    let protocol_runtimes = [
        Runtime::NginxH2c,
        Runtime::NginxH2cShellForm,
        Runtime::PythonWebsockets,
        Runtime::PythonWebsocketsShellForm,
        Runtime::NodeWs,
        Runtime::NodeWsShellForm,
        Runtime::Grpcio,
        Runtime::GrpcioShellForm,
    ];
    assert_eq!(
        runtimes.len(),
        Runtime::ALL.len() - protocol_runtimes.len(),
        "every runtime has a cell"
    );
    assert!(runtimes.iter().all(|r| !protocol_runtimes.contains(r)));
    for s in &scenarios {
        assert_eq!(s.expect.signal_received, None, "{}: not our server", s.name);
    }
    let nginx = scenarios
        .iter()
        .find(|s| s.name == "nginx/stop-SIGQUIT")
        .expect("the nginx SIGQUIT cell");
    assert_eq!(nginx.stop.signal, StopSignal::Sigquit);
    assert_eq!(
        nginx.requests[0].kind,
        RequestKind::Get {
            path: "/slow".to_string()
        }
    );
    // nginx's download fixes its own length: the budget counts it, not the defaults' delay.
    assert_eq!(nginx.server.delay, Duration::from_secs(4));
    let shorter = scenarios
        .iter()
        .find(|s| s.name == "gunicorn/graceful-timeout-shorter")
        .expect("the gunicorn cell");
    assert_eq!(shorter.server.drain_timeout, Some(Duration::from_secs(1)));
    assert_eq!(
        shutdown_harness::images::RuntimeImage::of(shorter).map(|i| i.graceful_timeout),
        Some(Some(Duration::from_secs(1)))
    );
}

const RUNTIME_HEAD: &str = r#"[defaults]
target = "runtime"
delay = "1s"
stop-timeout = "2s"
requests = [{ name = "in-flight", at = "-300ms" }]
"#;

#[test]
fn a_runtime_cell_names_a_known_runtime() {
    let lines = errors(&format!(
        "{RUNTIME_HEAD}\n[[scenario]]\nname = \"x\"\nruntime = \"deno\"\nexpect = {{ requests = {{ in-flight = \"ok\" }}, exit-code = 0 }}\n"
    ));
    assert_one_error(
        &lines,
        "scenarios/test.toml:9:11: unknown runtime \"deno\"",
        &["nginx, busybox-httpd, node, npm-start, gunicorn"],
    );
    let lines = errors(&format!(
        "{RUNTIME_HEAD}\n[[scenario]]\nname = \"x\"\nexpect = {{ requests = {{ in-flight = \"ok\" }}, exit-code = 0 }}\n"
    ));
    assert_one_error(
        &lines,
        "scenarios/test.toml:7:1: scenario `x` has no `runtime`",
        &["set it here or in [defaults]"],
    );
}

#[test]
fn settings_a_runtime_has_no_use_for_are_refused_with_what_it_does_instead() {
    let cell = |settings: &str| {
        errors(&format!(
            "{RUNTIME_HEAD}\n[[scenario]]\nname = \"x\"\n{settings}\nexpect = {{ requests = {{ in-flight = \"ok\" }}, exit-code = 0 }}\n"
        ))
    };
    assert_one_error(
        &cell("runtime = \"node\"\nbase = \"dash\""),
        "scenarios/test.toml:10:8: `base` applies to container scenarios",
        &["target is \"runtime\""],
    );
    assert_one_error(
        &cell("runtime = \"nginx\"\nmode = \"unhandled\""),
        "scenarios/test.toml:10:8: `mode` chooses node's server.js handler",
        &["nginx has its own shutdown"],
    );
    assert_one_error(
        &cell("runtime = \"node\"\nmode = \"abrupt\""),
        "scenarios/test.toml:10:8: node's server.js is `graceful`",
        &["`unhandled`"],
    );
    assert_one_error(
        &cell("runtime = \"node\"\ndrain-timeout = \"3s\""),
        "scenarios/test.toml:10:17: `drain-timeout` is gunicorn's --graceful-timeout",
        &["node has none"],
    );
    assert_one_error(
        &cell("runtime = \"gunicorn\"\ndrain-timeout = \"1500ms\""),
        "scenarios/test.toml:10:17: drain-timeout 1.5s is gunicorn's --graceful-timeout",
        &["whole seconds", "\"1s\""],
    );
    assert_one_error(
        &cell("runtime = \"nginx\"\ndelay = \"2s\""),
        "scenarios/test.toml:10:9: nginx's slow path has its own length (4s)",
        &["`path`"],
    );
    assert_one_error(
        &cell("runtime = \"gunicorn\"\nsignals = [\"SIGINT\"]"),
        "scenarios/test.toml:10:11: `signals` configures graceful-server",
        &["gunicorn"],
    );
    // The other way round: `runtime` on a container cell.
    let lines = errors(&format!(
        "{GOOD_HEAD}\n[[scenario]]\nname = \"x\"\nvariant = \"exec-form\"\nruntime = \"node\"\nexpect = {{ requests = {{ in-flight = \"ok\", after-stop = \"ok\" }}, exit-code = 0 }}\n"
    ));
    assert_one_error(
        &lines,
        "scenarios/test.toml:13:11: `runtime` applies to runtime scenarios only",
        &["(write target = \"runtime\")"],
    );
}

#[test]
fn a_runtime_cell_cannot_expect_a_log_line_it_does_not_write() {
    let lines = errors(&format!(
        "{RUNTIME_HEAD}\n[[scenario]]\nname = \"x\"\nruntime = \"node\"\nexpect = {{ requests = {{ in-flight = \"ok\" }}, exit-code = 0, signal-received = true }}\n"
    ));
    assert_one_error(
        &lines,
        "scenarios/test.toml:10:78: `signal-received` is read from graceful-server's log line",
        &["node is not it", "exit code"],
    );
}

#[test]
fn a_request_path_is_checked_and_excludes_delay() {
    // The request is refused, so the expectation naming it is reported after it: the first
    // line is the one that says what to fix.
    let first = |request: &str| {
        errors(&format!(
            "{RUNTIME_HEAD}\n[[scenario]]\nname = \"x\"\nruntime = \"nginx\"\nrequests = [{request}]\nexpect = {{ requests = {{ in-flight = \"ok\" }}, exit-code = 0 }}\n"
        ))
        .remove(0)
    };
    let line = first("{ name = \"in-flight\", at = \"-1s\", path = \"slow\" }");
    assert!(
        line.starts_with("scenarios/test.toml:10:54: bad `path`: \"slow\" does not start with `/`"),
        "{line}"
    );
    let line = first("{ name = \"in-flight\", at = \"-1s\", path = \"/slow\", delay = \"1s\" }");
    assert!(
        line.starts_with("scenarios/test.toml:10:")
            && line.contains("either `path`")
            && line.contains("not both"),
        "{line}"
    );
}

/// The README's scenario-file examples show every key a `[[scenario]]` takes: the list is the
/// one the unknown-key diagnostic gives, so a new key cannot be left out of the docs.
#[test]
fn the_readme_documents_every_scenario_key() {
    let lines = errors(&format!(
        "{GOOD_HEAD}\n[[scenario]]\nname = \"x\"\nvariant = \"exec-form\"\nno-such-key = 1\n"
    ));
    let keys = lines[0]
        .split("(expected one of: ")
        .nth(1)
        .and_then(|rest| rest.strip_suffix(')'))
        .expect("the diagnostic lists the keys");
    // The reference is "Scenario files"; the load keys are shown under "Traffic across the stop".
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    for key in keys.split(", ") {
        assert!(
            readme.contains(&format!("\n{key} = "))
                || readme.contains(&format!("# {key} = "))
                || readme.contains(&format!(", {key} = ")),
            "the README shows no `{key} = ...` line in a scenario-file example"
        );
    }
}

/// A death by a signal is expected by the signal's name, and a code that cannot be one is
/// refused with what to write instead.
#[test]
fn an_exit_code_is_a_number_or_a_death_by_signal() {
    let path = workspace().join("scenarios/test.toml");
    let text = format!(
        "{GOOD_HEAD}\n[[scenario]]\nname = \"x\"\nvariant = \"tini\"\nmode = \"unhandled\"\nreason = \"r\"\nexpect = {{ requests = {{ in-flight = \"not-served\", after-stop = \"not-served\" }}, exit-code = \"signal:SIGTERM\" }}\n"
    );
    let scenarios = parse(&workspace(), &path, &text).expect("parses");
    assert_eq!(scenarios[0].expect.exit_code, Some(143));
    assert_one_error(
        &errors(&format!(
            "{GOOD_HEAD}\n[[scenario]]\nname = \"x\"\nvariant = \"tini\"\nexpect = {{ requests = {{ in-flight = \"ok\", after-stop = \"ok\" }}, exit-code = \"signal:SIGBOGUS\" }}\n"
        )),
        "scenarios/test.toml:",
        &[
            "exit-code \"signal:SIGBOGUS\"",
            "signal:SIGTERM",
            "0 to 255",
        ],
    );
    assert_one_error(
        &errors(&format!(
            "{GOOD_HEAD}\n[[scenario]]\nname = \"x\"\nvariant = \"tini\"\nexpect = {{ requests = {{ in-flight = \"ok\", after-stop = \"ok\" }}, exit-code = 300 }}\n"
        )),
        "scenarios/test.toml:",
        &["exit-code 300"],
    );
}

/// Thresholds on a load, as k6 users write them: a share of the requests, a latency percentile,
/// each over the whole stream or a phase; a wrong one is refused where it is written.
#[test]
fn load_thresholds_are_shares_and_percentiles() {
    let path = workspace().join("scenarios/test.toml");
    let head = "[defaults]\nbase = \"dash\"\nvariant = \"exec-form\"\ndelay = \"1s\"\nload = { rate = 100, duration = \"1s\" }\n";
    let text = format!(
        "{head}\n[[scenario]]\nname = \"x\"\nreason = \"r\"\nexpect = {{ exit-code = 0, load = {{ lost-rate = \"<= 0.1%\", p99-draining = \"<= 500ms\", cut = 0 }} }}\n"
    );
    let scenarios = parse(&workspace(), &path, &text).expect("parses");
    let keys: Vec<String> = scenarios[0]
        .expect
        .thresholds
        .iter()
        .map(|t| format!("{} {}", t.key(), t.describe_bound()))
        .collect();
    assert_eq!(
        keys,
        ["lost-rate at most 0.1%", "p99-draining at most 500ms"]
    );
    assert_eq!(scenarios[0].expect.load.len(), 1);
    assert_one_error(
        &errors(&format!(
            "{head}\n[[scenario]]\nname = \"x\"\nexpect = {{ exit-code = 0, load = {{ lost-rate = \"1%\" }} }}\n"
        )),
        "scenarios/test.toml:",
        &["lost-rate", "<= 0.1%"],
    );
    assert_one_error(
        &errors(&format!(
            "{head}\n[[scenario]]\nname = \"x\"\nexpect = {{ exit-code = 0, load = {{ p99-after-exit = \"<= 1s\" }} }}\n"
        )),
        "scenarios/test.toml:",
        &["nothing is answered after the exit"],
    );
}

/// `vantage` chooses where the client stands: netns by default where it can run (a container,
/// the fresh or fixed client), host when asked or for a process; netns with a client only the
/// host runs, or an unknown vantage, is refused.
#[test]
fn a_load_says_where_its_client_stands() {
    use shutdown_harness::Vantage;
    let cell = |target: &str, load: &str| {
        format!(
            "{GOOD_HEAD}\n[[scenario]]\nname = \"x\"\n{target}\nreason = \"r\"\n\
             expect = {{ requests = {{ in-flight = \"ok\", after-stop = \"reset\" }} }}\n\
             load = {load}\n"
        )
    };
    let path = workspace().join("scenarios/test.toml");
    let container = "variant = \"exec-form\"";
    let vantage = |target: &str, load: &str| {
        let scenarios = parse(&workspace(), &path, &cell(target, load)).expect("valid");
        (
            scenarios[0].load.as_ref().and_then(|l| l.vantage),
            scenarios[0].vantage(),
        )
    };
    assert_eq!(
        vantage(container, r#"{ rate = 100, duration = "1s" }"#),
        (None, Vantage::Netns)
    );
    assert_eq!(
        vantage(
            container,
            r#"{ rate = 100, duration = "1s", vantage = "host" }"#
        ),
        (Some(Vantage::Host), Vantage::Host)
    );
    assert_eq!(
        vantage(
            container,
            r#"{ rate = 100, duration = "1s", client = "pooled" }"#
        ),
        (None, Vantage::Host)
    );
    assert_eq!(
        vantage(
            "target = \"process\"",
            r#"{ rate = 100, duration = "1s", vantage = "netns" }"#
        ),
        (Some(Vantage::Netns), Vantage::Host)
    );
    assert_one_error(
        &errors(&cell(
            container,
            r#"{ rate = 100, duration = "1s", client = "reqwest", vantage = "netns" }"#,
        )),
        "scenarios/test.toml:",
        &["`vantage` = \"netns\"", "reqwest", "host only"],
    );
    assert_one_error(
        &errors(&cell(
            container,
            r#"{ rate = 100, duration = "1s", vantage = "inside" }"#,
        )),
        "scenarios/test.toml:",
        &["unknown vantage \"inside\"", "\"host\"", "\"netns\""],
    );
}

/// `client = "fixed"` and `client = "h2c"` take a connection count (64 and 1 by default); the
/// other clients refuse one, and a count out of range is refused with its range.
#[test]
fn fixed_and_h2c_loads_take_a_connection_count_and_only_they_do() {
    let cell = |load: &str| {
        format!(
            "{GOOD_HEAD}\n[[scenario]]\nname = \"x\"\nvariant = \"exec-form\"\nreason = \"r\"\n\
             expect = {{ requests = {{ in-flight = \"ok\", after-stop = \"reset\" }} }}\n\
             load = {load}\n"
        )
    };
    let path = workspace().join("scenarios/test.toml");
    let scenarios = parse(
        &workspace(),
        &path,
        &cell(r#"{ rate = 20000, duration = "1s", client = "fixed", connections = 16 }"#),
    )
    .expect("a fixed load with connections is valid");
    let load = scenarios[0].load.as_ref().expect("a load");
    assert_eq!(load.client, shutdown_harness::ClientProfile::Fixed);
    assert_eq!((load.connections, load.connection_count()), (Some(16), 16));
    let scenarios = parse(
        &workspace(),
        &path,
        &cell(r#"{ rate = 100, duration = "1s", client = "fixed" }"#),
    )
    .expect("a fixed load without connections is valid");
    assert_eq!(
        scenarios[0].load.as_ref().map(|l| l.connection_count()),
        Some(shutdown_harness::DEFAULT_CONNECTIONS)
    );
    for (load, count) in [
        (r#"{ rate = 100, duration = "1s", client = "h2c" }"#, 1),
        (
            r#"{ rate = 100, duration = "1s", client = "h2c", connections = 4, vantage = "netns" }"#,
            4,
        ),
    ] {
        let scenarios = parse(&workspace(), &path, &cell(load)).expect("an h2c load is valid");
        let load = scenarios[0].load.as_ref().expect("a load");
        assert_eq!(
            (load.client, load.connection_count()),
            (shutdown_harness::ClientProfile::H2c, count)
        );
    }
    assert_eq!(shutdown_harness::DEFAULT_H2C_CONNECTIONS, 1);
    assert_one_error(
        &errors(&cell(
            r#"{ rate = 100, duration = "1s", client = "pooled", connections = 16 }"#,
        )),
        "scenarios/test.toml:",
        &[
            "`connections`",
            "client = \"fixed\" or \"h2c\" only",
            "pooled",
        ],
    );
    assert_one_error(
        &errors(&cell(
            r#"{ rate = 100, duration = "1s", client = "fixed", connections = 0 }"#,
        )),
        "scenarios/test.toml:",
        &["`connections` = 0", "1 to 4096"],
    );
    assert_one_error(
        &errors(&cell(r#"{ rate = 100, duration = "1s", client = "wrk" }"#)),
        "scenarios/test.toml:",
        &[
            "unknown client \"wrk\"",
            "\"fresh\"",
            "\"pooled\"",
            "\"reqwest\"",
            "\"fixed\"",
        ],
    );
}
