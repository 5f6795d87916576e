//! busybox's httpd applet (Debian package `busybox-static`) as PID 1, with a slow CGI script.

use std::path::PathBuf;

use super::{BUSYBOX_CGI_SLEEP_S, HTTP_PORT, accounts, file, keep_dir, text, third_party_label};
use crate::engine::Engine;
use crate::images::error::BuildError;
use crate::images::rootfs::{HostBinary, RootfsImage, forge};

/// The image of busybox's `httpd` applet (Debian package `busybox-static`) as PID 1, exec form:
/// `GET /` answers at once, `GET /cgi-bin/slow` after [`BUSYBOX_CGI_SLEEP_S`] s. httpd installs
/// no SIGTERM handler, and PID 1 gets no default action, so `docker stop` is ignored until the
/// SIGKILL at the end of the grace period: requests keep being served meanwhile.
pub async fn busybox_httpd_image(engine: &Engine) -> Result<String, BuildError> {
    Ok(forge(engine, &busybox_httpd_spec()).await?.tag)
}

/// What the busybox httpd image is made of.
pub(super) fn busybox_httpd_spec() -> RootfsImage {
    let script = format!(
        "#!/bin/sh\nsleep {BUSYBOX_CGI_SLEEP_S}\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\necho slept\n"
    );
    RootfsImage {
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
        trees: Vec::new(),
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
    }
}
