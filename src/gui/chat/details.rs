//! The contact's details beside the chat: presence, their OMEMO devices
//! with fingerprints to verify, and the push info that lets Sotto knock
//! their phone.

use iced::widget::{Column, button, column, container, row, scrollable, text, text_input, toggler};
use iced::{Alignment, Element, Length, Task};
use sotto::engine::Command;
use sotto::knock::PushInfo;
use sotto::model::{BareJid, Subscription, now_ms};
use sotto::omemo::{DeviceId, Profile};
use sotto::store::{OmemoTrust, OwnIdentity, StoredDevice};

use crate::gui::backend::Backend;
use crate::gui::context::Context;
use crate::gui::widget::{capitalized, omemo, style, time};

pub const PUSH_LINK: &str = "push-link";

#[derive(Debug, Default)]
pub struct Details {
    /// Push info typed by a tester.
    link: String,
    error: Option<String>,
    /// The contact's devices and ours, once read.
    keys: Option<Result<Keys, String>>,
}

/// What the person compares: the contact's devices and our own.
#[derive(Debug, Clone)]
pub struct Keys {
    devices: Vec<StoredDevice>,
    own: Option<OwnIdentity>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Link(String),
    Add,
    Remove,
    Fetch,
    AutoKnock(bool),
    Keys(Result<Keys, String>),
    Trust(DeviceId, OmemoTrust),
    /// A room: what notifies.
    Notify(sotto::store::RoomNotify),
    /// A room: put someone out (we moderate it).
    Kick(String),
    /// A room: leave it (its history stays), or enter it again.
    Leave,
    Rejoin,
}

impl Details {
    /// A link to add, typed for the user.
    pub fn offer(&mut self, link: String) {
        self.link = link;
        self.error = None;
    }

    /// The engine refused push info for this contact.
    pub fn rejected(&mut self, reason: String) {
        self.error = Some(reason);
    }

    /// Reads the devices (again: after a trust change).
    pub fn load(account: &BareJid, peer: &BareJid, backend: &Backend) -> Task<Message> {
        let (acc, who) = (account.to_string(), peer.to_string());
        Task::perform(
            backend.read(move |r| {
                Ok(Keys {
                    devices: r.omemo_devices(&acc, &who)?,
                    own: r.omemo_own_identity(&acc)?,
                })
            }),
            Message::Keys,
        )
    }

    pub fn update(
        &mut self,
        message: Message,
        account: &BareJid,
        peer: &BareJid,
        backend: &Backend,
    ) -> Task<Message> {
        let (account, contact) = (account.clone(), peer.clone());
        match message {
            Message::Link(s) => {
                self.link = s;
                self.error = None;
            }
            Message::Add => match parse(self.link.trim(), &contact) {
                Ok(info) => {
                    self.link.clear();
                    self.error = None;
                    // Stored by the engine, answered by PushInfoLearned.
                    backend.send(Command::AddPushInfo {
                        account,
                        contact,
                        json: info.to_json(),
                    });
                }
                Err(e) => self.error = Some(e),
            },
            // Answered by PushInfoRemoved.
            Message::Remove => backend.send(Command::RemovePushInfo { account, contact }),
            Message::Fetch => backend.send(Command::FetchPushInfo { account, contact }),
            // Answered by Event::AutoKnock.
            Message::AutoKnock(on) => backend.send(Command::SetAutoKnock {
                account,
                contact,
                on,
            }),
            Message::Keys(keys) => self.keys = Some(keys),
            // Answered by Event::RoomNotify.
            Message::Notify(notify) => backend.send(Command::SetRoomNotify {
                account,
                room: contact,
                notify,
            }),
            // Answered by Event::Moderated, and the room's Event::Occupant.
            Message::Kick(nick) => backend.send(Command::Moderate {
                account,
                room: contact,
                what: sotto::model::Moderation::Kick { nick },
                reason: None,
            }),
            // Answered by Event::RoomLeft and Event::RoomJoined.
            Message::Leave => backend.send(Command::LeaveRoom {
                account,
                room: contact,
            }),
            Message::Rejoin => backend.send(Command::JoinRoom {
                account,
                room: contact,
                nick: None,
                password: None,
            }),
            // Answered by Event::DeviceTrust, which reads them again.
            Message::Trust(device, trust) => backend.send(Command::SetDeviceTrust {
                account,
                jid: contact,
                device,
                trust,
            }),
        }
        Task::none()
    }

    /// The contact's devices with their fingerprints, and ours to compare.
    fn encryption<'a>(&'a self, name: &str) -> Column<'a, Message> {
        let mut col = Column::new().spacing(6).push(text("Encryption").size(16));
        let keys = match &self.keys {
            None => return col,
            Some(Err(e)) => return col.push(omemo::unreadable(e)),
            Some(Ok(keys)) => keys,
        };
        let shown: Vec<&StoredDevice> = keys
            .devices
            .iter()
            .filter(|d| d.active && d.identity.is_some())
            .collect();
        if shown.is_empty() {
            col = col.push(
                text(format!(
                    "No OMEMO keys of {name} known yet: they are read when you write to them."
                ))
                .size(13)
                .style(style::muted),
            );
        }
        for d in shown {
            let Some((key, trust)) = &d.identity else {
                continue;
            };
            let (word, action) = omemo::trust_words(*trust);
            let label = d
                .label
                .as_deref()
                .map(|l| format!(" · {l}"))
                .unwrap_or_default();
            col = col
                .push(
                    text(format!(
                        "{} {}{label}",
                        profile_word(d.profile),
                        d.device_id.get()
                    ))
                    .size(12)
                    .style(style::muted),
                )
                .push(text(key.fingerprint()).size(13).font(iced::Font::MONOSPACE))
                .push(
                    row![
                        text(word).size(12).width(Length::Fill),
                        button(text(action.0).size(12))
                            .padding([2, 8])
                            .style(button::secondary)
                            .on_press(Message::Trust(d.device_id, action.1)),
                    ]
                    .align_y(Alignment::Center),
                );
        }
        if let Some(own) = &keys.own {
            col = col.push(
                text(format!("Your device {}, to compare:", own.device_id.get()))
                    .size(12)
                    .style(style::muted),
            );
            col = col.push(omemo::own_fingerprints(own));
        }
        col
    }

    pub fn view<'a>(
        &'a self,
        ctx: Context<'a>,
        account: &'a BareJid,
        peer: &'a BareJid,
    ) -> Element<'a, Message> {
        let name = ctx.name(account, peer);
        if let Some(room) = ctx.people.room(account, peer) {
            return super::room_details::view(room, &name, peer.as_str());
        }
        let contact = ctx.people.contact(account, peer);
        let mut info = Column::new().spacing(6);
        info = info.push(
            text(match contact.and_then(|c| c.contact.as_ref()) {
                Some(c) => match c.subscription {
                    Subscription::Both => "You see each other's presence.",
                    Subscription::To => "You see their presence; they do not see yours.",
                    Subscription::From => "They see your presence; you do not see theirs.",
                    Subscription::None if c.pending_out => {
                        "You asked to see their presence; no answer yet."
                    }
                    Subscription::None => "Neither of you sees the other's presence.",
                },
                None => "Not in your contacts.",
            })
            .size(13),
        );
        if let Some(c) = contact {
            // Resource names are often random strings: count devices instead.
            let presence = capitalized(style::presence_word(c.availability()));
            let line = match c.resources.values().filter(|a| a.is_online()).count() {
                0 => "Offline on every device.".to_owned(),
                1 => format!("{presence} on one device."),
                n => format!("{presence} on {n} devices."),
            };
            info = info.push(text(line).size(13).style(style::muted));
        }
        info = info.push(self.encryption(&name));
        info = info.push(text("Knocks").size(16));
        match contact.and_then(|c| c.push.as_ref()) {
            Some(p) => {
                info = info.push(text(format!("Relay: {}", p.host)).size(13)).push(
                    text(format!(
                        "{} token{}",
                        p.tokens,
                        if p.tokens == 1 { "" } else { "s" }
                    ))
                    .size(13),
                );
                if let Some(result) = &p.last_result {
                    let when = p
                        .last_knock_at
                        .map(|t| format!(" ({})", time::short(t, now_ms())))
                        .unwrap_or_default();
                    info = info.push(
                        text(format!("Last knock: {result}{when}"))
                            .size(13)
                            .style(style::muted),
                    );
                }
                info = info
                    .push(
                        toggler(p.auto_knock)
                            .label("Knock by itself when I write while they are offline")
                            .text_size(13)
                            .on_toggle(Message::AutoKnock),
                    )
                    .push(
                        row![
                            button(text("Fetch again").size(13))
                                .style(button::secondary)
                                .on_press(Message::Fetch),
                            button(text("Remove").size(13))
                                .style(button::danger)
                                .on_press(Message::Remove),
                        ]
                        .spacing(6),
                    );
            }
            None => {
                info = info
                    .push(
                        text(format!(
                            "{name} has not shared push info, so their phone cannot be knocked."
                        ))
                        .size(13)
                        .style(style::muted),
                    )
                    .push(
                        button(text("Look for it").size(13))
                            .style(button::secondary)
                            .on_press(Message::Fetch),
                    );
            }
        }
        info = info
            .push(text("Add push info by hand (testers)").size(13))
            .push(
                text_input("xmpp: knock link, or ENDPOINT TOKEN", &self.link)
                    .id(PUSH_LINK)
                    .on_input(Message::Link)
                    .on_submit(Message::Add)
                    .size(13)
                    .padding(6),
            );
        if let Some(e) = &self.error {
            info = info.push(text(e.as_str()).size(12).style(style::danger));
        }
        let head = column![
            style::avatar(&name, peer.as_str(), 64.0, None),
            text(name.clone()).size(18),
            text(peer.as_str()).size(13).style(style::muted),
        ]
        .spacing(8)
        .align_x(Alignment::Center)
        .width(Length::Fill);
        container(scrollable(column![head, info].spacing(12).padding(12)))
            .width(Length::Fixed(300.0))
            .height(Length::Fill)
            .style(style::sidebar)
            .into()
    }
}

fn profile_word(profile: Profile) -> &'static str {
    match profile {
        Profile::Legacy => "Legacy device",
        Profile::Omemo2 => "OMEMO 2 device",
    }
}

/// A tester pastes an `xmpp:` knock link or `ENDPOINT TOKEN`.
fn parse(input: &str, contact: &BareJid) -> Result<PushInfo, String> {
    if input.starts_with("xmpp:") {
        return match PushInfo::from_xmpp_uri(input) {
            Ok((jid, info)) if jid == contact.as_str() => Ok(info),
            Ok((jid, _)) => Err(format!("This link is for {jid}, not {contact}.")),
            Err(e) => Err(e.to_string()),
        };
    }
    let mut parts = input.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some(endpoint), Some(token)) => sotto::knock::Token::parse(token)
            .and_then(|t| PushInfo::new(endpoint, vec![t]))
            .map_err(|e| e.to_string()),
        _ => Err(
            "Paste a knock link (xmpp:…?knock;…), or the endpoint and a token \
                  separated by a space."
                .into(),
        ),
    }
}
