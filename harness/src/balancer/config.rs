//! HAProxy's configuration and image: one image for every scenario, its settings read from the
//! environment (`.if defined(...)` blocks, HAProxy 2.4+), its replicas in server slots that the
//! runtime API fills in and empties as the rollout goes.

use std::path::PathBuf;

use crate::engine::Engine;
use crate::images::{
    BuildError, Forged, GeneratedFile, HostBinary, RootfsImage, forge, third_party_label,
};

/// The frontend's port inside the balancer's container.
pub const FRONTEND_PORT: u16 = 8080;
/// The runtime API's port inside the balancer's container (TCP, level admin): the harness
/// reaches it on its published 127.0.0.1 port, and nothing else can.
pub const ADMIN_PORT: u16 = 9999;
/// How many replica slots the backend has (`s1` ... `s8`): the replicas and their replacements.
pub const SLOTS: usize = 8;

/// The prefix of the one log line HAProxy writes per request, for the harness to read.
pub const REQUEST_LOG_PREFIX: &str = "shreq ";

/// The configuration. Each request is logged on one line the harness reads: its id (the
/// stream's `x-request-id`), the server it went to, its retries, its termination state, its
/// status and its timers. Servers start disabled (maintenance) at a placeholder address until a
/// replica fills them; nothing takes one out of the pool but the runtime API (or the health
/// checks, when asked for). With `BALANCER_SERVICE` set (a Swarm rollout) the slots are filled
/// by DNS instead: `server-template` resolves `tasks.<service>` through the engine's DNS, and
/// each request's line carries the address it went to (`dst=`: its connection's destination;
/// `addr=`: the slot's address when it was logged, which DNS may have changed), the slots being
/// no replica's.
pub const HAPROXY_CONFIG: &str = r#"global
    log stdout format raw local0 info
    stats socket ipv4@0.0.0.0:9999 level admin
    hard-stop-after 5s

.if defined(BALANCER_SERVICE)
resolvers engine
    nameserver docker 127.0.0.11:53
    accepted_payload_size 8192
    hold valid "${BALANCER_RESOLVE_EVERY}"
    hold obsolete "${BALANCER_HOLD_OBSOLETE}"
    timeout resolve "${BALANCER_RESOLVE_EVERY}"
.endif

defaults
    mode http
    log global
    log-format "shreq id=%[capture.req.hdr(0)] srv=%s addr=%si dst=%[bc_dst] rc=%rc ts=%tsc st=%ST Tc=%Tc Ta=%Ta"
    timeout connect "${BALANCER_CONNECT_TIMEOUT}"
    timeout client 30s
    timeout server 30s
    retries "${BALANCER_RETRIES}"
    retry-on "${BALANCER_RETRY_ON[*]}"
.if defined(BALANCER_REDISPATCH)
    option redispatch
.endif
    http-reuse "${BALANCER_REUSE}"

frontend web
    bind :8080
    capture request header x-request-id len 16
    default_backend replicas

backend replicas
    balance roundrobin
    default-server pool-purge-delay "${BALANCER_POOL_PURGE_DELAY}"
.if defined(BALANCER_CHECKS)
    default-server check inter "${BALANCER_CHECK_INTER}" fall "${BALANCER_CHECK_FALL}" rise "${BALANCER_CHECK_RISE}"
.endif
.if defined(BALANCER_SERVICE)
    server-template t 8 "tasks.${BALANCER_SERVICE}:${BALANCER_SERVICE_PORT}" resolvers engine init-addr none
.else
    server s1 127.0.0.1:1 disabled
    server s2 127.0.0.1:1 disabled
    server s3 127.0.0.1:1 disabled
    server s4 127.0.0.1:1 disabled
    server s5 127.0.0.1:1 disabled
    server s6 127.0.0.1:1 disabled
    server s7 127.0.0.1:1 disabled
    server s8 127.0.0.1:1 disabled
.endif
"#;

/// The balancer's image: the host's HAProxy (Debian package `haproxy`) with its libraries and
/// [`HAPROXY_CONFIG`], in the foreground. Returns its content tag, and whether it was built now
/// (it is only when missing).
pub async fn balancer_image(engine: &Engine) -> Result<Forged, BuildError> {
    let spec = RootfsImage {
        repository: "balancer".to_string(),
        flavour: Some("haproxy".to_string()),
        binaries: vec![HostBinary {
            candidates: vec![PathBuf::from("/usr/sbin/haproxy")],
            package: "haproxy".to_string(),
            installed_as: vec!["/usr/sbin/haproxy".to_string()],
            is_static: false,
        }],
        symlinks: Vec::new(),
        trees: Vec::new(),
        files: vec![
            GeneratedFile::text("/etc/haproxy/haproxy.cfg", HAPROXY_CONFIG),
            GeneratedFile::keep_dir("/tmp"),
        ],
        instructions: vec![
            format!("EXPOSE {FRONTEND_PORT} {ADMIN_PORT}"),
            r#"ENTRYPOINT ["/usr/sbin/haproxy", "-db", "-f", "/etc/haproxy/haproxy.cfg"]"#
                .to_string(),
        ],
        labels: third_party_label("haproxy"),
    };
    forge(engine, &spec).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_has_every_slot_and_reads_its_settings() {
        for slot in 1..=SLOTS {
            assert!(HAPROXY_CONFIG.contains(&format!("server s{slot} 127.0.0.1:1 disabled")));
        }
        assert!(!HAPROXY_CONFIG.contains(&format!("server s{} ", SLOTS + 1)));
        // Every variable the settings set is read, and nothing else is.
        let settings = crate::model::rollout::BalancerSettings {
            redispatch: true,
            checks: Some(crate::model::rollout::HealthChecks::default()),
            ..Default::default()
        };
        let swarm = crate::model::rollout::swarm_balancer_env(&settings, "svc", 1202);
        for (variable, _) in settings.env().into_iter().chain(swarm) {
            assert!(HAPROXY_CONFIG.contains(&variable), "{variable}");
        }
        assert!(HAPROXY_CONFIG.contains(REQUEST_LOG_PREFIX.trim()));
        assert!(HAPROXY_CONFIG.contains(&format!("bind :{FRONTEND_PORT}")));
        assert!(HAPROXY_CONFIG.contains(&format!("0.0.0.0:{ADMIN_PORT}")));
    }
}
