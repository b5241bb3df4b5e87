//! Knocks against a relay double that behaves like the ChatSecure push
//! relay (knock-protocol.md): 202 echo, 404 with an empty body for unknown
//! tokens, 400 with a JSON map of field errors, a redirect without the
//! trailing slash, 401 for a bad Authorization header.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use sotto::knock::{KnockError, KnockPolicy, PushInfo, Token, knock};
use tokio::net::TcpListener;

/// How the double misbehaves, for the refusal tests.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Normal,
    Slow,
    Oversize,
    Redirect,
    Broken,
}

#[derive(Debug, Clone)]
pub(crate) struct Received {
    path: String,
    content_type: Option<String>,
    authorization: Option<String>,
    body: serde_json::Value,
}

/// A connection's source, and the pid holding its other end if known.
pub(crate) type Peer = (std::net::SocketAddr, Option<u32>);

pub(crate) struct Relay {
    pub(crate) port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    /// Where each connection came from, and which process held its
    /// other end (Linux, from /proc), when that could be found.
    peers: Arc<Mutex<Vec<Peer>>>,
}

pub(crate) const KNOWN: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1";
const ALSO_KNOWN: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2";
const REVOKED: &str = "dddddddddddddddddddddddddddddddddddddddd";
/// The double rejects this one's shape with a 400, as Django REST would.
const MALFORMED: &str = "bad-token";

fn json(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert("content-type", "application/json".parse().expect("header"));
    r
}

fn empty(status: StatusCode) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    r
}

async fn handle(
    req: Request<Incoming>,
    mode: Mode,
    received: Arc<Mutex<Vec<Received>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (content_type, authorization) = (header("content-type"), header("authorization"));
    let bytes = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    received.lock().expect("lock").push(Received {
        path: path.clone(),
        content_type,
        authorization: authorization.clone(),
        body: body.clone(),
    });
    match mode {
        Mode::Slow => tokio::time::sleep(Duration::from_secs(5)).await,
        Mode::Oversize => {
            return Ok(json(
                StatusCode::ACCEPTED,
                serde_json::json!({ "padding": "x".repeat(100_000) }),
            ));
        }
        Mode::Redirect => {
            let mut r = empty(StatusCode::FOUND);
            r.headers_mut().insert(
                "location",
                "http://127.0.0.1:1/elsewhere/".parse().expect("header"),
            );
            return Ok(r);
        }
        Mode::Broken => return Ok(empty(StatusCode::INTERNAL_SERVER_ERROR)),
        Mode::Normal => {}
    }
    if authorization.is_some() {
        return Ok(json(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({ "detail": "Invalid token." }),
        ));
    }
    if path == "/api/v1/messages" {
        let mut r = empty(StatusCode::MOVED_PERMANENTLY);
        r.headers_mut()
            .insert("location", "/api/v1/messages/".parse().expect("header"));
        return Ok(r);
    }
    if path != "/api/v1/messages/" {
        return Ok(empty(StatusCode::NOT_FOUND));
    }
    let token = body["token"].as_str().unwrap_or_default();
    let priority = body
        .get("priority")
        .and_then(|p| p.as_str())
        .unwrap_or("low");
    let mut errors = serde_json::Map::new();
    if token.is_empty() {
        errors.insert(
            "token".into(),
            serde_json::json!(["This field is required."]),
        );
    } else if token.len() > 200 || token == MALFORMED {
        errors.insert(
            "token".into(),
            serde_json::json!(["Ensure this field has no more than 200 characters."]),
        );
    }
    if !["high", "low"].contains(&priority) {
        errors.insert(
            "priority".into(),
            serde_json::json!([format!("\"{priority}\" is not a valid choice.")]),
        );
    }
    if !errors.is_empty() {
        return Ok(json(
            StatusCode::BAD_REQUEST,
            serde_json::Value::Object(errors),
        ));
    }
    if token != KNOWN && token != ALSO_KNOWN {
        return Ok(empty(StatusCode::NOT_FOUND));
    }
    Ok(json(
        StatusCode::ACCEPTED,
        serde_json::json!({ "token": token, "priority": priority, "data": body.get("data") }),
    ))
}

impl Relay {
    pub(crate) async fn start(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let peers = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        let peer_log = peers.clone();
        tokio::spawn(async move {
            while let Ok((stream, peer)) = listener.accept().await {
                let owner = socket_owner(peer.port(), port);
                peer_log.lock().expect("lock").push((peer, owner));
                let log = log.clone();
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req| handle(req, mode, log.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            port,
            received,
            peers,
        }
    }

    pub(crate) fn peers(&self) -> Vec<Peer> {
        self.peers.lock().expect("lock").clone()
    }

    pub(crate) fn info(&self, endpoint_path: &str, tokens: &[&str]) -> PushInfo {
        let tokens = tokens
            .iter()
            .map(|t| Token::parse(t).expect("token"))
            .collect();
        PushInfo::new(
            &format!("http://127.0.0.1:{}{endpoint_path}", self.port),
            tokens,
        )
        .expect("push info")
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

/// The process holding the loopback TCP socket from `local` to `remote`
/// (the client end of a connection we accepted), from /proc. Lets a test
/// tell a connection made by this process from one made by a Tor exit.
pub(crate) fn socket_owner(local: u16, remote: u16) -> Option<u32> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let inode = table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let port = |s: &str| u16::from_str_radix(s.rsplit(':').next()?, 16).ok();
        (f.len() > 9 && port(f[1]) == Some(local) && port(f[2]) == Some(remote))
            .then(|| f[9].to_owned())
    })?;
    let wanted = format!("socket:[{inode}]");
    for proc_dir in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = proc_dir.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(proc_dir.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy() == wanted) {
                return Some(pid);
            }
        }
    }
    None
}

fn dev() -> KnockPolicy {
    KnockPolicy {
        allow_insecure: true,
        timeout: Duration::from_secs(2),
        deadline: Duration::from_secs(10),
    }
}

#[tokio::test]
async fn a_knock_reaches_the_relay_with_the_right_fields() {
    let relay = Relay::start(Mode::Normal).await;
    for endpoint in ["/api/v1/", "/api/v1", "/api/v1/messages/"] {
        let report = knock(&relay.info(endpoint, &[KNOWN]), dev()).await;
        assert_eq!(report.result.expect("accepted").expose(), KNOWN);
        assert!(report.dropped.is_empty());
    }
    for got in relay.received() {
        assert_eq!(
            got.path, "/api/v1/messages/",
            "always with the trailing slash"
        );
        assert_eq!(got.content_type.as_deref(), Some("application/json"));
        assert_eq!(
            got.authorization, None,
            "the token alone authorises a knock"
        );
        assert_eq!(got.body["token"], KNOWN);
        assert_eq!(got.body["priority"], "high", "low is dropped for iPhones");
        assert!(got.body.get("data").is_none(), "a knock carries no content");
    }
}

#[tokio::test]
async fn unknown_tokens_are_dropped_and_the_next_one_tried() {
    let relay = Relay::start(Mode::Normal).await;
    let report = knock(
        &relay.info("/api/v1/", &[REVOKED, ALSO_KNOWN, KNOWN]),
        dev(),
    )
    .await;
    assert_eq!(report.result.expect("accepted").expose(), ALSO_KNOWN);
    let dropped: Vec<&str> = report.dropped.iter().map(Token::expose).collect();
    assert_eq!(dropped, [REVOKED]);
    let tried: Vec<serde_json::Value> = relay
        .received()
        .into_iter()
        .map(|r| r.body["token"].clone())
        .collect();
    assert_eq!(
        tried,
        [REVOKED, ALSO_KNOWN],
        "oldest first, stops at the first accepted"
    );

    let report = knock(&relay.info("/api/v1/", &[REVOKED]), dev()).await;
    assert_eq!(report.result, Err(KnockError::NoTokensLeft));
    assert_eq!(report.dropped.len(), 1);
}

#[tokio::test]
async fn relay_errors_keep_the_token_and_read_plainly() {
    let relay = Relay::start(Mode::Normal).await;
    let report = knock(&relay.info("/api/v1/", &[MALFORMED, KNOWN]), dev()).await;
    match report.result {
        Err(KnockError::BadRequest(detail)) => assert!(detail.starts_with("token:"), "{detail}"),
        other => panic!("expected a 400, got {other:?}"),
    }
    assert!(report.dropped.is_empty(), "a 400 is not a revoked token");

    let broken = Relay::start(Mode::Broken).await;
    let report = knock(&broken.info("/api/v1/", &[KNOWN]), dev()).await;
    assert_eq!(report.result, Err(KnockError::RelayTrouble(500)));
    assert!(report.dropped.is_empty());
}

#[tokio::test]
async fn redirects_oversize_answers_and_slow_relays_are_refused() {
    let redirect = Relay::start(Mode::Redirect).await;
    let report = knock(&redirect.info("/api/v1/", &[KNOWN]), dev()).await;
    assert_eq!(report.result, Err(KnockError::Redirect(302)));
    assert_eq!(
        redirect.received().len(),
        1,
        "the redirect was not followed"
    );

    let oversize = Relay::start(Mode::Oversize).await;
    let report = knock(&oversize.info("/api/v1/", &[KNOWN]), dev()).await;
    assert_eq!(report.result, Err(KnockError::ResponseTooLarge));

    let slow = Relay::start(Mode::Slow).await;
    let report = knock(&slow.info("/api/v1/", &[KNOWN]), dev()).await;
    assert_eq!(report.result, Err(KnockError::Timeout));
}

#[tokio::test]
async fn without_the_switch_http_and_loopback_are_refused_before_connecting() {
    let relay = Relay::start(Mode::Normal).await;
    let report = knock(&relay.info("/api/v1/", &[KNOWN]), KnockPolicy::default()).await;
    assert!(matches!(report.result, Err(KnockError::NotHttps(_))));
    assert!(relay.received().is_empty(), "nothing was sent");
}

#[test]
fn the_cli_knocks_rotates_tokens_and_cools_down() {
    use crate::harness::{run_ok, run_with_stdin, sotto};

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let relay = rt.block_on(Relay::start(Mode::Normal));
    let home = tempfile::tempdir().expect("tempdir");
    let mut add = sotto(home.path());
    add.args([
        "account",
        "add",
        "me@localhost",
        "--password-stdin",
        "--no-connect",
    ]);
    assert!(run_with_stdin(add, "pw\n").status.success());

    let endpoint = format!("http://127.0.0.1:{}/api/v1/", relay.port);
    run_ok(
        sotto(home.path())
            .args(["push-info", "add", "bob@localhost", "--endpoint", &endpoint])
            .args(["--token", REVOKED, "--token", KNOWN]),
    );

    // Without the development switch, plain http is refused before any
    // connection (and does not count against the cooldown).
    let refused = sotto(home.path())
        .args(["knock", "bob@localhost"])
        .output()
        .expect("run");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("https"));
    assert!(relay.received().is_empty());

    let knocked = run_ok(sotto(home.path()).env("SOTTO_KNOCK_INSECURE", "1").args([
        "knock",
        "--json",
        "bob@localhost",
    ]));
    let report: serde_json::Value = serde_json::from_slice(&knocked.stdout).expect("json");
    assert_eq!(report["result"], "accepted");
    assert_eq!(report["dropped_tokens"], 1);
    assert!(
        !String::from_utf8_lossy(&knocked.stdout).contains(KNOWN),
        "tokens never in full"
    );
    let tried: Vec<serde_json::Value> = relay
        .received()
        .into_iter()
        .map(|r| r.body["token"].clone())
        .collect();
    assert_eq!(tried, [REVOKED, KNOWN]);

    let shown = sotto(home.path())
        .args(["push-info", "show", "--json", "bob@localhost"])
        .output()
        .expect("run");
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    assert_eq!(
        shown["tokens"].as_array().map(Vec::len),
        Some(1),
        "the revoked token is gone"
    );
    assert_eq!(shown["last_result"], "accepted");

    // A knock link shared by another contact.
    let link = format!(
        "xmpp:carol@localhost?knock;endpoint=http%3A%2F%2F127.0.0.1%3A{}%2Fapi%2Fv1%2F;token={KNOWN}",
        relay.port
    );
    run_ok(sotto(home.path()).args(["push-info", "add-link", &link]));
    let carol = run_ok(
        sotto(home.path())
            .env("SOTTO_KNOCK_INSECURE", "1")
            .args(["knock", "carol@localhost"]),
    );
    assert!(String::from_utf8_lossy(&carol.stdout).contains("Knocked"));

    let again = sotto(home.path())
        .env("SOTTO_KNOCK_INSECURE", "1")
        .args(["knock", "bob@localhost"])
        .output()
        .expect("run");
    assert!(!again.status.success(), "no hammering the relay");
    assert!(String::from_utf8_lossy(&again.stderr).contains("wait"));
    assert_eq!(
        relay.received().len(),
        3,
        "Bob twice (one revoked token), Carol once"
    );
}

#[test]
fn a_contact_publishes_push_info_and_a_knock_finds_it() {
    use sotto::engine::{Command, Event};
    use sotto::model::{Subscription, SubscriptionChange};
    use sotto::xmpp::RetryPolicy;

    use crate::client::TestClient;
    use crate::harness::{new_user, run_ok, run_with_stdin, shared, sotto};

    let server = shared();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let relay = rt.block_on(Relay::start(Mode::Normal));
    let (a, a_pw) = new_user(server, "knocka");
    let (b, b_pw) = new_user(server, "knockb");
    let (alice_jid, bob_jid) = (format!("{a}@localhost"), format!("{b}@localhost"));

    // Alice sees Bob's presence: Bob's PEP node (access model "presence")
    // is readable to her.
    rt.block_on(async {
        let mut alice = TestClient::start(server.account(&a), &a_pw, RetryPolicy::Never);
        let mut bob = TestClient::start(server.account(&b), &b_pw, RetryPolicy::Never);
        alice.online().await;
        bob.online().await;
        alice.send(Command::AddContact {
            account: alice.jid.clone(),
            jid: bob.jid.clone(),
            name: None,
        });
        bob.wait_for("request", |e| {
            matches!(
                e,
                Event::Subscription {
                    change: SubscriptionChange::Requested,
                    ..
                }
            )
            .then_some(())
        })
        .await;
        bob.send(Command::AnswerSubscription {
            account: bob.jid.clone(),
            jid: alice.jid.clone(),
            approve: true,
        });
        alice
            .wait_for("subscription", |e| match e {
                Event::ContactChanged { contact, .. }
                    if contact.subscription == Subscription::To =>
                {
                    Some(())
                }
                _ => None,
            })
            .await;
    });

    let add = |home: &std::path::Path, jid: &str, pw: &str| {
        let mut cmd = sotto(home);
        cmd.args(["account", "add", jid, "--password-stdin", "--server"])
            .arg(server.starttls_address())
            .args(["--trust-fingerprint", &server.fingerprint.to_string()]);
        let out = run_with_stdin(cmd, &format!("{pw}\n"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let (alice_home, bob_home) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    add(alice_home.path(), &alice_jid, &a_pw);
    add(bob_home.path(), &bob_jid, &b_pw);

    // Bob publishes the push info of his phone's relay, then is offline.
    let endpoint = format!("http://127.0.0.1:{}/api/v1/", relay.port);
    run_ok(sotto(bob_home.path()).args([
        "push-info",
        "publish",
        "--endpoint",
        &endpoint,
        "--token",
        KNOWN,
    ]));

    // Alice knocks: Sotto fetches Bob's PEP node, stores it, knocks.
    let knocked = run_ok(
        sotto(alice_home.path())
            .env("SOTTO_KNOCK_INSECURE", "1")
            .args(["knock", "--json", &bob_jid]),
    );
    let report: serde_json::Value = serde_json::from_slice(&knocked.stdout).expect("json");
    assert_eq!(report["result"], "accepted");
    let got = relay.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body["token"], KNOWN);
    let shown = sotto(alice_home.path())
        .args(["push-info", "show", "--json", &bob_jid])
        .output()
        .expect("run");
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).expect("json");
    assert_eq!(shown["source"], "pep");

    // A stranger (no subscription) cannot read it.
    let (c, c_pw) = new_user(server, "knockc");
    let carol_home = tempfile::tempdir().expect("dir");
    add(carol_home.path(), &format!("{c}@localhost"), &c_pw);
    let refused = sotto(carol_home.path())
        .env("SOTTO_KNOCK_INSECURE", "1")
        .args(["knock", &bob_jid])
        .output()
        .expect("run");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("has not published push info"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(relay.received().len(), 1, "no knock without push info");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_knock_wakes_an_offline_contact_once_and_the_message_arrives_once() {
    use secrecy::SecretString;
    use sotto::engine::{AccountLogin, Command, Engine, EngineOptions, Event};
    use sotto::model::{Availability, OutgoingMessage};
    use sotto::store::{PushSource, Store, StoreKey};
    use sotto::xmpp::RetryPolicy;

    use crate::client::{TestClient, rand_key};
    use crate::harness::{new_user, shared};

    let server = shared();
    let relay = Relay::start(Mode::Normal).await;
    let (a, a_pw) = new_user(server, "autoa");
    let (b, b_pw) = new_user(server, "autob");
    let bob_jid = server.account(&b).jid;
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        Store::open(&dir.path().join("a.db"), &StoreKey::from_bytes(rand_key())).expect("store");
    let alice_jid = server.account(&a).jid;
    store
        .add_push_info(
            alice_jid.as_str(),
            bob_jid.as_str(),
            relay.info("/api/v1/", &[KNOWN]),
            PushSource::Manual,
        )
        .expect("push info");
    assert!(
        store
            .set_auto_knock(alice_jid.as_str(), bob_jid.as_str(), true)
            .expect("auto-knock")
    );

    let mut alice = TestClient::with_options(
        store.clone(),
        EngineOptions {
            knock: dev(),
            tor: None,
        },
        AccountLogin {
            config: server.account(&a),
            password: Some(SecretString::from(a_pw.clone())),
            presence: Some((Availability::Available, None)),
            retry: RetryPolicy::Never,
        },
    );
    alice.online().await;

    let send = |alice: &TestClient, body: &str| {
        alice.send(Command::SendMessage {
            account: alice_jid.clone(),
            message: OutgoingMessage {
                id: Engine::new_message_id(),
                to: bob_jid.clone(),
                body: body.into(),
                plain: false,
            },
        });
    };
    // A burst queued at once (say, a paste of several lines): one knock.
    // The cooldown used to be checked before and recorded after the
    // knock, so each message of a burst knocked.
    for line in ["wake up, Bob", "one", "two", "three", "four"] {
        send(&alice, line);
    }
    let relay_host = alice
        .wait_for("the automatic knock", |e| match e {
            Event::Knocked { relay, error, .. } => {
                assert_eq!(error, &None, "knock failed");
                relay.clone()
            }
            _ => None,
        })
        .await;
    assert_eq!(relay_host, "127.0.0.1");
    assert!(alice.seen.iter().any(|e| matches!(
        e,
        Event::Knocking {
            automatic: true,
            ..
        }
    )));

    // A second message moments later does not knock again.
    send(&alice, "second");
    // Queued in order: once the last is, all are (and each queued message
    // had its chance to knock).
    alice
        .wait_for("the last message queued", |e| match e {
            Event::Message { message, .. } if message.body == "second" => Some(()),
            _ => None,
        })
        .await;
    // Every automatic knock was started before this one; asked for by
    // hand, it is refused, and by then the others have decided too.
    alice.send(Command::Knock {
        account: alice_jid.clone(),
        contact: bob_jid.clone(),
    });
    let refused = alice
        .wait_for("the manual knock's refusal", |e| match e {
            Event::Knocked { error, .. } => Some(error.clone()),
            _ => None,
        })
        .await;
    assert!(
        refused
            .as_deref()
            .is_some_and(|e| e.contains("moments ago")),
        "{refused:?}"
    );
    assert_eq!(relay.received().len(), 1, "one knock, not one per message");

    // Bob's phone woke up: he logs in and gets each message once.
    let mut bob = TestClient::start(server.account(&b), &b_pw, RetryPolicy::Never);
    bob.online().await;
    bob.wait_for("catch-up", |e| {
        matches!(e, Event::CatchUp { done: true, .. }).then_some(())
    })
    .await;
    let bodies: Vec<String> = bob
        .store
        .messages_before(bob_jid.as_str(), alice_jid.as_str(), None, 10)
        .expect("history")
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(
        bodies,
        ["wake up, Bob", "one", "two", "three", "four", "second"],
        "each once, in order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_hear_of_published_push_info_as_it_happens() {
    use sotto::engine::{Command, Event};
    use sotto::model::{PushSource, SubscriptionChange};
    use sotto::xmpp::RetryPolicy;

    use crate::client::TestClient;
    use crate::harness::{new_user, shared};

    let server = shared();
    let (a, a_pw) = new_user(server, "notifya");
    let (b, b_pw) = new_user(server, "notifyb");
    let mut alice = TestClient::start(server.account(&a), &a_pw, RetryPolicy::Never);
    let mut bob = TestClient::start(server.account(&b), &b_pw, RetryPolicy::Never);
    alice.online().await;
    bob.online().await;
    // Mutual subscription: Bob's PEP service learns from Alice's presence
    // that her client wants push info (+notify, XEP-0115 caps).
    for flip in [false, true] {
        let (asker, answerer) = if flip {
            (&mut bob, &mut alice)
        } else {
            (&mut alice, &mut bob)
        };
        asker.send(Command::AddContact {
            account: asker.jid.clone(),
            jid: answerer.jid.clone(),
            name: None,
        });
        let from = asker.jid.clone();
        answerer
            .wait_for("subscription request", |e| match e {
                Event::Subscription {
                    from: f,
                    change: SubscriptionChange::Requested,
                    ..
                } if *f == from => Some(()),
                _ => None,
            })
            .await;
        answerer.send(Command::AnswerSubscription {
            account: answerer.jid.clone(),
            jid: from,
            approve: true,
        });
    }
    let bob_jid = bob.jid.clone();
    alice
        .wait_for("Bob's presence", |e| match e {
            Event::Presence { update, .. } if update.from.to_bare() == bob_jid => Some(()),
            _ => None,
        })
        .await;

    bob.send(Command::PublishPushInfo {
        account: bob.jid.clone(),
        json: format!(r#"{{"endpoint":"https://relay.example/api/v1/","tokens":["{KNOWN}"]}}"#),
    });
    let (relay, tokens, source) = alice
        .wait_for("a PEP notification", |e| match e {
            Event::PushInfoLearned {
                contact,
                relay,
                tokens,
                source,
                ..
            } if *contact == bob_jid => Some((relay.clone(), *tokens, *source)),
            _ => None,
        })
        .await;
    assert_eq!(
        (relay.as_str(), tokens, source),
        ("relay.example", 1, PushSource::Pep)
    );
    let stored = alice
        .store
        .push_info(alice.jid.as_str(), bob_jid.as_str())
        .expect("read")
        .expect("stored without asking");
    assert_eq!(stored.info.tokens[0].expose(), KNOWN);
}
