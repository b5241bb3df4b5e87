//! The open chat: loading and paging, the composer, push info.

#[allow(clippy::wildcard_imports)]
use super::*;

impl App {
    pub(super) fn open(
        &mut self,
        account: BareJid,
        peer: BareJid,
        at: Option<i64>,
    ) -> Task<Message> {
        let Some(backend) = self.backend.clone() else {
            return Task::none();
        };
        self.overlay = None;
        self.screen = Screen::Chats;
        let same = self
            .chat
            .as_ref()
            .is_some_and(|c| c.is(&account, peer.as_str()));
        if !same || at.is_some() {
            let mut chat = Chat::new(account.clone(), peer.clone());
            chat.highlight = at;
            chat.at_bottom = at.is_none();
            self.chat = Some(chat);
        }
        let (acc, who) = (account.to_string(), peer.to_string());
        let load = Task::perform(
            backend.read(move |s| match at {
                // Around the message: a page before it and a page after.
                Some(id) => {
                    let all = s.messages_before(&acc, &who, None, usize::MAX)?;
                    let pos = all.iter().position(|m| m.id == id).unwrap_or(all.len());
                    let start = pos.saturating_sub(PAGE);
                    let end = (pos + PAGE).min(all.len());
                    Ok(all[start..end].to_vec())
                }
                None => s.messages_before(&acc, &who, None, PAGE),
            }),
            {
                let (account, peer) = (account.clone(), peer.clone());
                move |result| Message::Page {
                    account: account.clone(),
                    peer: peer.clone(),
                    older: false,
                    result,
                }
            },
        );
        let focus = operation::focus(COMPOSER);
        let read = self.mark_open_read();
        let push = self.load_push(account, peer);
        Task::batch([load, focus, read, push])
    }

    pub(super) fn page(
        &mut self,
        account: &BareJid,
        peer: &BareJid,
        older: bool,
        result: Result<Vec<StoredMessage>, String>,
    ) -> Task<Message> {
        let Some(chat) = &mut self.chat else {
            return Task::none();
        };
        if !chat.is(account, peer.as_str()) {
            return Task::none();
        }
        match result {
            Ok(page) if older => chat.prepend(page),
            Ok(page) => {
                if page.len() < PAGE && chat.highlight.is_none() {
                    chat.at_start = true;
                }
                chat.merge(page);
                if let Some(id) = chat.highlight {
                    let pos = chat.messages.iter().position(|m| m.id == id).unwrap_or(0);
                    // The list is anchored at the bottom: 0 is the newest.
                    let y = 1.0 - pos as f32 / chat.messages.len().max(1) as f32;
                    return operation::snap_to(MESSAGES, scrollable::RelativeOffset { x: 0.0, y });
                }
                return to_newest();
            }
            Err(e) => {
                chat.loading_older = false;
                self.banner = Some(format!("Sotto could not read this conversation: {e}"));
            }
        }
        Task::none()
    }

    pub(super) fn scrolled(&mut self, viewport: scrollable::Viewport) -> Task<Message> {
        let Some(chat) = &mut self.chat else {
            return Task::none();
        };
        // Anchored at the bottom: the offset counts from the newest message,
        // so older pages added on top do not move what the user reads.
        chat.at_bottom = viewport.absolute_offset().y < 40.0;
        let near_top = viewport.absolute_offset_reversed().y < 200.0;
        if !near_top || chat.at_start || chat.loading_older {
            return Task::none();
        }
        let Some(backend) = &self.backend else {
            return Task::none();
        };
        let Some(oldest) = chat.messages.first().map(StoredMessage::cursor) else {
            return Task::none();
        };
        chat.loading_older = true;
        let (acc, who) = (chat.account.to_string(), chat.peer.to_string());
        let (account, peer) = (chat.account.clone(), chat.peer.clone());
        Task::perform(
            backend.read(move |s| s.messages_before(&acc, &who, Some(oldest), PAGE)),
            move |result| Message::Page {
                account: account.clone(),
                peer: peer.clone(),
                older: true,
                result,
            },
        )
    }

    pub(super) fn compose(&mut self, action: text_editor::Action) -> Task<Message> {
        let (Some(chat), Some(backend)) = (&mut self.chat, &self.backend) else {
            return Task::none();
        };
        let edit = action.is_edit();
        chat.composer.perform(action);
        if !edit || chat.editing.is_some() {
            return Task::none();
        }
        if chat.text().trim().is_empty() {
            // Everything deleted: no longer composing.
            if chat.composing_since.take().is_some() {
                backend.send(Command::SetChatState {
                    account: chat.account.clone(),
                    to: chat.peer.clone(),
                    state: ChatState::Active,
                });
            }
            return Task::none();
        }
        // Composing once per burst of typing, not once per key.
        let now = std::time::Instant::now();
        if chat
            .composing_since
            .is_none_or(|t| now.duration_since(t) > TYPING_REPEAT)
        {
            chat.composing_since = Some(now);
            backend.send(Command::SetChatState {
                account: chat.account.clone(),
                to: chat.peer.clone(),
                state: ChatState::Composing,
            });
        }
        chat.typing_generation += 1;
        let generation = chat.typing_generation;
        Task::perform(sleep(TYPING_PAUSE), move |()| {
            Message::TypingPause(generation)
        })
    }

    pub(super) fn send(&mut self) -> Task<Message> {
        let (Some(chat), Some(backend)) = (&mut self.chat, &self.backend) else {
            return Task::none();
        };
        let body = chat.text().trim_end().to_owned();
        if body.trim().is_empty() {
            // Enter in an empty box does nothing: a knock wakes someone's
            // phone, so it takes a deliberate click on Knock.
            return Task::none();
        }
        match chat.editing.take() {
            Some(replaces) => backend.send(Command::CorrectMessage {
                account: chat.account.clone(),
                to: chat.peer.clone(),
                replaces,
                body,
            }),
            None => backend.send(Command::SendMessage {
                account: chat.account.clone(),
                message: OutgoingMessage {
                    id: Engine::new_message_id(),
                    to: chat.peer.clone(),
                    body,
                },
            }),
        }
        chat.composer = text_editor::Content::new();
        // The message itself carries <active/>.
        chat.composing_since = None;
        chat.typing_generation += 1;
        chat.at_bottom = true;
        to_newest()
    }

    pub fn send_button(&self) -> Option<SendButton> {
        let chat = self.chat.as_ref()?;
        let key = (chat.account.clone(), chat.peer.clone());
        Some(chat.send_button(
            self.people.contacts.get(&key),
            self.people.knocks.get(&key),
            &self.people.display_name(&chat.account, &chat.peer),
            now_ms(),
        ))
    }

    pub(super) fn knock(&mut self) -> Task<Message> {
        let (Some(chat), Some(backend)) = (&self.chat, &self.backend) else {
            return Task::none();
        };
        backend.send(Command::Knock {
            account: chat.account.clone(),
            contact: chat.peer.clone(),
        });
        Task::none()
    }

    /// A failed message goes out again as a new message (the failed one
    /// stays, marked, so nothing disappears).
    pub(super) fn retry(&mut self, id: i64) -> Task<Message> {
        let (Some(chat), Some(backend)) = (&self.chat, &self.backend) else {
            return Task::none();
        };
        if let Some(m) = chat.messages.iter().find(|m| m.id == id) {
            backend.send(Command::SendMessage {
                account: chat.account.clone(),
                message: OutgoingMessage {
                    id: Engine::new_message_id(),
                    to: chat.peer.clone(),
                    body: m.body.clone(),
                },
            });
        }
        Task::none()
    }

    pub(super) fn load_push(&self, account: BareJid, contact: BareJid) -> Task<Message> {
        let Some(backend) = &self.backend else {
            return Task::none();
        };
        let (acc, who) = (account.to_string(), contact.to_string());
        Task::perform(backend.read(move |s| s.push_info(&acc, &who)), move |r| {
            Message::PushLoaded(
                (account.clone(), contact.clone()),
                r.ok().flatten().as_ref().map(PushSummary::from),
            )
        })
    }

    /// A tester pastes an `xmpp:` knock link or `ENDPOINT TOKEN`.
    pub(super) fn add_push(&mut self) -> Task<Message> {
        let (Some(chat), Some(backend)) = (&mut self.chat, &self.backend) else {
            return Task::none();
        };
        let input = chat.push_link.trim().to_owned();
        let parsed: Result<PushInfo, String> = if input.starts_with("xmpp:") {
            match PushInfo::from_xmpp_uri(&input) {
                Ok((jid, info)) if jid == chat.peer.as_str() => Ok(info),
                Ok((jid, _)) => Err(format!("This link is for {jid}, not {}.", chat.peer)),
                Err(e) => Err(e.to_string()),
            }
        } else {
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
        };
        match parsed {
            Ok(info) => {
                chat.push_link.clear();
                chat.push_error = None;
                // The engine stores it and answers with PushInfoLearned.
                backend.send(Command::AddPushInfo {
                    account: chat.account.clone(),
                    contact: chat.peer.clone(),
                    json: info.to_json(),
                });
                Task::none()
            }
            Err(e) => {
                chat.push_error = Some(e);
                Task::none()
            }
        }
    }

    pub(super) fn remove_push(&mut self) -> Task<Message> {
        let (Some(chat), Some(backend)) = (&self.chat, &self.backend) else {
            return Task::none();
        };
        // Answered by PushInfoRemoved.
        backend.send(Command::RemovePushInfo {
            account: chat.account.clone(),
            contact: chat.peer.clone(),
        });
        Task::none()
    }
}
