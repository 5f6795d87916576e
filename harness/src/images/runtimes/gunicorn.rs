//! gunicorn (Debian package `gunicorn`) on Debian's `/usr/bin/python3` with sync workers and a
//! small WSGI app with a slow endpoint.

use std::path::PathBuf;

use super::{HTTP_PORT, RuntimeImage, accounts, keep_dir, text, third_party_label};
use crate::images::rootfs::{HostBinary, HostTree, RootfsImage};

/// Debian's Python (not a pyenv or venv one: gunicorn's package is installed for it).
const PYTHON: &str = "/usr/bin/python3.11";
/// Its standard library.
const STDLIB: &str = "/usr/lib/python3.11";
/// Where Debian installs Python packages.
const DIST_PACKAGES: &str = "/usr/lib/python3/dist-packages";

/// The app: `GET /healthz` answers at once, `GET /?delay=1500ms` after that long (`GET /` after
/// the image's delay).
const APP_PY: &str = r#""""A WSGI app with a slow endpoint."""
import re
import time

DEFAULT_DELAY_S = @DELAY_S@


def delay_of(query):
    m = re.search(r"(?:^|&)delay=(\d+)(ms|s)\b", query)
    if not m:
        return DEFAULT_DELAY_S
    return int(m.group(1)) / (1 if m.group(2) == "s" else 1000)


def app(environ, start_response):
    if environ.get("PATH_INFO") != "/healthz":
        time.sleep(delay_of(environ.get("QUERY_STRING", "")))
    body = b"ok\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"#;

/// What the image of gunicorn with `image`'s `--graceful-timeout` is made of: one sync worker,
/// access log to stdout, the arbiter as PID 1 (exec form, as its documentation shows).
pub(super) fn gunicorn_spec(image: &RuntimeImage) -> RootfsImage {
    let app = APP_PY.replace("@DELAY_S@", &format!("{}", image.delay.as_secs_f64()));
    let mut command = vec![
        "/usr/bin/python3".to_string(),
        "-m".to_string(),
        "gunicorn".to_string(),
        format!("--bind=0.0.0.0:{HTTP_PORT}"),
        "--workers=1".to_string(),
        "--worker-class=sync".to_string(),
        "--access-logfile=-".to_string(),
        "--chdir=/app".to_string(),
    ];
    if let Some(timeout) = image.graceful_timeout {
        command.push(format!("--graceful-timeout={}", timeout.as_secs()));
    }
    command.push("app:app".to_string());
    let entrypoint = serde_json::to_string(&command).unwrap_or_default();
    let tree = |host: String, skip: &[&str]| HostTree {
        installed_as: host.clone(),
        host: PathBuf::from(host),
        package: "gunicorn".to_string(),
        skip: skip.iter().map(|s| s.to_string()).collect(),
    };
    RootfsImage {
        repository: "gunicorn".to_string(),
        flavour: Some(match image.graceful_timeout {
            Some(t) => format!("graceful-timeout-{}s", t.as_secs()),
            None => "default".to_string(),
        }),
        binaries: vec![HostBinary {
            candidates: vec![PathBuf::from(PYTHON)],
            package: "python3".to_string(),
            installed_as: vec![PYTHON.to_string()],
            is_static: false,
        }],
        trees: vec![
            // The build tree and the tests are not needed to run (25 MB of libpython.a alone).
            tree(
                STDLIB.to_string(),
                &["config-3.11-x86_64-linux-gnu", "test", "idlelib", "tkinter"],
            ),
            tree(format!("{DIST_PACKAGES}/gunicorn"), &[]),
            tree(format!("{DIST_PACKAGES}/gunicorn-20.1.0.egg-info"), &[]),
            // gunicorn 20.1's util imports pkg_resources (package python3-pkg-resources).
            tree(format!("{DIST_PACKAGES}/pkg_resources"), &[]),
            // glibc loads it at run time when a thread ends, without ldd listing it.
            tree("/lib/x86_64-linux-gnu/libgcc_s.so.1".to_string(), &[]),
        ],
        symlinks: vec![("/usr/bin/python3".to_string(), "python3.11".to_string())],
        files: [text("/app/app.py", &app)]
            .into_iter()
            .chain(accounts())
            .chain(std::iter::once(keep_dir("/tmp")))
            .collect(),
        instructions: vec![
            format!("EXPOSE {HTTP_PORT}"),
            // Python writes its bytecode cache beside read-mostly sources: not worth a layer.
            "ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1".to_string(),
            format!("ENTRYPOINT {entrypoint}"),
        ],
        labels: third_party_label("gunicorn"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_parses_delays_like_graceful_server() {
        let app = APP_PY.replace("@DELAY_S@", "2");
        assert!(app.contains("DEFAULT_DELAY_S = 2\n"));
        assert!(app.contains(r"delay=(\d+)(ms|s)"));
    }
}
