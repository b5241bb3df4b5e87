//! Stanzas from the network: messages and presence here, IQs in
//! `requests`. Each becomes at most one event; nothing here decides what
//! to store or to answer (the engine does, after storing).

use tokio_xmpp::Stanza;
use tokio_xmpp::jid::BareJid;
use tokio_xmpp::parsers::message::Message;

use super::{Session, SessionEvent};
use crate::model::{ChatState, PushSource};
use crate::xmpp::convert::{self, MessageMeaning, PresenceMeaning};
use crate::xmpp::pep;

impl Session {
    pub(super) async fn handle_stanza(&mut self, stanza: Stanza) {
        match stanza {
            Stanza::Message(message) => self.handle_message(message).await,
            Stanza::Presence(presence) if self.room_presence_in(&presence).await => {}
            Stanza::Presence(presence) => match convert::presence_meaning(&presence) {
                PresenceMeaning::Update(update) => {
                    self.emit(SessionEvent::Presence(update)).await;
                }
                PresenceMeaning::Subscription { from, change } => {
                    self.emit(SessionEvent::Subscription { from, change }).await;
                }
                PresenceMeaning::Ignore => {}
            },
            Stanza::Iq(iq) => self.handle_iq(iq).await,
        }
    }

    async fn handle_message(&mut self, message: Message) {
        self.push_info_in(&message).await;
        if self.bookmark_event_in(&message).await {
            return;
        }
        if self.omemo_event_in(&message).await {
            return;
        }
        if let Some(synced) = convert::carbon(&message, &self.account) {
            self.emit(SessionEvent::Synced(synced)).await;
            return;
        }
        if self.archive_result(&message) {
            return;
        }
        if self.room_message_in(&message).await {
            return;
        }
        if let Some(invitation) = crate::xmpp::muc::invitation(&message) {
            // Not a chat message: what it says is the invitation.
            if invitation.from.to_bare() != self.account {
                self.emit(SessionEvent::Invited(invitation)).await;
            }
            return;
        }
        match convert::message_meaning(&message, self.account.as_str()) {
            MessageMeaning::Chat(message) => {
                let from = message.from.to_bare();
                let state = message.chat_state;
                self.emit(SessionEvent::Incoming(message)).await;
                if let Some(state) = state {
                    self.chat_state(from, state).await;
                }
            }
            MessageMeaning::ChatState { from, state } => {
                self.chat_state(from.to_bare(), state).await;
            }
            MessageMeaning::Delivered { id } => {
                if let Some(from) = message.from {
                    self.emit(SessionEvent::Received { id, from }).await;
                }
            }
            MessageMeaning::Displayed { id } => {
                if let Some(from) = message.from {
                    self.emit(SessionEvent::Displayed { id, from }).await;
                }
            }
            MessageMeaning::Error { id, reason } => {
                self.emit(SessionEvent::Bounced {
                    id,
                    from: message.from,
                    reason,
                })
                .await;
            }
            MessageMeaning::Ignore => {}
        }
    }

    /// Push info in a PEP notification or sent in a message; never our own.
    async fn push_info_in(&self, message: &Message) {
        let pushed = pep::from_event(message)
            .map(|json| (json, PushSource::Pep))
            .or_else(|| pep::from_message(message).map(|json| (json, PushSource::Message)));
        if let (Some((json, source)), Some(from)) = (pushed, &message.from)
            && from.to_bare() != self.account
        {
            self.emit(SessionEvent::PushInfo {
                contact: from.to_bare(),
                json: Some(json),
                source,
            })
            .await;
        }
    }

    /// A contact's chat state; our own (from another device) is not news.
    async fn chat_state(&self, from: BareJid, state: ChatState) {
        if from == self.account {
            return;
        }
        self.emit(SessionEvent::ChatState { from, state }).await;
    }
}
