//! nginx (Debian package `nginx`) as PID 1, with a slow download.

use std::path::PathBuf;

use super::{
    HTTP_PORT, accounts, big_file, dash, entrypoint, file, keep_dir, text, third_party_label,
};
use crate::engine::Engine;
use crate::images::error::BuildError;
use crate::images::rootfs::{GeneratedFile, HostBinary, RootfsImage, forge};
use crate::model::runtime::Runtime;

/// The plain runtime's listener: HTTP/1.1.
const LISTEN: &str = "        listen 8080;\n";

/// nginx's configuration, shared by the nginx runtimes so that they differ only where they mean
/// to: its server block listens as `listen` says (whole lines, indented), serves `/` and the
/// slow `/slow`, then `more_locations`. nginx as PID 1, in the foreground. Logging goes to
/// stderr (docker logs); temp paths live in /tmp so nothing outside it must be writable; `user
/// root` because the master already is root and nobody's rights are not the point here.
pub(super) fn nginx_conf(listen: &str, more_locations: &str) -> String {
    format!(
        "\
daemon off;
master_process on;
worker_processes 1;
user root;
pid /tmp/nginx.pid;
error_log stderr info;

events {{
    worker_connections 1024;
}}

http {{
    access_log off;
    default_type application/octet-stream;
    client_body_temp_path /tmp/client_body;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;

    server {{
{listen}        location / {{
            root /www;
        }}
        location /slow {{
            alias /www/big.bin;
            limit_rate 64k;
        }}
{more_locations}    }}
}}
"
    )
}

/// The image of the host's nginx (Debian package `nginx`): `GET /` answers at once, `GET /slow`
/// takes about 4 s. No `STOPSIGNAL`, as in nginx's own Dockerfile until 1.25: docker's default
/// SIGTERM is nginx's *fast* shutdown (connections cut); SIGQUIT is its graceful one.
///
/// Returns the content tag, building the image unless it exists.
pub async fn nginx_image(engine: &Engine) -> Result<String, BuildError> {
    Ok(forge(engine, &nginx_spec()).await?.tag)
}

/// What the nginx image is made of.
pub(super) fn nginx_spec() -> RootfsImage {
    nginx_rootfs(Runtime::Nginx, LISTEN, "", Vec::new())
}

/// An nginx runtime's image, as the nginx runtimes share it: the host's nginx, the
/// configuration [`nginx_conf`] makes of `listen` and `more_locations`, `/` and the slow
/// download, and `more_files`; nginx in exec form, or under `/bin/sh -c` for a shell-form
/// runtime. Named and labelled after `runtime`.
pub(super) fn nginx_rootfs(
    runtime: Runtime,
    listen: &str,
    more_locations: &str,
    more_files: Vec<GeneratedFile>,
) -> RootfsImage {
    let mut binaries = vec![HostBinary {
        candidates: vec![PathBuf::from("/usr/sbin/nginx")],
        package: "nginx".to_string(),
        installed_as: vec!["/usr/sbin/nginx".to_string()],
        is_static: false,
    }];
    if runtime.shell_form() {
        binaries.push(dash());
    }
    RootfsImage {
        repository: runtime.name().to_string(),
        flavour: None,
        binaries,
        trees: Vec::new(),
        symlinks: Vec::new(),
        files: [
            text("/etc/nginx/nginx.conf", &nginx_conf(listen, more_locations)),
            text("/www/index.html", "<!doctype html><title>nginx</title>ok\n"),
            file("/www/big.bin", big_file(), 0o644),
        ]
        .into_iter()
        .chain(more_files)
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
            entrypoint(runtime, &["/usr/sbin/nginx"]),
        ],
        labels: third_party_label(runtime.name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::{BIG_FILE_LEN, NGINX_RATE_PER_S};

    #[test]
    fn the_slow_download_lasts_about_four_seconds() {
        assert_eq!(super::super::big_file().len(), BIG_FILE_LEN);
        assert_eq!(BIG_FILE_LEN / NGINX_RATE_PER_S, 4);
        assert!(nginx_conf(LISTEN, "").contains("limit_rate 64k;"));
        assert!(nginx_conf(LISTEN, "").contains(&format!("listen {HTTP_PORT};")));
    }
}
