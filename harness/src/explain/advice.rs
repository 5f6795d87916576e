//! The words of an explanation: the prediction in one sentence, the fixes that fit it, and
//! the notes that hold whatever it is.

use super::{Explanation, Finding, Form, Prediction};

/// The prediction in one sentence.
pub(super) fn summary(e: &Explanation) -> String {
    let signal = &e.stop_signal;
    let kill = format!(
        "docker stop will SIGKILL it after {} s (exit 137)",
        e.stop_timeout_secs
    );
    match &e.prediction {
        Prediction::Delivered { to } => {
            format!("{signal} reaches the server: it is PID 1 (`{to}`) and handles {signal}.")
        }
        Prediction::Forwarded {
            by,
            to,
            child_handles: true,
        } => format!(
            "{} is PID 1 (`{by}`) and forwards {signal} to the server (`{to}`), which handles it.",
            init_name(by)
        ),
        Prediction::Forwarded {
            by,
            to,
            child_handles: false,
        } => format!(
            "{} is PID 1 (`{by}`) and forwards {signal} to the server (`{to}`), which has no handler: \
             not being PID 1, it dies at once, without draining.",
            init_name(by)
        ),
        Prediction::Dropped { why, .. } => {
            format!("{signal} will not reach the server: {why}; {kill}.")
        }
        Prediction::WrongSignal {
            handles,
            stop_signal,
        } => format!(
            "The server handles {} but the stop signal is {stop_signal}, which as PID 1 it drops; {kill}.",
            handles.join(", ")
        ),
        Prediction::Trapped { pid1 } => format!(
            "PID 1 is a shell (`{pid1}`) that traps {signal}: the server gets it only if the trap passes it on \
             (`kill -TERM $child; wait`); check the script."
        ),
    }
}

fn init_name(command: &str) -> String {
    let argv0 = command.split(' ').next().unwrap_or(command);
    argv0.rsplit('/').next().unwrap_or(argv0).to_string()
}

/// The fixes that apply to the prediction, most direct first.
pub(super) fn fixes(e: &Explanation) -> Vec<String> {
    let signal = &e.stop_signal;
    let pid1 = &e.observed.pid1.command;
    let via_shell_c = e.config.shell_script.as_deref();
    let script = e.observed.shell.is_some() && via_shell_c.is_none();
    let form = e
        .dockerfile
        .as_ref()
        .and_then(|d| d.entrypoint.as_ref().or(d.cmd.as_ref()))
        .map(|c| c.form);
    let mut fixes = Vec::new();
    match &e.prediction {
        Prediction::Delivered { .. } | Prediction::Forwarded { child_handles: true, .. } => {}
        Prediction::Forwarded { .. } => fixes.push(format!(
            "install a {signal} handler in the server that stops accepting, drains, then exits"
        )),
        Prediction::Dropped { .. } if script => {
            fixes.push(format!(
                "end the entrypoint script (`{pid1}`) with `exec \"$@\"` (or `exec server`), so the server replaces the shell as PID 1"
            ));
            fixes.push(init_fix());
        }
        Prediction::Dropped { .. } if e.observed.shell.is_some() => {
            let script = via_shell_c.unwrap_or("server");
            if form != Some(Form::Shell) {
                fixes.push(format!(
                    "drop the shell: exec form `ENTRYPOINT [\"{}\"]` makes the server PID 1",
                    script.split_whitespace().collect::<Vec<_>>().join("\", \"")
                ));
            } else {
                fixes.push(format!(
                    "use exec form `ENTRYPOINT [\"{}\"]` so the server is PID 1",
                    script.split_whitespace().collect::<Vec<_>>().join("\", \"")
                ));
            }
            fixes.push(format!(
                "or keep the shell and let it replace itself: `exec {script}` (shell form `ENTRYPOINT exec {script}`, or `[\"/bin/sh\", \"-c\", \"exec {script}\"]`)"
            ));
            fixes.push(init_fix());
        }
        Prediction::Dropped { .. } => {
            fixes.push(format!(
                "install a {signal} handler in the server (as PID 1 nothing else will stop it)"
            ));
            fixes.push(
                "or run it under an init (`--init`, compose `init: true`, or tini): the server then gets the \
                 default action and dies at once, without draining"
                    .to_string(),
            );
        }
        Prediction::WrongSignal { handles, .. } => {
            let first = &handles[0];
            fixes.push(format!(
                "if the server shuts down gracefully on {first}, say so: `STOPSIGNAL {first}` in the Dockerfile \
                 (or `--stop-signal {first}`, compose `stop_signal: {first}`)"
            ));
            fixes.push(format!("or make the server handle {signal}"));
        }
        Prediction::Trapped { .. } => fixes.push(
            "prefer `exec` over a trap: end the script with `exec \"$@\"`, so the server itself is PID 1"
                .to_string(),
        ),
    }
    fixes
}

fn init_fix() -> String {
    "or run it with an init as PID 1 (`docker run --init`, compose `init: true`, or tini in the image)"
        .to_string()
}

/// Notes that hold whatever the prediction.
pub(super) fn notes(e: &Explanation) -> Vec<String> {
    let mut notes = Vec::new();
    if e.config.shell_script.is_some() {
        notes.push(
            "the image config shows `<shell> -c ...`: that is either shell form or exec form `[\"/bin/sh\", \"-c\", ...]`; \
             the config cannot tell which (pass the Dockerfile to know)"
                .to_string(),
        );
    }
    if matches!(
        e.prediction,
        Prediction::Delivered { .. }
            | Prediction::Forwarded {
                child_handles: true,
                ..
            }
    ) {
        notes.push(format!(
            "the drain must end within the stop timeout ({} s): if a request can take longer, raise it \
             (`--stop-timeout`, compose `stop_grace_period`) above the longest request",
            e.stop_timeout_secs
        ));
    }
    if let Some(facts) = &e.dockerfile {
        let dl3025: Vec<&Finding> = facts
            .findings
            .iter()
            .filter(|f| f.rule.as_deref() == Some("DL3025"))
            .collect();
        let fine = matches!(
            e.prediction,
            Prediction::Delivered { .. }
                | Prediction::Forwarded {
                    child_handles: true,
                    ..
                }
        );
        let at: Vec<String> = dl3025.iter().map(|f| f.location()).collect();
        notes.push(match (dl3025.is_empty(), fine) {
            (false, false) => format!(
                "hadolint DL3025 warns ({}) and is right here",
                at.join(", ")
            ),
            (false, true) => format!(
                "hadolint DL3025 warns ({}), yet the signal does reach the server here (the shell execs the command)",
                at.join(", ")
            ),
            (true, false) => "hadolint DL3025 is silent, yet the signal does not reach the server here".to_string(),
            (true, true) => "hadolint DL3025 is silent, and rightly so here".to_string(),
        });
    }
    notes
}
