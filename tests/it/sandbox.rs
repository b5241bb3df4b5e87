//! The self-sandbox: a `sotto` process cannot read the user's other files,
//! and its own store keeps working.

use crate::harness::{run_ok, run_with_stdin, sotto};

#[test]
fn sotto_cannot_read_files_outside_its_folders() {
    let user_home = tempfile::tempdir().expect("tempdir");
    let planted = user_home.path().join("diary.txt");
    std::fs::write(&planted, "private").expect("plant");
    let sotto_home = user_home.path().join(".sotto");

    let out = sotto(&sotto_home)
        .arg("sandbox-check")
        .arg(&planted)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("sandbox: active"), "{stdout}");
    assert!(
        stdout.contains("refused"),
        "the planted file was readable: {stdout}"
    );

    // Its own store still works under the sandbox: write, then read back.
    let mut add = sotto(&sotto_home);
    add.args([
        "account",
        "add",
        "me@localhost",
        "--password-stdin",
        "--no-connect",
    ]);
    let added = run_with_stdin(add, "pw\n");
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    run_ok(
        sotto(&sotto_home)
            .args([
                "push-info",
                "add",
                "bob@localhost",
                "--endpoint",
                "https://relay.example/api/v1/",
            ])
            .args(["--token", "t1"]),
    );
    let shown = sotto(&sotto_home)
        .args(["push-info", "show", "bob@localhost"])
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&shown.stdout).contains("relay.example"));

    // And the switch that turns it off really does.
    let off = sotto(&sotto_home)
        .env("SOTTO_SANDBOX", "off")
        .arg("sandbox-check")
        .arg(&planted)
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&off.stdout).contains("allowed"));
}
