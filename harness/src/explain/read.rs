//! Reading an image for `explain`: its config through the engine, then a short run of it whose
//! PID 1 and children are read from the host's `/proc` once the process tree has settled.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::predict::{is_shell_process, shell_script};
use super::{ExplainOptions, ImageFacts, RunFacts};
use crate::engine::{ContainerConfig, Engine, run_labels};
use crate::error::{Error, Result};
use crate::model::pid1::Pid1;
use crate::model::variant::StopSignal;
use crate::procfs;
use crate::run::ready;

/// How long the server may take to answer `path` on `port`.
const READY_WAIT: Duration = Duration::from_secs(30);
/// Between two reads of `/proc` while the process tree settles.
const SETTLE_INTERVAL: Duration = Duration::from_millis(50);
/// How many consecutive identical reads make the process tree settled.
const SETTLE_READS: usize = 5;
/// The longest the process tree may take to settle.
const SETTLE_LIMIT: Duration = Duration::from_secs(5);
/// How long the exit watcher follows the short-lived container.
const EXIT_WATCH: Duration = Duration::from_secs(60);

/// Reads the image config; a missing image is an engine error saying so.
pub(super) async fn image_facts(engine: &Engine, image: &str) -> Result<ImageFacts> {
    let config = engine.require_image(image).await?;
    let command = if config.entrypoint.is_empty() {
        config.cmd.clone()
    } else {
        config
            .entrypoint
            .iter()
            .chain(&config.cmd)
            .cloned()
            .collect()
    };
    Ok(ImageFacts {
        shell_script: shell_script(&command),
        entrypoint: config.entrypoint,
        cmd: config.cmd,
        command,
        stop_signal: config.stop_signal,
        user: config.user,
    })
}

/// Creates, starts and reads the container, then removes it on every path.
pub(super) async fn observe(
    engine: &Engine,
    image: &str,
    options: &ExplainOptions,
    signal: StopSignal,
    run_id: &str,
) -> Result<RunFacts> {
    let config = ContainerConfig {
        name: Some(format!("shutdown-harness-explain-{run_id}")),
        image: image.to_string(),
        labels: run_labels(run_id),
        publish: options.port.into_iter().collect(),
        init: options.init,
        // API 1.41 has no per-call stop signal: it is the container's, set here.
        stop_signal: options.stop_signal,
        ..ContainerConfig::default()
    };
    let id = engine.create_container(&config).await?;
    let observed = async {
        engine.start_container(&id).await?;
        read_running(engine, &id, image, options, signal).await
    };
    // The create is never cut, so that what it makes is always removed below.
    let observed = tokio::select! {
        observed = observed => observed,
        () = options.cancel.cancelled() => Err(Error::Interrupted),
    };
    let removed = engine.remove_container(&id).await;
    let observed = observed?;
    removed?;
    Ok(observed)
}

/// Waits on a fact (the port answering, or the process tree settling), then reads `/proc`.
async fn read_running(
    engine: &Engine,
    id: &str,
    image: &str,
    options: &ExplainOptions,
    signal: StopSignal,
) -> Result<RunFacts> {
    if !engine.info().local {
        return Err(explain_error(
            image,
            format!(
                "the engine at {} is not on this host, so its processes cannot be read from /proc; run explain on the engine's host",
                engine.info().endpoint
            ),
        ));
    }
    let state = engine.inspect_container(id).await?;
    let pid = state.pid.ok_or_else(|| exited(image, None))?;
    let mut synchronised_on = String::new();
    if let Some(port) = options.port {
        let addr = state.published(port).ok_or_else(|| {
            explain_error(
                image,
                format!("port {port}/tcp was not published on 127.0.0.1"),
            )
        })?;
        let (exit_tx, exit_rx) = watch::channel(None);
        let waiter = {
            let engine = engine.clone();
            let id = id.to_string();
            tokio::spawn(async move {
                if let Ok(code) = engine.wait_container(&id, EXIT_WATCH).await {
                    exit_tx.send_replace(Some(code));
                }
            })
        };
        let what = format!("container of {image}");
        let answered = ready::answers(addr, &options.path, READY_WAIT, exit_rx, &what).await;
        waiter.abort();
        answered.map_err(|e| Error::Scenario(std::sync::Arc::new(e)))?;
        synchronised_on = format!("GET {} on port {port} answered; ", options.path);
    }
    let (tree, waited) = settle(pid, signal.number())
        .await
        .map_err(|_| exited(image, Some(pid)))?;
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
    let shell = is_shell_process(&pid1.command, pid1_exe.as_deref())
        .then(|| shell_kind(pid, pid1_exe.as_deref().unwrap_or(first_word)));
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
        let lone_shell = tree.1.is_empty() && is_shell_process(&tree.0.command, None);
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
    let pid1 = procfs::read(pid, signal)?;
    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|child| child.parse::<i64>().ok())
        // A child that exited between the two reads is simply not there.
        .filter_map(|child| procfs::read(child, signal).ok())
        .collect();
    Ok((pid1, children))
}

fn exited(image: &str, pid: Option<i64>) -> Error {
    let when = if pid.is_some() {
        "while it was being read"
    } else {
        "before it could be read"
    };
    explain_error(
        image,
        format!(
            "its container exited {when}; explain needs it to keep running: see `docker logs` of a `docker run` of the image"
        ),
    )
}

fn explain_error(image: &str, reason: String) -> Error {
    Error::Explain {
        image: image.to_string(),
        reason,
    }
}
