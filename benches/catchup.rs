//! End-to-end archive catch-up: 10,000 messages archived by a real
//! Prosody while the account was away, fetched (XEP-0313, paged) into the
//! encrypted store. Run with `cargo bench --bench catchup`;
//! `SOTTO_BENCH_MESSAGES` changes the count.

#![allow(clippy::print_stdout)]

#[allow(dead_code)]
#[path = "../tests/it/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

use secrecy::SecretString;
use sotto::engine::{AccountLogin, Command, Engine, Event};
use sotto::model::{Availability, ConnectionState, OutgoingMessage, OutgoingState};
use sotto::store::{Store, StoreKey};
use sotto::xmpp::RetryPolicy;
use tokio::sync::mpsc;

async fn wait<T>(
    events: &mut mpsc::Receiver<Event>,
    what: &str,
    mut pick: impl FnMut(&Event) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
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

fn login(server: &harness::Prosody, user: &str, pw: &str, presence: bool) -> Box<AccountLogin> {
    Box::new(AccountLogin {
        config: server.account(user),
        password: Some(SecretString::from(pw.to_owned())),
        presence: presence.then_some((Availability::Available, None)),
        retry: RetryPolicy::Never,
    })
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::var("SOTTO_BENCH_MESSAGES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let page: usize = std::env::var("SOTTO_BENCH_PAGE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let server = harness::Prosody::start(harness::ProsodyOptions {
        archive_page: page,
        ..harness::ProsodyOptions::default()
    });
    let (a, a_pw) = harness::new_user(&server, "bencha");
    let (b, b_pw) = harness::new_user(&server, "benchb");
    let dir = tempfile::tempdir().expect("tempdir");
    let alice_store =
        Store::open(&dir.path().join("a.db"), &StoreKey::from_bytes([1; 32])).expect("store");
    let bob_store =
        Store::open(&dir.path().join("b.db"), &StoreKey::from_bytes([2; 32])).expect("store");
    let bob_jid = server.account(&b).jid;

    let (alice, mut alice_events) = Engine::start(alice_store.clone()).expect("engine");
    alice
        .send(Command::Start(login(&server, &a, &a_pw, false)))
        .expect("engine");
    wait(&mut alice_events, "alice online", |e| {
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

    // Bob once online, to set where his catch-up will start.
    let (bob, mut bob_events) = Engine::start(bob_store.clone()).expect("engine");
    bob.send(Command::Start(login(&server, &b, &b_pw, true)))
        .expect("engine");
    wait(&mut bob_events, "bob's first sync", |e| {
        matches!(e, Event::CatchUp { done: true, .. }).then_some(())
    })
    .await;
    let send = |body: String| {
        alice.send(Command::SendMessage {
            account: server.account(&a).jid,
            message: OutgoingMessage {
                id: Engine::new_message_id(),
                to: bob_jid.clone(),
                body,
            },
        })
    };
    send("before".into()).expect("send");
    wait(&mut bob_events, "the live message", |e| {
        matches!(e, Event::Message { .. }).then_some(())
    })
    .await;
    bob.send(Command::Shutdown).expect("engine");
    drop(bob_events);

    let start = Instant::now();
    for i in 0..count {
        send(format!("archived message number {i}")).expect("send");
    }
    // Drain Alice's events while the server acknowledges each message.
    let mut acked = 0usize;
    wait(&mut alice_events, "acks", |e| {
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
    let alice_jid = server.account(&a).jid.to_string();
    let send_time = start.elapsed();

    let (bob, mut bob_events) = Engine::start(bob_store.clone()).expect("engine");
    bob.send(Command::Start(login(&server, &b, &b_pw, false)))
        .expect("engine");
    wait(&mut bob_events, "bob online", |e| {
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
    let mut redraws = 0usize;
    let fetched = wait(&mut bob_events, "catch-up", |e| match e {
        Event::Message { .. } | Event::Archived { .. } => {
            redraws += 1;
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
    let took = start.elapsed();
    let stored = bob_store
        .messages_before(bob_jid.as_str(), &alice_jid, None, count + 10)
        .expect("history")
        .len();
    assert_eq!(stored, count + 1, "everything stored once");
    println!(
        "sending {count} messages (stored, sent, acknowledged) took {send_time:.1?}: {:.0} messages/s",
        count as f64 / send_time.as_secs_f64()
    );
    println!(
        "catch-up of {fetched} archived messages, pages of up to {page}: {took:.2?}, \
         {:.0} messages/s end to end; {redraws} message events",
        fetched as f64 / took.as_secs_f64()
    );
}
