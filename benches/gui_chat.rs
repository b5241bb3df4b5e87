//! The chat window under load, on the real binary under Xvfb (software
//! rendering), CPU and memory read from /proc:
//!
//! - `live`: the window open on a chat while a bot (an engine in this
//!   process, over a throwaway Prosody) sends 2,000 messages at 20/s:
//!   RSS growth and CPU per arriving message for each successive 500.
//! - `history`: two accounts and 100,000 stored messages; the mouse
//!   wheel scrolls through a 10,000-message chat to its first message and
//!   back; RSS after each way. The window's log proves the trip: the
//!   pages it read from the store on the way, and the moment each end of
//!   the chat came on screen (the bench fails if the wheel moves nothing).
//!
//!   cargo bench --bench gui_chat [-- live|history] [--messages N] [--rate N]
//!
//! `SOTTO_BENCH_BIN=/path/to/sotto` measures that binary instead;
//! `SOTTO_BENCH_SHOTS=dir` saves screenshots there, `SOTTO_BENCH_LOG=file`
//! a copy of the window's log. Needs Xvfb, xdotool, ImageMagick's
//! `import` and Prosody.

#![allow(clippy::print_stdout, clippy::print_stderr)]

#[allow(dead_code)]
#[path = "../tests/it/harness.rs"]
mod harness;
#[path = "xwindow/mod.rs"]
mod xwindow;

use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use sotto::config::{AccountConfig, Config, PasswordStore};
use sotto::engine::{AccountLogin, Command, Engine, Event};
use sotto::model::{
    Availability, BareJid, ConnectionState, Contact, OutgoingMessage, OutgoingState, Subscription,
    SubscriptionChange,
};
use sotto::paths::Paths;
use sotto::store::{NewIncoming, Placement, Store, StoreKey};
use sotto::xmpp::RetryPolicy;
use tokio::sync::mpsc;
use xwindow::{Gui, TICKS_PER_SECOND, Xvfb, mib};

const PASSPHRASE: &str = "bench-passphrase";
const BOT_NAME: &str = "Benchmark Bot";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let only = |name: &str| {
        let named = ["live", "history"];
        !args.iter().any(|a| named.contains(&a.as_str())) || args.iter().any(|a| a == name)
    };
    if only("live") {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(live(
            arg("--messages", 2000) as usize,
            arg("--rate", 20) as u32,
        ));
    }
    if only("history") {
        history();
    }
}

/// Waits for the first event `pick` accepts.
async fn wait<T>(
    events: &mut mpsc::Receiver<Event>,
    what: &str,
    patience: Duration,
    mut pick: impl FnMut(&Event) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(Event::Connection {
                state: ConnectionState::Failed { reason, .. },
                ..
            })) => panic!("{what}: {reason}"),
            Ok(Some(e)) => {
                if let Some(v) = pick(&e) {
                    return v;
                }
            }
            _ => panic!("no {what} within {patience:?}"),
        }
    }
}

struct Peer {
    jid: BareJid,
    engine: Engine,
    events: mpsc::Receiver<Event>,
    _dir: tempfile::TempDir,
}

impl Peer {
    async fn start(account: AccountConfig, password: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(
            &dir.path().join("peer.db"),
            &StoreKey::from_bytes(rand::random()),
        )
        .expect("store");
        let (engine, mut events) = Engine::start(store).expect("engine");
        let jid = account.jid.clone();
        engine
            .send(Command::Start(Box::new(AccountLogin {
                config: account,
                password: Some(SecretString::from(password.to_owned())),
                presence: Some((Availability::Available, None)),
                retry: RetryPolicy::Never,
            })))
            .expect("engine");
        wait(&mut events, "login", Duration::from_secs(30), |e| {
            matches!(
                e,
                Event::Connection {
                    state: ConnectionState::Online { .. },
                    ..
                }
            )
            .then_some(())
        })
        .await;
        Self {
            jid,
            engine,
            events,
            _dir: dir,
        }
    }

    fn say(&self, to: &BareJid, body: String) -> String {
        let id = Engine::new_message_id();
        self.engine
            .send(Command::SendMessage {
                account: self.jid.clone(),
                message: OutgoingMessage {
                    id: id.clone(),
                    to: to.clone(),
                    body,
                    plain: false,
                },
            })
            .expect("engine");
        id
    }
}

/// Both ask to see each other's presence and both approve: receipts and
/// read markers go only to such contacts.
async fn befriend(a: &mut Peer, b: &mut Peer, a_calls_b: &str) {
    for (from, to, name) in [(&*a, &*b, Some(a_calls_b)), (&*b, &*a, None)] {
        from.engine
            .send(Command::AddContact {
                account: from.jid.clone(),
                jid: to.jid.clone(),
                name: name.map(str::to_owned),
            })
            .expect("engine");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let (mut a_done, mut b_done) = (false, false);
    while !(a_done && b_done) {
        let (peer, event, done) = tokio::select! {
            e = a.events.recv() => (&*a, e, &mut a_done),
            e = b.events.recv() => (&*b, e, &mut b_done),
            () = tokio::time::sleep_until(deadline) => panic!("the accounts did not become contacts"),
        };
        match event.expect("engine") {
            Event::Subscription {
                from,
                change: SubscriptionChange::Requested,
                ..
            } => peer
                .engine
                .send(Command::AnswerSubscription {
                    account: peer.jid.clone(),
                    jid: from,
                    approve: true,
                })
                .expect("engine"),
            Event::ContactChanged { contact, .. } => {
                *done |= contact.subscription == Subscription::Both;
            }
            _ => {}
        }
    }
}

/// What the bot says: mostly one line, now and then two or three.
fn body(i: usize) -> String {
    match i % 7 {
        0 => format!(
            "Message {i}: a longer one, so that the bubble takes more than one line in the \
             window and the layout has some wrapping to do, as real chats have."
        ),
        3 => format!("{i}: ok"),
        _ => format!("Message {i}: the quick brown fox jumps over the lazy dog"),
    }
}

async fn live(count: usize, rate: u32) {
    let server = harness::Prosody::start(harness::ProsodyOptions::default());
    let (me, me_pw) = harness::new_user(&server, "window");
    let (bot, bot_pw) = harness::new_user(&server, "bot");
    let home = tempfile::tempdir().expect("tempdir");

    // The window's account, added as a user adds it.
    let mut add = Process::new(xwindow::binary());
    add.arg("--home")
        .arg(home.path())
        .args(["account", "add", server.account(&me).jid.as_str()])
        .args(["--password-stdin", "--server", &server.starttls_address()])
        .args(["--trust-fingerprint", &server.fingerprint.to_string()])
        .env("SOTTO_PASSPHRASE", PASSPHRASE)
        .env("SOTTO_SECRETS", "passphrase")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdout(Stdio::null());
    let out = harness::run_with_stdin(add, &format!("{me_pw}\n"));
    assert!(
        out.status.success(),
        "account add: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut bot = Peer::start(server.account(&bot), &bot_pw).await;
    {
        let mut window_side = Peer::start(server.account(&me), &me_pw).await;
        befriend(&mut window_side, &mut bot, BOT_NAME).await;
        window_side.engine.send(Command::Shutdown).expect("engine");
    }
    let me = server.account(&me).jid;

    let x = Xvfb::start(1100, 720);
    let gui = Gui::start(
        home.path(),
        &x,
        &[
            ("SOTTO_PASSPHRASE", PASSPHRASE),
            ("SOTTO_SECRETS", "passphrase"),
        ],
    );
    gui.wait_log("conversation list shown", Duration::from_secs(60))
        .expect("the window did not list its conversations");
    wait(
        &mut bot.events,
        "the window's account online",
        Duration::from_secs(30),
        |e| match e {
            Event::Presence { update, .. }
                if update.from.to_bare() == me && update.availability.is_online() =>
            {
                Some(())
            }
            _ => None,
        },
    )
    .await;

    // Open the chat: the window marks the first message read once shown.
    let hello = bot.say(&me, "hello, window".into());
    x.focus_sotto();
    for attempt in 1.. {
        open_chat(&x, "Benchmark");
        let read = wait(
            &mut bot.events,
            "the chat open (a read marker)",
            Duration::from_secs(30),
            |e| match e {
                Event::MessageState {
                    id,
                    state: OutgoingState::Read,
                    ..
                } if *id == hello => Some(()),
                _ => None,
            },
        );
        if tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .is_ok()
        {
            break;
        }
        assert!(attempt < 3, "the chat did not open");
        eprintln!("the switcher did not open the chat (attempt {attempt}); again");
        x.xdotool(&["key", "Escape"]);
    }
    gui.settle(Duration::from_secs(1), Duration::from_secs(30));

    let block = (count / 4).max(1);
    println!(
        "live: {count} messages at {rate}/s into the open chat (binary: {})",
        xwindow::binary().to_string_lossy()
    );
    let rss_start = gui.rss_kib();
    let mut last_cpu = gui.cpu_ticks();
    let mut last_at = Instant::now();
    let mut interval = tokio::time::interval(Duration::from_secs(1) / rate);
    let mut delivered = 0usize;
    let mut rows = Vec::new();
    for i in 0..count {
        interval.tick().await;
        bot.say(&me, body(i));
        // Count receipts as they come, without waiting for them.
        while let Ok(e) = bot.events.try_recv() {
            if matches!(
                e,
                Event::MessageState {
                    state: OutgoingState::Delivered,
                    ..
                }
            ) {
                delivered += 1;
            }
        }
        if (i + 1) % block == 0 {
            let cpu = gui.cpu_ticks();
            let ms = (cpu - last_cpu) as f64 * 1000.0 / TICKS_PER_SECOND / block as f64;
            let rss = gui.rss_kib();
            rows.push((i + 1, ms, rss, last_at.elapsed()));
            println!(
                "  messages {:>5}-{:<5} CPU {ms:5.1} ms/message  RSS {:6.1} MiB (+{:.1})",
                i + 2 - block,
                i + 1,
                mib(rss),
                mib(rss.saturating_sub(rss_start))
            );
            last_cpu = cpu;
            last_at = Instant::now();
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while delivered < count {
        match tokio::time::timeout_at(deadline, bot.events.recv()).await {
            Ok(Some(Event::MessageState {
                state: OutgoingState::Delivered,
                ..
            })) => delivered += 1,
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    gui.settle(Duration::from_secs(1), Duration::from_secs(60));
    let rss_end = gui.rss_kib();
    println!(
        "  delivered {delivered} of {count}; RSS {:.1} -> {:.1} MiB (+{:.1}), peak {:.1} MiB",
        mib(rss_start),
        mib(rss_end),
        mib(rss_end.saturating_sub(rss_start)),
        mib(gui.peak_kib())
    );
    if let Some(dir) = std::env::var_os("SOTTO_BENCH_SHOTS") {
        x.screenshot(&Path::new(&dir).join("gui_chat-live.png"));
    }
    bot.engine.send(Command::Shutdown).expect("engine");
}

/// Ctrl+K, the name, Enter. Now and then under Xvfb the switcher shows
/// the match but the Enter opens nothing (about one run in three; the
/// cause is not found yet, nor whether it happens outside Xvfb),
/// so callers check that the chat opened, and say so when they try
/// again.
fn open_chat(x: &Xvfb, name: &str) {
    x.xdotool(&["key", "ctrl+k"]);
    x.xdotool(&["type", "--delay", "20", name]);
    x.xdotool(&["key", "Return"]);
}

/// A home with two (turned off) accounts and `total` stored messages,
/// `long` of them with one contact, the rest spread over 200 others.
fn fill_history(paths: &Paths, total: usize, long: usize) -> BareJid {
    let salt: [u8; 16] = rand::random();
    let db = sotto::store::database_file(paths);
    std::fs::write(db.with_extension("db.salt"), salt).expect("salt");
    let key = StoreKey::derive(&SecretString::from(PASSPHRASE), &salt).expect("key");
    let store = Store::open(&db, &key).expect("store");
    let accounts = ["me@example.org", "work@example.net"];
    let config = Config {
        accounts: accounts
            .iter()
            .map(|jid| AccountConfig {
                jid: jid.parse().expect("jid"),
                server: None,
                direct_tls: false,
                pinned_certificate: None,
                password_store: PasswordStore::Database,
                enabled: false,
                tor: false,
            })
            .collect(),
    };
    config.save(&paths.config_file()).expect("config");
    let friend: BareJid = "longtime@example.org".parse().expect("jid");
    store
        .replace_roster(
            accounts[0],
            &[Contact {
                jid: friend.clone(),
                name: Some("Longtime Friend".into()),
                subscription: Subscription::Both,
                pending_out: false,
                groups: vec![],
            }],
        )
        .expect("roster");
    let peers: Vec<String> = (0..200).map(|i| format!("friend{i}@example.org")).collect();
    let bodies: Vec<String> = (0..total).map(body).collect();
    let start = sotto::model::now_ms() - total as i64 * 1000;
    let friend_sender = format!("{friend}/phone");
    let senders: Vec<String> = peers.iter().map(|p| format!("{p}/phone")).collect();
    let every = total / long.max(1);
    for chunk in (0..total).collect::<Vec<_>>().chunks(10_000) {
        let batch: Vec<(NewIncoming<'_>, bool)> = chunk
            .iter()
            .map(|&i| {
                let (account, peer, sender) = if i % every == 0 && i / every < long {
                    (accounts[0], friend.as_str(), friend_sender.as_str())
                } else {
                    let c = i % peers.len();
                    (accounts[c % 2], peers[c].as_str(), senders[c].as_str())
                };
                (
                    NewIncoming {
                        account,
                        peer,
                        sender,
                        body: &bodies[i],
                        sent_at: start + i as i64 * 1000,
                        placement: Placement::AsStamped,
                        origin_id: None,
                        stanza_id: None,
                        archive_id: None,
                        count_unread: false,
                        wire_id: None,
                        markable: false,
                        encrypted: false,
                        omemo_notice: false,
                    },
                    // Every third message of the long chat is ours.
                    i % 3 == 0,
                )
            })
            .collect();
        store.insert_many(&batch).expect("insert");
    }
    friend
}

/// How a scroll through the chat went.
struct Scrolled {
    clicks: usize,
    time: Duration,
    /// Pages the chat read from the store on the way (its log says so).
    pages: usize,
}

/// Turns the mouse wheel over the chat until the window's log says the
/// chat shows `edge` (its first or its newest message). Panics if the
/// wheel moves nothing: the chat reads a page from the store every
/// screenful or two, so a few hundred clicks without one mean the window
/// never scrolled.
fn scroll_to(x: &Xvfb, gui: &Gui, button: &str, edge: &str) -> Scrolled {
    const CHUNK: usize = 200;
    const MOST: usize = 100_000;
    let started = Instant::now();
    let (mut clicks, mut pages, mut idle) = (0, 0, 0);
    gui.log_since();
    loop {
        x.xdotool(&[
            "click",
            "--repeat",
            &CHUNK.to_string(),
            "--delay",
            "2",
            button,
        ]);
        clicks += CHUNK;
        gui.settle(Duration::from_millis(300), Duration::from_secs(60));
        let lines = gui.log_since();
        let read = lines
            .iter()
            .filter(|l| l.contains("chat window: read"))
            .count();
        pages += read;
        if lines.iter().any(|l| l.contains(edge)) {
            break;
        }
        idle = if read == 0 { idle + 1 } else { 0 };
        assert!(
            idle < 5 && clicks < MOST,
            "{clicks} wheel clicks and no page read for the last {}: the chat did not scroll",
            idle * CHUNK
        );
    }
    Scrolled {
        clicks,
        time: started.elapsed(),
        pages,
    }
}

fn history() {
    const TOTAL: usize = 100_000;
    const LONG: usize = 10_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = Paths::under(dir.path());
    paths.create().expect("paths");
    let t = Instant::now();
    fill_history(&paths, TOTAL, LONG);
    eprintln!(
        "stored {TOTAL} messages ({LONG} in one chat) in {:.1?}",
        t.elapsed()
    );

    let x = Xvfb::start(1100, 720);
    // The chat says in its log what it reads and when an end is on
    // screen: the proof that the wheel went all the way.
    let gui = Gui::start(
        dir.path(),
        &x,
        &[
            ("SOTTO_PASSPHRASE", PASSPHRASE),
            ("RUST_LOG", "sotto=info,sotto::gui::chat=debug"),
        ],
    );
    gui.wait_log("conversation list shown", Duration::from_secs(60))
        .expect("the window did not list its conversations");
    gui.settle(Duration::from_secs(1), Duration::from_secs(30));
    let rss_listed = gui.rss_kib();
    x.focus_sotto();
    for attempt in 1.. {
        open_chat(&x, "Longtime");
        if gui
            .wait_log("chat shows its newest message", Duration::from_secs(10))
            .is_some()
        {
            break;
        }
        assert!(attempt < 3, "the chat did not open at its newest message");
        eprintln!("the switcher did not open the chat (attempt {attempt}); again");
        x.xdotool(&["key", "Escape"]);
    }
    gui.settle(Duration::from_secs(1), Duration::from_secs(30));
    let rss_open = gui.rss_kib();
    // Over the messages, clear of the sidebar and the composer.
    x.xdotool(&["mousemove", "700", "360"]);
    let up = scroll_to(&x, &gui, "4", "chat shows its first message");
    gui.settle(Duration::from_secs(1), Duration::from_secs(30));
    let rss_top = gui.rss_kib();
    let shots = std::env::var_os("SOTTO_BENCH_SHOTS");
    if let Some(shots) = &shots {
        x.screenshot(&Path::new(shots).join("gui_chat-history-top.png"));
    }
    let cpu_before = gui.cpu_ticks();
    let down = scroll_to(&x, &gui, "5", "chat shows its newest message");
    let cpu_down = gui.cpu_ticks() - cpu_before;
    gui.settle(Duration::from_secs(1), Duration::from_secs(30));
    let rss_bottom = gui.rss_kib();
    if let Some(shots) = &shots {
        x.screenshot(&Path::new(shots).join("gui_chat-history-bottom.png"));
    }
    println!(
        "history: 2 accounts, {TOTAL} stored messages, a {LONG}-message chat (binary: {})",
        xwindow::binary().to_string_lossy()
    );
    println!(
        "  RSS with the list shown {:.1} MiB, chat open {:.1} MiB",
        mib(rss_listed),
        mib(rss_open)
    );
    println!(
        "  to the first message: {} wheel clicks in {:.1?}, {} pages read, RSS {:.1} MiB",
        up.clicks,
        up.time,
        up.pages,
        mib(rss_top)
    );
    println!(
        "  back to the newest: {} wheel clicks in {:.1?} ({:.1} s CPU), {} pages read, RSS {:.1} MiB; peak {:.1} MiB",
        down.clicks,
        down.time,
        cpu_down as f64 / TICKS_PER_SECOND,
        down.pages,
        mib(rss_bottom),
        mib(gui.peak_kib())
    );
}
