//! Where a stream's client stands: on the host, through the port the engine published (and
//! through docker-proxy, which accepts every connection itself), or inside the target
//! container's network namespace, on its own loopback, where a closed listener refuses.

use serde::{Deserialize, Serialize};

/// Where a stream's client stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Vantage {
    /// On the host, through the published port on 127.0.0.1.
    Host,
    /// In a helper container sharing the target's network namespace (`network_mode:
    /// container:<id>`), on `127.0.0.1:<container port>`: no proxy, no host port.
    Netns,
}

impl Vantage {
    /// Both, in display order.
    pub const ALL: [Vantage; 2] = [Vantage::Host, Vantage::Netns];

    /// The name in flags, scenario files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Vantage::Host => "host",
            Vantage::Netns => "netns",
        }
    }

    /// What each means, for diagnostics that list them.
    pub fn describe(self) -> &'static str {
        match self {
            Vantage::Host => "from the host, through the published port",
            Vantage::Netns => "from inside the container's network namespace",
        }
    }

    /// The vantages as a diagnostic lists them.
    pub fn choices() -> String {
        Vantage::ALL
            .map(|v| format!("\"{}\" ({})", v.name(), v.describe()))
            .join(", ")
    }

    /// Parses one of [`Vantage::ALL`]'s names.
    pub fn parse(text: &str) -> Option<Vantage> {
        Vantage::ALL.into_iter().find(|v| v.name() == text.trim())
    }
}

impl std::fmt::Display for Vantage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vantages_parse_by_name() {
        for vantage in Vantage::ALL {
            assert_eq!(Vantage::parse(vantage.name()), Some(vantage));
            assert!(Vantage::choices().contains(vantage.name()));
        }
        assert_eq!(Vantage::parse("inside"), None);
    }
}
