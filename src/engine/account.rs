//! One account's task: owns its session's command channel, turns the
//! session's events into stored state and front-end events, and keeps the
//! outbox moving. Each account runs on its own, so a slow account (or a
//! slow store call for it) never holds up another.
//!
//! Channels: front end → engine → account are unbounded (commands are few
//! and small), account → session is unbounded, session → account is
//! bounded (backpressure from the store down to the socket). No cycle of
//! bounded channels exists, so no two tasks can wait on each other.

use std::collections::{HashMap, HashSet};

use tokio::sync::mpsc;

use super::knocks::Knocks;
use super::omemo::{Omemo, Outgoing};
use super::pipeline::{Pipeline, Step, Stored};
use super::rooms::Rooms;
use super::{AccountLogin, Command, Event};
use crate::model::{
    AccountId, Availability, BareJid, ConnectionState, IncomingMessage, OutgoingMessage,
    OutgoingState, PresenceUpdate, Subscription, SyncedMessage,
};
use crate::secrets::Secrets;
use crate::store::ChatEncryption;
use crate::xmpp::{CatchUpFrom, Delivery, Route, SessionCommand, SessionEvent, SessionParams};

async fn next_event(events: &mut Option<mpsc::Receiver<SessionEvent>>) -> Option<SessionEvent> {
    match events {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Session events that may wait for the account task before the session
/// pauses (and with it, reading from the socket).
const SESSION_EVENTS: usize = 256;

/// What the engine hands an account's task.
pub enum AccountInput {
    Command(Command),
    /// Connect, unless connected: with the stored password when the login
    /// has none, creating the account on its server first with `register`.
    Connect {
        login: Box<AccountLogin>,
        register: bool,
        route: Route,
    },
}

pub struct AccountTask {
    account: AccountId,
    /// The running session, if any: an account that is not connected
    /// still has its task, so what is sent to it is queued in order.
    session: Option<mpsc::UnboundedSender<SessionCommand>>,
    pipeline: Pipeline,
    knocks: Knocks,
    /// A stream is usable and the outbox was handed to it: new messages
    /// may go straight out behind it. Until then they wait in the outbox,
    /// so nothing overtakes what was queued before.
    ready: bool,
    /// The front end's last word on whether the user is looking, for
    /// sessions started later.
    client_active: Option<bool>,
    /// The presence the front end last set, for sessions started later
    /// (it outranks the one the login carried).
    presence: Option<(Availability, Option<String>)>,
    /// Contacts' available resources, from their presence.
    present: HashMap<BareJid, HashSet<String>>,
    /// Contacts' subscriptions, for whom we answer with receipts.
    roster: HashMap<BareJid, Subscription>,
    /// While an archive catch-up runs: the newest live id seen meanwhile.
    /// Live messages must not move the resume point past what is not yet
    /// fetched; when the catch-up ends, that id is the newest there is.
    catching_up: Option<Option<String>>,
    /// The sort time of the last archived message stored in the running
    /// catch-up (or of its resume point): nothing later in the archive
    /// sorts before it.
    archive_floor: Option<i64>,
    /// Messages from our server's offline storage that came while the
    /// catch-up ran. The archive has them too, in its own order; stored
    /// first, they would sort by a guess. They are stored once the
    /// catch-up is done (as duplicates, mostly).
    held: Vec<IncomingMessage>,
    /// End-to-end encryption: our device, contacts' devices, and what of
    /// ours waits to be encrypted.
    omemo: Omemo,
    rooms: Rooms,
    /// The session stays and shows itself (the GUI, `sotto listen`): it
    /// enters the account's rooms. A one-shot command enters only a room
    /// it has something to send to, so rooms do not see us come and go.
    stays: bool,
}

impl AccountTask {
    /// Starts the account's task, not connected yet; it takes its input
    /// from the returned sender and ends when that is dropped.
    pub fn spawn(
        account: AccountId,
        pipeline: Pipeline,
        knocks: Knocks,
    ) -> mpsc::UnboundedSender<AccountInput> {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = Self {
            account: account.clone(),
            session: None,
            pipeline,
            knocks,
            ready: false,
            client_active: None,
            presence: None,
            present: HashMap::new(),
            roster: HashMap::new(),
            catching_up: None,
            archive_floor: None,
            held: Vec::new(),
            omemo: Omemo::new(account.clone()),
            rooms: Rooms::new(account),
            stays: false,
        };
        tokio::spawn(task.run(rx));
        tx
    }

    async fn run(mut self, mut inputs: mpsc::UnboundedReceiver<AccountInput>) {
        self.load_roster().await;
        self.rooms.load(&self.pipeline).await;
        let mut events: Option<mpsc::Receiver<SessionEvent>> = None;
        let mut inputs_open = true;
        loop {
            tokio::select! {
                input = inputs.recv(), if inputs_open => match input {
                    Some(AccountInput::Command(command)) => self.command(command).await,
                    Some(AccountInput::Connect { login, register, route }) => {
                        if let Some(rx) = self.connect(*login, register, route).await {
                            events = Some(rx);
                        }
                    }
                    None => {
                        // The engine let go of us: close the session, then
                        // drain its last events.
                        inputs_open = false;
                        match &self.session {
                            Some(session) => {
                                let _ = session.send(SessionCommand::Close);
                            }
                            None => return,
                        }
                    }
                },
                event = next_event(&mut events) => match event {
                    Some(event) => self.session_event(event).await,
                    None => {
                        // The session ended (closed, or failed for good).
                        events = None;
                        self.session = None;
                        self.ready = false;
                        if !inputs_open {
                            return;
                        }
                    }
                },
            }
        }
    }

    /// Starts the session unless one runs; its events come on the
    /// returned receiver.
    async fn connect(
        &mut self,
        login: AccountLogin,
        register: bool,
        route: Route,
    ) -> Option<mpsc::Receiver<SessionEvent>> {
        if self.session.as_ref().is_some_and(|s| !s.is_closed()) {
            tracing::debug!(account = %self.account, "already running");
            return None;
        }
        let password = match login.password.clone() {
            Some(p) => p,
            None => {
                let (store, acc, kept) = (
                    self.pipeline.store().clone(),
                    self.account.clone(),
                    login.config.password_store,
                );
                let read =
                    tokio::task::spawn_blocking(move || Secrets::new(store).password(&acc, kept))
                        .await;
                match read {
                    Ok(Ok(p)) => p,
                    Ok(Err(e)) => {
                        self.emit(Event::Connection {
                            account: self.account.clone(),
                            state: ConnectionState::Failed {
                                reason: e.to_string(),
                                certificate: None,
                                pinnable: false,
                            },
                        })
                        .await;
                        return None;
                    }
                    Err(_) => return None,
                }
            }
        };
        self.stays = login.presence.is_some() || self.presence.is_some();
        let (session_tx, session_rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::channel(SESSION_EVENTS);
        let params = SessionParams {
            jid: self.account.clone(),
            password,
            server: login.config.server,
            direct_tls: login.config.direct_tls,
            pinned: login.config.pinned_certificate,
            presence: self.presence.clone().or(login.presence),
            retry: login.retry,
            route,
            register,
        };
        tokio::spawn(crate::xmpp::run_session(params, session_rx, events_tx));
        if let Some(active) = self.client_active {
            let _ = session_tx.send(SessionCommand::ClientActive(active));
        }
        self.session = Some(session_tx);
        Some(events_rx)
    }

    async fn load_roster(&mut self) {
        match self.pipeline.contacts(&self.account).await {
            Ok(contacts) => {
                self.roster = contacts
                    .into_iter()
                    .map(|c| (c.jid, c.subscription))
                    .collect();
            }
            Err(e) => {
                tracing::error!(account = %self.account, error = %e, "could not read the contact list")
            }
        }
    }

    /// Hands a command to the session; without one, says so.
    async fn to_session(&self, command: SessionCommand) {
        let sent = self
            .session
            .as_ref()
            .is_some_and(|s| s.send(command).is_ok());
        if !sent {
            self.pipeline.not_connected(&self.account).await;
        }
    }

    /// Hands a command to the session if there is one; it is fine to lose
    /// when not connected (the next stream redoes it).
    fn to_session_if_any(&self, command: SessionCommand) {
        if let Some(session) = &self.session {
            let _ = session.send(command);
        }
    }

    async fn command(&mut self, command: Command) {
        let account = self.account.clone();
        match command {
            Command::SendMessage { message, .. } => {
                // Stored as queued first: from here on it cannot be lost.
                let Some(message) = self.pipeline.queue(&account, message).await else {
                    return;
                };
                if self.rooms.is_room(&message.to) {
                    return self.send_to_room(message).await;
                }
                // Nobody to receive it now: wake their phone once, if asked.
                if !self.contact_online(&message.to)
                    && self.knocks.auto_knock_wanted(&account, &message.to).await
                {
                    self.knocks.start(account.clone(), message.to.clone(), true);
                }
                if self.ready {
                    self.omemo.enqueue(Outgoing::Message(message));
                    self.pump().await;
                } else {
                    tracing::debug!(%account, "offline; the message waits in the outbox");
                }
            }
            // State, not a request: kept for the next session, and never a
            // failure while offline.
            Command::SetPresence {
                availability,
                status,
                ..
            } => {
                self.presence = Some((availability, status.clone()));
                self.to_session_if_any(SessionCommand::SetPresence(availability, status));
            }
            Command::FetchRoster { .. } => self.to_session(SessionCommand::FetchRoster).await,
            Command::AddContact { jid, name, .. } => {
                self.to_session(SessionCommand::AddContact(jid, name)).await;
            }
            Command::AnswerSubscription { jid, approve, .. } => {
                self.to_session(SessionCommand::AnswerSubscription(jid, approve))
                    .await;
            }
            Command::PublishPushInfo { json, .. } => {
                self.to_session(SessionCommand::PublishPushInfo(json)).await;
            }
            Command::RetractPushInfo { .. } => {
                self.to_session(SessionCommand::RetractPushInfo).await
            }
            Command::FetchPushInfo { contact, .. } => {
                self.to_session(SessionCommand::FetchPushInfo(contact))
                    .await;
            }
            // A room gets neither chat states nor markers as chat messages
            // (it would refuse them); the store is read either way.
            Command::SetChatState { to, state, .. } => {
                if !self.rooms.is_room(&to) {
                    self.to_session_if_any(SessionCommand::ChatState(to, state));
                }
            }
            Command::CorrectMessage {
                to, replaces, body, ..
            } => {
                // Stored first, like any message of ours.
                if let Some(id) = self
                    .pipeline
                    .correct_own(&account, &to, &replaces, &body)
                    .await
                {
                    if self.session.is_none() {
                        self.pipeline.not_connected(&account).await;
                        return;
                    }
                    // Encrypted like a message where the chat is; it
                    // waits for the stream if the link is down.
                    self.omemo.enqueue(Outgoing::Correction {
                        to,
                        id,
                        replaces,
                        body,
                    });
                    if self.ready {
                        self.pump().await;
                    }
                }
            }
            Command::MarkRead { peer, .. } => {
                // The marker goes out when connected; the store is read
                // either way.
                if let Some(id) = self.pipeline.mark_read(&account, &peer).await
                    && !self.rooms.is_room(&peer)
                {
                    self.to_session_if_any(SessionCommand::Displayed(peer, id));
                }
            }
            Command::RenameContact { jid, name, .. } => {
                let groups = self
                    .pipeline
                    .contacts(&account)
                    .await
                    .ok()
                    .and_then(|cs| cs.into_iter().find(|c| c.jid == jid))
                    .map(|c| c.groups)
                    .unwrap_or_default();
                self.to_session(SessionCommand::RenameContact(jid, name, groups))
                    .await;
            }
            Command::RemoveContact { jid, .. } => {
                self.to_session(SessionCommand::RemoveContact(jid)).await;
            }
            Command::BlockContact { jid, blocked, .. } => {
                self.to_session(SessionCommand::Block(jid, blocked)).await;
            }
            Command::SendPushInfo { contact, json, .. } => {
                if !self.ready {
                    self.emit(Event::PushInfoSent {
                        account,
                        contact,
                        error: Some("this account is not connected".into()),
                    })
                    .await;
                    return;
                }
                self.omemo.enqueue(Outgoing::PushInfo {
                    to: contact,
                    id: crate::xmpp::new_id(),
                    json,
                });
                self.pump().await;
            }
            Command::RemoveOwnDevice { device, .. } => {
                if self.session.is_none() {
                    self.emit(Event::OwnDeviceRemoved {
                        account,
                        device: device.get(),
                        error: Some("this account is not connected".into()),
                    })
                    .await;
                    return;
                }
                for command in self.omemo.remove_own_device(&self.pipeline, device).await {
                    self.to_session_if_any(command);
                }
            }
            Command::SetClientActive { active } => {
                self.client_active = Some(active);
                self.to_session_if_any(SessionCommand::ClientActive(active));
            }
            Command::JoinRoom {
                room,
                nick,
                password,
                ..
            } => {
                let join = self.rooms.join(&self.pipeline, room, nick, password, None);
                if let Some(join) = join.await {
                    self.to_session(join).await;
                }
            }
            Command::LeaveRoom { room, .. } => {
                if let Some(leave) = self.rooms.leave(&self.pipeline, room.clone()).await {
                    self.to_session_if_any(leave);
                }
                if let Some(bookmark) = self.rooms.bookmark(&room) {
                    self.to_session_if_any(bookmark);
                }
            }
            Command::CreateRoom {
                room, nick, config, ..
            } => {
                let join = self
                    .rooms
                    .join(&self.pipeline, room, nick, None, Some(config));
                if let Some(join) = join.await {
                    self.to_session(join).await;
                }
            }
            Command::Moderate {
                room, what, reason, ..
            } => {
                if self.rooms.is_joined(&room) {
                    self.to_session_if_any(SessionCommand::Moderate { room, what, reason });
                } else {
                    self.emit(Event::Moderated {
                        account,
                        room,
                        what,
                        error: Some("you are not in this room".into()),
                    })
                    .await;
                }
            }
            Command::SetRoomSubject { room, subject, .. } => {
                if self.rooms.is_joined(&room) {
                    self.to_session_if_any(SessionCommand::SetSubject { room, subject });
                } else {
                    self.emit(Event::MessageError {
                        account,
                        id: None,
                        reason: format!("you are not in {room}, so its subject cannot be set"),
                    })
                    .await;
                }
            }
            Command::InviteToRoom {
                room, to, reason, ..
            } => {
                let error = match self.rooms.invitation(&room) {
                    Ok(mediated) if self.ready => {
                        self.to_session_if_any(SessionCommand::Invite {
                            room: room.clone(),
                            to: to.clone(),
                            reason,
                            mediated,
                        });
                        None
                    }
                    Ok(_) => Some("this account is not connected".to_owned()),
                    Err(e) => Some(e.to_owned()),
                };
                self.emit(Event::Invited {
                    account,
                    room,
                    to,
                    error,
                })
                .await;
            }
            Command::DeclineInvitation { invitation, .. } => {
                if invitation.mediated {
                    self.to_session_if_any(SessionCommand::Decline {
                        room: invitation.room,
                        inviter: invitation.from,
                    });
                }
            }
            Command::SetRoomNotify { room, notify, .. } => {
                self.rooms.set_notify(&self.pipeline, room, notify).await;
            }
            Command::Stop(_) => self.to_session_if_any(SessionCommand::Close),
            // The engine handles these itself.
            Command::Configure(_)
            | Command::Start(_)
            | Command::CreateAccount(_)
            | Command::StorePassword { .. }
            | Command::ForgetAccount { .. }
            | Command::AddPushInfo { .. }
            | Command::RemovePushInfo { .. }
            | Command::Knock { .. }
            | Command::SetAutoKnock { .. }
            | Command::SetChatEncryption { .. }
            | Command::SetDeviceTrust { .. }
            | Command::Shutdown => {}
        }
    }

    /// Our message to a room, stored: it goes now if we are in the room,
    /// or once the room lets us in (a one-shot command enters it for it).
    /// Takes out of `messages` those written privately to us by someone
    /// in one of our rooms, and stores them apart (see
    /// [`Pipeline::store_private`]); our own private messages from other
    /// devices name no nickname here, and stay in the server's archive.
    async fn private_apart(&mut self, messages: &mut Vec<SyncedMessage>) -> bool {
        let (private, rest): (Vec<_>, Vec<_>) = std::mem::take(messages)
            .into_iter()
            .partition(|m| self.rooms.is_room(&m.peer));
        *messages = rest;
        let (theirs, ours): (Vec<_>, Vec<_>) = private
            .into_iter()
            .partition(|m| !m.outgoing && m.sender.resource().is_some());
        if !ours.is_empty() {
            tracing::debug!(account = %self.account, count = ours.len(), "private messages of ours to rooms' occupants left in the archive");
        }
        self.pipeline.store_private(&self.account, theirs).await
    }

    async fn send_to_room(&mut self, message: OutgoingMessage) {
        match self.rooms.may_send(&message.to) {
            Ok(true) if self.ready => {
                self.to_session_if_any(SessionCommand::SendToRooms(vec![message]));
            }
            Ok(_) => {
                if self.ready
                    && !self.stays
                    && let Some(join) = self
                        .rooms
                        .rejoin(Some(std::slice::from_ref(&message.to)))
                        .pop()
                {
                    self.to_session_if_any(join);
                }
            }
            Err(reason) => {
                self.rooms
                    .refuse_message(&self.pipeline, &message.id, reason)
                    .await;
            }
        }
    }

    fn contact_online(&self, contact: &BareJid) -> bool {
        self.present.contains_key(contact)
    }

    /// Follows contacts' resources; true when one came online that was not.
    fn note_presence(&mut self, update: &PresenceUpdate) -> bool {
        let bare = update.from.to_bare();
        let resource = update
            .from
            .resource()
            .map(|r| r.to_string())
            .unwrap_or_default();
        let resources = self.present.entry(bare.clone()).or_default();
        let mut new = false;
        if update.availability.is_online() {
            new = resources.insert(resource);
        } else if resource.is_empty() {
            resources.clear();
        } else {
            resources.remove(&resource);
        }
        if resources.is_empty() {
            self.present.remove(&bare);
        }
        new
    }

    async fn emit(&self, event: Event) {
        self.pipeline.emit(event).await;
    }

    async fn session_event(&mut self, event: SessionEvent) {
        let account = self.account.clone();
        match event {
            SessionEvent::Connection(state) => self.connection(state).await,
            SessionEvent::Usable { resumed, .. } => {
                // Everything queued goes out, in order, on every stream
                // that becomes usable; what the stream still holds (it
                // resends that itself on resumption) is skipped by the
                // session. Receivers drop duplicates by origin-id.
                if !resumed {
                    for command in self.omemo.new_stream() {
                        self.to_session_if_any(command);
                    }
                }
                let outbox = self.pipeline.outbox(&account).await;
                if !resumed {
                    // Rooms first: what waits for them goes once each
                    // lets us in.
                    let waiting: Vec<BareJid> = outbox
                        .iter()
                        .map(|m| m.to.clone())
                        .filter(|to| self.rooms.is_room(to))
                        .collect();
                    self.rooms.new_stream();
                    if self.stays {
                        // Which rooms to be in is what the bookmarks say.
                        self.to_session_if_any(SessionCommand::FetchBookmarks);
                    } else {
                        for join in self.rooms.rejoin(Some(&waiting)) {
                            self.to_session_if_any(join);
                        }
                    }
                }
                let (to_rooms, outbox): (Vec<_>, Vec<_>) =
                    outbox.into_iter().partition(|m| self.rooms.is_room(&m.to));
                if resumed {
                    let joined: Vec<_> = to_rooms
                        .into_iter()
                        .filter(|m| self.rooms.is_joined(&m.to))
                        .collect();
                    if !joined.is_empty() {
                        self.to_session_if_any(SessionCommand::SendToRooms(joined));
                    }
                }
                if !outbox.is_empty() {
                    tracing::debug!(%account, queued = outbox.len(), resumed, "flushing the outbox");
                }
                self.omemo.enqueue_outbox(outbox);
                self.ready = true;
                self.pump().await;
                if !resumed {
                    self.catching_up = Some(None);
                    let from = self.pipeline.catch_up_from(&account).await;
                    self.archive_floor = match &from {
                        CatchUpFrom::After { id, .. } => {
                            self.pipeline.archive_time(&account, id).await
                        }
                        CatchUpFrom::Since(_) | CatchUpFrom::Latest => None,
                    };
                    self.to_session_if_any(SessionCommand::CatchUp(from));
                }
            }
            SessionEvent::CaVerified => {
                let acc = account.to_string();
                if let Err(e) = self.pipeline.blocking(move |s| s.set_ca_seen(&acc)).await {
                    tracing::warn!(%account, error = %e, "could not record the certificate check");
                }
            }
            SessionEvent::Roster(contacts) => {
                self.roster = contacts
                    .iter()
                    .map(|c| (c.jid.clone(), c.subscription))
                    .collect();
                self.stored_contact_event(Event::Roster { account, contacts })
                    .await;
            }
            SessionEvent::RosterFailed(reason) => {
                self.emit(Event::RosterFailed { account, reason }).await;
            }
            SessionEvent::ContactChanged(contact) => {
                self.roster
                    .insert(contact.jid.clone(), contact.subscription);
                self.stored_contact_event(Event::ContactChanged { account, contact })
                    .await;
            }
            SessionEvent::ContactRemoved(jid) => {
                self.roster.remove(&jid);
                self.stored_contact_event(Event::ContactRemoved { account, jid })
                    .await;
            }
            SessionEvent::Presence(update) => {
                if self.note_presence(&update) {
                    for command in self.omemo.came_online(&update.from.to_bare()) {
                        self.to_session_if_any(command);
                    }
                }
                self.emit(Event::Presence { account, update }).await;
            }
            SessionEvent::Subscription { from, change } => {
                self.emit(Event::Subscription {
                    account,
                    from,
                    change,
                })
                .await;
            }
            SessionEvent::Incoming(message) => self.incoming(message).await,
            SessionEvent::Synced(message) => {
                let stanza_id = message.stanza_id.clone();
                let mut messages = vec![message];
                self.open_encrypted(&mut messages, true).await;
                let mut stored = self.private_apart(&mut messages).await;
                for message in messages {
                    stored &= self.pipeline.store_synced(&account, message).await != Stored::Failed;
                }
                if stored {
                    self.note_live_id(stanza_id).await;
                }
            }
            SessionEvent::ArchivePage {
                messages,
                last,
                complete,
                fetched,
                total,
            } => {
                let mut messages = messages;
                self.open_encrypted(&mut messages, false).await;
                let apart = self.private_apart(&mut messages).await;
                let stored = apart
                    && self
                        .pipeline
                        .store_archived(&account, messages, &mut self.archive_floor)
                        .await;
                self.archive_page(last.filter(|_| stored), complete, stored)
                    .await;
                if complete {
                    self.release_held().await;
                    self.omemo.caught_up(&self.pipeline).await;
                }
                self.emit(Event::CatchUp {
                    account,
                    fetched,
                    total,
                    done: complete,
                })
                .await;
            }
            SessionEvent::Delivery { id, state } => self.delivery(id, state).await,
            SessionEvent::Bounced { id, from, reason } => {
                if let Some(id) = &id {
                    let witness = from.as_ref().map(witness_of);
                    self.pipeline
                        .advance(
                            &account,
                            Step {
                                id,
                                state: OutgoingState::Failed {
                                    reason: reason.clone(),
                                },
                                refused: true,
                                settled: false,
                                witness: witness.as_deref(),
                            },
                        )
                        .await;
                }
                self.emit(Event::MessageError {
                    account,
                    id,
                    reason,
                })
                .await;
            }
            SessionEvent::Received { id, from } => {
                self.confirmed(&id, &from, OutgoingState::Delivered).await;
            }
            SessionEvent::Displayed { id, from } => {
                self.confirmed(&id, &from, OutgoingState::Read).await;
            }
            SessionEvent::ChatState { from, state } => {
                self.emit(Event::ChatState {
                    account,
                    from,
                    state,
                })
                .await;
            }
            SessionEvent::PushInfo {
                contact,
                json,
                source,
            } => {
                // Only people in the roster may hand us push info; anyone
                // else's would only fill the store.
                if json.is_some() && !self.roster.contains_key(&contact) {
                    tracing::debug!(%account, "push info from someone not in the roster ignored");
                    return;
                }
                // In an encrypted chat push info travels inside the OMEMO 2
                // envelope (read in open_encrypted); one in clear beside
                // it could have been put there by any server on the way.
                if source == crate::model::PushSource::Message {
                    let (acc, who) = (account.to_string(), contact.to_string());
                    let setting = self
                        .pipeline
                        .blocking(move |s| s.chat_encryption(&acc, &who))
                        .await;
                    if setting.is_ok_and(|s| s == ChatEncryption::On) {
                        tracing::info!(%account, %contact, "push info in clear in an encrypted chat ignored");
                        return;
                    }
                }
                self.pipeline
                    .push_info(account, contact, json, source)
                    .await;
            }
            SessionEvent::PushInfoPublished { published, error } => {
                self.emit(Event::PushInfoPublished {
                    account,
                    published,
                    error,
                })
                .await;
            }
            SessionEvent::Blocked { jid, blocked } => {
                self.emit(Event::Blocked {
                    account,
                    jid,
                    blocked,
                })
                .await;
            }
            SessionEvent::BlockList(jids) => self.emit(Event::BlockList { account, jids }).await,
            SessionEvent::RoomJoined {
                room,
                nick,
                created,
                role,
                affiliation,
            } => {
                let standing = (role, affiliation);
                let joined = self
                    .rooms
                    .joined(&self.pipeline, room, nick, created, standing);
                for command in joined.await {
                    self.to_session_if_any(command);
                }
            }
            SessionEvent::Standing {
                room,
                role,
                affiliation,
            } => {
                self.emit(Event::RoomStanding {
                    account,
                    room,
                    role,
                    affiliation,
                })
                .await;
            }
            SessionEvent::RoomRefused { room, refusal } => {
                self.rooms.refused(&self.pipeline, room, refusal).await;
            }
            SessionEvent::RoomLeft { room, departure } => {
                self.rooms.left(&self.pipeline, room, departure).await;
            }
            SessionEvent::Occupant {
                room,
                occupant,
                change,
            } => {
                self.emit(Event::Occupant {
                    account,
                    room,
                    occupant,
                    change,
                })
                .await;
            }
            SessionEvent::RoomSubject { room, subject, by } => {
                self.rooms.subject(&self.pipeline, room, subject, by).await;
            }
            SessionEvent::RoomMessage(message) => self.rooms.live(&self.pipeline, message).await,
            SessionEvent::Moderated { room, what, error } => {
                self.emit(Event::Moderated {
                    account,
                    room,
                    what,
                    error,
                })
                .await;
            }
            SessionEvent::RoomConfigured { room, error } => {
                self.emit(Event::RoomConfigured {
                    account,
                    room,
                    error,
                })
                .await;
            }
            SessionEvent::Invited(invitation) => {
                if self.rooms.is_joined(&invitation.room) {
                    return;
                }
                let from_contact = self.roster.contains_key(&invitation.from.to_bare());
                self.emit(Event::Invitation {
                    account,
                    invitation,
                    from_contact,
                })
                .await;
            }
            SessionEvent::RoomInfo { room, info } => {
                self.rooms.info(&self.pipeline, room, info).await;
            }
            SessionEvent::Bookmarks(bookmarks) => {
                for command in self.rooms.bookmarks(&self.pipeline, bookmarks).await {
                    self.to_session_if_any(command);
                }
            }
            SessionEvent::BookmarkChanges(changes) => {
                for command in self.rooms.bookmark_changes(&self.pipeline, changes).await {
                    self.to_session_if_any(command);
                }
            }
            SessionEvent::RoomArchivePage {
                room,
                messages,
                last,
                complete,
            } => {
                self.rooms
                    .page(&self.pipeline, room, messages, last, complete)
                    .await;
            }
            SessionEvent::Omemo(event) => {
                let commands = self.omemo.on_event(&self.pipeline, event).await;
                for command in commands {
                    self.to_session_if_any(command);
                }
                if self.ready {
                    self.pump().await;
                }
            }
        }
    }

    /// Hands what of ours can go now to the session, encrypted where the
    /// chat is, with the requests the next message needs.
    async fn pump(&mut self) {
        let commands = self.omemo.pump(&self.pipeline).await;
        for command in commands {
            self.to_session_if_any(command);
        }
    }

    /// Decrypts what came encrypted (in place), answers and repairs
    /// sessions as needed, and takes push info from OMEMO 2 envelopes.
    async fn open_encrypted(&mut self, messages: &mut Vec<SyncedMessage>, live: bool) {
        let (commands, push) = self.omemo.open_all(&self.pipeline, messages, live).await;
        for command in commands {
            self.to_session_if_any(command);
        }
        for (contact, json) in push {
            if contact == self.account || !self.roster.contains_key(&contact) {
                continue;
            }
            self.pipeline
                .push_info(
                    self.account.clone(),
                    contact,
                    Some(json),
                    crate::model::PushSource::Message,
                )
                .await;
        }
    }

    async fn connection(&mut self, mut state: ConnectionState) {
        if !matches!(state, ConnectionState::Online { .. }) {
            self.ready = false;
            self.omemo.link_down();
            // What we knew of contacts' presence is stale now.
            self.present.clear();
            // The catch-up that held them will not finish on this stream.
            self.catching_up = None;
            self.release_held().await;
        }
        if let ConnectionState::Failed {
            certificate: Some(_),
            pinnable,
            reason,
        } = &mut state
        {
            let acc = self.account.to_string();
            let ca_seen = self
                .pipeline
                .blocking(move |s| s.ca_seen(&acc))
                .await
                // When in doubt, do not offer to trust.
                .unwrap_or(true);
            *pinnable = !ca_seen;
            if ca_seen {
                reason.push_str(
                    ". This server's certificate was trusted through a certificate authority \
                     before; a certificate that is not is what someone intercepting the \
                     connection would show, so Sotto does not offer to trust it. If your server \
                     really changed, check its fingerprint with its administrator",
                );
            }
        }
        self.emit(Event::Connection {
            account: self.account.clone(),
            state,
        })
        .await;
    }

    async fn stored_contact_event(&self, event: Event) {
        self.pipeline.remember_contacts(&event).await;
        self.emit(event).await;
    }

    /// A live message: stored first, then (only then) a receipt, if the
    /// sender asked and may see our presence (XEP-0184 §8: a receipt
    /// would otherwise tell a stranger we are online).
    async fn incoming(&mut self, message: IncomingMessage) {
        if self.catching_up.is_some() && message.delayed.is_some() {
            self.held.push(message);
            return;
        }
        let receipt = match (&message.id, message.wants_receipt) {
            (Some(id), true) => Some((message.from.clone(), id.clone())),
            _ => None,
        };
        let stanza_id = message.stanza_id.clone();
        let synced: SyncedMessage = message.into();
        let peer = synced.peer.clone();
        let mut messages = vec![synced];
        self.open_encrypted(&mut messages, true).await;
        if self.rooms.is_room(&peer) {
            // Said privately by someone in a room: never a receipt to them.
            if self.private_apart(&mut messages).await {
                self.note_live_id(stanza_id).await;
            }
            return;
        }
        let Some(synced) = messages.pop() else {
            // An empty OMEMO message: a session set up, nothing to show.
            self.note_live_id(stanza_id).await;
            return;
        };
        if self.pipeline.store_synced(&self.account, synced).await == Stored::Failed {
            return;
        }
        if let Some((to, id)) = receipt
            && peer != self.account
            && matches!(
                self.roster.get(&peer),
                Some(Subscription::From | Subscription::Both)
            )
        {
            self.to_session_if_any(SessionCommand::Receipt { to, id });
        }
        self.note_live_id(stanza_id).await;
    }

    /// Stores what came from offline storage during the catch-up.
    async fn release_held(&mut self) {
        for message in std::mem::take(&mut self.held) {
            Box::pin(self.incoming(message)).await;
        }
    }

    /// Live messages carry our server's id; while no catch-up runs, the
    /// newest one is where the next catch-up starts.
    async fn note_live_id(&mut self, stanza_id: Option<String>) {
        let Some(id) = stanza_id else { return };
        if let Some(seen) = self.catching_up.as_mut() {
            *seen = Some(id);
            return;
        }
        self.pipeline.set_resume_point(&self.account, id).await;
    }

    async fn archive_page(&mut self, last: Option<String>, complete: bool, stored: bool) {
        let live = if complete && stored {
            self.catching_up.take().flatten()
        } else {
            None
        };
        if complete && !stored {
            // The resume point stays before the page that did not store;
            // live ids seen meanwhile would skip it.
            self.catching_up = None;
        }
        if let Some(id) = live.or(last) {
            self.pipeline.set_resume_point(&self.account, id).await;
        }
    }

    async fn delivery(&mut self, id: String, delivery: Delivery) {
        let (state, settled) = match delivery {
            Delivery::Sent { acks } => (OutgoingState::Sent, !acks),
            Delivery::Acked => (OutgoingState::Acked, false),
            // Still in the outbox: the next usable stream sends it again.
            Delivery::Lost => return,
            Delivery::Failed(reason) => (OutgoingState::Failed { reason }, false),
        };
        let refused = matches!(state, OutgoingState::Failed { .. });
        self.pipeline
            .advance(
                &self.account,
                Step {
                    id: &id,
                    state,
                    refused,
                    settled,
                    witness: None,
                },
            )
            .await;
    }

    /// A receipt or marker: it counts only from the contact the message
    /// went to (or our own other device, for a message it also read).
    async fn confirmed(&self, id: &str, from: &crate::model::Jid, state: OutgoingState) {
        let witness = witness_of(from);
        self.pipeline
            .advance(
                &self.account,
                Step {
                    id,
                    state,
                    refused: false,
                    settled: false,
                    witness: Some(&witness),
                },
            )
            .await;
    }
}

/// Who a stanza is from, as the store checks it against a message's
/// peer: a bare JID, or a server's domain.
fn witness_of(from: &crate::model::Jid) -> String {
    from.to_bare().to_string()
}
