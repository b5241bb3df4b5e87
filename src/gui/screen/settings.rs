//! Settings: accounts (on or off, remove, pinned certificate, where the
//! password is, this device's OMEMO fingerprints and the account's other
//! devices, stale ones removable), notifications, theme, and what protects
//! Sotto's files.

use std::collections::{BTreeMap, BTreeSet};

use iced::widget::{Column, button, column, container, pick_list, row, scrollable, text, toggler};
use iced::{Alignment, Element, Length, Task};
use sotto::config::{AccountConfig, PasswordStore};
use sotto::fingerprint::Fingerprint;
use sotto::model::{BareJid, ConnectionState};
use sotto::omemo::{DeviceId, Profile};
use sotto::paths::Paths;
use sotto::sandbox::SandboxStatus;
use sotto::store::{KeyOrigin, OmemoTrust, OwnIdentity, StoredDevice};

use crate::gui::backend::Backend;
use crate::gui::context::Context;
use crate::gui::prefs::{Prefs, ThemeChoice};
use crate::gui::widget::{omemo, style};

pub const NOTIFICATIONS: &str = "notifications";
pub const HIDE_CONTENT: &str = "hide-content";
pub const PREVIEWS: &str = "previews";
pub const DO_NOT_DISTURB: &str = "do-not-disturb";
pub const SOUND: &str = "notification-sound";
pub const KEEP_RUNNING: &str = "keep-running";
pub const START_AT_LOGIN: &str = "start-at-login";

#[derive(Debug, Default)]
pub struct Settings {
    /// The account whose removal waits for a second click.
    confirm_remove: Option<BareJid>,
    /// Each account's OMEMO keys, once read.
    keys: BTreeMap<BareJid, Result<OwnKeys, String>>,
    /// The own device whose removal waits for a second click.
    confirm_device: Option<(BareJid, DeviceId)>,
    /// Removals sent to the engine, not answered yet.
    removing: BTreeSet<(BareJid, DeviceId)>,
    /// Why the last removal for an account failed.
    device_error: BTreeMap<BareJid, String>,
    /// The status message being typed, until saved.
    status_draft: Option<String>,
}

pub const STATUS_MESSAGE: &str = "status-message";

/// "Away after" as Settings offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwayAfter(pub u32);

impl AwayAfter {
    pub const ALL: [Self; 6] = [Self(0), Self(5), Self(10), Self(15), Self(30), Self(60)];
}

impl std::fmt::Display for AwayAfter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            0 => f.write_str("Never"),
            1 => f.write_str("1 minute"),
            n => write!(f, "{n} minutes"),
        }
    }
}

/// This device's identity and the account's other devices.
#[derive(Debug, Clone)]
pub struct OwnKeys {
    own: Option<OwnIdentity>,
    others: Vec<StoredDevice>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Notifications(bool),
    HideContent(bool),
    DoNotDisturb(bool),
    Sound(bool),
    KeepRunning(bool),
    StartAtLogin(bool),
    AwayAfter(AwayAfter),
    StatusTyped(String),
    SaveStatus,
    Previews(bool),
    Theme(ThemeChoice),
    Enable(BareJid, bool),
    Remove(BareJid),
    ConfirmRemove(BareJid),
    Reconnect(BareJid),
    /// Pin the certificate the server showed, then reconnect.
    Trust(BareJid, Fingerprint),
    AddAccount,
    Back,
    Keys(BareJid, Result<OwnKeys, String>),
    RemoveDevice(BareJid, DeviceId),
    ConfirmRemoveDevice(BareJid, DeviceId),
    CancelRemoveDevice,
    DeviceTrust(BareJid, DeviceId, OmemoTrust),
}

pub enum Event {
    Prefs(Prefs),
    Enable(BareJid, bool),
    Remove(BareJid),
    Reconnect(BareJid),
    Trust(BareJid, Fingerprint),
    AddAccount,
    Back,
    /// Take one of the account's other devices off its published lists.
    RemoveDevice(BareJid, DeviceId),
    DeviceTrust(BareJid, DeviceId, OmemoTrust),
}

/// What the About section tells.
pub struct About<'a> {
    pub paths: &'a Paths,
    pub sandbox: Option<&'a SandboxStatus>,
    pub key: KeyOrigin,
}

impl Settings {
    /// Reads every account's keys (again: on opening, and after a change).
    pub fn load(accounts: impl IntoIterator<Item = BareJid>, backend: &Backend) -> Task<Message> {
        Task::batch(accounts.into_iter().map(|jid| {
            let acc = jid.to_string();
            Task::perform(
                backend.read(move |r| {
                    let own = r.omemo_own_identity(&acc)?;
                    let others = r
                        .omemo_devices(&acc, &acc)?
                        .into_iter()
                        .filter(|d| {
                            d.active && own.as_ref().is_none_or(|o| o.device_id != d.device_id)
                        })
                        .collect();
                    Ok(OwnKeys { own, others })
                }),
                move |keys| Message::Keys(jid.clone(), keys),
            )
        }))
    }

    /// The engine answered a removal.
    pub fn device_removed(&mut self, account: &BareJid, device: u32, error: Option<String>) {
        self.removing
            .retain(|(jid, d)| !(jid == account && d.get() == device));
        match error {
            Some(e) => {
                self.device_error.insert(account.clone(), e);
            }
            None => {
                self.device_error.remove(account);
            }
        }
    }

    pub fn update(&mut self, message: Message, prefs: &Prefs) -> Option<Event> {
        let mut prefs = prefs.clone();
        match message {
            Message::Notifications(on) => prefs.notifications = on,
            Message::HideContent(on) => prefs.hide_content = on,
            Message::DoNotDisturb(on) => prefs.do_not_disturb = on,
            Message::Sound(on) => prefs.notification_sound = on,
            Message::KeepRunning(on) => prefs.keep_running = on,
            Message::StartAtLogin(on) => prefs.start_at_login = on,
            Message::AwayAfter(AwayAfter(minutes)) => prefs.away_after_minutes = minutes,
            Message::StatusTyped(typed) => {
                self.status_draft = Some(typed);
                return None;
            }
            Message::SaveStatus => match self.status_draft.take() {
                Some(typed) => prefs.status_message = typed.trim().to_owned(),
                None => return None,
            },
            Message::Previews(on) => prefs.previews = on,
            Message::Theme(t) => prefs.theme = t,
            Message::Enable(jid, on) => return Some(Event::Enable(jid, on)),
            Message::Remove(jid) => {
                self.confirm_remove = Some(jid);
                return None;
            }
            Message::ConfirmRemove(jid) => {
                self.confirm_remove = None;
                return Some(Event::Remove(jid));
            }
            Message::Reconnect(jid) => return Some(Event::Reconnect(jid)),
            Message::Trust(jid, fp) => return Some(Event::Trust(jid, fp)),
            Message::AddAccount => return Some(Event::AddAccount),
            Message::Back => return Some(Event::Back),
            Message::Keys(jid, keys) => {
                self.keys.insert(jid, keys);
                return None;
            }
            Message::RemoveDevice(jid, device) => {
                self.confirm_device = Some((jid, device));
                return None;
            }
            Message::CancelRemoveDevice => {
                self.confirm_device = None;
                return None;
            }
            Message::ConfirmRemoveDevice(jid, device) => {
                self.confirm_device = None;
                self.device_error.remove(&jid);
                self.removing.insert((jid.clone(), device));
                return Some(Event::RemoveDevice(jid, device));
            }
            Message::DeviceTrust(jid, device, trust) => {
                return Some(Event::DeviceTrust(jid, device, trust));
            }
        }
        Some(Event::Prefs(prefs))
    }

    pub fn view<'a>(&'a self, ctx: Context<'a>, about: About<'a>) -> Element<'a, Message> {
        let mut col = column![
            row![
                text("Settings").size(24).width(Length::Fill),
                button(text("Back to chats"))
                    .style(button::secondary)
                    .on_press(Message::Back),
            ]
            .align_y(Alignment::Center),
            text("Accounts").size(18),
        ]
        .spacing(12);
        for account in &ctx.config.accounts {
            col = col.push(self.account(ctx, account));
        }
        col = col.push(button(text("Add an account")).on_press(Message::AddAccount));
        let prefs = ctx.prefs;
        col = col
            .push(text("Notifications").size(18))
            .push(
                column![
                    switch(
                        prefs.notifications,
                        "Notify me of messages when Sotto's window is not in front",
                        Message::Notifications,
                        NOTIFICATIONS
                    ),
                    switch(
                        prefs.hide_content,
                        "Hide message content in notifications (show only who wrote)",
                        Message::HideContent,
                        HIDE_CONTENT
                    ),
                    switch(
                        prefs.notification_sound,
                        "Play the desktop's message sound",
                        Message::Sound,
                        SOUND
                    ),
                    switch(
                        prefs.do_not_disturb,
                        "Do not disturb: no notifications until this is off again",
                        Message::DoNotDisturb,
                        DO_NOT_DISTURB
                    ),
                    switch(
                        prefs.previews,
                        "Show the last message under each conversation",
                        Message::Previews,
                        PREVIEWS
                    ),
                ]
                .spacing(8),
            )
            .push(text("Presence").size(18))
            .push(self.presence(prefs))
            .push(text("In the background").size(18))
            .push(switch(
                prefs.keep_running,
                "Keep Sotto connected in the tray when its window is closed \
                 (where the desktop shows a tray)",
                Message::KeepRunning,
                KEEP_RUNNING,
            ));
        // XDG autostart: Linux and the BSDs (a login item on macOS is not
        // made yet).
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            col = col.push(switch(
                prefs.start_at_login,
                "Start Sotto when I log in",
                Message::StartAtLogin,
                START_AT_LOGIN,
            ));
        }
        col = col
            .push(text("Appearance").size(18))
            .push(
                row![
                    text("Theme"),
                    pick_list(ThemeChoice::ALL, Some(prefs.theme), Message::Theme),
                ]
                .spacing(10)
                .align_y(Alignment::Center),
            )
            .push(text("About").size(18))
            .push(about_view(about));
        scrollable(container(col).padding(24).max_width(760)).into()
    }

    /// The status message, and when to show away by itself.
    fn presence<'a>(&'a self, prefs: &'a Prefs) -> Element<'a, Message> {
        let typed = self
            .status_draft
            .as_deref()
            .unwrap_or(&prefs.status_message);
        let changed = self
            .status_draft
            .as_deref()
            .is_some_and(|d| d.trim() != prefs.status_message);
        column![
            row![
                iced::widget::text_input("Status message, like “In a meeting until 3”", typed)
                    .id(STATUS_MESSAGE)
                    .on_input(Message::StatusTyped)
                    .on_submit(Message::SaveStatus)
                    .padding(8),
                button(text("Save")).on_press_maybe(changed.then_some(Message::SaveStatus)),
            ]
            .spacing(8),
            row![
                text("Show me as away after"),
                pick_list(
                    AwayAfter::ALL,
                    Some(AwayAfter(prefs.away_after_minutes)),
                    Message::AwayAfter
                ),
                text("without keyboard or mouse").style(style::muted),
            ]
            .spacing(10)
            .align_y(Alignment::Center),
        ]
        .spacing(8)
        .into()
    }

    fn account<'a>(&'a self, ctx: Context<'a>, account: &'a AccountConfig) -> Element<'a, Message> {
        let jid = &account.jid;
        let state = ctx.people.accounts.get(jid).map(|s| &s.state);
        let status = match state {
            _ if !account.enabled => "Turned off".to_owned(),
            Some(ConnectionState::Online { jid, .. }) => format!("Online as {jid}"),
            Some(ConnectionState::Failed { reason, .. }) => format!("Not connected: {reason}."),
            Some(ConnectionState::WaitingToRetry { seconds, reason }) => {
                format!("{reason}; trying again in {seconds} s")
            }
            Some(ConnectionState::Connecting { .. } | ConnectionState::Suspended) => {
                "Connecting…".into()
            }
            Some(ConnectionState::Offline) | None => "Offline".into(),
        };
        let failed = matches!(state, Some(ConnectionState::Failed { .. }));
        let mut card = column![
            row![
                text(jid.as_str()).size(16).width(Length::Fill),
                toggler(account.enabled).label("On").on_toggle({
                    let jid = jid.clone();
                    move |on| Message::Enable(jid.clone(), on)
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
            pinnable,
            ..
        }) = state
        {
            card = card.push(certificate(account, *fp, *pinnable));
        }
        let mut actions = row![].spacing(8).align_y(Alignment::Center);
        if failed && account.enabled {
            actions = actions.push(
                button(text("Try again").size(13))
                    .style(button::secondary)
                    .on_press(Message::Reconnect(jid.clone())),
            );
        }
        if self.confirm_remove.as_ref() == Some(jid) {
            actions = actions
                .push(
                    text("Remove this account, its messages and its password from this computer?")
                        .size(13),
                )
                .push(
                    button(text("Remove").size(13))
                        .style(button::danger)
                        .on_press(Message::ConfirmRemove(jid.clone())),
                );
        } else {
            actions = actions.push(
                button(text("Remove…").size(13))
                    .style(button::secondary)
                    .on_press(Message::Remove(jid.clone())),
            );
        }
        container(card.push(actions).push(self.encryption(account)))
            .padding(12)
            .style(container::rounded_box)
            .width(Length::Fill)
            .into()
    }
}

impl Settings {
    /// This device's fingerprints, to compare with what contacts see, and
    /// the account's other devices: a lost or reinstalled one can be taken
    /// off the published lists so nobody keeps encrypting to it.
    fn encryption<'a>(&'a self, account: &'a AccountConfig) -> Column<'a, Message> {
        let jid = &account.jid;
        let mut col = Column::new()
            .spacing(4)
            .padding([8, 0])
            .push(text("End-to-end encryption (OMEMO)").size(14));
        let keys = match self.keys.get(jid) {
            None => return col,
            Some(Err(e)) => return col.push(omemo::unreadable(e)),
            Some(Ok(keys)) => keys,
        };
        let Some(own) = &keys.own else {
            return col.push(
                text("This device's keys are made the first time the account connects.")
                    .size(13)
                    .style(style::muted),
            );
        };
        col = col.push(
            text(format!(
                "This device: {} · contacts compare these fingerprints with what they see",
                own.device_id.get()
            ))
            .size(12)
            .style(style::muted),
        );
        col = col.push(omemo::own_fingerprints(own));
        // One entry per device, whatever namespaces it publishes in.
        let mut others: BTreeMap<DeviceId, Vec<&StoredDevice>> = BTreeMap::new();
        for d in &keys.others {
            others.entry(d.device_id).or_default().push(d);
        }
        col = col.push(
            text(if others.is_empty() {
                "No other device of this account publishes OMEMO keys."
            } else {
                "Your other devices (messages are encrypted to them too):"
            })
            .size(12)
            .style(style::muted),
        );
        for (device, entries) in others {
            col = col.push(self.other_device(jid, device, &entries));
        }
        if let Some(e) = self.device_error.get(jid) {
            col = col.push(
                text(format!("Could not remove the device: {e}"))
                    .size(12)
                    .style(style::danger),
            );
        }
        col
    }

    fn other_device<'a>(
        &'a self,
        jid: &'a BareJid,
        device: DeviceId,
        entries: &[&'a StoredDevice],
    ) -> Element<'a, Message> {
        let label = entries
            .iter()
            .find_map(|d| d.label.as_deref())
            .map(|l| format!(" · {l}"))
            .unwrap_or_default();
        let kinds: Vec<&str> = entries
            .iter()
            .map(|d| match d.profile {
                Profile::Legacy => "legacy",
                Profile::Omemo2 => "OMEMO 2",
            })
            .collect();
        let mut card = Column::new().spacing(3).push(
            text(format!(
                "Device {}{label} ({})",
                device.get(),
                kinds.join(" and ")
            ))
            .size(13),
        );
        let mut trust = None;
        for d in entries {
            if let Some((key, t)) = &d.identity {
                card = card.push(
                    row![
                        text(match d.profile {
                            Profile::Legacy => "Legacy",
                            Profile::Omemo2 => "OMEMO 2",
                        })
                        .size(11)
                        .width(56)
                        .style(style::muted),
                        text(key.fingerprint()).size(12).font(iced::Font::MONOSPACE),
                    ]
                    .spacing(6)
                    .align_y(Alignment::Center),
                );
                // Its namespaces can disagree: show the more cautious.
                trust = Some(trust.map_or(*t, |old| cautious(old, *t)));
            }
        }
        let (word, action) = match trust {
            Some(t) => {
                let (word, action) = omemo::trust_words(t);
                (word, Some(action))
            }
            None => ("Its keys are read when you next write", None),
        };
        let mut actions = row![text(word).size(12).width(Length::Fill)]
            .spacing(8)
            .align_y(Alignment::Center);
        if let Some((name, to)) = action {
            actions = actions.push(
                button(text(name).size(12))
                    .padding([2, 8])
                    .style(button::secondary)
                    .on_press(Message::DeviceTrust(jid.clone(), device, to)),
            );
        }
        let key = (jid.clone(), device);
        if self.removing.contains(&key) {
            actions = actions.push(text("Removing…").size(12).style(style::muted));
        } else if self.confirm_device.as_ref() == Some(&key) {
            card = card.push(
                text(
                    "Take this device off your published lists? Your contacts stop \
                     encrypting to it. If it is still in use, it will list itself again \
                     the next time it connects.",
                )
                .size(12),
            );
            actions = actions
                .push(
                    button(text("Cancel").size(12))
                        .padding([2, 8])
                        .style(button::secondary)
                        .on_press(Message::CancelRemoveDevice),
                )
                .push(
                    button(text("Remove device").size(12))
                        .padding([2, 8])
                        .style(button::danger)
                        .on_press(Message::ConfirmRemoveDevice(jid.clone(), device)),
                );
        } else {
            actions = actions.push(
                button(text("Remove device…").size(12))
                    .padding([2, 8])
                    .style(button::secondary)
                    .on_press(Message::RemoveDevice(jid.clone(), device)),
            );
        }
        container(card.push(actions))
            .padding(8)
            .style(container::bordered_box)
            .width(Length::Fill)
            .into()
    }
}

fn cautious(a: OmemoTrust, b: OmemoTrust) -> OmemoTrust {
    let rank = |t| match t {
        OmemoTrust::Untrusted => 0,
        OmemoTrust::Undecided => 1,
        OmemoTrust::Blind => 2,
        OmemoTrust::Verified => 3,
    };
    if rank(b) < rank(a) { b } else { a }
}

/// A refused certificate: a warning when one trusted by the system was
/// seen before (never an offer to trust it), else the offer to pin it.
fn certificate<'a>(
    account: &AccountConfig,
    fp: Fingerprint,
    pinnable: bool,
) -> Element<'a, Message> {
    let mut col = Column::new().spacing(6);
    let words = if !pinnable {
        "This server showed a certificate signed by a trusted authority before. The one it \
         shows now is not trusted, which is what someone intercepting the connection would \
         show. Sotto does not offer to trust it. If your server really changed, ask its \
         administrator for the fingerprint and compare it with this one."
    } else if account.pinned_certificate.is_some() {
        "The server now shows a different certificate than the one you pinned. This happens \
         when the server's certificate is renewed, but it can also mean someone is \
         intercepting the connection. Trust the new one only if you know it was changed."
    } else {
        "The server's certificate is not trusted by this computer. If this is your own \
         server, compare this fingerprint with the one it shows and trust it only if they \
         match."
    };
    col = col
        .push(text(words).size(13))
        .push(text(fp.to_string()).size(12).font(iced::Font::MONOSPACE));
    if pinnable {
        col = col.push(
            button(text("Trust this certificate").size(13))
                .style(button::danger)
                .on_press(Message::Trust(account.jid.clone(), fp)),
        );
    }
    container(col).padding(8).style(style::notice).into()
}

fn about_view(about: About<'_>) -> Element<'_, Message> {
    let sandbox = match about.sandbox {
        Some(status) => format!("Sandbox: {status}"),
        None => "Sandbox: not applied".into(),
    };
    let key = match about.key {
        KeyOrigin::Keychain => "Database: encrypted (SQLCipher), key in the system keychain",
        KeyOrigin::Passphrase => "Database: encrypted (SQLCipher), key from your passphrase",
    };
    column![
        text(format!("Sotto {}", env!("CARGO_PKG_VERSION"))),
        text(sandbox).size(13),
        text(key).size(13),
        text(format!("Data folder: {}", about.paths.data_dir.display()))
            .size(13)
            .style(style::muted),
    ]
    .spacing(4)
    .into()
}

/// One preference's switch, with the id tests find it by.
fn switch<'a>(
    on: bool,
    label: &'a str,
    toggled: fn(bool) -> Message,
    id: &'static str,
) -> Element<'a, Message> {
    container(toggler(on).label(label).on_toggle(toggled))
        .id(id)
        .into()
}
