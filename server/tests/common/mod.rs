//! Test helpers: run the `server` binary, follow its log, and talk HTTP/1.1 over plain sockets
//! (HTTP/2 frames in `frames`).

#![allow(dead_code)] // each test file uses a different part

pub mod frames;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How long any single wait in a test may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// A running `server` process.
pub struct Server {
    /// The address it reported in its Start line.
    pub addr: SocketAddr,
    pid: Pid,
    lines: Receiver<String>,
    seen: Vec<String>,
    exit: Receiver<ExitStatus>,
    status: Option<ExitStatus>,
}

impl Server {
    /// Starts the server on a free loopback port with `args` and waits for its Start line.
    pub fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    /// Like [`Server::start`], with extra environment variables.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child: Child = Command::new(env!("CARGO_BIN_EXE_server"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn server");
        let pid = Pid::from_raw(child.id() as i32);
        let stdout = child.stdout.take().unwrap();
        let (line_tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (exit_tx, exit) = mpsc::channel();
        thread::spawn(move || {
            let _ = exit_tx.send(child.wait().expect("wait for server"));
        });
        let mut server = Self {
            addr: "0.0.0.0:0".parse().unwrap(),
            pid,
            lines,
            seen: Vec::new(),
            exit,
            status: None,
        };
        // The Start line is the first thing the server prints, in either log format.
        let start = server.expect_line("");
        server.addr = start_addr(&start);
        server
    }

    /// Waits for a log line containing `needle` (seen before or after this call); None on deadline.
    pub fn wait_for_line(&mut self, needle: &str) -> Option<String> {
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return Some(line.clone());
        }
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return Some(line);
                    }
                }
                Err(_) => return None,
            }
        }
    }

    /// Like [`Server::wait_for_line`], failing the test with the log so far on deadline.
    pub fn expect_line(&mut self, needle: &str) -> String {
        match self.wait_for_line(needle) {
            Some(line) => line,
            None => panic!(
                "no log line with {needle:?} within {DEADLINE:?}; log:\n{}",
                self.log()
            ),
        }
    }

    /// Sends `signal` to the server.
    pub fn signal(&self, signal: Signal) {
        kill(self.pid, signal).expect("send signal");
    }

    /// Waits for the server to exit within `within`, failing the test otherwise.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        match self.exit.recv_timeout(within) {
            Ok(status) => {
                self.status = Some(status);
                // The log ends when the process does: collect its last lines before returning.
                let deadline = Instant::now() + DEADLINE;
                while let Ok(line) = self
                    .lines
                    .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                {
                    self.seen.push(line);
                }
                status
            }
            Err(RecvTimeoutError::Timeout) => panic!(
                "server still running after {within:?}; log:\n{}",
                self.log()
            ),
            Err(RecvTimeoutError::Disconnected) => panic!("lost the server's exit status"),
        }
    }

    /// Every log line received so far, one per line.
    pub fn log(&mut self) -> String {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        self.seen.join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = kill(self.pid, Signal::SIGKILL);
            let _ = self.exit.recv_timeout(DEADLINE);
        }
    }
}

/// The exit code, or a panic naming the signal that ended the process.
pub fn code(status: ExitStatus) -> i32 {
    status
        .code()
        .unwrap_or_else(|| panic!("server died of signal {:?}", status.signal()))
}

fn start_addr(line: &str) -> SocketAddr {
    let json_start = line.find('{');
    let addr = match json_start {
        Some(at) => {
            let value: serde_json::Value = serde_json::from_str(&line[at..]).unwrap();
            value["addr"].as_str().unwrap().to_owned()
        }
        None => {
            let rest = line.split("listening on ").nth(1).unwrap();
            rest.split(' ').next().unwrap().to_owned()
        }
    };
    addr.parse().unwrap()
}

/// A response as read off the wire.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Header lines, lower-cased names.
    pub headers: Vec<(String, String)>,
    /// The body as received: shorter than Content-Length when the transfer was cut.
    pub body: Vec<u8>,
}

impl Reply {
    /// The value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The declared Content-Length.
    pub fn content_length(&self) -> usize {
        self.header("content-length")
            .expect("content-length")
            .parse()
            .unwrap()
    }
}

/// Connects to `addr` with the test deadline on reads and writes.
pub fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, DEADLINE)?;
    stream.set_read_timeout(Some(DEADLINE))?;
    stream.set_write_timeout(Some(DEADLINE))?;
    Ok(stream)
}

/// `GET path` on a new connection; an error when no response head arrives (reset, empty reply).
pub fn get(addr: SocketAddr, path: &str) -> io::Result<Reply> {
    let mut stream = connect(addr)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )?;
    read_reply(&mut stream)
}

/// Reads one response: its head, then the body up to Content-Length or until the peer stops.
pub fn read_reply(stream: &mut TcpStream) -> io::Result<Reply> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "empty reply"));
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).expect("utf-8 head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut reply = Reply {
        status,
        headers,
        body: Vec::new(),
    };
    let length = reply.content_length();
    // A cut transfer ends in EOF or a reset: either way the body is what arrived.
    let _ = stream.take(length as u64).read_to_end(&mut reply.body);
    Ok(reply)
}

/// Sends `GET path` on a background thread; join it for the result.
pub fn get_in_background(addr: SocketAddr, path: &str) -> thread::JoinHandle<io::Result<Reply>> {
    let path = path.to_owned();
    thread::spawn(move || get(addr, &path))
}

/// Sends `GET path` asking to keep the connection (HTTP/1.1's default: no `Connection` header).
pub fn send(stream: &mut TcpStream, path: &str) -> io::Result<()> {
    write!(stream, "GET {path} HTTP/1.1\r\nHost: test\r\n\r\n")
}

/// A connection that has had one request answered and now sits idle, as in a client's pool.
pub fn idle_connection(addr: SocketAddr) -> TcpStream {
    let mut stream = connect(addr).unwrap();
    send(&mut stream, "/healthz").unwrap();
    let reply = read_reply(&mut stream).unwrap();
    assert_eq!(reply.status, 200);
    // Before a shutdown signal nothing tells the client to stop reusing the connection.
    assert_eq!(reply.header("connection"), None);
    stream
}

/// A tokio runtime for the clients of a test whose own thread waits on the server's log.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Runs `future` on `runtime`, failing the test if it takes longer than [`DEADLINE`].
pub fn within_deadline<F: std::future::Future>(
    runtime: &tokio::runtime::Runtime,
    future: F,
) -> F::Output {
    runtime
        .block_on(async { tokio::time::timeout(DEADLINE, future).await })
        .unwrap_or_else(|_| panic!("not done within {DEADLINE:?}"))
}

/// Waits for the server to close `stream`: a read returns end of file.
pub fn expect_closed(stream: &mut TcpStream) {
    let mut rest = Vec::new();
    stream
        .read_to_end(&mut rest)
        .expect("connection not closed within the deadline");
    assert!(rest.is_empty(), "unexpected bytes: {rest:?}");
}
