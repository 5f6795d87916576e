//! Byte streams under a connection: one that notes whether the client opened with HTTP/2's
//! connection preface, and one that hands out bytes read ahead before the rest (for h2c
//! upgrades, whose first frames the server reads and completes itself).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::activity::Activity;

/// What an HTTP/2 client with prior knowledge sends first (RFC 9113, section 3.4).
pub const H2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// A client's byte stream that tells its connection's [`Activity`] when the client opened with
/// the HTTP/2 preface, as hyper-util's automatic builder decides: HTTP/2 once the 24 bytes have
/// matched, HTTP/1.1 at the first byte that does not.
///
/// hyper-util's connection does not say which protocol it chose, and the server needs to know:
/// an HTTP/2 connection is told to go away with GOAWAY frames, which it logs. Once decided, a
/// read costs one more branch; writes are passed straight through.
#[derive(Debug)]
pub struct Sniff<T> {
    inner: T,
    /// Bytes of the preface matched so far; `None` once decided.
    matched: Option<usize>,
    activity: Activity,
}

impl<T> Sniff<T> {
    /// Watches the first bytes read from `inner` for `activity`'s connection.
    pub fn new(inner: T, activity: Activity) -> Self {
        Self {
            inner,
            matched: Some(0),
            activity,
        }
    }

    fn look(&mut self, read: &[u8]) {
        let Some(matched) = self.matched else { return };
        if read.is_empty() {
            // End of file before a decision: not HTTP/2.
            self.matched = None;
            return;
        }
        let want = &H2_PREFACE[matched..];
        let len = read.len().min(want.len());
        if read[..len] != want[..len] {
            self.matched = None;
        } else if matched + len == H2_PREFACE.len() {
            self.matched = None;
            self.activity.mark_h2();
        } else {
            self.matched = Some(matched + len);
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Sniff<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.matched.is_none() {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            let filled = buf.filled();
            // Copied out of the borrow of `buf`; at most 24 bytes, once per connection.
            let mut seen = [0u8; 24];
            let len = (filled.len() - before).min(seen.len());
            seen[..len].copy_from_slice(&filled[before..before + len]);
            this.look(&seen[..len]);
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Sniff<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    // Delegated so hyper keeps writing a response's head and body in one system call.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// A byte stream that first hands out `ahead` (bytes the server read, or made, before the
/// protocol's own reader took over), then reads from `inner`.
#[derive(Debug)]
pub struct ReadAhead<T> {
    ahead: Vec<u8>,
    at: usize,
    inner: T,
}

impl<T> ReadAhead<T> {
    /// Reads `ahead` first, then `inner`.
    pub fn new(ahead: Vec<u8>, inner: T) -> Self {
        Self {
            ahead,
            at: 0,
            inner,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ReadAhead<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.at < this.ahead.len() {
            let len = buf.remaining().min(this.ahead.len() - this.at);
            buf.put_slice(&this.ahead[this.at..this.at + len]);
            this.at += len;
            if this.at == this.ahead.len() {
                this.ahead = Vec::new();
                this.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ReadAhead<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keep_alive::ShuttingDown;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn activity() -> Activity {
        Activity::new(ShuttingDown::default(), "127.0.0.1:1".parse().unwrap())
    }

    /// Feeds `chunks` through a Sniff, one read each, and says whether it decided HTTP/2.
    async fn sniffed(chunks: &[&[u8]]) -> bool {
        let (mut client, server) = tokio::io::duplex(64);
        let activity = activity();
        let mut sniff = Sniff::new(server, activity.clone());
        for chunk in chunks {
            client.write_all(chunk).await.unwrap();
            let mut buf = vec![0; chunk.len()];
            sniff.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, chunk, "bytes are passed on unchanged");
        }
        activity.is_h2()
    }

    #[tokio::test]
    async fn the_preface_in_pieces_is_http2() {
        assert!(sniffed(&[b"P", b"RI * HTTP/2.0\r\n", b"\r\nSM\r\n\r\n"]).await);
        assert!(sniffed(&[H2_PREFACE]).await);
    }

    #[tokio::test]
    async fn anything_else_is_not() {
        assert!(!sniffed(&[b"PUT / HTTP/1.1\r\n"]).await);
        assert!(!sniffed(&[b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r", b"X"]).await);
        assert!(!sniffed(&[b"GET / HTTP/1.1\r\n\r\n", H2_PREFACE]).await);
    }

    #[tokio::test]
    async fn read_ahead_bytes_come_first() {
        let (mut client, server) = tokio::io::duplex(64);
        let mut io = ReadAhead::new(b"made ".to_vec(), server);
        client.write_all(b"then read").await.unwrap();
        drop(client);
        let mut all = String::new();
        io.read_to_string(&mut all).await.unwrap();
        assert_eq!(all, "made then read");
    }
}
