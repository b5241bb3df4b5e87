//! Desktop notifications for messages that arrive while their chat is not
//! in view. One notification per conversation: a flood of messages
//! updates it (at most every [`THROTTLE`]) instead of opening hundreds,
//! and reading the chat withdraws it. All of it runs in one async task,
//! so a slow or missing notification server holds no thread (the store's
//! readers share the blocking pool) and never the window.

mod desktop;
mod text;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

#[cfg(all(test, unix, not(target_os = "macos")))]
pub use desktop::Bus;
pub use desktop::{APP_ID, System};

/// A conversation: account and contact.
pub use crate::gui::people::Key;

/// The least time between two updates of one conversation's notification.
pub const THROTTLE: Duration = Duration::from_secs(2);

/// A message to notify, as the window knows it.
#[derive(Debug, Clone)]
pub struct Notice {
    pub key: Key,
    /// Who wrote: the contact's name.
    pub title: String,
    /// `None` when the user chose to hide message content.
    pub body: Option<String>,
    /// With the desktop's message sound.
    pub sound: bool,
}

/// One conversation's notification as it should look now: plain text,
/// cleaned of control characters and cut to a notification's length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub key: Key,
    pub summary: String,
    pub body: String,
    /// Messages since the conversation was last read.
    pub count: u32,
    /// With the desktop's message sound (or asked to be silent).
    pub sound: bool,
}

/// What the user did with a conversation's notification.
#[derive(Clone, PartialEq, Eq)]
pub enum Response {
    /// Clicked it (or chose Open): the chat, in front.
    Open(Key),
    /// Chose Mark as read.
    MarkRead(Key),
    /// Typed an answer into it (where the server offers inline replies).
    Reply(Key, String),
}

/// A reply is a message body: never in a log.
impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Open(key) => f.debug_tuple("Open").field(key).finish(),
            Self::MarkRead(key) => f.debug_tuple("MarkRead").field(key).finish(),
            Self::Reply(key, text) => f
                .debug_tuple("Reply")
                .field(key)
                .field(&format_args!("<{} chars>", text.chars().count()))
                .finish(),
        }
    }
}

/// Where notifications appear: the desktop's notification server, or a
/// test's record.
pub trait Desktop: Send + 'static {
    /// Shows `shown`, replacing the conversation's earlier notification;
    /// what the user does with it is sent to `responses`.
    fn show(
        &mut self,
        shown: Shown,
        responses: mpsc::UnboundedSender<Response>,
    ) -> BoxFuture<'_, ()>;
    /// Takes the conversation's notification away.
    fn withdraw(&mut self, key: Key) -> BoxFuture<'_, ()>;
}

/// What waits to be shown for one conversation.
struct Pending {
    summary: String,
    latest: Option<String>,
    count: u32,
    sound: bool,
    dirty: bool,
    last_shown: Option<Instant>,
}

#[derive(Default)]
struct State {
    pending: HashMap<Key, Pending>,
    withdraw: Vec<Key>,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Notify,
}

/// The window's handle on the notification task. Calls never block.
pub struct Notifier {
    shared: Arc<Shared>,
    responses: Mutex<Option<mpsc::UnboundedReceiver<Response>>>,
}

impl Notifier {
    pub fn start(runtime: &tokio::runtime::Handle, desktop: Box<dyn Desktop>) -> Self {
        let shared = Arc::new(Shared::default());
        let (respond, responses) = mpsc::unbounded_channel();
        runtime.spawn(run(shared.clone(), desktop, respond));
        Self {
            shared,
            responses: Mutex::new(Some(responses)),
        }
    }

    /// A message arrived out of view.
    pub fn arrived(&self, notice: Notice) {
        let Ok(mut state) = self.shared.state.lock() else {
            return;
        };
        let pending = state.pending.entry(notice.key).or_insert(Pending {
            summary: String::new(),
            latest: None,
            count: 0,
            sound: true,
            dirty: false,
            last_shown: None,
        });
        pending.summary = notice.title;
        pending.latest = notice.body;
        pending.sound = notice.sound;
        pending.count = pending.count.saturating_add(1);
        pending.dirty = true;
        drop(state);
        self.shared.wake.notify_one();
    }

    /// The conversation was read: its notification goes.
    pub fn seen(&self, key: &Key) {
        let Ok(mut state) = self.shared.state.lock() else {
            return;
        };
        if state.pending.remove(key).is_some() {
            state.withdraw.push(key.clone());
            drop(state);
            self.shared.wake.notify_one();
        }
    }

    /// What the user does with notifications, once (the dashboard
    /// listens).
    pub fn responses(&self) -> Option<mpsc::UnboundedReceiver<Response>> {
        self.responses.lock().ok()?.take()
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        if let Ok(mut state) = self.shared.state.lock() {
            state.closed = true;
        }
        self.shared.wake.notify_one();
    }
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier").finish_non_exhaustive()
    }
}

/// What is due now, and when the next deferred update falls due.
struct Due {
    withdraw: Vec<Key>,
    show: Vec<Shown>,
    next: Option<Instant>,
    closed: bool,
}

fn take_due(state: &mut State, now: Instant) -> Due {
    let mut show = Vec::new();
    let mut next: Option<Instant> = None;
    for (key, p) in &mut state.pending {
        if !p.dirty {
            continue;
        }
        match p.last_shown.map(|t| t + THROTTLE).filter(|due| *due > now) {
            Some(due) => next = Some(next.map_or(due, |n| n.min(due))),
            None => {
                p.dirty = false;
                p.last_shown = Some(now);
                let mut shown = text::shown(key, &p.summary, p.latest.as_deref(), p.count);
                shown.sound = p.sound;
                show.push(shown);
            }
        }
    }
    Due {
        withdraw: std::mem::take(&mut state.withdraw),
        show,
        next,
        closed: state.closed,
    }
}

async fn run(
    shared: Arc<Shared>,
    mut desktop: Box<dyn Desktop>,
    respond: mpsc::UnboundedSender<Response>,
) {
    loop {
        let due = match shared.state.lock() {
            Ok(mut state) => take_due(&mut state, Instant::now()),
            Err(_) => return,
        };
        if due.closed {
            return;
        }
        for key in due.withdraw {
            desktop.withdraw(key).await;
        }
        for shown in due.show {
            desktop.show(shown, respond.clone()).await;
        }
        // A wake-up between the check above and here is kept by Notify.
        match due.next {
            Some(at) => {
                tokio::select! {
                    () = shared.wake.notified() => {}
                    () = tokio::time::sleep_until(at) => {}
                }
            }
            None => shared.wake.notified().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(peer: &str) -> Key {
        (
            "me@example.org".parse().expect("jid"),
            peer.parse().expect("jid"),
        )
    }

    fn arrive(state: &mut State, k: &Key, body: &str) {
        let p = state.pending.entry(k.clone()).or_insert(Pending {
            summary: "Bob".into(),
            latest: None,
            count: 0,
            sound: true,
            dirty: false,
            last_shown: None,
        });
        p.latest = Some(body.into());
        p.count += 1;
        p.dirty = true;
    }

    #[test]
    fn a_flood_in_one_conversation_is_one_notification_updated_at_a_measured_pace() {
        let mut state = State::default();
        let bob = key("bob@example.org");
        let start = Instant::now();
        arrive(&mut state, &bob, "first");
        let due = take_due(&mut state, start);
        assert_eq!(due.show.len(), 1);
        assert_eq!(due.show[0].body, "first");
        assert_eq!(due.show[0].count, 1);

        for i in 0..300 {
            arrive(&mut state, &bob, &format!("message {i}"));
        }
        // Within the throttle nothing more is shown, but an update is due.
        let due = take_due(&mut state, start + Duration::from_millis(500));
        assert!(due.show.is_empty());
        assert_eq!(due.next, Some(start + THROTTLE));
        // Then one update with the count and the latest message.
        let due = take_due(&mut state, start + THROTTLE);
        assert_eq!(due.show.len(), 1);
        assert_eq!(due.show[0].count, 301);
        assert_eq!(due.show[0].body, "message 299");
        assert!(due.show[0].summary.contains("301 new messages"));
        assert_eq!(take_due(&mut state, start + THROTTLE * 2).show, vec![]);
    }

    #[test]
    fn conversations_are_notified_apart() {
        let mut state = State::default();
        let now = Instant::now();
        arrive(&mut state, &key("bob@example.org"), "hi");
        arrive(&mut state, &key("carol@example.org"), "hey");
        let due = take_due(&mut state, now);
        assert_eq!(due.show.len(), 2);
    }
}
