//! The window with a big history: time to the first frame and to the
//! conversation list with 100,000 stored messages, then memory and CPU
//! while idle for 60 s. Runs the real binary under Xvfb (software
//! rendering); needs `Xvfb` on the PATH.
//!
//!   cargo bench --bench gui_startup [-- --idle-seconds N --runs N]
//!
//! `SOTTO_BENCH_BIN=/path/to/sotto` measures that binary instead (say,
//! the shipped release build) rather than the one built with the bench.

#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "xwindow/mod.rs"]
mod xwindow;

use std::path::Path;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use sotto::config::{AccountConfig, Config, PasswordStore};
use sotto::paths::Paths;
use sotto::store::{NewIncoming, Placement, Store, StoreKey};

const MESSAGES: usize = 100_000;
const CONVERSATIONS: usize = 200;
const PASSPHRASE: &str = "bench-passphrase";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let idle_seconds = arg("--idle-seconds", 60);
    let runs = arg("--runs", 5) as usize;

    let dir = tempfile::tempdir().expect("tempdir");
    let paths = Paths::under(dir.path());
    paths.create().expect("paths");
    let t = Instant::now();
    fill(&paths);
    eprintln!(
        "stored {MESSAGES} messages in {CONVERSATIONS} conversations in {:.1?}",
        t.elapsed()
    );

    let x = xwindow::Xvfb::start(1280, 800);
    let mut window = Vec::new();
    let mut listed = Vec::new();
    for _ in 0..runs {
        let (_gui, w, l) = start(dir.path(), &x);
        window.push(w);
        listed.push(l);
    }
    window.sort_unstable();
    listed.sort_unstable();
    println!(
        "first frame (window open): median {} ms, max {} ms over {runs} runs",
        window[runs / 2],
        window[runs - 1]
    );
    println!(
        "conversation list shown with {MESSAGES} stored messages: median {} ms, max {} ms",
        listed[runs / 2],
        listed[runs - 1]
    );

    let (gui, _, _) = start(dir.path(), &x);
    std::thread::sleep(Duration::from_secs(3));
    let cpu_before = gui.cpu_ticks();
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs(idle_seconds));
    let cpu = gui.cpu_ticks() - cpu_before;
    let tps = xwindow::TICKS_PER_SECOND;
    println!(
        "idle {idle_seconds} s: CPU {:.2} s ({:.2} % of one core); RSS {:.0} MiB",
        cpu as f64 / tps,
        100.0 * cpu as f64 / tps / t.elapsed().as_secs_f64(),
        xwindow::mib(gui.rss_kib())
    );
}

/// A home with one (turned off) account and a long history, unlocked by
/// a passphrase as on a machine without a keychain.
fn fill(paths: &Paths) {
    let salt: [u8; 16] = rand::random();
    let db = sotto::store::database_file(paths);
    std::fs::write(db.with_extension("db.salt"), salt).expect("salt");
    let key = StoreKey::derive(&SecretString::from(PASSPHRASE), &salt).expect("key");
    let store = Store::open(&db, &key).expect("store");
    let me = "me@example.org";
    let config = Config {
        accounts: vec![AccountConfig {
            jid: me.parse().expect("jid"),
            server: None,
            direct_tls: false,
            pinned_certificate: None,
            password_store: PasswordStore::Database,
            enabled: false,
            tor: false,
        }],
    };
    config.save(&paths.config_file()).expect("config");
    let peers: Vec<String> = (0..CONVERSATIONS)
        .map(|i| format!("friend{i}@example.org"))
        .collect();
    let senders: Vec<String> = peers.iter().map(|p| format!("{p}/phone")).collect();
    let bodies: Vec<String> = (0..MESSAGES)
        .map(|i| format!("Message number {i}: the quick brown fox jumps over the lazy dog"))
        .collect();
    let start = sotto::model::now_ms() - MESSAGES as i64 * 1000;
    for chunk in (0..MESSAGES).collect::<Vec<_>>().chunks(10_000) {
        let batch: Vec<(NewIncoming<'_>, bool)> = chunk
            .iter()
            .map(|&i| {
                let c = i % CONVERSATIONS;
                (
                    NewIncoming {
                        account: me,
                        peer: &peers[c],
                        sender: &senders[c],
                        body: &bodies[i],
                        sent_at: start + i as i64 * 1000,
                        placement: Placement::AsStamped,
                        origin_id: None,
                        stanza_id: None,
                        archive_id: None,
                        count_unread: true,
                        wire_id: None,
                        markable: false,
                        encrypted: false,
                        omemo_notice: false,
                    },
                    i % 3 == 0,
                )
            })
            .collect();
        store.insert_many(&batch).expect("insert");
    }
}

/// Starts the window; returns when the list is shown, with both timings.
fn start(home: &Path, x: &xwindow::Xvfb) -> (xwindow::Gui, u128, u128) {
    let gui = xwindow::Gui::start(home, x, &[("SOTTO_PASSPHRASE", PASSPHRASE)]);
    let patience = Duration::from_secs(60);
    let window = gui
        .wait_log("window open", patience)
        .expect("the window did not open");
    let listed = gui
        .wait_log("conversation list shown", patience)
        .expect("the list was not shown");
    (gui, window, listed)
}
