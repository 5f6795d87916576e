//! The load balancer of a rollout: HAProxy, forged from the host's package, configured from a
//! scenario's balancer settings, driven at run time through its runtime API the way an ingress
//! controller reacts to endpoint changes, and read through its log: what it did with each
//! request.

mod config;
mod control;
mod error;
mod log;
mod relay;

pub use config::{
    ADMIN_PORT, FRONTEND_PORT, HAPROXY_CONFIG, REQUEST_LOG_PREFIX, SLOTS, balancer_image,
};
pub use control::{BalancerControl, ServerStatus};
pub use error::BalancerError;
pub use log::{
    BalancerLine, DnsChange, dns_change, parse as parse_log_line, request_address, request_server,
};
pub use relay::{RELAY_PORT_BASE, RELAY_READY_LINE, relay_env, relay_image};
