//! Notifications that act: the window's real D-Bus client against a
//! minimal freedesktop notification server (Desktop Notifications
//! Specification 1.2) on a private bus. The server records each Notify
//! and CloseNotification call and, as a user would, invokes an action or
//! sends an inline reply.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use sotto::engine::Event;
use sotto::store::Direction;
use zbus::object_server::SignalEmitter;
use zbus::zvariant::OwnedValue;

use super::{BOT, Scene, rt};
use crate::gui::notify::Bus;
use crate::gui::screen::settings;

const PATH: &str = "/org/freedesktop/Notifications";

/// A private session bus: `dbus-daemon` of Debian's dbus package.
pub struct PrivateBus {
    daemon: Child,
    pub address: String,
}

impl PrivateBus {
    pub fn start() -> Self {
        let mut daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (apt install dbus)");
        let mut address = String::new();
        BufReader::new(daemon.stdout.take().expect("stdout"))
            .read_line(&mut address)
            .expect("the bus address");
        Self {
            daemon,
            address: address.trim().to_owned(),
        }
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

#[derive(Debug, Clone)]
pub struct Notified {
    pub id: u32,
    pub replaces: u32,
    pub summary: String,
    pub body: String,
    pub actions: Vec<String>,
    /// The `sound-name` hint, and whether `suppress-sound` was asked.
    pub sound: Option<String>,
    pub silent: bool,
}

#[derive(Default, Clone)]
pub struct Log {
    notified: Arc<Mutex<Vec<Notified>>>,
    closed: Arc<Mutex<Vec<u32>>>,
}

impl Log {
    pub fn notified(&self) -> Vec<Notified> {
        self.notified.lock().expect("log").clone()
    }

    /// The notification that showed `body`, if one did.
    pub fn showing(&self, body: &str) -> Option<Notified> {
        self.notified().into_iter().find(|n| n.body == body)
    }
}

struct Server {
    log: Log,
    next: u32,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Server {
    fn get_capabilities(&self) -> Vec<String> {
        ["actions", "body", "inline-reply"]
            .map(String::from)
            .to_vec()
    }

    #[allow(clippy::too_many_arguments)]
    fn notify(
        &mut self,
        _app_name: String,
        replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        hints: HashMap<String, OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let id = if replaces_id != 0 {
            replaces_id
        } else {
            self.next += 1;
            self.next
        };
        self.log.notified.lock().expect("log").push(Notified {
            id,
            replaces: replaces_id,
            summary,
            body,
            actions,
            sound: hints
                .get("sound-name")
                .and_then(|v| String::try_from(v.try_clone().ok()?).ok()),
            silent: hints
                .get("suppress-sound")
                .and_then(|v| bool::try_from(v).ok())
                .unwrap_or(false),
        });
        id
    }

    fn close_notification(&mut self, id: u32) {
        self.log.closed.lock().expect("log").push(id);
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "sotto-test".into(),
            "Sotto".into(),
            "1".into(),
            "1.2".into(),
        )
    }

    #[zbus(signal)]
    async fn action_invoked(
        emitter: &SignalEmitter<'_>,
        id: u32,
        action_key: &str,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn notification_replied(
        emitter: &SignalEmitter<'_>,
        id: u32,
        text: &str,
    ) -> zbus::Result<()>;
}

pub struct NotificationServer {
    connection: zbus::Connection,
    pub log: Log,
}

impl NotificationServer {
    pub fn start(bus: &PrivateBus) -> Self {
        Self::on(&bus.address)
    }

    /// On the bus at `address`.
    pub fn on(address: &str) -> Self {
        let log = Log::default();
        let server = Server {
            log: log.clone(),
            next: 0,
        };
        let connection =
            super::session::serve(address, "org.freedesktop.Notifications", PATH, server);
        Self { connection, log }
    }

    async fn emitter(&self) -> zbus::object_server::InterfaceRef<Server> {
        self.connection
            .object_server()
            .interface::<_, Server>(PATH)
            .await
            .expect("our interface")
    }

    /// The user clicks one of the notification's buttons.
    pub fn invoke(&self, id: u32, action: &str) {
        rt().block_on(async {
            let iface = self.emitter().await;
            Server::action_invoked(iface.signal_emitter(), id, action)
                .await
                .expect("ActionInvoked");
        });
    }

    /// The user types an answer into the notification.
    fn reply(&self, id: u32, text: &str) {
        rt().block_on(async {
            let iface = self.emitter().await;
            Server::notification_replied(iface.signal_emitter(), id, text)
                .await
                .expect("NotificationReplied");
        });
    }
}

#[test]
fn reply_and_mark_as_read_act_from_the_notification_and_the_sound_can_be_off() {
    let bus = PrivateBus::start();
    let server = NotificationServer::start(&bus);
    let mut s = Scene::on(Some(Bus::Address(bus.address.clone())));
    let me = s.me.clone();
    let bot = s.bot.jid.clone();
    s.window.focus(false);

    // A message out of view: one notification, with its actions.
    s.bot_says("are you coming?");
    s.window
        .until("the notification", |_| !server.log.notified().is_empty());
    let first = server.log.notified()[0].clone();
    assert_eq!(first.summary, BOT);
    assert_eq!(first.body, "are you coming?");
    assert_eq!(first.replaces, 0);
    assert_eq!(
        first.actions,
        [
            "default",
            "Open",
            "mark-read",
            "Mark as read",
            "inline-reply",
            "Reply"
        ]
    );
    assert_eq!(first.sound.as_deref(), Some("message-new-instant"));
    assert!(!first.silent);
    assert_eq!(s.window.app().title(), "Sotto (1)");

    // Reply: the message reaches the bot, and the conversation is read.
    server.reply(first.id, "on my way");
    let got = s.bot_sees("the reply", |e| match e {
        Event::Message { message, .. }
            if message.direction == Direction::In && message.body == "on my way" =>
        {
            Some(message.clone())
        }
        _ => None,
    });
    assert_eq!(got.peer, me.as_str());
    s.window
        .until("read by answering", |w| w.app().title() == "Sotto");
    s.window.until("the notification taken away", |_| {
        server.log.closed.lock().expect("log").contains(&first.id)
    });
    assert!(
        s.window.dashboard().open_chat().is_none(),
        "answering did not open the chat"
    );

    // Mark as read: the badge and the title's count go, nothing opens.
    s.bot_says("see you");
    s.window.until("a second notification", |_| {
        server.log.showing("see you").is_some()
    });
    assert_eq!(s.window.app().title(), "Sotto (1)");
    let second = server.log.showing("see you").expect("the second");
    server.invoke(second.id, "mark-read");
    s.window
        .until("read from the notification", |w| w.app().title() == "Sotto");
    s.window.until("that one taken away too", |_| {
        server.log.closed.lock().expect("log").contains(&second.id)
    });
    assert!(
        s.window
            .dashboard()
            .open_chat()
            .is_none_or(|c| c.key().1 != bot),
        "marking read did not open the chat"
    );

    // Another program's notification id is not ours: ignored.
    server.invoke(9999, "default");
    server.reply(9999, "not for Sotto");
    s.bot_says("last one");
    s.window.until("a third notification", |_| {
        server.log.showing("last one").is_some()
    });
    // Open: the chat, in front.
    let third = server.log.showing("last one").expect("the third");
    server.invoke(third.id, "default");
    s.window.until("the chat opened by the click", |w| {
        w.dashboard().open_chat().is_some_and(|c| c.key().1 == bot)
    });

    // Without the sound, the server is asked for silence.
    s.window.click("⚙");
    s.window.until("the settings", |w| w.shows("Notifications"));
    s.window.interact(|ui| {
        ui.click(iced_test::selector::id(settings::SOUND))
            .expect("the sound toggle");
    });
    s.bot_says("quietly");
    s.window.until("a silent notification", |_| {
        server.log.showing("quietly").is_some()
    });
    let quiet = server.log.showing("quietly").expect("the quiet one");
    assert!(quiet.silent && quiet.sound.is_none(), "{quiet:?}");
}
