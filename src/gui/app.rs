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
    /// The tray icon, while a tray host shows it.
    tray: Option<Tray>,
    /// The dock's unread count, and the count it shows.
    #[cfg(all(unix, not(target_os = "macos")))]
    launcher: Option<(super::launcher::Launcher, Option<i64>)>,
    /// Closed to the tray.
    hidden: bool,
    /// The first close asks what to do (the window stays until answered).
    asking_close: bool,
}

#[cfg(all(unix, not(target_os = "macos")))]
struct Tray {
    handle: super::tray::Handle,
    /// What it shows: unread count and Do not disturb.
    shows: Option<(i64, bool)>,
}
#[cfg(not(all(unix, not(target_os = "macos"))))]
struct Tray;

/// What reaches the window from outside it: the link it was started
/// with, and the door where later `sotto`s hand theirs.
#[derive(Default)]
pub struct Inbox {
    pub link: Option<String>,
    pub door: Option<Door>,
    /// Started with the window hidden (`--background`, as at login).
    pub background: bool,
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
    #[cfg(all(unix, not(target_os = "macos")))]
    Tray(super::tray::Event),
    #[cfg(all(unix, not(target_os = "macos")))]
    Launcher(Option<super::launcher::Launcher>),
    CloseRequested,
    /// The first close's answer: keep running in the tray.
    KeepRunning,
    /// The first close's other answer, Ctrl+Q, and the tray's Quit.
    Quit,
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
            tray: None,
            #[cfg(all(unix, not(target_os = "macos")))]
            launcher: None,
            hidden: inbox.background,
            asking_close: false,
        };
        let theme =
            iced::system::theme().map(|mode| Message::SystemDark(mode == iced::theme::Mode::Dark));
        let door = match inbox.door {
            Some(door) => Task::run(door.requests(), Message::HandedOver),
            None => Task::none(),
        };
        #[cfg(all(unix, not(target_os = "macos")))]
        let tray = if app.platform.tray {
            Task::batch([
                Task::run(super::tray::start(app.prefs.do_not_disturb), Message::Tray),
                Task::perform(super::launcher::Launcher::start(), Message::Launcher),
            ])
        } else {
            Task::none()
        };
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        let tray = Task::none();
        (app, Task::batch([theme, door, tray]))
    }

    pub fn title(&self) -> String {
        match &self.screen {
            Screen::Dashboard(d) => d.title(),
            Screen::Unlock(_) => "Sotto".into(),
        }
    }

    pub fn theme(&self) -> iced::Theme {
        let dark = match self.prefs().theme {
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
        let task = self.route(message);
        Task::batch([task, self.sync_desktop()])
    }

    fn prefs(&self) -> &Prefs {
        match &self.screen {
            Screen::Dashboard(d) => d.prefs(),
            Screen::Unlock(_) => &self.prefs,
        }
    }

    /// Changes the preferences wherever they live now (and saves them).
    fn change_prefs(&mut self, change: impl FnOnce(&mut Prefs)) -> Task<Message> {
        match &mut self.screen {
            Screen::Dashboard(d) => d.change_prefs(change).map(Message::Dashboard),
            Screen::Unlock(_) => {
                change(&mut self.prefs);
                // Written off the GUI thread, as the dashboard writes them.
                let (saved, path) = (self.prefs.clone(), prefs::file(&self.paths));
                Task::future(async move {
                    let written = tokio::task::spawn_blocking(move || saved.save(&path)).await;
                    if let Ok(Err(e)) = written {
                        tracing::warn!(error = %e, "preferences not saved");
                    }
                })
                .discard()
            }
        }
    }

    /// The window goes; Sotto stays, in the tray.
    fn hide(&mut self) -> Task<Message> {
        self.hidden = true;
        let unfocus = match &mut self.screen {
            Screen::Dashboard(d) => d
                .update(dashboard::Message::Focus(false))
                .map(Message::Dashboard),
            Screen::Unlock(_) => Task::none(),
        };
        let hide = window::latest().and_then(|id| window::set_mode(id, window::Mode::Hidden));
        Task::batch([unfocus, hide])
    }

    fn show(&mut self) -> Task<Message> {
        self.hidden = false;
        super::raise()
    }

    fn route(&mut self, message: Message) -> Task<Message> {
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
                let needs_the_person = unlock.needs_the_person();
                let mut task = task.map(Message::Unlock);
                // Started hidden, but the passphrase is wanted.
                if self.hidden && needs_the_person {
                    task = Task::batch([task, self.show()]);
                }
                match event {
                    Some(unlock::Event::Unlocked(database, key)) => {
                        Task::batch([task, self.unlocked(database, key)])
                    }
                    None => task,
                }
            }
            (Message::Dashboard(m), Screen::Dashboard(d)) => d.update(m).map(Message::Dashboard),
            (Message::HandedOver(request), _) => {
                tracing::info!(link = request.link.is_some(), "a later Sotto handed over");
                let raise = self.show();
                let Some(link) = request.link.as_deref().map(read_link) else {
                    return raise;
                };
                match &mut self.screen {
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
            #[cfg(all(unix, not(target_os = "macos")))]
            (Message::Tray(event), _) => self.tray(event),
            #[cfg(all(unix, not(target_os = "macos")))]
            (Message::Launcher(launcher), _) => {
                self.launcher = launcher.map(|l| (l, None));
                Task::none()
            }
            (Message::CloseRequested, _) => {
                if self.tray.is_none() || !self.prefs().keep_running {
                    return iced::exit();
                }
                if self.prefs().told_about_tray {
                    return self.hide();
                }
                self.asking_close = true;
                Task::none()
            }
            (Message::KeepRunning, _) => {
                self.asking_close = false;
                let told = self.change_prefs(|p| p.told_about_tray = true);
                Task::batch([told, self.hide()])
            }
            (Message::Quit, _) => iced::exit(),
            _ => Task::none(),
        }
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    fn tray(&mut self, event: super::tray::Event) -> Task<Message> {
        use super::tray::Event;
        match event {
            Event::Shown(handle) => {
                self.tray = Some(Tray {
                    handle,
                    shows: None,
                });
                Task::none()
            }
            Event::Gone => {
                // Closed to a tray that is no more: the window comes back.
                self.tray = None;
                if self.hidden {
                    self.show()
                } else {
                    Task::none()
                }
            }
            // Started hidden, with nowhere to come back from.
            Event::Unavailable if self.hidden => {
                tracing::info!("no tray: the window shows after all");
                self.show()
            }
            Event::Unavailable => Task::none(),
            Event::Open => self.show(),
            Event::DoNotDisturb(on) => self.change_prefs(|p| p.do_not_disturb = on),
            Event::Quit => iced::exit(),
        }
    }

    /// The tray and the dock show the unread count (and the tray Do not
    /// disturb) as they are now.
    #[cfg(all(unix, not(target_os = "macos")))]
    fn sync_desktop(&mut self) -> Task<Message> {
        // Called after every update: nothing to count without a tray or dock.
        if self.tray.is_none() && self.launcher.is_none() {
            return Task::none();
        }
        let unread = match &self.screen {
            Screen::Dashboard(d) => d.unread_total(),
            Screen::Unlock(_) => 0,
        };
        let now = (unread, self.prefs().do_not_disturb);
        let mut tasks = Vec::new();
        if let Some(tray) = &mut self.tray
            && tray.shows != Some(now)
        {
            tray.shows = Some(now);
            tasks.push(Task::future(tray.handle.clone().set(now.0, now.1)).discard());
        }
        if let Some((launcher, shows)) = &mut self.launcher
            && *shows != Some(unread)
        {
            *shows = Some(unread);
            tasks.push(Task::future(launcher.clone().set(unread)).discard());
        }
        Task::batch(tasks)
    }

    #[cfg(not(all(unix, not(target_os = "macos"))))]
    fn sync_desktop(&mut self) -> Task<Message> {
        Task::none()
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
        let screen = match &self.screen {
            Screen::Unlock(unlock) => unlock.view().map(Message::Unlock),
            Screen::Dashboard(d) => d.view().map(Message::Dashboard),
        };
        if self.asking_close {
            super::widget::closing::over(screen)
        } else {
            screen
        }
    }

    #[cfg(test)]
    pub fn hidden(&self) -> bool {
        self.hidden
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
    if let iced::Event::Keyboard(keyboard::Event::KeyPressed { key, modifiers, .. }) = &event
        && modifiers.command()
        && matches!(key.as_ref(), Key::Character("q" | "Q"))
    {
        return Some(Message::Quit);
    }
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
