//! The words of an explanation: the prediction in one sentence, the facts with their sources
//! (and plainly what they cannot tell), and the fixes that fit the PID 1 that was found.

use super::predict::{Assessment, Runtime};
use super::{Explanation, Fact, Finding, Form, Prediction};

const PROC: &str = "/proc of the container's PID 1 (cmdline, exe, SigCgt, SigBlk)";
const KERNEL: &str = "the kernel: PID 1 of a PID namespace gets no default signal actions";
const NGINX_DOCS: &str =
    "nginx's documentation (Controlling nginx): TERM, INT fast shutdown; QUIT graceful shutdown";
const NODE_DOCS: &str = "Node.js documentation (process, signal events): SIGTERM and SIGINT have default handlers that reset the terminal mode and then exit with 128 + signal number; installing a listener removes that default";
const NPM_RUN_SCRIPT: &str = "npm's run-script: the script runs as `sh -c <script>`, a child of npm; what npm does with a signal differs between its versions";
const GO_DOCS: &str = "Go's os/signal documentation: the runtime catches signals itself; without signal.Notify, SIGTERM makes the program exit with status 2";

/// The prediction in one sentence, claiming nothing about the drain that was not observed.
pub(super) fn summary(e: &Explanation, a: &Assessment) -> String {
    let signal = &e.stop_signal;
    let kill = format!(
        "docker stop will SIGKILL it after {} s (exit 137)",
        e.stop_timeout_secs
    );
    let unknown = "whether it drains its requests in flight is only known under load: run `shutdown-harness check`";
    match &a.runtime {
        Some((Runtime::Npm, _)) => {
            return format!(
                "npm, not the server, gets {signal}: it runs the server's start script as a child `sh -c ...`, and whether the signal reaches the server depends on npm's version and that shell, which /proc cannot tell; run `shutdown-harness check`."
            );
        }
        Some((Runtime::Node, _)) if matches!(a.prediction, Prediction::Delivered { .. }) => {
            return format!(
                "{signal} reaches node (PID 1), which catches it whether or not the program listens for it: without a `process.on('{signal}')` listener node re-raises it, and as PID 1 that is dropped until the SIGKILL; /proc cannot tell whether there is one: run `shutdown-harness check`."
            );
        }
        _ => {}
    }
    match &a.prediction {
        Prediction::Delivered { to } => match &a.runtime {
            Some((Runtime::Nginx, _)) if a.drains == Some(false) => format!(
                "{signal} reaches nginx (PID 1, `{to}`), and for nginx {signal} is a fast shutdown: it closes its connections without finishing them."
            ),
            _ => format!(
                "{signal} reaches the server: it is PID 1 (`{to}`) and has a handler for {signal}; {unknown}."
            ),
        },
        Prediction::Forwarded {
            by,
            to,
            child_handles: true,
        } => format!(
            "{} is PID 1 (`{by}`) and forwards {signal} to the server (`{to}`), which has a handler for it; {unknown}.",
            init_name(by)
        ),
        Prediction::Forwarded {
            by,
            to,
            child_handles: false,
        } => format!(
            "{} is PID 1 (`{by}`) and forwards {signal} to the server (`{to}`), which has no handler: \
             not being PID 1, it gets the default action and dies at once, without draining.",
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

/// The facts, each with its source: what `/proc` tells, what it cannot, what recognising the
/// runtime adds, what the image config and the Dockerfile say.
pub(super) fn facts(e: &Explanation, a: &Assessment) -> Vec<Fact> {
    let fact = |fact: String, source: &str| Fact {
        fact,
        source: source.to_string(),
    };
    let signal = &e.stop_signal;
    let pid1 = &e.observed.pid1;
    let mut facts = Vec::new();
    let pid1_is_npm = matches!(super::predict::recognise(pid1), Some((Runtime::Npm, _)));
    let what = match (&e.observed.shell, &a.prediction) {
        (Some(shell), _) => format!("a shell ({shell})"),
        (None, _) if pid1_is_npm => "npm, which runs the server's start script".to_string(),
        (None, Prediction::Forwarded { .. }) => {
            "an init, forwarding signals to its child".to_string()
        }
        _ => "the server itself".to_string(),
    };
    facts.push(fact(format!("PID 1 is `{}`: {what}", pid1.command), PROC));
    facts.push(fact(
        format!(
            "PID 1 catches {}; blocks {}{}",
            list(&pid1.catches),
            list(&pid1.blocks),
            if pid1.sigwaits {
                "; it waits in rt_sigtimedwait, taking signals without a handler (as tini does)"
            } else {
                ""
            }
        ),
        PROC,
    ));
    for child in &e.observed.children {
        facts.push(fact(
            format!(
                "its child `{}` catches {}",
                child.command,
                list(&child.catches)
            ),
            PROC,
        ));
    }
    let reaches = match a.signal_reaches_server {
        Some(true) => format!(
            "{signal} reaches the server process, which has a handler for it or gets its default action"
        ),
        Some(false) => format!("{signal} does not reach the server process"),
        None if matches!(a.runtime, Some((Runtime::Npm, _))) => {
            format!(
                "whether {signal} reaches the server process depends on npm and the shell it runs the script with"
            )
        }
        None => format!("whether {signal} reaches the server process depends on the shell's trap"),
    };
    let source = match &a.runtime {
        Some((Runtime::Npm, _)) => NPM_RUN_SCRIPT,
        _ => KERNEL,
    };
    facts.push(fact(reaches, source));
    if a.drains.is_none() {
        facts.push(fact(
            "a handler says nothing of what it does: whether the server stops accepting and finishes its requests in flight is only seen under load (`shutdown-harness check`)".to_string(),
            "not observable in /proc",
        ));
    }
    match &a.runtime {
        Some((Runtime::Go, why)) => facts.push(fact(
            format!(
                "most likely Go's runtime ({why}): it catches signals whether or not the program asked to, so its handler does not mean a drain; without signal.Notify a Go server exits 2 at SIGTERM and cuts its requests"
            ),
            GO_DOCS,
        )),
        Some((Runtime::Nginx, why)) => facts.push(fact(
            format!(
                "nginx ({why}): SIGTERM and SIGINT are its fast shutdown (connections closed at once, downloads cut); SIGQUIT is its graceful shutdown; the stop signal here is {signal}"
            ),
            NGINX_DOCS,
        )),
        Some((Runtime::Node, why)) => facts.push(fact(
            format!(
                "node ({why}) catches SIGTERM and SIGINT itself, whether or not the program listens for them: the handler /proc shows may be node's own, which re-raises the signal (dropped while node is PID 1, fatal at once otherwise)"
            ),
            NODE_DOCS,
        )),
        Some((Runtime::Npm, why)) => facts.push(fact(
            format!(
                "npm ({why}) runs the start script as a child shell; npm 10.8 passes {signal} to that shell only, and dash dies of it without passing it on (measured: scenarios/runtimes.toml)"
            ),
            NPM_RUN_SCRIPT,
        )),
        None => {}
    }
    if let Some(script) = &e.config.shell_script {
        facts.push(fact(
            format!(
                "the image runs `{}` through a shell (`-c {script}`): shell form and exec form `[\"/bin/sh\", \"-c\", ...]` look the same in the config; only the Dockerfile tells which",
                e.config.command.first().map(String::as_str).unwrap_or("sh")
            ),
            "the image config (Entrypoint, Cmd)",
        ));
    }
    if a.signal_reaches_server == Some(true) && a.drains != Some(false) {
        facts.push(fact(
            format!(
                "a drain must end within the stop timeout ({} s): a longer request is cut by the SIGKILL",
                e.stop_timeout_secs
            ),
            "docker stop",
        ));
    }
    if let Some(dockerfile) = &e.dockerfile {
        facts.push(dl3025(dockerfile, a));
    }
    facts
}

/// What hadolint's DL3025 says of the Dockerfile, and whether it is right here.
fn dl3025(dockerfile: &super::DockerfileFacts, a: &Assessment) -> Fact {
    let warnings: Vec<&Finding> = dockerfile
        .findings
        .iter()
        .filter(|f| f.rule.as_deref() == Some("DL3025"))
        .collect();
    let reaches = a.signal_reaches_server == Some(true);
    let at: Vec<String> = warnings.iter().map(|f| f.location()).collect();
    let fact = match (warnings.is_empty(), reaches) {
        (false, false) => "hadolint DL3025 warns of shell form, and is right here".to_string(),
        (false, true) => "hadolint DL3025 warns of shell form, yet the signal does reach the server here (the shell execs the command)".to_string(),
        (true, false) => "hadolint DL3025 is silent, yet the signal does not reach the server here".to_string(),
        (true, true) => "hadolint DL3025 is silent, and rightly so here".to_string(),
    };
    Fact {
        fact,
        source: if at.is_empty() {
            dockerfile.path.display().to_string()
        } else {
            at.join(", ")
        },
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "nothing".to_string()
    } else {
        names.join(" ")
    }
}

/// The fixes that fit the PID 1 that was found, most direct first.
pub(super) fn fixes(e: &Explanation, a: &Assessment) -> Vec<String> {
    let signal = &e.stop_signal;
    let pid1 = &e.observed.pid1.command;
    let via_shell_c = e.config.shell_script.as_deref();
    let shell = e.observed.shell.is_some();
    let form = e
        .dockerfile
        .as_ref()
        .and_then(|d| d.entrypoint.as_ref().or(d.cmd.as_ref()))
        .map(|c| c.form);
    let mut fixes = Vec::new();
    if let Some((Runtime::Npm, _)) = &a.runtime {
        fixes.push(format!(
            "start the server itself, not npm: exec form `ENTRYPOINT [\"node\", \"server.js\"]`, with a {signal} listener that calls `server.close()`"
        ));
        return fixes;
    }
    match &a.prediction {
        Prediction::Delivered { .. } | Prediction::Forwarded { child_handles: true, .. } => {
            match &a.runtime {
                Some((Runtime::Nginx, _)) if a.drains == Some(false) => fixes.push(
                    "make SIGQUIT, nginx's graceful shutdown, the stop signal: `STOPSIGNAL SIGQUIT` in the Dockerfile \
                     (or `--signal SIGQUIT`, compose `stop_signal: SIGQUIT`)"
                        .to_string(),
                ),
                Some((Runtime::Node, _)) => fixes.push(format!(
                    "make sure server.js listens for {signal} (`process.on('{signal}', () => server.close())`); \
                     `shutdown-harness check` shows whether it drains"
                )),
                Some((Runtime::Go, _)) => fixes.push(format!(
                    "make sure the program asks for {signal} (`signal.NotifyContext`) and then calls `http.Server.Shutdown`; \
                     `shutdown-harness check` shows whether it drains"
                )),
                _ => {}
            }
        }
        Prediction::Forwarded { .. } => fixes.push(format!(
            "install a {signal} handler in the server that stops accepting, drains, then exits"
        )),
        Prediction::Dropped { .. } if shell && via_shell_c.is_none() => {
            fixes.push(format!(
                "end the entrypoint script (`{pid1}`) with `exec \"$@\"` (or `exec server`), so the server replaces the shell as PID 1"
            ));
            fixes.push(init_fix());
        }
        Prediction::Dropped { .. } if shell => {
            let script = via_shell_c.unwrap_or("server");
            let words = script.split_whitespace().collect::<Vec<_>>().join("\", \"");
            if form == Some(Form::Shell) {
                fixes.push(format!(
                    "use exec form `ENTRYPOINT [\"{words}\"]` so the server is PID 1"
                ));
            } else {
                fixes.push(format!(
                    "drop the shell: exec form `ENTRYPOINT [\"{words}\"]` makes the server PID 1"
                ));
            }
            fixes.push(format!(
                "or keep the shell and let it replace itself: `exec {script}` (shell form `ENTRYPOINT exec {script}`, or `[\"/bin/sh\", \"-c\", \"exec {script}\"]`)"
            ));
            fixes.push(init_fix());
        }
        // The server itself is PID 1 and has no handler: no script to add `exec` to.
        Prediction::Dropped { .. } => {
            fixes.push(format!(
                "install a {signal} handler in the server that stops accepting, drains, then exits (as PID 1 nothing else will stop it)"
            ));
            fixes.push(
                "or run it under an init (`--init`, compose `init: true`, or tini): it then gets the default action \
                 and dies at the signal, at once and without draining, instead of being SIGKILLed after the grace period"
                    .to_string(),
            );
        }
        Prediction::WrongSignal { handles, .. } => {
            if let Some(first) = handles.first() {
                fixes.push(format!(
                    "if the server shuts down gracefully on {first}, say so: `STOPSIGNAL {first}` in the Dockerfile \
                     (or `--signal {first}`, compose `stop_signal: {first}`)"
                ));
            }
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
