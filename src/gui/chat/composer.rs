//! The box a message is written in, its Send (or Knock) button, and what
//! the contact is told while we type (XEP-0085).

use std::time::{Duration, Instant};

use iced::keyboard::{Key, key::Named};
use iced::widget::{button, row, text, text_editor};
use iced::{Alignment, Element, Length, Task};
use sotto::engine::{Command, Engine};
use sotto::knock::cooldown_left;
use sotto::model::{BareJid, ChatState, OutgoingMessage};
use sotto::store::StoredMessage;

use crate::gui::backend::Backend;
use crate::gui::people::{ContactState, KnockStatus};
use crate::gui::widget::{tip, tip_at};

pub const COMPOSER: &str = "composer";

/// After this long without a key, the contact is told we paused.
const TYPING_PAUSE: Duration = Duration::from_secs(5);
/// While typing, "composing" is said again this often at most.
const TYPING_REPEAT: Duration = Duration::from_secs(20);

#[derive(Debug, Default)]
pub struct Composer {
    content: text_editor::Content,
    /// Our message being corrected (XEP-0308), by its origin id.
    editing: Option<String>,
    /// When we last told the contact we are composing.
    composing_since: Option<Instant>,
    /// Bumped on each key, so only the last pause timer counts.
    typing_generation: u64,
}

#[derive(Debug, Clone)]
pub enum Message {
    Edit(text_editor::Action),
    Send,
    Knock,
    EditLast,
    /// No key pressed for a while.
    TypingPause(u64),
}

pub enum Event {
    /// A message (or a correction) went to the engine.
    Sent,
}

/// What the composer's main button does now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendButton {
    Send,
    /// Knock the contact's phone; `wait` says why it cannot right now.
    Knock {
        wait: Option<String>,
    },
    /// Nothing to do; the tooltip says why.
    Disabled(String),
}

/// The conversation the composer writes in.
pub struct Target<'a> {
    pub account: &'a BareJid,
    pub peer: &'a BareJid,
}

impl Target<'_> {
    fn chat_state(&self, backend: &Backend, state: ChatState) {
        backend.send(Command::SetChatState {
            account: self.account.clone(),
            to: self.peer.clone(),
            state,
        });
    }
}

impl Composer {
    pub fn text(&self) -> String {
        self.content.text()
    }

    pub fn is_empty(&self) -> bool {
        self.content.text().trim().is_empty()
    }

    pub fn editing(&self) -> bool {
        self.editing.is_some()
    }

    pub fn update(
        &mut self,
        message: Message,
        to: Target<'_>,
        last_own: Option<&StoredMessage>,
        backend: &Backend,
    ) -> (Task<Message>, Option<Event>) {
        match message {
            Message::Edit(action) => return (self.edit(action, &to, backend), None),
            Message::Send => return (Task::none(), self.send(&to, backend)),
            Message::Knock => backend.send(Command::Knock {
                account: to.account.clone(),
                contact: to.peer.clone(),
            }),
            Message::EditLast => {
                if self.is_empty()
                    && let Some(last) = last_own
                {
                    self.editing = last.origin_id.clone();
                    self.content = text_editor::Content::with_text(&last.body);
                    self.content
                        .perform(text_editor::Action::Move(text_editor::Motion::DocumentEnd));
                }
            }
            Message::TypingPause(generation) => {
                if self.typing_generation == generation && self.composing_since.take().is_some() {
                    to.chat_state(backend, ChatState::Paused);
                }
            }
        }
        (Task::none(), None)
    }

    /// Text from a link (`?message;body=…`), for the user to read and
    /// send: after what they had typed, never instead of it. A correction
    /// in progress stays one.
    pub fn prefill(&mut self, body: &str) {
        let text = match self.content.text() {
            typed if typed.trim().is_empty() => body.to_owned(),
            typed => format!("{}\n{body}", typed.trim_end()),
        };
        self.content = text_editor::Content::with_text(&text);
        self.content
            .perform(text_editor::Action::Move(text_editor::Motion::DocumentEnd));
    }

    /// Esc while correcting: back to an empty box. False if there was
    /// nothing to cancel.
    pub fn cancel_edit(&mut self) -> bool {
        if self.editing.take().is_some() {
            self.content = text_editor::Content::new();
            true
        } else {
            false
        }
    }

    fn edit(
        &mut self,
        action: text_editor::Action,
        to: &Target<'_>,
        backend: &Backend,
    ) -> Task<Message> {
        let edit = action.is_edit();
        self.content.perform(action);
        if !edit || self.editing.is_some() {
            return Task::none();
        }
        if self.is_empty() {
            // Everything deleted: no longer composing.
            if self.composing_since.take().is_some() {
                to.chat_state(backend, ChatState::Active);
            }
            return Task::none();
        }
        // Composing once per burst of typing, not once per key.
        let now = Instant::now();
        if self
            .composing_since
            .is_none_or(|t| now.duration_since(t) > TYPING_REPEAT)
        {
            self.composing_since = Some(now);
            to.chat_state(backend, ChatState::Composing);
        }
        self.typing_generation += 1;
        let generation = self.typing_generation;
        Task::perform(crate::gui::backend::sleep(TYPING_PAUSE), move |()| {
            Message::TypingPause(generation)
        })
    }

    fn send(&mut self, to: &Target<'_>, backend: &Backend) -> Option<Event> {
        let body = self.text().trim_end().to_owned();
        if body.trim().is_empty() {
            // Enter in an empty box does nothing: a knock wakes someone's
            // phone, so it takes a deliberate click on Knock.
            return None;
        }
        match self.editing.take() {
            Some(replaces) => backend.send(Command::CorrectMessage {
                account: to.account.clone(),
                to: to.peer.clone(),
                replaces,
                body,
            }),
            None => backend.send(Command::SendMessage {
                account: to.account.clone(),
                message: OutgoingMessage {
                    id: Engine::new_message_id(),
                    to: to.peer.clone(),
                    body,
                    plain: false,
                },
            }),
        }
        self.content = text_editor::Content::new();
        // The message itself carries <active/>.
        self.composing_since = None;
        self.typing_generation += 1;
        Some(Event::Sent)
    }

    /// Send when there is text; Knock when the box is empty, the contact
    /// is offline and has push info; otherwise nothing, and why.
    pub fn button(
        &self,
        contact: Option<&ContactState>,
        knock: Option<&KnockStatus>,
        name: &str,
        now_ms: i64,
    ) -> SendButton {
        if !self.is_empty() {
            return SendButton::Send;
        }
        let online = contact.is_some_and(ContactState::online);
        let push = contact.and_then(|c| c.push.as_ref());
        match push {
            Some(push) if !online && push.tokens > 0 => {
                let wait = if knock == Some(&KnockStatus::Knocking) {
                    Some("Knocking…".to_owned())
                } else {
                    cooldown_left(push.last_knock_at, now_ms).map(|ms| {
                        format!(
                            "You knocked a moment ago; you can knock again in {} s",
                            (ms + 999) / 1000
                        )
                    })
                };
                SendButton::Knock { wait }
            }
            _ if online => SendButton::Disabled("Type a message".into()),
            Some(_) => SendButton::Disabled(format!(
                "{name} is offline; the push info they shared has no tokens left, so Sotto \
                 cannot knock"
            )),
            None => SendButton::Disabled(format!(
                "{name} is offline and has not shared push info, so Sotto cannot knock \
                 their phone. Messages you write wait until they come online."
            )),
        }
    }

    pub fn view<'a>(&'a self, name: &str, action: SendButton) -> Element<'a, Message> {
        let empty = self.is_empty();
        let editor = text_editor(&self.content)
            .id(COMPOSER)
            .placeholder(format!("Message {name}"))
            .on_action(Message::Edit)
            .height(Length::Shrink)
            .max_height(160)
            .padding(10)
            .key_binding(move |press| {
                let focused = matches!(press.status, text_editor::Status::Focused { .. });
                match press.key.as_ref() {
                    Key::Named(Named::Enter) if focused && !press.modifiers.shift() => {
                        Some(text_editor::Binding::Custom(Message::Send))
                    }
                    Key::Named(Named::ArrowUp) if focused && empty => {
                        Some(text_editor::Binding::Custom(Message::EditLast))
                    }
                    _ => text_editor::Binding::from_key_press(press),
                }
            });
        let pad = [10, 18];
        let action: Element<'a, Message> = match action {
            SendButton::Send => button(text(if self.editing() { "Save" } else { "Send" }))
                .padding(pad)
                .on_press(Message::Send)
                .into(),
            SendButton::Knock { wait: None } => tip(
                button(text("Knock"))
                    .padding(pad)
                    .style(button::success)
                    .on_press(Message::Knock),
                "Wake their phone through the push relay they shared",
            ),
            SendButton::Knock { wait: Some(why) } => tip_at(
                button(text("Knock")).padding(pad).style(button::success),
                why,
                iced::widget::tooltip::Position::Top,
            ),
            SendButton::Disabled(why) => tip_at(
                button(text("Send")).padding(pad),
                why,
                iced::widget::tooltip::Position::Top,
            ),
        };
        row![editor, action]
            .spacing(8)
            .align_y(Alignment::End)
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gui::people::PushSummary;
    use sotto::model::Availability;

    fn contact(online: bool, tokens: Option<usize>) -> ContactState {
        let mut c = ContactState::default();
        if online {
            c.resources.insert("phone".into(), Availability::Available);
        }
        c.push = tokens.map(|tokens| PushSummary {
            host: "relay.example".into(),
            tokens,
            last_knock_at: None,
            last_result: None,
            auto_knock: false,
        });
        c
    }

    #[test]
    fn send_turns_into_knock_only_when_it_should() {
        let mut composer = Composer::default();
        let now = 1_000_000;
        let offline_with_push = contact(false, Some(1));
        assert_eq!(
            composer.button(Some(&offline_with_push), None, "bob", now),
            SendButton::Knock { wait: None }
        );
        assert!(matches!(
            composer.button(Some(&contact(true, Some(1))), None, "bob", now),
            SendButton::Disabled(_)
        ));
        match composer.button(Some(&contact(false, None)), None, "bob", now) {
            SendButton::Disabled(why) => assert!(why.contains("not shared push info"), "{why}"),
            other => panic!("{other:?}"),
        }
        composer.content = text_editor::Content::with_text("hello");
        assert_eq!(
            composer.button(Some(&offline_with_push), None, "bob", now),
            SendButton::Send
        );
    }

    #[test]
    fn knock_waits_while_knocking_and_during_the_cooldown() {
        let composer = Composer::default();
        let now = 1_000_000;
        let mut c = contact(false, Some(2));
        assert_eq!(
            composer.button(Some(&c), Some(&KnockStatus::Knocking), "bob", now),
            SendButton::Knock {
                wait: Some("Knocking…".into())
            }
        );
        if let Some(p) = c.push.as_mut() {
            p.last_knock_at = Some(now - 10_000);
        }
        match composer.button(Some(&c), None, "bob", now) {
            SendButton::Knock { wait: Some(why) } => assert!(why.contains("20 s"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
