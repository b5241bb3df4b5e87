//! The system's notifications: the freedesktop notification server over
//! D-Bus on Linux and the BSDs (spoken directly with zbus: Open, Mark as
//! read, and Reply where the server takes inline replies), notify-rust's
//! notification center elsewhere. A missing server is one log line, never
//! a crash or a hang of the window.

use std::sync::atomic::{AtomicBool, Ordering};

use futures::FutureExt as _;
use futures::future::BoxFuture;
use tokio::sync::mpsc;

use super::{Desktop, Key, Response, Shown};

/// The bundle id; notify-rust shows the app under it on macOS.
pub const APP_ID: &str = "im.sotto.Sotto";

/// Said once per run: a missing daemon would otherwise log every message.
static WARNED: AtomicBool = AtomicBool::new(false);

fn unavailable(e: &dyn std::fmt::Display) {
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

#[cfg(all(test, unix, not(target_os = "macos")))]
pub use xdg::Bus;

#[cfg(all(unix, not(target_os = "macos")))]
impl System {
    /// On another bus than the session's (a test's).
    #[cfg(test)]
    pub fn on(bus: Bus) -> Self {
        Self {
            xdg: xdg::Conversations::on(bus),
        }
    }
}

impl Desktop for System {
    fn show(
        &mut self,
        shown: Shown,
        responses: mpsc::UnboundedSender<Response>,
    ) -> BoxFuture<'_, ()> {
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            self.xdg.show(shown, responses).boxed()
        }
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        {
            // Clicks reach only a main run loop, which iced owns here.
            let _ = responses;
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
    use std::sync::{Arc, Mutex};

    use futures::StreamExt as _;
    use tokio::sync::mpsc;
    use zbus::zvariant::Value;

    use super::super::text::escape_markup;
    use super::super::{Key, Response, Shown};
    use super::{APP_ID, unavailable};

    /// The Desktop Notifications Specification 1.2's interface.
    #[zbus::proxy(
        interface = "org.freedesktop.Notifications",
        default_service = "org.freedesktop.Notifications",
        default_path = "/org/freedesktop/Notifications"
    )]
    trait Notifications {
        #[allow(clippy::too_many_arguments)]
        fn notify(
            &self,
            app_name: &str,
            replaces_id: u32,
            app_icon: &str,
            summary: &str,
            body: &str,
            actions: &[&str],
            hints: HashMap<&str, Value<'_>>,
            expire_timeout: i32,
        ) -> zbus::Result<u32>;

        fn close_notification(&self, id: u32) -> zbus::Result<()>;

        fn get_capabilities(&self) -> zbus::Result<Vec<String>>;

        #[zbus(signal)]
        fn action_invoked(&self, id: u32, action_key: String) -> zbus::Result<()>;

        #[zbus(signal)]
        fn notification_replied(&self, id: u32, text: String) -> zbus::Result<()>;
    }

    /// Which bus the notification server is on.
    #[derive(Debug, Clone, Default)]
    pub enum Bus {
        #[default]
        Session,
        #[cfg_attr(not(test), allow(dead_code))]
        Address(String),
    }

    /// The actions offered; `default` is a click on the notification.
    const OPEN: &str = "default";
    const MARK_READ: &str = "mark-read";
    /// The spec's name for an inline reply (KDE Plasma, and servers that
    /// announce the `inline-reply` capability).
    const REPLY: &str = "inline-reply";

    /// Our notifications on screen: which conversation each id shows, for
    /// the signals, which name only the id.
    type Ids = Arc<Mutex<HashMap<u32, Key>>>;

    struct Connected {
        proxy: NotificationsProxy<'static>,
        markup: bool,
        reply: bool,
        ids: Ids,
        responses: mpsc::UnboundedSender<Response>,
    }

    #[derive(Default)]
    pub struct Conversations {
        bus: Bus,
        connected: Option<Connected>,
        /// Each conversation's notification, by the id the server gave.
        open: HashMap<Key, u32>,
    }

    impl Conversations {
        #[cfg(test)]
        pub fn on(bus: Bus) -> Self {
            Self {
                bus,
                ..Self::default()
            }
        }

        async fn connect(
            &mut self,
            responses: &mpsc::UnboundedSender<Response>,
        ) -> zbus::Result<&Connected> {
            let stale = self
                .connected
                .as_ref()
                .is_none_or(|c| !c.responses.same_channel(responses));
            if stale {
                let connection = match &self.bus {
                    Bus::Session => zbus::Connection::session().await?,
                    Bus::Address(a) => {
                        zbus::connection::Builder::address(a.as_str())?
                            .build()
                            .await?
                    }
                };
                let proxy = NotificationsProxy::new(&connection).await?;
                // Listening before the first Notify, so no answer is missed.
                let actions = proxy.receive_action_invoked().await?;
                let replies = proxy.receive_notification_replied().await?;
                let caps = proxy.get_capabilities().await?;
                let has = |c: &str| caps.iter().any(|x| x == c);
                let ids = Ids::default();
                tokio::spawn(listen(actions, replies, ids.clone(), responses.clone()));
                self.connected = Some(Connected {
                    proxy,
                    markup: has("body-markup"),
                    reply: has("inline-reply"),
                    ids,
                    responses: responses.clone(),
                });
            }
            self.connected
                .as_ref()
                .ok_or_else(|| zbus::Error::Failure("not connected".into()))
        }

        pub async fn show(&mut self, shown: Shown, responses: mpsc::UnboundedSender<Response>) {
            let replaces = self.open.get(&shown.key).copied().unwrap_or(0);
            let c = match self.connect(&responses).await {
                Ok(c) => c,
                Err(e) => {
                    unavailable(&e);
                    return;
                }
            };
            let body = if c.markup {
                escape_markup(&shown.body)
            } else {
                shown.body.clone()
            };
            let mut actions = vec![OPEN, "Open", MARK_READ, "Mark as read"];
            if c.reply {
                actions.extend([REPLY, "Reply"]);
            }
            let mut hints = HashMap::from([
                ("category", Value::from("im.received")),
                ("desktop-entry", Value::from(APP_ID)),
                // KDE's placeholder in the reply field.
                ("x-kde-reply-placeholder-text", Value::from("Reply…")),
            ]);
            // The sound theme's name for an arriving message; or silence,
            // which servers that play a sound of their own also heed.
            if shown.sound {
                hints.insert("sound-name", Value::from("message-new-instant"));
            } else {
                hints.insert("suppress-sound", Value::from(true));
            }
            let id = match c
                .proxy
                .notify(
                    "Sotto",
                    replaces,
                    APP_ID,
                    &shown.summary,
                    &body,
                    &actions,
                    hints,
                    -1,
                )
                .await
            {
                Ok(id) => id,
                Err(e) => {
                    unavailable(&e);
                    return;
                }
            };
            if let Ok(mut ids) = c.ids.lock() {
                if replaces != id {
                    ids.remove(&replaces);
                }
                ids.insert(id, shown.key.clone());
            }
            self.open.insert(shown.key, id);
        }

        pub async fn withdraw(&mut self, key: Key) {
            let Some(id) = self.open.remove(&key) else {
                return;
            };
            if let Some(c) = &self.connected {
                if let Ok(mut ids) = c.ids.lock() {
                    ids.remove(&id);
                }
                if let Err(e) = c.proxy.close_notification(id).await {
                    tracing::debug!(error = %e, "a notification was not withdrawn");
                }
            }
        }
    }

    /// Turns the server's signals about our notifications into responses.
    /// Other programs' notifications share the signals: their ids are not
    /// ours and are ignored. NotificationClosed is not read: it follows
    /// each action at once, on a stream of its own, so it could be read
    /// first and hide the action; a closed id stays known until its
    /// conversation is read or notified again.
    async fn listen(
        actions: ActionInvokedStream,
        replies: NotificationRepliedStream,
        ids: Ids,
        responses: mpsc::UnboundedSender<Response>,
    ) {
        enum Signal {
            Action(u32, String),
            Reply(u32, String),
        }
        let actions = actions.filter_map(|s| async move {
            s.args().ok().map(|a| Signal::Action(a.id, a.action_key))
        });
        let replies = replies
            .filter_map(|s| async move { s.args().ok().map(|a| Signal::Reply(a.id, a.text)) });
        let mut signals = std::pin::pin!(futures::stream::select(actions, replies));
        while let Some(signal) = signals.next().await {
            let key = |id: &u32| ids.lock().ok().and_then(|ids| ids.get(id).cloned());
            let response = match signal {
                Signal::Action(id, action) => match (key(&id), action.as_str()) {
                    (Some(k), OPEN) => Response::Open(k),
                    (Some(k), MARK_READ) => Response::MarkRead(k),
                    _ => continue,
                },
                Signal::Reply(id, text) => match key(&id) {
                    Some(k) if !text.trim().is_empty() => Response::Reply(k, text),
                    _ => continue,
                },
            };
            if responses.send(response).is_err() {
                return;
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
    use std::process::Command;
    use std::time::{Duration, Instant};

    use super::super::{Desktop, Key, Response, Shown};
    use super::System;
    use crate::gui::tests::session::{self, Xvfb};

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
            sound: false,
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
        if session::inside(CHILD) {
            return in_the_session();
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let rc = dir.path().join("dunstrc");
        std::fs::write(&rc, DUNSTRC).expect("dunstrc");
        let xvfb = Xvfb::start();
        // The test starts once this dunst owns the name: asked earlier, the
        // bus would start another dunst (with its default settings).
        let script = r#"dunst -config "$1" >"$2" 2>&1 & shift 2
for i in $(seq 100); do
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.Notifications | grep -q true && break
  sleep 0.1
done
exec "$@""#;
        let before: Vec<std::ffi::OsString> = vec![
            "sh".into(),
            "-c".into(),
            script.into(),
            "sh".into(),
            rc.into(),
            dir.path().join("dunst.log").into(),
        ];
        session::run_inside(NAME, CHILD, &before, &[("DISPLAY", &xvfb.display)]);
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
        assert_eq!(
            got.expect("a click within 15 s"),
            Some(Response::Open(bob.clone()))
        );
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
