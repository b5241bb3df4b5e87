//! The desktop window (iced). It talks to the core only through the
//! engine's commands and events and the store's read-only handle.
//!
//! Each part keeps its own state, `Message`, `update` and `view`, and
//! reports an event to its parent: the app routes between unlocking and
//! the dashboard, which routes between the sidebar, the chat, the
//! overlays and the pages.

mod app;
#[cfg(all(unix, not(target_os = "macos")))]
mod autostart;
mod backend;
mod chat;
mod context;
mod conversations;
mod icon;
#[cfg(all(unix, not(target_os = "macos")))]
mod idle;
#[cfg(all(unix, not(target_os = "macos")))]
mod launcher;
mod notify;
mod overlay;
mod people;
mod platform;
mod prefs;
mod rooms;
mod screen;
mod sidebar;
#[cfg(test)]
mod tests;
#[cfg(all(unix, not(target_os = "macos")))]
mod tray;
mod widget;

use std::path::Path;

use anyhow::Context as _;
use iced::{Subscription, window};
use sotto::config::Config;
use sotto::handover::{self, Claim, HandoverError, Request};
use sotto::paths::Paths;

use app::{App, Inbox, Message};
use platform::Platform;

/// When the GUI started, for the start-up timings it logs.
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

pub fn since_start_ms() -> u128 {
    STARTED.get().map_or(0, |t| t.elapsed().as_millis())
}

pub fn run(home: Option<&Path>, link: Option<String>, background: bool) -> anyhow::Result<()> {
    STARTED.get_or_init(std::time::Instant::now);
    let paths = Paths::resolve(home)?;
    paths.create()?;
    let door = match handover::claim(&paths) {
        Ok(Claim::First(door)) => Some(door),
        Ok(Claim::Running(running)) => {
            // A second start at login, or a start from the menu: either
            // way the running one is there already.
            if background && link.is_none() {
                tracing::info!("Sotto is already running");
                return Ok(());
            }
            running
                .hand_over(&Request { link })
                .context("Sotto is already running, but could not be handed over to")?;
            tracing::info!("handed over to the Sotto that runs");
            return Ok(());
        }
        Err(e @ HandoverError::NoAnswer) => {
            return Err(anyhow::Error::new(e).context("Sotto is already running"));
        }
        // Links from other programs will not reach this window; the rest
        // of Sotto is unchanged.
        Err(e) => {
            tracing::warn!(error = %e, "no hand-over from later Sottos");
            None
        }
    };
    // Without a tray there would be no way to the window.
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    let background = false;
    let inbox = std::sync::Mutex::new(Some(Inbox {
        link,
        door,
        background,
    }));
    // Before anything confines the process (see autostart.rs).
    #[cfg(all(unix, not(target_os = "macos")))]
    let autostart = autostart::Autostart::spawn(home);
    let config = Config::load(&paths.config_file())?;
    iced::application(
        move || {
            let inbox = inbox
                .lock()
                .ok()
                .and_then(|mut i| i.take())
                .unwrap_or_default();
            #[allow(unused_mut)]
            let mut platform = Platform::desktop();
            #[cfg(all(unix, not(target_os = "macos")))]
            {
                platform.autostart = autostart.clone();
            }
            App::boot(paths.clone(), config.clone(), platform, inbox)
        },
        App::update,
        App::view,
    )
    .title(App::title)
    .theme(App::theme)
    .subscription(subscription)
    .window(window::Settings {
        visible: !background,
        ..window_settings()
    })
    .run()?;
    Ok(())
}

/// The window, known to the desktop by the same id as its .desktop file
/// (so docks and Wayland compositors show the right name and icon).
fn window_settings() -> window::Settings {
    window::Settings {
        size: iced::Size::new(1100.0, 720.0),
        min_size: Some(iced::Size::new(720.0, 480.0)),
        // A close may only hide the window (App, Message::CloseRequested).
        exit_on_close_request: false,
        icon: icon::window_icon(),
        #[cfg(target_os = "linux")]
        platform_specific: window::settings::PlatformSpecific {
            application_id: notify::APP_ID.to_owned(),
            ..Default::default()
        },
        ..window::Settings::default()
    }
}

/// The window in front, from wherever it is: closed to the tray (hidden),
/// minimized, or behind other windows.
pub fn raise<T: Send + 'static>() -> iced::Task<T> {
    window::latest().and_then(|id| {
        window::mode(id).then(move |mode| {
            let shown = match mode {
                window::Mode::Hidden => window::set_mode(id, window::Mode::Windowed),
                _ => iced::Task::none(),
            };
            iced::Task::batch([shown, window::minimize(id, false), window::gain_focus(id)])
        })
    })
}

/// Only event-driven sources: nothing here ticks while the app is idle.
fn subscription(_app: &App) -> Subscription<Message> {
    Subscription::batch([
        window::open_events().map(|_| Message::WindowOpened),
        window::close_requests().map(|_| Message::CloseRequested),
        iced::event::listen_with(app::shortcut),
        iced::system::theme_changes()
            .map(|mode| Message::SystemDark(mode == iced::theme::Mode::Dark)),
    ])
}
