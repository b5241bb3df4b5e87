//! The server dies and comes back; accounts reconnect by themselves.

use std::time::Duration;

use sotto::engine::{Command, Engine, Event};
use sotto::model::{ConnectionState, OutgoingMessage};
use sotto::xmpp::RetryPolicy;

use crate::client::TestClient;
use crate::harness::{Prosody, ProsodyOptions, new_user};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_come_back_after_the_server_restarts() {
    let mut server = Prosody::start(ProsodyOptions::default());
    let (a, a_pw) = new_user(&server, "phoenixa");
    let (b, b_pw) = new_user(&server, "phoenixb");
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
    // Let a few attempts fail while the server is down.
    tokio::time::sleep(Duration::from_secs(2)).await;
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
