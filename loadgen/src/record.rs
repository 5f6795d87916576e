//! What the generator records of each request, and the compact lines it writes them in when it
//! runs as a binary (the harness reads those lines back from the container's output).
//!
//! The lines, one kind each:
//! - `started <µs>`: the stream's start, in microseconds of the wall clock since the Unix epoch;
//!   every record's times count from it.
//! - `records <record> <record> ...`: up to [`RECORDS_PER_LINE`] records, each
//!   `id,due,departed,ended,outcome,status,connection` (times in µs from the start, the outcome
//!   in the vocabulary's words, the connection `n`ew or `r`eused).
//! - `ended <count>`: every request has its record; `count` were written.
//!
//! Several records share a line because every line costs the engine a log entry of its own:
//! at tens of thousands of requests a second the engine's logger would otherwise compete with
//! the generator and the server for the same two cores.

use std::fmt;
use std::io;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The most records on one line: at most 64 bytes each, so a line stays under the 16 KiB past
/// which Docker splits it into pieces.
pub const RECORDS_PER_LINE: usize = 200;

/// What a client saw of one request, in the project's vocabulary: the one definition, which
/// the harness's model re-exports (the generator is the lowest crate that needs the words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// A complete 2xx response with its full body.
    Ok,
    /// A complete response with a non-2xx status.
    HttpError,
    /// Headers arrived, the body was cut short of what was declared.
    Truncated,
    /// The connection was accepted and closed before any response byte (curl 52).
    EmptyReply,
    /// The connection was reset by the peer (curl 56).
    Reset,
    /// The TCP connect was refused (curl 7).
    Refused,
    /// No outcome within the deadline.
    Timeout,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 7] = [
        Outcome::Ok,
        Outcome::HttpError,
        Outcome::Truncated,
        Outcome::EmptyReply,
        Outcome::Reset,
        Outcome::Refused,
        Outcome::Timeout,
    ];

    /// The vocabulary's word.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::HttpError => "http-error",
            Outcome::Truncated => "truncated",
            Outcome::EmptyReply => "empty-reply",
            Outcome::Reset => "reset",
            Outcome::Refused => "refused",
            Outcome::Timeout => "timeout",
        }
    }

    /// The outcome a word names.
    pub fn parse(word: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.name() == word)
    }

    /// Whether the server answered at all (a response started), as opposed to `not-served`.
    pub fn served(self) -> bool {
        matches!(self, Outcome::Ok | Outcome::HttpError | Outcome::Truncated)
    }

    /// Whether this is one of the `not-served` outcomes (empty-reply, reset, refused).
    pub fn not_served(self) -> bool {
        matches!(
            self,
            Outcome::EmptyReply | Outcome::Reset | Outcome::Refused
        )
    }

    /// The outcome of an I/O error, `otherwise` when its kind says nothing of the peer.
    pub fn of_io(error: &io::Error, otherwise: Outcome) -> Outcome {
        match error.kind() {
            io::ErrorKind::ConnectionRefused => Outcome::Refused,
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => Outcome::Reset,
            io::ErrorKind::UnexpectedEof => Outcome::EmptyReply,
            _ => otherwise,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One request of a stream: 20 bytes, so that every request of a long stream can be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// Its id, as sent in the request id header.
    pub id: u32,
    /// When it was due, µs from the stream's start.
    pub due_us: u32,
    /// When it really left (later than due when the generator falls behind).
    pub departed_us: u32,
    /// When its outcome was known.
    pub ended_us: u32,
    /// Its outcome.
    pub outcome: Outcome,
    /// The response's status, 0 when no head arrived.
    pub status: u16,
    /// Whether it went out on a connection an earlier request had used.
    pub reused: bool,
}

impl Record {
    /// Appends the record in the line format: `id,due,departed,ended,outcome,status,n|r`.
    pub fn write(&self, out: &mut String) {
        use fmt::Write as _;
        let _ = write!(
            out,
            "{},{},{},{},{},{},{}",
            self.id,
            self.due_us,
            self.departed_us,
            self.ended_us,
            self.outcome,
            self.status,
            if self.reused { 'r' } else { 'n' }
        );
    }

    /// Reads one record written by [`Record::write`].
    pub fn parse(text: &str) -> Option<Record> {
        let mut fields = text.split(',');
        let mut number = || fields.next()?.parse::<u32>().ok();
        let (id, due_us, departed_us, ended_us) = (number()?, number()?, number()?, number()?);
        let outcome = Outcome::parse(fields.next()?)?;
        let status = fields.next()?.parse().ok()?;
        let reused = match fields.next()? {
            "n" => false,
            "r" => true,
            _ => return None,
        };
        fields.next().is_none().then_some(Record {
            id,
            due_us,
            departed_us,
            ended_us,
            outcome,
            status,
            reused,
        })
    }
}

/// One line of the generator's output, as the harness reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// The stream started at this wall-clock time, µs since the Unix epoch.
    Started(u64),
    /// Records.
    Records(Vec<Record>),
    /// Every request has its record; this many were written.
    Ended(u64),
}

const STARTED: &str = "started ";
const RECORDS: &str = "records ";
const ENDED: &str = "ended ";

impl Line {
    /// Reads a line of the generator's; None for anything else (its errors, on stderr, are
    /// lines too).
    pub fn parse(text: &str) -> Option<Line> {
        if let Some(us) = text.strip_prefix(STARTED) {
            return us.trim().parse().ok().map(Line::Started);
        }
        if let Some(count) = text.strip_prefix(ENDED) {
            return count.trim().parse().ok().map(Line::Ended);
        }
        let records = text.strip_prefix(RECORDS)?;
        records
            .split_ascii_whitespace()
            .map(Record::parse)
            .collect::<Option<Vec<_>>>()
            .map(Line::Records)
    }

    /// The line, without its newline.
    pub fn render(&self) -> String {
        match self {
            Line::Started(us) => format!("{STARTED}{us}"),
            Line::Ended(count) => format!("{ENDED}{count}"),
            Line::Records(records) => {
                let mut out = String::with_capacity(RECORDS.len() + records.len() * 32);
                out.push_str(RECORDS.trim_end());
                for record in records {
                    out.push(' ');
                    record.write(&mut out);
                }
                out
            }
        }
    }
}

/// `duration` in whole µs, saturating.
pub fn micros(duration: Duration) -> u32 {
    u32::try_from(duration.as_micros()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_twenty_bytes() {
        assert_eq!(std::mem::size_of::<Record>(), 20);
    }

    #[test]
    fn lines_read_back_as_written() {
        let records: Vec<Record> = Outcome::ALL
            .into_iter()
            .enumerate()
            .map(|(i, outcome)| Record {
                id: i as u32,
                due_us: 1000 * i as u32,
                departed_us: 1000 * i as u32 + 7,
                ended_us: u32::MAX,
                outcome,
                status: if outcome == Outcome::Ok { 200 } else { 0 },
                reused: i % 2 == 1,
            })
            .collect();
        for line in [
            Line::Started(1_764_936_000_123_456),
            Line::Records(records),
            Line::Ended(7),
        ] {
            assert_eq!(Line::parse(&line.render()), Some(line));
        }
        assert_eq!(Line::parse("error: cannot connect"), None);
        assert_eq!(Line::parse("records 1,2,3"), None);
        assert_eq!(Line::parse("records 1,2,3,4,ok,200,n,extra"), None);
    }

    #[test]
    fn a_full_line_stays_under_dockers_split() {
        let record = Record {
            id: u32::MAX,
            due_us: u32::MAX,
            departed_us: u32::MAX,
            ended_us: u32::MAX,
            outcome: Outcome::EmptyReply,
            status: 65535,
            reused: true,
        };
        let line = Line::Records(vec![record; RECORDS_PER_LINE]).render();
        assert!(line.len() < 16 * 1024, "{} bytes", line.len());
    }
}
