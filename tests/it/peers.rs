//! Someone else's client as a test peer: a slixmpp bot
//! (`tests/peers/peer.py`) driven line by line, which can also send raw
//! bytes a real client never would (hostile input).

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::client::PATIENCE;
use crate::harness::{DOMAIN, XmppServer};

/// The Python that has slixmpp: `SOTTO_TEST_PYTHON`, else the venv
/// `scripts/dev deps` makes.
pub fn python() -> PathBuf {
    std::env::var_os("SOTTO_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/sotto/venv/bin/python"))
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(name)
}

pub struct Peer {
    pub jid: String,
    child: Child,
    stdin: ChildStdin,
    events: mpsc::Receiver<Value>,
    /// Everything seen so far, for failure messages.
    pub seen: Vec<Value>,
}

impl Peer {
    /// Logs `user` in on `server` and waits until it is ready.
    pub fn start(server: &dyn XmppServer, user: &str, password: &str) -> Self {
        Self::start_script(server, "peer.py", user, password)
    }

    pub fn start_script(server: &dyn XmppServer, name: &str, user: &str, password: &str) -> Self {
        Self::start_with(server, name, user, password, &[])
    }

    /// `tests/peers/omemo_bot.py`: slixmpp-omemo speaking one OMEMO
    /// version (`legacy` or `omemo2`), published and ready.
    pub fn start_omemo_bot(
        server: &dyn XmppServer,
        user: &str,
        password: &str,
        profile: &str,
    ) -> Self {
        Self::start_with(server, "omemo_bot.py", user, password, &[profile])
    }

    fn start_with(
        server: &dyn XmppServer,
        name: &str,
        user: &str,
        password: &str,
        extra: &[&str],
    ) -> Self {
        let jid = format!("{user}@{DOMAIN}");
        let mut child = Command::new(python())
            .arg(script(name))
            .arg(&jid)
            .arg(password)
            .arg("127.0.0.1")
            .arg(server.c2s_port().to_string())
            .arg(server.ca_file())
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // Beside the server's own logs, for when a test fails.
            .stderr(
                std::fs::File::create(server.dir().join(format!("peer-{user}.log")))
                    .map(Stdio::from)
                    .unwrap_or(Stdio::null()),
            )
            .spawn()
            .expect("python with slixmpp (scripts/dev deps makes the venv)");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) => {
                        if tx.send(v).is_err() {
                            return;
                        }
                    }
                    Err(_) => continue,
                }
            }
        });
        let mut peer = Self {
            jid,
            child,
            stdin,
            events,
            seen: Vec::new(),
        };
        peer.wait("ready", |e| e.get("ready").map(|_| ()));
        peer
    }

    pub fn command(&mut self, command: Value) {
        writeln!(self.stdin, "{command}").expect("peer stdin");
        self.stdin.flush().expect("peer stdin");
    }

    /// Sends these bytes as they are.
    pub fn raw(&mut self, xml: &str) {
        self.command(json!({ "raw": xml }));
    }

    /// Sends this IQ request (whose id is `id`) and waits for its answer:
    /// `Ok` for a result, `Err` with the error condition (or `timeout`).
    pub fn iq(&mut self, id: &str, xml: &str) -> Result<(), String> {
        self.command(json!({ "iq": xml }));
        self.wait("an IQ answer", |e| {
            if e.get("iq_result").and_then(Value::as_str) == Some(id) {
                return Some(Ok(()));
            }
            let error = e.get("iq_error")?;
            (error.get("id").and_then(Value::as_str) == Some(id)).then(|| {
                Err(error
                    .get("condition")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_owned())
            })
        })
    }

    pub fn send(&mut self, to: &str, body: &str, id: &str, receipt: bool) {
        self.command(json!({
            "send": { "to": to, "body": body, "id": id, "receipt": receipt }
        }));
    }

    /// Returns once everything sent before has reached the server: a ping
    /// to it is answered only after what came before on the stream.
    pub fn sync(&mut self) {
        let token = format!("{:x}", rand::random::<u64>());
        self.command(json!({ "sync": token }));
        self.wait("sync", |e| {
            (e.get("synced").and_then(Value::as_str) == Some(token.as_str())).then_some(())
        });
    }

    /// Waits for the first event `pick` accepts.
    pub fn wait<T>(&mut self, what: &str, mut pick: impl FnMut(&Value) -> Option<T>) -> T {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(event) => {
                    if let Some(error) = event.get("error") {
                        panic!("{}: the peer failed: {error}", self.jid);
                    }
                    let found = pick(&event);
                    self.seen.push(event);
                    if let Some(found) = found {
                        return found;
                    }
                }
                Err(_) => panic!(
                    "{}: no {what} within {PATIENCE:?}; saw {:#?}",
                    self.jid, self.seen
                ),
            }
        }
    }

    /// The next chat message's body from `from` (a bare JID).
    pub fn message_from(&mut self, from: &str) -> Value {
        self.wait("a message", |e| {
            let m = e.get("message")?;
            let sender = m.get("from")?.as_str()?;
            (sender.split('/').next() == Some(from)).then(|| m.clone())
        })
    }

    /// Events already received, without waiting.
    pub fn drain(&mut self) -> &[Value] {
        while let Ok(event) = self.events.try_recv() {
            self.seen.push(event);
        }
        &self.seen
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "{}", json!({ "quit": true }));
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
