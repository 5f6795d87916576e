//! Where the stop signal goes, predicted from what was read, and what can and cannot be known
//! from that: pure functions of the facts, tested without an engine.

use super::{Prediction, RunFacts};
use crate::model::pid1::Pid1;
use crate::model::variant::StopSignal;

/// A runtime recognised by facts, whose shutdown behaviour is known from its documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Runtime {
    /// Go's runtime: it catches nearly every signal whether the program handles them or not.
    Go,
    /// nginx: SIGTERM and SIGINT are its fast shutdown, SIGQUIT its graceful one.
    Nginx,
    /// node: it catches SIGTERM and SIGINT whether or not the program listens for them (to
    /// reset the terminal, then re-raise them), so its handler says nothing of the program's.
    Node,
    /// npm (`npm start`): not the server but the runner of its start script, as a child
    /// `sh -c <script>`; what it does with the signal is npm's (and its version's) business.
    Npm,
}

/// How many standard signals a process must catch to look like Go's runtime, which installs a
/// handler for every catchable one (dockerd: 25 of 31); servers that handle their own signals
/// catch a handful (nginx about 10, graceful-server 3).
const GO_CAUGHT: usize = 20;

/// The runtime of `process`, if its facts give it away, with the fact that did.
pub(super) fn recognise(process: &Pid1) -> Option<(Runtime, String)> {
    let argv0 = process.command.split(' ').next().unwrap_or_default();
    let npm_cli = process
        .command
        .split(' ')
        .take(2)
        .any(|word| word.ends_with("npm-cli.js"));
    if basename(argv0) == "npm" || npm_cli {
        return Some((
            Runtime::Npm,
            format!("its command is `{}`", process.command),
        ));
    }
    if matches!(basename(argv0), "node" | "nodejs") {
        return Some((
            Runtime::Node,
            format!("its command is `{}`", process.command),
        ));
    }
    if process.command.starts_with("nginx: master process") || basename(argv0) == "nginx" {
        return Some((
            Runtime::Nginx,
            format!("its command is `{}`", process.command),
        ));
    }
    if process.catches.len() >= GO_CAUGHT && process.catches.iter().any(|s| s == "SIGURG") {
        return Some((
            Runtime::Go,
            format!(
                "it catches {} of the 31 standard signals, SIGURG among them, as Go's runtime does",
                process.catches.len()
            ),
        ));
    }
    None
}

/// What the facts say about the stop: where the signal goes, and what follows from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Assessment {
    /// Where the signal goes.
    pub(super) prediction: Prediction,
    /// Whether the stop signal reaches the server process (None: it depends on a script).
    pub(super) signal_reaches_server: Option<bool>,
    /// Whether the server drains (None: only a check under load can tell).
    pub(super) drains: Option<bool>,
    /// The exit code that follows (None: the program decides).
    pub(super) expected_exit_code: Option<i64>,
    /// The server process's runtime, when recognised, and why.
    pub(super) runtime: Option<(Runtime, String)>,
}

/// Assesses where `signal` goes and what can be said of the drain and the exit.
pub(super) fn assess(observed: &RunFacts, signal: StopSignal) -> Assessment {
    let prediction = predict(observed, signal);
    let server = match &prediction {
        Prediction::Forwarded { .. } | Prediction::Trapped { .. } => observed.children.first(),
        Prediction::Dropped { .. } if observed.shell.is_some() => observed.children.first(),
        _ => Some(&observed.pid1),
    };
    let runtime = server.and_then(recognise);
    let killed = 137;
    let (reaches, drains, exit) = match &prediction {
        Prediction::Dropped { .. } | Prediction::WrongSignal { .. } => {
            (Some(false), Some(false), Some(killed))
        }
        Prediction::Forwarded {
            child_handles: false,
            ..
        } => match default_action_ends(signal) {
            // Not PID 1, the server gets the default action: it dies at once.
            true => (
                Some(true),
                Some(false),
                Some(128 + i64::from(signal.number())),
            ),
            false => (Some(true), Some(false), Some(killed)),
        },
        Prediction::Trapped { .. } => (None, None, None),
        Prediction::Delivered { .. } | Prediction::Forwarded { .. } => {
            match runtime.as_ref().map(|(r, _)| *r) {
                // npm stands between the signal and the server: /proc cannot tell what it does.
                Some(Runtime::Npm) => (None, None, None),
                // nginx's documented fast shutdown: it closes its connections and exits 0.
                Some(Runtime::Nginx)
                    if matches!(signal, StopSignal::Sigterm | StopSignal::Sigint) =>
                {
                    (Some(true), Some(false), Some(0))
                }
                _ => (Some(true), None, None),
            }
        }
    };
    Assessment {
        prediction,
        signal_reaches_server: reaches,
        drains,
        expected_exit_code: exit,
        runtime,
    }
}

/// Whether the default action of `signal` ends a process (SIGWINCH's is to ignore it).
fn default_action_ends(signal: StopSignal) -> bool {
    signal != StopSignal::Sigwinch
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Whether a process is a shell, from its command line (and executable): `/bin/sh -c ...`,
/// `bash script.sh`, `/bin/busybox sh`; not `/bin/busybox httpd`, which is busybox's server.
pub(super) fn is_shell_process(command: &str, exe: Option<&str>) -> bool {
    let mut words = command.split_whitespace();
    let argv0 = basename(words.next().unwrap_or_default());
    match argv0 {
        "busybox" => matches!(words.next(), Some("sh" | "ash")),
        name if is_shell_name(name) => true,
        // A shell started under another name (`exec -a`): its executable says so.
        _ => exe.is_some_and(|exe| matches!(basename(exe), "dash" | "bash")),
    }
}

/// The script of a `<shell> -c <script>` command.
pub(super) fn shell_script(command: &[String]) -> Option<String> {
    match command {
        [shell, flag, script, ..] if is_shell_name(shell) && flag == "-c" => Some(script.clone()),
        _ => None,
    }
}

/// Whether a program path names a POSIX-ish shell (`/bin/sh`, `bash`); busybox is one only as
/// `busybox sh`, which [`is_shell_process`] tells.
pub(super) fn is_shell_name(program: &str) -> bool {
    matches!(
        basename(program),
        "sh" | "dash" | "bash" | "ash" | "ksh" | "mksh" | "zsh"
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
    // Only the conventional stop signals: SIGHUP means "reload" to most daemons (busybox httpd
    // catches it for that), SIGUSR1/2 and SIGWINCH mean what each program says.
    let handles: Vec<String> = [StopSignal::Sigint, StopSignal::Sigquit, StopSignal::Sigterm]
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
            "PID 1 is the server (`{}`) and has no handler for {signal}: as PID 1 the kernel drops it",
            pid1.command
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::pid1::Pid1;

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
        let shell = is_shell_process(&pid1.command, Some(exe))
            .then(|| exe.rsplit('/').next().unwrap().to_string());
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
        match assess(&observed, StopSignal::Sigterm).prediction {
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
            assess(&observed, StopSignal::Sigterm).prediction,
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
            assess(&observed, StopSignal::Sigterm).prediction,
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
            assess(&observed, StopSignal::Sigterm).prediction,
            Prediction::Dropped { .. }
        ));
    }

    #[test]
    fn busybox_httpd_is_not_a_shell_but_busybox_sh_is() {
        assert!(!is_shell_process(
            "/bin/busybox httpd -f -p 8080",
            Some("/bin/busybox")
        ));
        assert!(is_shell_process(
            "/bin/busybox sh -c server",
            Some("/bin/busybox")
        ));
        assert!(is_shell_process("/bin/sh -c server", Some("/bin/busybox")));
        assert!(is_shell_process(
            "/bin/sh /entrypoint.sh server",
            Some("/bin/dash")
        ));
        assert!(!is_shell_process("server", Some("/usr/local/bin/server")));
    }

    #[test]
    fn a_server_pid1_without_handler_drops_and_is_killed() {
        let observed = facts(
            tree("/bin/busybox httpd -f", &[], &[], false),
            "/bin/busybox",
            vec![],
        );
        let assessment = assess(&observed, StopSignal::Sigterm);
        assert!(matches!(assessment.prediction, Prediction::Dropped { .. }));
        assert_eq!(assessment.signal_reaches_server, Some(false));
        assert_eq!(assessment.expected_exit_code, Some(137));
    }

    /// dockerd's SigCgt on this machine, a Go program: every standard signal but KILL, CONT,
    /// STOP and the terminal ones.
    fn go_catches() -> Vec<&'static str> {
        let mask: u64 = 0xfffffffd7fc1feff;
        crate::procfs::signal_names(mask)
            .into_iter()
            .map(|name| &*Box::leak(name.into_boxed_str()))
            .collect()
    }

    #[test]
    fn go_catching_everything_says_nothing_about_draining() {
        let observed = facts(
            tree("/app/server", &go_catches(), &[], true),
            "/app/server",
            vec![],
        );
        let assessment = assess(&observed, StopSignal::Sigterm);
        assert_eq!(assessment.signal_reaches_server, Some(true));
        assert_eq!(assessment.drains, None, "a handler is not a drain");
        assert_eq!(assessment.expected_exit_code, None);
        assert_eq!(assessment.runtime.map(|(r, _)| r), Some(Runtime::Go));
    }

    #[test]
    fn nginx_under_sigterm_shuts_down_fast() {
        let nginx = tree(
            "nginx: master process /usr/sbin/nginx",
            &[
                "SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGTERM",
                "SIGCHLD", "SIGWINCH", "SIGIO",
            ],
            &[],
            true,
        );
        let observed = facts(nginx, "/usr/sbin/nginx", vec![]);
        let fast = assess(&observed, StopSignal::Sigterm);
        assert_eq!(fast.runtime.as_ref().map(|(r, _)| *r), Some(Runtime::Nginx));
        assert_eq!(fast.drains, Some(false));
        assert_eq!(assess(&observed, StopSignal::Sigquit).drains, None);
    }

    /// node as PID 1 catches SIGTERM whether or not server.js listens: nothing about the drain
    /// or the exit may be claimed. npm as PID 1 is not the server: not even the signal's way.
    #[test]
    fn node_and_npm_claim_nothing_they_cannot_know() {
        let node_catches = ["SIGINT", "SIGUSR1", "SIGSEGV", "SIGTERM"];
        let node = facts(
            tree("node server.js", &node_catches, &[], true),
            "/usr/bin/node",
            vec![],
        );
        let assessment = assess(&node, StopSignal::Sigterm);
        assert_eq!(assessment.runtime.map(|(r, _)| r), Some(Runtime::Node));
        assert_eq!(
            (assessment.drains, assessment.expected_exit_code),
            (None, None)
        );
        let npm = facts(
            tree("npm start", &node_catches, &[], true),
            "/usr/bin/node",
            vec![tree(
                "sh -c node server.js",
                &["SIGINT", "SIGCHLD"],
                &[],
                false,
            )],
        );
        let assessment = assess(&npm, StopSignal::Sigterm);
        assert_eq!(assessment.runtime.map(|(r, _)| r), Some(Runtime::Npm));
        assert_eq!(assessment.signal_reaches_server, None);
        assert_eq!(
            (assessment.drains, assessment.expected_exit_code),
            (None, None)
        );
    }

    #[test]
    fn shell_scripts_are_recognised() {
        let command: Vec<String> = ["/bin/sh", "-c", "server"].map(String::from).to_vec();
        assert_eq!(shell_script(&command).as_deref(), Some("server"));
        assert_eq!(shell_script(&command[..1]), None);
    }
}
