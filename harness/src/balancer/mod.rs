//! The load balancer of a rollout: HAProxy, forged from the host's package, configured from a
//! scenario's balancer settings and driven at run time through its runtime API, the way an
//! ingress controller reacts to endpoint changes.

mod config;
mod error;
mod runtime_api;

pub use crate::rollout::{BalancerSettings, Reuse};
pub use config::{ADMIN_PORT, FRONTEND_PORT, HAPROXY_CONFIG, SLOTS, balancer_image};
pub use error::BalancerError;
pub use runtime_api::{RuntimeApi, ServerStatus};
