//! The application: unlocking, then the dashboard. It only routes: each
//! screen keeps its own state and messages.

use iced::keyboard::{self, Key, key::Named};
use iced::{Element, Task, window};
use sotto::config::Config;
use sotto::handover::{Door, Request};
use sotto::paths::Paths;
use sotto::sandbox::SandboxStatus;
use sotto::uri::XmppUri;

use super::backend::Backend;
use super::platform::Platform;
use super::prefs::{self, Prefs, ThemeChoice};
use super::screen::dashboard::{self, Dashboard, Shortcut, Start};
use super::screen::unlock::{self, Unlock};

pub struct App {
    paths: Paths,
    platform: Platform,
    /// The preferences until the dashboard, which keeps them, exists.
    prefs: Prefs,
    system_dark: bool,
    /// Taken by the dashboard.
    config: Option<Config>,
    sandbox: Option<SandboxStatus>,
    screen: Screen,
    /// A link to open once the dashboard exists.
    link: Option<Result<XmppUri, String>>,
}

/// What reaches the window from outside it: the link it was started
/// with, and the door where later `sotto`s hand theirs.
#[derive(Default)]
pub struct Inbox {
    pub link: Option<String>,
    pub door: Option<Door>,
}

enum Screen {
    Unlock(Unlock),
    Dashboard(Box<Dashboard>),
}

#[derive(Debug, Clone)]
pub enum Message {
    WindowOpened,
    SystemDark(bool),
    Unlock(unlock::Message),
    Dashboard(dashboard::Message),
    /// A later `sotto` handed over (a link, or only "show yourself").
    HandedOver(Request),
}

impl App {
    /// The app as it starts, and its first task (asking the system's
    /// theme).
    pub fn boot(
        paths: Paths,
        config: Config,
        platform: Platform,
        inbox: Inbox,
    ) -> (Self, Task<Message>) {
        let app = Self {
            prefs: Prefs::load(&prefs::file(&paths)),
            paths,
            platform,
            system_dark: false,
            config: Some(config),
            sandbox: None,
            screen: Screen::Unlock(Unlock::new()),
            link: inbox.link.as_deref().map(read_link),
        };
        let theme =
            iced::system::theme().map(|mode| Message::SystemDark(mode == iced::theme::Mode::Dark));
        let door = match inbox.door {
            Some(door) => Task::run(door.requests(), Message::HandedOver),
            None => Task::none(),
        };
        (app, Task::batch([theme, door]))
    }

    pub fn title(&self) -> String {
        match &self.screen {
            Screen::Dashboard(d) => d.title(),
            Screen::Unlock(_) => "Sotto".into(),
        }
    }

    pub fn theme(&self) -> iced::Theme {
        let prefs = match &self.screen {
            Screen::Dashboard(d) => d.prefs(),
            Screen::Unlock(_) => &self.prefs,
        };
        let dark = match prefs.theme {
            ThemeChoice::System => self.system_dark,
            ThemeChoice::Light => false,
            ThemeChoice::Dark => true,
        };
        if dark {
            iced::Theme::Dark
        } else {
            iced::Theme::Light
        }
    }

    pub fn update(&mut self, message: Message) -> Task<Message> {
        match (message, &mut self.screen) {
            (Message::WindowOpened, Screen::Unlock(unlock)) => {
                if self.sandbox.is_some() {
                    return Task::none();
                }
                tracing::info!(ms = super::since_start_ms(), "window open");
                // The window and its libraries are loaded; from here on the
                // process (and every thread it starts) reaches only its own
                // folders. Threads started earlier by the toolkit keep their
                // access; none of them touches the network or the store.
                let status = (self.platform.confine)(&self.paths);
                tracing::info!(sandbox = %status, "sandbox");
                self.sandbox = Some(status);
                unlock.start(&self.paths).map(Message::Unlock)
            }
            (Message::SystemDark(dark), _) => {
                self.system_dark = dark;
                Task::none()
            }
            (Message::Unlock(m), Screen::Unlock(unlock)) => {
                let (task, event) = unlock.update(m, &self.paths);
                let task = task.map(Message::Unlock);
                match event {
                    Some(unlock::Event::Unlocked(database, key)) => {
                        Task::batch([task, self.unlocked(database, key)])
                    }
                    None => task,
                }
            }
            (Message::Dashboard(m), Screen::Dashboard(d)) => d.update(m).map(Message::Dashboard),
            (Message::HandedOver(request), screen) => {
                tracing::info!(link = request.link.is_some(), "a later Sotto handed over");
                let raise = window::latest().and_then(|id| {
                    Task::batch([window::minimize(id, false), window::gain_focus(id)])
                });
                let Some(link) = request.link.as_deref().map(read_link) else {
                    return raise;
                };
                match screen {
                    Screen::Dashboard(d) => {
                        Task::batch([raise, d.open_link(link).map(Message::Dashboard)])
                    }
                    // Opened once unlocked; a newer link replaces it.
                    Screen::Unlock(_) => {
                        self.link = Some(link);
                        raise
                    }
                }
            }
            _ => Task::none(),
        }
    }

    /// Store open: start the engine on it, then the dashboard.
    fn unlocked(
        &mut self,
        database: sotto::store::Database,
        key: sotto::store::KeyOrigin,
    ) -> Task<Message> {
        let backend = match Backend::start(database, self.platform.engine.clone()) {
            Ok(backend) => backend,
            Err(e) => {
                if let Screen::Unlock(unlock) = &mut self.screen {
                    unlock.broken(format!("Sotto could not start: {e}"));
                }
                return Task::none();
            }
        };
        let (mut dashboard, task) = Dashboard::start(Start {
            paths: self.paths.clone(),
            platform: self.platform.clone(),
            backend,
            key,
            sandbox: self.sandbox.clone(),
            config: self.config.take().unwrap_or_default(),
            prefs: self.prefs.clone(),
        });
        let link = match self.link.take() {
            Some(link) => dashboard.open_link(link),
            None => Task::none(),
        };
        self.screen = Screen::Dashboard(Box::new(dashboard));
        Task::batch([task, link]).map(Message::Dashboard)
    }

    pub fn view(&self) -> Element<'_, Message> {
        match &self.screen {
            Screen::Unlock(unlock) => unlock.view().map(Message::Unlock),
            Screen::Dashboard(d) => d.view().map(Message::Dashboard),
        }
    }

    #[cfg(test)]
    pub fn dashboard(&self) -> Option<&Dashboard> {
        match &self.screen {
            Screen::Dashboard(d) => Some(d),
            Screen::Unlock(_) => None,
        }
    }
}

/// A link is read where it is used, whoever checked it before: the
/// socket is open to any program of the user's.
fn read_link(link: &str) -> Result<XmppUri, String> {
    XmppUri::parse(link).map_err(|e| e.to_string())
}

/// Global shortcuts (Ctrl/Cmd+K, +N, +F, and Esc, whatever has focus) and
/// the window's focus.
pub fn shortcut(
    event: iced::Event,
    _status: iced::event::Status,
    _window: window::Id,
) -> Option<Message> {
    let m = match event {
        iced::Event::Window(window::Event::Focused) => dashboard::Message::Focus(true),
        iced::Event::Window(window::Event::Unfocused) => dashboard::Message::Focus(false),
        iced::Event::Keyboard(keyboard::Event::KeyPressed { key, modifiers, .. }) => {
            dashboard::Message::Shortcut(match key.as_ref() {
                Key::Named(Named::Escape) => Shortcut::Escape,
                Key::Character(c) if modifiers.command() => match c {
                    "k" | "K" => Shortcut::Switcher,
                    "n" | "N" => Shortcut::NewChat,
                    "f" | "F" => Shortcut::Search,
                    _ => return None,
                },
                _ => return None,
            })
        }
        _ => return None,
    };
    Some(Message::Dashboard(m))
}
