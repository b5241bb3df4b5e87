//! Tor accounts never touch the network directly. With a Tor network that
//! cannot be reached (its only directory caches are loopback listeners
//! that hang up), a Tor account must stay offline with a reason naming
//! Tor, and neither its server nor its contact's relay may see a single
//! connection. Control runs with a direct account prove the listeners
//! would have seen a leak.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use secrecy::SecretString;
use sotto::config::{AccountConfig, PasswordStore};
use sotto::engine::{AccountLogin, Command, Engine, EngineOptions, Event};
use sotto::knock::{KnockPolicy, PushInfo, Token};
use sotto::model::{Availability, ConnectionState, PushSource};
use sotto::store::{Store, StoreKey};
use sotto::tor::TorSettings;
use sotto::xmpp::RetryPolicy;
use tokio::net::TcpListener;

use crate::client::{TestClient, rand_key};

/// A TCP listener that counts and drops every connection.
struct Counter {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

impl Counter {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Self { port, accepted }
    }

    fn count(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// An arti network whose one authority and one fallback cache are made
/// up; the cache's address is `cache`, a listener that hangs up.
fn unreachable_network(dir: &std::path::Path, cache: u16) -> std::path::PathBuf {
    let path = dir.join("network.toml");
    let text = format!(
        r#"[tor_network]
fallback_caches = [
  {{ rsa_identity = "{rsa}", ed_identity = "{ed}", orports = ["127.0.0.1:{cache}"] }},
]

[tor_network.authorities]
v3idents = ["{auth}"]

[storage.permissions]
dangerously_trust_everyone = true
"#,
        rsa = "AB".repeat(20),
        auth = "CD".repeat(20),
        ed = "8fAVjVy/+hXpjl/T2tkGxeGB1wGdgWJw5x/Kyz4vncw",
    );
    std::fs::write(&path, text).expect("network file");
    path
}

fn tor_account(jid: &str, server_port: u16) -> AccountConfig {
    AccountConfig {
        jid: jid.parse().expect("jid"),
        // A literal loopback address: if anything connected directly, the
        // counting listener there would see it, with no DNS in the way.
        server: Some(format!("127.0.0.1:{server_port}").parse().expect("addr")),
        direct_tls: false,
        pinned_certificate: None,
        password_store: PasswordStore::Database,
        enabled: true,
        tor: true,
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    client: TestClient,
    server: Counter,
    relay: Counter,
    cache: Counter,
}

async fn start(tor: bool) -> Setup {
    sotto::logging::init(0);
    let (server, relay, cache) = (
        Counter::start().await,
        Counter::start().await,
        Counter::start().await,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(
        &dir.path().join("sotto.db"),
        &StoreKey::from_bytes(rand_key()),
    )
    .expect("store");
    let mut config = tor_account("torly@example.org", server.port);
    config.tor = tor;
    let contact = "phone@example.org";
    // A name, not an address: the direct path resolves it (to loopback,
    // where the counter listens); the Tor path must leave it to the exit.
    let info = PushInfo::new(
        &format!("http://localhost:{}/api/v1/", relay.port),
        vec![Token::parse(&"a".repeat(40)).expect("token")],
    )
    .expect("push info");
    store
        .add_push_info(config.jid.as_str(), contact, info, PushSource::Manual)
        .expect("push info");
    let options = EngineOptions {
        knock: KnockPolicy {
            allow_insecure: true,
            timeout: Duration::from_secs(5),
            deadline: Duration::from_secs(10),
        },
        tor: Some(TorSettings {
            state_dir: dir.path().join("tor/state"),
            cache_dir: dir.path().join("tor/cache"),
            bootstrap_timeout: Duration::from_secs(4),
            network: Some(unreachable_network(dir.path(), cache.port)),
        }),
    };
    let client = TestClient::with_options(
        store,
        options,
        AccountLogin {
            config,
            password: Some(SecretString::from("not-used".to_owned())),
            presence: Some((Availability::Available, None)),
            retry: RetryPolicy::Forever,
        },
    );
    Setup {
        _dir: dir,
        client,
        server,
        relay,
        cache,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tor_account_without_tor_makes_no_direct_connection() {
    let mut s = start(true).await;
    let reason = s
        .client
        .wait_within(
            Duration::from_secs(60),
            "a retry that names Tor",
            |e| match e {
                Event::Connection {
                    state: ConnectionState::WaitingToRetry { reason, .. },
                    ..
                }
                | Event::Connection {
                    state: ConnectionState::Failed { reason, .. },
                    ..
                } => Some(reason.clone()),
                _ => None,
            },
        )
        .await;
    assert!(reason.starts_with("Tor could not connect"), "{reason}");
    assert!(
        s.client
            .seen
            .iter()
            .any(|e| matches!(e, Event::TorBootstrap { progress } if !progress.ready)),
        "bootstrap progress is reported: {:#?}",
        s.client.seen
    );

    // Knock the contact of this Tor account: it must fail without a byte
    // to the relay.
    s.client.send(Command::Knock {
        account: s.client.jid.clone(),
        contact: "phone@example.org".parse().expect("jid"),
    });
    let error = s
        .client
        .wait_within(
            Duration::from_secs(60),
            "the knock's outcome",
            |e| match e {
                Event::Knocked { error, .. } => Some(error.clone()),
                _ => None,
            },
        )
        .await;
    let error = error.expect("a knock without Tor cannot succeed");
    assert!(error.contains("Tor"), "{error}");

    // One more attempt through Tor, after the knock: a leak would have
    // shown by then.
    s.client
        .wait_within(Duration::from_secs(60), "another attempt", |e| match e {
            Event::Connection {
                state: ConnectionState::WaitingToRetry { .. },
                ..
            } => Some(()),
            _ => None,
        })
        .await;
    assert_eq!(
        s.server.count(),
        0,
        "the XMPP server was contacted directly"
    );
    assert_eq!(s.relay.count(), 0, "the relay was contacted directly");
    assert!(
        !s.client.seen.iter().any(|e| matches!(
            e,
            Event::Connection {
                state: ConnectionState::Online { .. },
                ..
            }
        )),
        "a Tor account came online without Tor"
    );
    // arti's own traffic went only where its network says: the cache.
    assert!(s.cache.count() > 0, "arti never tried its directory cache");
    // Arti's state lives in Sotto's folder.
    assert!(s._dir.path().join("tor/state").is_dir());
}

/// The same setup with Tor off reaches both listeners: they would have
/// seen a leak.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listeners_see_a_direct_account() {
    let mut s = start(false).await;
    s.client
        .wait_within(
            Duration::from_secs(30),
            "a failed direct attempt",
            |e| match e {
                Event::Connection {
                    state: ConnectionState::WaitingToRetry { .. },
                    ..
                } => Some(()),
                _ => None,
            },
        )
        .await;
    s.client.send(Command::Knock {
        account: s.client.jid.clone(),
        contact: "phone@example.org".parse().expect("jid"),
    });
    s.client
        .wait_within(
            Duration::from_secs(30),
            "the knock's outcome",
            |e| match e {
                Event::Knocked { .. } => Some(()),
                _ => None,
            },
        )
        .await;
    assert!(s.server.count() > 0);
    assert!(s.relay.count() > 0);
    assert_eq!(s.cache.count(), 0, "no Tor for a direct account");
    assert!(!s._dir.path().join("tor").exists());
}

/// The environment variable naming a private Tor network's arti file, as
/// written by `scripts/tor-testnet DIR` (DIR/arti-network.toml).
const TESTNET_ENV: &str = "SOTTO_TOR_TESTNET";

/// End to end through a private Tor network on loopback (Debian's `tor`:
/// three authorities and two relays, all exits leaving from 127.0.0.2):
/// a Tor account logs in to the test Prosody, exchanges a message with a
/// direct account, and knocks a relay double, which sees the exit, not
/// us. Needs the network running, so it is ignored by default:
///
///     scripts/tor-testnet /tmp/sotto-tornet
///     SOTTO_TOR_TESTNET=/tmp/sotto-tornet/arti-network.toml \
///         cargo test --test it tor::end_to_end -- --ignored --nocapture
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a private Tor network: scripts/tor-testnet"]
#[allow(clippy::print_stderr)]
async fn end_to_end_through_a_private_tor_network() {
    use crate::harness::{new_user, shared};
    use crate::knock::{KNOWN, Mode, Relay};
    use sotto::model::OutgoingMessage;

    let network = std::env::var_os(TESTNET_ENV)
        .map(std::path::PathBuf::from)
        .expect("SOTTO_TOR_TESTNET names the private network's arti file");
    let network_dir = network.parent().expect("network dir").to_owned();
    sotto::logging::init(0);
    let server = shared();
    let relay = Relay::start(Mode::Normal).await;
    let (a, a_pw) = new_user(server, "tora");
    let (b, b_pw) = new_user(server, "torb");
    let mut config = server.account(&a);
    config.tor = true;
    let alice_jid = config.jid.clone();
    let bob_jid = server.account(&b).jid;

    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(
        &dir.path().join("sotto.db"),
        &StoreKey::from_bytes(rand_key()),
    )
    .expect("store");
    // The knock goes to a literal loopback address: the exit, allowed to
    // reach private addresses in this network, connects to it.
    let info = PushInfo::new(
        &format!("http://127.0.0.1:{}/api/v1/", relay.port),
        vec![Token::parse(KNOWN).expect("token")],
    )
    .expect("push info");
    store
        .add_push_info(
            alice_jid.as_str(),
            bob_jid.as_str(),
            info,
            PushSource::Manual,
        )
        .expect("push info");
    let options = EngineOptions {
        knock: KnockPolicy {
            allow_insecure: true,
            timeout: Duration::from_secs(60),
            deadline: Duration::from_secs(90),
        },
        tor: Some(TorSettings {
            state_dir: dir.path().join("tor/state"),
            cache_dir: dir.path().join("tor/cache"),
            bootstrap_timeout: Duration::from_secs(300),
            network: Some(network),
        }),
    };
    let started = std::time::Instant::now();
    let mut alice = TestClient::with_options(
        store,
        options,
        AccountLogin {
            config,
            password: Some(SecretString::from(a_pw)),
            presence: Some((Availability::Available, None)),
            retry: RetryPolicy::Forever,
        },
    );
    alice
        .wait_within(Duration::from_secs(300), "Tor ready", |e| match e {
            Event::TorBootstrap { progress } if progress.ready => Some(()),
            _ => None,
        })
        .await;
    let bootstrapped = started.elapsed();
    alice
        .wait_within(
            Duration::from_secs(120),
            "online through Tor",
            |e| match e {
                Event::Connection {
                    state: ConnectionState::Online { .. },
                    ..
                } => Some(()),
                _ => None,
            },
        )
        .await;
    let online = started.elapsed();
    let mut bob = TestClient::start(server.account(&b), &b_pw, RetryPolicy::Never);
    bob.online().await;

    // Message latency, Tor account to direct account, then direct to direct.
    let latency = |from: &TestClient, to_jid: &sotto::model::BareJid, body: String| {
        from.send(Command::SendMessage {
            account: from.jid.clone(),
            message: OutgoingMessage {
                id: Engine::new_message_id(),
                to: to_jid.clone(),
                body,
                plain: false,
            },
        });
        std::time::Instant::now()
    };
    let mut over_tor = Vec::new();
    for i in 0..5 {
        let body = format!("through tor {i}");
        let sent = latency(&alice, &bob_jid, body.clone());
        bob.wait_for("a message through Tor", |e| match e {
            Event::Message { message, .. } if message.body == body => Some(()),
            _ => None,
        })
        .await;
        over_tor.push(sent.elapsed());
    }
    let mut direct = Vec::new();
    for i in 0..5 {
        let body = format!("direct {i}");
        let sent = latency(&bob, &alice_jid, body.clone());
        alice
            .wait_for("a message to the Tor account", |e| match e {
                Event::Message { message, .. } if message.body == body => Some(()),
                _ => None,
            })
            .await;
        direct.push(sent.elapsed());
    }

    // The knock goes through Tor: the relay sees the exit's address.
    alice.send(Command::Knock {
        account: alice_jid.clone(),
        contact: bob_jid.clone(),
    });
    let error = alice
        .wait_within(Duration::from_secs(90), "the knock", |e| match e {
            Event::Knocked { error, .. } => Some(error.clone()),
            _ => None,
        })
        .await;
    assert_eq!(error, None, "the knock through Tor failed");
    // On loopback every peer is 127.0.0.1 (tor does not bind exits'
    // loopback connections), so ask the kernel who held the other end:
    // one of the network's tor processes, never this one.
    let peers = relay.peers();
    assert!(!peers.is_empty());
    let tor_pids = testnet_pids(&network_dir);
    for (peer, owner) in &peers {
        let owner = owner.expect("the connection's owner is visible in /proc");
        assert_ne!(owner, std::process::id(), "{peer} came from Sotto directly");
        assert!(
            tor_pids.contains(&owner),
            "{peer} came from pid {owner}, not a Tor exit"
        );
    }
    assert_eq!(relay.received().len(), 1);

    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    eprintln!(
        "tor e2e: bootstrap {:?}, online {:?}, message median over Tor {:?}, direct {:?}",
        bootstrapped,
        online,
        median(&mut over_tor),
        median(&mut direct)
    );
}

/// The pids of the private network's tor processes (their pid files).
fn testnet_pids(dir: &std::path::Path) -> Vec<u32> {
    std::fs::read_dir(dir)
        .expect("network dir")
        .flatten()
        .filter_map(|node| std::fs::read_to_string(node.path().join("pid")).ok())
        .filter_map(|pid| pid.trim().parse().ok())
        .collect()
}
