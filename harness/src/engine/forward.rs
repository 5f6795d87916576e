//! Podman beside Docker on one host: Docker sets the firewall's FORWARD policy to DROP, and with
//! bridged traffic passing through iptables (`br_netfilter`) that drops what the containers of a
//! Podman `internal` network send each other (netavark adds accept rules for Podman's other
//! networks, none for an internal one). Docker's documented place for a host's own rules is its
//! `DOCKER-USER` chain: the run adds one rule there that accepts traffic within its network's
//! bridge only, and removes it with the network.

use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::process::Command;

/// The comment that marks the harness's rules, so that `clean` and reaping find them.
const COMMENT: &str = "shutdown-harness: a run's internal Podman network";
/// The chain Docker leaves to the host's own rules, consulted before its own.
const CHAIN: &str = "DOCKER-USER";
/// How long one iptables call may take (`-w` waits for the xtables lock).
const IPTABLES_DEADLINE: Duration = Duration::from_secs(10);

/// The name of the bridge a run's network `network` gets on the host: fixed by the harness at
/// create (`com.docker.network.bridge.name`, which Docker and Podman both honour), at most 15
/// characters as Linux allows, and derived from the network's name so that whoever removes the
/// network knows it.
pub(super) fn bridge_name(network: &str) -> String {
    let digest = hex::encode(Sha256::digest(network.as_bytes()));
    format!("shr{}", &digest[..12])
}

/// Whether traffic between containers of an internal network is dropped on this host: Docker's
/// `DOCKER-USER` chain exists (Docker runs here, its FORWARD policy DROP with it).
pub(super) async fn docker_drops_forwarding() -> bool {
    iptables(&["-S", CHAIN]).await.is_ok()
}

/// Accepts forwarded traffic within `bridge` ahead of Docker's rules.
pub(super) async fn accept_within(bridge: &str) -> Result<(), String> {
    if iptables(&rule("-C", bridge)).await.is_ok() {
        return Ok(());
    }
    iptables(&rule("-I", bridge)).await
}

/// Removes the rule [`accept_within`] added for `bridge`, if there is one.
pub(super) async fn forget(bridge: &str) {
    // Inserted once; deleted until none is left, in case two runs of one name ever raced.
    while iptables(&rule("-D", bridge)).await.is_ok() {}
}

/// `iptables -w <op> DOCKER-USER -i BRIDGE -o BRIDGE -m comment --comment ... -j ACCEPT`.
fn rule<'a>(op: &'a str, bridge: &'a str) -> Vec<&'a str> {
    vec![
        op,
        CHAIN,
        "-i",
        bridge,
        "-o",
        bridge,
        "-m",
        "comment",
        "--comment",
        COMMENT,
        "-j",
        "ACCEPT",
    ]
}

/// Runs `iptables -w ARGS`; Err with what it said when it fails or cannot run.
async fn iptables(args: &[&str]) -> Result<(), String> {
    let run = Command::new("iptables")
        .arg("-w")
        .args(args)
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(IPTABLES_DEADLINE, run).await {
        Ok(Ok(output)) if output.status.success() => Ok(()),
        Ok(Ok(output)) => Err(String::from_utf8_lossy(&output.stderr).trim().to_string()),
        Ok(Err(e)) => Err(format!("iptables could not run: {e}")),
        Err(_) => Err("iptables did not answer in time".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_names_fit_linux_and_follow_the_network() {
        let name = bridge_name("shutdown-harness-0123456789abcdef-12-net");
        assert_eq!(name.len(), 15);
        assert_eq!(
            name,
            bridge_name("shutdown-harness-0123456789abcdef-12-net")
        );
        assert_ne!(
            name,
            bridge_name("shutdown-harness-0123456789abcdef-13-net")
        );
    }
}
