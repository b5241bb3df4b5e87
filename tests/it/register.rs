//! Creating accounts on the server (XEP-0077) from `sotto account add
//! --create`, against Prosody with registration on and off.

use std::path::Path;
use std::process::Output;

use crate::harness::{Prosody, ProsodyOptions, run_with_stdin, shared, sotto, user};

fn create(server: &Prosody, home: &Path, jid: &str, password: &str, pin: bool) -> Output {
    let mut cmd = sotto(home);
    cmd.args([
        "-vvv",
        "account",
        "add",
        jid,
        "--create",
        "--password-stdin",
    ])
    .args(["--server", &server.starttls_address()]);
    if pin {
        cmd.args(["--trust-fingerprint", &server.fingerprint.to_string()]);
    }
    run_with_stdin(cmd, &format!("{password}\n"))
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn accounts(home: &Path) -> String {
    let out = sotto(home).args(["account", "list"]).output().expect("run");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn an_account_is_created_then_signs_in_like_any_other() {
    let server = shared();
    let name = user("fresh");
    let jid = format!("{name}@localhost");
    let password = format!("new-pw-{name}-{}", std::process::id());

    // First without pinning the test server's certificate: refused before
    // anything is sent, so nothing may have been created.
    let home = tempfile::tempdir().expect("tempdir");
    let out = create(server, home.path(), &jid, &password, false);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("not trusted"), "{stderr}");
    assert!(!accounts(home.path()).contains(&jid));

    let out = create(server, home.path(), &jid, &password, true);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("Created {jid} on its server")),
        "{stdout}"
    );
    assert!(accounts(home.path()).contains(&jid));
    // Even at -vvv the new password never reaches the log.
    assert!(!stderr.contains(&password), "password logged");

    // The account really exists with that password: another installation
    // signs in to it normally.
    let other = tempfile::tempdir().expect("tempdir");
    let mut cmd = sotto(other.path());
    cmd.args(["account", "add", &jid, "--password-stdin"])
        .args(["--server", &server.starttls_address()])
        .args(["--trust-fingerprint", &server.fingerprint.to_string()]);
    let out = run_with_stdin(cmd, &format!("{password}\n"));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");

    // Creating it a second time says the name is taken, saves nothing.
    let third = tempfile::tempdir().expect("tempdir");
    let out = create(server, third.path(), &jid, "another password", true);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("{jid} already exists on the server")),
        "{stderr}"
    );
    assert!(!accounts(third.path()).contains(&jid));
}

#[test]
fn a_server_without_registration_says_where_to_go_and_nothing_is_saved() {
    let server = Prosody::start(ProsodyOptions {
        allow_registration: false,
        ..ProsodyOptions::default()
    });
    let home = tempfile::tempdir().expect("tempdir");
    let jid = format!("{}@localhost", user("closed"));
    let out = create(&server, home.path(), &jid, "whatever", true);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert_eq!(
        stderr
            .trim()
            .lines()
            .last()
            .map(|l| l.contains("does not let apps create accounts")),
        Some(true),
        "{stderr}"
    );
    assert!(!accounts(home.path()).contains(&jid));
}
