//! Where the stop signal goes, predicted from what was read: pure functions of the facts,
//! tested without an engine.

use super::{Prediction, RunFacts};
use crate::variant::StopSignal;

/// The script of a `<shell> -c <script>` command.
pub(super) fn shell_script(command: &[String]) -> Option<String> {
    match command {
        [shell, flag, script, ..] if is_shell_name(shell) && flag == "-c" => Some(script.clone()),
        _ => None,
    }
}

/// Whether a program path names a POSIX-ish shell (`/bin/sh`, `bash`, `/bin/busybox`).
pub(super) fn is_shell_name(program: &str) -> bool {
    let name = program.rsplit('/').next().unwrap_or(program);
    matches!(
        name,
        "sh" | "dash" | "bash" | "ash" | "busybox" | "ksh" | "mksh" | "zsh"
    )
}

/// Whether a program path names an init that forwards signals to its child.
pub(super) fn is_init_name(program: &str) -> bool {
    let name = program.rsplit('/').next().unwrap_or(program);
    name.starts_with("tini")
        || matches!(
            name,
            "docker-init" | "dumb-init" | "catatonit" | "s6-svscan"
        )
}

/// Where `signal` goes, from what the run showed.
pub(super) fn predict(observed: &RunFacts, signal: StopSignal) -> Prediction {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pid1::Pid1;

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
