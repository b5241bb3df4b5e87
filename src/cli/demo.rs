//! `sotto demo`: a working messenger in one command. Starts a throwaway
//! Prosody on loopback with two accounts (you are alice, bob is a small
//! bot that answers), signs alice in to the GUI and cleans everything up
//! when the window closes. Nothing touches the user's own accounts, data
//! or keychain.

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use futures::FutureExt as _;
use rcgen::{CertificateParams, DnType, KeyPair};
use secrecy::SecretString;
use sotto::config::{AccountConfig, PasswordStore};
use sotto::engine::{AccountLogin, Command, Engine, EngineOptions, Event};
use sotto::fingerprint::Fingerprint;
use sotto::model::{
    Availability, BareJid, ChatState, ConnectionState, OutgoingMessage, SubscriptionChange,
};
use sotto::store::{Direction, PassphraseError, PassphrasePrompt, Store, StoreKey};
use sotto::xmpp::RetryPolicy;
use tokio::sync::mpsc;

const DOMAIN: &str = "localhost";
/// The demo database's passphrase: it protects throwaway data only.
const DEMO_PASSPHRASE: &str = "sotto-demo";

pub fn demo(keep_open: Option<Duration>) -> Result<ExitCode> {
    if which("prosody").is_none() || which("prosodyctl").is_none() {
        bail!(
            "`sotto demo` runs a throwaway XMPP server on this computer, which needs Prosody: \
             install it (on Debian/Ubuntu: sudo apt install prosody) and run `sotto demo` again"
        );
    }
    // Signals are caught from the first step: one that arrives while the
    // demo is still setting up ends it as soon as the setup returns, with
    // everything tidied, instead of killing it half-way.
    let runtime = super::runtime()?;
    let mut ended = {
        let _inside = runtime.enter();
        Ended::new()?
    };
    let dir = tempfile::Builder::new()
        .prefix("sotto-demo-")
        .tempdir()
        .context("could not make a folder for the demo")?;
    eprintln!("Starting a throwaway XMPP server for the demo…");
    let server = Server::start(dir.path())?;
    let alice_pw = random_password();
    let bob_pw = random_password();
    server.register("alice", &alice_pw)?;
    server.register("bob", &bob_pw)?;

    let alice: BareJid = format!("alice@{DOMAIN}").parse()?;
    let bob: BareJid = format!("bob@{DOMAIN}").parse()?;
    let account = |jid: &BareJid| AccountConfig {
        jid: jid.clone(),
        server: Some(
            format!("127.0.0.1:{}", server.port)
                .parse()
                .expect("address"),
        ),
        direct_tls: false,
        pinned_certificate: Some(server.fingerprint),
        password_store: PasswordStore::Database,
        enabled: true,
        tor: false,
    };

    // Alice's account goes in through the real CLI, as a user would add it.
    let home = dir.path().join("alice");
    let mut add = Process::new(std::env::current_exe()?)
        .arg("--home")
        .arg(&home)
        .args(["account", "add", alice.as_str(), "--password-stdin"])
        .arg("--server")
        .arg(format!("127.0.0.1:{}", server.port))
        .arg("--trust-fingerprint")
        .arg(server.fingerprint.to_string())
        .envs(demo_env())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .context("could not run sotto account add")?;
    if let Some(mut stdin) = add.stdin.take() {
        use std::io::Write as _;
        writeln!(stdin, "{alice_pw}")?;
    }
    if !add.wait()?.success() {
        bail!("the demo account could not be added");
    }

    runtime.block_on(async {
        // Make alice and bob contacts of each other, with a few messages
        // waiting for alice, before the window opens. Alice's side runs on
        // the window's own database: its OMEMO device is the window's, so
        // what bob encrypts to it the window can read.
        let paths = sotto::paths::Paths::resolve(Some(&home))?;
        let (database, _) = sotto::store::unlock(&paths, &DemoPassphrase)?;
        let (engine, events) = Engine::open(database, EngineOptions::default())?;
        let mut alice_side = Peer::start(engine, events, account(&alice), &alice_pw).await?;
        let mut bob_side = Peer::start_bot(dir.path(), account(&bob), &bob_pw).await?;
        befriend(&mut alice_side, &mut bob_side).await?;
        bob_side.knows_device_of(&alice_side).await;
        alice_side.close().await;
        // A phone alice used once and then reinstalled: a stale device on
        // her lists, which Settings shows and offers to remove.
        let old_phone = Peer::start_bot(dir.path(), account(&alice), &alice_pw).await?;
        bob_side.knows_device_of(&old_phone).await;
        old_phone.close().await;
        for text in [
            "Hi! I'm Bob, a little bot on this demo server.",
            "Write to me and I'll answer. Ctrl+K switches chats, Ctrl+F searches.",
        ] {
            bob_side.say(&alice, text)?;
        }

        if let Some(signal) = ended.next().now_or_never() {
            eprintln!("Ending the demo ({signal}).");
            bob_side.engine.send(Command::Shutdown)?;
            return anyhow::Ok(());
        }
        eprintln!("Opening Sotto signed in as {alice}; close the window to end the demo.");
        let mut gui = guarded(
            Process::new(std::env::current_exe()?)
                .arg("--home")
                .arg(&home)
                .envs(demo_env()),
            Some(dir.path()),
            None,
        )
        .context("could not start the window")?;
        let started = Instant::now();
        loop {
            tokio::select! {
                event = bob_side.events.recv() => match event {
                    Some(event) => bob_side.answer(&alice, event).await?,
                    None => break,
                },
                signal = ended.next() => {
                    eprintln!("Ending the demo ({signal}).");
                    break;
                }
                () = tokio::time::sleep(Duration::from_millis(250)) => {
                    if gui.try_wait()?.is_some() {
                        break;
                    }
                    if keep_open.is_some_and(|d| started.elapsed() > d) {
                        break;
                    }
                }
            }
        }
        stop(&mut gui);
        bob_side.engine.send(Command::Shutdown)?;
        anyhow::Ok(())
    })?;
    drop(server);
    Ok(ExitCode::SUCCESS)
}

/// The signals that end a demo as closing its window does: a terminal's
/// Ctrl+C or hang-up, a script's or the session's SIGTERM.
struct Ended {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

impl Ended {
    fn new() -> Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "interrupted",
            _ = self.terminate.recv() => "terminated",
            _ = self.hangup.recv() => "hung up",
        }
    }
}

/// Starts `command` under a small shell guard that ends it, and removes
/// `folder`, as soon as this process is gone: even a SIGKILL of the demo,
/// which no handler sees, leaves no server or window behind. Every guard
/// of the demo is given the folder: removal fails while another child
/// still writes in it, and the guard that ends last succeeds.
fn guarded(
    command: &mut Process,
    folder: Option<&Path>,
    log: Option<&Path>,
) -> std::io::Result<Child> {
    let program = command.get_program().to_owned();
    let args: Vec<_> = command.get_args().map(ToOwned::to_owned).collect();
    let envs: Vec<_> = command
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned())))
        .collect();
    let script = r#"parent="$1"; folder="$2"; log="$3"; shift 3
# The trap is set only once the child runs: a child forked while the
# guard has a trap inherits its handler until exec, and a TERM caught
# there is lost (the child then runs on, and the guard waits forever). A
# signal before the trap ends the guard, and reaches the child too: the
# demo signals the guard's whole process group.
if [ -n "$log" ]; then "$@" >>"$log" 2>&1 & else "$@" & fi
child=$!
trap 'kill $child 2>/dev/null; wait $child 2>/dev/null; exit 0' TERM INT HUP
while kill -0 "$parent" 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 0.3; done
kill $child 2>/dev/null
wait $child 2>/dev/null
status=$?
# The demo itself is gone: nobody else will tidy up.
if ! kill -0 "$parent" 2>/dev/null && [ -n "$folder" ]; then rm -rf "$folder"; fi
exit $status"#;
    let mut guard = Process::new("sh");
    guard
        .arg("-c")
        .arg(script)
        .arg("sotto-demo-guard")
        .arg(std::process::id().to_string())
        .arg(folder.map(|f| f.as_os_str().to_owned()).unwrap_or_default())
        .arg(log.map(|f| f.as_os_str().to_owned()).unwrap_or_default())
        .arg(program)
        .args(args)
        .envs(envs)
        .stdin(Stdio::null())
        // The guard and its child form a group of their own, which `stop`
        // signals as one: a signal that reaches the guard before its trap
        // is set still ends the child.
        .process_group(0);
    guard.spawn()
}

/// Ends a guarded child and its guard, and reaps the guard.
fn stop(child: &mut Child) {
    if child.try_wait().ok().flatten().is_none() {
        let group = format!("-{}", child.id());
        let _ = Process::new("kill").args(["-TERM", "--", &group]).status();
    }
    let _ = child.wait();
}

fn demo_env() -> [(&'static str, &'static str); 2] {
    [
        (sotto::keychain::BACKEND_ENV, "passphrase"),
        (sotto::store::PASSPHRASE_ENV, DEMO_PASSPHRASE),
    ]
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
}

fn random_password() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One side of the demo, driven in this process.
struct Peer {
    jid: BareJid,
    engine: Engine,
    events: mpsc::Receiver<Event>,
}

/// The demo's passphrase for its own process (the window it starts reads
/// it from the environment).
struct DemoPassphrase;

impl PassphrasePrompt for DemoPassphrase {
    fn passphrase(&self, _creating: bool) -> Result<SecretString, PassphraseError> {
        Ok(SecretString::from(DEMO_PASSPHRASE))
    }
}

impl Peer {
    /// The bot, on a throwaway database with a throwaway key (never the
    /// keychain).
    async fn start_bot(dir: &Path, account: AccountConfig, password: &str) -> Result<Self> {
        let node = account
            .jid
            .node()
            .map(|n| n.to_string())
            .unwrap_or_default();
        let key = StoreKey::from_bytes(rand::random());
        let store = Store::open(&dir.join(format!("{node}-bot.db")), &key)?;
        let (engine, events) = Engine::start(store)?;
        Self::start(engine, events, account, password).await
    }

    async fn start(
        engine: Engine,
        mut events: mpsc::Receiver<Event>,
        account: AccountConfig,
        password: &str,
    ) -> Result<Self> {
        let jid = account.jid.clone();
        engine.send(Command::Start(Box::new(AccountLogin {
            config: account,
            password: Some(SecretString::from(password.to_owned())),
            presence: Some((Availability::Available, Some("A demo bot".into()))),
            retry: RetryPolicy::Never,
        })))?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let event = tokio::time::timeout_at(deadline, events.recv())
                .await
                .context("the demo server did not answer")?;
            match event {
                Some(Event::Connection {
                    state: ConnectionState::Online { .. },
                    ..
                }) => break,
                Some(Event::Connection {
                    state: ConnectionState::Failed { reason, .. },
                    ..
                }) => bail!("{jid} could not log in to the demo server: {reason}"),
                Some(_) => {}
                None => bail!("the engine stopped"),
            }
        }
        Ok(Self {
            jid,
            engine,
            events,
        })
    }

    /// Waits (a few seconds at most) until this side has heard of the
    /// other's OMEMO device: until then what it sends is not encrypted to
    /// that device.
    async fn knows_device_of(&self, other: &Peer) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let theirs = other
                .engine
                .reader()
                .omemo_own_identity(other.jid.as_str())
                .ok()
                .flatten();
            let known = theirs.is_some_and(|own| {
                self.engine
                    .reader()
                    .omemo_devices(self.jid.as_str(), other.jid.as_str())
                    .is_ok_and(|ds| ds.iter().any(|d| d.active && d.device_id == own.device_id))
            });
            if known {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tracing::info!("the demo bot has not heard of the window's OMEMO device yet");
    }

    /// Stops this side's engine and waits until it let its database go.
    async fn close(self) {
        let _ = self.engine.send(Command::Shutdown);
        let Self {
            engine, mut events, ..
        } = self;
        drop(engine);
        let _ = tokio::time::timeout(Duration::from_secs(10), async {
            while events.recv().await.is_some() {}
        })
        .await;
    }

    fn say(&self, to: &BareJid, body: &str) -> Result<()> {
        self.engine.send(Command::SendMessage {
            account: self.jid.clone(),
            message: OutgoingMessage {
                id: Engine::new_message_id(),
                to: to.clone(),
                body: body.to_owned(),
                plain: false,
            },
        })?;
        Ok(())
    }

    /// The bot: approves alice, reads, types for a moment, answers.
    async fn answer(&mut self, alice: &BareJid, event: Event) -> Result<()> {
        match event {
            Event::Subscription {
                from,
                change: SubscriptionChange::Requested,
                ..
            } => {
                self.engine.send(Command::AnswerSubscription {
                    account: self.jid.clone(),
                    jid: from,
                    approve: true,
                })?;
            }
            Event::Message { message, .. }
                if message.direction == Direction::In && message.peer == alice.as_str() =>
            {
                self.engine.send(Command::MarkRead {
                    account: self.jid.clone(),
                    peer: alice.clone(),
                })?;
                self.engine.send(Command::SetChatState {
                    account: self.jid.clone(),
                    to: alice.clone(),
                    state: ChatState::Composing,
                })?;
                tokio::time::sleep(Duration::from_millis(1200)).await;
                self.say(alice, &reply(&message.body))?;
            }
            _ => {}
        }
        Ok(())
    }
}

/// What the bot says back.
fn reply(body: &str) -> String {
    let lower = body.to_lowercase();
    if lower.contains("hello") || lower.contains("hi") {
        "Hello! Everything you see here is stored encrypted on your computer.".into()
    } else if lower.contains('?') {
        "Good question. I'm only a demo bot, but a real contact would know.".into()
    } else {
        let words = body.split_whitespace().count();
        format!(
            "Got it: {words} word{}. Try Ctrl+F to search for them later.",
            if words == 1 { "" } else { "s" }
        )
    }
}

/// Both ask, both approve, until each sees the other.
async fn befriend(a: &mut Peer, b: &mut Peer) -> Result<()> {
    a.engine.send(Command::AddContact {
        account: a.jid.clone(),
        jid: b.jid.clone(),
        name: Some("Bob (demo bot)".into()),
    })?;
    b.engine.send(Command::AddContact {
        account: b.jid.clone(),
        jid: a.jid.clone(),
        name: Some("Alice".into()),
    })?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let (mut a_done, mut b_done) = (false, false);
    while !(a_done && b_done) {
        tokio::select! {
            e = a.events.recv() => a_done |= friend_step(a, e)?,
            e = b.events.recv() => b_done |= friend_step(b, e)?,
            () = tokio::time::sleep_until(deadline) => bail!("the demo accounts could not become contacts"),
        }
    }
    Ok(())
}

/// Approves requests; true once the other is a mutual contact.
fn friend_step(p: &Peer, event: Option<Event>) -> Result<bool> {
    match event {
        Some(Event::Subscription {
            from,
            change: SubscriptionChange::Requested,
            ..
        }) => {
            p.engine.send(Command::AnswerSubscription {
                account: p.jid.clone(),
                jid: from,
                approve: true,
            })?;
            Ok(false)
        }
        Some(Event::ContactChanged { contact, .. }) => {
            Ok(contact.subscription == sotto::model::Subscription::Both)
        }
        Some(_) => Ok(false),
        None => bail!("the engine stopped"),
    }
}

/// The throwaway Prosody; stopped when dropped.
struct Server {
    dir: PathBuf,
    port: u16,
    fingerprint: Fingerprint,
    child: Child,
}

impl Server {
    fn start(dir: &Path) -> Result<Self> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(vec![DOMAIN.to_owned()])?;
        params.distinguished_name.push(DnType::CommonName, DOMAIN);
        let cert = params.self_signed(&key)?;
        let certs = dir.join("certs");
        std::fs::create_dir_all(&certs)?;
        std::fs::create_dir_all(dir.join("data"))?;
        std::fs::write(certs.join("localhost.crt"), cert.pem())?;
        std::fs::write(certs.join("localhost.key"), key.serialize_pem())?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let d = dir.display();
        let root = Process::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout.starts_with(b"0\n"))
            .unwrap_or(false);
        let user = if root {
            "run_as_root = true\nprosody_user = \"root\"\nprosody_group = \"root\"\n"
        } else {
            ""
        };
        let config = format!(
            r#"{user}pidfile = "{d}/prosody.pid"
data_path = "{d}/data"
log = {{ info = "{d}/prosody.log"; error = "{d}/err.log" }}
daemonize = false
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {port} }}
c2s_direct_tls_ports = {{}}
s2s_ports = {{}}
http_ports = {{}}
https_ports = {{}}
admin_socket = "{d}/admin.sock"
c2s_require_encryption = true
authentication = "internal_hashed"
modules_enabled = {{ "roster"; "saslauth"; "tls"; "disco"; "carbons"; "pep";
  "blocklist"; "ping"; "mam"; "csi_simple"; "smacks"; "offline" }}
modules_disabled = {{ "s2s" }}
archive_expires_after = "never"
certificates = "{d}/certs"
VirtualHost "{DOMAIN}"
  ssl = {{ key = "{d}/certs/localhost.key"; certificate = "{d}/certs/localhost.crt" }}
"#
        );
        let cfg = dir.join("prosody.cfg.lua");
        std::fs::write(&cfg, config)?;
        let child = guarded(
            Process::new("prosody").arg("--config").arg(&cfg),
            Some(dir),
            Some(&dir.join("stdout.log")),
        )
        .context("could not start prosody")?;
        let server = Self {
            dir: dir.to_owned(),
            port,
            fingerprint: Fingerprint::of_der(cert.der()),
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!(
                    "the demo server did not start; its log is {}",
                    dir.join("err.log").display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    fn register(&self, user: &str, password: &str) -> Result<()> {
        let out = Process::new("prosodyctl")
            .arg("--config")
            .arg(self.dir.join("prosody.cfg.lua"))
            .args(["register", user, DOMAIN, password])
            .output()
            .context("could not run prosodyctl")?;
        if !out.status.success() {
            bail!(
                "could not create the demo account {user}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bot_answers_sensibly() {
        assert!(reply("hello bob").starts_with("Hello"));
        assert!(reply("how are you?").contains("question"));
        assert_eq!(
            reply("one two three"),
            "Got it: 3 words. Try Ctrl+F to search for them later."
        );
    }
}
