//! Building the static binaries the images are made of: the server every image and process
//! scenario runs, the delaying relay a balancer's path can go through, and the load generator
//! that runs inside a container's network namespace.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use sha2::{Digest, Sha256};
use tokio::process::Command;

use super::error::{BuildError, read_host_file};
use crate::workspace::Workspace;

/// The documented command that builds the static server (run in the workspace root).
///
/// Static because the images are `FROM scratch`; an explicit glibc target because no musl target
/// can be installed on the machines this runs on.
pub const STATIC_BUILD_COMMAND: &str = "RUSTFLAGS=\"-C target-feature=+crt-static\" cargo build --release -p graceful-server -p delay-relay -p load-generator --target x86_64-unknown-linux-gnu --target-dir target/static";

/// The Rust target the static server is built for.
const TARGET: &str = "x86_64-unknown-linux-gnu";
/// The target directory of the static build, kept apart so its flags never churn `target/`.
const TARGET_DIR: &str = "target/static";
/// How many lines of cargo's stderr an error carries.
const STDERR_TAIL_LINES: usize = 20;

/// The static server binary and the digest of its content (part of every image's cache key),
/// and the static relay and load generator built beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerBinary {
    /// Path to `target/static/x86_64-unknown-linux-gnu/release/server`.
    pub path: PathBuf,
    /// Hex digest of the binary's bytes.
    pub digest: String,
    /// Path to `target/static/x86_64-unknown-linux-gnu/release/delay-relay`.
    pub relay: PathBuf,
    /// Path to `target/static/x86_64-unknown-linux-gnu/release/load-generator`.
    pub generator: PathBuf,
}

/// Where [`STATIC_BUILD_COMMAND`] leaves binary `name` in `workspace`.
fn static_path(workspace: &Path, name: &str) -> PathBuf {
    workspace
        .join(TARGET_DIR)
        .join(TARGET)
        .join("release")
        .join(name)
}

/// Builds (or reuses, when up to date) the static server with the documented command.
///
/// Cargo's fingerprinting makes an up-to-date build a cheap no-op, and cargo's own lock on the
/// target directory makes concurrent harness processes safe.
pub async fn build_static_server(workspace: &Workspace) -> Result<ServerBinary, BuildError> {
    run_cargo_build(workspace.root()).await?;
    let path = static_path(workspace.root(), "server");
    let digest = hex::encode(Sha256::digest(read_host_file(&path).await?));
    Ok(ServerBinary {
        path,
        digest,
        relay: static_path(workspace.root(), "delay-relay"),
        generator: static_path(workspace.root(), "load-generator"),
    })
}

/// Runs the build; on failure returns the tail of cargo's stderr.
async fn run_cargo_build(root: &Path) -> Result<(), BuildError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(root)
        .args([
            "build",
            "--release",
            "-p",
            "graceful-server",
            "-p",
            "delay-relay",
            "-p",
            "load-generator",
        ])
        .args(["--target", TARGET, "--target-dir", TARGET_DIR])
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        // Would take precedence over RUSTFLAGS if inherited from an outer cargo.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| build_error(format!("cannot run cargo: {e}")))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(build_error(format!(
        "cargo exited with {}:\n{}",
        output.status,
        tail(&stderr, STDERR_TAIL_LINES)
    )))
}

fn build_error(reason: String) -> BuildError {
    BuildError::Server {
        command: STATIC_BUILD_COMMAND.to_string(),
        reason,
    }
}

/// The last `lines` lines of `text`.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }

    #[test]
    fn the_binary_lives_under_the_static_target_dir() {
        let path = static_path(Path::new("/ws"), "server");
        assert_eq!(
            path,
            Path::new("/ws/target/static/x86_64-unknown-linux-gnu/release/server")
        );
    }
}
