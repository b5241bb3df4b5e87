//! The message pipeline: stores before showing, stores before sending.
//! Store calls are short SQLite transactions; they run on the blocking
//! pool so the async workers never wait on the disk.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::mpsc;

use super::{Event, SessionOutput};
use crate::knock::PushInfo;
use crate::model::{
    AccountId, BareJid, ConnectionState, OutgoingMessage, OutgoingState, PushSource, SyncedMessage,
};
use crate::store::{
    CorrectionOutcome, MessageState, NewCorrection, NewIncoming, NewOutgoing, Store, StoreError,
    now_ms,
};
use crate::xmpp::CatchUpFrom;

/// How far back a device's very first catch-up reaches.
pub const FIRST_SYNC_DAYS: i64 = 14;

pub struct Pipeline {
    store: Store,
    events: mpsc::Sender<Event>,
    /// Accounts whose archive catch-up is running, with the newest live
    /// id seen meanwhile: until catch-up ends, live messages must not move
    /// the resume point past what is fetched; when it ends, they are the
    /// newest there is.
    catching_up: Mutex<HashMap<AccountId, Option<String>>>,
}

impl Pipeline {
    pub fn new(store: Store, events: mpsc::Sender<Event>) -> Self {
        Self {
            store,
            events,
            catching_up: Mutex::new(HashMap::new()),
        }
    }

    /// Where the archive catch-up of `account` starts; marks it running.
    /// A store that has never caught up reaches back [`FIRST_SYNC_DAYS`].
    pub async fn start_catch_up(&self, account: &AccountId) -> CatchUpFrom {
        if let Ok(mut s) = self.catching_up.lock() {
            s.insert(account.clone(), None);
        }
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

    async fn archive_page(&self, account: AccountId, last: Option<String>, complete: bool) {
        let live = if complete {
            self.catching_up
                .lock()
                .ok()
                .and_then(|mut s| s.remove(&account))
                .flatten()
        } else {
            None
        };
        if let Some(last) = live.or(last) {
            let acc = account.to_string();
            if let Err(e) = self.blocking(move |s| s.set_mam_last_id(&acc, &last)).await {
                tracing::error!(%account, error = %e, "could not record the archive position");
            }
        }
    }

    /// Live messages carry our server's id; while no catch-up runs, the
    /// newest one is where the next catch-up starts.
    async fn note_live_id(&self, account: &AccountId, stanza_id: Option<String>) {
        let Some(id) = stanza_id else { return };
        if let Ok(mut s) = self.catching_up.lock()
            && let Some(seen) = s.get_mut(account)
        {
            *seen = Some(id);
            return;
        }
        let acc = account.to_string();
        if let Err(e) = self.blocking(move |s| s.set_mam_last_id(&acc, &id)).await {
            tracing::error!(%account, error = %e, "could not record the archive position");
        }
    }

    async fn emit(&self, event: Event) {
        let _ = self.events.send(event).await;
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .unwrap_or(Err(StoreError::Interrupted))
    }

    pub async fn not_connected(&self, account: &AccountId) {
        self.emit(Event::Connection {
            account: account.clone(),
            state: ConnectionState::Failed {
                reason: "this account is not connected".into(),
                certificate: None,
            },
        })
        .await;
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

    /// Applies our correction of `replaces` in the store and tells the front
    /// ends; the fresh id to send it with, or `None` if there is nothing of
    /// ours to correct (reported as a message error).
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

    /// A contact's groups as last seen, to keep them when renaming.
    pub async fn contact_groups(&self, account: &AccountId, jid: &BareJid) -> Vec<String> {
        let acc = account.to_string();
        match self.blocking(move |s| s.contacts(&acc)).await {
            Ok(contacts) => contacts
                .into_iter()
                .find(|c| c.jid == *jid)
                .map(|c| c.groups)
                .unwrap_or_default(),
            Err(e) => {
                tracing::error!(%account, error = %e, "could not read the contact list");
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
            message.body.clone(),
        );
        let (at, outgoing) = (message.sent_at_ms.unwrap_or_else(now_ms), message.outgoing);
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

    /// The account's queued messages, oldest first.
    pub async fn outbox(&self, account: &AccountId) -> Vec<OutgoingMessage> {
        let acc = account.to_string();
        match self.blocking(move |s| s.outbox(&acc)).await {
            Ok(messages) => messages
                .into_iter()
                .filter_map(|m| {
                    Some(OutgoingMessage {
                        id: m.origin_id?,
                        to: m.peer.parse().ok()?,
                        body: m.body,
                    })
                })
                .collect(),
            Err(e) => {
                tracing::error!(%account, error = %e, "could not read the outbox");
                Vec::new()
            }
        }
    }

    pub async fn handle(&self, output: SessionOutput) {
        match output {
            SessionOutput::Incoming { account, message } => {
                self.synced(account, message.into()).await;
            }
            SessionOutput::Event(Event::MessageState { account, id, state }) => {
                self.advance(account, id, state, false).await;
            }
            SessionOutput::Event(Event::MessageError {
                account,
                id,
                reason,
            }) => {
                if let Some(id) = &id {
                    let state = OutgoingState::Failed {
                        reason: reason.clone(),
                    };
                    self.advance(account.clone(), id.clone(), state, true).await;
                }
                self.emit(Event::MessageError {
                    account,
                    id,
                    reason,
                })
                .await;
            }
            SessionOutput::Synced { account, message } => self.synced(account, message).await,
            SessionOutput::ArchivePage {
                account,
                messages,
                last,
                complete,
            } => {
                let stored = self.store_archived(account.clone(), messages).await;
                // Never move the resume point past a page that is not stored.
                self.archive_page(account, last.filter(|_| stored), complete)
                    .await;
            }
            SessionOutput::PushInfo {
                account,
                contact,
                json,
                source,
            } => self.push_info(account, contact, json, source).await,
            SessionOutput::Event(event) => {
                self.remember_contacts(&event).await;
                self.emit(event).await;
            }
        }
    }

    /// Validates a contact's push info and stores it; tokens never leave
    /// the store in events.
    async fn push_info(
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

    pub async fn set_auto_knock(&self, account: AccountId, contact: BareJid, on: bool) {
        let (acc, who) = (account.to_string(), contact.to_string());
        match self
            .blocking(move |s| s.set_auto_knock(&acc, &who, on))
            .await
        {
            Ok(true) => {}
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

    /// Keeps the store's copy of the roster in step with the server's.
    async fn remember_contacts(&self, event: &Event) {
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
            _ => return,
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "could not store the contact list");
        }
    }

    /// Stores an archive page in one transaction and tells the front ends
    /// once. Corrections change messages stored before them: the page's
    /// plain messages go first, then its corrections in order (those whose
    /// original is unknown are kept as messages of their own).
    async fn store_archived(&self, account: AccountId, messages: Vec<SyncedMessage>) -> bool {
        let (corrections, plain): (Vec<_>, Vec<_>) =
            messages.into_iter().partition(|m| m.replaces.is_some());
        if !self.store_batch(&account, plain).await {
            return false;
        }
        let mut unmatched = Vec::new();
        for correction in corrections {
            if self.correction(&account, &correction).await.is_none() {
                unmatched.push(correction);
            }
        }
        self.store_batch(&account, unmatched).await
    }

    async fn store_batch(&self, account: &AccountId, messages: Vec<SyncedMessage>) -> bool {
        if messages.is_empty() {
            return true;
        }
        let acc = account.to_string();
        let stored = self
            .blocking(move |s| {
                let rows: Vec<(String, String)> = messages
                    .iter()
                    .map(|m| (m.peer.to_string(), m.sender.to_string()))
                    .collect();
                let batch: Vec<(NewIncoming<'_>, bool)> = messages
                    .iter()
                    .zip(&rows)
                    .map(|(m, (peer, sender))| (new_incoming(&acc, peer, sender, m), m.outgoing))
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

    async fn synced(&self, account: AccountId, message: SyncedMessage) {
        let stanza_id = message.stanza_id.clone();
        if self.correction(&account, &message).await.is_some() {
            self.note_live_id(&account, stanza_id).await;
            return;
        }
        let acc = account.to_string();
        let stored = self
            .blocking(move |s| {
                let peer = message.peer.to_string();
                let sender = message.sender.to_string();
                let new = new_incoming(&acc, &peer, &sender, &message);
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
                    message: stored,
                })
                .await;
            }
            Ok(None) => tracing::debug!(%account, "duplicate message dropped"),
            Err(e) => {
                // The server keeps it in the archive; the next catch-up
                // fetches it again, as the resume point stays behind it.
                tracing::error!(%account, error = %e, "could not store a message");
                return;
            }
        }
        self.note_live_id(&account, stanza_id).await;
    }

    async fn advance(&self, account: AccountId, id: String, state: OutgoingState, refused: bool) {
        let (stored_state, failure) = match &state {
            OutgoingState::Queued => (MessageState::Queued, None),
            OutgoingState::Sent => (MessageState::Sent, None),
            OutgoingState::Acked => (MessageState::Acked, None),
            OutgoingState::Delivered => (MessageState::Delivered, None),
            OutgoingState::Read => (MessageState::Read, None),
            OutgoingState::Failed { reason } => (MessageState::Failed, Some(reason.clone())),
        };
        let (acc, origin) = (account.to_string(), id.clone());
        let changed = self
            .blocking(move |s| {
                s.advance_outgoing(&acc, &origin, stored_state, failure.as_deref(), refused)
            })
            .await;
        match changed {
            Ok(Some(_)) => self.emit(Event::MessageState { account, id, state }).await,
            Ok(None) => {}
            Err(e) => tracing::error!(%account, error = %e, "could not record a message state"),
        }
    }
}

fn new_incoming<'a>(
    account: &'a str,
    peer: &'a str,
    sender: &'a str,
    m: &'a SyncedMessage,
) -> NewIncoming<'a> {
    NewIncoming {
        account,
        peer,
        sender,
        body: &m.body,
        sent_at: m.sent_at_ms.unwrap_or_else(now_ms),
        origin_id: m.origin_id.as_deref(),
        stanza_id: m.stanza_id.as_deref(),
        archive_id: m.stanza_id.as_deref(),
        count_unread: !m.outgoing,
        wire_id: m.id.as_deref(),
        markable: m.markable,
    }
}
