//! Desktop notifications for messages that arrive while the window is not
//! focused. The platform call blocks (D-Bus, the notification center), so
//! it always runs on a blocking thread; a missing notification daemon is a
//! log line, never a crash or a hang of the window.

use std::sync::atomic::{AtomicBool, Ordering};

/// The bundle id; notify-rust shows the app under it on macOS.
pub const APP_ID: &str = "im.sotto.Sotto";

/// Said once per run: a missing daemon would otherwise log every message.
static WARNED: AtomicBool = AtomicBool::new(false);

/// What a notification says.
#[derive(Debug, Clone)]
pub struct Notice {
    pub title: String,
    /// `None` when the user chose to hide message content.
    pub body: Option<String>,
}

/// Shows the notice and waits until it is clicked or closed. Returns true
/// when the user clicked it (open the chat), where the platform tells.
pub fn show_and_wait(notice: &Notice) -> bool {
    #[cfg(target_os = "macos")]
    {
        // notify-rust sends macOS notifications under this bundle id.
        static APP: std::sync::Once = std::sync::Once::new();
        APP.call_once(|| {
            if let Err(e) = notify_rust::set_application(APP_ID) {
                tracing::debug!(error = %e, "notification app id not set");
            }
        });
    }
    let mut n = notify_rust::Notification::new();
    n.appname("Sotto").summary(&notice.title);
    match &notice.body {
        Some(body) => n.body(body),
        None => n.body("New message"),
    };
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        n.action("default", "Open")
            .hint(notify_rust::Hint::Category("im.received".into()))
            .hint(notify_rust::Hint::DesktopEntry(APP_ID.into()));
    }
    match n.show() {
        Ok(handle) => wait(handle),
        Err(e) => {
            if !WARNED.swap(true, Ordering::Relaxed) {
                tracing::warn!(error = %e, "desktop notifications are unavailable");
            }
            false
        }
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
fn wait(handle: notify_rust::NotificationHandle) -> bool {
    let mut clicked = false;
    handle.wait_for_action(|action| clicked = action == "default");
    clicked
}

/// The macOS notification center reports clicks only to a running main
/// run loop, which iced owns; the notification still shows.
#[cfg(not(all(unix, not(target_os = "macos"))))]
fn wait(_handle: notify_rust::NotificationHandle) -> bool {
    false
}
