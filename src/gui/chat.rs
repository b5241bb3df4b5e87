//! One open conversation: its loaded messages, paging, the composer and
//! what the Send button does.

use iced::widget::text_editor;
use sotto::knock::cooldown_left;
use sotto::model::BareJid;
use sotto::store::{Direction, MessageState, StoredMessage};

use super::state::{ContactState, KnockStatus};

/// Messages per page when scrolling back through history.
pub const PAGE: usize = 50;

#[derive(Debug)]
pub struct Chat {
    pub account: BareJid,
    pub peer: BareJid,
    /// Loaded messages, oldest first.
    pub messages: Vec<StoredMessage>,
    /// The oldest message is loaded: nothing more to page.
    pub at_start: bool,
    pub loading_older: bool,
    pub composer: text_editor::Content,
    /// The message shown emphasised (a search result).
    pub highlight: Option<i64>,
    /// The view is scrolled to the newest message.
    pub at_bottom: bool,
    pub details: bool,
    /// Our message being corrected (XEP-0308), by its origin id.
    pub editing: Option<String>,
    /// Push info typed by a tester in the details.
    pub push_link: String,
    pub push_error: Option<String>,
    /// When we last told the contact we are composing.
    pub composing_since: Option<std::time::Instant>,
    /// Bumped on each key, so only the last pause timer counts.
    pub typing_generation: u64,
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

impl Chat {
    pub fn new(account: BareJid, peer: BareJid) -> Self {
        Self {
            account,
            peer,
            messages: Vec::new(),
            at_start: false,
            loading_older: false,
            composer: text_editor::Content::new(),
            highlight: None,
            at_bottom: true,
            details: false,
            editing: None,
            push_link: String::new(),
            push_error: None,
            composing_since: None,
            typing_generation: 0,
        }
    }

    pub fn is(&self, account: &BareJid, peer: &str) -> bool {
        &self.account == account && self.peer.as_str() == peer
    }

    pub fn text(&self) -> String {
        self.composer.text()
    }

    /// Adds or replaces messages, keeping order and no duplicates.
    pub fn merge(&mut self, incoming: impl IntoIterator<Item = StoredMessage>) {
        let mut changed = false;
        for m in incoming {
            if !self.is(&self.account.clone(), &m.peer) {
                continue;
            }
            match self.messages.iter_mut().find(|old| old.id == m.id) {
                Some(old) => *old = m,
                None => self.messages.push(m),
            }
            changed = true;
        }
        if changed {
            self.messages.sort_by_key(|m| (m.sent_at, m.id));
        }
    }

    /// Puts an older page in front.
    pub fn prepend(&mut self, page: Vec<StoredMessage>) {
        self.loading_older = false;
        if page.len() < PAGE {
            self.at_start = true;
        }
        self.merge(page);
    }

    /// An outgoing message moved on (sent, acked, delivered, read, failed).
    pub fn set_state(&mut self, origin_id: &str, state: MessageState, failure: Option<String>) {
        if let Some(m) = self
            .messages
            .iter_mut()
            .find(|m| m.origin_id.as_deref() == Some(origin_id))
        {
            // States only move forward; a late event must not undo one.
            if state > m.state || state == MessageState::Failed {
                m.state = state;
                m.failure = failure;
            }
        }
    }

    /// Our newest message, the one Up arrow corrects.
    pub fn last_own(&self) -> Option<&StoredMessage> {
        self.messages
            .iter()
            .rev()
            .find(|m| m.direction == Direction::Out && m.origin_id.is_some())
    }

    /// Messages to this contact still waiting to leave.
    pub fn queued(&self) -> usize {
        self.messages
            .iter()
            .filter(|m| m.direction == Direction::Out && m.state == MessageState::Queued)
            .count()
    }

    /// Send when there is text; Knock when the box is empty, the contact
    /// is offline and has push info; otherwise nothing, and why.
    pub fn send_button(
        &self,
        contact: Option<&ContactState>,
        knock: Option<&KnockStatus>,
        name: &str,
        now_ms: i64,
    ) -> SendButton {
        if !self.text().trim().is_empty() {
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
}

#[cfg(test)]
mod tests {
    use super::super::state::PushSummary;
    use super::*;
    use sotto::model::Availability;

    fn chat() -> Chat {
        Chat::new(
            "me@example.org".parse().expect("jid"),
            "bob@example.org".parse().expect("jid"),
        )
    }

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
        let mut chat = chat();
        let now = 1_000_000;
        let offline_with_push = contact(false, Some(1));
        assert_eq!(
            chat.send_button(Some(&offline_with_push), None, "bob", now),
            SendButton::Knock { wait: None }
        );
        assert!(matches!(
            chat.send_button(Some(&contact(true, Some(1))), None, "bob", now),
            SendButton::Disabled(_)
        ));
        match chat.send_button(Some(&contact(false, None)), None, "bob", now) {
            SendButton::Disabled(why) => assert!(why.contains("not shared push info"), "{why}"),
            other => panic!("{other:?}"),
        }
        chat.composer = text_editor::Content::with_text("hello");
        assert_eq!(
            chat.send_button(Some(&offline_with_push), None, "bob", now),
            SendButton::Send
        );
    }

    #[test]
    fn knock_waits_while_knocking_and_during_the_cooldown() {
        let chat = chat();
        let now = 1_000_000;
        let mut c = contact(false, Some(2));
        assert_eq!(
            chat.send_button(Some(&c), Some(&KnockStatus::Knocking), "bob", now),
            SendButton::Knock {
                wait: Some("Knocking…".into())
            }
        );
        if let Some(p) = c.push.as_mut() {
            p.last_knock_at = Some(now - 10_000);
        }
        match chat.send_button(Some(&c), None, "bob", now) {
            SendButton::Knock { wait: Some(why) } => assert!(why.contains("20 s"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
}
