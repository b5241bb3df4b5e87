//! The `sotto` binary end to end, on the headless path: no keychain, the
//! store unlocked by a passphrase.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use crate::harness::{files_below, new_user, on_disk, run_with_stdin, shared, sotto};

fn add_account(home: &std::path::Path, jid: &str, password: &str, extra: &[&str]) {
    let mut cmd = sotto(home);
    cmd.args(["account", "add", jid, "--password-stdin"])
        .args(extra);
    let out = run_with_stdin(cmd, &format!("{password}\n"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "account add failed: {stdout}{stderr}");
    assert!(stdout.contains(&format!("Added {jid}")), "{stdout}");
    assert!(stdout.contains("encrypted database"), "{stdout}");
}

#[test]
fn cli_adds_accounts_sends_listens_and_lists_contacts() {
    let server = shared();
    let (a, a_pw) = new_user(server, "clia");
    let (b, b_pw) = new_user(server, "clib");
    let (alice, bob) = (format!("{a}@localhost"), format!("{b}@localhost"));
    let home_a = tempfile::tempdir().expect("tempdir");
    let home_b = tempfile::tempdir().expect("tempdir");
    let fp = server.fingerprint.to_string();

    add_account(
        home_a.path(),
        &alice,
        &a_pw,
        &[
            "--server",
            &server.starttls_address(),
            "--trust-fingerprint",
            &fp,
        ],
    );
    // Bob uses direct TLS (XEP-0368) on Prosody's other port.
    add_account(
        home_b.path(),
        &bob,
        &b_pw,
        &[
            "--server",
            &server.direct_tls_address(),
            "--direct-tls",
            "--trust-fingerprint",
            &fp,
        ],
    );

    let list = sotto(home_b.path())
        .args(["account", "list", "--json"])
        .output()
        .expect("run");
    assert!(list.status.success());
    let row: serde_json::Value =
        serde_json::from_slice(&list.stdout).expect("one JSON object per account");
    assert_eq!(row["jid"], bob.as_str());
    assert_eq!(row["tls"], "direct");
    assert_eq!(row["password_store"], "database");
    assert_eq!(row["pinned_certificate"], fp.as_str());

    // Bob listens for one message; Alice sends it.
    let mut listener = sotto(home_b.path())
        .args(["listen", "--count", "1", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn listen");
    let stderr = listener.stderr.take().expect("stderr");
    let (ready_tx, ready_rx) = mpsc::channel();
    let stderr_reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.starts_with("Listening as") {
                let _ = ready_tx.send(());
            }
            lines.push(line);
        }
        lines
    });
    if ready_rx.recv_timeout(Duration::from_secs(30)).is_err() {
        let _ = listener.kill();
        panic!("listen never came online: {:?}", stderr_reader.join());
    }

    // While it listens, a second process on the same folder cannot connect
    // the account too (it says why, in one line), but may still read.
    let second = sotto(home_b.path())
        .args(["send", &alice, "from a second process"])
        .output()
        .expect("run second send");
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "a second engine ran: {err}");
    assert!(err.contains("already running"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let reading = sotto(home_b.path())
        .args(["account", "list"])
        .output()
        .expect("run account list");
    assert!(
        reading.status.success(),
        "{}",
        String::from_utf8_lossy(&reading.stderr)
    );
    assert!(String::from_utf8_lossy(&reading.stdout).contains(&bob));

    // The most verbose logging still shows no secret and no message body.
    let sent = sotto(home_a.path())
        .args(["-vvv", "send", &bob, "Hello from the command line"])
        .output()
        .expect("run send");
    let log = String::from_utf8_lossy(&sent.stderr);
    assert!(sent.status.success(), "send failed: {log}");
    assert!(
        log.contains("DEBUG") || log.contains("TRACE"),
        "-vvv logs: {log}"
    );
    for secret in [
        a_pw.as_str(),
        "Hello from the command line",
        "test store passphrase",
    ] {
        assert!(!log.contains(secret), "the log leaks {secret:?}");
    }

    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(listener.wait_with_output());
    });
    let out = done_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("listen --count 1 must exit after one message")
        .expect("listen output");
    assert!(out.status.success(), "{:?}", stderr_reader.join());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let message: serde_json::Value = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON line"))
        .find(|v| v["type"] == "message")
        .unwrap_or_else(|| panic!("no message line in {stdout}"));
    assert_eq!(message["body"], "Hello from the command line");
    assert!(
        message["sender"]
            .as_str()
            .expect("sender")
            .starts_with(&alice)
    );
    assert_eq!(message["peer"], alice.as_str());

    // The store has it on both sides: history, search, export.
    let history = sotto(home_a.path())
        .args(["history", &bob])
        .output()
        .expect("run history");
    let text = String::from_utf8_lossy(&history.stdout);
    assert!(history.status.success());
    assert!(text.contains("me: Hello from the command line"), "{text}");
    assert!(text.contains('✓'), "acknowledged by the server: {text}");
    let history = sotto(home_b.path())
        .args(["history", "--json", &alice])
        .output()
        .expect("run history");
    let line: serde_json::Value =
        serde_json::from_slice(&history.stdout).expect("one JSON message");
    assert_eq!(line["direction"], "in");
    assert_eq!(line["body"], "Hello from the command line");
    let found = sotto(home_b.path())
        .args(["search", "command lin"])
        .output()
        .expect("run search");
    let text = String::from_utf8_lossy(&found.stdout);
    assert!(text.contains("«command» «line»"), "{text}");
    let export = sotto(home_a.path())
        .args(["export"])
        .output()
        .expect("run export");
    assert!(export.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&export.stdout).expect("JSON export");
    assert_eq!(doc["account"], alice.as_str());
    assert_eq!(doc["messages"][0]["body"], "Hello from the command line");
    assert_eq!(doc["conversations"][0]["peer"], bob.as_str());

    let contacts = sotto(home_a.path())
        .args(["contacts"])
        .output()
        .expect("run contacts");
    assert!(contacts.status.success());
    assert_eq!(
        String::from_utf8_lossy(&contacts.stdout).trim(),
        "No contacts yet."
    );

    // The headless path keeps the password encrypted: no file under the
    // app's home holds it.
    for (home, pw) in [(home_a.path(), &a_pw), (home_b.path(), &b_pw)] {
        for file in files_below(home) {
            let bytes = std::fs::read(&file).expect("read");
            let hit = bytes.windows(pw.len()).any(|w| w == pw.as_bytes());
            assert!(!hit, "{} contains the password in clear", file.display());
        }
    }

    let removed = sotto(home_a.path())
        .args(["account", "remove", &alice])
        .output()
        .expect("run");
    assert!(removed.status.success());
    let list = sotto(home_a.path())
        .args(["account", "list", "--json"])
        .output()
        .expect("run");
    assert!(list.stdout.is_empty());
}

#[test]
fn cli_failures_are_one_line_with_a_non_zero_status() {
    let home = tempfile::tempdir().expect("tempdir");
    let out = sotto(home.path())
        .args(["send", "bob@localhost", "hi"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no account yet"), "{stderr}");

    let out = sotto(home.path())
        .args(["account", "trust", "x@localhost", "not-a-fingerprint"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SHA-256"));
}

#[test]
fn a_wrong_store_passphrase_is_refused_clearly() {
    let server = shared();
    let (a, a_pw) = new_user(server, "vault");
    let jid = format!("{a}@localhost");
    let home = tempfile::tempdir().expect("tempdir");
    let fp = server.fingerprint.to_string();
    add_account(
        home.path(),
        &jid,
        &a_pw,
        &[
            "--server",
            &server.starttls_address(),
            "--trust-fingerprint",
            &fp,
        ],
    );
    let out = sotto(home.path())
        .env("SOTTO_PASSPHRASE", "not the passphrase")
        .args(["contacts"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("could not be unlocked"), "{stderr}");
}

/// Runs `sotto` in `home` with `args`; its stdout, or the test fails with
/// its stderr.
fn ok(home: &std::path::Path, args: &[&str]) -> String {
    let out = crate::harness::run_ok(sotto(home).args(args));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `sotto` expecting a refusal: its one-line stderr.
fn refused(home: &std::path::Path, args: &[&str]) -> String {
    let out = sotto(home).args(args).output().expect("run sotto");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{args:?} succeeded: {err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    err
}

fn json(home: &std::path::Path, args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(home, args)).expect("one JSON object")
}

#[test]
fn cli_compares_fingerprints_marks_trust_and_removes_a_stale_device() {
    let server = shared();
    let (a, a_pw) = new_user(server, "omclia");
    let (b, b_pw) = new_user(server, "omclib");
    let (alice, bob) = (format!("{a}@localhost"), format!("{b}@localhost"));
    let homes: Vec<_> = (0..3)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let (laptop, old_phone, bobs) = (homes[0].path(), homes[1].path(), homes[2].path());
    let fp = server.fingerprint.to_string();
    let address = server.starttls_address();
    let extra = ["--server", &address, "--trust-fingerprint", &fp];
    add_account(laptop, &alice, &a_pw, &extra);
    add_account(old_phone, &alice, &a_pw, &extra);
    add_account(bobs, &bob, &b_pw, &extra);

    // Each device is made on its first connection and lists itself.
    ok(bobs, &["send", &alice, "hello from bob"]);
    ok(old_phone, &["send", &bob, "from the old phone"]);
    ok(laptop, &["send", &bob, "from the laptop"]);

    let bobs_own = json(bobs, &["omemo", "fingerprint", "--json"]);
    let bobs_device = bobs_own["device"].as_u64().expect("device") as u32;
    let theirs = json(laptop, &["omemo", "devices", &bob, "--json"]);
    let seen = theirs["devices"]
        .as_array()
        .expect("devices")
        .iter()
        .find(|d| d["device"] == bobs_device && d["namespace"] == "omemo2")
        .unwrap_or_else(|| panic!("alice sees bob's device: {theirs}"))
        .clone();
    assert_eq!(
        seen["fingerprint"], bobs_own["fingerprints"]["omemo2"],
        "what alice sees is what bob's device shows"
    );
    assert_eq!(seen["trust"], "blind");
    let human = ok(bobs, &["omemo", "fingerprint"]);
    let printed = bobs_own["fingerprints"]["legacy"].as_str().expect("legacy");
    assert!(human.contains(printed), "{human}");
    assert!(
        printed.split(' ').all(|g| g.len() == 8),
        "groups of 8 hex digits, as other clients show them: {printed}"
    );

    // A fingerprint that does not match marks nothing.
    let device = bobs_device.to_string();
    let err = refused(
        laptop,
        &[
            "omemo",
            "trust",
            &bob,
            &device,
            "--fingerprint",
            "00000000 11111111",
        ],
    );
    assert!(err.contains("not the one given"), "{err}");
    let verified = ok(
        laptop,
        &[
            "omemo",
            "trust",
            &bob,
            &device,
            "--fingerprint",
            &seen["fingerprint"].as_str().expect("fp").to_uppercase(),
        ],
    );
    assert!(verified.contains("verified"), "{verified}");
    let trust_of = |home| {
        json(home, &["omemo", "devices", &bob, "--json"])["devices"]
            .as_array()
            .expect("devices")
            .iter()
            .filter(|d| d["device"] == bobs_device && d["fingerprint"].is_string())
            .map(|d| d["trust"].as_str().expect("trust").to_owned())
            .collect::<Vec<_>>()
    };
    assert!(trust_of(laptop).iter().all(|t| t == "verified"));
    ok(laptop, &["omemo", "untrust", &bob, &device]);
    assert!(trust_of(laptop).iter().all(|t| t == "untrusted"));
    let err = refused(laptop, &["omemo", "trust", &bob, "4242"]);
    assert!(err.contains("does not know the fingerprint"), "{err}");

    // A chat's encryption, shown and set.
    assert!(ok(laptop, &["omemo", "encryption", &bob]).contains("encrypted"));
    assert!(ok(laptop, &["omemo", "encryption", &bob, "off"]).contains("now not encrypted"));
    assert!(ok(laptop, &["omemo", "encryption", &bob]).contains("turned off"));

    // The old phone is gone: the laptop takes it off alice's lists.
    let phone = json(old_phone, &["omemo", "fingerprint", "--json"])["device"]
        .as_u64()
        .expect("device")
        .to_string();
    let laptops = json(laptop, &["omemo", "fingerprint", "--json"])["device"]
        .as_u64()
        .expect("device")
        .to_string();
    let err = refused(laptop, &["omemo", "remove-device", &laptops]);
    assert!(err.contains("this device"), "{err}");
    let err = refused(laptop, &["omemo", "remove-device", "4242"]);
    assert!(err.contains("not on this account's device lists"), "{err}");
    let removed = ok(laptop, &["omemo", "remove-device", &phone]);
    assert!(removed.contains("off your device lists"), "{removed}");
    // Bob reads alice's lists afresh when he writes next.
    ok(bobs, &["send", &alice, "after the removal"]);
    let alices = json(bobs, &["omemo", "devices", &alice, "--json"]);
    let listed = |id: &str| {
        alices["devices"]
            .as_array()
            .expect("devices")
            .iter()
            .any(|d| d["device"].as_u64() == id.parse().ok() && d["active"] == true)
    };
    assert!(listed(&laptops), "{alices}");
    assert!(
        !listed(&phone),
        "the removed device is still listed: {alices}"
    );
}

#[test]
fn cli_sends_in_clear_only_when_asked_and_never_in_an_always_encrypted_chat() {
    let server = shared();
    let (a, a_pw) = new_user(server, "omplaina");
    let (b, b_pw) = new_user(server, "omplainb");
    let (alice, bob) = (format!("{a}@localhost"), format!("{b}@localhost"));
    let homes: Vec<_> = (0..2)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let (alices, bobs) = (homes[0].path(), homes[1].path());
    let fp = server.fingerprint.to_string();
    let address = server.starttls_address();
    let extra = ["--server", &address, "--trust-fingerprint", &fp];
    add_account(alices, &alice, &a_pw, &extra);
    add_account(bobs, &bob, &b_pw, &extra);
    // Bob's device is made, and listed, on his first connection.
    ok(bobs, &["send", &alice, "hello from bob"]);

    ok(alices, &["send", &bob, "secret by default 7f3a"]);
    // That encrypted message made the chat always-encrypted: --plain is
    // refused before anything is queued or sent.
    for args in [
        &["send", "--plain", &bob, "never in clear 7f3a"][..],
        &["chat", "--plain", &bob][..],
    ] {
        let err = refused(alices, args);
        assert!(
            err.contains("always encrypted") && err.contains("sotto omemo encryption"),
            "{err}"
        );
    }
    let history = ok(alices, &["history", &bob, "--json"]);
    assert!(!history.contains("never in clear"), "{history}");

    // Back to following the contact: --plain now goes in clear, and the
    // next message is encrypted again.
    ok(alices, &["omemo", "encryption", &bob, "auto"]);
    ok(
        alices,
        &["send", "--plain", &bob, "in clear on purpose 7f3a"],
    );
    ok(alices, &["send", &bob, "secret again 7f3a"]);
    let data = server.dir().join("data");
    assert!(on_disk(&data, "in clear on purpose 7f3a"));
    for secret in [
        "secret by default 7f3a",
        "secret again 7f3a",
        "never in clear 7f3a",
    ] {
        assert!(
            !on_disk(&data, secret),
            "{secret} reached the server in clear"
        );
    }
    assert!(
        ok(alices, &["omemo", "encryption", &bob]).contains("nothing goes out in clear"),
        "the encrypted message made the chat always-encrypted again"
    );

    // Bob's side: each stored as it travelled.
    ok(bobs, &["listen", "-n", "3"]);
    let seen: Vec<(String, bool)> = ok(bobs, &["history", &alice, "--json"])
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
        .filter(|m| m["direction"] == "in")
        .map(|m| {
            (
                m["body"].as_str().expect("body").to_owned(),
                m["encrypted"].as_bool().expect("encrypted"),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("secret by default 7f3a".to_owned(), true),
            ("in clear on purpose 7f3a".to_owned(), false),
            ("secret again 7f3a".to_owned(), true),
        ]
    );
}
