//! A real ejabberd (Debian's 23.01) per test run, the second server
//! implementation beside Prosody: everything in one temporary folder, no
//! epmd (a fixed distribution port), run as the calling user, stopped by a
//! shell watchdog when the test process goes away.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sotto::config::{AccountConfig, PasswordStore};
use sotto::fingerprint::Fingerprint;

use crate::harness::{DOMAIN, Restartable, TestCerts, XmppServer, free_port};

pub struct Ejabberd {
    dir: tempfile::TempDir,
    pub c2s_port: u16,
    api_port: u16,
    pub fingerprint: Fingerprint,
    watchdog: Option<Child>,
}

/// The config, from the recipe verified for 23.01. In-band registration is
/// allowed from loopback without its default rate limit; users are made
/// through the HTTP admin API on a plain loopback port (fast: no Erlang VM
/// per call, as `ejabberdctl register` needs).
fn config(dir: &Path, c2s: u16, tls: u16, https: u16, api: u16) -> String {
    let d = dir.display();
    format!(
        r#"hosts:
  - {DOMAIN}
loglevel: info
log_rotate_count: 0
certfiles:
  - "{d}/certs/server.pem"
ca_file: "{d}/certs/ca.crt"
acme:
  auto: false
default_db: mnesia
auth_method: internal
auth_password_format: scram
registration_timeout: infinity
listen:
  -
    port: {c2s}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 262144
    access: c2s
    starttls_required: true
  -
    port: {tls}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 262144
    access: c2s
    tls: true
  -
    port: {https}
    ip: "127.0.0.1"
    module: ejabberd_http
    tls: true
    request_handlers:
      /upload: mod_http_upload
  -
    port: {api}
    ip: "127.0.0.1"
    module: ejabberd_http
    request_handlers:
      /api: mod_http_api
s2s_access: none
acl:
  loopback:
    ip:
      - 127.0.0.0/8
access_rules:
  local:
    allow: all
  c2s:
    allow: all
  register:
    allow: all
  trusted_network:
    allow: loopback
  muc_create:
    allow: all
  pubsub_createnode:
    allow: all
api_permissions:
  "loopback http api":
    from:
      - mod_http_api
    who:
      ip: 127.0.0.1/8
    what:
      - register
      - status
shaper_rules:
  max_user_sessions: 100
  max_user_offline_messages: 10000
modules:
  mod_blocking: {{}}
  mod_caps: {{}}
  mod_carboncopy: {{}}
  mod_client_state: {{}}
  mod_disco: {{}}
  mod_http_api: {{}}
  mod_http_upload:
    host: "upload.{DOMAIN}"
    docroot: "{d}/upload"
    put_url: "https://{DOMAIN}:{https}/upload"
  mod_mam:
    db_type: mnesia
    default: always
    assume_mam_usage: true
  mod_muc:
    host: "conference.{DOMAIN}"
    access_create: muc_create
    default_room_options:
      mam: true
  mod_offline:
    access_max_user_messages: max_user_offline_messages
  mod_ping: {{}}
  mod_privacy: {{}}
  mod_private: {{}}
  mod_pubsub:
    access_createnode: pubsub_createnode
    plugins:
      - flat
      - pep
    force_node_config:
      "eu.siacs.conversations.axolotl.*":
        access_model: open
  mod_register:
    access: register
    ip_access: trusted_network
  mod_roster:
    versioning: true
  mod_stream_mgmt:
    resume_timeout: 300
  mod_vcard:
    search: false
  mod_version: {{}}
"#
    )
}

/// Sourced by `ejabberdctl --config-dir DIR`: run as the calling user (no
/// `su ejabberd`), a node of our own, distribution on a fixed loopback
/// port without epmd, everything under DIR.
fn ctl_config(dir: &Path, node: &str, dist: u16, cookie: &str) -> String {
    let d = dir.display();
    format!(
        "EXEC_CMD=as_current_user\n\
         ERLANG_NODE={node}\n\
         ERL_DIST_PORT={dist}\n\
         ERL_OPTIONS=\"-setcookie {cookie} -kernel inet_dist_use_interface {{127,0,0,1}} -env ERL_CRASH_DUMP_BYTES 0\"\n\
         SPOOL_DIR={d}/db\n\
         LOGS_DIR={d}/logs\n\
         EJABBERD_PID_PATH={d}/ejabberd.pid\n\
         CONTRIB_MODULES_PATH={d}/contrib\n\
         CONTRIB_MODULES_CONF_DIR={d}/contrib/conf\n\
         EJABBERD_BYPASS_WARNINGS=true\n\
         HOME={d}\n\
         export HOME\n"
    )
}

impl Ejabberd {
    pub fn start() -> Self {
        let certs = TestCerts::generate();
        let dir = tempfile::Builder::new()
            .prefix("sotto-ejabberd-")
            .tempdir()
            .expect("tempdir");
        let d = dir.path();
        for sub in ["certs", "db", "logs", "upload"] {
            std::fs::create_dir_all(d.join(sub)).expect("dirs");
        }
        std::fs::write(
            d.join("certs/server.pem"),
            format!("{}{}", certs.key_pem, certs.cert_pem),
        )
        .expect("pem");
        std::fs::write(d.join("certs/ca.crt"), &certs.ca_pem).expect("ca");
        let (c2s, tls, https, api, dist) = (
            free_port(),
            free_port(),
            free_port(),
            free_port(),
            free_port(),
        );
        std::fs::write(d.join("ejabberd.yml"), config(d, c2s, tls, https, api)).expect("config");
        let node = format!("sotto-{}@localhost", std::process::id());
        let cookie = format!("{:032x}", rand::random::<u128>());
        std::fs::write(
            d.join("ejabberdctl.cfg"),
            ctl_config(d, &node, dist, &cookie),
        )
        .expect("ctl config");
        // ejabberdctl points ERL_INETRC here; without it every call logs
        // an error report.
        std::fs::write(
            d.join("inetrc"),
            "{lookup,[\"file\",\"native\"]}.\n{host,{127,0,0,1}, [\"localhost\"]}.\n",
        )
        .expect("inetrc");
        let mut server = Self {
            dir,
            c2s_port: c2s,
            api_port: api,
            fingerprint: certs.leaf,
            watchdog: None,
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let _ = std::fs::remove_file(self.dir().join("ejabberd.pid"));
        // SIGTERM goes to beam itself (it stops cleanly in about a second);
        // signalling the group would kill ejabberdctl's shell first and
        // orphan beam. Whatever is left after 10 s is killed.
        let script = r#"d="$1"; t="$2"
setsid /usr/sbin/ejabberdctl --config-dir "$d" foreground >>"$d/stdout.log" 2>&1 </dev/null &
p=$!
stop() {
  b=$(cat "$d/ejabberd.pid" 2>/dev/null)
  if [ -n "$b" ]; then kill "$b" 2>/dev/null; else kill -- "-$p" 2>/dev/null; fi
  i=0
  while kill -0 $p 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
  kill -9 -- "-$p" 2>/dev/null
  wait $p
}
trap 'stop; exit 0' TERM INT
while kill -0 "$t" 2>/dev/null && kill -0 $p 2>/dev/null; do sleep 0.3; done
stop
kill -0 "$t" 2>/dev/null || rm -rf "$d""#;
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(script)
            .arg("ejabberd-watchdog")
            .arg(self.dir())
            .arg(std::process::id().to_string())
            .stdin(Stdio::null());
        // The caller's environment must not point ejabberdctl elsewhere.
        for var in [
            "EJABBERD_CONFIG_PATH",
            "EJABBERDCTL_CONFIG_PATH",
            "ERLANG_NODE",
            "ERL_DIST_PORT",
            "ERL_OPTIONS",
            "ERL_FLAGS",
            "ERL_AFLAGS",
            "ERL_ZFLAGS",
            "SPOOL_DIR",
            "LOGS_DIR",
            "CONFIG_DIR",
        ] {
            cmd.env_remove(var);
        }
        let mut child = cmd
            .spawn()
            .expect("ejabberd must be installed (apt-get install ejabberd)");
        // Its ports open before its modules are loaded: ready is when it
        // answers a stream header with features.
        let deadline = Instant::now() + Duration::from_secs(40);
        while Instant::now() < deadline {
            if self.answers_xmpp() {
                self.watchdog = Some(child);
                return;
            }
            if matches!(child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "ejabberd did not start; its log:\n{}",
            std::fs::read_to_string(self.dir().join("logs/ejabberd.log")).unwrap_or_default()
        );
    }

    fn answers_xmpp(&self) -> bool {
        let Ok(mut tcp) = TcpStream::connect(("127.0.0.1", self.c2s_port)) else {
            return false;
        };
        let _ = tcp.set_read_timeout(Some(Duration::from_millis(500)));
        let header = format!(
            "<?xml version='1.0'?><stream:stream to='{DOMAIN}' xmlns='jabber:client' \
             xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
        );
        if tcp.write_all(header.as_bytes()).is_err() {
            return false;
        }
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = tcp.read(&mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&got).contains("<stream:features") {
                return true;
            }
        }
        false
    }

    /// The HTTP admin API on loopback: a raw request, no HTTP client.
    fn api(&self, command: &str, body: &str) -> String {
        let mut tcp = TcpStream::connect(("127.0.0.1", self.api_port)).expect("api");
        write!(
            tcp,
            "POST /api/{command} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("api write");
        let mut reply = String::new();
        tcp.read_to_string(&mut reply).expect("api read");
        reply
    }
}

impl XmppServer for Ejabberd {
    fn name(&self) -> &'static str {
        "ejabberd"
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn c2s_port(&self) -> u16 {
        self.c2s_port
    }

    fn ca_file(&self) -> PathBuf {
        self.dir().join("certs/ca.crt")
    }

    fn register(&self, user: &str, password: &str) {
        let body = serde_json::json!({ "user": user, "host": DOMAIN, "password": password });
        let reply = self.api("register", &body.to_string());
        assert!(
            reply.starts_with("HTTP/1.1 200"),
            "registering {user} on ejabberd failed: {reply}"
        );
    }

    fn account(&self, user: &str) -> AccountConfig {
        AccountConfig {
            jid: format!("{user}@{DOMAIN}").parse().expect("jid"),
            server: Some(
                format!("127.0.0.1:{}", self.c2s_port)
                    .parse()
                    .expect("addr"),
            ),
            direct_tls: false,
            pinned_certificate: Some(self.fingerprint),
            password_store: PasswordStore::Database,
            enabled: true,
            tor: false,
        }
    }
}

impl Restartable for Ejabberd {
    /// SIGKILLs beam, as a crash would. ejabberd loses what it wrote in
    /// the last second or so (Mnesia); the tests write nothing just before.
    fn kill(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir().join("ejabberd.pid")) {
            let _ = Command::new("kill").args(["-9", pid.trim()]).status();
        }
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.wait();
        }
    }

    fn restart(&mut self) {
        self.launch();
    }

    /// Mnesia writes what the last second or so brought only later; a
    /// clean stop writes everything.
    fn flush(&mut self) {
        if let Some(mut w) = self.watchdog.take() {
            let _ = Command::new("kill").arg(w.id().to_string()).status();
            let _ = w.wait();
        }
        self.launch();
    }
}

impl Drop for Ejabberd {
    fn drop(&mut self) {
        if let Some(mut w) = self.watchdog.take() {
            let _ = Command::new("kill").arg(w.id().to_string()).status();
            let _ = w.wait();
        }
    }
}

/// The ejabberd the tests share; each test uses its own users.
pub fn shared_ejabberd() -> &'static Ejabberd {
    static SHARED: OnceLock<Ejabberd> = OnceLock::new();
    SHARED.get_or_init(Ejabberd::start)
}
