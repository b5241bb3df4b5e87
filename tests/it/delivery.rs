//! Our messages on their way: what each state means on every kind of
//! server and link, found by running Sotto against real servers.

use std::time::{Duration, Instant};

use sotto::engine::{AccountLogin, Command, Engine, Event};
use sotto::model::{Availability, ConnectionState, OutgoingMessage, OutgoingState};
use sotto::store::{MessageState, Store, StoreKey};
use sotto::xmpp::RetryPolicy;

use crate::client::{TestClient, rand_key};
use crate::harness::{Prosody, ProsodyOptions, new_user};
use crate::peers::Peer;
use crate::proxy::Proxy;

fn say(from: &TestClient, to: &str, body: &str) -> String {
    let id = Engine::new_message_id();
    from.send(Command::SendMessage {
        account: from.jid.clone(),
        message: OutgoingMessage {
            id: id.clone(),
            to: to.parse().expect("jid"),
            body: body.into(),
            plain: false,
        },
    });
    id
}

async fn reached(client: &mut TestClient, id: &str, want: OutgoingState) {
    let what = format!("{id} {want:?}");
    client
        .wait_for(&what, |e| match e {
            Event::MessageState { id: got, state, .. } if got == id => {
                if let (OutgoingState::Failed { reason }, false) =
                    (state, matches!(want, OutgoingState::Failed { .. }))
                {
                    panic!("{reason}");
                }
                (std::mem::discriminant(state) == std::mem::discriminant(&want)).then_some(())
            }
            _ => None,
        })
        .await;
}

async fn state_is(client: &mut TestClient, want: fn(&ConnectionState) -> bool, what: &str) {
    client
        .wait_for(what, |e| match e {
            Event::Connection { state, .. } if want(state) => Some(()),
            _ => None,
        })
        .await;
}

on_both_servers! {
    async fn messages_typed_while_the_link_is_down_go_out_on_the_resumed_stream(server) {
        let (a, a_pw) = new_user(server, "cuta");
        let (b, b_pw) = new_user(server, "cutb");
        let proxy = Proxy::start(server.c2s_port()).await;
        let mut account = server.account(&a);
        account.server = Some(format!("127.0.0.1:{}", proxy.port).parse().expect("addr"));
        let mut alice = TestClient::start(account, &a_pw, RetryPolicy::Forever);
        alice.online().await;
        let mut bob = Peer::start(server, &b, &b_pw);
        let bob_jid = bob.jid.clone();
        let alice_jid = alice.jid.to_string();

        proxy.cut();
        state_is(&mut alice, |s| matches!(s, ConnectionState::Suspended), "the drop").await;
        let ids: Vec<String> = ["typed", "while", "offline"]
            .iter()
            .map(|body| say(&alice, &bob_jid, body))
            .collect();
        state_is(
            &mut alice,
            |s| matches!(s, ConnectionState::Online { resumed: true, .. }),
            "resumption",
        )
        .await;
        let mut waiting: std::collections::HashSet<String> = ids.iter().cloned().collect();
        alice
            .wait_for("all three acked", |e| match e {
                Event::MessageState { id, state: OutgoingState::Acked, .. } => {
                    waiting.remove(id);
                    waiting.is_empty().then_some(())
                }
                _ => None,
            })
            .await;
        let got: Vec<String> = (0..3)
            .map(|_| {
                bob.message_from(&alice_jid)["body"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        assert_eq!(got, ["typed", "while", "offline"], "on the resumed stream, in order");
        assert!(
            alice.store.outbox(alice.jid.as_str()).expect("outbox").is_empty(),
            "nothing left waiting for a later login"
        );
    }
}

on_both_servers! {
    async fn a_bounce_after_the_servers_ack_fails_the_message(server) {
        let (a, a_pw) = new_user(server, "bouncea");
        let (b, b_pw) = new_user(server, "bounceb");
        let mut alice = TestClient::start(server.account(&a), &a_pw, RetryPolicy::Forever);
        alice.online().await;
        let mut bob = Peer::start(server, &b, &b_pw);
        let alice_jid = alice.jid.to_string();
        let id = say(&alice, &bob.jid.clone(), "are you there?");
        reached(&mut alice, &id, OutgoingState::Acked).await;
        let got = bob.message_from(&alice_jid);
        // The recipient's side refuses it after our server took it, to the
        // full JID it came from (errors to a bare JID are dropped, RFC 6121
        // §8.5.2.1.1).
        let sender = got["from"].as_str().unwrap_or_default().to_owned();
        bob.raw(&format!(
            "<message to='{sender}' type='error' id='{id}'><error type='cancel'>\
             <recipient-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"
        ));
        reached(
            &mut alice,
            &id,
            OutgoingState::Failed {
                reason: String::new(),
            },
        )
        .await;
        let stored = alice
            .store
            .messages_before(alice.jid.as_str(), &bob.jid, None, 5)
            .expect("history");
        assert_eq!(stored[0].state, MessageState::Failed);
        assert_eq!(stored[0].failure.as_deref(), Some("recipient unavailable"));
    }
}

on_both_servers! {
    async fn a_dead_link_is_noticed_within_about_thirty_seconds_then_resumed(server) {
        let (a, a_pw) = new_user(server, "deada");
        let (b, b_pw) = new_user(server, "deadb");
        let proxy = Proxy::start(server.c2s_port()).await;
        let mut account = server.account(&a);
        account.server = Some(format!("127.0.0.1:{}", proxy.port).parse().expect("addr"));
        let mut alice = TestClient::start(account, &a_pw, RetryPolicy::Forever);
        alice.online().await;
        alice.settled().await;
        // The link goes silent: no byte passes, no socket closes.
        proxy.stall();
        let stalled = Instant::now();
        alice
            .wait_within(Duration::from_secs(60), "notice of the dead link", |e| match e {
                Event::Connection {
                    state: ConnectionState::Suspended,
                    ..
                } => Some(()),
                _ => None,
            })
            .await;
        let noticed = stalled.elapsed();
        // 20 s of silence, then 10 s for an answer to our probe.
        assert!(
            noticed <= Duration::from_secs(36),
            "a dead link went unnoticed for {noticed:?}"
        );
        state_is(
            &mut alice,
            |s| matches!(s, ConnectionState::Online { resumed: true, .. }),
            "resumption on a new connection",
        )
        .await;
        let mut bob = Peer::start(server, &b, &b_pw);
        let alice_jid = alice.jid.to_string();
        say(&alice, &bob.jid.clone(), "back");
        assert_eq!(bob.message_from(&alice_jid)["body"], "back");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_stream_management_a_written_message_is_sent_and_not_sent_again() {
    let server = Prosody::start(ProsodyOptions {
        stream_management: false,
        ..ProsodyOptions::default()
    });
    let (a, a_pw) = new_user(&server, "nosma");
    let (b, b_pw) = new_user(&server, "nosmb");
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        Store::open(&dir.path().join("a.db"), &StoreKey::from_bytes(rand_key())).expect("store");
    let login = || AccountLogin {
        config: server.account(&a),
        password: Some(secrecy::SecretString::from(a_pw.clone())),
        presence: Some((Availability::Available, None)),
        retry: RetryPolicy::Forever,
    };
    let mut alice = TestClient::with_store(store.clone(), login());
    let acks = alice
        .wait_for("online", |e| match e {
            Event::Connection {
                state: ConnectionState::Online { acks, .. },
                ..
            } => Some(*acks),
            _ => None,
        })
        .await;
    assert!(!acks, "this server does not do XEP-0198");
    let mut bob = Peer::start(&server, &b, &b_pw);
    let bob_jid = bob.jid.clone();
    let alice_jid = alice.jid.to_string();
    let id = say(&alice, &bob_jid, "once");
    reached(&mut alice, &id, OutgoingState::Sent).await;
    assert_eq!(bob.message_from(&alice_jid)["body"], "once");
    let stored = store
        .messages_before(alice.jid.as_str(), &bob_jid, None, 5)
        .expect("history");
    assert_eq!(
        stored[0].state,
        MessageState::Sent,
        "not failed: it went out"
    );
    assert!(store.outbox(alice.jid.as_str()).expect("outbox").is_empty());
    alice.close().await;

    // A later connection sends nothing blindly again.
    let alice = TestClient::with_store(store.clone(), login());
    let mut alice = alice;
    alice.online().await;
    say(&alice, &bob_jid, "after the restart");
    let next = bob.message_from(&alice_jid);
    assert_eq!(
        next["body"], "after the restart",
        "no second copy of the first"
    );
}
