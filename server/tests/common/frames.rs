//! HTTP/2 frames on the wire, for tests that check what the server sends: a reader and a
//! writer for raw connections, and a byte stream that records the frames a real client reads.

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::sync::mpsc::Sender;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What an HTTP/2 client with prior knowledge sends first.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The largest stream id: the first GOAWAY of a graceful shutdown names it.
pub const MAX_STREAM_ID: u32 = (1 << 31) - 1;

pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const SETTINGS: u8 = 0x4;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;
pub const END_STREAM: u8 = 0x1;
pub const ACK: u8 = 0x1;

/// One frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The last stream id and error code, if this is a GOAWAY.
    pub fn goaway(&self) -> Option<(u32, u32)> {
        if self.kind != GOAWAY || self.payload.len() < 8 {
            return None;
        }
        let word = |at: usize| {
            u32::from_be_bytes([
                self.payload[at],
                self.payload[at + 1],
                self.payload[at + 2],
                self.payload[at + 3],
            ])
        };
        Some((word(0) & MAX_STREAM_ID, word(4)))
    }

    /// Whether this is a PING the receiver must answer.
    pub fn is_ping(&self) -> bool {
        self.kind == PING && self.flags & ACK == 0
    }

    /// Splits the first whole frame off `bytes`, if it holds one.
    fn take(bytes: &mut Vec<u8>) -> Option<Frame> {
        if bytes.len() < 9 {
            return None;
        }
        let length =
            usize::from(bytes[0]) << 16 | usize::from(bytes[1]) << 8 | usize::from(bytes[2]);
        if bytes.len() < 9 + length {
            return None;
        }
        let frame = Frame {
            kind: bytes[3],
            flags: bytes[4],
            stream: u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]) & MAX_STREAM_ID,
            payload: bytes[9..9 + length].to_vec(),
        };
        bytes.drain(..9 + length);
        Some(frame)
    }
}

/// Reads one frame; an error of kind UnexpectedEof at a clean end of the connection.
pub fn read_frame(stream: &mut impl Read) -> io::Result<Frame> {
    let mut head = [0u8; 9];
    stream.read_exact(&mut head)?;
    let length = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
    let mut payload = vec![0u8; length];
    stream.read_exact(&mut payload)?;
    let mut bytes = head.to_vec();
    bytes.extend_from_slice(&payload);
    Ok(Frame::take(&mut bytes).expect("a whole frame"))
}

/// Writes one frame.
pub fn write_frame(
    stream: &mut impl Write,
    kind: u8,
    flags: u8,
    id: u32,
    payload: &[u8],
) -> io::Result<()> {
    let length = payload.len();
    let mut bytes = vec![
        (length >> 16) as u8,
        (length >> 8) as u8,
        length as u8,
        kind,
        flags,
    ];
    bytes.extend_from_slice(&id.to_be_bytes());
    bytes.extend_from_slice(payload);
    stream.write_all(&bytes)
}

/// A client's byte stream that sends every frame it reads from the server to `frames`, in
/// order, so a test can check the frames a real HTTP/2 client received.
pub struct Recorder<T> {
    inner: T,
    bytes: Vec<u8>,
    frames: Sender<Frame>,
}

impl<T> Recorder<T> {
    pub fn new(inner: T, frames: Sender<Frame>) -> Self {
        Self {
            inner,
            bytes: Vec::new(),
            frames,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Recorder<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            this.bytes.extend_from_slice(&buf.filled()[before..]);
            while let Some(frame) = Frame::take(&mut this.bytes) {
                let _ = this.frames.send(frame);
            }
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Recorder<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
