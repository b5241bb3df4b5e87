//! Contacts: requests to answer, adding someone, and everyone with their
//! presence (rename, block, remove, chat).

use iced::widget::{Column, button, column, container, row, scrollable, text, text_input};
use iced::{Alignment, Element, Length, Task};
use sotto::engine::Command;
use sotto::model::BareJid;

use crate::gui::backend::Backend;
use crate::gui::context::Context;
use crate::gui::people::Key;
use crate::gui::widget::style;

#[derive(Debug, Default)]
pub struct Contacts {
    jid: String,
    name: String,
    error: Option<String>,
    /// The contact being renamed and the name typed so far.
    renaming: Option<(Key, String)>,
}

#[derive(Debug, Clone)]
pub enum Message {
    NewJid(String),
    NewName(String),
    Add,
    Answer(BareJid, BareJid, bool),
    StartRename(BareJid, BareJid),
    RenameText(String),
    SaveName,
    Remove(BareJid, BareJid),
    Block(BareJid, BareJid, bool),
    Chat(BareJid, BareJid),
    /// An invitation into a room: accepted (to the join dialog) or not.
    Invitation(BareJid, BareJid, bool),
    Back,
}

pub enum Event {
    Chat(BareJid, BareJid),
    /// Accepted: the join dialog, filled in from the invitation.
    JoinRoom(BareJid, sotto::model::Invitation),
    /// Declined: no longer to be shown.
    Declined(BareJid, BareJid),
    /// A request was answered: no longer to be shown.
    Answered(BareJid, BareJid),
    Back,
}

/// The address field of "Add a contact".
pub const ADD_JID: &str = "add-contact";

impl Contacts {
    /// An address from a link (`?roster`), typed in "Add a contact" for
    /// the user to add.
    pub fn offer(&mut self, jid: &BareJid, name: Option<String>) -> Task<Message> {
        self.jid = jid.to_string();
        self.name = name.unwrap_or_default();
        self.error = None;
        iced::widget::operation::focus(ADD_JID)
    }

    pub fn update(
        &mut self,
        message: Message,
        ctx: Context<'_>,
        backend: &Backend,
    ) -> (Task<Message>, Option<Event>) {
        match message {
            Message::NewJid(s) => self.jid = s,
            Message::NewName(s) => self.name = s,
            Message::Add => {
                let account = ctx.config.accounts.first().map(|a| a.jid.clone());
                match (account, self.jid.trim().parse::<BareJid>()) {
                    (Some(account), Ok(jid)) if jid.node().is_some() => {
                        let name = Some(self.name.trim().to_owned()).filter(|n| !n.is_empty());
                        backend.send(Command::AddContact { account, jid, name });
                        *self = Self::default();
                    }
                    (None, _) => self.error = Some("Sign in to an account first.".into()),
                    _ => {
                        self.error = Some("Type the whole address, like bob@example.org.".into());
                    }
                }
            }
            Message::Answer(account, jid, approve) => {
                backend.send(Command::AnswerSubscription {
                    account: account.clone(),
                    jid: jid.clone(),
                    approve,
                });
                if approve {
                    // Ask back, so both see each other.
                    backend.send(Command::AddContact {
                        account: account.clone(),
                        jid: jid.clone(),
                        name: None,
                    });
                }
                return (Task::none(), Some(Event::Answered(account, jid)));
            }
            Message::StartRename(account, jid) => {
                let current = ctx
                    .people
                    .contact(&account, &jid)
                    .and_then(|c| c.contact.as_ref())
                    .and_then(|c| c.name.clone())
                    .unwrap_or_default();
                self.renaming = Some(((account, jid), current));
                return (iced::widget::operation::focus("rename"), None);
            }
            Message::RenameText(name) => {
                if let Some((_, typed)) = &mut self.renaming {
                    *typed = name;
                }
            }
            Message::SaveName => {
                if let Some(((account, jid), name)) = self.renaming.take() {
                    let name = Some(name.trim().to_owned()).filter(|n| !n.is_empty());
                    backend.send(Command::RenameContact { account, jid, name });
                }
            }
            Message::Remove(account, jid) => {
                backend.send(Command::RemoveContact { account, jid });
            }
            Message::Block(account, jid, blocked) => backend.send(Command::BlockContact {
                account,
                jid,
                blocked,
            }),
            Message::Chat(account, jid) => return (Task::none(), Some(Event::Chat(account, jid))),
            Message::Invitation(account, room, accept) => {
                let key = (account.clone(), room.clone());
                let Some((invitation, _)) = ctx.people.invitations.get(&key).cloned() else {
                    return (Task::none(), None);
                };
                if accept {
                    return (Task::none(), Some(Event::JoinRoom(account, invitation)));
                }
                backend.send(Command::DeclineInvitation {
                    account: account.clone(),
                    invitation,
                });
                return (Task::none(), Some(Event::Declined(account, room)));
            }
            Message::Back => return (Task::none(), Some(Event::Back)),
        }
        (Task::none(), None)
    }

    pub fn view<'a>(&'a self, ctx: Context<'a>) -> Element<'a, Message> {
        let mut col = column![
            row![
                text("Contacts").size(24).width(Length::Fill),
                button(text("Back to chats"))
                    .style(button::secondary)
                    .on_press(Message::Back),
            ]
            .align_y(Alignment::Center)
        ]
        .spacing(14);
        if !ctx.people.requests.is_empty() || !ctx.people.invitations.is_empty() {
            col = col.push(requests(ctx));
        }
        let mut add = column![
            text("Add a contact").size(17),
            row![
                text_input("Address, like bob@example.org", &self.jid)
                    .id(ADD_JID)
                    .on_input(Message::NewJid)
                    .on_submit(Message::Add)
                    .padding(8),
                text_input("Name (optional)", &self.name)
                    .on_input(Message::NewName)
                    .on_submit(Message::Add)
                    .padding(8)
                    .width(Length::Fixed(180.0)),
                button(text("Add")).on_press(Message::Add),
            ]
            .spacing(8),
            text("They will be asked to let you see when they are online.")
                .size(12)
                .style(style::muted),
        ]
        .spacing(6);
        if let Some(e) = &self.error {
            add = add.push(text(e.as_str()).size(13).style(style::danger));
        }
        col = col.push(add).push(text("Everyone").size(17));
        for (account, why) in &ctx.people.roster_errors {
            col = col.push(
                text(format!(
                    "The contacts of {account} could not be loaded ({why}); those shown are \
                     the ones last seen."
                ))
                .size(13)
                .style(style::danger),
            );
        }
        col = col.push(self.everyone(ctx));
        scrollable(container(col).padding(24).max_width(760)).into()
    }

    fn everyone<'a>(&'a self, ctx: Context<'a>) -> Element<'a, Message> {
        let mut list = Column::new().spacing(4);
        let mut any = false;
        for ((account, jid), state) in &ctx.people.contacts {
            let Some(contact) = &state.contact else {
                continue;
            };
            any = true;
            let name = ctx.name(account, jid);
            let mut detail = format!("{jid} · {}", style::presence_word(state.availability()));
            if contact.pending_out {
                detail.push_str(" · request sent");
            }
            if ctx.several_accounts() {
                detail.push_str(&format!(" · {account}"));
            }
            let key = (account.clone(), jid.clone());
            let blocked = ctx.people.blocked.contains(&key);
            if blocked {
                detail.push_str(" · blocked");
            }
            let title: Element<'a, Message> = match &self.renaming {
                Some((k, typed)) if *k == key => text_input("Name", typed)
                    .id("rename")
                    .on_input(Message::RenameText)
                    .on_submit(Message::SaveName)
                    .padding(4)
                    .into(),
                _ => text(name.clone()).into(),
            };
            let small = |label: &'static str| text(label).size(12);
            let (a, j) = (account.clone(), jid.clone());
            list = list.push(
                row![
                    style::avatar(&name, jid.as_str(), 32.0, Some(state.online())),
                    column![title, text(detail).size(12).style(style::muted)].width(Length::Fill),
                    button(small("Chat"))
                        .style(button::secondary)
                        .on_press(Message::Chat(a.clone(), j.clone())),
                    button(small("Rename"))
                        .style(button::secondary)
                        .on_press(Message::StartRename(a.clone(), j.clone())),
                    button(small(if blocked { "Unblock" } else { "Block" }))
                        .style(button::secondary)
                        .on_press(Message::Block(a.clone(), j.clone(), !blocked)),
                    button(small("Remove"))
                        .style(button::danger)
                        .on_press(Message::Remove(a, j)),
                ]
                .spacing(6)
                .align_y(Alignment::Center),
            );
        }
        if !any {
            list = list.push(text("Nobody yet. Add someone above.").style(style::muted));
        }
        list.into()
    }
}

fn requests<'a>(ctx: Context<'a>) -> Element<'a, Message> {
    let mut req = Column::new().spacing(6).push(text("Requests").size(17));
    for ((account, room), (invitation, from_contact)) in &ctx.people.invitations {
        let who = crate::gui::rooms::inviter(ctx.people, account, invitation, *from_contact);
        let reason = invitation
            .reason
            .as_deref()
            .map(|r| format!(": “{r}”"))
            .unwrap_or_default();
        req = req.push(
            row![
                text(format!(
                    "{who} invites you into the group chat {room}{reason}"
                ))
                .width(Length::Fill),
                button(text("Join…")).on_press(Message::Invitation(
                    account.clone(),
                    room.clone(),
                    true
                )),
                button(text("Decline"))
                    .style(button::secondary)
                    .on_press(Message::Invitation(account.clone(), room.clone(), false)),
            ]
            .spacing(8)
            .align_y(Alignment::Center),
        );
    }
    for (account, jid) in &ctx.people.requests {
        req = req.push(
            row![
                text(format!("{jid} wants to see when you are online")).width(Length::Fill),
                button(text("Accept")).on_press(Message::Answer(
                    account.clone(),
                    jid.clone(),
                    true
                )),
                button(text("Deny"))
                    .style(button::secondary)
                    .on_press(Message::Answer(account.clone(), jid.clone(), false)),
            ]
            .spacing(8)
            .align_y(Alignment::Center),
        );
    }
    container(req).padding(12).style(style::notice).into()
}
