//! The message pipeline's store side: stores before showing, stores before
//! sending. Each call is one short SQLite transaction on the blocking pool,
//! so no async worker waits on the disk; each account's task calls it for
//! its own account, so one slow account does not hold up another.

use tokio::sync::mpsc;

use super::Event;
use crate::knock::PushInfo;
use crate::model::{
    AccountId, BareJid, ConnectionState, Contact, OutgoingMessage, OutgoingState, Protection,
    PushSource, Stamp, SyncedMessage,
};
use crate::omemo::{DeviceId, Profile};
use crate::store::{
    Advance, ChatEncryption, CorrectionOutcome, MessageState, NewCorrection, NewIncoming,
    NewOutgoing, OmemoTrust, Placement, Queued, Store, StoreError, StoredMessage, now_ms,
};
use crate::xmpp::CatchUpFrom;

/// How far back a device's very first catch-up reaches.
pub const FIRST_SYNC_DAYS: i64 = 14;

/// The longest body stored, in bytes. Servers relay at most 256 KiB
/// stanzas by default; a server of its own can send more, and a message
/// that large is not chat.
pub const MAX_BODY_BYTES: usize = 128 * 1024;

/// What became of a message from the network.
#[derive(Debug, PartialEq, Eq)]
pub enum Stored {
    New(Box<StoredMessage>),
    /// Already stored (same stanza-id or origin-id), or a correction.
    Known,
    /// The store refused: nothing may move past it.
    Failed,
}

/// One step of one of our messages.
pub struct Step<'a> {
    pub id: &'a str,
    pub state: OutgoingState,
    pub refused: bool,
    pub settled: bool,
    pub witness: Option<&'a str>,
}

#[derive(Clone)]
pub struct Pipeline {
    store: Store,
    events: mpsc::Sender<Event>,
}

impl Pipeline {
    pub fn new(store: Store, events: mpsc::Sender<Event>) -> Self {
        Self { store, events }
    }

    pub async fn emit(&self, event: Event) {
        let _ = self.events.send(event).await;
    }

    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .unwrap_or(Err(StoreError::Interrupted))
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub async fn not_connected(&self, account: &AccountId) {
        self.emit(Event::Connection {
            account: account.clone(),
            state: ConnectionState::Failed {
                reason: "this account is not connected".into(),
                certificate: None,
                pinnable: false,
            },
        })
        .await;
    }

    /// When the message with this archive id sorts, if it is stored: a
    /// catch-up resuming after it sorts nothing before it.
    pub async fn archive_time(&self, account: &AccountId, id: &str) -> Option<i64> {
        let (acc, id) = (account.to_string(), id.to_owned());
        self.blocking(move |s| s.archive_time(&acc, &id))
            .await
            .ok()
            .flatten()
    }

    /// Where the archive catch-up of `account` starts. A store that has
    /// never caught up reaches back [`FIRST_SYNC_DAYS`].
    pub async fn catch_up_from(&self, account: &AccountId) -> CatchUpFrom {
        let acc = account.to_string();
        let default = now_ms() - FIRST_SYNC_DAYS * 24 * 3600 * 1000;
        let from = self
            .blocking(move |s| match s.mam_last_id(&acc)? {
                Some(id) => {
                    // Minutes of overlap cover clock skew; duplicates are
                    // dropped by id.
                    let fallback_since = s
                        .newest_message_time(&acc)?
                        .map_or(default, |t| t - 10 * 60 * 1000);
                    Ok(CatchUpFrom::After { id, fallback_since })
                }
                None => Ok(CatchUpFrom::Since(s.sync_since(&acc, default)?)),
            })
            .await;
        from.unwrap_or_else(|e| {
            tracing::error!(%account, error = %e, "could not read the archive position");
            CatchUpFrom::Since(default)
        })
    }

    /// Moves the resume point of the next catch-up.
    pub async fn set_resume_point(&self, account: &AccountId, id: String) {
        let acc = account.to_string();
        if let Err(e) = self.blocking(move |s| s.set_mam_last_id(&acc, &id)).await {
            tracing::error!(%account, error = %e, "could not record the archive position");
        }
    }

    /// Stores an outgoing message as queued and tells the front ends.
    /// `None` if the store refused it (the failure is reported).
    pub async fn queue(
        &self,
        account: &AccountId,
        message: OutgoingMessage,
    ) -> Option<OutgoingMessage> {
        let (acc, msg) = (account.to_string(), message.clone());
        let stored = self
            .blocking(move |s| {
                s.insert_outgoing(&NewOutgoing {
                    account: &acc,
                    peer: msg.to.as_str(),
                    body: &msg.body,
                    origin_id: &msg.id,
                    plain: msg.plain,
                })
            })
            .await;
        match stored {
            Ok(stored) => {
                self.emit(Event::Message {
                    account: account.clone(),
                    message: stored,
                })
                .await;
                Some(message)
            }
            Err(e) => {
                tracing::error!(%account, error = %e, "could not store an outgoing message");
                self.emit(Event::MessageState {
                    account: account.clone(),
                    id: message.id,
                    state: OutgoingState::Failed {
                        reason: format!("it could not be saved: {e}"),
                    },
                })
                .await;
                None
            }
        }
    }

    /// Applies our correction of `replaces` in the store and tells the
    /// front ends; the fresh id to send it with, or `None` if there is
    /// nothing of ours to correct (reported as a message error).
    pub async fn correct_own(
        &self,
        account: &AccountId,
        to: &BareJid,
        replaces: &str,
        body: &str,
    ) -> Option<String> {
        let (acc, peer, original, text) = (
            account.to_string(),
            to.to_string(),
            replaces.to_owned(),
            body.to_owned(),
        );
        let outcome = self
            .blocking(move |s| {
                s.correct_message(&NewCorrection {
                    account: &acc,
                    peer: &peer,
                    sender: &acc,
                    replaces: &original,
                    body: &text,
                    at: now_ms(),
                    outgoing: true,
                })
            })
            .await;
        let reason = match outcome {
            Ok(CorrectionOutcome::Applied(message)) => {
                self.emit(Event::Corrected {
                    account: account.clone(),
                    peer: to.clone(),
                    message: *message,
                })
                .await;
                return Some(crate::xmpp::new_id());
            }
            // The same text again: nothing to tell anyone.
            Ok(CorrectionOutcome::Unchanged) => return None,
            Ok(CorrectionOutcome::NotFound | CorrectionOutcome::WrongSender) => {
                "there is no message of ours with that id to correct".to_owned()
            }
            Err(e) => {
                tracing::error!(%account, error = %e, "could not store a correction");
                format!("the correction could not be saved: {e}")
            }
        };
        self.emit(Event::MessageError {
            account: account.clone(),
            id: Some(replaces.to_owned()),
            reason,
        })
        .await;
        None
    }

    /// Marks a conversation read and tells the front ends; the id to name
    /// in a displayed marker, if the contact should hear of it.
    pub async fn mark_read(&self, account: &AccountId, peer: &BareJid) -> Option<String> {
        let (acc, who) = (account.to_string(), peer.to_string());
        match self
            .blocking(move |s| s.mark_read_for_marker(&acc, &who))
            .await
        {
            Ok(marker) => {
                self.emit(Event::ConversationRead {
                    account: account.clone(),
                    peer: peer.clone(),
                })
                .await;
                marker
            }
            Err(e) => {
                tracing::error!(%account, error = %e, "could not mark a conversation read");
                None
            }
        }
    }

    /// The account's contacts as stored.
    pub async fn contacts(&self, account: &AccountId) -> Result<Vec<Contact>, StoreError> {
        let acc = account.to_string();
        self.blocking(move |s| s.contacts(&acc)).await
    }

    /// The account's queued messages, oldest first.
    pub async fn outbox(&self, account: &AccountId) -> Vec<OutgoingMessage> {
        let acc = account.to_string();
        match self.blocking(move |s| s.outbox(&acc)).await {
            Ok(messages) => messages
                .into_iter()
                .filter_map(|Queued { message: m, plain }| {
                    Some(OutgoingMessage {
                        id: m.origin_id?,
                        to: m.peer.parse().ok()?,
                        body: m.body,
                        plain,
                    })
                })
                .collect(),
            Err(e) => {
                tracing::error!(%account, error = %e, "could not read the outbox");
                Vec::new()
            }
        }
    }

    /// Applies a correction that came from the network (live, carbon or
    /// archive). `None` when its original is unknown here: then it is
    /// stored as a message of its own, so nothing is lost.
    async fn correction(&self, account: &AccountId, message: &SyncedMessage) -> Option<()> {
        let replaces = message.replaces.clone()?;
        let (acc, peer, sender, body) = (
            account.to_string(),
            message.peer.to_string(),
            message.sender.to_string(),
            capped(&message.body).into_owned(),
        );
        let (at, outgoing) = (
            message.sent_at.map_or_else(now_ms, |s| s.ms),
            message.outgoing,
        );
        let outcome = self
            .blocking(move |s| {
                s.correct_message(&NewCorrection {
                    account: &acc,
                    peer: &peer,
                    sender: &sender,
                    replaces: &replaces,
                    body: &body,
                    at,
                    outgoing,
                })
            })
            .await;
        match outcome {
            Ok(CorrectionOutcome::Applied(stored)) => {
                self.emit(Event::Corrected {
                    account: account.clone(),
                    peer: message.peer.clone(),
                    message: *stored,
                })
                .await;
            }
            Ok(CorrectionOutcome::Unchanged) => {
                tracing::debug!(%account, "correction already applied");
            }
            Ok(CorrectionOutcome::WrongSender) => {
                // Never the body: it is the spoofer's text.
                tracing::debug!(%account, peer = %message.peer, "correction by someone other than the author ignored");
            }
            Ok(CorrectionOutcome::NotFound) => return None,
            Err(e) => tracing::error!(%account, error = %e, "could not store a correction"),
        }
        Some(())
    }

    /// Validates a contact's push info and stores it; tokens never leave
    /// the store in events.
    pub async fn push_info(
        &self,
        account: AccountId,
        contact: BareJid,
        json: Option<String>,
        source: PushSource,
    ) {
        let rejected = |reason: String| Event::PushInfoRejected {
            account: account.clone(),
            contact: contact.clone(),
            reason,
        };
        let Some(json) = json else {
            self.emit(rejected(format!("{contact} has not published push info")))
                .await;
            return;
        };
        let info = match PushInfo::from_json(&json) {
            Ok(info) => info,
            Err(e) => {
                tracing::info!(%account, %contact, error = %e, "unusable push info ignored");
                self.emit(rejected(e.to_string())).await;
                return;
            }
        };
        let (acc, who) = (account.to_string(), contact.to_string());
        match self
            .blocking(move |s| s.add_push_info(&acc, &who, info, source))
            .await
        {
            Ok(stored) => {
                self.emit(Event::PushInfoLearned {
                    account,
                    contact,
                    relay: stored.info.endpoint.host_str().unwrap_or("?").to_owned(),
                    tokens: stored.info.tokens.len(),
                    source,
                })
                .await;
            }
            Err(e) => {
                tracing::error!(%account, error = %e, "could not store push info");
                self.emit(rejected(format!("it could not be saved: {e}")))
                    .await;
            }
        }
    }

    pub async fn remove_push_info(&self, account: AccountId, contact: BareJid) {
        let (acc, who) = (account.to_string(), contact.to_string());
        match self.blocking(move |s| s.remove_push_info(&acc, &who)).await {
            Ok(removed) => {
                self.emit(Event::PushInfoRemoved {
                    account,
                    contact,
                    removed,
                })
                .await;
            }
            Err(e) => {
                tracing::error!(%account, error = %e, "could not remove push info");
                self.emit(Event::PushInfoRejected {
                    account,
                    contact,
                    reason: format!("it could not be removed: {e}"),
                })
                .await;
            }
        }
    }

    pub async fn set_auto_knock(&self, account: AccountId, contact: BareJid, on: bool) {
        let (acc, who) = (account.to_string(), contact.to_string());
        match self
            .blocking(move |s| s.set_auto_knock(&acc, &who, on))
            .await
        {
            Ok(true) => {
                self.emit(Event::AutoKnock {
                    account,
                    contact,
                    on,
                })
                .await;
            }
            Ok(false) => {
                self.emit(Event::PushInfoRejected {
                    account,
                    contact,
                    reason: "there is no push info to knock with".into(),
                })
                .await;
            }
            Err(e) => tracing::error!(%account, error = %e, "could not change auto-knock"),
        }
    }

    pub async fn set_chat_encryption(
        &self,
        account: AccountId,
        peer: BareJid,
        setting: ChatEncryption,
    ) {
        let (acc, who) = (account.to_string(), peer.to_string());
        match self
            .blocking(move |s| s.set_chat_encryption(&acc, &who, setting))
            .await
        {
            Ok(()) => {
                self.emit(Event::ChatEncryption {
                    account,
                    peer,
                    setting,
                })
                .await;
            }
            Err(e) => {
                tracing::error!(%account, error = %e, "could not change a chat's encryption");
                self.emit(Event::MessageError {
                    account,
                    id: None,
                    reason: format!("the chat's encryption could not be changed: {e}"),
                })
                .await;
            }
        }
    }

    /// Our trust in one device id of `jid`, in whichever namespaces we
    /// know its identity key.
    pub async fn set_device_trust(
        &self,
        account: AccountId,
        jid: BareJid,
        device: DeviceId,
        trust: OmemoTrust,
    ) {
        let (acc, who) = (account.to_string(), jid.to_string());
        let changed = self
            .blocking(move |s| {
                let mut changed = false;
                for profile in [Profile::Legacy, Profile::Omemo2] {
                    changed |= s.omemo_set_trust(&acc, &who, profile, device, trust)?;
                }
                Ok::<_, StoreError>(changed)
            })
            .await;
        let error = match changed {
            Ok(true) => None,
            Ok(false) => Some(format!(
                "Sotto does not know the identity key of device {} of {jid} (it learns it from the \
                 device's bundle or first message), so there is nothing to mark",
                device.get()
            )),
            Err(e) => {
                tracing::error!(%account, error = %e, "could not change a device's trust");
                Some(format!("the trust could not be saved: {e}"))
            }
        };
        self.emit(Event::DeviceTrust {
            account,
            jid,
            device: device.get(),
            trust,
            error,
        })
        .await;
    }

    /// Keeps the store's copy of the roster in step with the server's.
    /// False when the store refused.
    pub async fn remember_contacts(&self, event: &Event) -> bool {
        let result = match event.clone() {
            Event::Roster { account, contacts } => {
                self.blocking(move |s| s.replace_roster(account.as_str(), &contacts))
                    .await
            }
            Event::ContactChanged { account, contact } => {
                self.blocking(move |s| s.save_contact(account.as_str(), &contact))
                    .await
            }
            Event::ContactRemoved { account, jid } => {
                self.blocking(move |s| s.remove_contact(account.as_str(), jid.as_str()))
                    .await
            }
            _ => return true,
        };
        match result {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "could not store the contact list");
                false
            }
        }
    }

    /// Stores an archive page in one transaction and tells the front ends
    /// once. Corrections change messages stored before them: the page's
    /// plain messages go first, then its corrections in order (those whose
    /// original is unknown are kept as messages of their own). False when
    /// the store refused: then the resume point must stay behind the page.
    ///
    /// Sort times follow the archive's order: each message sorts no
    /// earlier than the one before it in the archive (`floor`, moved on
    /// here). Prosody stamps whole seconds, so without this a message
    /// caught up could sort before the live one it followed.
    pub async fn store_archived(
        &self,
        account: &AccountId,
        mut messages: Vec<SyncedMessage>,
        floor: &mut Option<i64>,
    ) -> bool {
        let now = now_ms();
        for m in &mut messages {
            // Never before the one before it in the archive; where stamps
            // tie (whole seconds), the insertion order is the archive's.
            let stamped = m.sent_at.map_or(now, |s| s.ms);
            let ms = floor.map_or(stamped, |f| stamped.max(f));
            m.sent_at = Some(Stamp {
                ms,
                whole_second: false,
            });
            if m.replaces.is_none() {
                *floor = Some(ms);
            }
        }
        let (corrections, plain): (Vec<_>, Vec<_>) =
            messages.into_iter().partition(|m| m.replaces.is_some());
        if !self.store_batch(account, plain).await {
            return false;
        }
        let mut unmatched = Vec::new();
        for correction in corrections {
            if self.correction(account, &correction).await.is_none() {
                unmatched.push(correction);
            }
        }
        self.store_batch(account, unmatched).await
    }

    async fn store_batch(&self, account: &AccountId, messages: Vec<SyncedMessage>) -> bool {
        if messages.is_empty() {
            return true;
        }
        let acc = account.to_string();
        let stored = self
            .blocking(move |s| {
                let rows: Vec<(String, String, std::borrow::Cow<'_, str>)> = messages
                    .iter()
                    .map(|m| (m.peer.to_string(), m.sender.to_string(), capped(&m.body)))
                    .collect();
                let now = now_ms();
                let batch: Vec<(NewIncoming<'_>, bool)> = messages
                    .iter()
                    .zip(&rows)
                    .map(|(m, (peer, sender, body))| {
                        (new_incoming(&acc, peer, sender, body, m, now), m.outgoing)
                    })
                    .collect();
                s.insert_many(&batch)
            })
            .await;
        match stored {
            Ok(messages) => {
                if !messages.is_empty() {
                    self.emit(Event::Archived {
                        account: account.clone(),
                        messages,
                    })
                    .await;
                }
                true
            }
            Err(e) => {
                tracing::error!(%account, error = %e, "could not store an archive page");
                false
            }
        }
    }

    /// Stores a live message or a carbon (a correction is applied instead)
    /// and tells the front ends.
    pub async fn store_synced(&self, account: &AccountId, message: SyncedMessage) -> Stored {
        if self.correction(account, &message).await.is_some() {
            return Stored::Known;
        }
        let acc = account.to_string();
        let stored = self
            .blocking(move |s| {
                let peer = message.peer.to_string();
                let sender = message.sender.to_string();
                let body = capped(&message.body);
                let new = new_incoming(&acc, &peer, &sender, &body, &message, now_ms());
                if message.outgoing {
                    s.insert_own_from_elsewhere(&new)
                } else {
                    s.insert_incoming(&new)
                }
            })
            .await;
        match stored {
            Ok(Some(stored)) => {
                self.emit(Event::Message {
                    account: account.clone(),
                    message: stored.clone(),
                })
                .await;
                Stored::New(Box::new(stored))
            }
            Ok(None) => {
                tracing::debug!(%account, "duplicate message dropped");
                Stored::Known
            }
            Err(e) => {
                // The server keeps it in the archive; the next catch-up
                // fetches it again, as the resume point stays behind it.
                tracing::error!(%account, error = %e, "could not store a message");
                Stored::Failed
            }
        }
    }

    /// Private messages from people in rooms (XEP-0045 §7.5): a
    /// conversation of their own, whose peer is the room/nickname, never
    /// the room's (where they would read as said to everyone).
    pub async fn store_private(&self, account: &AccountId, messages: Vec<SyncedMessage>) -> bool {
        if messages.is_empty() {
            return true;
        }
        let acc = account.to_string();
        let stored = self
            .blocking(move |s| {
                let now = now_ms();
                let rows: Vec<(String, std::borrow::Cow<'_, str>)> = messages
                    .iter()
                    .map(|m| (m.sender.to_string(), capped(&m.body)))
                    .collect();
                let batch: Vec<(NewIncoming<'_>, bool)> = messages
                    .iter()
                    .zip(&rows)
                    .map(|(m, (sender, body))| {
                        (new_incoming(&acc, sender, sender, body, m, now), false)
                    })
                    .collect();
                s.insert_many(&batch)
            })
            .await;
        match stored {
            Ok(new) => {
                for message in new {
                    self.emit(Event::Message {
                        account: account.clone(),
                        message,
                    })
                    .await;
                }
                true
            }
            Err(e) => {
                tracing::error!(%account, error = %e, "could not store a private message");
                false
            }
        }
    }

    /// Records a step of one of our messages and tells the front ends
    /// when it changed something.
    pub async fn advance(&self, account: &AccountId, step: Step<'_>) {
        let (stored_state, failure) = match &step.state {
            OutgoingState::Queued => (MessageState::Queued, None),
            OutgoingState::Sent => (MessageState::Sent, None),
            OutgoingState::Acked => (MessageState::Acked, None),
            OutgoingState::Delivered => (MessageState::Delivered, None),
            OutgoingState::Read => (MessageState::Read, None),
            OutgoingState::Failed { reason } => (MessageState::Failed, Some(reason.clone())),
        };
        let (acc, origin, witness) = (
            account.to_string(),
            step.id.to_owned(),
            step.witness.map(str::to_owned),
        );
        let (refused, settled) = (step.refused, step.settled);
        let changed = self
            .blocking(move |s| {
                s.advance_outgoing(&Advance {
                    account: &acc,
                    origin_id: &origin,
                    state: stored_state,
                    failure: failure.as_deref(),
                    refused,
                    settled,
                    witness: witness.as_deref(),
                })
            })
            .await;
        match changed {
            Ok(Some(_)) => {
                self.emit(Event::MessageState {
                    account: account.clone(),
                    id: step.id.to_owned(),
                    state: step.state,
                })
                .await;
            }
            Ok(None) => {}
            Err(e) => tracing::error!(%account, error = %e, "could not record a message state"),
        }
    }
}

/// A body as stored: cut at [`MAX_BODY_BYTES`] (on a character boundary),
/// saying so.
pub fn capped(body: &str) -> std::borrow::Cow<'_, str> {
    if body.len() <= MAX_BODY_BYTES {
        return std::borrow::Cow::Borrowed(body);
    }
    let mut end = MAX_BODY_BYTES;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!(
        "{}\n[Sotto kept the first {} KB of this message; it was {} KB long]",
        &body[..end],
        MAX_BODY_BYTES / 1024,
        body.len() / 1024
    ))
}

fn new_incoming<'a>(
    account: &'a str,
    peer: &'a str,
    sender: &'a str,
    body: &'a str,
    m: &'a SyncedMessage,
    now: i64,
) -> NewIncoming<'a> {
    NewIncoming {
        account,
        peer,
        sender,
        body,
        sent_at: m.sent_at.map_or(now, |s| s.ms),
        placement: if m.sent_at.is_some_and(|s| s.whole_second) {
            Placement::WithinSecond
        } else {
            Placement::AsStamped
        },
        origin_id: m.origin_id.as_deref(),
        stanza_id: m.stanza_id.as_deref(),
        archive_id: m.stanza_id.as_deref(),
        count_unread: !m.outgoing,
        wire_id: m.id.as_deref(),
        markable: m.markable,
        encrypted: m.protection == Protection::Encrypted,
        omemo_notice: m.protection == Protection::Notice,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_bodies_are_cut_on_a_character_boundary() {
        assert_eq!(capped("short"), "short");
        let huge = "é".repeat(MAX_BODY_BYTES);
        let cut = capped(&huge);
        assert!(cut.len() < MAX_BODY_BYTES + 200);
        assert!(
            cut.contains("it was 256 KB long"),
            "{}",
            &cut[cut.len() - 80..]
        );
    }
}
