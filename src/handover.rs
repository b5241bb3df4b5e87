//! One window per user: the GUI that starts first opens a door (a Unix
//! socket in Sotto's runtime folder, readable only by the user), and a
//! later `sotto` or `sotto 'xmpp:…'` hands its link through it and exits,
//! while the running one raises its window. A lock beside the socket
//! says who owns it, so two that start at the same moment cannot both
//! think they are first, and a socket left by a crash is taken over.
//!
//! The protocol is one JSON line each way: `{"link": "xmpp:…"}` (or
//! `null` to only raise the window), answered `{"ok": true}`.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::Stream;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

use crate::paths::Paths;

/// How long a second `sotto` waits for the first to answer: it is
/// started by a click and must not hang.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(3);
/// One request is one short line; a longer one is not Sotto's.
const MAX_REQUEST_BYTES: usize = 16 * 1024;
/// The longest socket path the platforms take (sockaddr_un: 108 bytes on
/// Linux, 104 on macOS, the terminating NUL included).
const MAX_SOCKET_PATH: usize = 103;

#[derive(Debug, Error)]
pub enum HandoverError {
    #[error("could not use {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the path of Sotto's socket, {0}, is too long for the system; use a shorter SOTTO_HOME"
    )]
    PathTooLong(PathBuf),
    #[error("the running Sotto did not answer within {} s", ANSWER_TIMEOUT.as_secs())]
    NoAnswer,
    #[error("the running Sotto gave an answer this one does not understand")]
    BadAnswer,
}

/// What one `sotto` asks of the running one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// An `xmpp:` link to open, as given on the command line (checked by
    /// the receiver, which trusts nothing it reads from the socket).
    pub link: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Answer {
    ok: bool,
}

/// Who answers the door.
pub enum Claim {
    /// This process is the first: it owns the door.
    First(Door),
    /// Another Sotto owns it.
    Running(Running),
}

/// The socket where later `sotto`s knock, and the lock that makes it ours.
pub struct Door {
    listener: UnixListener,
    path: PathBuf,
    _lock: File,
}

/// A connection to the Sotto that runs.
pub struct Running {
    stream: UnixStream,
    path: PathBuf,
}

pub fn socket_file(paths: &Paths) -> PathBuf {
    paths.runtime_dir.join("sotto.sock")
}

/// Opens the door, or finds who holds it. `paths` must exist.
pub fn claim(paths: &Paths) -> Result<Claim, HandoverError> {
    let path = socket_file(paths);
    if path.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(HandoverError::PathTooLong(path));
    }
    let lock_path = path.with_extension("sock.lock");
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| HandoverError::Io { path, source }
    };
    let lock = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(io(&lock_path))?;
    // The owner may be between taking the lock and binding: give it a
    // moment before calling it gone.
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    loop {
        match lock.try_lock() {
            Ok(()) => {
                // Ours: whatever socket is there was left by a crash.
                match std::fs::remove_file(&path) {
                    Ok(()) => tracing::info!("took over the socket of a Sotto that ended"),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io(&path)(e)),
                }
                let listener = UnixListener::bind(&path).map_err(io(&path))?;
                return Ok(Claim::First(Door {
                    listener,
                    path,
                    _lock: lock,
                }));
            }
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(io(&lock_path)(e)),
        }
        match UnixStream::connect(&path) {
            Ok(stream) => return Ok(Claim::Running(Running { stream, path })),
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => return Err(HandoverError::NoAnswer),
        }
    }
}

impl Running {
    /// Hands `request` over and waits for the answer.
    pub fn hand_over(mut self, request: &Request) -> Result<(), HandoverError> {
        let io = |source| HandoverError::Io {
            path: self.path.clone(),
            source,
        };
        self.stream
            .set_read_timeout(Some(ANSWER_TIMEOUT))
            .map_err(io)?;
        self.stream
            .set_write_timeout(Some(ANSWER_TIMEOUT))
            .map_err(io)?;
        let mut line = serde_json::to_string(request).map_err(|_| HandoverError::BadAnswer)?;
        line.push('\n');
        self.stream.write_all(line.as_bytes()).map_err(io)?;
        let mut answer = String::new();
        match BufReader::new(&self.stream)
            .take(1024)
            .read_line(&mut answer)
        {
            Ok(0) => return Err(HandoverError::BadAnswer),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(HandoverError::NoAnswer);
            }
            Err(e) => return Err(io(e)),
        }
        match serde_json::from_str::<Answer>(&answer) {
            Ok(Answer { ok: true }) => Ok(()),
            _ => Err(HandoverError::BadAnswer),
        }
    }
}

impl Door {
    /// The requests handed over, for as long as the stream is polled (on
    /// a tokio runtime). A caller that sends garbage, or nothing for
    /// [`ANSWER_TIMEOUT`], is hung up on and logged; the door stays open.
    pub fn requests(self) -> impl Stream<Item = Request> + Send + 'static {
        futures::stream::unfold((self, None), |(door, mut listener)| async move {
            if listener.is_none() {
                let std = match door.listener.try_clone().and_then(|l| {
                    l.set_nonblocking(true)?;
                    Ok(l)
                }) {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!(error = %e, "other Sottos cannot hand links to this one");
                        return None;
                    }
                };
                match tokio::net::UnixListener::from_std(std) {
                    Ok(l) => listener = Some(l),
                    Err(e) => {
                        tracing::warn!(error = %e, "other Sottos cannot hand links to this one");
                        return None;
                    }
                }
            }
            let l = listener.as_ref()?;
            loop {
                let stream = match l.accept().await {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::warn!(error = %e, "a Sotto knocked and could not get in");
                        continue;
                    }
                };
                match tokio::time::timeout(ANSWER_TIMEOUT, answer(stream)).await {
                    Ok(Ok(request)) => return Some((request, (door, listener))),
                    Ok(Err(why)) => tracing::warn!(why, "ignored a hand-over"),
                    Err(_) => tracing::warn!("ignored a hand-over that never came"),
                }
            }
        })
    }
}

async fn answer(stream: tokio::net::UnixStream) -> Result<Request, &'static str> {
    let (read, mut write) = stream.into_split();
    let mut line = Vec::new();
    let mut read = tokio::io::BufReader::new(read).take(MAX_REQUEST_BYTES as u64);
    read.read_until(b'\n', &mut line)
        .await
        .map_err(|_| "the connection failed")?;
    if !line.ends_with(b"\n") {
        return Err("the request was too long or cut short");
    }
    let request: Request = serde_json::from_slice(&line).map_err(|_| "not a Sotto request")?;
    let mut ok = serde_json::to_vec(&Answer { ok: true }).map_err(|_| "unreachable")?;
    ok.push(b'\n');
    write
        .write_all(&ok)
        .await
        .map_err(|_| "the caller went away")?;
    Ok(request)
}

impl Drop for Door {
    fn drop(&mut self) {
        // Best effort: a sandbox may forbid it, and the next first Sotto
        // removes a stale socket anyway.
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    fn home() -> (tempfile::TempDir, Paths) {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = Paths::under(dir.path());
        paths.create().expect("paths");
        (dir, paths)
    }

    fn first(paths: &Paths) -> Door {
        match claim(paths).expect("claim") {
            Claim::First(door) => door,
            Claim::Running(_) => panic!("nobody else runs"),
        }
    }

    fn running(paths: &Paths) -> Running {
        match claim(paths).expect("claim") {
            Claim::Running(r) => r,
            Claim::First(_) => panic!("the door is taken"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_second_one_hands_its_link_over_and_the_door_stays_open() {
        let (_dir, paths) = home();
        let mut requests = Box::pin(first(&paths).requests());
        for link in [Some("xmpp:bob@example.org?message;body=hi"), None] {
            let p = paths.clone();
            let sent = tokio::task::spawn_blocking(move || {
                running(&p).hand_over(&Request {
                    link: link.map(str::to_owned),
                })
            });
            let got = requests.next().await.expect("a request");
            assert_eq!(got.link.as_deref(), link);
            sent.await.expect("join").expect("answered");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn garbage_and_silence_are_hung_up_on_and_the_next_gets_in() {
        let (_dir, paths) = home();
        let mut requests = Box::pin(first(&paths).requests());
        let path = socket_file(&paths);
        let p = paths.clone();
        let sent = tokio::task::spawn_blocking(move || {
            let mut garbage = UnixStream::connect(&path).expect("connect");
            garbage.write_all(b"{\"link\": 5}\n").expect("write");
            let mut long = UnixStream::connect(&path).expect("connect");
            let _ = long.write_all(&vec![b'x'; MAX_REQUEST_BYTES + 10]);
            running(&p).hand_over(&Request { link: None })
        });
        let got = requests.next().await.expect("the good one");
        assert_eq!(got, Request { link: None });
        sent.await.expect("join").expect("answered");
    }

    #[test]
    fn a_socket_left_by_a_crash_is_taken_over() {
        let (_dir, paths) = home();
        // What a killed Sotto leaves: the socket file, and a lock nobody
        // holds any more.
        drop(UnixListener::bind(socket_file(&paths)).expect("bind"));
        std::fs::write(socket_file(&paths).with_extension("sock.lock"), b"").expect("lock");
        assert!(socket_file(&paths).exists());
        let _door = first(&paths);
    }

    #[test]
    fn an_unanswered_door_is_a_clear_error() {
        let (_dir, paths) = home();
        let door = first(&paths);
        // Nobody reads the requests.
        let err = running(&paths)
            .hand_over(&Request { link: None })
            .expect_err("no answer");
        assert!(matches!(err, HandoverError::NoAnswer), "{err}");
        drop(door);
    }
}
