//! Two Sotto accounts chatting end-to-end encrypted (OMEMO) through a real
//! server: devices set up and published over PEP, sessions built from
//! bundles, both directions, a restart in the middle (sessions persist in
//! the store), nothing of the text on the server's disk, and a broken
//! session that heals without anyone doing anything.

use std::time::Duration;

use secrecy::SecretString;
use sotto::engine::{AccountLogin, Command, Engine, Event};
use sotto::model::{Availability, OutgoingMessage, OutgoingState};
use sotto::omemo::Profile;
use sotto::store::{Direction, StoredMessage};
use sotto::xmpp::RetryPolicy;

use crate::client::{PATIENCE, TestClient, befriend};
use crate::harness::{XmppServer, new_user, on_disk};
use crate::peers::Peer;

fn say(from: &TestClient, to: &TestClient, body: &str) -> String {
    say_to(from, &to.jid, body)
}

/// Queues `body` to `to`; returns the message's id.
pub(crate) fn say_to(from: &TestClient, to: &sotto::model::BareJid, body: &str) -> String {
    let id = Engine::new_message_id();
    from.send(Command::SendMessage {
        account: from.jid.clone(),
        message: OutgoingMessage {
            id: id.clone(),
            to: to.clone(),
            body: body.into(),
            plain: false,
        },
    });
    id
}

/// Waits until our message `id` was handed to the server; panics if it
/// failed (an encrypted chat fails rather than send in clear).
pub(crate) async fn sent(client: &mut TestClient, id: &str) {
    client
        .wait_for("the message sent", |e| match e {
            Event::MessageState { id: got, state, .. } if got == id => match state {
                OutgoingState::Failed { reason } => panic!("not sent: {reason}"),
                OutgoingState::Queued => None,
                _ => Some(()),
            },
            Event::MessageError {
                id: Some(got),
                reason,
                ..
            } if got == id => {
                panic!("not sent: {reason}")
            }
            _ => None,
        })
        .await;
}

/// The next incoming message, which must have come encrypted.
async fn encrypted_in(client: &mut TestClient, what: &str) -> StoredMessage {
    let m = client.incoming(what).await;
    assert!(!m.omemo_notice, "{what}: a notice instead: {}", m.body);
    assert!(m.encrypted, "{what}: stored as not encrypted: {m:?}");
    m
}

/// Two accounts online, contacts of each other, bob's device on the
/// server. In the default setting a first message goes in clear to a
/// contact who publishes no device yet; these tests are about encrypted
/// chat, so this waits until bob's OMEMO 2 device list with his device is
/// on the server (PEP echoes it to him), however long his publication took.
async fn contacts_with_devices(
    server: &dyn XmppServer,
    (a, a_pw): (&str, &str),
    (b, b_pw): (&str, &str),
) -> (TestClient, TestClient) {
    let mut alice = TestClient::start(server.account(a), a_pw, RetryPolicy::Forever);
    let mut bob = TestClient::start(server.account(b), b_pw, RetryPolicy::Forever);
    alice.online().await;
    bob.online().await;
    alice.settled().await;
    bob.settled().await;
    befriend(&mut alice, &mut bob).await;
    let bob_device = bob.omemo_device();
    bob.knows_device(&bob.jid, bob_device).await;
    (alice, bob)
}

fn login(server: &dyn XmppServer, user: &str, password: &str) -> AccountLogin {
    AccountLogin {
        config: server.account(user),
        password: Some(SecretString::from(password.to_owned())),
        presence: Some((Availability::Available, None)),
        retry: RetryPolicy::Forever,
    }
}

/// Makes `user`'s OMEMO 2 bundles node the way another client might have:
/// open to contacts only, with the server's default size (one item on
/// ejabberd). Sotto's publication does not match it, and must reconfigure
/// it rather than stay unreachable.
fn another_clients_bundles_node(server: &dyn XmppServer, user: &str, password: &str) {
    let mut other = Peer::start(server, user, password);
    let made = other.iq(
        "node1",
        "<iq type='set' id='node1'><pubsub xmlns='http://jabber.org/protocol/pubsub'>\
         <publish node='urn:xmpp:omemo:2:bundles'><item id='1'>\
         <bundle xmlns='urn:xmpp:omemo:2'/></item></publish>\
         <publish-options><x xmlns='jabber:x:data' type='submit'>\
         <field var='FORM_TYPE' type='hidden'>\
         <value>http://jabber.org/protocol/pubsub#publish-options</value></field>\
         <field var='pubsub#access_model'><value>presence</value></field>\
         </x></publish-options></pubsub></iq>",
    );
    assert_eq!(made, Ok(()), "the other client's node on {}", server.name());
}

on_both_servers! {
async fn two_sotto_accounts_chat_encrypted_across_a_restart_and_heal_a_broken_session(server) {
    let (a, a_pw) = new_user(server, "omea");
    let (b, b_pw) = new_user(server, "omeb");
    another_clients_bundles_node(server, &b, &b_pw);
    let (mut alice, mut bob) = contacts_with_devices(server, (&a, &a_pw), (&b, &b_pw)).await;
    let bob_device = bob.omemo_device();

    let secret = format!("omemo-secret-{}", Engine::new_message_id());
    let id = say(&alice, &bob, &format!("{secret} one"));
    sent(&mut alice, &id).await;
    let got = encrypted_in(&mut bob, "alice's first message").await;
    assert_eq!(got.body, format!("{secret} one"));
    // Our own copy is marked too.
    let mine = alice
        .store
        .all_messages(alice.jid.as_str())
        .expect("messages")
        .into_iter()
        .find(|m| m.origin_id.as_deref() == Some(id.as_str()))
        .expect("stored");
    assert!(mine.encrypted);

    let reply = say(&bob, &alice, &format!("{secret} two"));
    sent(&mut bob, &reply).await;
    assert_eq!(
        encrypted_in(&mut alice, "bob's reply").await.body,
        format!("{secret} two")
    );

    // Bob restarts: same store, so the same device and sessions.
    let bob_store = bob.store.clone();
    let bob_dir = bob._dir.take();
    bob.close().await;
    let mut bob = TestClient::with_store(bob_store, login(server, &b, &b_pw));
    bob._dir = bob_dir;
    bob.online().await;
    bob.settled().await;
    assert_eq!(bob.omemo_device(), bob_device, "a restart keeps the device");
    let id = say(&alice, &bob, &format!("{secret} three"));
    sent(&mut alice, &id).await;
    assert_eq!(
        encrypted_in(&mut bob, "a message after the restart")
            .await
            .body,
        format!("{secret} three")
    );
    let id = say(&bob, &alice, &format!("{secret} four"));
    sent(&mut bob, &id).await;
    assert_eq!(
        encrypted_in(&mut alice, "a reply after the restart")
            .await
            .body,
        format!("{secret} four")
    );

    // Break bob's session with alice's device behind his back.
    let alice_device = alice.omemo_device();
    let deleted = bob
        .store
        .omemo_delete_session(
            bob.jid.as_str(),
            alice.jid.as_str(),
            Profile::Omemo2,
            alice_device,
        )
        .expect("delete");
    assert!(
        deleted,
        "the chat used OMEMO 2 (both sides speak it) on {}",
        server.name()
    );
    let id = say(&alice, &bob, &format!("{secret} lost"));
    sent(&mut alice, &id).await;
    let notice = bob
        .incoming("the notice of a message that could not be read")
        .await;
    assert!(notice.omemo_notice, "{notice:?}");
    assert!(!notice.body.contains(&secret), "{}", notice.body);
    assert!(
        notice.body.contains(&alice_device.get().to_string())
            && notice.body.contains(alice.jid.as_str()),
        "the notice names the device: {}",
        notice.body
    );
    // Bob repaired on his own: a new session of his, started from alice's
    // bundle, whose empty key exchange alice answers by responding.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let session = alice
            .store
            .omemo_session(
                alice.jid.as_str(),
                bob.jid.as_str(),
                Profile::Omemo2,
                bob_device,
            )
            .expect("read");
        if session.is_some_and(|s| !s.is_initiator()) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "alice never got bob's repair"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let id = say(&alice, &bob, &format!("{secret} healed"));
    sent(&mut alice, &id).await;
    assert_eq!(
        encrypted_in(&mut bob, "a message after the repair")
            .await
            .body,
        format!("{secret} healed")
    );

    // The server's archive has the messages (the fallback notice), never
    // their text.
    // (Up to its apostrophe, which Prosody's storage escapes.)
    let fallback = sotto::xmpp::omemo::FALLBACK_BODY
        .split('\'')
        .next()
        .expect("text");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !on_disk(server.dir(), fallback) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing archived on disk"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        !on_disk(server.dir(), &secret),
        "plaintext on the server's disk"
    );

    // History and search work on what was decrypted.
    let hits = bob
        .store
        .search(Some(bob.jid.as_str()), "healed", 10)
        .expect("search");
    assert!(hits.iter().any(|h| h.message.direction == Direction::In));

    alice.close().await;
    bob.close().await;
}
}

/// A fresh relay token, unique on the server's disk.
fn token() -> String {
    (0..40)
        .map(|_| char::from(b"0123456789abcdef"[rand::random_range(0..16)]))
        .collect()
}

fn push_json(token: &str) -> String {
    format!("{{\"endpoint\": \"https://push.example.net/api/v1/\", \"tokens\": [\"{token}\"]}}")
}

on_both_servers! {
async fn push_info_reaches_one_contact_inside_omemo_2_and_never_in_clear(server) {
    let (a, a_pw) = new_user(server, "pushea");
    let (b, b_pw) = new_user(server, "pusheb");
    let (mut alice, mut bob) = contacts_with_devices(server, (&a, &a_pw), (&b, &b_pw)).await;

    let secret = token();
    alice.send(Command::SendPushInfo {
        account: alice.jid.clone(),
        contact: bob.jid.clone(),
        json: push_json(&secret),
    });
    alice
        .wait_for("the push info sent", |e| match e {
            Event::PushInfoSent { error: None, .. } => Some(()),
            Event::PushInfoSent { error: Some(e), .. } => panic!("not sent: {e}"),
            _ => None,
        })
        .await;
    let (tokens, source) = bob
        .wait_for("bob learns alice's push info", |e| match e {
            Event::PushInfoLearned { contact, tokens, source, .. } if *contact == alice.jid => {
                Some((*tokens, *source))
            }
            _ => None,
        })
        .await;
    assert_eq!((tokens, source), (1, sotto::model::PushSource::Message));
    let stored = bob
        .store
        .push_info(bob.jid.as_str(), alice.jid.as_str())
        .expect("read")
        .expect("stored");
    assert_eq!(
        stored.info.tokens.iter().map(|t| t.expose()).collect::<Vec<_>>(),
        [secret.as_str()]
    );
    // Nothing shown: it was not a message.
    assert!(
        bob.store
            .all_messages(bob.jid.as_str())
            .expect("messages")
            .is_empty()
    );
    assert!(!on_disk(server.dir(), &secret), "the token on the server's disk");

    // Bob's chat with alice is encrypted: push info in clear beside it
    // (any server on the way could have written it) is not believed.
    bob.send(Command::SetChatEncryption {
        account: bob.jid.clone(),
        peer: alice.jid.clone(),
        setting: sotto::store::ChatEncryption::On,
    });
    bob.wait_for("the chat encrypted", |e| {
        matches!(e, Event::ChatEncryption { .. }).then_some(())
    })
    .await;
    let planted = token();
    let mut other = Peer::start(server, &a, &a_pw);
    other.raw(&format!(
        "<message to='{}' type='chat' id='clear-push'>\
         <push-info xmlns='urn:sotto:knock:0'>{}</push-info></message>",
        bob.jid,
        push_json(&planted)
    ));
    other.send(bob.jid.as_str(), "barrier after the clear push info", "barrier", false);
    other.sync();
    bob.wait_for("the barrier", |e| match e {
        Event::Message { message, .. } if message.body.starts_with("barrier") => Some(()),
        Event::PushInfoLearned { .. } => panic!("push info in clear was believed"),
        _ => None,
    })
    .await;
    let stored = bob
        .store
        .push_info(bob.jid.as_str(), alice.jid.as_str())
        .expect("read")
        .expect("stored");
    assert_eq!(stored.info.tokens.len(), 1, "only the encrypted token is kept");
}
}
