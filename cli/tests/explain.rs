//! `explain` agrees with what was measured on this engine, image by image; its Dockerfile reading
//! flags what hadolint's DL3025 flags and what it misses. The image tests need a Docker engine.

#[path = "../../harness/tests/common/mod.rs"]
mod common;

use shutdown_harness::explain::{
    ExplainOptions, Explanation, Prediction, explain, explain_dockerfile, render,
};
use shutdown_harness::images::build_variant_images;
use shutdown_harness::{Base, EngineError, Error, Variant};

use common::{assert_run_left_nothing, engine, our_image, workspace};

fn workspace_root() -> std::path::PathBuf {
    workspace().root().to_path_buf()
}

/// What each image should be explained as: the facts measured on this engine.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// PID 1 is the shell (`shell`), the server its child.
    DroppedByShell(&'static str),
    /// The server is PID 1 and handles SIGTERM.
    Delivered,
    /// An init is PID 1 and forwards SIGTERM to the server.
    Forwarded,
}

const CASES: [(Variant, Base, bool, Expect); 8] = [
    (
        Variant::ShellForm,
        Base::Dash,
        false,
        Expect::DroppedByShell("dash"),
    ),
    (Variant::ShellForm, Base::Bash, false, Expect::Delivered),
    (Variant::ShellForm, Base::Busybox, false, Expect::Delivered),
    (
        Variant::ExecFormSh,
        Base::Dash,
        false,
        Expect::DroppedByShell("dash"),
    ),
    (
        Variant::ScriptNoExec,
        Base::Busybox,
        false,
        Expect::DroppedByShell("busybox"),
    ),
    (Variant::ScriptExec, Base::Dash, false, Expect::Delivered),
    (Variant::Tini, Base::None, false, Expect::Forwarded),
    (Variant::ExecForm, Base::None, true, Expect::Forwarded),
];

fn check(variant: Variant, base: Base, expect: Expect, e: &Explanation) -> Result<(), String> {
    let pid1 = &e.observed.pid1.command;
    let ok = match (expect, &e.prediction) {
        (Expect::DroppedByShell(shell), Prediction::Dropped { .. }) => {
            e.observed
                .shell
                .as_deref()
                .is_some_and(|s| s.starts_with(shell))
                && e.observed
                    .children
                    .iter()
                    .any(|c| c.command.contains("server"))
                && e.summary.contains("will not reach the server")
                && e.summary.contains("SIGKILL")
        }
        (Expect::Delivered, Prediction::Delivered { .. }) => {
            pid1.contains("server") && e.observed.shell.is_none()
        }
        (
            Expect::Forwarded,
            Prediction::Forwarded {
                to, child_handles, ..
            },
        ) => to.contains("server") && *child_handles,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{variant}/{base}: expected {expect:?}, got:\n{}",
            render(e)
        ))
    }
}

#[tokio::test]
async fn explain_agrees_with_the_measured_facts() {
    let engine = engine().await;
    let workspace = workspace();
    let wanted: Vec<(Variant, Base)> = CASES.iter().map(|&(v, b, _, _)| (v, b)).collect();
    let tags = build_variant_images(&engine, &workspace, &wanted)
        .await
        .expect("images build");

    let mut failures = Vec::new();
    for (variant, base, init, expect) in CASES {
        let options = ExplainOptions {
            init,
            dockerfile: Some(workspace.dockerfiles().join(variant.dockerfile())),
            ..ExplainOptions::default()
        };
        let explanation = explain(&engine, &tags[&(variant, base)], &options)
            .await
            .unwrap_or_else(|e| panic!("{variant}/{base}: {e}"));
        println!(
            "---- {variant}/{base} init={init}\n{}",
            render(&explanation)
        );
        if let Err(failure) = check(variant, base, expect, &explanation) {
            failures.push(failure);
        }
        assert_run_left_nothing(&explanation.run_id).await;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[tokio::test]
async fn explain_waits_on_the_port_when_given_one() {
    let engine = engine().await;
    let pair = (Variant::ShellForm, Base::Dash);
    let tags = build_variant_images(&engine, &workspace(), &[pair])
        .await
        .expect("images build");
    let options = ExplainOptions {
        port: Some(1202),
        path: "/".to_string(),
        ..ExplainOptions::default()
    };
    let explanation = explain(&engine, &tags[&pair], &options)
        .await
        .expect("explains");
    assert!(
        explanation.observed.synchronised_on.contains("answered"),
        "{}",
        explanation.observed.synchronised_on
    );
    assert!(matches!(explanation.prediction, Prediction::Dropped { .. }));
    assert_run_left_nothing(&explanation.run_id).await;
}

#[tokio::test]
async fn a_missing_image_is_image_missing() {
    let engine = engine().await;
    let err = explain(
        &engine,
        "shutdown-harness/no-such-image:never-built",
        &ExplainOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, Error::Engine(EngineError::ImageMissing { .. })),
        "{err}"
    );
}

#[test]
fn shell_form_dockerfile_is_flagged_by_dl3025_on_its_line() {
    let path = workspace_root().join("Dockerfiles/shell-form.Dockerfile");
    let facts = explain_dockerfile(&path).expect("reads");
    assert!(facts.dl3025_warns());
    let finding = facts
        .findings
        .iter()
        .find(|f| f.rule.as_deref() == Some("DL3025"))
        .expect("a DL3025 finding");
    // `ENTRYPOINT server` is line 6, where hadolint puts it too.
    assert_eq!(finding.line, 6);
    assert_eq!(finding.file, path);
}

#[test]
fn exec_form_sh_dockerfile_is_not_dl3025_but_goes_through_sh() {
    let path = workspace_root().join("Dockerfiles/exec-form-sh.Dockerfile");
    let facts = explain_dockerfile(&path).expect("reads");
    assert!(!facts.dl3025_warns());
    let entrypoint = facts.entrypoint.as_ref().expect("an ENTRYPOINT");
    assert_eq!(entrypoint.shell_script.as_deref(), Some("server"));
    assert!(
        facts
            .findings
            .iter()
            .any(|f| f.line == 6 && f.message.contains("goes through /bin/sh")),
        "{:?}",
        facts.findings
    );
}

#[test]
fn script_without_exec_is_found_in_the_build_context() {
    let path = workspace_root().join("Dockerfiles/script-no-exec.Dockerfile");
    let facts = explain_dockerfile(&path).expect("reads");
    let script = facts.script.as_ref().expect("the entrypoint script");
    assert_eq!(script.ends_with_exec, Some(false));
    assert!(!facts.dl3025_warns());
    let with_exec =
        explain_dockerfile(&workspace_root().join("Dockerfiles/script-exec.Dockerfile"))
            .expect("reads");
    assert_eq!(
        with_exec.script.as_ref().and_then(|s| s.ends_with_exec),
        Some(true)
    );
}

#[test]
fn a_missing_dockerfile_says_which() {
    let err = explain_dockerfile(std::path::Path::new("/no/such/Dockerfile")).unwrap_err();
    assert!(err.to_string().contains("/no/such/Dockerfile"), "{err}");
}

/// nginx with docker's default SIGTERM: the signal reaches it, and nginx's documentation says
/// SIGTERM is its fast shutdown: `drains` is false, with the source, and the fix is SIGQUIT.
#[tokio::test]
async fn nginx_under_sigterm_is_known_not_to_drain() {
    let engine = engine().await;
    let image = shutdown_harness::images::nginx_image(&engine)
        .await
        .expect("nginx forges");
    let options = ExplainOptions {
        port: Some(shutdown_harness::images::HTTP_PORT),
        ..ExplainOptions::default()
    };
    let e = explain(&engine, &image, &options).await.expect("explains");
    let text = render(&e);
    assert_eq!(e.signal_reaches_server, Some(true), "{text}");
    assert_eq!(e.drains, Some(false), "{text}");
    assert!(
        e.facts
            .iter()
            .any(|f| f.source.contains("nginx's documentation")),
        "{text}"
    );
    assert!(e.fixes.iter().any(|f| f.contains("SIGQUIT")), "{text}");
    assert_run_left_nothing(&e.run_id).await;

    let quit = ExplainOptions {
        stop_signal: Some(shutdown_harness::StopSignal::Sigquit),
        ..options
    };
    let e = explain(&engine, &image, &quit).await.expect("explains");
    // SIGQUIT is nginx's graceful shutdown, but a drain is only seen under load.
    assert_eq!(e.drains, None, "{}", render(&e));
    assert_run_left_nothing(&e.run_id).await;
}

/// busybox httpd is PID 1 itself, without a SIGTERM handler and without a shell: the fix is a
/// handler or an init, never an `exec` line in a script there is not.
#[tokio::test]
async fn a_server_that_is_pid1_without_a_handler_is_not_told_to_exec() {
    let engine = engine().await;
    let image = shutdown_harness::images::busybox_httpd_image(&engine)
        .await
        .expect("busybox httpd forges");
    let options = ExplainOptions {
        port: Some(shutdown_harness::images::HTTP_PORT),
        ..ExplainOptions::default()
    };
    let e = explain(&engine, &image, &options).await.expect("explains");
    let text = render(&e);
    assert!(
        e.observed.shell.is_none(),
        "busybox httpd is no shell:\n{text}"
    );
    assert_eq!(e.signal_reaches_server, Some(false), "{text}");
    assert_eq!(e.expected_exit_code, Some(137), "{text}");
    assert!(e.fixes.iter().all(|f| !f.contains("exec")), "{text}");
    assert!(e.fixes.iter().any(|f| f.contains("handler")), "{text}");
    assert!(e.fixes.iter().any(|f| f.contains("--init")), "{text}");
    assert_run_left_nothing(&e.run_id).await;
}

/// `explain --format json`: the documented fields, `null` where the facts cannot tell.
#[tokio::test]
async fn explain_json_has_the_documented_fields() {
    let image = our_image(Variant::ExecForm, Base::Dash).await;
    let output = tokio::task::spawn_blocking(move || {
        assert_cmd::cargo::cargo_bin_cmd!("shutdown-harness")
            .args(["explain", "--image", &image, "--format", "json"])
            .output()
            .expect("runs")
    })
    .await
    .expect("joins");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    for key in [
        "image",
        "pid1",
        "stop_signal",
        "signal_reaches_server",
        "drains",
        "expected_exit_code",
        "facts",
        "fixes",
    ] {
        assert!(json.get(key).is_some(), "{key} missing in {stdout}");
    }
    // Our graceful server has a handler; whether it drains is for `check` to show.
    assert_eq!(json["signal_reaches_server"], true, "{stdout}");
    assert_eq!(json["drains"], serde_json::Value::Null, "{stdout}");
}
