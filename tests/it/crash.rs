//! SIGKILL `sotto` again and again in the middle of a burst of incoming
//! and outgoing messages: every message ends up stored exactly once, and
//! every message that was queued is delivered.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Child, Stdio};
use std::time::Duration;

use sotto::engine::{Command, Engine};
use sotto::model::OutgoingMessage;
use sotto::xmpp::RetryPolicy;

use crate::client::TestClient;
use crate::harness::{new_user, run_with_stdin, shared, sotto};

const ROUNDS: usize = 8;
const BURST: usize = 12;

fn start_chat(home: &std::path::Path, with: &str) -> Child {
    sotto(home)
        .args(["chat", with])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sotto chat")
}

fn count<'a>(bodies: impl Iterator<Item = &'a str>) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for body in bodies {
        *counts.entry(body.to_owned()).or_insert(0) += 1;
    }
    counts
}

#[test]
fn killing_sotto_mid_burst_loses_and_doubles_nothing() {
    let server = shared();
    let (a, a_pw) = new_user(server, "crasha");
    let (b, b_pw) = new_user(server, "crashb");
    let (alice_jid, bob_jid) = (format!("{a}@localhost"), format!("{b}@localhost"));
    let home = tempfile::tempdir().expect("tempdir");
    let mut add = sotto(home.path());
    add.args(["account", "add", &bob_jid, "--password-stdin", "--server"])
        .arg(server.starttls_address())
        .args(["--trust-fingerprint", &server.fingerprint.to_string()]);
    let out = run_with_stdin(add, &format!("{b_pw}\n"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut alice =
        rt.block_on(async { TestClient::start(server.account(&a), &a_pw, RetryPolicy::Forever) });
    rt.block_on(alice.online());

    let mut sent_by_alice = Vec::new();
    for round in 0..ROUNDS {
        let mut bob = Some(start_chat(home.path(), &alice_jid));
        let mut stdin = bob.as_mut().and_then(|b| b.stdin.take());
        // Each round dies at another point: while starting, mid-burst, or
        // just after it.
        let kill_at = (round * 5) % (BURST + 2);
        for i in 0..BURST {
            if i == kill_at
                && let Some(mut child) = bob.take()
            {
                child.kill().expect("SIGKILL");
                child.wait().expect("reap");
                stdin = None;
            }
            let body = format!("in {round}-{i}");
            alice.send(Command::SendMessage {
                account: alice.jid.clone(),
                message: OutgoingMessage {
                    id: Engine::new_message_id(),
                    to: bob_jid.parse().expect("jid"),
                    body: body.clone(),
                    plain: false,
                },
            });
            sent_by_alice.push(body);
            if let Some(stdin) = stdin.as_mut() {
                let _ = writeln!(stdin, "out {round}-{i}");
            }
            std::thread::sleep(Duration::from_millis(15));
        }
        if let Some(mut child) = bob.take() {
            std::thread::sleep(Duration::from_millis(40 * (round as u64 % 4)));
            child.kill().expect("SIGKILL");
            child.wait().expect("reap");
        }
    }

    // A last, calm run: it sends a few lines, delivers what earlier runs
    // queued, catches up, and exits once the outbox is empty.
    let mut last = sotto(home.path())
        .args(["chat", &alice_jid])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    {
        // A few more lines, then the end of input.
        let mut stdin = last.stdin.take().expect("stdin");
        for i in 0..4 {
            writeln!(stdin, "final {i}").expect("write");
        }
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = last.try_wait().expect("wait") {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the last run never finished"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "the last run failed");

    let export = sotto(home.path())
        .args(["export"])
        .output()
        .expect("export");
    assert!(export.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&export.stdout).expect("json");
    let messages = doc["messages"].as_array().expect("messages");
    let body_of = |m: &serde_json::Value| m["body"].as_str().expect("body").to_owned();
    let incoming: Vec<String> = messages
        .iter()
        .filter(|m| m["direction"] == "in")
        .map(body_of)
        .collect();
    let outgoing: Vec<&serde_json::Value> = messages
        .iter()
        .filter(|m| m["direction"] == "out")
        .collect();

    // Everything Alice sent reached Bob's store, once.
    let counts = count(incoming.iter().map(String::as_str));
    for body in &sent_by_alice {
        assert_eq!(
            counts.get(body),
            Some(&1),
            "{body} stored {:?} times",
            counts.get(body)
        );
    }
    assert_eq!(incoming.len(), sent_by_alice.len());

    // Everything Bob's store accepted was delivered: nothing still queued.
    for i in 0..4 {
        let body = format!("final {i}");
        assert!(
            outgoing.iter().any(|m| m["body"] == body.as_str()),
            "{body}"
        );
    }
    let out_counts = count(outgoing.iter().map(|m| m["body"].as_str().expect("body")));
    assert!(out_counts.values().all(|&n| n == 1), "{out_counts:?}");
    for m in &outgoing {
        let state = m["state"].as_str().expect("state");
        assert!(
            ["acked", "delivered", "read"].contains(&state),
            "{} is still {state}",
            m["body"]
        );
    }
    // ... and reached Alice exactly once.
    let expected: Vec<String> = outgoing.iter().map(|m| body_of(m)).collect();
    let alice_store = alice.store.clone();
    let bob_bare = bob_jid.clone();
    let mine = alice.jid.to_string();
    let got = rt.block_on(async move {
        for _ in 0..300 {
            let history = alice_store
                .messages_before(&mine, &bob_bare, None, 10_000)
                .expect("history");
            let received: Vec<String> = history
                .iter()
                .filter(|m| m.direction == sotto::store::Direction::In)
                .map(|m| m.body.clone())
                .collect();
            if received.len() >= expected.len() {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Vec::new()
    });
    let got_counts = count(got.iter().map(String::as_str));
    for m in &outgoing {
        let body = m["body"].as_str().expect("body");
        assert_eq!(
            got_counts.get(body),
            Some(&1),
            "{body} reached Alice {:?} times",
            got_counts.get(body)
        );
    }
}
