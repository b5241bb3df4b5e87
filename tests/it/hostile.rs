//! Hostile input: what any XMPP user (through a stock Prosody) or a
//! hostile server can send. Nothing crashes Sotto, locks the account out,
//! or fools it; each case was a finding against the release binary.

use sotto::engine::{AccountLogin, Command, Event};
use sotto::model::{Availability, ConnectionState, OutgoingState};
use sotto::store::{Store, StoreKey};
use sotto::xmpp::RetryPolicy;

use crate::client::{TestClient, rand_key};
use crate::fake_server::{FakeServer, Script};
use crate::harness::{new_user, shared};
use crate::peers::Peer;

/// `depth` nested elements, as one string, without recursion.
fn nested(depth: usize) -> String {
    let mut xml = String::with_capacity(depth * 20);
    for _ in 0..depth {
        xml.push_str("<a xmlns='urn:example:deep'>");
    }
    for _ in 0..depth {
        xml.push_str("</a>");
    }
    xml
}

/// Connection states seen after the first time online, other than online.
fn interruptions(client: &TestClient) -> Vec<String> {
    let mut online = false;
    let mut after = Vec::new();
    for e in &client.seen {
        if let Event::Connection { state, .. } = e {
            match state {
                ConnectionState::Online { .. } => online = true,
                other if online => after.push(format!("{other:?}")),
                _ => {}
            }
        }
    }
    after
}

fn victim_on(store: &Store, account: sotto::config::AccountConfig, pw: &str) -> TestClient {
    TestClient::with_store(
        store.clone(),
        AccountLogin {
            config: account,
            password: Some(secrecy::SecretString::from(pw.to_owned())),
            presence: Some((Availability::Available, None)),
            retry: RetryPolicy::Forever,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deeply_nested_message_from_a_stranger_costs_nothing() {
    let server = shared();
    let (v, v_pw) = new_user(server, "deepv");
    let (m, m_pw) = new_user(server, "deepm");
    let mut victim = TestClient::start(server.account(&v), &v_pw, RetryPolicy::Forever);
    victim.online().await;
    let victim_jid = victim.jid.to_string();
    let mut mallory = Peer::start(server, &m, &m_pw);
    // No roster relationship: anyone can send this. 5,000 levels used to
    // overflow a worker's stack and abort the whole process.
    mallory.raw(&format!(
        "<message to='{victim_jid}' type='chat' id='deep1'>{}</message>",
        nested(5000)
    ));
    mallory.send(&victim_jid, "still here?", "after-deep", false);
    mallory.sync();
    let next = victim.incoming("the message after the deep one").await;
    assert_eq!(next.body, "still here?");
    assert!(
        interruptions(&victim).is_empty(),
        "the stream went on: {:?}",
        interruptions(&victim)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_in_the_archive_costs_at_most_one_catch_up() {
    let server = shared();
    let (v, v_pw) = new_user(server, "poisonv");
    let (m, m_pw) = new_user(server, "poisonm");
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        Store::open(&dir.path().join("v.db"), &StoreKey::from_bytes(rand_key())).expect("store");
    let mut victim = victim_on(&store, server.account(&v), &v_pw);
    victim.online().await;
    victim
        .wait_for("first catch-up", |e| {
            matches!(e, Event::CatchUp { done: true, .. }).then_some(())
        })
        .await;
    let victim_jid = victim.jid.to_string();
    let mut mallory = Peer::start(server, &m, &m_pw);
    // With a body, so the server archives it: every catch-up meets it
    // again. One too deep; one with an attribute value past rxml's old
    // 8 KiB token limit, which used to tear the stream down.
    mallory.raw(&format!(
        "<message to='{victim_jid}' type='chat' id='p1'><body>deep poison</body>{}</message>",
        nested(3000)
    ));
    mallory.raw(&format!(
        "<message to='{victim_jid}' type='chat' id='p2'><body>long attribute</body>\
         <x xmlns='urn:example:long' a='{}'/></message>",
        "A".repeat(12_000)
    ));
    mallory.send(&victim_jid, "first real message", "r1", false);
    mallory.sync();
    let long = victim.incoming("the long-attribute message").await;
    assert_eq!(long.body, "long attribute", "a long attribute is fine");
    let real = victim.incoming("the real message").await;
    assert_eq!(real.body, "first real message");
    assert!(
        interruptions(&victim).is_empty(),
        "{:?}",
        interruptions(&victim)
    );
    victim.send(Command::Shutdown);
    drop(victim);

    // Away: the poison waits in the archive, with more real messages.
    mallory.send(&victim_jid, "while you were away", "r2", false);
    mallory.sync();
    let mut victim = victim_on(&store, server.account(&v), &v_pw);
    victim.online().await;
    victim
        .wait_for("catch-up past the poison", |e| {
            matches!(e, Event::CatchUp { done: true, .. }).then_some(())
        })
        .await;
    mallory.send(&victim_jid, "after the restart", "r3", false);
    mallory.sync();
    victim
        .wait_for("the live message after the restart", |e| match e {
            Event::Message { message, .. } if message.body == "after the restart" => Some(()),
            _ => None,
        })
        .await;
    let history: Vec<String> = store
        .messages_before(victim.jid.as_str(), &format!("{m}@localhost"), None, 20)
        .expect("history")
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(
        history,
        [
            "long attribute",
            "first real message",
            "while you were away",
            "after the restart"
        ],
        "every real message once; the deep one skipped"
    );
    assert!(
        interruptions(&victim).is_empty(),
        "{:?}",
        interruptions(&victim)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_servers_huge_stanza_is_skipped_and_the_stream_goes_on() {
    let huge = "B".repeat(20 * 1024 * 1024);
    let bigger_than_the_cap = "C".repeat(300 * 1024);
    let server = FakeServer::start(Script {
        after_bind: vec![
            format!(
                "<message from='eve@localhost/x' to='user@localhost/fake' type='chat' id='h1'>\
                 <body>{huge}</body></message>"
            ),
            format!(
                "<message from='eve@localhost/x' to='user@localhost/fake' type='chat' id='h2'>\
                 <body>{bigger_than_the_cap}</body></message>"
            ),
            "<message from='eve@localhost/x' to='user@localhost/fake' type='chat' id='h3'>\
             <body>after the flood</body></message>"
                .into(),
        ],
        ..Script::default()
    })
    .await;
    let mut client = TestClient::start(
        server.account("user"),
        "fake-password",
        RetryPolicy::Forever,
    );
    client.online().await;
    let first = client.incoming("the first message that fits").await;
    // 300 KiB is under the 1 MiB stanza limit: kept, but cut to the body cap.
    assert!(first.body.starts_with("CCCC"));
    assert!(
        first.body.len() <= sotto::engine::MAX_BODY_BYTES + 200,
        "stored body capped: {} bytes",
        first.body.len()
    );
    let next = client.incoming("the message after the flood").await;
    assert_eq!(next.body, "after the flood");
    assert!(
        interruptions(&client).is_empty(),
        "{:?}",
        interruptions(&client)
    );
    assert_eq!(server.seen.lock().expect("lock").connections, 1);
}

async fn refused(script: Script) -> (String, FakeServer) {
    let server = FakeServer::start(script).await;
    let mut client = TestClient::start(
        server.account("user"),
        "fake-password",
        RetryPolicy::Forever,
    );
    let (reason, _) = client.failed().await;
    (reason, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_cannot_prove_it_knows_the_password_is_refused() {
    let (reason, server) = refused(Script {
        honest_signature: false,
        ..Script::default()
    })
    .await;
    assert!(reason.contains("could not prove"), "{reason}");
    let seen = server.seen.lock().expect("lock");
    assert!(!seen.bound, "no resource bound with a lying server");
    assert!(!seen.received.contains("<bind"), "{}", seen.received);
    assert_eq!(seen.connections, 1, "a lying server is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absurd_iteration_count_is_refused_before_hashing() {
    let (reason, server) = refused(Script {
        iterations: 2_000_000_000,
        ..Script::default()
    })
    .await;
    assert!(reason.contains("2000000000"), "{reason}");
    assert!(
        !server
            .seen
            .lock()
            .expect("lock")
            .received
            .contains("<response"),
        "no proof computed or sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_nonce_that_does_not_extend_ours_is_refused() {
    let (reason, _) = refused(Script {
        nonce_extends_ours: false,
        ..Script::default()
    })
    .await;
    assert!(reason.contains("nonce"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_honest_server_is_proved_and_the_binding_flags_are_right() {
    // Plain SCRAM only, on a TLS 1.3 connection that could bind: the y
    // flag, so a -PLUS server behind a stripped list would notice.
    let server = FakeServer::start(Script::default()).await;
    let mut client = TestClient::start(server.account("user"), "fake-password", RetryPolicy::Never);
    client.online().await;
    let first = server.seen.lock().expect("lock").client_first.clone();
    assert!(
        first.as_deref().is_some_and(|f| f.starts_with("y,,")),
        "{first:?}"
    );

    // -PLUS offered without XEP-0440: tls-exporter on TLS 1.3.
    let server = FakeServer::start(Script {
        mechanisms: vec!["SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"],
        ..Script::default()
    })
    .await;
    let mut client = TestClient::start(server.account("user"), "fake-password", RetryPolicy::Never);
    // The fake server cannot check the binding; it signs anyway.
    client.online().await;
    let first = server.seen.lock().expect("lock").client_first.clone();
    assert!(
        first
            .as_deref()
            .is_some_and(|f| f.starts_with("p=tls-exporter,,")),
        "{first:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_get_no_receipts_and_cannot_plant_push_info() {
    let server = shared();
    let (v, v_pw) = new_user(server, "strangev");
    let (m, m_pw) = new_user(server, "strangem");
    let mut victim = TestClient::start(server.account(&v), &v_pw, RetryPolicy::Forever);
    victim.online().await;
    let victim_jid = victim.jid.to_string();
    let mallory_jid = format!("{m}@localhost");
    let mut mallory = Peer::start(server, &m, &m_pw);
    mallory.send(&victim_jid, "are you there?", "ask1", true);
    mallory.raw(&format!(
        "<message to='{victim_jid}' type='chat' id='pi1'><push-info xmlns='urn:sotto:knock:0'>\
         {{\"endpoint\": \"https://push.example.net/api/v1/\", \"tokens\": [\"{}\"]}}</push-info></message>",
        "a".repeat(40)
    ));
    mallory.send(&victim_jid, "barrier", "b1", false);
    mallory.sync();
    victim
        .wait_for("the barrier", |e| match e {
            Event::Message { message, .. } if message.body == "barrier" => Some(()),
            _ => None,
        })
        .await;
    // A receipt would have gone out right after the first message was
    // stored, before anything the victim sends later.
    victim.send(Command::SendMessage {
        account: victim.jid.clone(),
        message: sotto::model::OutgoingMessage {
            id: sotto::Engine::new_message_id(),
            to: mallory_jid.parse().expect("jid"),
            body: "who are you?".into(),
            plain: false,
        },
    });
    mallory.message_from(&victim_jid);
    let receipts: Vec<_> = mallory
        .drain()
        .iter()
        .filter(|e| e.get("receipt").is_some())
        .cloned()
        .collect();
    assert!(
        receipts.is_empty(),
        "a stranger learned we are online: {receipts:?}"
    );
    assert!(
        victim
            .store
            .push_info(victim.jid.as_str(), &mallory_jid)
            .expect("read")
            .is_none(),
        "push info from a stranger is not kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_and_bounces_count_only_from_whom_the_message_went_to() {
    let server = shared();
    let (a, a_pw) = new_user(server, "witnessa");
    let (b, b_pw) = new_user(server, "witnessb");
    let (m, m_pw) = new_user(server, "witnessm");
    let mut alice = TestClient::start(server.account(&a), &a_pw, RetryPolicy::Forever);
    // Forged to the full JID, the way a real bounce comes (the server
    // drops errors addressed to a bare JID).
    let alice_full = alice.online().await;
    let alice_jid = alice.jid.to_string();
    let bob_jid = format!("{b}@localhost");
    // Bob is a real peer that never sends receipts by itself.
    let mut bob = Peer::start(server, &b, &b_pw);
    let id = sotto::Engine::new_message_id();
    alice.send(Command::SendMessage {
        account: alice.jid.clone(),
        message: sotto::model::OutgoingMessage {
            id: id.clone(),
            to: bob_jid.parse().expect("jid"),
            body: "for Bob only".into(),
            plain: false,
        },
    });
    bob.message_from(&alice_jid);
    let mut mallory = Peer::start(server, &m, &m_pw);
    // Mallory forges Bob's receipt, marker and a bounce for the id.
    mallory.raw(&format!(
        "<message to='{alice_full}'><received xmlns='urn:xmpp:receipts' id='{id}'/></message>"
    ));
    mallory.raw(&format!(
        "<message to='{alice_jid}' type='chat'><displayed xmlns='urn:xmpp:chat-markers:0' \
         id='{id}'/></message>"
    ));
    mallory.raw(&format!(
        "<message to='{alice_full}' type='error' id='{id}'><error type='cancel'>\
         <service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>"
    ));
    mallory.send(&alice_jid, "barrier", "b2", false);
    mallory.sync();
    alice
        .wait_for("the barrier", |e| match e {
            Event::Message { message, .. } if message.body == "barrier" => Some(()),
            _ => None,
        })
        .await;
    let stored = alice
        .store
        .messages_before(alice.jid.as_str(), &bob_jid, None, 5)
        .expect("history");
    assert_eq!(
        stored[0].state,
        sotto::store::MessageState::Acked,
        "{stored:?}"
    );
    // Bob's own receipt counts.
    bob.raw(&format!(
        "<message to='{alice_jid}'><received xmlns='urn:xmpp:receipts' id='{id}'/></message>"
    ));
    alice
        .wait_for("Bob's real receipt", |e| match e {
            Event::MessageState { id: got, state, .. } if *got == id => {
                (*state == OutgoingState::Delivered).then_some(())
            }
            _ => None,
        })
        .await;
}
