//! `GET /events`: numbered server-sent events that end after `for`; at a graceful shutdown a
//! `going-away` event and the end of the stream; in abrupt mode a cut.

mod common;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::{DEADLINE, Server, code, connect, get};
use nix::sys::signal::Signal;

/// One server-sent event, as its fields arrived.
#[derive(Debug, Default, PartialEq, Eq)]
struct Event {
    id: Option<String>,
    event: Option<String>,
    data: String,
}

/// How the body of an event stream ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// The last chunk (size 0) arrived: the stream was ended on purpose.
    Complete,
    /// The connection ended (EOF or reset) without it: the stream was cut.
    Cut,
}

/// An event stream read over HTTP/1.1 (a chunked body), event by event.
struct Events {
    reader: BufReader<TcpStream>,
    text: String,
    end: Option<End>,
}

impl Events {
    /// Sends `GET path` and reads the response head, which must be `200` with text/event-stream.
    fn open(addr: SocketAddr, path: &str) -> Self {
        let mut stream = connect(addr).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: test\r\nx-request-id: ev-1\r\n\r\n"
        )
        .unwrap();
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        while !head.ends_with("\r\n\r\n") {
            assert_ne!(reader.read_line(&mut head).unwrap(), 0, "no head: {head}");
        }
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let lower = head.to_ascii_lowercase();
        assert!(lower.contains("content-type: text/event-stream"), "{head}");
        assert!(lower.contains("transfer-encoding: chunked"), "{head}");
        Self {
            reader,
            text: String::new(),
            end: None,
        }
    }

    /// The next event, or `None` once the body has ended (see [`Events::end`]).
    fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(at) = self.text.find("\n\n") {
                let block: String = self.text.drain(..at + 2).collect();
                let mut event = Event::default();
                for line in block.lines() {
                    match line.split_once(": ") {
                        Some(("id", id)) => event.id = Some(id.to_string()),
                        Some(("event", name)) => event.event = Some(name.to_string()),
                        Some(("data", data)) => event.data = data.to_string(),
                        _ => {}
                    }
                }
                return Some(event);
            }
            if self.end.is_some() {
                return None;
            }
            match self.chunk() {
                Ok(Some(text)) => self.text.push_str(&text),
                Ok(None) => self.end = Some(End::Complete),
                Err(_) => self.end = Some(End::Cut),
            }
        }
    }

    /// One chunk of the body; `None` for the last chunk.
    fn chunk(&mut self) -> io::Result<Option<String>> {
        let mut size = String::new();
        if self.reader.read_line(&mut size)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let size = usize::from_str_radix(size.trim(), 16)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let mut data = vec![0u8; size + 2];
        self.reader.read_exact(&mut data)?;
        if size == 0 {
            return Ok(None);
        }
        data.truncate(size);
        Ok(Some(String::from_utf8(data).expect("utf-8 events")))
    }

    /// All the events left, and how the body ended.
    fn rest(mut self) -> (Vec<Event>, End, BufReader<TcpStream>) {
        let mut events = Vec::new();
        while let Some(event) = self.next() {
            events.push(event);
        }
        (events, self.end.expect("ended"), self.reader)
    }
}

fn numbered(number: u64) -> Event {
    Event {
        id: Some(number.to_string()),
        event: None,
        data: number.to_string(),
    }
}

#[test]
fn events_are_numbered_and_the_stream_ends_after_for() {
    let mut server = Server::start(&[]);
    let started = Instant::now();
    let events = Events::open(server.addr, "/events?every=20ms&for=100ms");
    let (events, end, _) = events.rest();
    assert!(started.elapsed() >= Duration::from_millis(100));
    // Events at 0, 20, 40, 60 and 80 ms; the stream ends at 100 ms.
    assert_eq!(events, (1..=5).map(numbered).collect::<Vec<_>>());
    assert_eq!(end, End::Complete);
    server.expect_line("Stream opened... sse #1 /events?every=20ms&for=100ms id=ev-1");
    server.expect_line("Stream closed... sse #1 completed, 5 message(s) sent");
    server.signal(Signal::SIGTERM);
    assert_eq!(code(server.wait_exit(DEADLINE)), 0);
}

#[test]
fn graceful_sends_a_going_away_event_then_ends_the_stream() {
    let mut server = Server::start(&[]);
    let mut events = Events::open(server.addr, "/events?every=50ms&for=10s");
    assert_eq!(events.next(), Some(numbered(1)));

    let signalled = Instant::now();
    server.signal(Signal::SIGTERM);
    let (rest, end, mut reader) = events.rest();
    let (goodbye, before) = rest.split_last().expect("no going-away event");
    assert_eq!(
        goodbye,
        &Event {
            id: None,
            event: Some("going-away".into()),
            data: "server shutting down".into(),
        }
    );
    // Whatever came before it is numbered on from 2.
    assert_eq!(
        before,
        (2..2 + before.len() as u64)
            .map(numbered)
            .collect::<Vec<_>>()
    );
    // The body ended with its last chunk, and then the connection closed.
    assert_eq!(end, End::Complete);
    assert_eq!(reader.read(&mut [0; 1]).unwrap(), 0, "connection left open");

    assert_eq!(code(server.wait_exit(DEADLINE)), 0);
    assert!(signalled.elapsed() < Duration::from_secs(1));
    let closed = server.expect_line("Stream closed... sse #1 going-away, ");
    assert!(
        closed.ends_with(&format!("{} message(s) sent", 1 + before.len())),
        "{closed}"
    );
    server.expect_line("Drained: 1 request(s) answered");
}

#[test]
fn abrupt_cuts_the_event_stream() {
    let mut server = Server::start(&["--mode", "abrupt"]);
    let mut events = Events::open(server.addr, "/events?every=50ms&for=10s");
    assert_eq!(events.next(), Some(numbered(1)));

    server.signal(Signal::SIGTERM);
    assert_eq!(code(server.wait_exit(Duration::from_secs(1))), 2);
    let (rest, end, _) = events.rest();
    assert_eq!(end, End::Cut);
    assert!(rest.iter().all(|e| e.event.is_none()), "{rest:?}");
    assert!(!server.log().contains("Stream closed"));
}

#[test]
fn bad_every_or_for_is_refused() {
    let mut server = Server::start(&[]);
    for query in ["every=0", "every=soon", "for=11m", "every=-1", "for=0ms"] {
        let reply = get(server.addr, &format!("/events?{query}")).unwrap();
        assert_eq!(reply.status, 400, "{query}");
        let reason = String::from_utf8(reply.body).unwrap();
        assert!(
            reason.ends_with('\n') && reason.lines().count() == 1,
            "{reason:?}"
        );
    }
    assert!(!server.log().contains("Stream opened"));
    server.signal(Signal::SIGTERM);
    assert_eq!(code(server.wait_exit(DEADLINE)), 0);
}
