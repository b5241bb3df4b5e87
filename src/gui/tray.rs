//! The tray icon on Linux and the BSDs: a StatusNotifierItem over D-Bus
//! (ksni), which KDE, GNOME with the AppIndicator extension, Xfce, LXQt and
//! others show. It carries the unread count (in its tooltip, and a dot on
//! the icon), and a menu: Open, Do not disturb, Quit. Without a tray host
//! it is one log line, and closing the window quits as it would anywhere.

use futures::channel::mpsc;
use futures::{Stream, StreamExt as _};
use ksni::menu::{CheckmarkItem, MenuItem, StandardItem};
use ksni::{Icon, Status, ToolTip, TrayMethods as _};

use super::notify::APP_ID;

/// What the tray asks of the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The tray is shown (or shown again by a new tray host).
    Shown(Handle),
    /// The tray host went away: the window is the only way back.
    Gone,
    /// No tray on this desktop.
    Unavailable,
    Open,
    DoNotDisturb(bool),
    Quit,
}

/// The running tray, to update.
#[derive(Clone)]
pub struct Handle(std::sync::Arc<ksni::Handle<Item>>);

impl PartialEq for Handle {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for Handle {}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("tray::Handle")
    }
}

impl Handle {
    /// Shows `unread` and the Do not disturb state.
    pub async fn set(self, unread: i64, dnd: bool) {
        self.0
            .update(|item| {
                item.unread = unread;
                item.dnd = dnd;
            })
            .await;
    }
}

pub struct Item {
    unread: i64,
    dnd: bool,
    events: mpsc::UnboundedSender<Event>,
}

impl Item {
    fn send(&self, event: Event) {
        let _ = self.events.unbounded_send(event);
    }
}

impl ksni::Tray for Item {
    fn id(&self) -> String {
        APP_ID.into()
    }

    fn title(&self) -> String {
        "Sotto".into()
    }

    fn icon_name(&self) -> String {
        APP_ID.into()
    }

    // Pixmaps as well as the name: an AppImage's icon is in no theme.
    fn icon_pixmap(&self) -> Vec<Icon> {
        pixmap(false)
    }

    fn attention_icon_pixmap(&self) -> Vec<Icon> {
        pixmap(true)
    }

    fn status(&self) -> Status {
        if self.unread > 0 {
            Status::NeedsAttention
        } else {
            Status::Active
        }
    }

    fn tool_tip(&self) -> ToolTip {
        ToolTip {
            title: "Sotto".into(),
            description: describe(self.unread, self.dnd),
            ..ToolTip::default()
        }
    }

    fn activate(&mut self, _x: i32, _y: i32) {
        self.send(Event::Open);
    }

    fn menu(&self) -> Vec<MenuItem<Self>> {
        vec![
            StandardItem {
                label: "Open Sotto".into(),
                activate: Box::new(|item: &mut Self| item.send(Event::Open)),
                ..StandardItem::default()
            }
            .into(),
            CheckmarkItem {
                label: "Do not disturb".into(),
                checked: self.dnd,
                activate: Box::new(|item: &mut Self| {
                    item.dnd = !item.dnd;
                    item.send(Event::DoNotDisturb(item.dnd));
                }),
                ..CheckmarkItem::default()
            }
            .into(),
            MenuItem::Separator,
            StandardItem {
                label: "Quit".into(),
                activate: Box::new(|item: &mut Self| item.send(Event::Quit)),
                ..StandardItem::default()
            }
            .into(),
        ]
    }

    fn watcher_online(&self) {
        tracing::info!("a tray host appeared");
    }

    fn watcher_offline(&self, reason: ksni::OfflineReason) -> bool {
        tracing::info!(?reason, "the tray host went away");
        self.send(Event::Gone);
        // Keep the item: a restarted panel shows it again.
        true
    }
}

fn describe(unread: i64, dnd: bool) -> String {
    let unread = match unread {
        0 => "No unread messages".to_owned(),
        1 => "1 unread message".to_owned(),
        n => format!("{n} unread messages"),
    };
    if dnd {
        format!("{unread} · Do not disturb")
    } else {
        unread
    }
}

fn pixmap(dot: bool) -> Vec<Icon> {
    super::icon::tray_pixmap(dot)
        .map(|(data, width, height)| Icon {
            width: width as i32,
            height: height as i32,
            data,
        })
        .into_iter()
        .collect()
}

/// Starts the tray and yields what it asks. A desktop without a tray host
/// (or without a session bus) yields `Unavailable`, after one log line.
pub fn start(dnd: bool) -> impl Stream<Item = Event> + Send + 'static {
    let (events, received) = mpsc::unbounded();
    let item = Item {
        unread: 0,
        dnd,
        events,
    };
    futures::stream::once(async move {
        match item.spawn().await {
            Ok(handle) => {
                tracing::info!("tray icon shown");
                Event::Shown(Handle(std::sync::Arc::new(handle)))
            }
            Err(e) => {
                tracing::info!(error = %e, "no tray icon: this desktop shows none");
                Event::Unavailable
            }
        }
    })
    .chain(received)
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tooltip_counts_and_says_do_not_disturb() {
        assert_eq!(describe(0, false), "No unread messages");
        assert_eq!(describe(1, false), "1 unread message");
        assert_eq!(describe(7, true), "7 unread messages · Do not disturb");
    }

    #[test]
    fn the_attention_icon_has_its_dot() {
        let plain = pixmap(false);
        let dotted = pixmap(true);
        assert_eq!(plain.len(), 1);
        let (p, d) = (&plain[0], &dotted[0]);
        assert_eq!((p.width, p.height), (64, 64));
        assert_eq!(p.data.len(), 64 * 64 * 4);
        // ARGB: the pixel at the dot's centre is opaque red on the dotted one.
        let at = ((16 * 64) + 48) * 4;
        assert_eq!(&d.data[at..at + 4], &[0xff, 0xe0, 0x24, 0x24]);
        assert_ne!(&p.data[at..at + 4], &d.data[at..at + 4]);
    }
}
