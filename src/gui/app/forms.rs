//! Sign-in, contacts and settings.

#[allow(clippy::wildcard_imports)]
use super::*;

impl App {
    pub(super) fn sign_in(&mut self, m: SignInMessage) -> Task<Message> {
        let form = &mut self.sign_in;
        match m {
            SignInMessage::Jid(s) => form.jid = s,
            SignInMessage::Password(s) => form.password = s,
            SignInMessage::PasswordAgain(s) => form.password_again = s,
            SignInMessage::Create(on) => form.create = on,
            SignInMessage::Advanced(on) => form.advanced = on,
            SignInMessage::Server(s) => form.server = s,
            SignInMessage::DirectTls(on) => form.direct_tls = on,
            SignInMessage::Tor(on) => form.tor = on,
            SignInMessage::Submit => {
                if form.busy() {
                    return Task::none();
                }
                match form.account(&self.config) {
                    Ok((account, password)) => {
                        form.status = SignInStatus::Connecting(form.connecting_text());
                        form.pending = Some((account.clone(), password.clone()));
                        if let Some(b) = &self.backend {
                            b.login(account, Some(password), form.create);
                        }
                    }
                    Err(e) => form.status = SignInStatus::Failed(e),
                }
            }
            SignInMessage::Trust => {
                let (connecting, create) = (form.connecting_text(), form.create);
                if let (SignInStatus::Untrusted { fingerprint, .. }, Some((account, password))) =
                    (&form.status, &mut form.pending)
                {
                    account.pinned_certificate = Some(*fingerprint);
                    form.status = SignInStatus::Connecting(connecting);
                    if let Some(b) = &self.backend {
                        b.login(account.clone(), Some(password.clone()), create);
                    }
                }
            }
            SignInMessage::Cancel => {
                if let Some((account, _)) = form.pending.take()
                    && let Some(b) = &self.backend
                {
                    b.send(Command::Stop(account.jid.clone()));
                    self.people.accounts.remove(&account.jid);
                }
                form.status = SignInStatus::Editing;
                if !self.config.accounts.is_empty() && !form.busy() && form.jid.is_empty() {
                    self.screen = Screen::Settings;
                }
            }
        }
        Task::none()
    }

    /// Logged in: the engine keeps the password (answered by
    /// [`Event::PasswordStored`], see [`App::password_stored`]).
    pub(super) fn save_signed_in(&mut self) -> Task<Message> {
        let (Some((account, password)), Some(backend)) =
            (self.sign_in.pending.clone(), &self.backend)
        else {
            return Task::none();
        };
        backend.send(Command::StorePassword {
            account: account.jid,
            password,
        });
        Task::none()
    }

    /// Where the engine kept the signed-in account's password: now the
    /// account goes in the settings.
    pub(super) fn password_stored(
        &mut self,
        jid: &BareJid,
        store: Option<PasswordStore>,
        error: Option<String>,
    ) -> Task<Message> {
        let Some((account, _)) = self.sign_in.pending.clone() else {
            return Task::none();
        };
        if &account.jid != jid {
            return Task::none();
        }
        let Some(store) = store else {
            let why = error.unwrap_or_else(|| "unknown reason".into());
            return self.signed_in(Err(format!("Sotto could not keep the password: {why}")));
        };
        let mut account = account;
        account.password_store = store;
        let mut config = self.config.clone();
        let result = config
            .add_account(account)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                config
                    .save(&self.paths.config_file())
                    .map_err(|e| format!("Sotto could not save the account: {e}"))
            });
        if let Err(e) = result {
            // No orphan password behind a settings file that failed.
            if let Some(b) = &self.backend {
                b.send(Command::ForgetAccount {
                    account: jid.clone(),
                    password_store: store,
                });
            }
            return self.signed_in(Err(e));
        }
        self.signed_in(Ok(Box::new(config)))
    }

    pub(super) fn signed_in(&mut self, result: Result<Box<Config>, String>) -> Task<Message> {
        match result {
            Ok(config) => {
                self.config = *config;
                self.sign_in = SignIn::default();
                self.screen = Screen::Chats;
                self.reload_conversations()
            }
            Err(e) => {
                self.sign_in.status = SignInStatus::Failed(e);
                Task::none()
            }
        }
    }

    pub(super) fn contacts(&mut self, m: ContactsMessage) -> Task<Message> {
        let form = &mut self.contacts_form;
        match m {
            ContactsMessage::NewJid(s) => form.jid = s,
            ContactsMessage::NewName(s) => form.name = s,
            ContactsMessage::Add => {
                let account = form
                    .account
                    .clone()
                    .or_else(|| self.config.accounts.first().map(|a| a.jid.clone()));
                match (account, form.jid.trim().parse::<BareJid>()) {
                    (Some(account), Ok(jid)) if jid.node().is_some() => {
                        let name = Some(form.name.trim().to_owned()).filter(|n| !n.is_empty());
                        if let Some(b) = &self.backend {
                            b.send(Command::AddContact { account, jid, name });
                        }
                        *form = ContactsForm::default();
                    }
                    (None, _) => form.error = Some("Sign in to an account first.".into()),
                    _ => {
                        form.error = Some("Type the whole address, like bob@example.org.".into());
                    }
                }
            }
            ContactsMessage::Answer(account, jid, approve) => {
                if let Some(b) = &self.backend {
                    b.send(Command::AnswerSubscription {
                        account: account.clone(),
                        jid: jid.clone(),
                        approve,
                    });
                    if approve {
                        // Ask back, so both see each other.
                        b.send(Command::AddContact {
                            account: account.clone(),
                            jid: jid.clone(),
                            name: None,
                        });
                    }
                }
                self.people.requests.remove(&(account, jid));
            }
            ContactsMessage::StartRename(account, jid) => {
                let current = self
                    .people
                    .contact(&account, &jid)
                    .and_then(|c| c.contact.as_ref())
                    .and_then(|c| c.name.clone())
                    .unwrap_or_default();
                self.contacts_form.renaming = Some(((account, jid), current));
            }
            ContactsMessage::RenameText(name) => {
                if let Some((_, typed)) = &mut self.contacts_form.renaming {
                    *typed = name;
                }
            }
            ContactsMessage::SaveName => {
                if let (Some(((account, jid), name)), Some(b)) =
                    (self.contacts_form.renaming.take(), &self.backend)
                {
                    let name = Some(name.trim().to_owned()).filter(|n| !n.is_empty());
                    b.send(Command::RenameContact { account, jid, name });
                }
            }
            ContactsMessage::Remove(account, jid) => {
                if let Some(b) = &self.backend {
                    b.send(Command::RemoveContact { account, jid });
                }
            }
            ContactsMessage::Block(account, jid, blocked) => {
                if let Some(b) = &self.backend {
                    b.send(Command::BlockContact {
                        account,
                        jid,
                        blocked,
                    });
                }
            }
        }
        Task::none()
    }

    pub(super) fn settings(&mut self, m: SettingsMessage) -> Task<Message> {
        match m {
            SettingsMessage::Notifications(on) => self.prefs.notifications = on,
            SettingsMessage::HideContent(on) => self.prefs.hide_content = on,
            SettingsMessage::Previews(on) => self.prefs.previews = on,
            SettingsMessage::Theme(t) => self.prefs.theme = t,
            SettingsMessage::Enable(jid, on) => {
                if let Ok(account) = self.config.account_mut(&jid) {
                    account.enabled = on;
                }
                if let Err(e) = self.config.save(&self.paths.config_file()) {
                    self.banner = Some(e.to_string());
                }
                let Some(backend) = &self.backend else {
                    return Task::none();
                };
                if on {
                    let config = Config {
                        accounts: self.config.account(&jid).cloned().into_iter().collect(),
                    };
                    backend.login_all(&config);
                    return Task::none();
                }
                backend.send(Command::Stop(jid));
                return Task::none();
            }
            SettingsMessage::Trust(jid, fingerprint) => {
                match self.config.account_mut(&jid) {
                    Ok(account) => account.pinned_certificate = Some(fingerprint),
                    Err(e) => {
                        self.banner = Some(e.to_string());
                        return Task::none();
                    }
                }
                if let Err(e) = self.config.save(&self.paths.config_file()) {
                    self.banner = Some(e.to_string());
                    return Task::none();
                }
                return self.settings(SettingsMessage::Reconnect(jid));
            }
            SettingsMessage::Reconnect(jid) => {
                if let Some(b) = &self.backend {
                    b.send(Command::Stop(jid.clone()));
                    let config = Config {
                        accounts: self.config.account(&jid).cloned().into_iter().collect(),
                    };
                    b.login_all(&config);
                    return Task::none();
                }
                return Task::none();
            }
            SettingsMessage::Remove(jid) => {
                self.confirm_remove = Some(jid);
                return Task::none();
            }
            SettingsMessage::ConfirmRemove(jid) => {
                self.confirm_remove = None;
                return self.remove_account(jid);
            }
            SettingsMessage::Removed(jid, result) => {
                match result {
                    Ok(()) => {
                        self.people.accounts.remove(&jid);
                        self.people.contacts.retain(|(a, _), _| a != &jid);
                        if self.chat.as_ref().is_some_and(|c| c.account == jid) {
                            self.chat = None;
                        }
                        if self.config.accounts.is_empty() {
                            self.screen = Screen::SignIn;
                        }
                    }
                    Err(e) => self.banner = Some(e),
                }
                return self.reload_conversations();
            }
        }
        if let Err(e) = self.prefs.save(&prefs::file(&self.paths)) {
            self.banner = Some(e);
        }
        Task::none()
    }

    /// Forgets an account: its messages, its password, its settings. The
    /// engine answers with [`Event::AccountForgotten`].
    pub(super) fn remove_account(&mut self, jid: BareJid) -> Task<Message> {
        let Some(backend) = &self.backend else {
            return Task::none();
        };
        let Ok(account) = self.config.remove_account(&jid) else {
            return Task::none();
        };
        if let Err(e) = self.config.save(&self.paths.config_file()) {
            self.banner = Some(e.to_string());
        }
        backend.send(Command::ForgetAccount {
            account: jid,
            password_store: account.password_store,
        });
        Task::none()
    }
}
