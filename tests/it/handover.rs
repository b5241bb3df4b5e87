//! A second `sotto` (the real binary) with a Sotto already running in its
//! home: it hands its `xmpp:` link through the door and exits, and never
//! opens a window of its own. The running side here is the door the GUI
//! opens (`sotto::handover`); the GUI's own tests show what the window
//! does with the link.

use std::process::Stdio;
use std::time::{Duration, Instant};

use futures::StreamExt;
use sotto::handover::{self, Claim};
use sotto::paths::Paths;

use crate::harness::sotto;

// The time it took is printed for the closing notes, not judged.
#[allow(clippy::print_stderr)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sotto_hands_its_link_to_the_running_one_and_exits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = Paths::under(dir.path());
    paths.create().expect("paths");
    let Claim::First(door) = handover::claim(&paths).expect("claim") else {
        panic!("nobody else runs here");
    };
    let mut requests = Box::pin(door.requests());

    let link = "xmpp:bob@localhost?message;body=hi";
    let started = Instant::now();
    let mut second = tokio::process::Command::from(sotto(dir.path()));
    // No display: were it to start a window, it would fail, not hang.
    let second = second
        .arg(link)
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sotto");
    let got = tokio::time::timeout(Duration::from_secs(10), requests.next())
        .await
        .expect("the link within 10 s")
        .expect("a request");
    assert_eq!(got.link.as_deref(), Some(link));
    let out = tokio::time::timeout(Duration::from_secs(10), second.wait_with_output())
        .await
        .expect("the second sotto exits")
        .expect("its output");
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "hand-over: the second sotto exited 0 after {} ms",
        took.as_millis()
    );

    // With no link, it only asks the running one to show itself.
    let mut raise = tokio::process::Command::from(sotto(dir.path()));
    let raise = raise.env_remove("DISPLAY").spawn().expect("spawn sotto");
    let got = tokio::time::timeout(Duration::from_secs(10), requests.next())
        .await
        .expect("the raise within 10 s")
        .expect("a request");
    assert_eq!(got.link, None);
    let out = raise.wait_with_output().await.expect("output");
    assert!(out.status.success());

    // A second start at login (`--background`) finds Sotto running and
    // leaves it alone: it exits 0 and asks nothing of it.
    let out = sotto(dir.path())
        .arg("--background")
        .env_remove("DISPLAY")
        .output()
        .expect("run sotto");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let asked = tokio::time::timeout(Duration::from_millis(500), requests.next()).await;
    assert!(
        asked.is_err(),
        "a background start raised the window: {asked:?}"
    );
}

#[test]
fn a_link_that_cannot_be_opened_is_refused_before_any_hand_over() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (link, why) in [
        ("https://example.org", "it is not an xmpp: link"),
        ("xmpp:bob@example.org?message;body=%ZZ", "broken %-escape"),
    ] {
        let out = sotto(dir.path())
            .arg(link)
            .env_remove("DISPLAY")
            .output()
            .expect("run sotto");
        assert_eq!(out.status.code(), Some(2), "a usage error");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{link}: {err}");
    }
    let out = sotto(dir.path())
        .args(["xmpp:bob@example.org", "contacts"])
        .output()
        .expect("run sotto");
    assert_eq!(out.status.code(), Some(2), "a link and a command conflict");
    assert!(
        !handover::socket_file(&Paths::under(dir.path())).exists(),
        "no door was opened for a refused link"
    );
}
