//! Runs the app as iced would, without a display: the same `App::boot`,
//! `update` and `view` as production, on a platform that does not
//! confine the test process nor pop up notifications. Tasks run as the
//! iced runtime runs them, long-lived ones (the engine's event stream)
//! included; what they produce goes back into `update`. Each look at the
//! window is iced_test's headless simulator over the current view.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::{BoxStream, SelectAll};
use futures::{FutureExt, StreamExt};
use iced::keyboard::{self, Key, key::Named};
use iced::{Event as IcedEvent, Task};
use iced_test::Simulator;
use iced_test::runtime::Action;
use iced_test::selector::{self, Candidate};
use sotto::config::Config;
use sotto::engine::EngineOptions;
use sotto::knock::KnockPolicy;
use sotto::paths::Paths;
use sotto::sandbox::SandboxStatus;

use super::rt;
use crate::gui::app::{App, Inbox, Message};
use crate::gui::notify::{self, Desktop, Shown};
use crate::gui::platform::Platform;
use crate::gui::screen::dashboard::Dashboard;
use crate::gui::screen::unlock::PASSPHRASE;

/// How long a test waits for what should happen promptly on loopback.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Where the sidebar ends and the chat pane begins.
const SIDEBAR: f32 = 310.0;

pub type Ui<'a> = Simulator<'a, Message, iced::Theme, iced::Renderer>;

pub struct Window {
    app: App,
    tasks: SelectAll<BoxStream<'static, Action<Message>>>,
    /// What the app would have shown as desktop notifications, each
    /// update of one included.
    pub notices: Arc<Mutex<Vec<Shown>>>,
    desk: Record,
    /// The app asked the runtime to end (Quit).
    pub exited: bool,
}

/// The platform of a test: no sandbox (it would confine the whole test
/// process), notifications recorded, knocks allowed to a relay double on
/// loopback over plain http.
fn platform(desk: Record, bus: Option<notify::Bus>, paths: &Paths) -> Platform {
    Platform {
        // Inside the test's home, as `--home` has it.
        autostart: crate::gui::autostart::Autostart::spawn(paths.config_dir.parent()),
        // On a test's bus only: the session's tray would show a test's icon.
        tray: bus.is_some(),
        // The session's idle time only where the session is the test's own.
        idle_poll: matches!(bus, Some(notify::Bus::Session))
            .then_some(std::time::Duration::from_millis(100)),
        confine: |_| SandboxStatus::Unavailable("not applied in tests".into()),
        notifications: match bus {
            None => Arc::new(move || Box::new(desk.clone())),
            // The real client, on a test's own notification server.
            Some(bus) => Arc::new(move || Box::new(notify::System::on(bus.clone()))),
        },
        engine: EngineOptions {
            knock: KnockPolicy {
                allow_insecure: true,
                ..KnockPolicy::default()
            },
            tor: None,
        },
    }
}

/// A desktop that records what it was asked to show and take away, and
/// can click a notification as a user would.
#[derive(Clone, Default)]
struct Record {
    shown: Arc<Mutex<Vec<Shown>>>,
    withdrawn: Arc<Mutex<Vec<notify::Key>>>,
    clicks: Arc<Mutex<Option<tokio::sync::mpsc::UnboundedSender<notify::Response>>>>,
}

impl Desktop for Record {
    fn show(
        &mut self,
        shown: Shown,
        clicked: tokio::sync::mpsc::UnboundedSender<notify::Response>,
    ) -> futures::future::BoxFuture<'_, ()> {
        if let Ok(mut seen) = self.shown.lock() {
            seen.push(shown);
        }
        if let Ok(mut clicks) = self.clicks.lock() {
            *clicks = Some(clicked);
        }
        async {}.boxed()
    }

    fn withdraw(&mut self, key: notify::Key) -> futures::future::BoxFuture<'_, ()> {
        if let Ok(mut gone) = self.withdrawn.lock() {
            gone.push(key);
        }
        async {}.boxed()
    }
}

impl Window {
    /// Boots the app on `paths` as production does, and opens its window.
    pub fn start(paths: Paths, config: Config) -> Self {
        Self::start_on(paths, config, None)
    }

    /// Notifications go to the notification server on `bus`, if given.
    pub fn start_on(paths: Paths, config: Config, bus: Option<notify::Bus>) -> Self {
        let desk = Record::default();
        // The door later `sotto`s knock at, as production opens it.
        let door = match sotto::handover::claim(&paths).expect("the door") {
            sotto::handover::Claim::First(door) => door,
            sotto::handover::Claim::Running(_) => panic!("another window owns this home"),
        };
        let inbox = Inbox {
            link: None,
            door: Some(door),
            background: false,
        };
        let (app, boot) = App::boot(
            paths.clone(),
            config,
            platform(desk.clone(), bus, &paths),
            inbox,
        );
        let mut window = Self {
            app,
            tasks: SelectAll::new(),
            notices: desk.shown.clone(),
            desk,
            exited: false,
        };
        window.push(boot);
        window.update(Message::WindowOpened);
        window
    }

    /// Notifications taken away (their conversation was read).
    pub fn withdrawn(&self) -> Vec<notify::Key> {
        self.desk
            .withdrawn
            .lock()
            .map(|w| w.clone())
            .unwrap_or_default()
    }

    /// Clicks the notification of `key`, as the desktop reports a click.
    pub fn click_notification(&self, key: notify::Key) {
        let clicks = self.desk.clicks.lock().expect("clicks");
        clicks
            .as_ref()
            .expect("a notification was shown")
            .send(notify::Response::Open(key))
            .expect("the app listens for clicks");
    }

    /// Started, then unlocked through the passphrase screen, as on a
    /// computer without a keychain.
    pub fn unlocked_on(
        paths: Paths,
        config: Config,
        passphrase: &str,
        bus: Option<notify::Bus>,
    ) -> Self {
        let mut w = Self::start_on(paths, config, bus);
        w.until("the unlock screen", |w| w.shows("Unlock Sotto"));
        w.type_in(PASSPHRASE.into(), passphrase);
        w.click("Unlock");
        w.until("the dashboard", |w| w.app.dashboard().is_some());
        w
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    pub fn dashboard(&self) -> &Dashboard {
        self.app.dashboard().expect("the dashboard is open")
    }

    pub fn update(&mut self, message: Message) {
        let task = self.app.update(message);
        self.push(task);
    }

    fn push(&mut self, task: Task<Message>) {
        if let Some(stream) = iced_test::runtime::task::into_stream(task) {
            self.tasks.push(stream);
        }
    }

    /// Runs what the app asked for, feeding its results back, until
    /// `done` holds; fails the test after [`PATIENCE`].
    pub fn until(&mut self, what: &str, mut done: impl FnMut(&mut Self) -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "the window never showed {what}; it shows {:?}",
                self.texts()
            );
            // Short steps: some conditions change off the task streams
            // (what the notification task recorded, on its own runtime).
            self.step(left.min(Duration::from_millis(50)));
        }
    }

    /// Waits for the next action of a running task, at most `patience`,
    /// then takes whatever else is ready too (looking at the window after
    /// each of a burst of messages would only slow the test).
    pub fn step(&mut self, patience: Duration) {
        let tasks = &mut self.tasks;
        let first = rt().block_on(async { tokio::time::timeout(patience, tasks.next()).await });
        let mut next = match first {
            Ok(Some(action)) => Some(action),
            // Nothing runs (the event stream always does once unlocked).
            Ok(None) => {
                std::thread::yield_now();
                None
            }
            Err(_) => None,
        };
        while let Some(action) = next.take() {
            // Widget operations (focus, scrolling), window and system
            // requests have no window to act on here.
            match action {
                Action::Output(m) => self.update(m),
                Action::Exit => self.exited = true,
                _ => {}
            }
            let tasks = &mut self.tasks;
            next = rt().block_on(async { tasks.next().now_or_never().flatten() });
        }
    }

    /// Runs tasks until `future` (on the test runtime) resolves.
    pub fn alongside<T>(&mut self, what: &str, future: impl Future<Output = T>) -> T {
        let mut future = std::pin::pin!(future);
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let outcome = rt().block_on(async {
                tokio::select! {
                    value = &mut future => Ok(value),
                    action = self.tasks.next() => Err(action),
                    () = tokio::time::sleep_until(deadline) => panic!("no {what} within {PATIENCE:?}"),
                }
            });
            match outcome {
                Ok(value) => return value,
                Err(Some(Action::Output(m))) => self.update(m),
                Err(Some(Action::Exit)) => self.exited = true,
                Err(_) => {}
            }
        }
    }

    pub fn ui(&self) -> Ui<'_> {
        Simulator::with_size(
            iced::Settings::default(),
            iced::Size::new(1100.0, 720.0),
            self.app.view(),
        )
    }

    pub fn shows(&self, text: &str) -> bool {
        self.ui().find(text).is_ok()
    }

    /// Some text on screen contains `part`.
    pub fn shows_part(&self, part: &str) -> bool {
        self.bounds_of_part(part).is_some()
    }

    pub fn bounds_of(&self, text: &str) -> iced::Rectangle {
        self.ui()
            .find(text)
            .unwrap_or_else(|_| panic!("{text:?} is not shown"))
            .bounds()
    }

    /// Every text on screen, in order (to say what was there when a test
    /// fails).
    pub fn texts(&self) -> Vec<String> {
        let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let _ = self.ui().find(move |c: Candidate<'_>| {
            if let Candidate::Text { content, .. } = c
                && let Ok(mut log) = log.lock()
            {
                log.push(content.to_owned());
            }
            None::<()>
        });
        let texts = seen.lock().map(|t| t.clone()).unwrap_or_default();
        #[allow(clippy::let_and_return, reason = "the guard must go before `seen`")]
        texts
    }

    /// `text` is shown in the chat pane (not only, say, as a preview in
    /// the list beside it).
    pub fn shows_in_chat(&self, text: &str) -> bool {
        let text = text.to_owned();
        self.ui()
            .find(move |c: Candidate<'_>| match c {
                Candidate::Text {
                    content, bounds, ..
                } if content == text && bounds.x > SIDEBAR => Some(bounds),
                _ => None,
            })
            .is_ok()
    }

    pub fn bounds_of_part(&self, part: &str) -> Option<iced::Rectangle> {
        let part = part.to_owned();
        self.ui()
            .find(move |c: Candidate<'_>| match c {
                Candidate::Text {
                    content, bounds, ..
                } if content.contains(part.as_str()) => Some(bounds),
                _ => None,
            })
            .ok()
    }

    /// Interacts with the current view and updates the app with what it
    /// produced.
    pub fn interact(&mut self, f: impl FnOnce(&mut Ui<'_>)) {
        let messages: Vec<Message> = {
            let mut ui = self.ui();
            f(&mut ui);
            ui.into_messages().collect()
        };
        for m in messages {
            self.update(m);
        }
    }

    pub fn click(&mut self, text: &str) {
        self.interact(|ui| {
            ui.click(text)
                .unwrap_or_else(|e| panic!("click {text:?}: {e}"));
        });
    }

    /// Clicks into `target` and types `text`.
    pub fn type_in(&mut self, target: iced::widget::Id, text: &str) {
        self.interact(|ui| {
            ui.click(selector::id(target.clone()))
                .unwrap_or_else(|e| panic!("{target:?}: {e}"));
            ui.typewrite(text);
        });
    }

    /// Clicks into `target`, types `text` and presses Enter.
    pub fn enter_in(&mut self, target: iced::widget::Id, text: &str) {
        self.interact(|ui| {
            ui.click(selector::id(target.clone()))
                .unwrap_or_else(|e| panic!("{target:?}: {e}"));
            ui.typewrite(text);
            ui.tap_key(Key::Named(Named::Enter));
        });
    }

    /// A key press as the window's global shortcuts see it.
    pub fn press(&mut self, key: Key, modifiers: keyboard::Modifiers) {
        let event = IcedEvent::Keyboard(keyboard::Event::KeyPressed {
            key: key.clone(),
            modified_key: key,
            physical_key: keyboard::key::Physical::Unidentified(
                keyboard::key::NativeCode::Unidentified,
            ),
            location: keyboard::Location::Standard,
            modifiers,
            repeat: false,
            text: None,
        });
        if let Some(m) = crate::gui::app::shortcut(
            event,
            iced::event::Status::Ignored,
            iced::window::Id::unique(),
        ) {
            self.update(m);
        }
    }

    /// The window gains or loses the desktop's focus.
    pub fn focus(&mut self, focused: bool) {
        let event = IcedEvent::Window(if focused {
            iced::window::Event::Focused
        } else {
            iced::window::Event::Unfocused
        });
        if let Some(m) = crate::gui::app::shortcut(
            event,
            iced::event::Status::Ignored,
            iced::window::Id::unique(),
        ) {
            self.update(m);
        }
    }
}
