//! The labels that mark what the harness creates: the run ids in them, so that a run removes
//! exactly its own, and the owning process, so that a later run can reap what a killed one left.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

/// Label carried by every container, network and image the harness creates.
pub const LABEL_MANAGED: &str = "shutdown-harness.managed";
/// Label naming the run that created a container or network.
pub const LABEL_RUN: &str = "shutdown-harness.run";

/// Label naming the process that created a container or network: `<host>/<pid>/<start>`, the
/// start being the process's start time in clock ticks since boot (so a reused pid is told
/// apart).
pub const LABEL_OWNER: &str = "shutdown-harness.owner";

/// The labels of something created by run `run_id` of this process.
pub fn run_labels(run_id: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_MANAGED.to_string(), "true".to_string()),
        (LABEL_RUN.to_string(), run_id.to_string()),
        (LABEL_OWNER.to_string(), Owner::me().to_string()),
    ])
}

/// The process that owns a run: which host, which pid, started when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The host's name.
    pub host: String,
    /// The process id.
    pub pid: u32,
    /// When the process started, in clock ticks since the host booted (0 when unknown).
    pub start: u64,
}

impl Owner {
    /// This process.
    pub fn me() -> Owner {
        static ME: OnceLock<Owner> = OnceLock::new();
        ME.get_or_init(|| {
            let pid = std::process::id();
            Owner {
                host: this_host(),
                pid,
                start: start_ticks(pid).unwrap_or(0),
            }
        })
        .clone()
    }

    /// Parses an owner label's value.
    pub fn parse(label: &str) -> Option<Owner> {
        let mut parts = label.rsplitn(3, '/');
        let start = parts.next()?.parse().ok()?;
        let pid = parts.next()?.parse().ok()?;
        let host = parts.next()?.to_string();
        Some(Owner { host, pid, start })
    }

    /// Whether this owner's process still runs. Only this host's processes can be seen: for
    /// another host's, None.
    pub fn alive(&self) -> Option<bool> {
        if self.host != this_host() {
            return None;
        }
        Some(start_ticks(self.pid).is_some_and(|start| self.start == 0 || start == self.start))
    }
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.host, self.pid, self.start)
    }
}

/// This host's name, as the kernel has it.
fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_else(|_| "localhost".to_string())
}

/// When process `pid` started (field 22 of `/proc/<pid>/stat`), None when there is no such
/// process.
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command (field 2) is in parentheses and may hold spaces: count from after it.
    let after_command = &stat[stat.rfind(')')? + 1..];
    after_command.split_whitespace().nth(19)?.parse().ok()
}

/// A fresh run id: 64 random bits, so that concurrent runs never share one (a run's cleanup
/// removes exactly what carries its id).
pub fn new_run_id() -> String {
    // std's RandomState is seeded from the operating system's randomness.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_its_label_parses_back() {
        let me = Owner::me();
        assert!(me.start > 0);
        assert_eq!(Owner::parse(&me.to_string()), Some(me.clone()));
        assert_eq!(me.alive(), Some(true));
        let reused = Owner {
            start: me.start + 1,
            ..me.clone()
        };
        assert_eq!(reused.alive(), Some(false), "same pid, another start: gone");
        let elsewhere = Owner {
            host: "another-host".to_string(),
            ..me
        };
        assert_eq!(elsewhere.alive(), None);
    }

    #[test]
    fn run_ids_are_sixty_four_random_bits() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_run_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|id| id.len() == 16));
    }
}
