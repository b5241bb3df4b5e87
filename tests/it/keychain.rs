//! The real keychain: a Secret Service (gnome-keyring) on a private D-Bus
//! session bus.

use std::process::Command;

use crate::harness::{files_below, new_user, shared};

#[test]
fn passwords_live_in_the_secret_service_not_in_files() {
    let server = shared();
    let (a, a_pw) = new_user(server, "keyring");
    let jid = format!("{a}@localhost");
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("sotto-home");
    let user_home = tmp.path().join("user-home");
    std::fs::create_dir_all(&user_home).expect("home");
    let script = r#"set -e
printf '%s' 'test-keyring-login' | gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null
printf '%s\n' "$PW" | "$SOTTO" account add "$JID" --password-stdin --server "$ADDR" --trust-fingerprint "$FP"
"$SOTTO" account list --json
"$SOTTO" contacts
echo "secret-tool: $(secret-tool lookup service im.sotto.Sotto username "xmpp:$JID")"
"#;
    let out = Command::new("dbus-run-session")
        .args(["--", "sh", "-c", script])
        .env("HOME", &user_home)
        .env("XDG_DATA_HOME", user_home.join(".local/share"))
        .env("XDG_RUNTIME_DIR", tmp.path())
        .env("SOTTO", env!("CARGO_BIN_EXE_sotto"))
        .env("SOTTO_HOME", &home)
        .env("PW", &a_pw)
        .env("JID", &jid)
        .env("ADDR", server.starttls_address())
        .env("FP", server.fingerprint.to_string())
        .env_remove("SOTTO_SECRETS")
        .env_remove("SOTTO_PASSPHRASE")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .expect("dbus-run-session and gnome-keyring must be installed (apt-get install dbus gnome-keyring libsecret-tools)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("system keychain"), "{stdout}");
    assert!(
        stdout.contains(r#""password_store":"keychain""#),
        "{stdout}"
    );
    assert!(
        stdout.contains("No contacts yet."),
        "read back for login: {stdout}"
    );
    assert!(
        stdout.contains(&format!("secret-tool: {a_pw}")),
        "the Secret Service holds the password: {stdout}"
    );
    assert!(
        !home.join("data/sotto.db.salt").exists(),
        "the store key is in the keychain too, no passphrase needed"
    );
    assert!(home.join("data/sotto.db").exists());
    for file in files_below(&home) {
        let bytes = std::fs::read(&file).expect("read");
        let hit = bytes.windows(a_pw.len()).any(|w| w == a_pw.as_bytes());
        assert!(!hit, "{} contains the password", file.display());
    }
}
