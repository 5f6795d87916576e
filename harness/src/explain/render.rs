//! Plain-text rendering of an explanation, for people (JSON comes from `Serialize`).

use std::fmt::Write as _;

use super::{DockerfileFacts, Explanation, Form, Prediction};
use crate::model::pid1::Pid1;

/// The explanation as plain text: the prediction first, then the evidence, then the fixes.
pub fn render(e: &Explanation) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: {}", e.image, e.summary);
    let c = &e.config;
    let _ = writeln!(out, "\nImage config");
    let _ = writeln!(out, "  Entrypoint   {}", json_or_none(&c.entrypoint));
    let _ = writeln!(out, "  Cmd          {}", json_or_none(&c.cmd));
    if let Some(script) = &c.shell_script {
        let _ = writeln!(
            out,
            "  via a shell  yes: `{}` runs `{script}` (shell form or exec-form sh -c: the config cannot tell)",
            c.command.first().map(String::as_str).unwrap_or("sh")
        );
    }
    let _ = writeln!(
        out,
        "  StopSignal   {}",
        c.stop_signal.as_deref().unwrap_or("(not set: SIGTERM)")
    );
    let _ = writeln!(
        out,
        "  User         {}",
        if c.user.is_empty() { "(root)" } else { &c.user }
    );

    let r = &e.observed;
    let _ = writeln!(
        out,
        "\nShort run (stop signal {}, stop timeout {} s, init {}; read after: {})",
        e.stop_signal,
        e.stop_timeout_secs,
        if e.init { "yes" } else { "no" },
        r.synchronised_on
    );
    let exe = match (&r.pid1_exe, &r.shell) {
        (Some(exe), Some(shell)) => format!(" [exe {exe}: {shell}]"),
        (Some(exe), None) => format!(" [exe {exe}]"),
        _ => String::new(),
    };
    let _ = writeln!(out, "  PID 1   `{}`{exe}", r.pid1.command);
    let _ = writeln!(out, "          {}", masks(&r.pid1, &e.stop_signal));
    if r.pid1.sigwaits {
        let _ = writeln!(
            out,
            "          waits in rt_sigtimedwait: takes signals without a handler (as tini does)"
        );
    }
    for child in &r.children {
        let _ = writeln!(out, "  child   `{}`", child.command);
        let _ = writeln!(out, "          {}", masks(child, &e.stop_signal));
    }

    let known = |value: Option<bool>| match value {
        Some(true) => "yes",
        Some(false) => "no",
        None => "not known without load (shutdown-harness check)",
    };
    let _ = writeln!(out, "\nPrediction\n  {}", e.summary);
    let _ = writeln!(
        out,
        "  signal reaches the server  {}",
        match e.signal_reaches_server {
            None if matches!(e.prediction, Prediction::Trapped { .. }) => {
                "depends on the shell's trap"
            }
            value => known(value),
        }
    );
    let _ = writeln!(out, "  drains                     {}", known(e.drains));
    let _ = writeln!(
        out,
        "  expected exit code         {}",
        e.expected_exit_code.map_or(
            "decided by the program".to_string(),
            crate::exit_code::describe
        )
    );
    let _ = writeln!(out, "\nFacts");
    for fact in &e.facts {
        let _ = writeln!(out, "  - {} [{}]", fact.fact, fact.source);
    }
    if !e.fixes.is_empty() {
        let _ = writeln!(out, "\nFix");
        for fix in &e.fixes {
            let _ = writeln!(out, "  - {fix}");
        }
    }
    if let Some(facts) = &e.dockerfile {
        out.push('\n');
        out.push_str(&render_dockerfile(facts));
    }
    out
}

/// A Dockerfile's facts as plain text, one `file:line` finding a line.
pub fn render_dockerfile(facts: &DockerfileFacts) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Dockerfile {}", facts.path.display());
    for (keyword, command) in [("ENTRYPOINT", &facts.entrypoint), ("CMD", &facts.cmd)] {
        if let Some(command) = command {
            let form = match command.form {
                Form::Shell => "shell form",
                Form::Exec => "exec form",
            };
            let _ = writeln!(
                out,
                "  {keyword:<10} line {}: {form}, {}",
                command.line,
                serde_json::to_string(&command.args).unwrap_or_default()
            );
        }
    }
    if let Some((line, signal)) = &facts.stop_signal {
        let _ = writeln!(out, "  STOPSIGNAL line {line}: {signal}");
    }
    let _ = writeln!(
        out,
        "  hadolint DL3025 would {}",
        if facts.dl3025_warns() {
            "warn"
        } else {
            "be silent"
        }
    );
    for finding in &facts.findings {
        let rule = finding
            .rule
            .as_deref()
            .map(|r| format!("{r}: "))
            .unwrap_or_default();
        let _ = writeln!(out, "  {}: {rule}{}", finding.location(), finding.message);
    }
    out
}

fn json_or_none(words: &[String]) -> String {
    if words.is_empty() {
        "(none)".to_string()
    } else {
        serde_json::to_string(words).unwrap_or_default()
    }
}

fn masks(process: &Pid1, signal: &str) -> String {
    let list = |names: &[String]| {
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(" ")
        }
    };
    format!(
        "catches {}; blocks {}; handles {signal}: {}",
        list(&process.catches),
        list(&process.blocks),
        if process.handles_stop_signal {
            "yes"
        } else {
            "no"
        }
    )
}
