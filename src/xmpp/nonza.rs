//! Nonzas tokio-xmpp 6 cannot send: its stanza stream only takes
//! `<message/>`, `<presence/>` and `<iq/>`, but client state indication
//! (XEP-0352) is a top-level `<active/>` / `<inactive/>` element.
//!
//! [`WithNonzas`] wraps the transport under tokio-xmpp's XML stream and
//! writes a queued nonza only where it cannot split an element: tokio-xmpp
//! serialises whole elements into its buffer and flushes the transport only
//! once the buffer is written, so right after a flush the byte stream is
//! between two top-level elements. Nonzas are not counted by stream
//! management (XEP-0198 §4), so writing them beside its queue is correct.
//!
//! A nonza is written only on the newest stream, and only once that stream
//! is logged in ([`Nonzas::arm`]); a new stream drops what was pending (the
//! session sends its state again when the stream is up).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};

#[derive(Debug, Default)]
struct Shared {
    /// The newest stream's number.
    current: u64,
    /// The newest stream is logged in: nonzas may go out on it.
    armed: bool,
    /// What waits for the next element boundary.
    pending: Vec<u8>,
}

/// The session's handle: queue nonzas for the current stream.
#[derive(Debug, Clone, Default)]
pub struct Nonzas(Arc<Mutex<Shared>>);

impl Nonzas {
    /// Wraps a new stream's transport; it becomes the current stream.
    pub fn wrap<Io>(&self, io: Io) -> WithNonzas<Io> {
        let id = self
            .0
            .lock()
            .map(|mut s| {
                s.current += 1;
                s.armed = false;
                s.pending.clear();
                s.current
            })
            .unwrap_or(0);
        WithNonzas {
            io,
            id,
            shared: self.0.clone(),
            boundary: false,
            out: Vec::new(),
        }
    }

    /// The current stream is logged in.
    pub fn arm(&self) {
        if let Ok(mut s) = self.0.lock() {
            s.armed = true;
        }
    }

    /// Queues `xml` (one complete element) to be written at the next
    /// element boundary, replacing whatever was still waiting: only the
    /// newest state matters. Something must then be sent for the
    /// transport to be written to.
    pub fn replace_pending(&self, xml: &str) {
        if let Ok(mut s) = self.0.lock() {
            s.pending = xml.as_bytes().to_vec();
        }
    }
}

/// A transport that can slip nonzas in between elements.
#[derive(Debug)]
pub struct WithNonzas<Io> {
    io: Io,
    id: u64,
    shared: Arc<Mutex<Shared>>,
    /// Everything written so far is whole elements.
    boundary: bool,
    /// A nonza being written.
    out: Vec<u8>,
}

impl<Io: AsyncWrite + Unpin> WithNonzas<Io> {
    /// Writes a pending nonza, if any and if at a boundary. Ready once
    /// nothing of it is left to write.
    fn poll_inject(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.out.is_empty()
            && self.boundary
            && let Ok(mut s) = self.shared.lock()
            && s.current == self.id
            && s.armed
        {
            self.out = std::mem::take(&mut s.pending);
        }
        while !self.out.is_empty() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.out))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out.drain(..n);
        }
        Poll::Ready(Ok(()))
    }
}

impl<Io: AsyncRead + Unpin> AsyncRead for WithNonzas<Io> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<Io: AsyncBufRead + Unpin> AsyncBufRead for WithNonzas<Io> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Pin::new(&mut self.get_mut().io).poll_fill_buf(cx)
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut self.io).consume(amt);
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for WithNonzas<Io> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        ready!(this.poll_inject(cx))?;
        let n = ready!(Pin::new(&mut this.io).poll_write(cx, buf))?;
        if n > 0 {
            this.boundary = false;
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        // The XML stream flushes only after writing whole elements.
        this.boundary = true;
        ready!(this.poll_inject(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn nonzas_go_out_only_between_elements_on_an_armed_stream() {
        let nonzas = Nonzas::default();
        let (client, mut server) = tokio::io::duplex(1024);
        let mut io = nonzas.wrap(tokio::io::BufStream::new(client));
        nonzas.replace_pending("<inactive xmlns='urn:xmpp:csi:0'/>");
        io.write_all(b"<message/>").await.expect("write");
        io.flush().await.expect("flush");
        // Not logged in yet: nothing slipped in. Once armed, it goes out
        // before the next element.
        nonzas.arm();
        io.write_all(b"<iq>").await.expect("write");
        // Mid-element (no flush since): held until the element is whole.
        nonzas.replace_pending("<active xmlns='urn:xmpp:csi:0'/>");
        io.write_all(b"</iq>").await.expect("write");
        io.flush().await.expect("flush");
        io.write_all(b"<presence/>").await.expect("write");
        io.flush().await.expect("flush");
        drop(io);
        let mut got = String::new();
        server.read_to_string(&mut got).await.expect("read");
        assert_eq!(
            got,
            "<message/><inactive xmlns='urn:xmpp:csi:0'/><iq></iq>\
             <active xmlns='urn:xmpp:csi:0'/><presence/>"
        );
    }

    #[tokio::test]
    async fn a_new_stream_drops_what_was_pending_for_the_old_one() {
        let nonzas = Nonzas::default();
        let (old, _keep) = tokio::io::duplex(64);
        let mut old = nonzas.wrap(old);
        nonzas.arm();
        let (new, mut server) = tokio::io::duplex(1024);
        let mut new = nonzas.wrap(new);
        nonzas.replace_pending("<inactive xmlns='urn:xmpp:csi:0'/>");
        // The old stream is not current: it never writes the nonza.
        old.flush().await.expect("flush");
        // The new one is not logged in yet.
        new.write_all(b"<x/>").await.expect("write");
        new.flush().await.expect("flush");
        nonzas.arm();
        new.write_all(b"<y/>").await.expect("write");
        new.flush().await.expect("flush");
        drop(new);
        let mut got = String::new();
        server.read_to_string(&mut got).await.expect("read");
        assert_eq!(got, "<x/><inactive xmlns='urn:xmpp:csi:0'/><y/>");
    }
}
