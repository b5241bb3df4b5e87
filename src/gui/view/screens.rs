//! Full-window screens: unlock, sign in, contacts, settings.

use iced::widget::{
    Column, button, center, checkbox, column, container, pick_list, row, scrollable, text,
    text_input, toggler,
};
use iced::{Alignment, Element, Length};
use sotto::config::PasswordStore;
use sotto::model::ConnectionState;
use sotto::store::KeyOrigin;

use super::style;
use crate::gui::app::{
    App, ContactsMessage, Message, Phase, Screen, SettingsMessage, SignInMessage,
};
use crate::gui::prefs::ThemeChoice;
use crate::gui::signin::Status;

pub fn starting(phase: &Phase) -> Element<'_, Message> {
    let body: Element<'_, Message> = match phase {
        Phase::Starting | Phase::Ready => text("Opening Sotto…").size(18).into(),
        Phase::Broken(why) => column![
            text("Sotto could not open its database").size(22),
            text(why.clone()).style(style::danger),
            text("Nothing was changed. If the system keychain is locked, unlock it and start Sotto again.")
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
            let title = if *creating {
                "Choose a passphrase"
            } else {
                "Unlock Sotto"
            };
            let explain = if *creating {
                "No system keychain is reachable, so Sotto protects its database with a \
                 passphrase. You will type it each time Sotto starts. It cannot be recovered."
            } else {
                "Sotto's database is protected by a passphrase."
            };
            let mut col = column![
                text(title).size(24),
                text(explain).style(style::muted),
                text_input("Passphrase", passphrase)
                    .secure(true)
                    .on_input(Message::PassphraseChanged)
                    .on_submit(Message::Unlock)
                    .padding(10),
                button(text(if *busy { "Unlocking…" } else { "Unlock" }))
                    .on_press_maybe((!busy).then_some(Message::Unlock)),
            ]
            .spacing(12)
            .max_width(420);
            if let Some(e) = error {
                col = col.push(text(e.clone()).style(style::danger));
            }
            col.into()
        }
    };
    center(body).into()
}

pub fn sign_in(app: &App) -> Element<'_, Message> {
    let form = &app.sign_in;
    let busy = form.busy();
    let first = app.config.accounts.is_empty();
    let mut col = column![
        text(if first {
            "Welcome to Sotto"
        } else {
            "Add an account"
        })
        .size(26),
        text(if form.create {
            "Create a new account on an XMPP server that lets apps sign people up — \
             yours, a friend's, or a public one. Connections are always encrypted."
        } else {
            "Sign in with an account on any XMPP server — yours, a friend's, or a public one. \
             Connections are always encrypted."
        })
        .style(style::muted),
        text_input("Address, like alice@example.org", &form.jid)
            .on_input(|s| Message::SignIn(SignInMessage::Jid(s)))
            .on_submit(Message::SignIn(SignInMessage::Submit))
            .padding(10),
        text_input("Password", &form.password)
            .secure(true)
            .on_input(|s| Message::SignIn(SignInMessage::Password(s)))
            .on_submit(Message::SignIn(SignInMessage::Submit))
            .padding(10),
    ]
    .spacing(12)
    .max_width(460);
    if form.create {
        col = col.push(
            text_input("The same password again", &form.password_again)
                .secure(true)
                .on_input(|s| Message::SignIn(SignInMessage::PasswordAgain(s)))
                .on_submit(Message::SignIn(SignInMessage::Submit))
                .padding(10),
        );
    }
    col = col.push(
        column![
            super::sidebar::tip(
                checkbox(form.create)
                    .label("This is a new account: create it on the server")
                    .on_toggle(|on| Message::SignIn(SignInMessage::Create(on))),
                "Works on servers that allow creating accounts from an app (in-band \
             registration); others say where to sign up instead",
            ),
            checkbox(form.advanced)
                .label("Advanced: server, port, TLS, Tor")
                .on_toggle(|on| Message::SignIn(SignInMessage::Advanced(on))),
        ]
        .spacing(12),
    );
    if form.advanced {
        col = col.push(
            column![
                text_input(
                    "Server (host or host:port); empty: found through DNS",
                    &form.server
                )
                .on_input(|s| Message::SignIn(SignInMessage::Server(s)))
                .padding(8),
                checkbox(form.direct_tls)
                    .label("Direct TLS (XEP-0368) instead of STARTTLS")
                    .on_toggle(|on| Message::SignIn(SignInMessage::DirectTls(on))),
                super::sidebar::tip(
                    checkbox(form.tor)
                        .label("Connect through Tor")
                        .on_toggle(|on| Message::SignIn(SignInMessage::Tor(on))),
                    "Everything of this account goes only through Tor; if Tor cannot connect, \
                     the account stays offline and never connects directly",
                ),
            ]
            .spacing(8)
            .padding([0, 24]),
        );
    }
    match &form.status {
        Status::Editing => {}
        Status::Connecting(what) => col = col.push(text(what.clone())),
        Status::Saving => col = col.push(text("Signed in. Saving…")),
        Status::Failed(why) => col = col.push(text(why.clone()).style(style::danger)),
        Status::Untrusted {
            reason,
            fingerprint,
        } => {
            col = col.push(
                container(
                    column![
                        text("This server's certificate is not trusted").size(17),
                        text(format!("{reason}.")).size(13),
                        text("If this is your own server, compare this fingerprint with the one it shows (for Prosody: prosodyctl cert show, or openssl x509 -fingerprint -sha256). Pin it only if they match:").size(13),
                        text(fingerprint.to_string()).size(13).font(iced::Font::MONOSPACE),
                        row![
                            button(text("Trust this certificate"))
                                .style(button::danger)
                                .on_press(Message::SignIn(SignInMessage::Trust)),
                            button(text("Cancel"))
                                .style(button::secondary)
                                .on_press(Message::SignIn(SignInMessage::Cancel)),
                        ]
                        .spacing(8),
                    ]
                    .spacing(8),
                )
                .padding(12)
                .style(style::notice),
            );
        }
    }
    let mut buttons = row![
        button(text(match (busy, form.create) {
            (true, true) => "Creating…",
            (true, false) => "Signing in…",
            (false, true) => "Create account",
            (false, false) => "Sign in",
        }))
        .padding([10, 20])
        .on_press_maybe((!busy).then_some(Message::SignIn(SignInMessage::Submit)))
    ]
    .spacing(8);
    if busy {
        buttons = buttons.push(
            button(text("Cancel"))
                .style(button::secondary)
                .on_press(Message::SignIn(SignInMessage::Cancel)),
        );
    } else if !first {
        buttons = buttons.push(
            button(text("Back"))
                .style(button::secondary)
                .on_press(Message::Show(Screen::Settings)),
        );
    }
    col = col.push(buttons);
    center(scrollable(col.padding(24)).width(Length::Shrink)).into()
}

pub fn contacts(app: &App) -> Element<'_, Message> {
    let form = &app.contacts_form;
    let mut col = column![
        row![
            text("Contacts").size(24).width(Length::Fill),
            button(text("Back to chats"))
                .style(button::secondary)
                .on_press(Message::Show(Screen::Chats)),
        ]
        .align_y(Alignment::Center)
    ]
    .spacing(14);

    if !app.people.requests.is_empty() {
        let mut req = Column::new().spacing(6).push(text("Requests").size(17));
        for (account, jid) in &app.people.requests {
            req =
                req.push(
                    row![
                        text(format!("{jid} wants to see when you are online")).width(Length::Fill),
                        button(text("Accept")).on_press(Message::Contacts(
                            ContactsMessage::Answer(account.clone(), jid.clone(), true)
                        )),
                        button(text("Deny"))
                            .style(button::secondary)
                            .on_press(Message::Contacts(ContactsMessage::Answer(
                                account.clone(),
                                jid.clone(),
                                false
                            ))),
                    ]
                    .spacing(8)
                    .align_y(Alignment::Center),
                );
        }
        col = col.push(container(req).padding(12).style(style::notice));
    }

    let mut add = column![
        text("Add a contact").size(17),
        row![
            text_input("Address, like bob@example.org", &form.jid)
                .on_input(|s| Message::Contacts(ContactsMessage::NewJid(s)))
                .on_submit(Message::Contacts(ContactsMessage::Add))
                .padding(8),
            text_input("Name (optional)", &form.name)
                .on_input(|s| Message::Contacts(ContactsMessage::NewName(s)))
                .on_submit(Message::Contacts(ContactsMessage::Add))
                .padding(8)
                .width(Length::Fixed(180.0)),
            button(text("Add")).on_press(Message::Contacts(ContactsMessage::Add)),
        ]
        .spacing(8),
        text("They will be asked to let you see when they are online.")
            .size(12)
            .style(style::muted),
    ]
    .spacing(6);
    if let Some(e) = &form.error {
        add = add.push(text(e.clone()).size(13).style(style::danger));
    }
    col = col.push(add);

    let mut list = Column::new().spacing(4);
    let mut any = false;
    for ((account, jid), state) in &app.people.contacts {
        let Some(contact) = &state.contact else {
            continue;
        };
        any = true;
        let name = app.people.display_name(account, jid);
        let presence = style::presence_word(state.availability());
        let mut detail = format!("{jid} · {presence}");
        if contact.pending_out {
            detail.push_str(" · request sent");
        }
        if app.config.accounts.len() > 1 {
            detail.push_str(&format!(" · {account}"));
        }
        let key = (account.clone(), jid.clone());
        let blocked = app.people.blocked.contains(&key);
        if blocked {
            detail.push_str(" · blocked");
        }
        let renaming = app
            .contacts_form
            .renaming
            .as_ref()
            .filter(|(k, _)| k == &key)
            .map(|(_, typed)| typed.as_str());
        let title: Element<'_, Message> = match renaming {
            Some(typed) => text_input("Name", typed)
                .id("rename")
                .on_input(|s| Message::Contacts(ContactsMessage::RenameText(s)))
                .on_submit(Message::Contacts(ContactsMessage::SaveName))
                .padding(4)
                .into(),
            None => text(name.clone()).into(),
        };
        let small = |label: &'static str| text(label).size(12);
        list = list.push(
            row![
                style::avatar(&name, jid.as_str(), 32.0, Some(state.online())),
                column![title, text(detail).size(12).style(style::muted)].width(Length::Fill),
                button(small("Chat"))
                    .style(button::secondary)
                    .on_press(Message::Open(account.clone(), jid.clone())),
                button(small("Rename"))
                    .style(button::secondary)
                    .on_press(Message::Contacts(ContactsMessage::StartRename(
                        account.clone(),
                        jid.clone()
                    ))),
                button(small(if blocked { "Unblock" } else { "Block" }))
                    .style(button::secondary)
                    .on_press(Message::Contacts(ContactsMessage::Block(
                        account.clone(),
                        jid.clone(),
                        !blocked
                    ))),
                button(small("Remove"))
                    .style(button::danger)
                    .on_press(Message::Contacts(ContactsMessage::Remove(
                        account.clone(),
                        jid.clone()
                    ))),
            ]
            .spacing(6)
            .align_y(Alignment::Center),
        );
    }
    if !any {
        list = list.push(text("Nobody yet. Add someone above.").style(style::muted));
    }
    col = col.push(text("Everyone").size(17)).push(list);
    scrollable(container(col).padding(24).max_width(760)).into()
}

pub fn settings(app: &App) -> Element<'_, Message> {
    let mut col = column![
        row![
            text("Settings").size(24).width(Length::Fill),
            button(text("Back to chats"))
                .style(button::secondary)
                .on_press(Message::Show(Screen::Chats)),
        ]
        .align_y(Alignment::Center),
        text("Accounts").size(18),
    ]
    .spacing(12);

    for account in &app.config.accounts {
        let state = app.people.accounts.get(&account.jid).map(|s| &s.state);
        let status = match state {
            _ if !account.enabled => "Turned off".to_owned(),
            Some(ConnectionState::Online { jid, .. }) => format!("Online as {jid}"),
            Some(ConnectionState::Failed { reason, .. }) => format!("Not connected: {reason}."),
            Some(ConnectionState::WaitingToRetry { seconds, reason }) => {
                format!("{reason}; trying again in {seconds} s")
            }
            Some(ConnectionState::Connecting { .. }) | Some(ConnectionState::Suspended) => {
                "Connecting…".into()
            }
            Some(ConnectionState::Offline) | None => "Offline".into(),
        };
        let failed = matches!(state, Some(ConnectionState::Failed { .. }));
        let mut card = column![
            row![
                text(account.jid.to_string()).size(16).width(Length::Fill),
                toggler(account.enabled).label("On").on_toggle({
                    let jid = account.jid.clone();
                    move |on| Message::Settings(SettingsMessage::Enable(jid.clone(), on))
                }),
            ]
            .align_y(Alignment::Center),
            text(status)
                .size(13)
                .style(if failed { style::danger } else { style::muted }),
            text(format!(
                "Server: {} ({})",
                account
                    .server
                    .as_ref()
                    .map_or_else(|| "found through DNS".to_owned(), ToString::to_string),
                if account.direct_tls {
                    "direct TLS"
                } else {
                    "STARTTLS"
                }
            ))
            .size(13),
            text(match account.pinned_certificate {
                Some(fp) => format!("Pinned certificate: {fp}"),
                None => "Certificate: checked against this computer's trusted authorities".into(),
            })
            .size(13),
            text(format!(
                "Password: in {}",
                match account.password_store {
                    PasswordStore::Keychain => "the system keychain",
                    PasswordStore::Database => "Sotto's encrypted database",
                }
            ))
            .size(13),
        ]
        .spacing(4);
        if let Some(ConnectionState::Failed {
            certificate: Some(fp),
            pinnable: false,
            ..
        }) = state
        {
            // Once a certificate trusted by the system was seen, a refused
            // one is a warning, never an offer to trust it.
            card = card.push(
                container(
                    column![
                        text(
                            "This server showed a certificate signed by a trusted authority \
                             before. The one it shows now is not trusted, which is what someone \
                             intercepting the connection would show. Sotto does not offer to \
                             trust it. If your server really changed, ask its administrator for \
                             the fingerprint and compare it with this one."
                        )
                        .size(13),
                        text(fp.to_string()).size(12).font(iced::Font::MONOSPACE),
                    ]
                    .spacing(6),
                )
                .padding(8)
                .style(style::notice),
            );
        }
        if let Some(ConnectionState::Failed {
            certificate: Some(fp),
            pinnable: true,
            ..
        }) = state
        {
            let changed = account.pinned_certificate.is_some();
            card = card.push(
                container(
                    column![
                        text(if changed {
                            "The server now shows a different certificate than the one you pinned. \
                             This happens when the server's certificate is renewed, but it can also \
                             mean someone is intercepting the connection. Trust the new one only if \
                             you know it was changed."
                        } else {
                            "The server's certificate is not trusted by this computer. If this is \
                             your own server, compare this fingerprint with the one it shows and \
                             trust it only if they match."
                        })
                        .size(13),
                        text(fp.to_string()).size(12).font(iced::Font::MONOSPACE),
                        button(text("Trust this certificate").size(13))
                            .style(button::danger)
                            .on_press(Message::Settings(SettingsMessage::Trust(
                                account.jid.clone(),
                                *fp
                            ))),
                    ]
                    .spacing(6),
                )
                .padding(8)
                .style(style::notice),
            );
        }
        let mut actions = row![].spacing(8);
        if failed && account.enabled {
            actions = actions.push(
                button(text("Try again").size(13))
                    .style(button::secondary)
                    .on_press(Message::Settings(SettingsMessage::Reconnect(
                        account.jid.clone(),
                    ))),
            );
        }
        if app.confirm_remove.as_ref() == Some(&account.jid) {
            actions = actions
                .push(
                    text("Remove this account, its messages and its password from this computer?")
                        .size(13),
                )
                .push(
                    button(text("Remove").size(13))
                        .style(button::danger)
                        .on_press(Message::Settings(SettingsMessage::ConfirmRemove(
                            account.jid.clone(),
                        ))),
                );
        } else {
            actions = actions.push(
                button(text("Remove…").size(13))
                    .style(button::secondary)
                    .on_press(Message::Settings(SettingsMessage::Remove(
                        account.jid.clone(),
                    ))),
            );
        }
        card = card.push(actions);
        col = col.push(
            container(card)
                .padding(12)
                .style(container::rounded_box)
                .width(Length::Fill),
        );
    }
    col = col.push(button(text("Add an account")).on_press(Message::Show(Screen::SignIn)));

    let prefs = &app.prefs;
    col = col.push(text("Notifications").size(18)).push(
        column![
            toggler(prefs.notifications)
                .label("Notify me of messages when Sotto's window is not in front")
                .on_toggle(|on| Message::Settings(SettingsMessage::Notifications(on))),
            toggler(prefs.hide_content)
                .label("Hide message content in notifications (show only who wrote)")
                .on_toggle(|on| Message::Settings(SettingsMessage::HideContent(on))),
            toggler(prefs.previews)
                .label("Show the last message under each conversation")
                .on_toggle(|on| Message::Settings(SettingsMessage::Previews(on))),
        ]
        .spacing(8),
    );
    col = col.push(text("Appearance").size(18)).push(
        row![
            text("Theme"),
            pick_list(ThemeChoice::ALL, Some(prefs.theme), |t| Message::Settings(
                SettingsMessage::Theme(t)
            )),
        ]
        .spacing(10)
        .align_y(Alignment::Center),
    );
    col = col.push(text("About").size(18)).push(about(app));
    scrollable(container(col).padding(24).max_width(760)).into()
}

fn about(app: &App) -> Element<'_, Message> {
    let sandbox = match &app.sandbox {
        Some(status) => format!("Sandbox: {status}"),
        None if app.headless => "Sandbox: not applied (test run)".into(),
        None => "Sandbox: not applied yet".into(),
    };
    let key = match app.key_origin {
        Some(KeyOrigin::Keychain) => "Database: encrypted (SQLCipher), key in the system keychain",
        Some(KeyOrigin::Passphrase) => "Database: encrypted (SQLCipher), key from your passphrase",
        None => "Database: locked",
    };
    column![
        text(format!("Sotto {}", env!("CARGO_PKG_VERSION"))),
        text(sandbox).size(13),
        text(key).size(13),
        text(format!("Data folder: {}", app.paths.data_dir.display()))
            .size(13)
            .style(style::muted),
    ]
    .spacing(4)
    .into()
}
