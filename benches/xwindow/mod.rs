//! What the window benchmarks share: a virtual X display, the real binary
//! started on it with its log read line by line, and the process's CPU
//! time and memory as /proc tells them.

#![allow(dead_code, clippy::print_stdout, clippy::print_stderr)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Linux's USER_HZ: /proc counts CPU time in hundredths of a second.
pub const TICKS_PER_SECOND: f64 = 100.0;

/// A private X server (software only, no GPU), killed when dropped.
pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    pub fn start(width: u32, height: u32) -> Self {
        let number = 200 + std::process::id() % 300;
        let display = format!(":{number}");
        let child = Command::new("Xvfb")
            .args([
                display.as_str(),
                "-screen",
                "0",
                &format!("{width}x{height}x24"),
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb must be installed (apt install xvfb)");
        // The server is ready once its socket exists.
        let socket = format!("/tmp/.X11-unix/X{number}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !Path::new(&socket).exists() {
            assert!(Instant::now() < deadline, "Xvfb did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, display }
    }

    /// Runs xdotool on this display; panics if it fails.
    pub fn xdotool(&self, args: &[&str]) {
        let status = Command::new("xdotool")
            .args(args)
            .env("DISPLAY", &self.display)
            .stdout(Stdio::null())
            .status()
            .expect("xdotool must be installed (apt install xdotool)");
        assert!(status.success(), "xdotool {args:?} failed");
    }

    /// Finds the window titled Sotto and gives it the keyboard.
    pub fn focus_sotto(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = Command::new("xdotool")
                .args(["search", "--name", "Sotto"])
                .env("DISPLAY", &self.display)
                .output()
                .expect("xdotool");
            let found = String::from_utf8_lossy(&out.stdout);
            if let Some(id) = found.lines().next() {
                self.xdotool(&["windowfocus", "--sync", id]);
                return;
            }
            assert!(Instant::now() < deadline, "the window did not appear");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The whole screen's pixels, to tell whether anything moved.
    pub fn frame(&self) -> Vec<u8> {
        Command::new("import")
            .args(["-window", "root", "-depth", "8", "rgb:-"])
            .env("DISPLAY", &self.display)
            .output()
            .expect("import must be installed (apt install imagemagick)")
            .stdout
    }

    pub fn screenshot(&self, path: &Path) {
        let _ = Command::new("import")
            .args(["-window", "root"])
            .arg(path)
            .env("DISPLAY", &self.display)
            .status();
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary under measurement: `SOTTO_BENCH_BIN`, or the one built
/// with the bench.
pub fn binary() -> std::ffi::OsString {
    std::env::var_os("SOTTO_BENCH_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_sotto").into())
}

/// The window, running; killed when dropped.
pub struct Gui {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Gui {
    /// Starts the window on `home` with `env`, its log at info level.
    pub fn start(home: &Path, x: &Xvfb, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(binary())
            .arg("--home")
            .arg(home)
            .env("DISPLAY", &x.display)
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env("RUST_LOG", "sotto=info")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sotto");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        // `SOTTO_BENCH_LOG=file`: a copy of the window's log, to look at.
        let mut copy =
            std::env::var_os("SOTTO_BENCH_LOG").and_then(|path| std::fs::File::create(path).ok());
        // Keeps draining stderr so the window never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(file) = &mut copy {
                    let _ = writeln!(file, "{line}");
                }
                let _ = tx.send(line);
            }
        });
        Self { child, lines }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for a log line containing `what`; returns its `ms=` value.
    pub fn wait_log(&self, what: &str, patience: Duration) -> Option<u128> {
        let deadline = Instant::now() + patience;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).ok()?;
            if line.contains(what) {
                return Some(
                    line.split("ms=")
                        .nth(1)
                        .and_then(|s| s.split_whitespace().next())
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0),
                );
            }
        }
    }

    /// The log lines written since the last look, without waiting.
    pub fn log_since(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    pub fn cpu_ticks(&self) -> u64 {
        cpu_ticks(self.pid())
    }

    pub fn rss_kib(&self) -> u64 {
        status_kib(self.pid(), "VmRSS:")
    }

    /// The most memory the process ever held.
    pub fn peak_kib(&self) -> u64 {
        status_kib(self.pid(), "VmHWM:")
    }

    /// Waits until the window has used no CPU for `quiet` (it is idle
    /// when nothing happens), at most `patience`; false if it never was.
    pub fn settle(&self, quiet: Duration, patience: Duration) -> bool {
        let deadline = Instant::now() + patience;
        let mut last = self.cpu_ticks();
        let mut since = Instant::now();
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            let now = self.cpu_ticks();
            if now != last {
                last = now;
                since = Instant::now();
            } else if since.elapsed() >= quiet {
                return true;
            }
        }
        false
    }
}

impl Drop for Gui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0);
    let stime: u64 = fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    utime + stime
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
