//! The HTTP/2 frames a server sends, read off the wire beside the client library: the h2 crate
//! acts on GOAWAY frames but does not show them, and the two-step GOAWAY is what a graceful
//! HTTP/2 shutdown is judged by.
//!
//! [`FrameReader`] parses frame headers (RFC 9113 §4.1: 24-bit length, type, flags, 31-bit
//! stream id) from bytes in whatever pieces they arrive, keeping the payload of the few frames
//! worth decoding; [`Tap`] wraps a connection and feeds it every byte the client reads.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tokio::time::Instant;

use super::observation::Goaway;

/// Frame type GOAWAY (RFC 9113 §6.8).
pub const GOAWAY: u8 = 0x7;
/// Frame type RST_STREAM (RFC 9113 §6.4).
pub const RST_STREAM: u8 = 0x3;
/// Frame type PING (RFC 9113 §6.7).
pub const PING: u8 = 0x6;

/// The ACK flag of a PING frame.
const PING_ACK: u8 = 0x1;

/// The size of a frame header.
const HEADER_LEN: usize = 9;
/// How much of a kept payload is kept: a GOAWAY's ids and the start of its debug data.
const KEPT_PAYLOAD: usize = 8 + 256;

/// One frame's header, and the start of its payload for GOAWAY, RST_STREAM and PING.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The payload's length, as the header says.
    pub length: u32,
    /// The frame type.
    pub kind: u8,
    /// The flags.
    pub flags: u8,
    /// The stream id (the reserved bit cleared).
    pub stream_id: u32,
    /// The first bytes of the payload (at most 264) for GOAWAY, RST_STREAM and PING; empty
    /// for the others.
    pub payload: Vec<u8>,
}

/// A GOAWAY's fields, without its time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoawayFields {
    /// The last stream id (the reserved bit cleared).
    pub last_stream_id: u32,
    /// The error code.
    pub error_code: u32,
    /// The debug data kept (lossy text).
    pub debug: String,
}

impl Frame {
    /// The GOAWAY's fields, if this is a GOAWAY long enough to have them.
    pub fn goaway(&self) -> Option<GoawayFields> {
        if self.kind != GOAWAY {
            return None;
        }
        let last = self.payload.get(0..4)?;
        let code = self.payload.get(4..8)?;
        Some(GoawayFields {
            last_stream_id: be32(last) & 0x7fff_ffff,
            error_code: be32(code),
            debug: String::from_utf8_lossy(self.payload.get(8..).unwrap_or_default()).into_owned(),
        })
    }

    /// The RST_STREAM's error code, if this is one long enough to have it.
    pub fn reset_code(&self) -> Option<u32> {
        (self.kind == RST_STREAM)
            .then(|| self.payload.get(0..4).map(be32))
            .flatten()
    }
}

/// A big-endian u32 from exactly four bytes.
fn be32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0, |n, b| (n << 8) | u32::from(*b))
}

/// Parses frames from a byte stream fed in pieces of any size.
#[derive(Debug, Default)]
pub struct FrameReader {
    header: Vec<u8>,
    /// The frame whose payload is being read, and how much of it is still to come.
    current: Option<(Frame, u32)>,
}

impl FrameReader {
    /// A reader at the start of the server's side of a connection (its preface is a SETTINGS
    /// frame like any other).
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds `bytes`, returning the frames they complete, in order.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Vec<Frame> {
        let mut frames = Vec::new();
        while !bytes.is_empty() {
            match &mut self.current {
                None => {
                    let wanted = HEADER_LEN - self.header.len();
                    let take = wanted.min(bytes.len());
                    self.header.extend_from_slice(&bytes[..take]);
                    bytes = &bytes[take..];
                    if self.header.len() == HEADER_LEN {
                        let frame = header(&self.header);
                        self.header.clear();
                        let length = frame.length;
                        if length == 0 {
                            frames.push(frame);
                        } else {
                            self.current = Some((frame, length));
                        }
                    }
                }
                Some((frame, remaining)) => {
                    let take = usize::try_from(*remaining)
                        .unwrap_or(usize::MAX)
                        .min(bytes.len());
                    let keep = matches!(frame.kind, GOAWAY | RST_STREAM | PING);
                    if keep {
                        let room = KEPT_PAYLOAD.saturating_sub(frame.payload.len());
                        frame.payload.extend_from_slice(&bytes[..take.min(room)]);
                    }
                    bytes = &bytes[take..];
                    // `take` is at most `remaining`, a u32.
                    *remaining -= u32::try_from(take).unwrap_or(*remaining);
                    if *remaining == 0 {
                        if let Some((frame, _)) = self.current.take() {
                            frames.push(frame);
                        }
                    }
                }
            }
        }
        frames
    }
}

/// A frame header from exactly nine bytes.
fn header(bytes: &[u8]) -> Frame {
    Frame {
        length: be32(&[0, bytes[0], bytes[1], bytes[2]]),
        kind: bytes[3],
        flags: bytes[4],
        stream_id: be32(&bytes[5..9]) & 0x7fff_ffff,
        payload: Vec::new(),
    }
}

/// The frames a tapped connection has read, with the time each completed.
#[derive(Debug, Clone, Default)]
pub struct TapLog {
    inner: Arc<Mutex<TapState>>,
    /// GOAWAY frames and ended connections counted, shared by the logs of one client's
    /// connections, so a caller can wait for them.
    counted: Arc<watch::Sender<Counts>>,
}

/// What the logs of one client's connections have counted together.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    goaways: usize,
    ended: usize,
}

#[derive(Debug, Default)]
struct TapState {
    reader: FrameReader,
    goaways: Vec<Goaway>,
    resets: Vec<(u32, u32)>,
    pings: Vec<Duration>,
    frames: usize,
    /// When the connection ended (end of file, a failed read, or dropped by the client), first.
    closed: Option<Duration>,
}

impl TapLog {
    /// A log for another connection of the same client: its GOAWAY frames are counted with
    /// this one's.
    pub fn sibling(&self) -> TapLog {
        TapLog {
            inner: Arc::default(),
            counted: self.counted.clone(),
        }
    }

    /// Waits until this log and its siblings have read `count` GOAWAY frames in all.
    pub async fn until_goaways(&self, count: usize) {
        let mut counted = self.counted.subscribe();
        // The sender lives as long as `self`: the wait ends only with the count.
        let _ = counted.wait_for(|n| n.goaways >= count).await;
    }

    /// Waits until `count` connections of this log and its siblings have ended.
    pub async fn until_ended(&self, count: usize) {
        let mut counted = self.counted.subscribe();
        let _ = counted.wait_for(|n| n.ended >= count).await;
    }

    /// How many GOAWAY frames this log and its siblings have read in all.
    pub fn goaways_counted(&self) -> usize {
        self.counted.borrow().goaways
    }

    /// The GOAWAY frames read so far, in order.
    pub fn goaways(&self) -> Vec<Goaway> {
        self.lock().goaways.clone()
    }

    /// When each PING the server sent (not an answer to the client's) arrived, in order: a
    /// graceful server sends one between its two GOAWAY frames to time the second.
    pub fn pings(&self) -> Vec<Duration> {
        self.lock().pings.clone()
    }

    /// The RST_STREAM frames read so far: (stream id, error code), in order.
    pub fn resets(&self) -> Vec<(u32, u32)> {
        self.lock().resets.clone()
    }

    /// When the connection ended, if it has: the server's end of file, a failed read, or the
    /// client letting it go, whichever came first.
    pub fn closed(&self) -> Option<Duration> {
        self.lock().closed
    }

    /// How many frames have been read so far.
    pub fn frames(&self) -> usize {
        self.lock().frames
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TapState> {
        // A panic while holding the lock leaves plain data behind: still worth reading.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn ended(&self, at: Duration) {
        let first = {
            let mut state = self.lock();
            let first = state.closed.is_none();
            state.closed.get_or_insert(at);
            first
        };
        if first {
            self.counted.send_modify(|n| n.ended += 1);
        }
    }

    fn feed(&self, bytes: &[u8], at: Duration) {
        let mut state = self.lock();
        let frames = state.reader.feed(bytes);
        state.frames += frames.len();
        for frame in frames {
            if let Some(fields) = frame.goaway() {
                self.counted.send_modify(|n| n.goaways += 1);
                state.goaways.push(Goaway {
                    at,
                    last_stream_id: fields.last_stream_id,
                    error_code: fields.error_code,
                    debug: fields.debug,
                });
            }
            if frame.kind == PING && frame.flags & PING_ACK == 0 {
                state.pings.push(at);
            }
            if let Some(code) = frame.reset_code() {
                state.resets.push((frame.stream_id, code));
            }
        }
    }
}

/// A connection whose incoming bytes are also parsed as HTTP/2 frames into a [`TapLog`].
#[derive(Debug)]
pub struct Tap<S> {
    inner: S,
    start: Instant,
    log: TapLog,
}

impl<S> Tap<S> {
    /// Taps `inner`, timing frames from `start`; frames go to `log`.
    pub fn new(inner: S, start: Instant, log: TapLog) -> Self {
        Self { inner, start, log }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let room = buf.remaining();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let at = || Instant::now().saturating_duration_since(self.start);
        match &polled {
            Poll::Ready(Ok(())) => {
                let new = &buf.filled()[before..];
                if !new.is_empty() {
                    self.log.feed(new, at());
                } else if room > 0 {
                    // Nothing read into room for something: end of file.
                    self.log.ended(at());
                }
            }
            Poll::Ready(Err(_)) => self.log.ended(at()),
            Poll::Pending => {}
        }
        polled
    }
}

impl<S> Drop for Tap<S> {
    fn drop(&mut self) {
        // The client let the connection go before reading its end (an h2 client closes a
        // connection itself once a GOAWAY has arrived and its streams are done).
        self.log
            .ended(Instant::now().saturating_duration_since(self.start));
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// A frame on the wire.
    fn encode(kind: u8, flags: u8, stream_id: u32, payload: &[u8]) -> Vec<u8> {
        let length = u32::try_from(payload.len()).unwrap();
        let mut bytes = length.to_be_bytes()[1..].to_vec();
        bytes.extend([kind, flags]);
        bytes.extend(stream_id.to_be_bytes());
        bytes.extend(payload);
        bytes
    }

    fn goaway(last: u32, code: u32, debug: &[u8]) -> Vec<u8> {
        let mut payload = last.to_be_bytes().to_vec();
        payload.extend(code.to_be_bytes());
        payload.extend(debug);
        encode(GOAWAY, 0, 0, &payload)
    }

    #[test]
    fn a_two_step_goaway_is_decoded() {
        let mut wire = encode(0x4, 0, 0, &[0, 3, 0, 0, 0, 100]); // SETTINGS
        wire.extend(goaway(0x7fff_ffff, 0, b""));
        wire.extend(encode(PING, 0, 0, &[1, 2, 3, 4, 5, 6, 7, 8]));
        wire.extend(goaway(3, 0, b"bye"));
        wire.extend(encode(RST_STREAM, 0, 5, &7u32.to_be_bytes()));
        let frames = FrameReader::new().feed(&wire);
        let kinds: Vec<u8> = frames.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, [0x4, GOAWAY, PING, GOAWAY, RST_STREAM]);
        let goaways: Vec<GoawayFields> = frames.iter().filter_map(Frame::goaway).collect();
        assert_eq!(goaways[0].last_stream_id, 0x7fff_ffff);
        assert_eq!(
            goaways[1],
            GoawayFields {
                last_stream_id: 3,
                error_code: 0,
                debug: "bye".to_string()
            }
        );
        assert_eq!(frames[4].reset_code(), Some(7));
        assert_eq!(frames[4].stream_id, 5);
        assert!(
            frames[0].payload.is_empty(),
            "a SETTINGS payload is not kept"
        );
    }

    #[test]
    fn the_reserved_bits_are_cleared_and_short_payloads_decode_to_nothing() {
        let frames = FrameReader::new().feed(&encode(GOAWAY, 0, 0x8000_0001, &[0xff; 3]));
        assert_eq!(frames[0].stream_id, 1);
        assert_eq!(frames[0].goaway(), None);
        let frames = FrameReader::new().feed(&goaway(0xffff_ffff, 2, b""));
        assert_eq!(frames[0].goaway().unwrap().last_stream_id, 0x7fff_ffff);
    }

    #[test]
    fn a_long_debug_payload_is_kept_in_part() {
        let frames = FrameReader::new().feed(&goaway(1, 0, &[b'x'; 10_000]));
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].length, 10_008);
        assert_eq!(frames[0].goaway().unwrap().debug.len(), 256);
    }

    #[tokio::test]
    async fn a_tap_logs_the_goaways_it_reads_and_the_end_of_file() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let (mut server, client) = tokio::io::duplex(64);
        let log = TapLog::default();
        let mut tap = Tap::new(client, Instant::now(), log.clone());
        let mut wire = goaway(0x7fff_ffff, 0, b"");
        wire.extend(goaway(1, 0, b""));
        let writer = tokio::spawn(async move {
            // In pieces smaller than a frame.
            for piece in wire.chunks(5) {
                server.write_all(piece).await.unwrap();
            }
        });
        let mut read = Vec::new();
        tap.read_to_end(&mut read).await.unwrap();
        writer.await.unwrap();
        let ids: Vec<u32> = log.goaways().iter().map(|g| g.last_stream_id).collect();
        assert_eq!(ids, [0x7fff_ffff, 1]);
        assert_eq!(log.goaways_counted(), 2);
        assert_eq!(read.len(), 34, "the client reads every byte");
        assert!(log.closed().is_some());
        // A sibling counts with it.
        let sibling = log.sibling();
        sibling.feed(&goaway(0, 2, b""), Duration::ZERO);
        assert_eq!(log.goaways_counted(), 3);
        assert_eq!(log.goaways().len(), 2);
    }

    /// Frames of any kind, with short payloads.
    fn wire() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            (
                0u8..10,
                any::<u8>(),
                any::<u32>(),
                prop::collection::vec(any::<u8>(), 0..300),
            ),
            0..12,
        )
        .prop_map(|frames| {
            frames
                .iter()
                .flat_map(|(kind, flags, id, payload)| encode(*kind, *flags, *id, payload))
                .collect()
        })
    }

    proptest! {
        #[test]
        fn any_split_gives_the_same_frames(
            bytes in wire(),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
        ) {
            let whole = FrameReader::new().feed(&bytes);
            let mut at: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
            at.sort_unstable();
            let mut reader = FrameReader::new();
            let mut pieces = Vec::new();
            let mut from = 0;
            for to in at.into_iter().chain([bytes.len()]) {
                pieces.extend(reader.feed(&bytes[from..to]));
                from = to;
            }
            prop_assert_eq!(pieces, whole);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
            let frames = FrameReader::new().feed(&bytes);
            for frame in frames {
                let _ = frame.goaway();
                let _ = frame.reset_code();
            }
        }
    }
}
