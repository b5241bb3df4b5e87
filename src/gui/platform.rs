//! What the window needs from the computer it runs on. The real desktop
//! confines the process and shows notifications; a test substitutes its
//! own (architecture.md: platform services behind a small seam), since a
//! sandbox would confine the whole test process and notifications would
//! pop up on a developer's screen.

use std::sync::Arc;

use sotto::engine::EngineOptions;
use sotto::knock::KnockPolicy;
use sotto::paths::Paths;
use sotto::sandbox::SandboxStatus;

use super::notify::{Desktop, System};

#[derive(Clone)]
pub struct Platform {
    /// Whether to show a tray icon (where the desktop has a tray host).
    pub tray: bool,
    /// Writes the start-at-login entry (started before the confinement).
    #[cfg(all(unix, not(target_os = "macos")))]
    pub autostart: Option<super::autostart::Autostart>,
    /// How often to ask how long the person has been idle; `None`: never
    /// (presence is not set to away by itself).
    pub idle_poll: Option<std::time::Duration>,
    /// Confines the process once the window is up.
    pub confine: fn(&Paths) -> SandboxStatus,
    /// Where notifications appear (made once per dashboard).
    pub notifications: Arc<dyn Fn() -> Box<dyn Desktop> + Send + Sync>,
    /// How the engine is started.
    pub engine: EngineOptions,
}

impl Platform {
    /// The real one.
    pub fn desktop() -> Self {
        Self {
            tray: true,
            #[cfg(all(unix, not(target_os = "macos")))]
            autostart: None,
            #[cfg(all(unix, not(target_os = "macos")))]
            idle_poll: Some(super::idle::POLL),
            #[cfg(not(all(unix, not(target_os = "macos"))))]
            idle_poll: None,
            confine: sotto::sandbox::confine,
            notifications: Arc::new(|| Box::new(System::default())),
            engine: EngineOptions {
                knock: KnockPolicy {
                    // The development switch for a relay on a tester's
                    // own machine.
                    allow_insecure: std::env::var("SOTTO_KNOCK_INSECURE").is_ok_and(|v| v == "1"),
                    ..KnockPolicy::default()
                },
                // Tor beside the database, in Sotto's data folder.
                tor: None,
            },
        }
    }
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform").finish_non_exhaustive()
    }
}
