//! Refusals: no TLS, untrusted certificates, changed certificates, wrong
//! passwords.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sotto::engine::Event;
use sotto::model::ConnectionState;
use sotto::xmpp::RetryPolicy;

use crate::client::TestClient;
use crate::harness::{Prosody, ProsodyOptions, new_user, run_with_stdin, shared, sotto};

/// A fake server that answers the stream header with features lacking
/// `<starttls/>`, as a stripping attacker would, and records what the
/// client sends afterwards.
fn stripping_server() -> (u16, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let log = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 4096];
            let mut seen = Vec::new();
            while !String::from_utf8_lossy(&seen).contains("<stream:stream") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            let _ = stream.write_all(
                b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
                  xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='localhost' \
                  version='1.0'><stream:features><mechanisms \
                  xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism>\
                  <mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>",
            );
            loop {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => log.lock().expect("lock").extend_from_slice(&buf[..n]),
                }
            }
        }
    });
    (port, received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_starttls_is_refused_and_gets_no_credentials() {
    let (port, received) = stripping_server();
    let mut account = shared().account("victim");
    account.server = Some(format!("127.0.0.1:{port}").parse().expect("addr"));
    let mut client = TestClient::start(account, "secret-password", RetryPolicy::Forever);
    let (reason, certificate) = client.failed().await;
    assert!(reason.contains("offered no encryption"), "{reason}");
    assert_eq!(certificate, None);
    let after = String::from_utf8_lossy(&received.lock().expect("lock")).into_owned();
    assert!(
        !after.contains("<auth"),
        "credentials sent in the clear: {after}"
    );
    assert!(!after.contains("secret-password"));
}

#[test]
fn an_untrusted_certificate_is_refused_and_its_fingerprint_shown() {
    let server = shared();
    let (a, a_pw) = new_user(server, "tofu");
    let jid = format!("{a}@localhost");
    let home = tempfile::tempdir().expect("tempdir");
    let mut cmd = sotto(home.path());
    cmd.args(["account", "add", &jid, "--password-stdin", "--server"])
        .arg(server.starttls_address());
    let out = run_with_stdin(cmd, &format!("{a_pw}\n"));
    assert!(!out.status.success(), "an unknown CA must not be accepted");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let fp = server.fingerprint.to_string();
    assert!(stderr.contains("not trusted"), "{stderr}");
    assert!(
        stderr.contains(&fp),
        "the error names the fingerprint: {stderr}"
    );
    assert!(
        stderr.contains(&format!("sotto account trust {jid} {fp}")),
        "{stderr}"
    );
    let list = sotto(home.path())
        .args(["account", "list", "--json"])
        .output()
        .expect("run");
    assert!(list.stdout.is_empty(), "a refused account is not saved");

    // Trust on first use: pin exactly that fingerprint and it connects.
    let mut cmd = sotto(home.path());
    cmd.args(["account", "add", &jid, "--password-stdin", "--server"])
        .arg(server.starttls_address())
        .args(["--trust-fingerprint", &fp]);
    let out = run_with_stdin(cmd, &format!("{a_pw}\n"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_account_refuses_a_different_certificate() {
    let impostor = Prosody::start(ProsodyOptions::default());
    let (a, a_pw) = new_user(&impostor, "pinned");
    let real_fp = shared().fingerprint;
    // Same account pinned to the shared server's certificate, pointed at a
    // server with another one.
    let mut account = impostor.account(&a);
    account.pinned_certificate = Some(real_fp);
    let mut client = TestClient::start(account.clone(), &a_pw, RetryPolicy::Forever);
    let (reason, certificate) = client.failed().await;
    assert!(reason.contains("has changed"), "{reason}");
    assert!(reason.contains(&real_fp.to_string()), "{reason}");
    assert_eq!(certificate, Some(impostor.fingerprint));
    assert_ne!(impostor.fingerprint, real_fp);

    // Pinning the new one is the user's explicit choice; then it connects.
    account.pinned_certificate = Some(impostor.fingerprint);
    let mut client = TestClient::start(account, &a_pw, RetryPolicy::Never);
    client.online().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_fails_once_and_does_not_retry() {
    let server = shared();
    let (a, _) = new_user(server, "wrongpw");
    let mut client =
        TestClient::start(server.account(&a), "not-the-password", RetryPolicy::Forever);
    let (reason, _) = client.failed().await;
    assert!(reason.contains("refused the login"), "{reason}");
    let attempts = client
        .seen
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::Connection {
                    state: ConnectionState::Connecting { .. },
                    ..
                }
            )
        })
        .count();
    assert_eq!(attempts, 1, "exactly one attempt: {:#?}", client.seen);
    // The session is over: no further attempt ever comes.
    let next = tokio::time::timeout(Duration::from_secs(3), client.events.recv()).await;
    assert!(
        !matches!(next, Ok(Some(_))),
        "nothing may follow a fatal failure: {next:?}"
    );
}

/// A man in the middle with a self-signed certificate, for an account
/// whose server was trusted through a certificate authority before: the
/// refusal warns and does not offer to pin his key. Only a server never
/// seen CA-valid gets the offer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_pin_offer_for_a_server_that_was_ca_valid_before() {
    use crate::fake_server::{FakeServer, Script};
    use crate::harness::XmppServer as _;

    let server = shared();
    let (a, a_pw) = new_user(server, "caseen");
    let jid = format!("{a}@localhost");
    let home = tempfile::tempdir().expect("tempdir");
    // This machine trusts the test CA, as it would a public one. The file
    // goes where the sandboxed process may read it.
    let paths = sotto::paths::Paths::resolve(Some(home.path())).expect("paths");
    paths.create().expect("folders");
    let ca = paths.config_dir.join("test-ca.pem");
    std::fs::copy(server.ca_file(), &ca).expect("copy the CA");
    let mut cmd = sotto(home.path());
    cmd.env("SSL_CERT_FILE", &ca)
        .args(["account", "add", &jid, "--password-stdin", "--server"])
        .arg(server.starttls_address());
    let out = tokio::task::spawn_blocking(move || run_with_stdin(cmd, &format!("{a_pw}\n")))
        .await
        .expect("join");
    assert!(
        out.status.success(),
        "CA-valid sign-in: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Now the connection reaches someone else, with his own certificate.
    let mitm = FakeServer::start(Script::default()).await;
    let config = paths.config_file();
    let text = std::fs::read_to_string(&config).expect("settings");
    let address = server.starttls_address();
    assert!(text.contains(&address), "{text}");
    std::fs::write(
        &config,
        text.replace(&address, &format!("127.0.0.1:{}", mitm.port)),
    )
    .expect("settings");
    let bob = format!("nobody-{a}@localhost");
    let home_path = home.path().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        sotto(&home_path)
            .env("SSL_CERT_FILE", &ca)
            .args(["send", &bob, "hello"])
            .output()
            .expect("run send")
    })
    .await
    .expect("join");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains(&mitm.fingerprint.to_string()), "{stderr}");
    assert!(
        stderr.contains("trusted through a certificate authority before"),
        "{stderr}"
    );
    assert!(!stderr.contains("account trust"), "pin offered: {stderr}");
    assert!(
        !mitm.seen.lock().expect("seen").received.contains("auth"),
        "credentials went to the impostor"
    );

    // The same impostor, for an account never seen CA-valid: the usual
    // trust-on-first-use offer (so the check above can fail).
    let fresh = tempfile::tempdir().expect("tempdir");
    let fresh_path = fresh.path().to_owned();
    let port = mitm.port;
    let other = format!("fresh-{a}@localhost");
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = sotto(&fresh_path);
        cmd.args(["account", "add", &other, "--password-stdin", "--server"])
            .arg(format!("127.0.0.1:{port}"));
        run_with_stdin(cmd, "pw\n")
    })
    .await
    .expect("join");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("account trust"), "{stderr}");
}
