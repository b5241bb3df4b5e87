//! What the tests of desktop services share: a private X server (the
//! integration tests' own), and a test run again inside a private D-Bus
//! session (the session bus is found from the environment, which a running
//! test must not change), with services on it.

use std::ffi::OsString;
use std::process::Command;

pub use super::harness::Xvfb;

/// Whether this process is the run inside the session (`marker` is set).
pub fn inside(marker: &str) -> bool {
    std::env::var_os(marker).is_some()
}

/// Runs the test `name` of this binary again inside `dbus-run-session`,
/// with `marker` set, after `before` (a command prefix that starts
/// something on the bus and then runs its arguments), and fails unless it
/// passed.
pub fn run_inside(name: &str, marker: &str, before: &[OsString], env: &[(&str, &str)]) {
    let mut command = Command::new("dbus-run-session");
    command
        .arg("--")
        .args(before)
        .arg(std::env::current_exe().expect("test binary"))
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(marker, "1");
    for (k, v) in env {
        command.env(k, v);
    }
    let run = command
        .output()
        .expect("dbus-run-session (apt install dbus)");
    let said = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success() && said.contains("1 passed"),
        "{said}{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// `object` served at `path` under the well-known `name`, on the bus at
/// `address`, for as long as the connection lives.
pub fn serve<I: zbus::object_server::Interface>(
    address: &str,
    name: &'static str,
    path: &'static str,
    object: I,
) -> zbus::Connection {
    super::rt().block_on(async {
        zbus::connection::Builder::address(address)
            .expect("address")
            .name(name)
            .expect("name")
            .serve_at(path, object)
            .expect("serve")
            .build()
            .await
            .unwrap_or_else(|e| panic!("{name} on the bus: {e}"))
    })
}
