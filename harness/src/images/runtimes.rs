//! Images of real servers the project did not write (nginx, busybox httpd), forged from Debian
//! host packages, so `check` can be shown on servers with their own shutdown behaviour.
//!
//! Their upstream images cannot be pulled here, so each is `FROM scratch` plus the host's binary,
//! its libraries and a generated configuration, forged and tagged by content like the bases.

use std::collections::HashMap;
use std::path::PathBuf;

use super::error::BuildError;
use super::rootfs::{GeneratedFile, HostBinary, RootfsImage, forge};
use crate::engine::Engine;

/// The port both servers listen on inside their containers.
pub const HTTP_PORT: u16 = 8080;
/// nginx's slow path: [`BIG_FILE_LEN`] bytes sent at [`NGINX_RATE_PER_S`], so a download is in
/// flight for about 4 s and declares its Content-Length (a cut one is seen as `truncated`).
pub const NGINX_SLOW_PATH: &str = "/slow";
/// The size of the file behind [`NGINX_SLOW_PATH`].
pub const BIG_FILE_LEN: usize = 256 * 1024;
/// nginx's `limit_rate` for [`NGINX_SLOW_PATH`], in bytes per second.
pub const NGINX_RATE_PER_S: usize = 64 * 1024;
/// busybox httpd's slow path: a CGI script that sleeps [`BUSYBOX_CGI_SLEEP_S`] before answering.
pub const BUSYBOX_SLOW_PATH: &str = "/cgi-bin/slow";
/// How long the busybox CGI script sleeps.
pub const BUSYBOX_CGI_SLEEP_S: u32 = 3;

/// nginx as PID 1, in the foreground. Logging goes to stderr (docker logs); temp paths live in
/// /tmp so nothing outside it must be writable; `user root` because the master already is root
/// and nobody's rights are not the point here.
const NGINX_CONF: &str = "\
daemon off;
master_process on;
worker_processes 1;
user root;
pid /tmp/nginx.pid;
error_log stderr info;

events {
    worker_connections 1024;
}

http {
    access_log off;
    default_type application/octet-stream;
    client_body_temp_path /tmp/client_body;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;

    server {
        listen 8080;
        location / {
            root /www;
        }
        location /slow {
            alias /www/big.bin;
            limit_rate 64k;
        }
    }
}
";

/// The image of the host's nginx (Debian package `nginx`): `GET /` answers at once, `GET /slow`
/// takes about 4 s. No `STOPSIGNAL`, as in nginx's own Dockerfile until 1.25: docker's default
/// SIGTERM is nginx's *fast* shutdown (connections cut); SIGQUIT is its graceful one.
///
/// Returns the content tag, building the image unless it exists.
pub async fn nginx_image(engine: &Engine) -> Result<String, BuildError> {
    let spec = RootfsImage {
        repository: "nginx".to_string(),
        flavour: None,
        binaries: vec![HostBinary {
            candidates: vec![PathBuf::from("/usr/sbin/nginx")],
            package: "nginx".to_string(),
            installed_as: vec!["/usr/sbin/nginx".to_string()],
            is_static: false,
        }],
        symlinks: Vec::new(),
        files: [
            text("/etc/nginx/nginx.conf", NGINX_CONF),
            text("/www/index.html", "<!doctype html><title>nginx</title>ok\n"),
            file("/www/big.bin", big_file(), 0o644),
        ]
        .into_iter()
        .chain(accounts())
        // nginx checks its compiled-in paths exist even when the configuration moves them.
        .chain(
            ["/var/lib/nginx", "/var/log/nginx", "/tmp", "/run"]
                .into_iter()
                .map(keep_dir),
        )
        .collect(),
        instructions: vec![
            format!("EXPOSE {HTTP_PORT}"),
            r#"ENTRYPOINT ["/usr/sbin/nginx"]"#.to_string(),
        ],
        labels: third_party_label("nginx"),
    };
    Ok(forge(engine, &spec).await?.tag)
}

/// The image of busybox's `httpd` applet (Debian package `busybox-static`) as PID 1, exec form:
/// `GET /` answers at once, `GET /cgi-bin/slow` after [`BUSYBOX_CGI_SLEEP_S`] s. httpd installs
/// no SIGTERM handler, and PID 1 gets no default action, so `docker stop` is ignored until the
/// SIGKILL at the end of the grace period: requests keep being served meanwhile.
pub async fn busybox_httpd_image(engine: &Engine) -> Result<String, BuildError> {
    let script = format!(
        "#!/bin/sh\nsleep {BUSYBOX_CGI_SLEEP_S}\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\necho slept\n"
    );
    let spec = RootfsImage {
        repository: "busybox-httpd".to_string(),
        flavour: None,
        binaries: vec![HostBinary {
            candidates: vec![
                PathBuf::from("/bin/busybox"),
                PathBuf::from("/usr/bin/busybox"),
            ],
            package: "busybox-static".to_string(),
            installed_as: vec!["/bin/busybox".to_string()],
            is_static: true,
        }],
        // The CGI script runs under /bin/sh and calls sleep.
        symlinks: ["sh", "sleep"]
            .into_iter()
            .map(|applet| (format!("/bin/{applet}"), "busybox".to_string()))
            .collect(),
        files: [
            text(
                "/www/index.html",
                "<!doctype html><title>busybox</title>ok\n",
            ),
            file("/www/cgi-bin/slow", script.into_bytes(), 0o755),
        ]
        .into_iter()
        .chain(accounts())
        .chain(std::iter::once(keep_dir("/tmp")))
        .collect(),
        instructions: vec![
            format!("EXPOSE {HTTP_PORT}"),
            format!(
                r#"ENTRYPOINT ["/bin/busybox", "httpd", "-f", "-v", "-p", "{HTTP_PORT}", "-h", "/www"]"#
            ),
        ],
        labels: third_party_label("busybox-httpd"),
    };
    Ok(forge(engine, &spec).await?.tag)
}

/// The label that tells a real server's image from the harness's own.
fn third_party_label(name: &str) -> HashMap<String, String> {
    HashMap::from([("shutdown-harness.third-party".to_string(), name.to_string())])
}

/// /etc/passwd and /etc/group with root and nobody: servers resolve their user by name.
fn accounts() -> [GeneratedFile; 2] {
    [
        text(
            "/etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        ),
        text("/etc/group", "root:x:0:\nnogroup:x:65534:\n"),
    ]
}

/// A deterministic (so the tag is stable) file of [`BIG_FILE_LEN`] printable bytes.
fn big_file() -> Vec<u8> {
    b"0123456789abcdef"
        .iter()
        .copied()
        .cycle()
        .take(BIG_FILE_LEN)
        .collect()
}

fn text(path: &str, content: &str) -> GeneratedFile {
    GeneratedFile::text(path, content)
}

fn keep_dir(dir: &str) -> GeneratedFile {
    GeneratedFile::keep_dir(dir)
}

fn file(path: &str, bytes: Vec<u8>, mode: u32) -> GeneratedFile {
    GeneratedFile {
        path: path.to_string(),
        bytes,
        mode,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slow_download_lasts_about_four_seconds() {
        assert_eq!(big_file().len(), BIG_FILE_LEN);
        assert_eq!(BIG_FILE_LEN / NGINX_RATE_PER_S, 4);
        assert!(NGINX_CONF.contains("limit_rate 64k;"));
        assert!(NGINX_CONF.contains(&format!("listen {HTTP_PORT};")));
    }
}
