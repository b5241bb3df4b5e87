//! The engine's events: what they change on screen.

#[allow(clippy::wildcard_imports)]
use super::*;

impl App {
    pub(super) fn engine_events(&mut self, events: Vec<Event>) -> Task<Message> {
        let mut tasks = Vec::new();
        let mut list_changed = false;
        for event in events {
            list_changed |= self.people.apply(&event);
            match event {
                Event::Connection { account, state } => {
                    if self.sign_in.follow(&account, &state) {
                        tasks.push(self.save_signed_in());
                    }
                    if let ConnectionState::Failed { reason, .. } = &state
                        && self.config.account(&account).is_some()
                    {
                        self.banner = Some(format!(
                            "{account} is offline: {reason}. See Settings to fix it."
                        ));
                    }
                }
                Event::Message { account, message } => {
                    tasks.push(self.arrived(&account, vec![message]));
                }
                Event::Corrected {
                    account, message, ..
                } => {
                    if let Some(chat) = &mut self.chat
                        && chat.account == account
                    {
                        chat.merge([message]);
                    }
                }
                Event::Archived { account, messages } => {
                    if let Some(chat) = &mut self.chat
                        && chat.account == account
                    {
                        chat.merge(messages);
                    }
                }
                Event::MessageState { account, id, state } => {
                    if let Some(chat) = &mut self.chat
                        && chat.account == account
                    {
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
                Event::MessageError {
                    reason, id: None, ..
                } => {
                    self.banner = Some(reason);
                }
                Event::PushInfoLearned {
                    account, contact, ..
                }
                | Event::Knocked {
                    account, contact, ..
                } => tasks.push(self.load_push(account, contact)),
                Event::PushInfoRejected {
                    account,
                    contact,
                    reason,
                } => {
                    if let Some(chat) = &mut self.chat
                        && chat.account == account
                        && chat.peer == contact
                    {
                        chat.push_error = Some(reason);
                    }
                }
                Event::PushInfoPublished {
                    error: Some(error), ..
                } => self.banner = Some(error),
                Event::PushInfoRemoved {
                    account, contact, ..
                } => tasks.push(self.load_push(account, contact)),
                Event::PasswordStored {
                    account,
                    store,
                    error,
                    ..
                } => tasks.push(self.password_stored(&account, store, error)),
                Event::AccountForgotten { account, error } => {
                    tasks.push(
                        self.settings(SettingsMessage::Removed(account, error.map_or(Ok(()), Err))),
                    );
                }
                Event::RosterFailed { account, reason } => {
                    self.banner = Some(format!("{account}: {reason}"));
                }
                _ => {}
            }
        }
        if list_changed {
            tasks.push(self.reload_conversations());
        }
        Task::batch(tasks)
    }

    /// New messages in the store: show them, mark them read or notify.
    pub(super) fn arrived(
        &mut self,
        account: &BareJid,
        messages: Vec<StoredMessage>,
    ) -> Task<Message> {
        let mut tasks = Vec::new();
        for m in messages {
            let open = self.chat.as_ref().is_some_and(|c| c.is(account, &m.peer));
            let incoming = m.direction == Direction::In;
            if open {
                if let Some(chat) = &mut self.chat {
                    chat.merge([m.clone()]);
                    if chat.at_bottom {
                        tasks.push(to_newest());
                    }
                }
                if incoming && self.focused {
                    tasks.push(self.mark_open_read());
                }
            }
            if incoming && !(open && self.focused) && self.prefs.notifications && !self.headless {
                tasks.push(self.notify(account, &m));
            }
        }
        Task::batch(tasks)
    }

    pub(super) fn notify(&self, account: &BareJid, m: &StoredMessage) -> Task<Message> {
        let Some(backend) = &self.backend else {
            return Task::none();
        };
        let Ok(peer) = m.peer.parse::<BareJid>() else {
            return Task::none();
        };
        let notice = Notice {
            title: self.people.display_name(account, &peer),
            body: (!self.prefs.hide_content).then(|| m.body.clone()),
        };
        let account = account.clone();
        Task::perform(
            backend.blocking(move || notify::show_and_wait(&notice)),
            move |clicked| {
                if clicked == Some(true) {
                    Message::NotificationClicked(account.clone(), peer.clone())
                } else {
                    Message::Tick
                }
            },
        )
    }

    pub(super) fn window_task(&self) -> Option<Task<Message>> {
        if self.headless {
            return None;
        }
        Some(window::latest().and_then(window::gain_focus))
    }

    /// XEP-0352: the server may hold back unimportant traffic while the
    /// window is not in use.
    pub(super) fn client_active(&self, active: bool) {
        if let Some(b) = &self.backend {
            b.send(Command::SetClientActive { active });
        }
    }

    pub(super) fn mark_open_read(&mut self) -> Task<Message> {
        let (Some(chat), Some(b)) = (&self.chat, &self.backend) else {
            return Task::none();
        };
        let unread = self.conversations.iter().any(|c| {
            chat.is(&c.account.parse().unwrap_or(chat.account.clone()), &c.peer) && c.unread > 0
        });
        let newest_incoming = chat
            .messages
            .iter()
            .rev()
            .find(|m| m.direction == Direction::In)
            .is_some();
        if !unread && !newest_incoming {
            return Task::none();
        }
        b.send(Command::MarkRead {
            account: chat.account.clone(),
            peer: chat.peer.clone(),
        });
        for c in &mut self.conversations {
            if chat.is(&chat.account, &c.peer) && c.account == chat.account.as_str() {
                c.unread = 0;
            }
        }
        Task::none()
    }
}
