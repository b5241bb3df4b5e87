//! The system's notifications through notify-rust: the freedesktop
//! notification server over D-Bus on Linux and the BSDs (asynchronously,
//! clicks included), the notification center elsewhere. A missing server
//! is one log line, never a crash or a hang of the window.

use std::sync::atomic::{AtomicBool, Ordering};

use futures::FutureExt as _;
use futures::future::BoxFuture;
use tokio::sync::mpsc;

use super::{Desktop, Key, Shown};

/// The bundle id; notify-rust shows the app under it on macOS.
pub const APP_ID: &str = "im.sotto.Sotto";

/// Said once per run: a missing daemon would otherwise log every message.
static WARNED: AtomicBool = AtomicBool::new(false);

fn unavailable(e: &notify_rust::error::Error) {
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(error = %e, "desktop notifications are unavailable");
    }
}

/// The desktop's own notifications.
#[derive(Default)]
pub struct System {
    #[cfg(all(unix, not(target_os = "macos")))]
    xdg: xdg::Conversations,
}

impl Desktop for System {
    fn show(&mut self, shown: Shown, clicked: mpsc::UnboundedSender<Key>) -> BoxFuture<'_, ()> {
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            self.xdg.show(shown, clicked).boxed()
        }
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        {
            // Clicks reach only a main run loop, which iced owns here.
            let _ = clicked;
            other::show(shown).boxed()
        }
    }

    fn withdraw(&mut self, key: Key) -> BoxFuture<'_, ()> {
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            self.xdg.withdraw(key).boxed()
        }
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        {
            let _ = key;
            async {}.boxed()
        }
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
mod xdg {
    use std::collections::HashMap;
    use std::sync::Arc;

    use notify_rust::{Hint, Notification, NotificationHandle, NotificationResponse};
    use tokio::sync::mpsc;
    use tokio::task::AbortHandle;

    use super::super::text::escape_markup;
    use super::super::{Key, Shown};
    use super::{APP_ID, unavailable};

    /// Each conversation's notification on screen, and the task that
    /// waits for its click.
    #[derive(Default)]
    pub struct Conversations {
        /// Whether the server reads markup in bodies; asked once.
        markup: Option<bool>,
        open: HashMap<Key, (Arc<NotificationHandle>, AbortHandle)>,
    }

    impl Conversations {
        pub async fn show(&mut self, shown: Shown, clicked: mpsc::UnboundedSender<Key>) {
            let markup = match self.markup {
                Some(m) => m,
                None => {
                    let m = tokio::task::spawn_blocking(notify_rust::get_capabilities)
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .is_some_and(|caps| caps.iter().any(|c| c == "body-markup"));
                    self.markup = Some(m);
                    m
                }
            };
            let body = if markup {
                escape_markup(&shown.body)
            } else {
                shown.body.clone()
            };
            let mut n = Notification::new();
            n.appname("Sotto")
                .summary(&shown.summary)
                .body(&body)
                .action("default", "Open")
                .hint(Hint::Category("im.received".into()))
                .hint(Hint::DesktopEntry(APP_ID.into()));
            if let Some((earlier, _)) = self.open.get(&shown.key) {
                // The same notification, updated in place.
                n.id(earlier.id());
            }
            let handle = match n.show_async().await {
                Ok(handle) => Arc::new(handle),
                Err(e) => {
                    unavailable(&e);
                    return;
                }
            };
            let key = shown.key;
            let waiting = handle.clone();
            let for_click = key.clone();
            let waiter = tokio::spawn(async move {
                let mut opened = false;
                waiting
                    .wait_for_action_async(|response| {
                        opened = match response {
                            NotificationResponse::Default => true,
                            NotificationResponse::Action(a) => a == "default",
                            _ => false,
                        };
                    })
                    .await;
                if opened {
                    let _ = clicked.send(for_click);
                }
            });
            if let Some((_, earlier)) = self.open.insert(key, (handle, waiter.abort_handle())) {
                earlier.abort();
            }
        }

        pub async fn withdraw(&mut self, key: Key) {
            if let Some((handle, waiter)) = self.open.remove(&key) {
                waiter.abort();
                handle.close_async().await;
            }
        }
    }
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
mod other {
    use super::super::Shown;
    use super::{APP_ID, unavailable};

    pub async fn show(shown: Shown) {
        #[cfg(target_os = "macos")]
        {
            static APP: std::sync::Once = std::sync::Once::new();
            APP.call_once(|| {
                if let Err(e) = notify_rust::set_application(APP_ID) {
                    tracing::debug!(error = %e, "notification app id not set");
                }
            });
        }
        #[cfg(not(target_os = "macos"))]
        let _ = APP_ID;
        // The platform call blocks; it gets a thread of its own for the
        // moment it takes.
        let shown_ = shown;
        let result = tokio::task::spawn_blocking(move || {
            notify_rust::Notification::new()
                .appname("Sotto")
                .summary(&shown_.summary)
                .body(&shown_.body)
                .show()
                .map(drop)
        })
        .await;
        if let Ok(Err(e)) = result {
            unavailable(&e);
        }
    }
}

/// Against a real notification server (dunst, on its own D-Bus session
/// and X display): the test runs itself again inside that session, since
/// the bus address is read from the environment at connection time.
#[cfg(all(test, unix, not(target_os = "macos")))]
mod tests {
    use std::io::Read as _;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use super::super::{Desktop, Key, Shown};
    use super::System;

    const CHILD: &str = "SOTTO_NOTIFY_TEST_CHILD";
    const NAME: &str = "gui::notify::desktop::tests::on_a_real_notification_server";

    /// dunst with markup on, notifications kept until acted on, and the
    /// first one where the test clicks it.
    const DUNSTRC: &str = "[global]\n    origin = top-left\n    offset = 0x0\n    width = 400\n    \
        markup = full\n    mouse_left_click = do_action, close_current\n    idle_threshold = 0\n\
        [urgency_normal]\n    timeout = 0\n";

    fn key(peer: &str) -> Key {
        (
            "me@example.org".parse().expect("jid"),
            peer.parse().expect("jid"),
        )
    }

    fn shown(key: &Key, body: &str, count: u32) -> Shown {
        Shown {
            key: key.clone(),
            summary: "Bob".into(),
            body: body.into(),
            count,
        }
    }

    fn dunstctl(args: &[&str]) -> String {
        let out = Command::new("dunstctl")
            .args(args)
            .output()
            .expect("dunstctl");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn until(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !done() {
            assert!(Instant::now() < deadline, "never: {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    #[test]
    fn on_a_real_notification_server() {
        if std::env::var_os(CHILD).is_some() {
            return in_the_session();
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let rc = dir.path().join("dunstrc");
        std::fs::write(&rc, DUNSTRC).expect("dunstrc");
        let mut xvfb = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-nolisten",
                "tcp",
                "-screen",
                "0",
                "800x600x24",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (apt install xvfb)");
        let mut display = String::new();
        let mut out = xvfb.stdout.take().expect("stdout");
        let mut byte = [0u8; 1];
        while out.read(&mut byte).unwrap_or(0) == 1 && byte[0] != b'\n' {
            display.push(byte[0] as char);
        }
        // The test starts once this dunst owns the name: asked earlier, the
        // bus would start another dunst (with its default settings).
        let script = r#"dunst -config "$1" >"$2" 2>&1 & shift 2
for i in $(seq 100); do
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.Notifications | grep -q true && break
  sleep 0.1
done
exec "$@""#;
        let run = Command::new("dbus-run-session")
            .args(["--", "sh", "-c", script, "sh"])
            .arg(&rc)
            .arg(dir.path().join("dunst.log"))
            .arg(std::env::current_exe().expect("test binary"))
            .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .env("DISPLAY", format!(":{display}"))
            .output()
            .expect("dbus-run-session and dunst (apt install dbus dunst)");
        let _ = xvfb.kill();
        let _ = xvfb.wait();
        let said = String::from_utf8_lossy(&run.stdout);
        assert!(
            run.status.success() && said.contains("1 passed"),
            "{said}{}",
            String::from_utf8_lossy(&run.stderr)
        );
    }

    fn in_the_session() {
        until("the notification server", || {
            notify_rust::get_capabilities().is_ok()
        });
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let mut desktop = System::default();
        let (clicked, mut clicks) = tokio::sync::mpsc::unbounded_channel();
        let bob = key("bob@example.org");
        let hostile = r#"<a href="https://evil.example/x">click</a> & <b>co</b>"#;
        rt.block_on(async {
            desktop.show(shown(&bob, "first", 1), clicked.clone()).await;
            desktop.show(shown(&bob, hostile, 2), clicked.clone()).await;
        });
        // The second replaced the first: one notification on screen.
        until("one notification shown", || {
            dunstctl(&["count", "displayed"]) == "1"
        });
        assert_eq!(dunstctl(&["count", "waiting"]), "0");

        // A click on it is reported, once, as its conversation.
        let clicked_at = Command::new("xdotool")
            .args(["mousemove", "60", "15", "click", "1"])
            .status()
            .expect("xdotool");
        assert!(clicked_at.success());
        let got = rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(15), clicks.recv()).await });
        assert_eq!(got.expect("a click within 15 s"), Some(bob.clone()));
        until("closed by the click", || {
            dunstctl(&["count", "displayed"]) == "0"
        });

        // The server reads markup, so the body was escaped.
        let history: serde_json::Value =
            serde_json::from_str(&dunstctl(&["history"])).expect("dunst history JSON");
        let entries = history["data"][0].as_array().expect("entries");
        let ours = entries
            .iter()
            .find(|e| e["summary"]["data"] == "Bob")
            .expect("our notification in the history");
        assert_eq!(
            ours["body"]["data"],
            "&lt;a href=&quot;https://evil.example/x&quot;&gt;click&lt;/a&gt; &amp; &lt;b&gt;co&lt;/b&gt;"
        );
        // What dunst displays: the text as written, no link in it.
        let message = ours["message"]["data"].as_str().expect("message");
        assert!(
            message.contains("&lt;a href=") && !message.contains("<a"),
            "{ours}"
        );

        // Reading a conversation takes its notification away.
        let carol = key("carol@example.org");
        rt.block_on(desktop.show(shown(&carol, "hello", 1), clicked.clone()));
        until("carol's shown", || dunstctl(&["count", "displayed"]) == "1");
        rt.block_on(desktop.withdraw(carol));
        until("carol's withdrawn", || {
            dunstctl(&["count", "displayed"]) == "0"
        });
    }
}
