//! Before anything else: the window is up, the process confines itself,
//! and the encrypted store opens through the keychain, or with a
//! passphrase typed here.

use iced::widget::{button, center, column, text, text_input};
use iced::{Element, Task};
use secrecy::SecretString;
use sotto::paths::Paths;
use sotto::store::{Database, KeyOrigin};

use crate::gui::backend::{self, UnlockFailure};
use crate::gui::widget::style;

/// The passphrase box.
pub const PASSPHRASE: &str = "passphrase";

#[derive(Debug)]
pub struct Unlock {
    phase: Phase,
}

#[derive(Debug)]
enum Phase {
    /// Waiting for the window.
    Starting,
    /// Trying the keychain.
    Opening,
    /// The database needs its passphrase.
    Locked {
        passphrase: String,
        creating: bool,
        error: Option<String>,
        busy: bool,
    },
    /// The database could not be opened at all.
    Broken(String),
}

#[derive(Debug, Clone)]
pub enum Message {
    Passphrase(String),
    Submit,
    Unlocked(Result<(Database, KeyOrigin), UnlockFailure>),
}

pub enum Event {
    Unlocked(Database, KeyOrigin),
}

impl Unlock {
    pub fn new() -> Self {
        Self {
            phase: Phase::Starting,
        }
    }

    /// Opens the store through the keychain (or `SOTTO_PASSPHRASE`),
    /// once.
    pub fn start(&mut self, paths: &Paths) -> Task<Message> {
        if !matches!(self.phase, Phase::Starting) {
            return Task::none();
        }
        self.phase = Phase::Opening;
        unlock(paths, None)
    }

    /// The person must act: type the passphrase, or read why Sotto cannot
    /// open its database.
    pub fn needs_the_person(&self) -> bool {
        matches!(self.phase, Phase::Locked { .. } | Phase::Broken(_))
    }

    /// The store opened but Sotto could not start on it.
    pub fn broken(&mut self, why: String) {
        self.phase = Phase::Broken(why);
    }

    pub fn update(&mut self, message: Message, paths: &Paths) -> (Task<Message>, Option<Event>) {
        match message {
            Message::Passphrase(p) => {
                if let Phase::Locked { passphrase, .. } = &mut self.phase {
                    *passphrase = p;
                }
            }
            Message::Submit => {
                if let Phase::Locked {
                    passphrase, busy, ..
                } = &mut self.phase
                    && !passphrase.is_empty()
                    && !*busy
                {
                    *busy = true;
                    let secret = SecretString::from(std::mem::take(passphrase));
                    return (unlock(paths, Some(secret)), None);
                }
            }
            Message::Unlocked(Ok((database, origin))) => {
                return (Task::none(), Some(Event::Unlocked(database, origin)));
            }
            Message::Unlocked(Err(UnlockFailure::NeedsPassphrase { creating })) => {
                self.phase = Phase::Locked {
                    passphrase: String::new(),
                    creating,
                    error: None,
                    busy: false,
                };
            }
            Message::Unlocked(Err(UnlockFailure::Other(e))) => match &mut self.phase {
                Phase::Locked { error, busy, .. } => {
                    *error = Some(e);
                    *busy = false;
                }
                phase => *phase = Phase::Broken(e),
            },
        }
        (Task::none(), None)
    }

    pub fn view(&self) -> Element<'_, Message> {
        let body: Element<'_, Message> = match &self.phase {
            Phase::Starting | Phase::Opening => text("Opening Sotto…").size(18).into(),
            Phase::Broken(why) => column![
                text("Sotto could not open its database").size(22),
                text(why.as_str()).style(style::danger),
                text(
                    "Nothing was changed. If the system keychain is locked, unlock it and \
                     start Sotto again."
                )
                .style(style::muted),
            ]
            .spacing(10)
            .max_width(520)
            .into(),
            Phase::Locked {
                passphrase,
                creating,
                error,
                busy,
            } => {
                let (title, explain) = if *creating {
                    (
                        "Choose a passphrase",
                        "No system keychain is reachable, so Sotto protects its database with \
                         a passphrase. You will type it each time Sotto starts. It cannot be \
                         recovered.",
                    )
                } else {
                    (
                        "Unlock Sotto",
                        "Sotto's database is protected by a passphrase.",
                    )
                };
                let mut col = column![
                    text(title).size(24),
                    text(explain).style(style::muted),
                    text_input("Passphrase", passphrase)
                        .id(PASSPHRASE)
                        .secure(true)
                        .on_input(Message::Passphrase)
                        .on_submit(Message::Submit)
                        .padding(10),
                    button(text(if *busy { "Unlocking…" } else { "Unlock" }))
                        .on_press_maybe((!busy).then_some(Message::Submit)),
                ]
                .spacing(12)
                .max_width(420);
                if let Some(e) = error {
                    col = col.push(text(e.as_str()).style(style::danger));
                }
                col.into()
            }
        };
        center(body).into()
    }
}

/// Unlocks on a thread of its own (keychain, Argon2 block; the core's
/// runtime does not exist yet), started from the confined GUI thread.
fn unlock(paths: &Paths, passphrase: Option<SecretString>) -> Task<Message> {
    let paths = paths.clone();
    let (tx, rx) = futures::channel::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("sotto-unlock".into())
        .spawn(move || {
            let _ = tx.send(backend::unlock(&paths, passphrase));
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start a thread");
    }
    Task::perform(rx, |r| {
        Message::Unlocked(
            r.unwrap_or_else(|_| Err(UnlockFailure::Other("the unlock thread failed".into()))),
        )
    })
}
