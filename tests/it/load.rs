//! Load: two accounts in one engine come online at the same moment, each
//! with thousands of messages queued while offline and thousands waiting
//! on the server. Every message arrives once, nothing stalls, no account
//! waits on the other.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use sotto::engine::{AccountLogin, Command, Engine, Event};
use sotto::model::{Availability, BareJid, OutgoingMessage, OutgoingState};
use sotto::store::{Direction, Store, StoreKey};
use sotto::xmpp::RetryPolicy;

use crate::client::rand_key;
use crate::harness::{Prosody, ProsodyOptions, XmppServer, new_user};

const N: usize = 5_000;
/// The whole run, on two loaded cores; it takes well under this.
const BOUND: Duration = Duration::from_secs(600);

fn login(server: &dyn XmppServer, user: &str, pw: &str) -> Box<AccountLogin> {
    Box::new(AccountLogin {
        config: server.account(user),
        password: Some(SecretString::from(pw.to_owned())),
        presence: Some((Availability::Available, None)),
        retry: RetryPolicy::Forever,
    })
}

fn queue(engine: &Engine, from: &BareJid, to: &BareJid, label: &str) {
    for i in 0..N {
        engine
            .send(Command::SendMessage {
                account: from.clone(),
                message: OutgoingMessage {
                    id: Engine::new_message_id(),
                    to: to.clone(),
                    body: format!("{label} {i:05}"),
                    plain: false,
                },
            })
            .expect("engine");
    }
}

/// Reads events until `done` says enough, within the bound.
async fn until(
    events: &mut tokio::sync::mpsc::Receiver<Event>,
    started: Instant,
    what: &str,
    mut done: impl FnMut(&Event) -> bool,
) {
    loop {
        let left = BOUND.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, events.recv()).await {
            Ok(Some(event)) => {
                if done(&event) {
                    return;
                }
            }
            Ok(None) => panic!("the engine stopped while waiting for {what}"),
            Err(_) => panic!("{what}: not within {BOUND:?}"),
        }
    }
}

fn bodies(store: &Store, account: &BareJid, peer: &BareJid, direction: Direction) -> Vec<String> {
    store
        .messages_before(account.as_str(), peer.as_str(), None, 3 * N)
        .expect("history")
        .into_iter()
        .filter(|m| m.direction == direction)
        .map(|m| m.body)
        .collect()
}

/// The N bodies of `label`, each once and in order; a failure names the
/// first place they differ, not all of them.
fn once_in_order(got: Vec<String>, label: &str) {
    let want: Vec<String> = (0..N).map(|i| format!("{label} {i:05}")).collect();
    if let Some(at) = (0..got.len().max(want.len())).find(|&i| got.get(i) != want.get(i)) {
        panic!(
            "{label}: {} messages; first difference at {at}: got {:?}, wanted {:?}",
            got.len(),
            &got[at.saturating_sub(2)..(at + 3).min(got.len())],
            &want[at.saturating_sub(2)..(at + 3).min(want.len())],
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_queued_and_thousands_waiting_on_two_accounts_at_once() {
    // A server that serves large archive pages (we ask for 1,000): with
    // Prosody's default of 50 the run would mostly measure its paging.
    let server = &Prosody::start(ProsodyOptions {
        archive_page: 1000,
        ..ProsodyOptions::default()
    });
    let (a1, a1_pw) = new_user(server, "loada");
    let (a2, a2_pw) = new_user(server, "loadb");
    let (b1, b1_pw) = new_user(server, "loadc");
    let (b2, b2_pw) = new_user(server, "loadd");
    let jid = |u: &str| server.account(u).jid;
    let (a1j, a2j, b1j, b2j) = (jid(&a1), jid(&a2), jid(&b1), jid(&b2));
    let dir = tempfile::tempdir().expect("tempdir");
    let x_store =
        Store::open(&dir.path().join("x.db"), &StoreKey::from_bytes(rand_key())).expect("store");
    let y_store =
        Store::open(&dir.path().join("y.db"), &StoreKey::from_bytes(rand_key())).expect("store");
    let (x, mut x_events) = Engine::start(x_store.clone()).expect("engine");
    let (y, mut y_events) = Engine::start(y_store.clone()).expect("engine");
    let started = Instant::now();

    // The other side first, online: thousands for each of our accounts,
    // which are away (offline storage and the archive keep them).
    for (user, pw) in [(&b1, &b1_pw), (&b2, &b2_pw)] {
        y.send(Command::Start(login(server, user, pw)))
            .expect("engine");
    }
    queue(&y, &b1j, &a1j, "to a1");
    queue(&y, &b2j, &a2j, "to a2");
    let mut acked = 0;
    until(
        &mut y_events,
        started,
        "the other side's messages acked",
        |e| {
            if let Event::MessageState {
                state: OutgoingState::Acked,
                ..
            } = e
            {
                acked += 1;
            }
            acked == 2 * N
        },
    )
    .await;

    // Ours, queued while our accounts are not connected.
    queue(&x, &a1j, &b1j, "from a1");
    queue(&x, &a2j, &b2j, "from a2");
    let mut queued = 0;
    until(&mut x_events, started, "our messages queued", |e| {
        if matches!(e, Event::Message { message, .. } if message.direction == Direction::Out) {
            queued += 1;
        }
        queued == 2 * N
    })
    .await;

    // Both accounts at the same moment.
    for (user, pw) in [(&a1, &a1_pw), (&a2, &a2_pw)] {
        x.send(Command::Start(login(server, user, pw)))
            .expect("engine");
    }
    let came_online = Instant::now();
    let (mut incoming, mut out_acked) = (HashSet::new(), 0usize);
    until(
        &mut x_events,
        started,
        "everything in and out on both accounts",
        |e| {
            match e {
                Event::Message { message, .. } if message.direction == Direction::In => {
                    incoming.insert(message.id);
                }
                Event::Archived { messages, .. } => {
                    incoming.extend(
                        messages
                            .iter()
                            .filter(|m| m.direction == Direction::In)
                            .map(|m| m.id),
                    );
                }
                Event::MessageState {
                    state: OutgoingState::Acked,
                    ..
                } => out_acked += 1,
                _ => {}
            }
            incoming.len() == 2 * N && out_acked == 2 * N
        },
    )
    .await;
    let mut arrived = 0;
    until(
        &mut y_events,
        started,
        "our messages at the other side",
        |e| {
            match e {
                Event::Message { message, .. } if message.direction == Direction::In => {
                    arrived += 1
                }
                Event::Archived { messages, .. } => {
                    arrived += messages
                        .iter()
                        .filter(|m| m.direction == Direction::In)
                        .count();
                }
                _ => {}
            }
            arrived == 2 * N
        },
    )
    .await;
    let took = came_online.elapsed();

    // Every message once, in order, on both sides of both pairs.
    for (ours, theirs, label_in, label_out) in [
        (&a1j, &b1j, "to a1", "from a1"),
        (&a2j, &b2j, "to a2", "from a2"),
    ] {
        once_in_order(bodies(&x_store, ours, theirs, Direction::In), label_in);
        once_in_order(bodies(&x_store, ours, theirs, Direction::Out), label_out);
        once_in_order(bodies(&y_store, theirs, ours, Direction::In), label_out);
        assert!(x_store.outbox(ours.as_str()).expect("outbox").is_empty());
    }
    tracing::info!(?took, all = ?started.elapsed(), "load: both accounts in and out");
    x.send(Command::Shutdown).expect("engine");
    y.send(Command::Shutdown).expect("engine");
}
