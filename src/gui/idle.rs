//! How long the person has not touched the computer, for "away after N
//! minutes". Asked, in this order, of GNOME's idle monitor (Mutter, also
//! on Wayland), the freedesktop ScreenSaver service (KDE Plasma, also on
//! Wayland) and the X server's MIT-SCREEN-SAVER extension (any X11
//! desktop). None of them: one log line, and presence stays as set.
//!
//! It is asked every [`POLL`] in a task of its own, and the window hears
//! of it only when the person goes away or comes back: an idle Sotto is
//! not woken (drawing nothing, computing nothing) by the watch.

use std::time::Duration;

use futures::{Stream, StreamExt as _};

/// How often the idle time is asked; being marked away up to this late
/// is unnoticeable, and the question costs microseconds.
pub const POLL: Duration = Duration::from_secs(15);

/// The person went away, or came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Away,
    Back,
}

/// A way to ask the idle time.
enum Source {
    Dbus {
        proxy: zbus::Proxy<'static>,
        method: &'static str,
    },
    X11(Box<x11rb::rust_connection::RustConnection>, u32),
}

impl Source {
    /// The first source that answers.
    async fn find() -> Option<(Self, &'static str)> {
        if let Ok(connection) = zbus::Connection::session().await {
            for (name, service, path, interface, method) in [
                (
                    "GNOME's idle monitor",
                    "org.gnome.Mutter.IdleMonitor",
                    "/org/gnome/Mutter/IdleMonitor/Core",
                    "org.gnome.Mutter.IdleMonitor",
                    "GetIdletime",
                ),
                (
                    "the ScreenSaver service",
                    "org.freedesktop.ScreenSaver",
                    "/org/freedesktop/ScreenSaver",
                    "org.freedesktop.ScreenSaver",
                    "GetSessionIdleTime",
                ),
            ] {
                let Ok(proxy) = zbus::proxy::Builder::new(&connection)
                    .destination(service)
                    .and_then(|b| b.path(path))
                    .and_then(|b| b.interface(interface))
                    .map(|b| b.cache_properties(zbus::proxy::CacheProperties::No))
                else {
                    continue;
                };
                let Ok(proxy) = proxy.build().await else {
                    continue;
                };
                let source = Self::Dbus { proxy, method };
                if source.idle().await.is_some() {
                    return Some((source, name));
                }
            }
        }
        let x11 = tokio::task::spawn_blocking(|| {
            use x11rb::connection::Connection as _;
            let (conn, screen) = x11rb::connect(None).ok()?;
            let root = conn.setup().roots.get(screen)?.root;
            let source = Self::X11(Box::new(conn), root);
            source.x11_idle()?;
            Some(source)
        })
        .await
        .ok()
        .flatten();
        x11.map(|s| (s, "the X server"))
    }

    async fn idle(&self) -> Option<Duration> {
        match self {
            // GetIdletime answers a u64, GetSessionIdleTime a u32: both ms.
            Self::Dbus { proxy, method } => {
                let reply = proxy.call_method(*method, &()).await.ok()?;
                let body = reply.body();
                let ms = body
                    .deserialize::<u64>()
                    .ok()
                    .or_else(|| body.deserialize::<u32>().ok().map(u64::from))?;
                Some(Duration::from_millis(ms))
            }
            Self::X11(..) => self.x11_idle(),
        }
    }

    fn x11_idle(&self) -> Option<Duration> {
        use x11rb::protocol::screensaver::ConnectionExt as _;
        let Self::X11(conn, root) = self else {
            return None;
        };
        let reply = conn.screensaver_query_info(*root).ok()?.reply().ok()?;
        Some(Duration::from_millis(reply.ms_since_user_input.into()))
    }
}

/// Says when the person has been idle for `after`, and when they are back,
/// asking every `poll`. Ends (after a log line) where no source answers.
pub fn watch(after: Duration, poll: Duration) -> impl Stream<Item = Change> + Send + 'static {
    futures::stream::once(Source::find())
        .filter_map(move |found| async move {
            match found {
                Some((source, name)) => {
                    tracing::info!(
                        source = name,
                        "idle time known: away after {} min",
                        after.as_secs() / 60
                    );
                    Some(source)
                }
                None => {
                    tracing::info!(
                        "no idle time on this desktop: presence is not set to away by itself"
                    );
                    None
                }
            }
        })
        .flat_map(move |source| {
            futures::stream::unfold((source, false), move |(source, away)| async move {
                loop {
                    tokio::time::sleep(poll).await;
                    let Some(idle) = source.idle().await else {
                        // A source that stops answering says nothing.
                        continue;
                    };
                    let now_away = idle >= after;
                    if now_away != away {
                        let change = if now_away { Change::Away } else { Change::Back };
                        return Some((change, (source, now_away)));
                    }
                }
            })
        })
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::gui::tests::session::Xvfb;

    /// The X11 source on a real X server: the idle time grows, and input
    /// (xdotool) resets it.
    #[test]
    fn the_x_server_says_how_long_nobody_touched_it() {
        let xvfb = Xvfb::start();
        let display = xvfb.display.clone();
        use x11rb::connection::Connection as _;
        let (conn, screen) = x11rb::connect(Some(&display)).expect("connect");
        let root = conn.setup().roots[screen].root;
        let source = Source::X11(Box::new(conn), root);
        std::thread::sleep(Duration::from_millis(600));
        let before = source.x11_idle().expect("idle time");
        assert!(before >= Duration::from_millis(500), "{before:?}");
        let moved = Command::new("xdotool")
            .args(["mousemove", "10", "10"])
            .env("DISPLAY", &display)
            .status()
            .expect("xdotool");
        assert!(moved.success());
        let after = source.x11_idle().expect("idle time");
        assert!(after < before, "input resets it: {before:?} then {after:?}");
    }
}
