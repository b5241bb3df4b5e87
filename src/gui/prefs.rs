//! The window's own preferences (theme, notifications), kept beside the
//! accounts' settings in `gui.toml`. Nothing secret lives here.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sotto::paths::Paths;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThemeChoice {
    #[default]
    System,
    Light,
    Dark,
}

impl ThemeChoice {
    pub const ALL: [Self; 3] = [Self::System, Self::Light, Self::Dark];
}

impl std::fmt::Display for ThemeChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::System => "Same as the system",
            Self::Light => "Light",
            Self::Dark => "Dark",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    /// Desktop notifications for messages that arrive while the window is
    /// not focused.
    pub notifications: bool,
    /// Notifications say who wrote, not what.
    pub hide_content: bool,
    /// Notifications play the desktop's message sound.
    pub notification_sound: bool,
    /// The conversation list shows the last message under each name.
    pub previews: bool,
    pub theme: ThemeChoice,
    /// No notifications at all, whatever the rest says (the tray's and
    /// Settings' switch).
    pub do_not_disturb: bool,
    /// Closing the window keeps Sotto connected, in the tray (where there
    /// is one).
    pub keep_running: bool,
    /// Sotto starts when the person logs in (XDG autostart).
    pub start_at_login: bool,
    /// The first close said what happens and how to quit.
    pub told_about_tray: bool,
    /// Away after this many minutes without input; 0: never.
    pub away_after_minutes: u32,
    /// The status message every account shows with its presence.
    pub status_message: String,
}

impl Default for Prefs {
    fn default() -> Self {
        Self {
            notifications: true,
            hide_content: false,
            notification_sound: true,
            previews: true,
            theme: ThemeChoice::System,
            do_not_disturb: false,
            keep_running: true,
            start_at_login: false,
            told_about_tray: false,
            away_after_minutes: 10,
            status_message: String::new(),
        }
    }
}

pub fn file(paths: &Paths) -> PathBuf {
    paths.config_dir.join("gui.toml")
}

impl Prefs {
    /// Reads the file; a missing or unreadable one gives the defaults (and
    /// a log line), since nothing here is worth refusing to start over.
    pub fn load(path: &Path) -> Self {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), error = %e, "unreadable preferences; using defaults");
                Self::default()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::default(),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "could not read preferences");
                Self::default()
            }
        }
    }

    pub fn save(&self, path: &Path) -> Result<(), String> {
        let text = toml::to_string(self).map_err(|e| e.to_string())?;
        let tmp = path.with_extension("toml.tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| format!("could not save {}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_survives_garbage() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("gui.toml");
        assert_eq!(Prefs::load(&path), Prefs::default());
        let prefs = Prefs {
            hide_content: true,
            theme: ThemeChoice::Dark,
            ..Prefs::default()
        };
        prefs.save(&path).expect("save");
        assert_eq!(Prefs::load(&path), prefs);
        std::fs::write(&path, "theme = 42\n[[[").expect("write");
        assert_eq!(Prefs::load(&path), Prefs::default());
    }
}
