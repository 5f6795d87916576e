//! The networks a run makes for its containers: internal (no route out), labelled, with a subnet
//! of their own so that the run, not the engine, decides which container gets which address.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use bollard::models::{
    EndpointIpamConfig, EndpointSettings, Ipam, IpamConfig, NetworkConnectRequest,
    NetworkCreateRequest,
};
use bollard::query_parameters::ListNetworksOptions;

use super::connection::{CALL_DEADLINE, Engine, deadline};
use super::error::{EngineError, is_not_found};
use super::forward;
use crate::model::engine_info::EngineKind;

/// How many times a network is asked for again when another run took its subnet in between.
const SUBNET_ATTEMPTS: usize = 8;

/// A network found by its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledNetwork {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its labels.
    pub labels: HashMap<String, String>,
}

/// An IPv4 subnet, such as `172.18.0.0/16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    /// Its first address.
    pub base: Ipv4Addr,
    /// Its prefix length.
    pub prefix: u8,
}

impl Subnet {
    /// Parses `a.b.c.d/n` (the address is masked to the prefix).
    pub fn parse(text: &str) -> Option<Subnet> {
        let (address, prefix) = text.trim().split_once('/')?;
        let address: Ipv4Addr = address.parse().ok()?;
        let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 30)?;
        let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        Some(Subnet {
            base: Ipv4Addr::from(u32::from(address) & mask),
            prefix,
        })
    }

    /// Its `n`th address (0 is the subnet's own), while it lies below the broadcast address.
    pub fn host(&self, n: u32) -> Option<Ipv4Addr> {
        let size = 1u64 << (32 - u32::from(self.prefix));
        (u64::from(n) < size - 1).then(|| Ipv4Addr::from(u32::from(self.base) + n))
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

/// A network the run made: internal, labelled, on a subnet the run knows, on a host bridge
/// named by the harness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunNetwork {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its subnet.
    pub subnet: Subnet,
    /// Its gateway (the host's side of the bridge), never handed to a container.
    pub gateway: Option<Ipv4Addr>,
}

impl RunNetwork {
    /// The addresses containers may be given, in order: the subnet's, from its second, skipping
    /// the gateway.
    pub fn addresses(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        (1..)
            .map_while(|n| self.subnet.host(n))
            .filter(|a| Some(*a) != self.gateway)
    }
}

/// Where a container is attached: a network, the alias the others reach it by, and the address
/// it must have there (None: the engine's choice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The network's name or id.
    pub network: String,
    /// The name the network's other containers reach it by.
    pub alias: String,
    /// Its address on the network; only on a network with a subnet of its own.
    pub address: Option<IpAddr>,
}

/// How often a removed network is looked for until the engine no longer knows it.
const REMOVED_POLL: std::time::Duration = std::time::Duration::from_millis(50);

impl Attachment {
    /// The engine's view of it.
    pub(super) fn endpoint(&self) -> EndpointSettings {
        EndpointSettings {
            aliases: Some(vec![self.alias.clone()]),
            ipam_config: self.address.map(|address| EndpointIpamConfig {
                ipv4_address: Some(address.to_string()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

impl Engine {
    /// Creates a network no traffic can leave (`internal`), with `labels`, on a subnet of its
    /// own so that containers can be given their addresses (the engine only accepts a fixed
    /// address on a network whose subnet was named at create). The subnet is one the engine
    /// itself would pick: a first network is made and removed to learn it, so that its address
    /// pools (and what the host already routes) are respected. On Podman with Docker on the
    /// same host, the network's bridge is let through Docker's firewall (see `forward.rs`);
    /// [`Engine::remove_network`] undoes that.
    pub async fn create_run_network(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<RunNetwork, EngineError> {
        let mut last = None;
        for _ in 0..SUBNET_ATTEMPTS {
            let probe = self.create_network(name, labels.clone(), None).await?;
            let subnet = self.network_subnet(&probe).await;
            self.remove_network(name).await?;
            let (subnet, gateway) = subnet?;
            match self
                .create_network(name, labels.clone(), Some(subnet))
                .await
            {
                Ok(id) => {
                    self.let_through_docker(name).await?;
                    return Ok(RunNetwork {
                        id,
                        name: name.to_string(),
                        subnet,
                        gateway,
                    });
                }
                // Another run made a network on that subnet in between: ask again.
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(EngineError::Call {
            operation: "create network",
            source: "no subnet could be had".into(),
        }))
    }

    /// On a local Podman beside Docker, accepts forwarding within network `name`'s bridge; the
    /// network is removed again when that cannot be done.
    async fn let_through_docker(&self, name: &str) -> Result<(), EngineError> {
        if self.info().kind != EngineKind::Podman
            || !self.info().local
            || !forward::docker_drops_forwarding().await
        {
            return Ok(());
        }
        let bridge = forward::bridge_name(name);
        if let Err(said) = forward::accept_within(&bridge).await {
            let _ = self.remove_network(name).await;
            return Err(EngineError::Firewall { bridge, said });
        }
        Ok(())
    }

    /// Creates an internal network, on `subnet` if given, on a bridge named after it; returns
    /// its id.
    async fn create_network(
        &self,
        name: &str,
        labels: HashMap<String, String>,
        subnet: Option<Subnet>,
    ) -> Result<String, EngineError> {
        let request = NetworkCreateRequest {
            name: name.to_string(),
            internal: Some(true),
            labels: Some(labels),
            options: Some(HashMap::from([(
                "com.docker.network.bridge.name".to_string(),
                forward::bridge_name(name),
            )])),
            ipam: subnet.map(|subnet| Ipam {
                config: Some(vec![IpamConfig {
                    subnet: Some(subnet.to_string()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        self.create_network_as(request).await
    }

    /// Creates the network `request` describes; returns its id. Every network the harness
    /// makes, bridge or overlay, is created through here.
    pub(super) async fn create_network_as(
        &self,
        request: NetworkCreateRequest,
    ) -> Result<String, EngineError> {
        deadline("create network", CALL_DEADLINE, async {
            self.docker()
                .create_network(request)
                .await
                .map(|created| created.id)
                .map_err(|e| EngineError::call("create network", e))
        })
        .await
    }

    /// The IPv4 subnet and gateway of network `id`.
    async fn network_subnet(&self, id: &str) -> Result<(Subnet, Option<Ipv4Addr>), EngineError> {
        let inspect = deadline("inspect network", CALL_DEADLINE, async {
            self.docker()
                .inspect_network(id, None)
                .await
                .map_err(|e| EngineError::call("inspect network", e))
        })
        .await?;
        inspect
            .ipam
            .and_then(|ipam| ipam.config)
            .unwrap_or_default()
            .into_iter()
            .find_map(|config| {
                let subnet = Subnet::parse(config.subnet.as_deref()?)?;
                let gateway = config.gateway.as_deref().and_then(|g| g.parse().ok());
                Some((subnet, gateway))
            })
            .ok_or_else(|| EngineError::Call {
                operation: "inspect network",
                source: format!("network {id} has no IPv4 subnet").into(),
            })
    }

    /// Attaches container `id` (created, not yet started, or running) as `attachment` says.
    pub async fn connect_network(
        &self,
        id: &str,
        attachment: &Attachment,
    ) -> Result<(), EngineError> {
        let request = NetworkConnectRequest {
            container: id.to_string(),
            endpoint_config: Some(attachment.endpoint()),
        };
        deadline("connect network", CALL_DEADLINE, async {
            self.docker()
                .connect_network(&attachment.network, request)
                .await
                .map_err(|e| EngineError::call("connect network", e))
        })
        .await
    }

    /// The networks carrying `label` (`key` or `key=value`).
    pub async fn labelled_networks(
        &self,
        label: &str,
    ) -> Result<Vec<LabelledNetwork>, EngineError> {
        let filters = HashMap::from([("label".to_string(), vec![label.to_string()])]);
        let options = ListNetworksOptions {
            filters: Some(filters),
        };
        let networks = deadline("list networks", CALL_DEADLINE, async {
            self.docker()
                .list_networks(Some(options))
                .await
                .map_err(|e| EngineError::call("list networks", e))
        })
        .await?;
        Ok(networks
            .into_iter()
            .filter_map(|n| {
                Some(LabelledNetwork {
                    id: n.id?,
                    name: n.name.unwrap_or_default(),
                    labels: n.labels.unwrap_or_default(),
                })
            })
            .collect())
    }

    /// Removes every network carrying `label`; returns how many. Their containers go first.
    /// Swarm services carrying it go first: their tasks hold their overlay network.
    pub async fn remove_labelled_networks(&self, label: &str) -> Result<usize, EngineError> {
        self.remove_labelled_services(label).await?;
        let mut removed = 0;
        for network in self.labelled_networks(label).await? {
            if self.remove_network(&network.name).await? {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Removes network `name`, and on Podman the firewall rule that let its bridge through;
    /// false when it was already gone.
    pub async fn remove_network(&self, name: &str) -> Result<bool, EngineError> {
        let removed = deadline("remove network", CALL_DEADLINE, async {
            match self.docker().remove_network(name).await {
                Ok(()) => Ok(true),
                Err(e) if is_not_found(&e) => Ok(false),
                Err(e) => Err(EngineError::call("remove network", e)),
            }
        })
        .await?;
        // A swarm-scoped (overlay) network leaves the manager's store first and this node's
        // list a moment later: done once the engine no longer knows it.
        if removed {
            deadline("remove network", CALL_DEADLINE, async {
                while self.docker().inspect_network(name, None).await.is_ok() {
                    tokio::time::sleep(REMOVED_POLL).await;
                }
                Ok(())
            })
            .await?;
        }
        if self.info().kind == EngineKind::Podman && self.info().local {
            forward::forget(&forward::bridge_name(name)).await;
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_parse_and_count_their_addresses_past_the_gateway() {
        let subnet = Subnet::parse("172.18.5.7/16").expect("parses");
        assert_eq!(subnet.to_string(), "172.18.0.0/16");
        let network = RunNetwork {
            id: "n".to_string(),
            name: "n".to_string(),
            subnet: Subnet::parse("10.89.3.0/30").expect("parses"),
            gateway: Some(Ipv4Addr::new(10, 89, 3, 1)),
        };
        // A /30 has two host addresses; the gateway takes one.
        let addresses: Vec<_> = network.addresses().collect();
        assert_eq!(addresses, vec![Ipv4Addr::new(10, 89, 3, 2)]);
        for bad in [
            "",
            "10.0.0.0",
            "10.0.0.0/33",
            "10.0.0/24",
            "x/8",
            "10.0.0.0/31",
        ] {
            assert_eq!(Subnet::parse(bad), None, "{bad}");
        }
    }
}
