//! The engine's events, handed to the parts they concern.

use iced::Task;
use sotto::engine::{Command, Event};
use sotto::model::{BareJid, ConnectionState, OutgoingState};
use sotto::store::{Direction, MessageState, StoredMessage};

use super::{Dashboard, Message};
use crate::gui::chat::Chat;
use crate::gui::notify::Notice;
use crate::gui::screen::sign_in;

impl Dashboard {
    pub(super) fn engine(&mut self, events: Vec<Event>) -> Task<Message> {
        let mut tasks = Vec::new();
        // The list is re-read once per batch at most, and only for what
        // cannot be applied in place.
        let mut reload = false;
        for event in events {
            self.people.apply(&event);
            match event {
                Event::Connection { account, state } => {
                    if let Some(sign_in::Event::LoggedIn(account, password)) =
                        self.sign_in.connection(&account, &state)
                    {
                        // Answered by PasswordStored.
                        self.backend
                            .send(Command::StorePassword { account, password });
                    }
                    if let ConnectionState::Failed { reason, .. } = &state
                        && self.config.account(&account).is_some()
                    {
                        self.banner = Some(format!(
                            "{account} is offline: {reason}. See Settings to fix it."
                        ));
                    }
                    // A first connection makes the device's keys.
                    if let ConnectionState::Online { .. } = &state {
                        tasks.push(self.settings_keys(Some(&account)));
                    }
                }
                Event::OwnDeviceList { account } => {
                    tasks.push(self.settings_keys(Some(&account)));
                }
                Event::OwnDeviceRemoved {
                    account,
                    device,
                    error,
                } => {
                    self.settings.device_removed(&account, device, error);
                    tasks.push(self.settings_keys(Some(&account)));
                }
                Event::Message { account, message } => tasks.push(self.arrived(account, message)),
                Event::Archived { account, messages } => {
                    if let Some(chat) = self.chat.as_mut().filter(|c| c.account == account) {
                        tasks.push(chat.archived(messages).map(Message::Chat));
                    }
                    reload = true;
                }
                Event::Corrected {
                    account, message, ..
                } => {
                    if let Some(chat) = self.chat.as_mut().filter(|c| c.account == account) {
                        chat.corrected(message);
                    }
                    reload = true;
                }
                Event::MessageState { account, id, state } => {
                    if let Some(chat) = self.chat.as_mut().filter(|c| c.account == account) {
                        let (state, failure) = match state {
                            OutgoingState::Queued => (MessageState::Queued, None),
                            OutgoingState::Sent => (MessageState::Sent, None),
                            OutgoingState::Acked => (MessageState::Acked, None),
                            OutgoingState::Delivered => (MessageState::Delivered, None),
                            OutgoingState::Read => (MessageState::Read, None),
                            OutgoingState::Failed { reason } => {
                                (MessageState::Failed, Some(reason))
                            }
                        };
                        chat.set_state(&id, state, failure);
                    }
                }
                Event::ConversationRead { account, peer } => {
                    self.conversations.read(&account, &peer);
                }
                Event::CatchUp { done: true, .. } => reload = true,
                Event::MessageError {
                    reason, id: None, ..
                } => self.banner = Some(reason),
                Event::PushInfoLearned {
                    account, contact, ..
                }
                | Event::Knocked {
                    account, contact, ..
                }
                | Event::PushInfoRemoved {
                    account, contact, ..
                } => tasks.push(self.load_push(account, contact)),
                Event::PushInfoRejected {
                    account,
                    contact,
                    reason,
                } => {
                    if let Some(chat) = self
                        .chat
                        .as_mut()
                        .filter(|c| c.is(&account, contact.as_str()))
                    {
                        chat.push_rejected(reason);
                    }
                }
                Event::PushInfoPublished {
                    error: Some(error), ..
                } => self.banner = Some(error),
                Event::PasswordStored {
                    account,
                    store,
                    error,
                    ..
                } => match self.sign_in.password_stored(&account, store, error) {
                    Some(Ok(new)) => tasks.push(self.save_new_account(new)),
                    Some(Err(e)) => self.sign_in.failed(e),
                    None => {}
                },
                Event::AccountForgotten { account, error } => {
                    tasks.push(self.forgotten(account, error));
                }
                Event::MessageEncrypted { account, peer, id } => {
                    if let Some(chat) = self.chat.as_mut().filter(|c| c.is(&account, peer.as_str()))
                    {
                        chat.set_encrypted(&id);
                        // The first one locks the chat on.
                        tasks.push(chat.read_encryption(&self.backend).map(Message::Chat));
                    }
                }
                Event::DeviceTrust {
                    account,
                    jid,
                    error,
                    ..
                } => {
                    if let Some(e) = error {
                        self.banner = Some(e);
                    }
                    if jid == account {
                        tasks.push(self.settings_keys(Some(&account)));
                    }
                    if let Some(chat) = self.chat.as_ref().filter(|c| c.is(&account, jid.as_str()))
                    {
                        tasks.push(chat.trust_changed(&self.backend).map(Message::Chat));
                    }
                }
                Event::RoomJoined { account, room, .. } => {
                    reload = true;
                    if self
                        .overlay
                        .as_ref()
                        .and_then(|o| o.joining())
                        .is_some_and(|r| *r == room)
                    {
                        tasks.push(self.open(account, room, None));
                    }
                }
                Event::RoomJoinFailed {
                    room,
                    reason,
                    refusal,
                    ..
                } => {
                    match self
                        .overlay
                        .as_mut()
                        .filter(|o| o.joining().is_some_and(|r| *r == room))
                    {
                        Some(o) => {
                            tasks.push(o.join_refused(&refusal, &reason).map(Message::Overlay))
                        }
                        None => {
                            self.banner = Some(format!("{room} did not let you in: {reason}."));
                        }
                    }
                }
                // A contact's invitation is said; a stranger's only waits
                // among the requests.
                Event::Invitation {
                    invitation,
                    from_contact: true,
                    account,
                } => {
                    let who = crate::gui::rooms::inviter(&self.people, &account, &invitation, true);
                    self.banner = Some(format!(
                        "{who} invites you into the group chat {}. See Contacts to join.",
                        invitation.room
                    ));
                }
                Event::Moderated {
                    room,
                    error: Some(error),
                    ..
                } => {
                    self.banner = Some(format!("{room}: {error}."));
                }
                Event::RoomLeft { .. } | Event::RoomInfo { .. } | Event::RoomNotify { .. } => {
                    reload = true;
                }
                Event::ChatEncryption { account, peer, .. } => {
                    if let Some(chat) = self.chat.as_ref().filter(|c| c.is(&account, peer.as_str()))
                    {
                        tasks.push(chat.read_encryption(&self.backend).map(Message::Chat));
                    }
                }
                _ => {}
            }
        }
        if reload {
            tasks.push(self.reload_conversations());
        }
        Task::batch(tasks)
    }

    /// A message new in the store: into the open chat and the list,
    /// marked read when it is seen, notified when it is not.
    fn arrived(&mut self, account: BareJid, m: StoredMessage) -> Task<Message> {
        let incoming = m.direction == Direction::In;
        let mut open = false;
        let mut seen = false;
        let mut tasks = Vec::new();
        if let Some(chat) = self.chat.as_mut().filter(|c| c.is(&account, &m.peer)) {
            open = true;
            tasks.push(chat.arrived(m.clone()).map(Message::Chat));
            // The first encrypted message locks the chat on.
            if m.encrypted {
                tasks.push(chat.read_encryption(&self.backend).map(Message::Chat));
            }
            seen = self.focused && chat.following();
        }
        self.conversations.message(&account, &m, seen);
        if incoming && seen {
            // Seen as it came: read soon (it never counted as unread here).
            self.read_due = self.chat.as_ref().map(Chat::key);
            tasks.push(self.seen());
        }
        // In a room, what notifies is the room's setting: every message,
        // those that name us, or none.
        let wanted = m.peer.parse::<BareJid>().ok().is_none_or(|peer| {
            self.people
                .room(&account, &peer)
                .is_none_or(|r| r.notifies(&m.body))
        });
        if incoming
            && wanted
            && !(open && self.focused)
            && self.prefs.notifications
            && !self.prefs.do_not_disturb
        {
            self.notify(account, &m);
        }
        Task::batch(tasks)
    }

    fn notify(&self, account: BareJid, m: &StoredMessage) {
        let Ok(peer) = m.peer.parse::<BareJid>() else {
            return;
        };
        let name = self.people.display_name(&account, &peer);
        let title = match self.people.room(&account, &peer) {
            Some(_) => match crate::gui::chat::nick_of(m) {
                "" => name,
                nick => format!("{nick} in {name}"),
            },
            None => name,
        };
        self.notifier.arrived(Notice {
            title,
            body: (!self.prefs.hide_content).then(|| m.body.clone()),
            sound: self.prefs.notification_sound,
            key: (account, peer),
        });
    }
}
