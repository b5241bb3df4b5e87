//! Archive catch-up and send rate against real servers, Prosody and
//! ejabberd, beside the rate any client reaches on the same archive.
//!
//! Per server:
//! - send rate: Alice's engine sends N messages to Bob's, online; the time
//!   until the server acknowledged all of them (XEP-0198) and until Bob's
//!   engine stored all of them. On Prosody also without stream management
//!   (no acks: until written, and until Bob has them).
//! - catch-up: N messages archived while Bob was away, fetched (XEP-0313,
//!   RSM pages as large as the server allows) into Bob's encrypted store,
//!   once sent in clear and once OMEMO-encrypted (each decrypted before it
//!   is stored); after each, `benches/peers/mam_catchup.py`, a minimal
//!   slixmpp client, pages the same archive and writes it to SQLite as it
//!   came (so after the encrypted run it shows what the server's pages of
//!   larger stanzas cost, without decryption).
//!
//! `cargo bench --bench catchup`; `SOTTO_BENCH_MESSAGES` (10,000),
//! `SOTTO_BENCH_SERVERS` (`prosody,prosody-sql,ejabberd`; `prosody-sql` is
//! Prosody with its SQLite storage, catch-up only), `SOTTO_BENCH_PAGE` (the
//! most Prosody returns per page; its default is 50).

#![allow(clippy::print_stdout)]

#[allow(dead_code)]
#[path = "../tests/it/harness.rs"]
mod harness;

#[allow(dead_code)]
#[path = "../tests/it/ejabberd.rs"]
mod ejabberd;

use std::process::Command as Process;
use std::time::{Duration, Instant};

use harness::XmppServer;
use secrecy::SecretString;
use sotto::engine::{AccountLogin, Command, Engine, Event};
use sotto::model::{Availability, ConnectionState, OutgoingMessage, OutgoingState};
use sotto::store::{ChatEncryption, Store, StoreKey};
use sotto::xmpp::RetryPolicy;
use tokio::sync::mpsc;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

async fn wait<T>(
    events: &mut mpsc::Receiver<Event>,
    what: &str,
    mut pick: impl FnMut(&Event) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(900);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(e)) => {
                if let Event::Connection {
                    state: ConnectionState::Failed { reason, .. },
                    ..
                } = &e
                {
                    panic!("{what}: {reason}");
                }
                if let Some(v) = pick(&e) {
                    return v;
                }
            }
            _ => panic!("no {what}"),
        }
    }
}

/// One account's engine on its own encrypted store.
struct Client {
    engine: Engine,
    events: mpsc::Receiver<Event>,
    store: Store,
    jid: String,
    user: String,
    password: String,
}

impl Client {
    fn new(server: &dyn XmppServer, dir: &std::path::Path, user: &str, password: &str) -> Self {
        // The same file and key each time: a second engine for the account
        // opens the store the first one left.
        let store = Store::open(
            &dir.join(format!("{user}.db")),
            &StoreKey::from_bytes([7; 32]),
        )
        .expect("store");
        let (engine, events) = Engine::start(store.clone()).expect("engine");
        Self {
            engine,
            events,
            store,
            jid: server.account(user).jid.to_string(),
            user: user.into(),
            password: password.into(),
        }
    }

    /// Logs in and waits until online and caught up; whether the stream
    /// has XEP-0198 acks.
    async fn online(&mut self, server: &dyn XmppServer, presence: bool) -> bool {
        self.engine
            .send(Command::Start(Box::new(AccountLogin {
                config: server.account(&self.user),
                password: Some(SecretString::from(self.password.clone())),
                presence: presence.then_some((Availability::Available, None)),
                retry: RetryPolicy::Never,
            })))
            .expect("engine");
        let acks = wait(&mut self.events, "online", |e| match e {
            Event::Connection {
                state: ConnectionState::Online { acks, .. },
                ..
            } => Some(*acks),
            _ => None,
        })
        .await;
        wait(&mut self.events, "first catch-up", |e| {
            matches!(e, Event::CatchUp { done: true, .. }).then_some(())
        })
        .await;
        acks
    }

    fn send(&self, to: &str, body: String) {
        self.engine
            .send(Command::SendMessage {
                account: self.jid.parse().expect("jid"),
                message: OutgoingMessage {
                    id: Engine::new_message_id(),
                    to: to.parse().expect("jid"),
                    body,
                    plain: false,
                },
            })
            .expect("engine");
    }

    /// Our own device is on our published list (we heard it back).
    fn lists_own_device(&self) -> bool {
        let Ok(Some(own)) = self.store.omemo_own_device(&self.jid) else {
            return false;
        };
        self.store
            .omemo_devices(&self.jid, &self.jid)
            .is_ok_and(|ds| ds.iter().any(|d| d.active && d.device_id == own.device_id))
    }

    fn stored_from(&self, peer: &str) -> usize {
        self.store
            .messages_before(&self.jid, peer, None, usize::MAX >> 1)
            .expect("history")
            .len()
    }

    async fn stop(self) {
        self.engine.send(Command::Shutdown).expect("engine");
        drop(self.events);
    }
}

fn rate(count: usize, took: Duration) -> String {
    format!(
        "{took:>7.2?} {:>6.0} msg/s",
        count as f64 / took.as_secs_f64()
    )
}

/// Alice sends `count` to Bob, both online: until acked (or written) by
/// the server, and until Bob has them all.
async fn send_rate(server: &dyn XmppServer, count: usize, label: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, a_pw) = harness::new_user(server, "senda");
    let (b, b_pw) = harness::new_user(server, "sendb");
    let mut alice = Client::new(server, dir.path(), &a, &a_pw);
    let mut bob = Client::new(server, dir.path(), &b, &b_pw);
    let acks = alice.online(server, true).await;
    bob.online(server, true).await;
    let target = if acks {
        OutgoingState::Acked
    } else {
        OutgoingState::Sent
    };
    let start = Instant::now();
    for i in 0..count {
        alice.send(&bob.jid, format!("live message number {i}"));
    }
    let mut reached = 0usize;
    wait(&mut alice.events, "every message acknowledged", |e| {
        if let Event::MessageState { state, .. } = e
            && *state == target
        {
            reached += 1;
        }
        (reached == count).then_some(())
    })
    .await;
    let server_took = start.elapsed();
    let mut received = 0usize;
    if bob.stored_from(&alice.jid) < count {
        wait(&mut bob.events, "every message at bob's", |e| {
            if matches!(e, Event::Message { .. }) {
                received += 1;
            }
            (received == count).then_some(())
        })
        .await;
    }
    let bob_took = start.elapsed();
    assert_eq!(bob.stored_from(&alice.jid), count, "every message once");
    let what = if acks { "acked" } else { "written" };
    println!(
        "{label:<30} send {count}: {what} {}; stored by the recipient {}",
        rate(count, server_took),
        rate(count, bob_took)
    );
    alice.stop().await;
    bob.stop().await;
}

/// Waits until the chat's encryption is set.
async fn set_encryption(client: &mut Client, peer: &str, setting: ChatEncryption) {
    client
        .engine
        .send(Command::SetChatEncryption {
            account: client.jid.parse().expect("jid"),
            peer: peer.parse().expect("jid"),
            setting,
        })
        .expect("engine");
    wait(&mut client.events, "the chat's encryption", |e| {
        matches!(e, Event::ChatEncryption { .. }).then_some(())
    })
    .await;
}

/// Bob away while Alice sends `count`, OMEMO-encrypted or in clear; then
/// Bob's engine catches up (decrypting each), and the slixmpp baseline
/// pages the same archive.
async fn catch_up(server: &dyn XmppServer, count: usize, label: &str, encrypted: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, a_pw) = harness::new_user(server, "mama");
    let (b, b_pw) = harness::new_user(server, "mamb");
    let mut alice = Client::new(server, dir.path(), &a, &a_pw);
    alice.online(server, false).await;
    // Bob once online, so his catch-up starts from a resume point.
    let mut bob = Client::new(server, dir.path(), &b, &b_pw);
    bob.online(server, true).await;
    let bobs = bob.jid.clone();
    if encrypted {
        // Bob's device on the server first: Alice reads his list once when
        // she writes, and the automatic setting sends in clear to a
        // contact who lists none.
        let mut waited = 0;
        while !bob.lists_own_device() {
            waited += 1;
            assert!(waited < 200, "Bob's device never reached his list");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut tries = 0;
        loop {
            alice.send(&bobs, "before".into());
            let m = wait(&mut bob.events, "the live message", |e| match e {
                Event::Message { message, .. } => Some(message.clone()),
                _ => None,
            })
            .await;
            if m.encrypted {
                break;
            }
            tries += 1;
            assert!(tries < 40, "Alice never encrypted to Bob");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        set_encryption(&mut alice, &bobs, ChatEncryption::On).await;
    } else {
        set_encryption(&mut alice, &bobs, ChatEncryption::Off).await;
        alice.send(&bobs, "before".into());
        wait(&mut bob.events, "the live message", |e| {
            matches!(e, Event::Message { .. }).then_some(())
        })
        .await;
    }
    let before = bob.stored_from(&alice.jid);
    bob.stop().await;

    for i in 0..count {
        alice.send(
            &server.account(&b).jid.to_string(),
            format!("archived message number {i}"),
        );
    }
    let mut acked = 0usize;
    wait(&mut alice.events, "acks", |e| {
        if let Event::MessageState {
            state: OutgoingState::Acked,
            ..
        } = e
        {
            acked += 1;
        }
        (acked == count).then_some(())
    })
    .await;
    let mut bob = Client::new(server, dir.path(), &b, &b_pw);
    bob.engine
        .send(Command::Start(Box::new(AccountLogin {
            config: server.account(&b),
            password: Some(SecretString::from(b_pw.clone())),
            presence: None,
            retry: RetryPolicy::Never,
        })))
        .expect("engine");
    wait(&mut bob.events, "bob online", |e| {
        matches!(
            e,
            Event::Connection {
                state: ConnectionState::Online { .. },
                ..
            }
        )
        .then_some(())
    })
    .await;
    let start = Instant::now();
    let (fetched, events) = {
        let mut events = 0usize;
        let fetched = wait(&mut bob.events, "catch-up", |e| match e {
            Event::Message { .. } | Event::Archived { .. } => {
                events += 1;
                None
            }
            Event::CatchUp {
                fetched,
                done: true,
                ..
            } => Some(*fetched),
            _ => None,
        })
        .await;
        (fetched, events)
    };
    let took = start.elapsed();
    let stored = bob
        .store
        .messages_before(&bob.jid, &alice.jid, None, usize::MAX >> 1)
        .expect("history");
    assert_eq!(stored.len(), count + before, "everything stored once");
    let clear = stored
        .iter()
        .rev()
        .take(count)
        .filter(|m| !m.encrypted)
        .count();
    assert_eq!(
        clear,
        if encrypted { 0 } else { count },
        "each archived message {}",
        if encrypted { "decrypted" } else { "in clear" }
    );
    let how = if encrypted { "OMEMO" } else { "in clear" };
    println!(
        "{label:<30} catch-up of {fetched} by Sotto ({how}): {} ({events} events to the front ends)",
        rate(fetched, took)
    );
    bob.stop().await;
    alice.stop().await;
    let db = dir.path().join("slixmpp.db");
    let out = Process::new(harness_python())
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/mam_catchup.py"))
        .arg(format!("{b}@{}", harness::DOMAIN))
        .arg(&b_pw)
        .arg("127.0.0.1")
        .arg(server.c2s_port().to_string())
        .arg(server.ca_file())
        .arg("1000")
        .arg(&db)
        .output()
        .expect("python with slixmpp (scripts/dev deps makes the venv)");
    let line = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(line.trim()).unwrap_or_else(|_| {
        panic!(
            "slixmpp baseline: {line} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let fetched = report["fetched"].as_u64().unwrap_or(0) as usize;
    let pages = report["pages"].as_u64().unwrap_or(0);
    let seconds = report["seconds"].as_f64().unwrap_or(f64::NAN);
    println!(
        "{label:<30} catch-up of {fetched} by slixmpp ({how}, stored as it came): {} ({pages} pages, \
         SQLite)",
        rate(fetched, Duration::from_secs_f64(seconds))
    );
}

fn harness_python() -> std::path::PathBuf {
    std::env::var_os("SOTTO_TEST_PYTHON")
        .map(Into::into)
        .unwrap_or_else(|| "/var/cache/sotto/venv/bin/python".into())
}

#[tokio::main]
async fn main() {
    let count: usize = env_or("SOTTO_BENCH_MESSAGES", 10_000);
    let page: usize = env_or("SOTTO_BENCH_PAGE", 50);
    let servers: String = env_or(
        "SOTTO_BENCH_SERVERS",
        "prosody,prosody-sql,ejabberd".to_owned(),
    );
    for name in servers.split(',') {
        match name.trim() {
            "prosody" => {
                let server = harness::Prosody::start(harness::ProsodyOptions {
                    archive_page: page,
                    ..harness::ProsodyOptions::default()
                });
                let label = format!("Prosody 0.12 (pages of {page})");
                send_rate(&server, count, &label).await;
                catch_up(&server, count, &label, false).await;
                catch_up(&server, count, &label, true).await;
                let plain = harness::Prosody::start(harness::ProsodyOptions {
                    stream_management: false,
                    ..harness::ProsodyOptions::default()
                });
                send_rate(&plain, count, "Prosody 0.12 without XEP-0198").await;
            }
            "prosody-sql" => {
                // Prosody's default archive store reads the whole archive
                // on every query: with SQLite behind it, the server stops
                // being what is measured.
                let server = harness::Prosody::start(harness::ProsodyOptions {
                    archive_page: page,
                    sql_storage: true,
                    ..harness::ProsodyOptions::default()
                });
                let label = format!("Prosody 0.12 SQLite (pages of {page})");
                catch_up(&server, count, &label, false).await;
                catch_up(&server, count, &label, true).await;
            }
            "ejabberd" => {
                let server = ejabberd::Ejabberd::start();
                send_rate(&server, count, "ejabberd 23.01").await;
                catch_up(&server, count, "ejabberd 23.01", false).await;
                catch_up(&server, count, "ejabberd 23.01", true).await;
            }
            other => panic!("unknown server {other}: prosody, prosody-sql or ejabberd"),
        }
    }
}
