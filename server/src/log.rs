//! The server's log: one line per event on stdout, flushed at once. The lines themselves are the
//! contract the harness reads ([`server_contract::LogLine`]).

use std::io::Write;
use std::time::SystemTime;

pub use server_contract::LogLine;
pub use server_contract::log::LogFormat;

/// Writes log lines in one format.
#[derive(Clone, Copy, Debug)]
pub struct Log {
    format: LogFormat,
}

impl Log {
    /// A log writing `format` to stdout.
    pub fn new(format: LogFormat) -> Self {
        Self { format }
    }

    /// Writes one line for `line` and flushes it, so a reader of a pipe sees it at once.
    pub fn emit(&self, line: LogLine) {
        let line = line.render(self.format, SystemTime::now());
        let mut out = std::io::stdout().lock();
        // A closed stdout must not take the server down: the log is a witness, not a duty.
        let _ = out.write_all(line.as_bytes()).and_then(|()| out.flush());
    }
}
