//! Accounts and preferences: signing in, turning on and off, trusting a
//! certificate, removing; and writing the settings files off the GUI
//! thread.

use iced::Task;
use sotto::config::{AccountConfig, Config};
use sotto::engine::Command;
use sotto::model::BareJid;

use super::{Dashboard, Message};
use crate::gui::prefs;
use crate::gui::screen::{settings, sign_in};
use crate::gui::sidebar::Page;

impl Dashboard {
    /// Writes or removes the start-at-login entry; a failure is said.
    pub(super) fn start_at_login(&self, on: bool) -> Task<Message> {
        #[cfg(all(unix, not(target_os = "macos")))]
        if let Some(autostart) = self.autostart.clone() {
            return Task::perform(autostart.set(on), Message::Saved);
        }
        let _ = on;
        Task::none()
    }

    /// Changes the preferences and writes them, off the GUI thread.
    pub fn change_prefs(&mut self, change: impl FnOnce(&mut prefs::Prefs)) -> Task<Message> {
        change(&mut self.prefs);
        let (saved, path) = (self.prefs.clone(), prefs::file(&self.paths));
        Task::perform(
            self.backend.persist(move || saved.save(&path)),
            Message::Saved,
        )
    }

    pub(super) fn sign_in(&mut self, m: sign_in::Message) -> Task<Message> {
        let (task, event) = self.sign_in.update(m, &self.config, &self.backend);
        if let Some(sign_in::Event::Back) = event {
            self.adding = false;
            self.page = Page::Settings;
        }
        task.map(Message::SignIn)
    }

    /// Logged in and the password kept: now the account goes in the
    /// settings.
    pub(super) fn save_new_account(&mut self, account: AccountConfig) -> Task<Message> {
        let mut config = self.config.clone();
        if let Err(e) = config.add_account(account) {
            self.sign_in.failed(e.to_string());
            return Task::none();
        }
        let path = self.paths.config_file();
        let to_write = config.clone();
        Task::perform(
            self.backend.persist(move || {
                to_write
                    .save(&path)
                    .map_err(|e| format!("Sotto could not save the account: {e}"))
            }),
            move |result| Message::AccountSaved(Box::new(config.clone()), result),
        )
    }

    pub(super) fn account_saved(
        &mut self,
        config: Config,
        result: Result<(), String>,
    ) -> Task<Message> {
        match result {
            Ok(()) => {
                self.config = config;
                self.sign_in = sign_in::SignIn::default();
                self.adding = false;
                self.page = Page::Chats;
                Task::batch([self.reload_conversations(), self.load_rosters()])
            }
            Err(e) => {
                // No orphan password behind a settings file that failed.
                if let Some((account, _)) = &self.sign_in.pending
                    && let Some(new) = config.account(&account.jid)
                {
                    self.backend.send(Command::ForgetAccount {
                        account: new.jid.clone(),
                        password_store: new.password_store,
                    });
                }
                self.sign_in.failed(e);
                Task::none()
            }
        }
    }

    pub(super) fn settings(&mut self, m: settings::Message) -> Task<Message> {
        let Some(event) = self.settings.update(m, &self.prefs) else {
            return Task::none();
        };
        match event {
            settings::Event::Prefs(prefs) => {
                let (away, status) = (prefs.away_after_minutes, prefs.status_message.clone());
                let was = (
                    self.prefs.away_after_minutes,
                    self.prefs.status_message.clone(),
                );
                let login = (prefs.start_at_login != self.prefs.start_at_login)
                    .then_some(prefs.start_at_login);
                let saved = self.change_prefs(|p| *p = prefs);
                let watch = if was.0 != away {
                    self.watch_idle()
                } else {
                    Task::none()
                };
                if was.1 != status {
                    self.announce();
                }
                let login = match login {
                    Some(on) => self.start_at_login(on),
                    None => Task::none(),
                };
                Task::batch([saved, watch, login])
            }
            settings::Event::Enable(jid, on) => {
                if let Ok(account) = self.config.account_mut(&jid) {
                    account.enabled = on;
                }
                if on {
                    self.connect(&jid);
                } else {
                    self.backend.send(Command::Stop(jid));
                }
                self.save_config()
            }
            settings::Event::Trust(jid, fingerprint) => {
                match self.config.account_mut(&jid) {
                    Ok(account) => account.pinned_certificate = Some(fingerprint),
                    Err(e) => {
                        self.banner = Some(e.to_string());
                        return Task::none();
                    }
                }
                self.reconnect(jid);
                self.save_config()
            }
            settings::Event::Reconnect(jid) => {
                self.reconnect(jid);
                Task::none()
            }
            settings::Event::Remove(jid) => self.remove(jid),
            settings::Event::AddAccount => {
                self.adding = true;
                Task::none()
            }
            settings::Event::Back => {
                self.page = Page::Chats;
                Task::none()
            }
            // Answered by OwnDeviceRemoved.
            settings::Event::RemoveDevice(account, device) => {
                self.backend
                    .send(Command::RemoveOwnDevice { account, device });
                Task::none()
            }
            // Answered by DeviceTrust, which reads the keys again.
            settings::Event::DeviceTrust(account, device, trust) => {
                self.backend.send(Command::SetDeviceTrust {
                    jid: account.clone(),
                    account,
                    device,
                    trust,
                });
                Task::none()
            }
        }
    }

    /// Reads the accounts' OMEMO keys for Settings, when it is shown.
    pub(super) fn settings_keys(&self, accounts: Option<&BareJid>) -> Task<Message> {
        if self.page != Page::Settings {
            return Task::none();
        }
        let jids: Vec<BareJid> = self
            .config
            .accounts
            .iter()
            .map(|a| a.jid.clone())
            .filter(|j| accounts.is_none_or(|a| a == j))
            .collect();
        settings::Settings::load(jids, &self.backend).map(Message::Settings)
    }

    fn connect(&self, jid: &BareJid) {
        self.backend.login_all(&Config {
            accounts: self.config.account(jid).cloned().into_iter().collect(),
        });
    }

    fn reconnect(&self, jid: BareJid) {
        self.backend.send(Command::Stop(jid.clone()));
        self.connect(&jid);
    }

    fn save_config(&self) -> Task<Message> {
        let (config, path) = (self.config.clone(), self.paths.config_file());
        Task::perform(
            self.backend
                .persist(move || config.save(&path).map_err(|e| e.to_string())),
            Message::Saved,
        )
    }

    /// Forgets an account: its messages, its password, its settings. The
    /// engine answers with AccountForgotten.
    fn remove(&mut self, jid: BareJid) -> Task<Message> {
        let Ok(account) = self.config.remove_account(&jid) else {
            return Task::none();
        };
        self.backend.send(Command::ForgetAccount {
            account: jid,
            password_store: account.password_store,
        });
        self.save_config()
    }

    pub(super) fn forgotten(&mut self, account: BareJid, error: Option<String>) -> Task<Message> {
        if let Some(e) = error {
            self.banner = Some(e);
        }
        self.people.forget(&account);
        self.conversations.forget(&account);
        if self.chat.as_ref().is_some_and(|c| c.account == account) {
            self.chat = None;
        }
        self.reload_conversations()
    }
}
