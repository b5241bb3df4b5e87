//! The server dies and comes back; accounts reconnect by themselves.

use std::time::Duration;

use sotto::engine::{Command, Engine, Event};
use sotto::model::{ConnectionState, OutgoingMessage};
use sotto::xmpp::RetryPolicy;

use crate::client::TestClient;
use crate::ejabberd::Ejabberd;
use crate::harness::{Prosody, ProsodyOptions, Restartable, new_user};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_come_back_after_prosody_restarts() {
    comes_back(&mut Prosody::start(ProsodyOptions::default())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_come_back_after_ejabberd_restarts() {
    comes_back(&mut Ejabberd::start()).await;
}

/// A server SIGKILLed, as a crash would, and started again with the same
/// data: both accounts come back by themselves and talk.
async fn comes_back(server: &mut impl Restartable) {
    let (a, a_pw) = new_user(server, "phoenixa");
    let (b, b_pw) = new_user(server, "phoenixb");
    // The accounts must outlive the crash.
    server.flush();
    let mut alice = TestClient::start(server.account(&a), &a_pw, RetryPolicy::Forever);
    let mut bob = TestClient::start(server.account(&b), &b_pw, RetryPolicy::Forever);
    alice.online().await;
    bob.online().await;

    server.kill();
    alice
        .wait_for("notice of the dropped link", |e| match e {
            Event::Connection {
                state: ConnectionState::Suspended | ConnectionState::WaitingToRetry { .. },
                ..
            } => Some(()),
            _ => None,
        })
        .await;
    // Let an attempt fail while the server is down.
    alice
        .wait_for("a failed attempt", |e| match e {
            Event::Connection {
                state: ConnectionState::WaitingToRetry { .. },
                ..
            } => Some(()),
            _ => None,
        })
        .await;
    server.restart();

    // The backoff is capped at two minutes; on loopback with the server
    // down for ~2 s the next attempt comes within a few seconds.
    let patience = Duration::from_secs(45);
    alice.wait_within(patience, "reconnection", online).await;
    bob.wait_within(patience, "reconnection", online).await;

    let id = Engine::new_message_id();
    alice.send(Command::SendMessage {
        account: alice.jid.clone(),
        message: OutgoingMessage {
            id,
            to: bob.jid.clone(),
            body: "still here".into(),
            plain: false,
        },
    });
    let message = bob.incoming("message after reconnecting").await;
    assert_eq!(message.body, "still here");
}

fn online(e: &Event) -> Option<()> {
    match e {
        Event::Connection {
            state: ConnectionState::Online { resumed, .. },
            ..
        } => {
            // A new server process cannot resume the old stream.
            assert!(!resumed);
            Some(())
        }
        Event::Connection {
            state: ConnectionState::Failed { reason, .. },
            ..
        } => panic!("gave up: {reason}"),
        _ => None,
    }
}
