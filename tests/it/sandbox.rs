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

/// The device rule names nodes one by one: shared memory of other
/// programs stays out of reach.
#[test]
fn sandbox_keeps_shared_memory_out_of_reach() {
    let shm = std::path::Path::new("/dev/shm");
    if !shm.is_dir() {
        return;
    }
    let planted = tempfile::Builder::new()
        .prefix("sotto-test-")
        .tempfile_in(shm)
        .expect("plant in /dev/shm");
    std::fs::write(planted.path(), "someone else's").expect("write");
    let home = tempfile::tempdir().expect("tempdir");
    let out = sotto(home.path())
        .arg("sandbox-check")
        .arg(planted.path())
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("sandbox: active"), "{stdout}");
    assert!(
        stdout.contains("refused"),
        "/dev/shm was readable: {stdout}"
    );
}

/// A password typed at the prompt is not shown: under the sandbox the
/// prompt can still switch the terminal's echo off.
#[test]
fn password_prompt_hides_what_is_typed_under_the_sandbox() {
    let home = tempfile::tempdir().expect("tempdir");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/pty_prompt.py");
    let typed = "hunter2-not-shown";
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(script)
        .args([typed, "Password for me@localhost", "--"])
        .arg(env!("CARGO_BIN_EXE_sotto"))
        .args(["account", "add", "me@localhost", "--no-connect"])
        .env("SOTTO_HOME", home.path())
        .env("SOTTO_PASSPHRASE", "test store passphrase")
        .env("SOTTO_SECRETS", "passphrase")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("RUST_LOG");
    let run = cmd.output().expect("run python3");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&run.stdout).expect("the helper's JSON line");
    let output = report["output"].as_str().unwrap_or_default();
    assert_eq!(report["echo_off"], serde_json::json!([true]), "{output}");
    assert!(!output.contains(typed), "the password was shown: {output}");
    assert_eq!(report["status"], 0, "{output}");
}
