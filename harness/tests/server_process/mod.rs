//! graceful-server as a host process for the protocol tests: built with cargo (debug, beside the
//! test binary), started on a free loopback port, its log followed line by line so a test can
//! wait for facts, and signalled with real signals.

#![allow(dead_code)] // each test file uses a different part

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use server_contract::LogLine;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// How long any single wait of a test may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// The server binary, built once per test process with `cargo build -p graceful-server` in the
/// profile of the tests themselves (its target directory is the test binary's).
pub fn server_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("the test binary's path");
            // target/<profile>/deps/<test> -> target/<profile>
            let profile_dir = exe
                .parent()
                .and_then(|deps| deps.parent())
                .expect("the test binary lives in target/<profile>/deps")
                .to_path_buf();
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let mut build = std::process::Command::new(cargo);
            build.current_dir(env!("CARGO_MANIFEST_DIR")).args([
                "build",
                "--quiet",
                "-p",
                "graceful-server",
                "--bin",
                "server",
            ]);
            if profile_dir.ends_with("release") {
                build.arg("--release");
            }
            if let Some(target_dir) = profile_dir.parent() {
                build.arg("--target-dir").arg(target_dir);
            }
            let status = build.status().expect("run cargo build -p graceful-server");
            assert!(status.success(), "cargo build -p graceful-server failed");
            profile_dir.join("server")
        })
        .clone()
}

/// A running server process.
pub struct Server {
    /// The address its Start line named.
    pub addr: std::net::SocketAddr,
    child: Child,
    pid: Pid,
    lines: mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
}

impl Server {
    /// Starts the server on 127.0.0.1 (a free port) with `args` and waits for its Start line.
    pub async fn start(args: &[&str]) -> Server {
        let mut child = Command::new(server_binary())
            .args(["--listen", "127.0.0.1:0", "--log-format", "text"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the server");
        let pid = Pid::from_raw(i32::try_from(child.id().expect("its pid")).expect("a pid"));
        let stdout = child.stdout.take().expect("its standard output");
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
            addr: "127.0.0.1:0".parse().expect("an address"),
            child,
            pid,
            lines,
            seen: Vec::new(),
        };
        let start = server.expect_line("Start").await;
        server.addr = match LogLine::parse(&start) {
            Some(LogLine::Start { addr, .. }) => addr,
            _ => panic!("not a Start line: {start}"),
        };
        server
    }

    /// Waits for a log line containing `needle` (logged before or after this call), failing
    /// the test with the log so far if none comes within [`DEADLINE`].
    pub async fn expect_line(&mut self, needle: &str) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        let found = tokio::time::timeout(DEADLINE, async {
            while let Some(line) = self.lines.recv().await {
                self.seen.push(line.clone());
                if line.contains(needle) {
                    return Some(line);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(line)) => line,
            _ => panic!(
                "no log line with {needle:?} within {DEADLINE:?}; log:\n{}",
                self.seen.join("\n")
            ),
        }
    }

    /// Every line logged so far; after [`Server::exit_code`], the whole log.
    pub async fn log(&mut self) -> String {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        self.seen.join("\n")
    }

    /// Sends `signal` to the server.
    pub fn signal(&self, signal: Signal) {
        kill(self.pid, signal).expect("send the signal");
    }

    /// Waits for the server to exit within [`DEADLINE`] and returns its exit code.
    pub async fn exit_code(&mut self) -> i32 {
        let status: ExitStatus = tokio::time::timeout(DEADLINE, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the server still runs after {DEADLINE:?}"))
            .expect("wait for the server");
        // The log ends when the process does: read its last lines.
        let _ = tokio::time::timeout(DEADLINE, async {
            while let Some(line) = self.lines.recv().await {
                self.seen.push(line);
            }
        })
        .await;
        status
            .code()
            .unwrap_or_else(|| panic!("the server died of a signal: {status:?}"))
    }
}
