//! Podman's API service for the tests, started when nobody started one: as testcontainers
//! starts what a test needs. With CONTAINER_HOST set (`.ci/run` sets it), that service is used.
//! Otherwise one service per user is started on a socket in the temporary directory, shared by
//! every test (and test binary) of a run, and it ends by itself once nothing has used it for a
//! while (`--time`).

use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long the service lives once nothing uses it: past the end of a run, so that the next
/// test binary of the run finds it, and not much longer.
const IDLE_LIFETIME_S: u32 = 120;
/// How long the service may take to answer after it was started.
const START_DEADLINE: Duration = Duration::from_secs(20);
/// How often its socket is tried while it starts.
const START_POLL: Duration = Duration::from_millis(50);

static ENDPOINT: OnceLock<Result<String, String>> = OnceLock::new();

/// Where Podman's API answers for these tests: CONTAINER_HOST, else a service of the tests' own,
/// started now if it is not running. Without podman, the test fails with one line saying what to
/// install (and no backtrace).
pub fn podman_endpoint() -> String {
    if let Ok(host) = std::env::var("CONTAINER_HOST")
        && !host.is_empty()
    {
        return host;
    }
    match ENDPOINT.get_or_init(start_or_reuse) {
        Ok(endpoint) => endpoint.clone(),
        Err(why) => {
            eprintln!("{why}");
            // Fails the test with the line above alone: the panic hook (and its backtrace) is
            // not run for a resumed unwind.
            std::panic::resume_unwind(Box::new(why.clone()))
        }
    }
}

/// The running service of this user, or a new one.
fn start_or_reuse() -> Result<String, String> {
    // One per user: /proc/self belongs to whoever runs the tests.
    let uid = std::fs::metadata("/proc/self").map_or(0, |m| m.uid());
    let dir = std::env::temp_dir().join(format!("shutdown-harness-podman-{uid}"));
    let socket = dir.join("podman.sock");
    let endpoint = format!("unix://{}", socket.display());
    if answers(&socket) {
        return Ok(endpoint);
    }
    if which_podman().is_none() {
        return Err(
            "the Podman tests need podman: apt-get install podman catatonit (or run .ci/install)"
                .to_string(),
        );
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    let log = std::fs::File::create(dir.join("service.log"))
        .map_err(|e| format!("cannot write {}: {e}", dir.display()))?;
    // With CONTAINER_HOST set, podman itself would turn into a remote client.
    let spawned = Command::new("podman")
        .env_remove("CONTAINER_HOST")
        .args([
            "system",
            "service",
            &format!("--time={IDLE_LIFETIME_S}"),
            &endpoint,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn();
    if let Err(e) = spawned {
        return Err(format!("cannot start podman system service: {e}"));
    }
    // Another test binary may have started one at the same moment: either answers.
    let until = Instant::now() + START_DEADLINE;
    while Instant::now() < until {
        if answers(&socket) {
            return Ok(endpoint);
        }
        std::thread::sleep(START_POLL);
    }
    let said = std::fs::read_to_string(dir.join("service.log")).unwrap_or_default();
    Err(format!(
        "Podman's API service did not answer on {endpoint} within {START_DEADLINE:?}: {}",
        said.lines().last().unwrap_or("it said nothing")
    ))
}

/// Whether an API service answers `_ping` on `socket`.
fn answers(socket: &Path) -> bool {
    let Ok(mut stream) = UnixStream::connect(socket) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /_ping HTTP/1.0\r\nHost: podman\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.") && answer.ends_with("OK")
}

/// podman on PATH, if anywhere.
fn which_podman() -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join("podman"))
        .find(|path| path.exists())
}
