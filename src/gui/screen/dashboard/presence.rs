//! What every account shows of the person: available, or away once they
//! have not touched the computer for the minutes Settings says (and back
//! when they return), with the status message they wrote.

use iced::Task;
use sotto::model::Availability;

use super::{Dashboard, Message};

/// Watching the idle time, and whether the person is away now.
#[derive(Debug, Default)]
pub struct Presence {
    pub away: bool,
    /// Stops the running watch (when the minutes change).
    watch: Option<iced::task::Handle>,
}

impl Dashboard {
    /// (Re)starts the idle watch for the minutes in the preferences.
    pub(super) fn watch_idle(&mut self) -> Task<Message> {
        if let Some(watch) = self.presence.watch.take() {
            watch.abort();
        }
        let minutes = self.prefs.away_after_minutes;
        #[cfg(all(unix, not(target_os = "macos")))]
        if let Some(poll) = self.idle_poll
            && minutes > 0
        {
            let after = std::time::Duration::from_secs(u64::from(minutes) * 60);
            let (task, handle) =
                Task::run(crate::gui::idle::watch(after, poll), Message::Idle).abortable();
            self.presence.watch = Some(handle.abort_on_drop());
            return task;
        }
        // Nothing watches: whoever was away by it is back.
        let _ = minutes;
        if self.presence.away {
            self.presence.away = false;
            self.announce();
        }
        Task::none()
    }

    /// The person went away or came back.
    pub(super) fn idle(&mut self, away: bool) {
        if self.presence.away != away {
            self.presence.away = away;
            tracing::info!(away, "presence follows the person");
            self.announce();
        }
    }

    /// Every account shows the presence as it is now (an account that is
    /// offline shows it when it connects).
    pub(super) fn announce(&self) {
        let availability = if self.presence.away {
            Availability::Away
        } else {
            Availability::Available
        };
        let status = Some(self.prefs.status_message.trim().to_owned()).filter(|s| !s.is_empty());
        self.backend
            .set_presence(availability, status, self.config.accounts.iter());
    }
}
