//! Start-up: the sandbox, unlocking the store, starting the engine.

#[allow(clippy::wildcard_imports)]
use super::*;

impl App {
    /// The window is up: confine the process, then open the store.
    pub(super) fn start(&mut self) -> Task<Message> {
        if !matches!(self.phase, Phase::Starting) || self.backend.is_some() {
            return Task::none();
        }
        tracing::info!(ms = crate::gui::since_start_ms(), "window open");
        if !self.headless {
            // The window and its libraries are loaded; from here on the
            // process (and every thread it starts) reaches only its own
            // folders. Threads started earlier by the toolkit keep their
            // access; none of them touches the network or the store.
            let status = sotto::sandbox::confine(&self.paths);
            tracing::info!(sandbox = %status, "sandbox");
            self.sandbox = Some(status);
        }
        let paths = self.paths.clone();
        Task::perform(
            off_thread(move || crate::gui::backend::unlock(&paths, None)),
            |r| {
                Message::Unlocked(r.unwrap_or_else(|| {
                    Err(UnlockFailure::Other("the unlock thread failed".into()))
                }))
            },
        )
    }

    pub(super) fn unlock_with_passphrase(&mut self) -> Task<Message> {
        let Phase::Locked {
            passphrase, busy, ..
        } = &mut self.phase
        else {
            return Task::none();
        };
        if passphrase.is_empty() {
            return Task::none();
        }
        *busy = true;
        let secret = SecretString::from(std::mem::take(passphrase));
        let paths = self.paths.clone();
        Task::perform(
            off_thread(move || crate::gui::backend::unlock(&paths, Some(secret))),
            |r| {
                Message::Unlocked(r.unwrap_or_else(|| {
                    Err(UnlockFailure::Other("the unlock thread failed".into()))
                }))
            },
        )
    }

    pub(super) fn unlocked(
        &mut self,
        result: Result<(Database, KeyOrigin), UnlockFailure>,
    ) -> Task<Message> {
        match result {
            Ok((database, origin)) => {
                self.key_origin = Some(origin);
                match Backend::start(database) {
                    Ok(backend) => {
                        self.backend = Some(backend);
                        self.phase = Phase::Ready;
                        self.after_start()
                    }
                    Err(e) => {
                        self.phase = Phase::Broken(format!("Sotto could not start: {e}"));
                        Task::none()
                    }
                }
            }
            Err(UnlockFailure::NeedsPassphrase { creating }) => {
                self.phase = Phase::Locked {
                    passphrase: String::new(),
                    creating,
                    error: None,
                    busy: false,
                };
                Task::none()
            }
            Err(UnlockFailure::Other(e)) => {
                match &mut self.phase {
                    Phase::Locked { error, busy, .. } => {
                        *error = Some(e);
                        *busy = false;
                    }
                    phase => *phase = Phase::Broken(e),
                }
                Task::none()
            }
        }
    }

    /// Store open, engine running: listen, sign in, show what is stored.
    pub fn after_start(&mut self) -> Task<Message> {
        let Some(backend) = self.backend.clone() else {
            return Task::none();
        };
        let mut tasks = vec![self.reload_conversations()];
        if let Some(events) = backend.event_stream() {
            tasks.push(Task::run(events, Message::Engine));
        }
        for account in &self.config.accounts {
            self.people.accounts.entry(account.jid.clone()).or_default();
        }
        backend.login_all(&self.config);
        tasks.push(self.load_rosters());
        Task::batch(tasks)
    }

    /// Contacts as stored, so names show before the server answers.
    pub(super) fn load_rosters(&self) -> Task<Message> {
        let Some(backend) = &self.backend else {
            return Task::none();
        };
        let tasks = self.config.accounts.iter().map(|a| {
            let account = a.jid.clone();
            let acc = account.to_string();
            Task::perform(
                backend.read(move |s| s.contacts(&acc)),
                move |r: Result<Vec<sotto::model::Contact>, String>| {
                    // A failed read is said, never shown as "no contacts".
                    Message::Engine(vec![match r {
                        Ok(contacts) => Event::Roster {
                            account: account.clone(),
                            contacts,
                        },
                        Err(reason) => Event::RosterFailed {
                            account: account.clone(),
                            reason: format!("the stored contacts could not be read: {reason}"),
                        },
                    }])
                },
            )
        });
        Task::batch(tasks)
    }

    pub fn reload_conversations(&self) -> Task<Message> {
        match &self.backend {
            Some(b) => Task::perform(b.read(|s| s.conversations(None)), Message::Conversations),
            None => Task::none(),
        }
    }
}
