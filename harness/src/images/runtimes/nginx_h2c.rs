//! nginx (Debian package `nginx`) with HTTP/2 on a cleartext listener (h2c), as PID 1 or under
//! `/bin/sh -c`: a slow download and a trickled event stream over one HTTP/2 connection.

use super::nginx::nginx_rootfs;
use super::{RuntimeImage, text};
use crate::images::rootfs::RootfsImage;

/// nginx's event stream over h2c: [`H2C_EVENTS`] numbered events trickled out at
/// `limit_rate 170` (17 bytes each: about 10 a second, for a minute).
pub const NGINX_EVENTS_PATH: &str = "/events";
/// How many events the stream holds.
pub const H2C_EVENTS: usize = 600;

/// The listener: `listen … http2` on the plain port, so h2c with prior
/// knowledge only: nginx 1.22 implements no HTTP/1.1 `Upgrade: h2c` and answers an HTTP/1.1
/// request with a GOAWAY (so readiness is the port accepting, not a path answering).
const H2C_LISTEN: &str = "        # 1.22's syntax; 1.25.1 deprecates it for `listen 8080;` + `http2 on;`.\n        listen 8080 http2;\n";

/// The event stream's location.
const EVENTS_LOCATION: &str =
    "        # nginx cannot generate events itself: a rate-limited file of them is the closest it
        # gets. Without postpone_output 0 nothing leaves before 1460 bytes; even so the rate
        # limiter wakes once a second, so events come in bursts of about 9.
        location /events {
            alias /www/events.txt;
            default_type text/event-stream;
            limit_rate 170;
            postpone_output 0;
        }
";

/// The event stream's file: `id:00001`, `data:x`, a blank line, and so on.
fn events_file() -> String {
    (1..=H2C_EVENTS)
        .map(|n| format!("id:{n:05}\ndata:x\n\n"))
        .collect()
}

/// What the h2c nginx image is made of: the nginx runtime's files plus the event stream, in
/// exec form (`ENTRYPOINT ["/usr/sbin/nginx"]`) or shell form. No `STOPSIGNAL`: SIGTERM is its
/// fast shutdown (no GOAWAY at all), SIGQUIT its graceful one (one GOAWAY).
pub(super) fn nginx_h2c_spec(image: &RuntimeImage) -> RootfsImage {
    nginx_rootfs(
        image.runtime,
        H2C_LISTEN,
        EVENTS_LOCATION,
        vec![text("/www/events.txt", &events_file())],
    )
}

#[cfg(test)]
mod tests {
    use super::super::HTTP_PORT;
    use super::super::nginx::nginx_conf;
    use super::*;

    #[test]
    fn the_listener_is_h2c_and_the_events_are_numbered() {
        assert!(
            nginx_conf(H2C_LISTEN, EVENTS_LOCATION).contains(&format!("listen {HTTP_PORT} http2;"))
        );
        let events = events_file();
        assert_eq!(events.len(), H2C_EVENTS * 17);
        assert!(events.starts_with("id:00001\ndata:x\n\nid:00002\n"));
    }
}
