//! Behaviour tests of the window with iced's headless simulator: no
//! display, a real SQLCipher store and a real engine. Tasks that `update`
//! returns are run here as the iced runtime would run them.

use std::time::Duration;

use iced::keyboard::{self, Key, key::Named};
use iced::{Event as IcedEvent, Task};
use iced_test::runtime::Action;
use iced_test::{selector, simulator};
use sotto::config::{AccountConfig, Config, PasswordStore};
use sotto::engine::Event;
use sotto::model::{Availability, BareJid, Jid, PresenceUpdate, now_ms};
use sotto::paths::Paths;
use sotto::store::{MessageState, NewIncoming, Placement, Store, StoreKey};
use tokio::sync::mpsc;

use super::app::{App, COMPOSER, Message, OVERLAY_INPUT, OverlayKind, Shortcut, shortcut};
use super::backend::Backend;
use super::chat::SendButton;
use super::state::PushSummary;

struct Harness {
    app: App,
    events: mpsc::Receiver<Event>,
    store: Store,
    rt: tokio::runtime::Runtime,
    me: BareJid,
    _dir: tempfile::TempDir,
}

fn jid(s: &str) -> BareJid {
    s.parse().expect("jid")
}

impl Harness {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = Paths::under(dir.path());
        paths.create().expect("paths");
        let store = Store::open(
            &paths.data_dir.join("sotto.db"),
            &StoreKey::from_bytes([7; 32]),
        )
        .expect("store");
        let backend = Backend::with_store(store.clone()).expect("backend");
        let events = backend.take_events().expect("events");
        let me = jid("me@example.org");
        let config = Config {
            accounts: vec![AccountConfig {
                jid: me.clone(),
                server: None,
                direct_tls: false,
                pinned_certificate: None,
                password_store: PasswordStore::Database,
                enabled: true,
                tor: false,
            }],
        };
        let app = App::headless(paths, config, backend);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        Self {
            app,
            events,
            store,
            rt,
            me,
            _dir: dir,
        }
    }

    /// Updates the app and runs what it asks for, as iced would, feeding
    /// the results back in. Timers (typing pauses) are not waited for.
    fn update(&mut self, message: Message) {
        // A key in the composer only starts the typing-pause timer.
        let timer_only = matches!(message, Message::Composer(_));
        let task = self.app.update(message);
        if !timer_only {
            self.run(task);
        }
    }

    fn run(&mut self, task: Task<Message>) {
        let Some(mut stream) = iced_test::runtime::task::into_stream(task) else {
            return;
        };
        let mut outputs = Vec::new();
        self.rt.block_on(async {
            use futures::StreamExt;
            while let Ok(Some(action)) =
                tokio::time::timeout(Duration::from_secs(2), stream.next()).await
            {
                if let Action::Output(m) = action {
                    outputs.push(m);
                }
            }
        });
        for m in outputs {
            if !matches!(m, Message::TypingPause(_)) {
                self.update(m);
            }
        }
    }

    /// Feeds engine events to the app until one matches.
    fn until(&mut self, what: &str, mut wanted: impl FnMut(&Event) -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let event = self
                .rt
                .block_on(async { tokio::time::timeout(left, self.events.recv()).await })
                .unwrap_or_else(|_| panic!("no engine event: {what}"))
                .expect("engine stopped");
            let hit = wanted(&event);
            self.update(Message::Engine(vec![event]));
            if hit {
                return;
            }
        }
    }

    /// Messages produced by interacting with the current view.
    fn interact(
        &mut self,
        f: impl FnOnce(&mut iced_test::Simulator<'_, Message, iced::Theme, iced::Renderer>),
    ) -> Vec<Message> {
        let mut ui = simulator(super::view::view(&self.app));
        f(&mut ui);
        ui.into_messages().collect()
    }

    fn shows(&mut self, text: &str) -> bool {
        let mut ui = simulator(super::view::view(&self.app));
        ui.find(text).is_ok()
    }

    fn y_of(&mut self, text: &str) -> f32 {
        let mut ui = simulator(super::view::view(&self.app));
        ui.find(text).expect(text).bounds().y
    }

    /// A message from `peer`, stored as the pipeline stores it, then
    /// announced as the engine announces it.
    fn incoming(&mut self, peer: &str, body: &str, at: i64) {
        let stored = self
            .store
            .insert_incoming(&NewIncoming {
                account: self.me.as_str(),
                peer,
                sender: &format!("{peer}/phone"),
                body,
                sent_at: at,
                placement: Placement::AsStamped,
                origin_id: None,
                stanza_id: None,
                archive_id: None,
                count_unread: true,
                wire_id: None,
                markable: false,
            })
            .expect("insert")
            .expect("new");
        let me = self.me.clone();
        self.update(Message::Engine(vec![Event::Message {
            account: me,
            message: stored,
        }]));
    }
}

#[test]
fn sending_from_the_composer_stores_and_shows_the_message() {
    let mut h = Harness::new();
    let bob = jid("bob@example.org");
    h.update(Message::Open(h.me.clone(), bob.clone()));
    let messages = h.interact(|ui| {
        ui.click(selector::id(COMPOSER)).expect("composer");
        ui.typewrite("Hello from the composer");
        ui.tap_key(Key::Named(Named::Enter));
    });
    assert!(
        messages.iter().any(|m| matches!(m, Message::Send)),
        "Enter sends: {messages:?}"
    );
    for m in messages {
        h.update(m);
    }
    h.until("the queued message", |e| matches!(e, Event::Message { .. }));
    // Shown in the chat, with the list updated, and the composer empty.
    assert!(h.shows("Hello from the composer"));
    assert!(
        h.app
            .chat
            .as_ref()
            .is_some_and(|c| c.text().trim().is_empty())
    );
    // Stored (queued: the account is not connected) and the chat says so.
    let stored = h
        .store
        .messages_before(h.me.as_str(), bob.as_str(), None, 10)
        .expect("read");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].body, "Hello from the composer");
    assert_eq!(stored[0].state, MessageState::Queued);
    assert!(
        h.shows("1 message is waiting: you are offline. They will be sent when Sotto reconnects.")
    );
    assert!(h.shows("You: Hello from the composer"));
}

#[test]
fn shift_enter_is_a_new_line_not_a_send() {
    let mut h = Harness::new();
    h.update(Message::Open(h.me.clone(), jid("bob@example.org")));
    let messages = h.interact(|ui| {
        ui.click(selector::id(COMPOSER)).expect("composer");
        ui.typewrite("one");
        ui.simulate([IcedEvent::Keyboard(keyboard::Event::KeyPressed {
            key: Key::Named(Named::Enter),
            modified_key: Key::Named(Named::Enter),
            physical_key: keyboard::key::Physical::Unidentified(
                keyboard::key::NativeCode::Unidentified,
            ),
            location: keyboard::Location::Standard,
            modifiers: keyboard::Modifiers::SHIFT,
            repeat: false,
            text: None,
        })]);
        ui.typewrite("two");
    });
    assert!(!messages.iter().any(|m| matches!(m, Message::Send)));
    for m in messages {
        h.update(m);
    }
    assert_eq!(
        h.app
            .chat
            .as_ref()
            .map(|c| c.text())
            .as_deref()
            .map(str::trim_end),
        Some("one\ntwo")
    );
}

#[test]
fn an_incoming_message_moves_its_conversation_up_with_an_unread_badge() {
    let mut h = Harness::new();
    let now = now_ms();
    h.incoming("carol@example.org", "an old one", now - 60_000);
    h.incoming("bob@example.org", "a newer one", now - 30_000);
    // Bob is open and read; Carol has one unread.
    h.update(Message::Open(h.me.clone(), jid("carol@example.org")));
    h.until("carol read", |e| matches!(e, Event::ConversationRead { peer, .. } if peer.as_str() == "carol@example.org"));
    h.update(Message::Open(h.me.clone(), jid("bob@example.org")));
    h.until(
        "bob read",
        |e| matches!(e, Event::ConversationRead { peer, .. } if peer.as_str() == "bob@example.org"),
    );
    assert!(h.y_of("a newer one") < h.y_of("an old one"), "bob first");

    h.incoming("carol@example.org", "news from carol", now);
    let order: Vec<&str> = h
        .app
        .conversations
        .iter()
        .map(|c| c.peer.as_str())
        .collect();
    assert_eq!(order, ["carol@example.org", "bob@example.org"]);
    assert_eq!(h.app.conversations[0].unread, 1);
    assert!(h.y_of("news from carol") < h.y_of("bob"), "carol first now");
    assert!(h.shows("1"), "the unread badge");
    // Opening it clears the badge.
    h.update(Message::Open(h.me.clone(), jid("carol@example.org")));
    h.update(Message::Engine(vec![]));
    assert_eq!(h.app.conversations[0].unread, 0);
}

#[test]
fn send_becomes_knock_for_an_offline_contact_with_push_info() {
    let mut h = Harness::new();
    let bob = jid("bob@example.org");
    h.update(Message::Open(h.me.clone(), bob.clone()));
    // Offline, no push info: Send, disabled.
    assert!(matches!(h.app.send_button(), Some(SendButton::Disabled(_))));
    assert!(h.shows("Send") && !h.shows("Knock"));

    h.update(Message::PushLoaded(
        (h.me.clone(), bob.clone()),
        Some(PushSummary {
            host: "push.example.net".into(),
            tokens: 2,
            last_knock_at: None,
            last_result: None,
            auto_knock: false,
        }),
    ));
    assert!(h.shows("Knock") && !h.shows("Send"));
    let messages = h.interact(|ui| {
        ui.click("Knock").expect("knock button");
    });
    assert!(messages.iter().any(|m| matches!(m, Message::Knock)));

    // Text in the box: Send again.
    let typed = h.interact(|ui| {
        ui.click(selector::id(COMPOSER)).expect("composer");
        ui.typewrite("hi");
    });
    for m in typed {
        h.update(m);
    }
    assert!(h.shows("Send") && !h.shows("Knock"));

    // Online with an empty box: nothing to knock.
    h.update(Message::CancelEdit);
    h.app.chat.as_mut().expect("chat").composer = iced::widget::text_editor::Content::new();
    let me = h.me.clone();
    h.update(Message::Engine(vec![Event::Presence {
        account: me,
        update: PresenceUpdate {
            from: "bob@example.org/phone".parse::<Jid>().expect("jid"),
            availability: Availability::Available,
            status: None,
            priority: 0,
        },
    }]));
    assert!(h.shows("Send") && !h.shows("Knock"));
}

#[test]
fn quick_switcher_filters_and_opens() {
    let mut h = Harness::new();
    let now = now_ms();
    h.incoming("carol@example.org", "hello", now - 2_000);
    h.incoming("bob@example.org", "hey", now - 1_000);

    let ctrl_k = IcedEvent::Keyboard(keyboard::Event::KeyPressed {
        key: Key::Character("k".into()),
        modified_key: Key::Character("k".into()),
        physical_key: keyboard::key::Physical::Unidentified(
            keyboard::key::NativeCode::Unidentified,
        ),
        location: keyboard::Location::Standard,
        modifiers: keyboard::Modifiers::CTRL,
        repeat: false,
        text: None,
    });
    let message = shortcut(
        ctrl_k,
        iced::event::Status::Captured,
        iced::window::Id::unique(),
    )
    .expect("Ctrl+K is a shortcut");
    assert!(matches!(message, Message::Shortcut(Shortcut::Switcher)));
    h.update(message);
    assert_eq!(
        h.app.overlay.as_ref().map(|o| o.kind),
        Some(OverlayKind::Switcher)
    );
    assert!(h.shows("Switch to…"));

    let typed = h.interact(|ui| {
        ui.click(selector::id(OVERLAY_INPUT)).expect("input");
        ui.typewrite("car");
    });
    for m in typed {
        h.update(m);
    }
    assert!(h.shows("carol@example.org"));
    assert!(!h.shows("bob@example.org"), "filtered out");
    let entered = h.interact(|ui| {
        ui.click(selector::id(OVERLAY_INPUT)).expect("input");
        ui.tap_key(Key::Named(Named::Enter));
    });
    for m in entered {
        h.update(m);
    }
    assert!(h.app.overlay.is_none());
    assert_eq!(
        h.app.chat.as_ref().map(|c| c.peer.to_string()).as_deref(),
        Some("carol@example.org")
    );

    // Esc closes an overlay.
    h.update(Message::OpenOverlay(OverlayKind::Search));
    h.update(Message::Shortcut(Shortcut::Escape));
    assert!(h.app.overlay.is_none());
}

#[test]
fn search_finds_stored_messages_and_jumps_to_them() {
    let mut h = Harness::new();
    let now = now_ms();
    for i in 0..120 {
        h.incoming(
            "bob@example.org",
            &format!("filler number {i}"),
            now - 200_000 + i * 1000,
        );
    }
    h.incoming("bob@example.org", "the pineapple recipe", now - 300_000);
    h.update(Message::OpenOverlay(OverlayKind::Search));
    h.update(Message::OverlayQuery("pineapp".into()));
    let hits = &h.app.overlay.as_ref().expect("overlay").hits;
    assert_eq!(hits.len(), 1);
    let id = hits[0].message.id;
    h.update(Message::StartChat);
    let chat = h.app.chat.as_ref().expect("chat open");
    assert_eq!(chat.highlight, Some(id));
    assert!(
        chat.messages.iter().any(|m| m.id == id),
        "the hit is loaded"
    );
    assert!(h.shows("the pineapple recipe"));
}

#[test]
fn the_chat_says_how_a_knock_went() {
    let mut h = Harness::new();
    let bob = jid("bob@example.org");
    h.update(Message::Open(h.me.clone(), bob.clone()));
    let me = h.me.clone();
    h.update(Message::Engine(vec![Event::Knocking {
        account: me.clone(),
        contact: bob.clone(),
        automatic: false,
    }]));
    assert!(h.shows("Knocking…"));
    h.update(Message::Engine(vec![Event::Knocked {
        account: me.clone(),
        contact: bob.clone(),
        relay: Some("push.example.net".into()),
        error: None,
        token: Some("abcd…".into()),
        dropped_tokens: 0,
    }]));
    assert!(h.shows("Knocked: bob's phone was woken."));
    h.update(Message::Engine(vec![Event::Knocked {
        account: me,
        contact: bob,
        relay: None,
        error: Some("the relay did not answer within 10 s".into()),
        token: None,
        dropped_tokens: 0,
    }]));
    assert!(h.shows("Knock failed: the relay did not answer within 10 s"));
    assert!(!h.shows("Knocking…"));
}

#[test]
fn signing_in_can_create_the_account_with_the_password_typed_twice() {
    use super::app::{Screen, SignInMessage};
    let mut h = Harness::new();
    h.update(Message::Show(Screen::SignIn));
    assert!(h.shows("Sign in"));
    let clicked = h.interact(|ui| {
        ui.click("This is a new account: create it on the server")
            .expect("create checkbox");
    });
    assert!(
        clicked
            .iter()
            .any(|m| matches!(m, Message::SignIn(SignInMessage::Create(true)))),
        "{clicked:?}"
    );
    for m in clicked {
        h.update(m);
    }
    assert!(h.shows("Create account"));
    let sign_in = |m| Message::SignIn(m);
    h.update(sign_in(SignInMessage::Jid("newbie@sotto.invalid".into())));
    h.update(sign_in(SignInMessage::Password("first try".into())));
    h.update(sign_in(SignInMessage::PasswordAgain("frist try".into())));
    h.update(sign_in(SignInMessage::Submit));
    assert!(h.shows("The two passwords differ: type the same one twice."));
    h.update(sign_in(SignInMessage::PasswordAgain("first try".into())));
    h.update(sign_in(SignInMessage::Submit));
    assert!(h.shows("Creating the account on the server…"));
    assert!(h.shows("Creating…"));
}
