//! A TCP proxy between a client and its server that the test can break
//! the way networks break: cut (the sockets close, as a dropped Wi-Fi
//! does) or stalled (the sockets stay open but no byte passes, as a dead
//! NAT mapping does, which only a timeout notices).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

pub struct Proxy {
    pub port: u16,
    cut: tokio::sync::watch::Sender<u64>,
    /// Bumped by each stall: a connection opened before the newest stall
    /// passes nothing; newer ones work.
    stalls: Arc<AtomicU64>,
}

impl Proxy {
    pub async fn start(target: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (cut, cut_rx) = tokio::sync::watch::channel(0u64);
        let stalls = Arc::new(AtomicU64::new(0));
        let stall = stalls.clone();
        tokio::spawn(async move {
            let mut tasks = JoinSet::new();
            let mut cut_rx = cut_rx;
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((inbound, _)) = accepted else { return };
                        let (stall, born) = (stall.clone(), stall.load(Ordering::SeqCst));
                        tasks.spawn(async move {
                            let Ok(outbound) = TcpStream::connect(("127.0.0.1", target)).await else {
                                return;
                            };
                            pipe(inbound, outbound, stall, born).await;
                        });
                    }
                    changed = cut_rx.changed() => {
                        if changed.is_err() { return; }
                        // Dropping the sockets mid-stream, as a dead link does.
                        tasks.abort_all();
                    }
                }
            }
        });
        Self { port, cut, stalls }
    }

    /// Closes every connection open now.
    pub fn cut(&self) {
        self.cut.send_modify(|n| *n += 1);
    }

    /// Freezes every connection open now: nothing passes, nothing closes.
    pub fn stall(&self) {
        self.stalls.fetch_add(1, Ordering::SeqCst);
    }
}

/// Copies both ways until either side closes; once a stall came after
/// the connection opened, bytes read are held back (never delivered), as
/// a black hole would.
async fn pipe(a: TcpStream, b: TcpStream, stalls: Arc<AtomicU64>, born: u64) {
    let (ar, aw) = a.into_split();
    let (br, bw) = b.into_split();
    tokio::select! {
        () = copy(ar, bw, &stalls, born) => {}
        () = copy(br, aw, &stalls, born) => {}
    }
}

async fn copy(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    stalls: &AtomicU64,
    born: u64,
) {
    let mut buf = vec![0u8; 16384];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let dead = stalls.load(Ordering::SeqCst) > born;
        if !dead && to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
