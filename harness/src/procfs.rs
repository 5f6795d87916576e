//! Reading a process of a local engine's container from the host's `/proc`: its command line,
//! the signals it catches, blocks or waits for, and its children.

use std::path::Path;

use crate::model::pid1::Pid1;

/// Reads `/proc/<pid>` for the process that is PID 1 inside a container; `stop_signal` is the
/// signal number whose handler matters.
pub fn read(pid: i64, stop_signal: i32) -> std::io::Result<Pid1> {
    let proc_dir = Path::new("/proc").join(pid.to_string());
    let command = read_cmdline(&proc_dir)?;
    let status = std::fs::read_to_string(proc_dir.join("status"))?;
    let mask = |field: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            .unwrap_or(0)
    };
    let (caught, blocked) = (mask("SigCgt:"), mask("SigBlk:"));
    let sigwaits = waits_for_signals(&proc_dir);
    let children =
        std::fs::read_to_string(proc_dir.join("task").join(pid.to_string()).join("children"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|child| read_cmdline(&Path::new("/proc").join(child)).ok())
            .collect();
    Ok(Pid1 {
        command,
        catches: signal_names(caught),
        blocks: signal_names(blocked),
        sigwaits,
        handles_stop_signal: sigwaits || has(caught, stop_signal) || has(blocked, stop_signal),
        children,
    })
}

/// Whether the process sits in `rt_sigtimedwait` (syscall 128 on x86_64).
fn waits_for_signals(proc_dir: &Path) -> bool {
    const RT_SIGTIMEDWAIT: &str = "128";
    cfg!(target_arch = "x86_64")
        && std::fs::read_to_string(proc_dir.join("syscall"))
            .is_ok_and(|s| s.split_whitespace().next() == Some(RT_SIGTIMEDWAIT))
}

fn read_cmdline(proc_dir: &Path) -> std::io::Result<String> {
    let raw = std::fs::read(proc_dir.join("cmdline"))?;
    let args: Vec<String> = raw
        .split(|b| *b == 0)
        .filter(|arg| !arg.is_empty())
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect();
    Ok(args.join(" "))
}

/// Whether bit `signal - 1` of a `/proc` signal mask is set.
pub fn has(mask: u64, signal: i32) -> bool {
    (1..=64).contains(&signal) && mask & (1u64 << (signal - 1)) != 0
}

/// The names of the standard signals, by number - 1.
const NAMES: [&str; 31] = [
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

/// The name of signal `number` (`SIGTERM`), or `signal N` for others.
pub fn signal_name(number: i32) -> String {
    usize::try_from(number - 1)
        .ok()
        .and_then(|i| NAMES.get(i))
        .map_or_else(|| format!("signal {number}"), |name| name.to_string())
}

/// The names of the standard signals set in a `/proc` signal mask (real-time ones left out).
pub fn signal_names(mask: u64) -> Vec<String> {
    NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| has(mask, *i as i32 + 1))
        .map(|(_, name)| name.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dash_as_pid1_catches_int_and_chld_but_not_term() {
        // Measured: `/bin/sh -c ...` (dash) as PID 1 shows SigCgt 0000000000010002.
        let mask = 0x0000000000010002;
        assert_eq!(signal_names(mask), ["SIGINT", "SIGCHLD"]);
        assert!(!has(mask, 15));
        assert_eq!(signal_name(9), "SIGKILL");
        assert_eq!(signal_name(64), "signal 64");
    }

    #[test]
    fn reads_this_test_process() {
        let me = read(std::process::id() as i64, 15).unwrap();
        assert!(!me.command.is_empty());
    }
}
