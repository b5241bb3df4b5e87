//! Nothing lost, nothing doubled: archive catch-up (XEP-0313), carbons
//! (XEP-0280), and stream resumption (XEP-0198) across a cut connection.

use sotto::engine::{AccountLogin, Command, Engine, Event};
use sotto::model::{Availability, BareJid, ConnectionState, OutgoingMessage, OutgoingState};
use sotto::store::{Direction, Store, StoreKey};
use sotto::xmpp::RetryPolicy;

use crate::client::{TestClient, rand_key};
use crate::harness::{Prosody, ProsodyOptions, XmppServer, new_user};
use crate::proxy::Proxy;

fn send(client: &TestClient, to: &TestClient, body: &str) -> String {
    send_to(client, &to.jid, body)
}

fn send_to(client: &TestClient, to: &BareJid, body: &str) -> String {
    let id = Engine::new_message_id();
    client.send(Command::SendMessage {
        account: client.jid.clone(),
        message: OutgoingMessage {
            id: id.clone(),
            to: to.clone(),
            body: body.into(),
            plain: false,
        },
    });
    id
}

async fn acked(client: &mut TestClient, id: &str) {
    client
        .wait_for("server ack", |e| match e {
            Event::MessageState { id: got, state, .. } if got == id => match state {
                OutgoingState::Acked => Some(()),
                OutgoingState::Failed { reason } => panic!("{reason}"),
                _ => None,
            },
            _ => None,
        })
        .await;
}

/// A client over an existing store, optionally invisible (no presence, so
/// the server's offline storage does not deliver: only the archive can).
fn client_on(
    server: &dyn XmppServer,
    user: &str,
    password: &str,
    store: &Store,
    presence: bool,
) -> TestClient {
    TestClient::with_store(
        store.clone(),
        AccountLogin {
            config: server.account(user),
            password: Some(secrecy::SecretString::from(password.to_owned())),
            presence: presence.then_some((Availability::Available, None)),
            retry: RetryPolicy::Never,
        },
    )
}

/// Bob is online once and gets "before" live, then leaves: that message
/// is where his next catch-up starts, as in everyday use.
async fn online_once(
    server: &dyn XmppServer,
    alice: &TestClient,
    user: &str,
    password: &str,
    store: &Store,
) {
    let mut bob = client_on(server, user, password, store, true);
    bob.online().await;
    // The first login's catch-up ends before the live message, so the
    // live message becomes the resume point.
    bob.wait_for("first sync", |e| {
        matches!(e, Event::CatchUp { done: true, .. }).then_some(())
    })
    .await;
    send(alice, &bob, "before");
    bob.incoming("the live message").await;
    bob.close().await;
}

on_both_servers! {
    async fn catch_up_fetches_everything_once_and_in_order(server) {
    let (a, a_pw) = new_user(server, "archa");
    let (b, b_pw) = new_user(server, "archb");
    let dir = tempfile::tempdir().expect("tempdir");
    let bob_store = Store::open(
        &dir.path().join("bob.db"),
        &StoreKey::from_bytes(rand_key()),
    )
    .expect("store");
    let mut alice = TestClient::start(server.account(&a), &a_pw, RetryPolicy::Never);
    alice.online().await;

    let bob_jid = server.account(&b).jid;
    online_once(server, &alice, &b, &b_pw, &bob_store).await;

    // While Bob is away, Alice writes more than one archive page.
    const AWAY: usize = 120;
    let mut last = String::new();
    for i in 0..AWAY {
        last = send_to(&alice, &bob_jid, &format!("away {i:03}"));
    }
    acked(&mut alice, &last).await;

    let resume = bob_store.mam_last_id(bob_jid.as_str()).expect("position");
    let stored_before = bob_store
        .messages_before(bob_jid.as_str(), alice.jid.as_str(), None, 1)
        .expect("history");
    assert_eq!(
        resume, stored_before[0].stanza_id,
        "catch-up resumes after the newest message seen live"
    );
    // Bob comes back invisible: only the archive can bring them.
    let mut bob = client_on(server, &b, &b_pw, &bob_store, false);
    bob.online().await;
    let (fetched, total) = bob
        .wait_for("catch-up to finish", |e| match e {
            Event::CatchUp {
                fetched,
                total,
                done: true,
                ..
            } => Some((*fetched, *total)),
            _ => None,
        })
        .await;
    // The archive also holds Bob's own receipt for "before": progress
    // counts archive entries, not only chat messages.
    assert!((AWAY..=AWAY + 1).contains(&fetched), "{fetched}");
    if let Some(total) = total {
        // RSM counts may be approximate (XEP-0059 §2.6); ejabberd counts one more.
        assert!(total >= fetched, "{total} < {fetched}");
    }
    let pages = bob
        .seen
        .iter()
        .filter(|e| matches!(e, Event::CatchUp { done: false, .. }))
        .count();
    // Prosody serves 50 results a page: several pages. ejabberd may
    // serve all 120 at once, which is what asking for its largest page is
    // for.
    if server.name() == "Prosody" {
        assert!(pages >= 1, "the archive came in several pages");
    }
    let history = bob_store
        .messages_before(bob.jid.as_str(), alice.jid.as_str(), None, 1000)
        .expect("history");
    let bodies: Vec<&str> = history.iter().map(|m| m.body.as_str()).collect();
    let mut expected = vec!["before".to_owned()];
    expected.extend((0..AWAY).map(|i| format!("away {i:03}")));
    assert_eq!(bodies, expected, "everything, once, in order");
    bob.close().await;

    // Back with presence: the server's offline store now delivers the
    // same messages live. They must not be stored twice.
    let mut bob = client_on(server, &b, &b_pw, &bob_store, true);
    bob.online().await;
    send_to(&alice, &bob_jid, "after");
    // Live, or (when the login's catch-up runs after the server archived
    // it) from the archive: once either way.
    bob.wait_for("the new message", |e| match e {
        Event::Message { message, .. } if message.body == "after" => Some(()),
        Event::Archived { messages, .. } if messages.iter().any(|m| m.body == "after") => {
            Some(())
        }
        _ => None,
    })
    .await;
    let history = bob_store
        .messages_before(bob.jid.as_str(), alice.jid.as_str(), None, 1000)
        .expect("history");
    assert_eq!(
        history.len(),
        AWAY + 2,
        "offline delivery added no duplicate"
    );
}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pruned_resume_point_falls_back_to_time() {
    // A server that keeps only 30 messages per archive.
    let server = Prosody::start(ProsodyOptions {
        archive_limit: 30,
        ..ProsodyOptions::default()
    });
    let (a, a_pw) = new_user(&server, "prunea");
    let (b, b_pw) = new_user(&server, "pruneb");
    let bob_jid = server.account(&b).jid;
    let dir = tempfile::tempdir().expect("tempdir");
    let bob_store = Store::open(
        &dir.path().join("bob.db"),
        &StoreKey::from_bytes(rand_key()),
    )
    .expect("store");
    let mut alice = TestClient::start(server.account(&a), &a_pw, RetryPolicy::Never);
    alice.online().await;
    online_once(&server, &alice, &b, &b_pw, &bob_store).await;

    // Enough to push "before", Bob's resume point, out of his archive.
    let mut last = String::new();
    for i in 0..40 {
        last = send_to(&alice, &bob_jid, &format!("away {i:02}"));
    }
    acked(&mut alice, &last).await;

    let mut bob = client_on(&server, &b, &b_pw, &bob_store, false);
    bob.online().await;
    bob.wait_for("catch-up to finish", |e| {
        matches!(e, Event::CatchUp { done: true, .. }).then_some(())
    })
    .await;
    let history = bob_store
        .messages_before(bob_jid.as_str(), alice.jid.as_str(), None, 100)
        .expect("history");
    let bodies: Vec<&str> = history.iter().map(|m| m.body.as_str()).collect();
    // What the server still has arrived, in order, after "before".
    assert_eq!(bodies.first(), Some(&"before"));
    assert_eq!(bodies.last(), Some(&"away 39"));
    assert!(bodies.len() >= 20, "{bodies:?}");
    let mut sorted = bodies[1..].to_vec();
    sorted.sort();
    assert_eq!(sorted, bodies[1..].to_vec(), "in order, no duplicates");
    sorted.dedup();
    assert_eq!(sorted.len(), bodies.len() - 1);
}

on_both_servers! {
    async fn a_message_sent_from_one_device_appears_on_the_other(server) {
    let (a, a_pw) = new_user(server, "carba");
    let (b, b_pw) = new_user(server, "carbb");
    let mut alice = TestClient::start(server.account(&a), &a_pw, RetryPolicy::Never);
    let mut laptop = TestClient::start(server.account(&b), &b_pw, RetryPolicy::Never);
    let mut desktop = TestClient::start(server.account(&b), &b_pw, RetryPolicy::Never);
    alice.online().await;
    for device in [&mut laptop, &mut desktop] {
        device.online().await;
        // Carbons are enabled at login, before the catch-up's query.
        device.settled().await;
    }
    // Two OMEMO devices of one account came up at once: each must know the
    // other before a message can be read on both.
    laptop.knows_device(&laptop.jid, desktop.omemo_device()).await;
    desktop.knows_device(&desktop.jid, laptop.omemo_device()).await;

    let id = send(&laptop, &alice, "sent from the laptop");
    let copy = desktop
        .wait_for("sent carbon", |e| match e {
            Event::Message { message, .. } if message.direction == Direction::Out => {
                Some(message.clone())
            }
            _ => None,
        })
        .await;
    assert_eq!(copy.body, "sent from the laptop");
    assert_eq!(copy.peer, alice.jid.as_str());
    assert_eq!(copy.origin_id.as_deref(), Some(id.as_str()));
    alice.incoming("the laptop's message").await;

    // A reply reaches both devices, and each stores it once.
    send(&alice, &laptop, "reply to both");
    laptop.incoming("reply on the laptop").await;
    desktop.incoming("reply on the desktop").await;
    // A duplicate of the reply would come before anything sent after it.
    send(&alice, &laptop, "barrier");
    for device in [&mut laptop, &mut desktop] {
        device
            .wait_for("the barrier", |e| match e {
                Event::Message { message, .. } if message.body == "barrier" => Some(()),
                _ => None,
            })
            .await;
    }
    for device in [&laptop, &desktop] {
        let history = device
            .store
            .messages_before(device.jid.as_str(), alice.jid.as_str(), None, 10)
            .expect("history");
        let bodies: Vec<&str> = history.iter().map(|m| m.body.as_str()).collect();
        assert_eq!(bodies, ["sent from the laptop", "reply to both", "barrier"]);
    }
}
}

on_both_servers! {
    async fn a_cut_connection_resumes_without_loss_or_duplicates(server) {
    let (a, a_pw) = new_user(server, "smacka");
    let (b, b_pw) = new_user(server, "smackb");
    let proxy = Proxy::start(server.c2s_port()).await;
    let mut account = server.account(&b);
    account.server = Some(format!("127.0.0.1:{}", proxy.port).parse().expect("addr"));
    let mut alice = TestClient::start(server.account(&a), &a_pw, RetryPolicy::Never);
    let mut bob = TestClient::start(account, &b_pw, RetryPolicy::Forever);
    alice.online().await;
    bob.online().await;
    send(&alice, &bob, "first");
    bob.incoming("first").await;

    proxy.cut();
    bob.wait_for("the drop", |e| match e {
        Event::Connection {
            state: ConnectionState::Suspended,
            ..
        } => Some(()),
        _ => None,
    })
    .await;
    // Written while Bob's link is down; Prosody holds it in the
    // hibernating session.
    let id = send(&alice, &bob, "during the cut");
    acked(&mut alice, &id).await;

    bob.wait_for("resumption", |e| match e {
        Event::Connection {
            state: ConnectionState::Online { resumed, .. },
            ..
        } => {
            assert!(*resumed, "the stream must resume, not restart");
            Some(())
        }
        _ => None,
    })
    .await;
    let during = bob.incoming("the message sent during the cut").await;
    assert_eq!(during.body, "during the cut");
    send(&alice, &bob, "after");
    let after = bob.incoming("after").await;
    assert_eq!(after.body, "after");
    let history = bob
        .store
        .messages_before(bob.jid.as_str(), alice.jid.as_str(), None, 10)
        .expect("history");
    let bodies: Vec<&str> = history.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["first", "during the cut", "after"]);
}
}
