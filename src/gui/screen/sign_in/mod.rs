//! Signing in to an account, or creating it on the server first. The
//! account is saved only once it has logged in and the engine has kept
//! its password.

mod form;

use iced::widget::{
    button, center, checkbox, column, container, row, scrollable, text, text_input,
};
use iced::{Element, Length, Task};
use secrecy::SecretString;
use sotto::config::{AccountConfig, Config, PasswordStore};
use sotto::engine::Command;
use sotto::model::{BareJid, ConnectionState};

pub use self::form::{SignIn, Status};
use crate::gui::backend::Backend;
use crate::gui::widget::{style, tip};

pub const JID: &str = "sign-in-address";
pub const PASSWORD: &str = "sign-in-password";
pub const PASSWORD_AGAIN: &str = "sign-in-password-again";
pub const SERVER: &str = "sign-in-server";

#[derive(Debug, Clone)]
pub enum Message {
    Jid(String),
    Password(String),
    PasswordAgain(String),
    Create(bool),
    Advanced(bool),
    Server(String),
    DirectTls(bool),
    Tor(bool),
    Submit,
    Trust,
    Cancel,
    Back,
}

pub enum Event {
    /// The person left the form (it is not the first account).
    Back,
    /// The account logged in: its password is to be kept (the engine
    /// answers with [`sotto::engine::Event::PasswordStored`]).
    LoggedIn(BareJid, SecretString),
}

impl SignIn {
    pub fn update(
        &mut self,
        message: Message,
        config: &Config,
        backend: &Backend,
    ) -> (Task<Message>, Option<Event>) {
        match message {
            Message::Jid(s) => self.jid = s,
            Message::Password(s) => self.password = s,
            Message::PasswordAgain(s) => self.password_again = s,
            Message::Create(on) => self.create = on,
            Message::Advanced(on) => self.advanced = on,
            Message::Server(s) => self.server = s,
            Message::DirectTls(on) => self.direct_tls = on,
            Message::Tor(on) => self.tor = on,
            Message::Submit => {
                if self.busy() {
                    return (Task::none(), None);
                }
                match self.account(config) {
                    Ok((account, password)) => {
                        self.status = Status::Connecting(self.connecting_text());
                        self.pending = Some((account.clone(), password.clone()));
                        backend.login(account, Some(password), self.create);
                    }
                    Err(e) => self.status = Status::Failed(e),
                }
            }
            Message::Trust => {
                let (connecting, create) = (self.connecting_text(), self.create);
                if let (Status::Untrusted { fingerprint, .. }, Some((account, password))) =
                    (&self.status, &mut self.pending)
                {
                    account.pinned_certificate = Some(*fingerprint);
                    self.status = Status::Connecting(connecting);
                    backend.login(account.clone(), Some(password.clone()), create);
                }
            }
            Message::Cancel => {
                if let Some((account, _)) = self.pending.take() {
                    backend.send(Command::Stop(account.jid));
                }
                self.status = Status::Editing;
            }
            Message::Back => return (Task::none(), Some(Event::Back)),
        }
        (Task::none(), None)
    }

    /// Follows the pending account's connection.
    pub fn connection(&mut self, account: &BareJid, state: &ConnectionState) -> Option<Event> {
        if !self.follow(account, state) {
            return None;
        }
        let (account, password) = self.pending.clone()?;
        Some(Event::LoggedIn(account.jid, password))
    }

    /// Where the engine kept the password. Returns the account to save,
    /// or `None` when this was not about the pending account.
    pub fn password_stored(
        &mut self,
        jid: &BareJid,
        store: Option<PasswordStore>,
        error: Option<String>,
    ) -> Option<Result<AccountConfig, String>> {
        let (mut account, _) = self.pending.clone().filter(|(a, _)| &a.jid == jid)?;
        Some(match store {
            Some(store) => {
                account.password_store = store;
                Ok(account)
            }
            None => Err(format!(
                "Sotto could not keep the password: {}",
                error.as_deref().unwrap_or("unknown reason")
            )),
        })
    }

    /// Saving the account failed: say so, and let the person try again.
    pub fn failed(&mut self, why: String) {
        self.pending = None;
        self.status = Status::Failed(why);
    }

    pub fn view(&self, first: bool) -> Element<'_, Message> {
        let busy = self.busy();
        let mut col = column![
            text(if first {
                "Welcome to Sotto"
            } else {
                "Add an account"
            })
            .size(26),
            text(if self.create {
                "Create a new account on an XMPP server that lets apps sign people up — \
                 yours, a friend's, or a public one. Connections are always encrypted."
            } else {
                "Sign in with an account on any XMPP server — yours, a friend's, or a public \
                 one. Connections are always encrypted."
            })
            .style(style::muted),
            text_input("Address, like alice@example.org", &self.jid)
                .id(JID)
                .on_input(Message::Jid)
                .on_submit(Message::Submit)
                .padding(10),
            text_input("Password", &self.password)
                .id(PASSWORD)
                .secure(true)
                .on_input(Message::Password)
                .on_submit(Message::Submit)
                .padding(10),
        ]
        .spacing(12)
        .max_width(460);
        if self.create {
            col = col.push(
                text_input("The same password again", &self.password_again)
                    .id(PASSWORD_AGAIN)
                    .secure(true)
                    .on_input(Message::PasswordAgain)
                    .on_submit(Message::Submit)
                    .padding(10),
            );
        }
        col = col.push(
            column![
                tip(
                    checkbox(self.create)
                        .label("This is a new account: create it on the server")
                        .on_toggle(Message::Create),
                    "Works on servers that allow creating accounts from an app (in-band \
                     registration); others say where to sign up instead",
                ),
                checkbox(self.advanced)
                    .label("Advanced: server, port, TLS, Tor")
                    .on_toggle(Message::Advanced),
            ]
            .spacing(12),
        );
        if self.advanced {
            col = col.push(
                column![
                    text_input(
                        "Server (host or host:port); empty: found through DNS",
                        &self.server
                    )
                    .id(SERVER)
                    .on_input(Message::Server)
                    .padding(8),
                    checkbox(self.direct_tls)
                        .label("Direct TLS (XEP-0368) instead of STARTTLS")
                        .on_toggle(Message::DirectTls),
                    tip(
                        checkbox(self.tor)
                            .label("Connect through Tor")
                            .on_toggle(Message::Tor),
                        "Everything of this account goes only through Tor; if Tor cannot \
                         connect, the account stays offline and never connects directly",
                    ),
                ]
                .spacing(8)
                .padding([0, 24]),
            );
        }
        match &self.status {
            Status::Editing => {}
            Status::Connecting(what) => col = col.push(text(what.as_str())),
            Status::Saving => col = col.push(text("Signed in. Saving…")),
            Status::Failed(why) => col = col.push(text(why.as_str()).style(style::danger)),
            Status::Untrusted {
                reason,
                fingerprint,
            } => col = col.push(untrusted(reason, fingerprint)),
        }
        let mut buttons = row![
            button(text(match (busy, self.create) {
                (true, true) => "Creating…",
                (true, false) => "Signing in…",
                (false, true) => "Create account",
                (false, false) => "Sign in",
            }))
            .padding([10, 20])
            .on_press_maybe((!busy).then_some(Message::Submit))
        ]
        .spacing(8);
        if busy {
            buttons = buttons.push(
                button(text("Cancel"))
                    .style(button::secondary)
                    .on_press(Message::Cancel),
            );
        } else if !first {
            buttons = buttons.push(
                button(text("Back"))
                    .style(button::secondary)
                    .on_press(Message::Back),
            );
        }
        col = col.push(buttons);
        center(scrollable(col.padding(24)).width(Length::Shrink)).into()
    }
}

fn untrusted<'a>(
    reason: &'a str,
    fingerprint: &sotto::fingerprint::Fingerprint,
) -> Element<'a, Message> {
    container(
        column![
            text("This server's certificate is not trusted").size(17),
            text(format!("{reason}.")).size(13),
            text(
                "If this is your own server, compare this fingerprint with the one it shows \
                 (for Prosody: prosodyctl cert show, or openssl x509 -fingerprint -sha256). \
                 Pin it only if they match:"
            )
            .size(13),
            text(fingerprint.to_string())
                .size(13)
                .font(iced::Font::MONOSPACE),
            row![
                button(text("Trust this certificate"))
                    .style(button::danger)
                    .on_press(Message::Trust),
                button(text("Cancel"))
                    .style(button::secondary)
                    .on_press(Message::Cancel),
            ]
            .spacing(8),
        ]
        .spacing(8),
    )
    .padding(12)
    .style(style::notice)
    .into()
}
