//! A real Prosody per test run (see shared/docs/test-harness.md): its own
//! directory, ports, throwaway CA and certificate, killed when the test
//! process ends.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use sotto::config::{AccountConfig, PasswordStore};
use sotto::fingerprint::Fingerprint;

pub const DOMAIN: &str = "localhost";

/// A throwaway CA and a `localhost` certificate signed by it.
pub struct TestCerts {
    pub cert_pem: String,
    pub key_pem: String,
    pub leaf: Fingerprint,
    /// The throwaway CA, for peers that trust the server through a CA
    /// (slixmpp bots), never for Sotto, which pins.
    pub ca_pem: String,
}

impl TestCerts {
    pub fn generate() -> Self {
        let ca_key = KeyPair::generate().expect("CA key");
        // A validity of a few years around now: rcgen's default (until the
        // year 4096) is more than Erlang's date handling takes (ejabberd
        // would refuse the certificate as expired).
        use chrono::Datelike;
        let year = chrono::Utc::now().year();
        let (from, until) = (
            rcgen::date_time_ymd(year - 1, 1, 1),
            rcgen::date_time_ymd(year + 3, 1, 1),
        );
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.not_before = from;
        ca.not_after = until;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "Sotto throwaway test CA");
        let ca_cert = ca.clone().self_signed(&ca_key).expect("CA self-signed");
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().expect("server key");
        let mut params = CertificateParams::new(vec![
            DOMAIN.to_owned(),
            format!("conference.{DOMAIN}"),
            format!("upload.{DOMAIN}"),
        ])
        .expect("server params");
        params.not_before = from;
        params.not_after = until;
        params.distinguished_name.push(DnType::CommonName, DOMAIN);
        let cert = params.signed_by(&key, &issuer).expect("sign");
        Self {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            leaf: Fingerprint::of_der(cert.der()),
            ca_pem: ca_cert.pem(),
        }
    }
}

pub struct ProsodyOptions {
    pub certs: TestCerts,
    /// Messages each user's archive keeps before Prosody prunes the oldest.
    pub archive_limit: usize,
    /// The most results one archive query returns (Prosody's default: 50).
    pub archive_page: usize,
    /// In-band registration (XEP-0077) for clients.
    pub allow_registration: bool,
    /// XEP-0198 (`smacks`); servers without it exist.
    pub stream_management: bool,
    /// Everything in SQLite (`storage = "sql"`, needs lua-dbi-sqlite3)
    /// instead of Prosody's default flat files, whose archive store reads a
    /// user's whole archive for every query: how a busy server is set up.
    pub sql_storage: bool,
}

impl Default for ProsodyOptions {
    fn default() -> Self {
        Self {
            certs: TestCerts::generate(),
            archive_limit: 100_000,
            archive_page: 50,
            allow_registration: true,
            stream_management: true,
            sql_storage: false,
        }
    }
}

/// One running Prosody.
pub struct Prosody {
    dir: tempfile::TempDir,
    pub c2s_port: u16,
    pub direct_tls_port: u16,
    pub fingerprint: Fingerprint,
    watchdog: Option<Child>,
}

/// What tests need of a server, whichever implementation it is.
pub trait XmppServer: Sync {
    fn name(&self) -> &'static str;
    fn dir(&self) -> &Path;
    fn c2s_port(&self) -> u16;
    /// The throwaway CA that signed the server's certificate.
    fn ca_file(&self) -> PathBuf;
    fn register(&self, user: &str, password: &str);
    /// An account on this server that trusts its certificate the way a
    /// user would: by pinning it.
    fn account(&self, user: &str) -> AccountConfig;
}

/// A server a test may crash and start again.
pub trait Restartable: XmppServer {
    /// SIGKILLs the server, as a crash or power cut would.
    fn kill(&mut self);
    /// Starts the same server again: same ports, data and certificate.
    fn restart(&mut self);
    /// Makes what was written so far survive a SIGKILL.
    fn flush(&mut self) {}
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Prosody {
    pub fn start(options: ProsodyOptions) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("sotto-prosody-")
            .tempdir()
            .expect("tempdir");
        let d = dir.path();
        std::fs::create_dir_all(d.join("certs")).expect("certs dir");
        std::fs::create_dir_all(d.join("data")).expect("data dir");
        std::fs::write(d.join("certs/localhost.crt"), &options.certs.cert_pem).expect("crt");
        std::fs::write(d.join("certs/localhost.key"), &options.certs.key_pem).expect("key");
        std::fs::write(d.join("certs/ca.pem"), &options.certs.ca_pem).expect("ca");
        let c2s_port = free_port();
        let direct_tls_port = free_port();
        let dp = d.display();
        let archive_limit = options.archive_limit;
        let archive_page = options.archive_page;
        let allow_registration = options.allow_registration;
        let smacks = if options.stream_management {
            "\"smacks\";"
        } else {
            ""
        };
        let storage = if options.sql_storage {
            "storage = \"sql\"\nsql = { driver = \"SQLite3\", database = \"prosody.sqlite\" }"
        } else {
            ""
        };
        let config = format!(
            r#"run_as_root = true
prosody_user = "root"
prosody_group = "root"
pidfile = "{dp}/prosody.pid"
data_path = "{dp}/data"
log = {{ info = "{dp}/prosody.log"; error = "{dp}/err.log" }}
daemonize = false
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {c2s_port} }}
c2s_direct_tls_ports = {{ {direct_tls_port} }}
s2s_ports = {{}}
http_ports = {{}}
https_ports = {{}}
admin_socket = "{dp}/admin.sock"
c2s_require_encryption = true
allow_registration = {allow_registration}
authentication = "internal_hashed"
modules_enabled = {{ "roster"; "saslauth"; "tls"; "disco"; "carbons"; "pep";
  "private"; "blocklist"; "vcard4"; "vcard_legacy"; "version"; "ping";
  "register"; "mam"; "csi_simple"; {smacks} "bookmarks"; "offline" }}
modules_disabled = {{ "s2s" }}
archive_expires_after = "never"
-- Client state indication holds traffic as soon as a flush is done, not
-- 5 s later, so tests wait on what happens instead of on a clock.
csi_resume_inactive_delay = 0
{storage}
storage_archive_item_limit = {archive_limit}
max_archive_query_results = {archive_page}
certificates = "{dp}/certs"
VirtualHost "{DOMAIN}"
  ssl = {{ key = "{dp}/certs/localhost.key"; certificate = "{dp}/certs/localhost.crt" }}
-- Group chats, with their archives (XEP-0313 on MUC).
Component "conference.{DOMAIN}" "muc"
  modules_enabled = {{ "muc_mam" }}
  ssl = {{ key = "{dp}/certs/localhost.key"; certificate = "{dp}/certs/localhost.crt" }}
  muc_log_by_default = true
  muc_log_all_rooms = true
  max_history_messages = 50
"#
        );
        std::fs::write(d.join("prosody.cfg.lua"), config).expect("config");
        let mut prosody = Self {
            dir,
            c2s_port,
            direct_tls_port,
            fingerprint: options.certs.leaf,
            watchdog: None,
        };
        prosody.launch();
        prosody
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn config_path(&self) -> PathBuf {
        self.dir().join("prosody.cfg.lua")
    }

    /// Starts Prosody under a small shell watchdog that kills it when this
    /// test process goes away, even if the process is killed.
    fn launch(&mut self) {
        let _ = std::fs::remove_file(self.dir().join("prosody.pid"));
        let script = r#"prosody --config "$1" >"$2/stdout.log" 2>&1 &
p=$!
trap 'kill $p 2>/dev/null; exit 0' TERM INT
while kill -0 "$3" 2>/dev/null && kill -0 $p 2>/dev/null; do sleep 0.3; done
kill $p 2>/dev/null
wait $p
# The test process is gone (a shared server outlives every test): tidy up.
kill -0 "$3" 2>/dev/null || rm -rf "$2""#;
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("watchdog")
            .arg(self.config_path())
            .arg(self.dir())
            .arg(std::process::id().to_string())
            .stdin(Stdio::null())
            .spawn()
            .expect("prosody must be installed (apt-get install prosody)");
        self.watchdog = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.c2s_port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "prosody did not start; its log:\n{}\n{}",
            std::fs::read_to_string(self.dir().join("stdout.log")).unwrap_or_default(),
            std::fs::read_to_string(self.dir().join("err.log")).unwrap_or_default()
        );
    }

    fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.dir().join("prosody.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    fn sigkill(&mut self) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.c2s_port)).is_ok() && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn prosodyctl_register(&self, user: &str, password: &str) {
        let out = Command::new("prosodyctl")
            .arg("--config")
            .arg(self.config_path())
            .args(["register", user, DOMAIN, password])
            .output()
            .expect("prosodyctl");
        assert!(
            out.status.success(),
            "registering {user} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn starttls_address(&self) -> String {
        format!("127.0.0.1:{}", self.c2s_port)
    }

    pub fn direct_tls_address(&self) -> String {
        format!("127.0.0.1:{}", self.direct_tls_port)
    }

    /// An account on this server that trusts its certificate the way a
    /// user would: by pinning it.
    pub fn account(&self, user: &str) -> AccountConfig {
        XmppServer::account(self, user)
    }

    fn pinned_account(&self, user: &str) -> AccountConfig {
        AccountConfig {
            jid: format!("{user}@{DOMAIN}").parse().expect("jid"),
            server: Some(self.starttls_address().parse().expect("addr")),
            direct_tls: false,
            pinned_certificate: Some(self.fingerprint),
            password_store: PasswordStore::Database,
            enabled: true,
            tor: false,
        }
    }
}

impl XmppServer for Prosody {
    fn name(&self) -> &'static str {
        "Prosody"
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn c2s_port(&self) -> u16 {
        self.c2s_port
    }

    fn ca_file(&self) -> PathBuf {
        self.dir.path().join("certs/ca.pem")
    }

    fn register(&self, user: &str, password: &str) {
        self.prosodyctl_register(user, password);
    }

    fn account(&self, user: &str) -> AccountConfig {
        self.pinned_account(user)
    }
}

impl Restartable for Prosody {
    fn kill(&mut self) {
        self.sigkill();
    }

    fn restart(&mut self) {
        self.launch();
    }
}

impl Drop for Prosody {
    fn drop(&mut self) {
        if let Some(mut w) = self.watchdog.take() {
            let _ = Command::new("kill").arg(w.id().to_string()).status();
            let _ = w.wait();
        }
    }
}

/// The server most tests share; each test uses its own users.
pub fn shared() -> &'static Prosody {
    static SHARED: OnceLock<Prosody> = OnceLock::new();
    SHARED.get_or_init(|| Prosody::start(ProsodyOptions::default()))
}

/// A unique user name, so tests sharing a server never collide.
pub fn user(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}{}", N.fetch_add(1, Ordering::Relaxed))
}

/// Registers `prefix`-based user with a password and returns (name, password).
pub fn new_user(server: &dyn XmppServer, prefix: &str) -> (String, String) {
    let name = user(prefix);
    let password = format!("pw-{name}-{}", std::process::id());
    server.register(&name, &password);
    (name, password)
}

/// Runs the `sotto` binary with a private home and no keychain (the
/// headless path: the store is unlocked by `SOTTO_PASSPHRASE`).
pub fn sotto(home: &Path) -> Command {
    // Cargo names the binary to integration tests and benches only; the
    // binary's own tests (the GUI's, which share this harness) never run it.
    let Some(bin) = option_env!("CARGO_BIN_EXE_sotto") else {
        panic!("only integration tests and benches run the binary");
    };
    let mut cmd = Command::new(bin);
    cmd.env("SOTTO_HOME", home)
        .env("SOTTO_PASSPHRASE", "test store passphrase")
        .env("SOTTO_SECRETS", "passphrase")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    cmd
}

/// Runs a prepared command and returns its output; fails the test, with
/// the command's stderr, if it did not succeed.
pub fn run_ok(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().expect("run sotto");
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        cmd.get_args().collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a prepared command with `input` on stdin and returns its output.
pub fn run_with_stdin(mut cmd: Command, input: &str) -> std::process::Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn sotto");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

/// Every file below `dir`, recursively.
/// Whether any file under `dir` holds `needle`.
pub fn on_disk(dir: &Path, needle: &str) -> bool {
    files_below(dir).iter().any(|f| {
        std::fs::read(f)
            .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
    })
}

pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// A private X server for one test, killed when dropped. Xvfb picks a
/// free display and names it only once it listens (`-displayfd`).
pub struct Xvfb {
    child: Child,
    /// Like `:3`.
    pub display: String,
}

impl Xvfb {
    pub fn start() -> Self {
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-nolisten",
                "tcp",
                "-screen",
                "0",
                "1280x800x24",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (apt install xvfb)");
        // Xvfb writes its display number once it accepts clients.
        let mut number = String::new();
        let mut out = child.stdout.take().expect("stdout");
        let mut byte = [0u8; 1];
        while out.read(&mut byte).expect("read Xvfb's display") == 1 && byte[0] != b'\n' {
            number.push(byte[0] as char);
        }
        assert!(!number.is_empty(), "Xvfb gave no display");
        Self {
            child,
            display: format!(":{number}"),
        }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
