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

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
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

    let display = format!(":{}", 200 + std::process::id() % 300);
    let mut xvfb = Command::new("Xvfb")
        .args([
            display.as_str(),
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb must be installed (apt install xvfb)");
    std::thread::sleep(Duration::from_secs(1));

    let mut window = Vec::new();
    let mut listed = Vec::new();
    for _ in 0..runs {
        let (mut child, w, l) = start(dir.path(), &display);
        window.push(w);
        listed.push(l);
        let _ = child.kill();
        let _ = child.wait();
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

    let (mut child, _, _) = start(dir.path(), &display);
    let pid = child.id();
    std::thread::sleep(Duration::from_secs(3));
    let cpu_before = cpu_ticks(pid);
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs(idle_seconds));
    let cpu = cpu_ticks(pid) - cpu_before;
    let ticks_per_second = 100.0; // USER_HZ on Linux
    println!(
        "idle {idle_seconds} s: CPU {:.2} s ({:.2} % of one core); RSS {} MiB",
        cpu as f64 / ticks_per_second,
        100.0 * cpu as f64 / ticks_per_second / t.elapsed().as_secs_f64(),
        rss_kib(pid) / 1024
    );
    let _ = child.kill();
    let _ = child.wait();
    let _ = xvfb.kill();
    let _ = xvfb.wait();
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
                    },
                    i % 3 == 0,
                )
            })
            .collect();
        store.insert_many(&batch).expect("insert");
    }
}

/// Starts the window; returns when the list is shown, with both timings.
fn start(home: &Path, display: &str) -> (Child, u128, u128) {
    let bin =
        std::env::var_os("SOTTO_BENCH_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_sotto").into());
    let mut child = Command::new(bin)
        .arg("--home")
        .arg(home)
        .env("DISPLAY", display)
        .env_remove("WAYLAND_DISPLAY")
        .env("SOTTO_PASSPHRASE", PASSPHRASE)
        .env("RUST_LOG", "sotto=info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sotto");
    let stderr = child.stderr.take().expect("stderr");
    let mut window = None;
    let mut listed = None;
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    while listed.is_none() && Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        let ms = || {
            line.split("ms=")
                .nth(1)
                .and_then(|s| s.split_whitespace().next())
                .and_then(|s| s.parse::<u128>().ok())
        };
        if line.contains("window open") {
            window = ms();
        } else if line.contains("conversation list shown") {
            listed = ms();
        }
    }
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (
        child,
        window.expect("the window did not open"),
        listed.expect("the list was not shown"),
    )
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // Fields after the command name (which may hold spaces) start at ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0);
    let stime: u64 = fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    utime + stime
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
