//! Two accounts talk through Prosody using the library API.

use sotto::engine::{Command, Engine, Event};
use sotto::model::{
    Availability, OutgoingMessage, OutgoingState, Subscription, SubscriptionChange,
};
use sotto::store::MessageState;
use sotto::xmpp::RetryPolicy;

use crate::client::TestClient;
use crate::harness::{new_user, shared};

on_both_servers! {
    async fn two_accounts_subscribe_see_presence_and_exchange_messages(server) {
    let (a, a_pw) = new_user(server, "alice");
    let (b, b_pw) = new_user(server, "bob");
    let mut alice = TestClient::start(server.account(&a), &a_pw, RetryPolicy::Forever);
    let mut bob = TestClient::start(server.account(&b), &b_pw, RetryPolicy::Forever);
    let bound = alice.online().await;
    assert!(bound.starts_with(&format!("{a}@localhost/")), "{bound}");
    bob.online().await;

    let roster = alice
        .wait_for("roster", |e| match e {
            Event::Roster { contacts, .. } => Some(contacts.clone()),
            _ => None,
        })
        .await;
    assert!(roster.is_empty(), "a new account has no contacts");

    // Alice adds Bob; Bob approves; Alice sees Bob's presence.
    alice.send(Command::AddContact {
        account: alice.jid.clone(),
        jid: bob.jid.clone(),
        name: Some("Bob".into()),
    });
    let alice_jid = alice.jid.clone();
    bob.wait_for("subscription request", |e| match e {
        Event::Subscription { from, change, .. }
            if *from == alice_jid && *change == SubscriptionChange::Requested =>
        {
            Some(())
        }
        _ => None,
    })
    .await;
    bob.send(Command::AnswerSubscription {
        account: bob.jid.clone(),
        jid: alice.jid.clone(),
        approve: true,
    });
    let bob_jid = bob.jid.clone();
    let contact = alice
        .wait_for("Bob in the roster with subscription to", |e| match e {
            Event::ContactChanged { contact, .. }
                if contact.jid == bob_jid && contact.subscription == Subscription::To =>
            {
                Some(contact.clone())
            }
            _ => None,
        })
        .await;
    assert_eq!(contact.name.as_deref(), Some("Bob"));
    let stored = alice
        .store
        .contacts(alice.jid.as_str())
        .expect("stored contacts");
    assert_eq!(
        stored,
        vec![contact.clone()],
        "the roster is kept in the store"
    );
    let presence = alice
        .wait_for("Bob's presence", |e| match e {
            Event::Presence { update, .. } if update.from.to_bare() == bob_jid => {
                Some(update.clone())
            }
            _ => None,
        })
        .await;
    assert_eq!(presence.availability, Availability::Available);

    // A message, acknowledged by the server and received by Bob.
    let id = Engine::new_message_id();
    alice.send(Command::SendMessage {
        account: alice.jid.clone(),
        message: OutgoingMessage {
            id: id.clone(),
            to: bob.jid.clone(),
            body: "Hello Bob, this is Alice ✓".into(),
            plain: false,
        },
    });
    let acked_id = id.clone();
    alice
        .wait_for("server ack", |e| match e {
            Event::MessageState { id, state, .. } if *id == acked_id => match state {
                OutgoingState::Acked => Some(()),
                OutgoingState::Failed { reason } => panic!("send failed: {reason}"),
                _ => None,
            },
            _ => None,
        })
        .await;
    let received = bob.incoming("Alice's message").await;
    assert_eq!(received.body, "Hello Bob, this is Alice ✓");
    assert_eq!(received.peer, alice.jid.as_str());
    assert!(received.sender.starts_with(&format!("{}/", alice.jid)));
    assert_eq!(received.origin_id.as_deref(), Some(id.as_str()));
    assert!(
        received.stanza_id.is_some(),
        "Prosody's MAM stamps a stanza-id"
    );

    // Bob's client sent a receipt: Alice's message is delivered.
    let delivered_id = id.clone();
    alice
        .wait_for("delivery receipt", |e| match e {
            Event::MessageState { id, state, .. } if *id == delivered_id => {
                (*state == OutgoingState::Delivered).then_some(())
            }
            _ => None,
        })
        .await;
    // Both sides stored it before telling anyone.
    let mine = alice
        .store
        .messages_before(alice.jid.as_str(), bob.jid.as_str(), None, 10)
        .expect("alice's history");
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].state, MessageState::Delivered);
    let theirs = bob
        .store
        .messages_before(bob.jid.as_str(), alice.jid.as_str(), None, 10)
        .expect("bob's history");
    assert_eq!(theirs, vec![received.clone()]);

    // And back.
    bob.send(Command::SendMessage {
        account: bob.jid.clone(),
        message: OutgoingMessage {
            id: Engine::new_message_id(),
            to: alice.jid.clone(),
            body: "Hi Alice".into(),
            plain: false,
        },
    });
    let reply = alice.incoming("Bob's reply").await;
    assert_eq!(reply.body, "Hi Alice");
    let list = alice.store.conversations(None).expect("conversations");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].last_body.as_deref(), Some("Hi Alice"));
    assert_eq!(list[0].unread, 1);

    alice.send(Command::Shutdown);
    bob.send(Command::Shutdown);
}
}

on_both_servers! {
    async fn a_message_to_nobody_comes_back_as_a_readable_error(server) {
    let (a, a_pw) = new_user(server, "carol");
    let mut carol = TestClient::start(server.account(&a), &a_pw, RetryPolicy::Never);
    carol.online().await;
    let id = Engine::new_message_id();
    carol.send(Command::SendMessage {
        account: carol.jid.clone(),
        message: OutgoingMessage {
            id: id.clone(),
            to: "nobody@elsewhere.invalid".parse().expect("jid"),
            body: "anyone?".into(),
            plain: false,
        },
    });
    let reason = carol.message_error("bounce", &id).await;
    assert!(!reason.is_empty());
    assert!(!reason.contains('<'), "no XML in what users read: {reason}");
}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_engine_runs_several_accounts_at_once() {
    use secrecy::SecretString;
    use sotto::engine::AccountLogin;
    use sotto::model::ConnectionState;

    let server = shared();
    let (a, a_pw) = new_user(server, "multia");
    let (b, b_pw) = new_user(server, "multib");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = sotto::store::Store::open(
        &dir.path().join("sotto.db"),
        &sotto::store::StoreKey::from_bytes(crate::client::rand_key()),
    )
    .expect("store");
    let (engine, mut events) = Engine::start(store).expect("engine");
    for (user, pw) in [(&a, &a_pw), (&b, &b_pw)] {
        engine
            .send(Command::Start(Box::new(AccountLogin {
                config: server.account(user),
                password: Some(SecretString::from(pw.clone())),
                presence: Some((Availability::Available, None)),
                retry: RetryPolicy::Never,
            })))
            .expect("engine");
    }
    let first = server.account(&a).jid;
    let second = server.account(&b).jid;
    let mut online = std::collections::HashSet::new();
    let mut delivered = None;
    let deadline = tokio::time::Instant::now() + crate::client::PATIENCE;
    while delivered.is_none() {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("events in time")
            .expect("engine running");
        match event {
            Event::Connection {
                account,
                state: ConnectionState::Online { .. },
            } => {
                online.insert(account);
                if online.len() == 2 {
                    engine
                        .send(Command::SendMessage {
                            account: first.clone(),
                            message: OutgoingMessage {
                                id: Engine::new_message_id(),
                                to: second.clone(),
                                body: "between my own accounts".into(),
                                plain: false,
                            },
                        })
                        .expect("engine");
                }
            }
            Event::Connection {
                state: ConnectionState::Failed { reason, .. },
                ..
            } => panic!("{reason}"),
            Event::Message { account, message } if account == second => {
                delivered = Some((account, message));
            }
            _ => {}
        }
    }
    let (account, message) = delivered.expect("delivered");
    assert_eq!(account, second, "the event names the receiving account");
    assert_eq!(message.peer, first.as_str());
    assert_eq!(message.body, "between my own accounts");
    engine.send(Command::Shutdown).expect("engine");
}
