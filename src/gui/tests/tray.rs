//! The tray, as a desktop's tray host sees it: on a private D-Bus session
//! with a minimal StatusNotifierWatcher (the one name a host owns, which
//! ksni registers the item with) and the test's notification server, the
//! test reads the item's properties and clicks its menu (com.canonical.
//! dbusmenu) as a panel would. The test runs itself again inside
//! `dbus-run-session`: the session bus is found from the environment, which
//! a running test must not change.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use zbus::zvariant::{OwnedValue, Structure, Value};

use sotto::engine::Event;
use sotto::model::Availability;

use super::notifications::NotificationServer;
use super::session;
use super::{Scene, rt};
use crate::gui::app::Message;
use crate::gui::notify::Bus;
use crate::gui::screen::settings;
use crate::gui::widget::closing;

const CHILD: &str = "SOTTO_TRAY_TEST_CHILD";
const NAME: &str =
    "gui::tests::tray::in_a_desktop_session_the_tray_the_dock_count_and_idle_presence_follow";

/// StatusNotifierItem's ToolTip: icon name, pixmaps, title, description.
type ToolTip = (String, Vec<(i32, i32, Vec<u8>)>, String, String);
/// dbusmenu's GetLayout answer: revision, and the root (id, properties,
/// children as variants).
type Layout = (u32, (i32, HashMap<String, OwnedValue>, Vec<OwnedValue>));

/// What a tray host needs to answer for an item to register.
struct Watcher {
    items: Arc<Mutex<Vec<String>>>,
}

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    fn register_status_notifier_item(&self, service: String) {
        self.items.lock().expect("items").push(service);
    }

    fn register_status_notifier_host(&self, _service: String) {}

    #[zbus(property)]
    fn registered_status_notifier_items(&self) -> Vec<String> {
        self.items.lock().expect("items").clone()
    }

    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    fn protocol_version(&self) -> i32 {
        0
    }
}

/// GNOME's idle monitor, with an idle time the test sets.
struct IdleMonitor {
    idle_ms: Arc<AtomicU64>,
}

#[zbus::interface(name = "org.gnome.Mutter.IdleMonitor")]
impl IdleMonitor {
    fn get_idletime(&self) -> u64 {
        self.idle_ms.load(Ordering::Relaxed)
    }
}

/// The item as a host reads it.
struct Host {
    connection: zbus::Connection,
    service: String,
}

impl Host {
    async fn item(&self) -> zbus::Proxy<'static> {
        zbus::proxy::Builder::new(&self.connection)
            .destination(self.service.clone())
            .expect("destination")
            .path("/StatusNotifierItem")
            .expect("path")
            .interface("org.kde.StatusNotifierItem")
            .expect("interface")
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await
            .expect("the item")
    }

    fn property<T>(&self, name: &str) -> T
    where
        T: TryFrom<OwnedValue>,
        T::Error: Into<zbus::Error>,
    {
        rt().block_on(async {
            self.item()
                .await
                .get_property::<T>(name)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"))
        })
    }

    fn tooltip(&self) -> String {
        let (_icon, _pixmaps, _title, description): ToolTip = self.property("ToolTip");
        description
    }

    /// Clicks the menu entry labelled `label`.
    fn click(&self, label: &str) {
        rt().block_on(async {
            let menu_path: zbus::zvariant::OwnedObjectPath = self
                .item()
                .await
                .get_property("Menu")
                .await
                .expect("the item's menu");
            let menu = zbus::Proxy::new(
                &self.connection,
                self.service.clone(),
                menu_path,
                "com.canonical.dbusmenu",
            )
            .await
            .expect("menu");
            let (_revision, (_root, _props, children)): Layout = menu
                .call("GetLayout", &(0i32, 1i32, Vec::<String>::new()))
                .await
                .expect("GetLayout");
            let mut labels = Vec::new();
            let id = children
                .into_iter()
                .find_map(|child| {
                    let fields = Structure::try_from(Value::from(child)).ok()?.into_fields();
                    let id = i32::try_from(fields.first()?).ok()?;
                    let props =
                        HashMap::<String, OwnedValue>::try_from(fields.get(1)?.try_clone().ok()?)
                            .ok()?;
                    let text = props
                        .get("label")
                        .and_then(|l| String::try_from(l.try_clone().ok()?).ok())?;
                    labels.push(text.clone());
                    (text == label).then_some(id)
                })
                .unwrap_or_else(|| panic!("no {label:?} in the menu: {labels:?}"));
            let _: () = menu
                .call("Event", &(id, "clicked", Value::from(""), 0u32))
                .await
                .expect("Event");
        });
    }
}

/// What a dock hears: the Update signals of com.canonical.Unity.LauncherEntry.
struct Dock {
    updates: Arc<Mutex<Vec<(i64, bool)>>>,
    _connection: zbus::Connection,
}

impl Dock {
    fn listen() -> Self {
        use futures::StreamExt as _;
        let updates = Arc::new(Mutex::new(Vec::new()));
        let (connection, mut stream) = rt().block_on(async {
            let connection = zbus::Connection::session().await.expect("dock connection");
            let rule = zbus::MatchRule::builder()
                .msg_type(zbus::message::Type::Signal)
                .interface("com.canonical.Unity.LauncherEntry")
                .expect("interface")
                .member("Update")
                .expect("member")
                .build();
            let stream = zbus::MessageStream::for_match_rule(rule, &connection, None)
                .await
                .expect("the signals");
            (connection, stream)
        });
        let heard = updates.clone();
        rt().spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Ok((uri, props)) = message
                    .body()
                    .deserialize::<(String, HashMap<String, OwnedValue>)>()
                else {
                    continue;
                };
                assert_eq!(uri, "application://im.sotto.Sotto.desktop");
                let count = props.get("count").and_then(|v| i64::try_from(v).ok());
                let visible = props
                    .get("count-visible")
                    .and_then(|v| bool::try_from(v).ok());
                if let (Some(count), Some(visible)) = (count, visible) {
                    heard.lock().expect("updates").push((count, visible));
                }
            }
        });
        Self {
            updates,
            _connection: connection,
        }
    }

    fn latest(&self) -> Option<(i64, bool)> {
        self.updates.lock().expect("updates").last().copied()
    }
}

#[test]
fn in_a_desktop_session_the_tray_the_dock_count_and_idle_presence_follow() {
    if session::inside(CHILD) {
        return in_the_session();
    }
    session::run_inside(NAME, CHILD, &[], &[]);
}

fn in_the_session() {
    let address = std::env::var("DBUS_SESSION_BUS_ADDRESS").expect("a session bus");
    let items = Arc::new(Mutex::new(Vec::new()));
    let _watcher = session::serve(
        &address,
        "org.kde.StatusNotifierWatcher",
        "/StatusNotifierWatcher",
        Watcher {
            items: items.clone(),
        },
    );
    let notifications = NotificationServer::on(&address);
    let dock = Dock::listen();
    let idle_ms = Arc::new(AtomicU64::new(0));
    let _idle = session::serve(
        &address,
        "org.gnome.Mutter.IdleMonitor",
        "/org/gnome/Mutter/IdleMonitor/Core",
        IdleMonitor {
            idle_ms: idle_ms.clone(),
        },
    );

    let mut s = Scene::on(Some(Bus::Session));
    s.window.until("the tray item registered", |_| {
        !items.lock().expect("items").is_empty()
    });
    let host = Host {
        connection: rt()
            .block_on(zbus::Connection::session())
            .expect("host connection"),
        service: items.lock().expect("items")[0].clone(),
    };
    assert_eq!(host.property::<String>("Title"), "Sotto");
    assert_eq!(host.property::<String>("Status"), "Active");
    assert_eq!(host.tooltip(), "No unread messages");

    // The first close asks, and says how to quit.
    s.window.update(Message::CloseRequested);
    s.window.until("the question", |w| w.shows(closing::KEEP));
    assert!(s.window.shows_part("press Ctrl+Q"));
    s.window.click(closing::KEEP);
    assert!(s.window.app().hidden(), "closed to the tray");

    // Closed, still connected: a message arrives, is notified and counted.
    s.bot_says("still there?");
    s.window.until("the notification", |_| {
        notifications.log.showing("still there?").is_some()
    });
    s.window
        .until("the tray's count", |_| host.tooltip() == "1 unread message");
    assert_eq!(host.property::<String>("Status"), "NeedsAttention");

    // Open from the tray's menu.
    host.click("Open Sotto");
    s.window.until("the window back", |w| !w.app().hidden());

    // A later close does not ask again.
    s.window.update(Message::CloseRequested);
    assert!(s.window.app().hidden());
    assert!(!s.window.shows(closing::KEEP));

    // Do not disturb from the tray: counted, not notified.
    host.click("Do not disturb");
    s.window.until("the tray says so", |_| {
        host.tooltip().ends_with("· Do not disturb")
    });
    let before = notifications.log.notified().len();
    s.bot_says("quiet please");
    s.window.until("counted", |_| {
        host.tooltip().starts_with("2 unread messages")
    });
    assert_eq!(
        notifications.log.notified().len(),
        before,
        "nothing notified while Do not disturb"
    );

    // The dock's count (Unity LauncherEntry) follows, and goes at zero.
    s.window
        .until("the dock's count", |_| dock.latest() == Some((2, true)));
    let first = notifications
        .log
        .showing("still there?")
        .expect("the first notification");
    notifications.invoke(first.id, "mark-read");
    s.window.until("no count on the dock", |_| {
        dock.latest() == Some((0, false))
    });
    assert_eq!(host.tooltip(), "No unread messages · Do not disturb");

    // Presence follows the person: the status message, away after the
    // default 10 minutes without input, and back.
    let me = s.me.clone();
    // The bot may still hold earlier presences of the window: the one
    // wanted is the one with this availability and message.
    let presence = |s: &mut Scene, what: &str, want: Availability, status: Option<&str>| {
        s.bot_sees(what, |e| match e {
            Event::Presence { update, .. }
                if update.from.to_bare() == me
                    && update.availability == want
                    && update.status.as_deref() == status =>
            {
                Some(())
            }
            _ => None,
        })
    };
    s.window.click("⚙");
    s.window.until("the settings", |w| w.shows("Presence"));
    s.window
        .type_in(settings::STATUS_MESSAGE.into(), "In a meeting");
    s.window.click("Save");
    let meeting = Some("In a meeting");
    presence(
        &mut s,
        "the status message",
        Availability::Available,
        meeting,
    );
    idle_ms.store(11 * 60 * 1000, Ordering::Relaxed);
    // Away keeps the message.
    presence(&mut s, "away", Availability::Away, meeting);
    idle_ms.store(2_000, Ordering::Relaxed);
    presence(&mut s, "back", Availability::Available, meeting);

    // Quit from the tray ends the app.
    host.click("Quit");
    s.window.until("the app ended", |w| w.exited);
}
