//! `explain`: says, without any load, whether `docker stop`'s signal will reach the server in an
//! image, why, and what fixes it, from the image config, a short run's `/proc` and the Dockerfile.

mod dockerfile_facts;
mod render;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use bollard::query_parameters::CreateContainerOptions;
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::docker::{self, labels};
use crate::error::{Error, Result};
use crate::pid1::{self, Pid1};
use crate::run::runner::new_run_id;
use crate::run::{container, ready};
use crate::variant::StopSignal;

pub use dockerfile_facts::{
    CommandFacts, DockerfileFacts, Finding, Form, ScriptFacts, explain_dockerfile,
};
pub use render::{render, render_dockerfile};

/// Docker's stop timeout when neither the image nor the caller sets one.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the server may take to answer `path` on `port`.
const READY_WAIT: Duration = Duration::from_secs(30);
/// Between two reads of `/proc` while the process tree settles.
const SETTLE_INTERVAL: Duration = Duration::from_millis(50);
/// How many consecutive identical reads make the process tree settled.
const SETTLE_READS: usize = 5;
/// The longest the process tree may take to settle.
const SETTLE_LIMIT: Duration = Duration::from_secs(5);

/// How to run the image for the diagnosis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainOptions {
    /// The Dockerfile the image was built from: its findings join the diagnosis.
    pub dockerfile: Option<PathBuf>,
    /// The stop signal set at create (API 1.41 has no per-call one); None: the image's
    /// `STOPSIGNAL`, else SIGTERM.
    pub stop_signal: Option<StopSignal>,
    /// `docker stop`'s grace period, named in the prediction (the image config as bollard reads it
    /// carries no stop timeout).
    pub stop_timeout: Duration,
    /// `docker run --init`: docker-init (tini) becomes PID 1.
    pub init: bool,
    /// A container port to publish on 127.0.0.1 and wait on until `GET path` answers 2xx; None:
    /// wait until the process tree settles instead.
    pub port: Option<u16>,
    /// The path probed on `port`.
    pub path: String,
}

impl Default for ExplainOptions {
    fn default() -> Self {
        ExplainOptions {
            dockerfile: None,
            stop_signal: None,
            stop_timeout: DEFAULT_STOP_TIMEOUT,
            init: false,
            port: None,
            path: "/".to_string(),
        }
    }
}

/// The whole diagnosis of one image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The image explained.
    pub image: String,
    /// The run id the short-lived container carried (label `shutdown-harness.run`).
    pub run_id: String,
    /// What the image config says.
    pub config: ImageFacts,
    /// What the short run showed.
    pub observed: RunFacts,
    /// The stop signal `docker stop` sends (option, else the image's, else SIGTERM).
    pub stop_signal: String,
    /// Whole seconds `docker stop` waits before SIGKILL.
    pub stop_timeout_secs: u64,
    /// Whether the container ran with `--init`.
    pub init: bool,
    /// Where the stop signal goes.
    pub prediction: Prediction,
    /// The prediction in plain words.
    pub summary: String,
    /// What to change, most direct first; empty when nothing needs to.
    pub fixes: Vec<String>,
    /// Worth knowing whatever the prediction (drain versus stop timeout, hadolint's view).
    pub notes: Vec<String>,
    /// The Dockerfile's facts, when one was given.
    pub dockerfile: Option<DockerfileFacts>,
}

/// What the image config says about how the container starts and stops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageFacts {
    /// `Config.Entrypoint`.
    pub entrypoint: Vec<String>,
    /// `Config.Cmd`.
    pub cmd: Vec<String>,
    /// What Docker executes: the entrypoint followed by the cmd (the cmd alone without one).
    pub command: Vec<String>,
    /// When the command is `<shell> -c <script>`: the script. Shell form and exec-form
    /// `["/bin/sh","-c",...]` look the same in the config; only the Dockerfile tells them apart.
    pub shell_script: Option<String>,
    /// `Config.StopSignal`, if the image sets one.
    pub stop_signal: Option<String>,
    /// `Config.User` (empty: root).
    pub user: String,
}

/// What a short run of the image showed in `/proc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunFacts {
    /// PID 1 as the host sees it.
    pub pid1: Pid1,
    /// Where PID 1's executable lives inside the container (`/bin/dash`, `/bin/busybox`).
    pub pid1_exe: Option<String>,
    /// Which shell PID 1 is, when it is one (`dash`, `bash`, `busybox`).
    pub shell: Option<String>,
    /// PID 1's direct children, with their signal masks.
    pub children: Vec<Pid1>,
    /// The fact the reading was synchronised on.
    pub synchronised_on: String,
}

/// Where the stop signal goes when `docker stop` sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Prediction {
    /// PID 1 is the server and handles the signal.
    Delivered {
        /// PID 1's command.
        to: String,
    },
    /// PID 1 is an init (tini, docker-init) that forwards the signal to its child.
    Forwarded {
        /// PID 1's command.
        by: String,
        /// The child it forwards to.
        to: String,
        /// Whether the child handles the signal: if not, it dies at once without draining.
        child_handles: bool,
    },
    /// The signal is dropped: PID 1 neither handles nor forwards it.
    Dropped {
        /// PID 1's command.
        pid1: String,
        /// Why, in words.
        why: String,
    },
    /// PID 1 handles other stop signals but not the one `docker stop` sends.
    WrongSignal {
        /// The stop signals it does handle.
        handles: Vec<String>,
        /// The one `docker stop` sends.
        stop_signal: String,
    },
    /// PID 1 is a shell that traps the signal: whether it passes it on depends on the trap.
    Trapped {
        /// PID 1's command.
        pid1: String,
    },
}

/// Explains `image` (present locally; never pulled): reads its config, runs it briefly to read
/// PID 1 from `/proc`, removes the container, and predicts where the stop signal goes.
pub async fn explain(
    docker: &Docker,
    image: &str,
    options: &ExplainOptions,
) -> Result<Explanation> {
    let dockerfile = options
        .dockerfile
        .as_deref()
        .map(explain_dockerfile)
        .transpose()?;
    let config = image_facts(docker, image).await?;
    let signal = match (options.stop_signal, config.stop_signal.as_deref()) {
        (Some(signal), _) => signal,
        (None, Some(name)) if !name.is_empty() => {
            StopSignal::parse(name).ok_or_else(|| Error::StartServer {
                what: image.to_string(),
                reason: format!(
                    "its STOPSIGNAL {name} is not one the harness knows; pass --stop-signal"
                ),
            })?
        }
        (None, _) => StopSignal::Sigterm,
    };
    let run_id = new_run_id();
    let observed = observe(docker, image, options, signal, &run_id).await?;
    let mut explanation = Explanation {
        image: image.to_string(),
        run_id,
        config,
        observed,
        stop_signal: signal.name().to_string(),
        stop_timeout_secs: options.stop_timeout.as_secs(),
        init: options.init,
        prediction: Prediction::Delivered { to: String::new() },
        summary: String::new(),
        fixes: Vec::new(),
        notes: Vec::new(),
        dockerfile,
    };
    explanation.prediction = predict(&explanation.observed, signal);
    explanation.summary = summary(&explanation);
    explanation.fixes = fixes(&explanation);
    explanation.notes = notes(&explanation);
    Ok(explanation)
}

/// Reads the image config; a missing image is [`Error::ImageMissing`].
async fn image_facts(docker: &Docker, image: &str) -> Result<ImageFacts> {
    let inspect = docker::inspect_image(docker, image).await?;
    let config = inspect.config.unwrap_or_default();
    let entrypoint = config.entrypoint.unwrap_or_default();
    let cmd = config.cmd.unwrap_or_default();
    let command = if entrypoint.is_empty() {
        cmd.clone()
    } else {
        entrypoint.iter().chain(&cmd).cloned().collect()
    };
    Ok(ImageFacts {
        shell_script: shell_script(&command),
        entrypoint,
        cmd,
        command,
        stop_signal: config.stop_signal.filter(|s| !s.is_empty()),
        user: config.user.unwrap_or_default(),
    })
}

/// The script of a `<shell> -c <script>` command.
pub(crate) fn shell_script(command: &[String]) -> Option<String> {
    match command {
        [shell, flag, script, ..] if is_shell_name(shell) && flag == "-c" => Some(script.clone()),
        _ => None,
    }
}

/// Whether a program path names a POSIX-ish shell (`/bin/sh`, `bash`, `/bin/busybox`).
fn is_shell_name(program: &str) -> bool {
    let name = program.rsplit('/').next().unwrap_or(program);
    matches!(
        name,
        "sh" | "dash" | "bash" | "ash" | "busybox" | "ksh" | "mksh" | "zsh"
    )
}

/// Whether a program path names an init that forwards signals to its child.
fn is_init_name(program: &str) -> bool {
    let name = program.rsplit('/').next().unwrap_or(program);
    name.starts_with("tini")
        || matches!(
            name,
            "docker-init" | "dumb-init" | "catatonit" | "s6-svscan"
        )
}

/// Creates, starts and reads the container, then removes it on every path.
async fn observe(
    docker: &Docker,
    image: &str,
    options: &ExplainOptions,
    signal: StopSignal,
    run_id: &str,
) -> Result<RunFacts> {
    let id = create(docker, image, options, signal, run_id).await?;
    let observed = async {
        docker::start_container(docker, &id).await?;
        read_running(docker, &id, image, options, signal).await
    }
    .await;
    let removed = docker::remove_container(docker, &id).await;
    let observed = observed?;
    removed?;
    Ok(observed)
}

async fn create(
    docker: &Docker,
    image: &str,
    options: &ExplainOptions,
    signal: StopSignal,
    run_id: &str,
) -> Result<String> {
    let port = options.port.map(|p| format!("{p}/tcp"));
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        labels: Some(labels(run_id)),
        exposed_ports: port.clone().map(|p| vec![p]),
        // API 1.41 has no per-call stop signal: it is the container's, set here.
        stop_signal: options.stop_signal.map(|_| signal.name().to_string()),
        host_config: Some(HostConfig {
            // Traffic stays on 127.0.0.1; the engine picks a free host port.
            port_bindings: port.map(|p| {
                HashMap::from([(
                    p,
                    Some(vec![PortBinding {
                        host_ip: Some("127.0.0.1".to_string()),
                        host_port: Some(String::new()),
                    }]),
                )])
            }),
            init: Some(options.init),
            ..Default::default()
        }),
        ..Default::default()
    };
    let options = CreateContainerOptions {
        name: Some(format!("shutdown-harness-explain-{run_id}")),
        ..Default::default()
    };
    let created = docker
        .create_container(Some(options), body)
        .await
        .map_err(|source| docker::missing_image_or(image, "create container", source))?;
    Ok(created.id)
}

/// Waits on a fact (the port answering, or the process tree settling), then reads `/proc`.
async fn read_running(
    docker: &Docker,
    id: &str,
    image: &str,
    options: &ExplainOptions,
    signal: StopSignal,
) -> Result<RunFacts> {
    let what = format!("container of {image}");
    let inspect = docker::inspect_container(docker, id).await?;
    let pid = inspect
        .state
        .as_ref()
        .and_then(|s| s.pid)
        .filter(|p| *p > 0)
        .ok_or_else(|| exited(&what, None))?;
    let mut synchronised_on = String::new();
    if let Some(port) = options.port {
        let addr = container::published_addr(&inspect, port).ok_or_else(|| Error::StartServer {
            what: what.clone(),
            reason: format!("port {port}/tcp was not published on 127.0.0.1"),
        })?;
        let (exit_tx, exit_rx) = watch::channel(None);
        let waiter = tokio::spawn(container::publish_exit(
            docker.clone(),
            id.to_string(),
            exit_tx,
        ));
        let answered = ready::answers(addr, &options.path, READY_WAIT, exit_rx, &what).await;
        waiter.abort();
        answered?;
        synchronised_on = format!("GET {} on port {port} answered; ", options.path);
    }
    let (tree, waited) = settle(pid, signal.number())
        .await
        .map_err(|_| exited(&what, Some(pid)))?;
    let (pid1, children) = tree;
    synchronised_on.push_str(&if waited < SETTLE_LIMIT {
        format!(
            "/proc unchanged for {SETTLE_READS} reads ({} ms in)",
            waited.as_millis()
        )
    } else {
        format!(
            "/proc still changing after {} ms (read anyway)",
            waited.as_millis()
        )
    });
    let pid1_exe = std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .map(|p| p.display().to_string());
    let first_word = pid1.command.split_whitespace().next().unwrap_or_default();
    let shell = match pid1_exe.as_deref() {
        Some(exe) if is_shell_name(exe) => Some(shell_kind(pid, exe)),
        Some(_) => None,
        None => is_shell_name(first_word).then(|| shell_kind(pid, first_word)),
    };
    Ok(RunFacts {
        pid1,
        pid1_exe,
        shell,
        children,
        synchronised_on,
    })
}

/// Which shell a shell PID 1 is: by its executable's name (`/bin/dash`, `/bin/busybox`), else
/// (a `/bin/sh` that is a copy, not a link) by the version string inside the binary: bash and
/// busybox carry one; a shell with neither is reported as dash, the usual third (a guess, said
/// so in the name).
fn shell_kind(pid: i64, program: &str) -> String {
    let name = program.rsplit('/').next().unwrap_or(program);
    if name != "sh" {
        return name.to_string();
    }
    let Ok(binary) = std::fs::read(format!("/proc/{pid}/exe")) else {
        return name.to_string();
    };
    let contains = |needle: &[u8]| binary.windows(needle.len()).any(|w| w == needle);
    if contains(b"BusyBox v") {
        "busybox".to_string()
    } else if contains(b"GNU bash") {
        "bash".to_string()
    } else {
        "dash (by elimination)".to_string()
    }
}

/// PID 1 and its children, each with its signal masks.
type Tree = (Pid1, Vec<Pid1>);

/// Reads the process tree under host pid `pid` until it has settled.
///
/// No event says "the entrypoint is done starting", so this polls `/proc` (every
/// [`SETTLE_INTERVAL`], at most [`SETTLE_LIMIT`]): the tree is settled when PID 1 is not a shell
/// still without a child (a shell that forks its server shows one), and PID 1's and its
/// children's commands and signal masks read the same [`SETTLE_READS`] times in a row (a server
/// installs its handlers right after it starts). Past the limit the last reading is used.
/// Errs when PID 1 is gone (the container exited).
async fn settle(pid: i64, signal: i32) -> std::io::Result<(Tree, Duration)> {
    let start = Instant::now();
    let mut last: Option<Tree> = None;
    let mut same = 0;
    loop {
        let tree = read_tree(pid, signal)?;
        let lone_shell =
            tree.1.is_empty() && is_shell_name(tree.0.command.split(' ').next().unwrap_or(""));
        same = if last.as_ref() == Some(&tree) && !lone_shell {
            same + 1
        } else {
            1
        };
        let waited = start.elapsed();
        if same >= SETTLE_READS || waited >= SETTLE_LIMIT {
            return Ok((tree, waited));
        }
        last = Some(tree);
        tokio::time::sleep(SETTLE_INTERVAL).await;
    }
}

fn read_tree(pid: i64, signal: i32) -> std::io::Result<Tree> {
    let pid1 = pid1::read(pid, signal)?;
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|child| child.parse::<i64>().ok())
        // A child that exited between the two reads is simply not there.
        .filter_map(|child| pid1::read(child, signal).ok())
        .collect();
    Ok((pid1, children))
}

fn exited(what: &str, pid: Option<i64>) -> Error {
    let when = if pid.is_some() {
        "while it was being read"
    } else {
        "before it could be read"
    };
    Error::StartServer {
        what: what.to_string(),
        reason: format!(
            "it exited {when}; explain needs it to keep running: see `docker logs` of a `docker run` of the image"
        ),
    }
}

/// Where `signal` goes, from what the run showed.
fn predict(observed: &RunFacts, signal: StopSignal) -> Prediction {
    let pid1 = &observed.pid1;
    let exe = observed.pid1_exe.as_deref().unwrap_or_default();
    let argv0 = pid1.command.split(' ').next().unwrap_or_default();
    let is_init = is_init_name(exe) || is_init_name(argv0);
    // tini's masks show nothing while it sits in sigtimedwait: its name or that wait is the fact.
    if (is_init || pid1.sigwaits) && observed.shell.is_none() {
        if let Some(child) = observed.children.first() {
            return Prediction::Forwarded {
                by: pid1.command.clone(),
                to: child.command.clone(),
                child_handles: child.handles_stop_signal,
            };
        }
    }
    if observed.shell.is_some() {
        if pid1.handles_stop_signal {
            return Prediction::Trapped {
                pid1: pid1.command.clone(),
            };
        }
        let shell = observed.shell.clone().unwrap_or_default();
        let why = match observed.children.first() {
            Some(child) => format!(
                "PID 1 is {shell} (`{}`), which neither handles nor forwards it; the server (`{}`) is its child",
                pid1.command, child.command
            ),
            None => format!(
                "PID 1 is {shell} (`{}`), which neither handles nor forwards it",
                pid1.command
            ),
        };
        return Prediction::Dropped {
            pid1: pid1.command.clone(),
            why,
        };
    }
    if pid1.handles_stop_signal {
        return Prediction::Delivered {
            to: pid1.command.clone(),
        };
    }
    let handles: Vec<String> = StopSignal::ALL
        .into_iter()
        .filter(|s| *s != signal && pid1.catches.iter().any(|c| c == s.name()))
        .map(|s| s.name().to_string())
        .collect();
    if !handles.is_empty() {
        return Prediction::WrongSignal {
            handles,
            stop_signal: signal.name().to_string(),
        };
    }
    Prediction::Dropped {
        pid1: pid1.command.clone(),
        why: format!(
            "PID 1 is the server (`{}`) but it has no handler for {signal}: as PID 1 the kernel drops it",
            pid1.command
        ),
    }
}

/// The prediction in one sentence.
fn summary(e: &Explanation) -> String {
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
fn fixes(e: &Explanation) -> Vec<String> {
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
fn notes(e: &Explanation) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(command: &str, catches: &[&str], blocks: &[&str], handles: bool) -> Pid1 {
        Pid1 {
            command: command.to_string(),
            catches: catches.iter().map(|s| s.to_string()).collect(),
            blocks: blocks.iter().map(|s| s.to_string()).collect(),
            sigwaits: false,
            handles_stop_signal: handles,
            children: Vec::new(),
        }
    }

    fn facts(pid1: Pid1, exe: &str, children: Vec<Pid1>) -> RunFacts {
        let shell = is_shell_name(exe).then(|| exe.rsplit('/').next().unwrap().to_string());
        RunFacts {
            pid1,
            pid1_exe: Some(exe.to_string()),
            shell,
            children,
            synchronised_on: String::new(),
        }
    }

    #[test]
    fn dash_pid1_drops_sigterm() {
        let server = tree("server", &["SIGINT", "SIGTERM"], &[], true);
        let observed = facts(
            tree("/bin/sh -c server", &["SIGINT", "SIGCHLD"], &[], false),
            "/bin/dash",
            vec![server],
        );
        match predict(&observed, StopSignal::Sigterm) {
            Prediction::Dropped { why, .. } => assert!(why.contains("PID 1 is dash"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tini_forwards() {
        let server = tree("server", &["SIGTERM"], &[], true);
        let observed = facts(
            tree("/sbin/tini -- server", &[], &["SIGTERM"], true),
            "/sbin/tini",
            vec![server],
        );
        assert!(matches!(
            predict(&observed, StopSignal::Sigterm),
            Prediction::Forwarded {
                child_handles: true,
                ..
            }
        ));
    }

    #[test]
    fn a_server_handling_only_sigint_gets_the_wrong_signal() {
        let observed = facts(
            tree("server", &["SIGINT"], &[], false),
            "/usr/local/bin/server",
            vec![],
        );
        assert_eq!(
            predict(&observed, StopSignal::Sigterm),
            Prediction::WrongSignal {
                handles: vec!["SIGINT".to_string()],
                stop_signal: "SIGTERM".to_string()
            }
        );
    }

    #[test]
    fn a_server_without_handler_drops_it() {
        let observed = facts(tree("server", &[], &[], false), "/server", vec![]);
        assert!(matches!(
            predict(&observed, StopSignal::Sigterm),
            Prediction::Dropped { .. }
        ));
    }

    #[test]
    fn shell_scripts_are_recognised() {
        let command: Vec<String> = ["/bin/sh", "-c", "server"].map(String::from).to_vec();
        assert_eq!(shell_script(&command).as_deref(), Some("server"));
        assert_eq!(shell_script(&command[..1]), None);
    }
}
