//! `sotto demo` under a real X server: however it ends (Ctrl+C, SIGTERM,
//! even SIGKILL), it leaves no server, window or folder behind.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::harness::Xvfb;

/// Processes whose command line mentions `needle`.
fn processes_mentioning(needle: &Path) -> Vec<String> {
    let needle = needle.to_string_lossy().into_owned();
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let line = String::from_utf8_lossy(&raw).replace('\0', " ");
        if line.contains(&needle) {
            // State, parent and signal masks: what a failure needs to say.
            let status = std::fs::read_to_string(entry.path().join("status")).unwrap_or_default();
            let facts: Vec<&str> = status
                .lines()
                .filter(|l| {
                    [
                        "State", "PPid", "SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt",
                    ]
                    .iter()
                    .any(|k| l.starts_with(k))
                })
                .collect();
            let short: String = line.chars().take(60).collect();
            let wchan = std::fs::read_to_string(entry.path().join("wchan")).unwrap_or_default();
            found.push(format!(
                "{} {facts:?} {wchan}: {short}",
                entry.file_name().to_string_lossy()
            ));
        }
    }
    found
}

fn demo_folders(tmp: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(tmp)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().contains("sotto-demo-"))
                .collect()
        })
        .unwrap_or_default()
}

/// Starts the demo and returns once the window is opening, with the
/// stderr lines seen so far arriving on the channel.
fn start_demo(x: &Xvfb, tmp: &Path) -> (Child, mpsc::Receiver<String>) {
    let mut demo = Command::new(env!("CARGO_BIN_EXE_sotto"))
        .arg("demo")
        .env("TMPDIR", tmp)
        .env("DISPLAY", &x.display)
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sotto demo");
    let stderr = demo.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.starts_with("Opening Sotto signed in") => break,
            Ok(line) => seen.push(line),
            Err(_) => {
                let _ = demo.kill();
                let status = demo.wait();
                panic!("the demo never opened its window ({status:?}): {seen:?}");
            }
        }
    }
    (demo, rx)
}

/// Waits, up to a deadline, until nothing of the demo is left in `tmp`:
/// no process mentions it and its folder is gone.
fn assert_nothing_left(tmp: &Path, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let left_running = processes_mentioning(tmp);
        let folders = demo_folders(tmp);
        if left_running.is_empty() && folders.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the demo left behind processes {left_running:?} and folders {folders:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

#[test]
fn the_demo_ends_cleanly_on_sigterm_and_leaves_nothing_after_sigkill() {
    let x = Xvfb::start();
    let tmp = tempfile::tempdir().expect("tempdir");

    // SIGTERM (a script, the session ending): the demo says so and tidies.
    let (mut demo, lines) = start_demo(&x, tmp.path());
    assert_eq!(demo_folders(tmp.path()).len(), 1, "one demo folder");
    assert!(
        processes_mentioning(tmp.path()).len() >= 2,
        "a server and a window run from the demo folder: {:?}",
        processes_mentioning(tmp.path())
    );
    signal(&demo, "TERM");
    let status = demo.wait().expect("wait");
    let said: Vec<String> = lines.try_iter().collect();
    assert!(status.success(), "{status} {said:?}");
    assert!(
        said.iter()
            .any(|l| l.contains("Ending the demo (terminated)")),
        "{said:?}"
    );
    assert_nothing_left(tmp.path(), Duration::from_secs(10));

    // SIGKILL, which no handler sees: the guards end the server and the
    // window and remove the folder.
    let (mut demo, _lines) = start_demo(&x, tmp.path());
    signal(&demo, "KILL");
    let _ = demo.wait();
    assert_nothing_left(tmp.path(), Duration::from_secs(15));
}
