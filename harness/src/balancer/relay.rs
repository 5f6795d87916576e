//! The delaying relay between the balancer and its replicas: its image (the project's static
//! `delay-relay` binary, `FROM scratch`) and its routes, one listening port per server slot.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use super::config::SLOTS;
use crate::engine::Engine;
use crate::images::{BuildError, Forged, HostBinary, RootfsImage, forge};

/// The port the relay listens on for slot `sN`: this plus N.
pub const RELAY_PORT_BASE: u16 = 10_000;
/// The line the relay prints once every route listens.
pub const RELAY_READY_LINE: &str = "Relay ready";

/// The relay's image, from the static binary at `binary` (built with the server).
pub async fn relay_image(engine: &Engine, binary: &Path) -> Result<Forged, BuildError> {
    let spec = RootfsImage {
        repository: "relay".to_string(),
        flavour: None,
        binaries: vec![HostBinary {
            candidates: vec![binary.to_path_buf()],
            package: "the workspace's delay-relay (built with the server)".to_string(),
            installed_as: vec!["/delay-relay".to_string()],
            is_static: true,
        }],
        symlinks: Vec::new(),
        trees: Vec::new(),
        files: Vec::new(),
        instructions: vec![r#"ENTRYPOINT ["/delay-relay"]"#.to_string()],
        labels: std::collections::HashMap::new(),
    };
    forge(engine, &spec).await
}

/// The relay's environment: `latency` each way, and for each slot N a route from port
/// [`RELAY_PORT_BASE`] + N to `addresses[N]:port` (slot sN's replica, which gets that address).
pub fn relay_env(latency: Duration, addresses: &[IpAddr], port: u16) -> Vec<(String, String)> {
    let routes: Vec<String> = (1..=SLOTS)
        .filter_map(|n| {
            let address = addresses.get(n)?;
            let listen = RELAY_PORT_BASE + u16::try_from(n).ok()?;
            Some(format!(
                "{listen}={}",
                std::net::SocketAddr::new(*address, port)
            ))
        })
        .collect();
    vec![
        (
            "RELAY_LATENCY".to_string(),
            format!("{}ms", latency.as_millis()),
        ),
        ("RELAY_ROUTES".to_string(), routes.join(",")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_line_is_the_relays_own() {
        assert_eq!(RELAY_READY_LINE, delay_relay::READY_LINE);
    }

    #[test]
    fn each_slot_has_its_route_to_its_replicas_address() {
        let addresses: Vec<IpAddr> = (2..12).map(|n| IpAddr::from([10, 89, 0, n])).collect();
        let env = relay_env(Duration::from_millis(10), &addresses, 1202);
        assert_eq!(env[0], ("RELAY_LATENCY".to_string(), "10ms".to_string()));
        let routes: Vec<&str> = env[1].1.split(',').collect();
        assert_eq!(routes.len(), SLOTS);
        assert_eq!(routes[0], "10001=10.89.0.3:1202");
        assert_eq!(routes[SLOTS - 1], "10008=10.89.0.10:1202");
    }
}
