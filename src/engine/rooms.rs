//! An account's rooms, on the engine's side: which to be in, when our
//! messages to them may go, and their history. A room's archive is read
//! from where the store left off each time we enter it, and nothing moves
//! that point past what is not stored yet, so a reconnect or a crash
//! leaves no gap; the room's stanza-ids keep what is read twice from
//! being stored twice.

use std::collections::HashMap;

use super::Event;
use super::pipeline::Pipeline;
use crate::model::{
    AccountId, BareJid, Bookmark, Departure, OutgoingMessage, OutgoingState, RoomMessage,
    RoomRefusal,
};
use crate::store::{NewRoomMessage, RoomNotify, RoomStored, now_ms};
use crate::xmpp::bookmarks::BookmarkChange;
use crate::xmpp::{CatchUpFrom, SessionCommand};

/// How far back the archive is read when a room no longer has our resume
/// point, before the newest message we have from it.
const FALLBACK_OVERLAP_MS: i64 = 10 * 60 * 1000;

#[derive(Debug)]
struct Room {
    /// The nickname we ask for.
    nick: String,
    password: Option<String>,
    autojoin: bool,
    /// The nickname the room gave us on this stream; `None`: not in it.
    joined_as: Option<String>,
    /// While its archive is read: the newest live id seen meanwhile.
    catching_up: Option<Option<String>>,
    /// The sort time of the last archived message stored in the running
    /// catch-up: nothing later in the archive sorts before it.
    floor: Option<i64>,
    /// The running catch-up is a first join's (its messages are not new
    /// to the person, so they do not count as unread).
    first: bool,
    /// Only members may enter: invitations go through the room, which
    /// makes the invited a member.
    members_only: bool,
    /// The person asked to enter: once the room lets us in, the bookmark
    /// tells the account's other clients (not before: a refused join is
    /// nothing to share).
    announce: bool,
}

pub struct Rooms {
    account: AccountId,
    rooms: HashMap<BareJid, Room>,
}

impl Rooms {
    pub fn new(account: AccountId) -> Self {
        Self {
            account,
            rooms: HashMap::new(),
        }
    }

    /// Reads the account's rooms from the store.
    pub async fn load(&mut self, pipeline: &Pipeline) {
        let acc = self.account.to_string();
        match pipeline.blocking(move |s| s.rooms(&acc)).await {
            Ok(rooms) => {
                for r in rooms {
                    let Ok(jid) = r.jid.parse::<BareJid>() else {
                        continue;
                    };
                    self.rooms.insert(
                        jid,
                        Room {
                            nick: r.nick,
                            password: r.password,
                            autojoin: r.autojoin,
                            joined_as: None,
                            catching_up: None,
                            floor: None,
                            first: false,
                            announce: false,
                            members_only: r.members_only,
                        },
                    );
                }
            }
            Err(e) => {
                tracing::error!(account = %self.account, error = %e, "could not read the rooms")
            }
        }
    }

    pub fn is_room(&self, jid: &BareJid) -> bool {
        self.rooms.contains_key(jid)
    }

    pub fn is_joined(&self, room: &BareJid) -> bool {
        self.rooms.get(room).is_some_and(|r| r.joined_as.is_some())
    }

    /// The nickname an account enters rooms with unless told otherwise.
    fn default_nick(&self) -> String {
        self.account
            .node()
            .map_or_else(|| self.account.to_string(), |n| n.to_string())
    }

    /// Writes something of `room`'s to the store; a failure is logged as
    /// what could not be done, and said by the `false`.
    async fn write(
        &self,
        pipeline: &Pipeline,
        room: &BareJid,
        what: &'static str,
        write: impl FnOnce(&crate::store::Store, &str, &str) -> Result<(), crate::store::StoreError>
        + Send
        + 'static,
    ) -> bool {
        let (acc, jid) = (self.account.to_string(), room.to_string());
        match pipeline.blocking(move |s| write(s, &acc, &jid)).await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(account = %self.account, error = %e, "could not {what}");
                false
            }
        }
    }

    /// Remembers the room (autojoin on) and enters it; `create`: how to
    /// set it up if our join creates it.
    pub async fn join(
        &mut self,
        pipeline: &Pipeline,
        room: BareJid,
        nick: Option<String>,
        password: Option<String>,
        create: Option<crate::model::RoomConfig>,
    ) -> Option<SessionCommand> {
        let known = self.rooms.get(&room);
        let nick = nick
            .or_else(|| known.map(|r| r.nick.clone()))
            .unwrap_or_else(|| self.default_nick());
        let password = password.or_else(|| known.and_then(|r| r.password.clone()));
        if let Err(e) = crate::xmpp::muc::occupant_jid(&room, &nick) {
            pipeline
                .emit(Event::RoomJoinFailed {
                    account: self.account.clone(),
                    room,
                    reason: e.to_string(),
                    refusal: RoomRefusal::Other {
                        reason: e.to_string(),
                    },
                })
                .await;
            return None;
        }
        let (acc, r, n, p) = (
            self.account.to_string(),
            room.to_string(),
            nick.clone(),
            password.clone(),
        );
        if let Err(e) = pipeline
            .blocking(move |s| s.save_room(&acc, &r, &n, p.as_deref(), true))
            .await
        {
            tracing::error!(account = %self.account, error = %e, "could not store a room");
            pipeline
                .emit(Event::RoomJoinFailed {
                    account: self.account.clone(),
                    room,
                    reason: format!("it could not be saved: {e}"),
                    refusal: RoomRefusal::Other {
                        reason: e.to_string(),
                    },
                })
                .await;
            return None;
        }
        let entry = self.rooms.entry(room.clone()).or_insert(Room {
            nick: nick.clone(),
            password: None,
            autojoin: true,
            joined_as: None,
            catching_up: None,
            floor: None,
            first: false,
            announce: false,
            members_only: false,
        });
        entry.nick = nick.clone();
        entry.password = password.clone();
        entry.autojoin = true;
        entry.announce = true;
        Some(SessionCommand::JoinRoom {
            room,
            nick,
            password,
            create,
        })
    }

    /// The bookmark that makes our other clients enter the room too (or,
    /// with autojoin off, no longer).
    pub fn bookmark(&self, room: &BareJid) -> Option<SessionCommand> {
        let r = self.rooms.get(room)?;
        Some(SessionCommand::PublishBookmark(Bookmark {
            room: room.clone(),
            name: None,
            nick: Some(r.nick.clone()),
            password: r.password.clone(),
            autojoin: r.autojoin,
        }))
    }

    /// Our bookmarks as read at login are where the account's rooms are
    /// kept: a room bookmarked elsewhere is entered here, one whose
    /// bookmark is gone was left elsewhere. `None` (a server without
    /// bookmarks) or none at all (a server that could not keep ours, or
    /// an account new to bookmarks): the store's rooms, bookmarked again.
    /// Then the rooms to be in are entered.
    pub async fn bookmarks(
        &mut self,
        pipeline: &Pipeline,
        bookmarks: Option<Vec<Bookmark>>,
    ) -> Vec<SessionCommand> {
        let mut commands = Vec::new();
        if bookmarks.as_ref().is_none_or(Vec::is_empty) {
            let ours: Vec<BareJid> = self
                .rooms
                .iter()
                .filter(|(_, r)| r.autojoin)
                .map(|(jid, _)| jid.clone())
                .collect();
            commands.extend(ours.iter().filter_map(|room| self.bookmark(room)));
        } else if let Some(bookmarks) = bookmarks {
            let marked: Vec<BareJid> = bookmarks.iter().map(|b| b.room.clone()).collect();
            for b in bookmarks {
                self.remember(pipeline, &b).await;
            }
            let gone: Vec<BareJid> = self
                .rooms
                .iter()
                // What the person asked for while the bookmarks were on
                // their way is not undone by them.
                .filter(|(jid, r)| {
                    r.autojoin && !r.announce && r.joined_as.is_none() && !marked.contains(jid)
                })
                .map(|(jid, _)| jid.clone())
                .collect();
            for room in gone {
                self.stop_joining(pipeline, &room).await;
            }
        }
        commands.extend(self.rejoin(None));
        commands
    }

    /// What our other clients changed in our bookmarks, followed here.
    pub async fn bookmark_changes(
        &mut self,
        pipeline: &Pipeline,
        changes: Vec<BookmarkChange>,
    ) -> Vec<SessionCommand> {
        let mut commands = Vec::new();
        for change in changes {
            let (room, wanted) = match change {
                BookmarkChange::Set(b) => {
                    let room = b.room.clone();
                    let unchanged = self.rooms.get(&room).is_some_and(|r| {
                        r.autojoin == b.autojoin && b.nick.as_ref().is_none_or(|n| *n == r.nick)
                    });
                    if !unchanged {
                        self.remember(pipeline, &b).await;
                    }
                    (room, b.autojoin)
                }
                BookmarkChange::Removed(room) => {
                    if self.rooms.get(&room).is_some_and(|r| r.autojoin) {
                        self.stop_joining(pipeline, &room).await;
                    }
                    (room, false)
                }
            };
            let joined = self.is_joined(&room);
            if wanted && !joined {
                commands.extend(self.rejoin(Some(std::slice::from_ref(&room))));
            } else if !wanted && joined {
                commands.push(SessionCommand::LeaveRoom(room));
            }
        }
        commands
    }

    /// Stores a bookmarked room as the bookmark says.
    async fn remember(&mut self, pipeline: &Pipeline, b: &Bookmark) {
        let known = self.rooms.get(&b.room);
        let nick = b
            .nick
            .clone()
            .or_else(|| known.map(|r| r.nick.clone()))
            .unwrap_or_else(|| self.default_nick());
        let password = b
            .password
            .clone()
            .or_else(|| known.and_then(|r| r.password.clone()));
        let (acc, r, n, p, autojoin) = (
            self.account.to_string(),
            b.room.to_string(),
            nick.clone(),
            password.clone(),
            b.autojoin,
        );
        if let Err(e) = pipeline
            .blocking(move |s| s.save_room(&acc, &r, &n, p.as_deref(), autojoin))
            .await
        {
            tracing::error!(account = %self.account, error = %e, "could not store a bookmarked room");
            return;
        }
        let entry = self.rooms.entry(b.room.clone()).or_insert(Room {
            nick: nick.clone(),
            password: None,
            autojoin: false,
            joined_as: None,
            catching_up: None,
            floor: None,
            first: false,
            announce: false,
            members_only: false,
        });
        entry.nick = nick;
        entry.password = password;
        entry.autojoin = b.autojoin;
    }

    async fn stop_joining(&mut self, pipeline: &Pipeline, room: &BareJid) {
        if let Some(r) = self.rooms.get_mut(room) {
            r.autojoin = false;
        }
        self.write(pipeline, room, "record leaving a room", |s, acc, jid| {
            s.set_room_autojoin(acc, jid, false)
        })
        .await;
    }

    /// Stops joining the room at login (its history stays) and leaves it.
    pub async fn leave(&mut self, pipeline: &Pipeline, room: BareJid) -> Option<SessionCommand> {
        self.stop_joining(pipeline, &room).await;
        let joined = self.is_joined(&room);
        if joined {
            Some(SessionCommand::LeaveRoom(room))
        } else {
            pipeline
                .emit(Event::RoomLeft {
                    account: self.account.clone(),
                    room,
                    departure: Departure::Left,
                })
                .await;
            None
        }
    }

    /// A new stream is in no room.
    pub fn new_stream(&mut self) {
        for room in self.rooms.values_mut() {
            room.joined_as = None;
            room.catching_up = None;
        }
    }

    /// Enters the rooms we mean to be in and are not, or (`only`) just
    /// these of them.
    pub fn rejoin(&self, only: Option<&[BareJid]>) -> Vec<SessionCommand> {
        self.rooms
            .iter()
            .filter(|(jid, r)| {
                r.autojoin && r.joined_as.is_none() && only.is_none_or(|o| o.contains(jid))
            })
            .map(|(jid, r)| SessionCommand::JoinRoom {
                room: jid.clone(),
                nick: r.nick.clone(),
                password: r.password.clone(),
                create: None,
            })
            .collect()
    }

    /// The room let us in, as `nick`, with our standing there.
    pub async fn joined(
        &mut self,
        pipeline: &Pipeline,
        room: BareJid,
        nick: String,
        created: bool,
        (role, affiliation): (crate::model::Role, crate::model::Affiliation),
    ) -> Vec<SessionCommand> {
        if let Some(r) = self.rooms.get_mut(&room)
            && r.announce
        {
            r.autojoin = true;
        }
        let bookmark = self
            .rooms
            .get(&room)
            .filter(|r| r.announce)
            .and_then(|_| self.bookmark(&room));
        let (acc, jid) = (self.account.to_string(), room.to_string());
        let resume = pipeline
            .blocking(move |s| s.room_resume_point(&acc, &jid))
            .await
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "could not read a room's archive position");
                crate::store::RoomResume {
                    id: None,
                    at: None,
                    newest: None,
                    since: None,
                }
            });
        let (from, floor, first) = match resume {
            crate::store::RoomResume {
                id: Some(id), at, ..
            } => {
                let fallback_since = at
                    .or(resume.newest)
                    .map_or_else(now_ms, |t| t - FALLBACK_OVERLAP_MS);
                (CatchUpFrom::After { id, fallback_since }, at, false)
            }
            // No resume point recorded (we were killed while the first
            // catch-up ran, or nothing was said since we first came): from
            // a little before we first came (or, for a room stored before
            // that was recorded, before its newest message); every one
            // already stored is skipped by its id.
            crate::store::RoomResume { since: Some(t), .. }
            | crate::store::RoomResume {
                newest: Some(t), ..
            } => (CatchUpFrom::Since(t - FALLBACK_OVERLAP_MS), None, false),
            crate::store::RoomResume { .. } => {
                // A first join: the newest page of what came before, and
                // from now on everything.
                self.write(pipeline, &room, "record entering a room", |s, acc, jid| {
                    s.set_room_first_join(acc, jid, now_ms())
                })
                .await;
                (CatchUpFrom::Latest, None, true)
            }
        };
        let Some(r) = self.rooms.get_mut(&room) else {
            return Vec::new();
        };
        r.announce = false;
        r.joined_as = Some(nick.clone());
        r.floor = floor;
        r.first = first;
        r.catching_up = Some(None);
        pipeline
            .emit(Event::RoomJoined {
                account: self.account.clone(),
                room: room.clone(),
                nick,
                created,
                role,
                affiliation,
            })
            .await;
        // What waited for the room goes now, in order.
        let waiting: Vec<OutgoingMessage> = pipeline
            .outbox(&self.account)
            .await
            .into_iter()
            .filter(|m| m.to == room)
            .collect();
        let mut commands: Vec<SessionCommand> = bookmark.into_iter().collect();
        if !waiting.is_empty() {
            commands.push(SessionCommand::SendToRooms(waiting));
        }
        commands.push(SessionCommand::RoomCatchUp(room, from));
        commands
    }

    /// The room would not let us in. One the person just asked for is not
    /// entered again by itself (at the next login) until they try again;
    /// one entered at login stays, as the refusal may pass (a nickname in
    /// use, a full room).
    pub async fn refused(&mut self, pipeline: &Pipeline, room: BareJid, refusal: RoomRefusal) {
        let asked = self
            .rooms
            .get_mut(&room)
            .filter(|r| r.joined_as.is_none())
            .is_some_and(|r| std::mem::take(&mut r.announce));
        if asked {
            self.stop_joining(pipeline, &room).await;
        }
        pipeline
            .emit(Event::RoomJoinFailed {
                account: self.account.clone(),
                room,
                reason: refusal.to_string(),
                refusal,
            })
            .await;
    }

    /// We are out of the room on this stream.
    pub async fn left(&mut self, pipeline: &Pipeline, room: BareJid, departure: Departure) {
        if let Some(r) = self.rooms.get_mut(&room) {
            r.joined_as = None;
            r.catching_up = None;
            // Put out by the room: not joined again by itself at the next
            // login until the user says so.
            if !matches!(departure, Departure::Left | Departure::Shutdown) {
                self.stop_joining(pipeline, &room).await;
            }
        }
        pipeline
            .emit(Event::RoomLeft {
                account: self.account.clone(),
                room,
                departure,
            })
            .await;
    }

    /// Our message to a room, stored: whether it may go now (`Ok(true)`),
    /// waits to enter the room (`Ok(false)`), or cannot go (the reason).
    pub fn may_send(&self, room: &BareJid) -> Result<bool, &'static str> {
        match self.rooms.get(room) {
            Some(r) if r.joined_as.is_some() => Ok(true),
            Some(r) if r.autojoin => Ok(false),
            _ => Err("you are not in this room; join it again to send"),
        }
    }

    pub async fn refuse_message(&self, pipeline: &Pipeline, id: &str, reason: &str) {
        pipeline
            .advance(
                &self.account,
                super::pipeline::Step {
                    id,
                    state: OutgoingState::Failed {
                        reason: reason.to_owned(),
                    },
                    refused: true,
                    settled: false,
                    witness: None,
                },
            )
            .await;
    }

    /// A live message from the room.
    pub async fn live(&mut self, pipeline: &Pipeline, message: RoomMessage) {
        let room = message.room.clone();
        let stanza_id = message.stanza_id.clone();
        if self.store(pipeline, &room, vec![message], true).await
            && let Some(id) = stanza_id
        {
            match self.rooms.get_mut(&room).map(|r| &mut r.catching_up) {
                Some(Some(seen)) => *seen = Some(id),
                Some(None) => self.set_resume_point(pipeline, &room, id).await,
                None => {}
            }
        }
    }

    /// One page of the room's archive.
    pub async fn page(
        &mut self,
        pipeline: &Pipeline,
        room: BareJid,
        messages: Vec<RoomMessage>,
        last: Option<String>,
        complete: bool,
    ) {
        let stored = self.store(pipeline, &room, messages, false).await;
        let Some(r) = self.rooms.get_mut(&room) else {
            return;
        };
        let resume = if complete {
            let live = r.catching_up.take().flatten();
            if !stored {
                None
            } else if r.first {
                // A first join's page is the newest at the moment the room
                // answered, which may be ahead of what it still sends us
                // live; only what came live marks how far we have it all.
                r.first = false;
                live
            } else {
                live.or(last)
            }
        } else if stored {
            last
        } else {
            None
        };
        if let Some(id) = resume {
            self.set_resume_point(pipeline, &room, id).await;
        }
        if complete {
            pipeline
                .emit(Event::RoomCaughtUp {
                    account: self.account.clone(),
                    room,
                })
                .await;
        }
    }

    async fn set_resume_point(&self, pipeline: &Pipeline, room: &BareJid, id: String) {
        self.write(
            pipeline,
            room,
            "record a room's archive position",
            move |s, acc, jid| s.set_room_resume_point(acc, jid, &id),
        )
        .await;
    }

    /// How an invitation into the room goes: through the room (`true`),
    /// or directly; an error where we are not in it.
    pub fn invitation(&self, room: &BareJid) -> Result<bool, &'static str> {
        match self.rooms.get(room) {
            Some(r) if r.joined_as.is_some() => Ok(r.members_only),
            _ => Err("you are not in this room; enter it first to invite someone"),
        }
    }

    pub async fn info(&mut self, pipeline: &Pipeline, room: BareJid, info: crate::model::RoomInfo) {
        if let Some(r) = self.rooms.get_mut(&room) {
            r.members_only = info.members_only;
        }
        let i = info.clone();
        self.write(
            pipeline,
            &room,
            "store what a room says of itself",
            move |s, acc, jid| s.set_room_info(acc, jid, &i),
        )
        .await;
        pipeline
            .emit(Event::RoomInfo {
                account: self.account.clone(),
                room,
                info,
            })
            .await;
    }

    pub async fn set_notify(&self, pipeline: &Pipeline, room: BareJid, notify: RoomNotify) {
        let stored = self
            .write(
                pipeline,
                &room,
                "store a room's notification setting",
                move |s, acc, jid| s.set_room_notify(acc, jid, notify),
            )
            .await;
        if stored {
            pipeline
                .emit(Event::RoomNotify {
                    account: self.account.clone(),
                    room,
                    notify,
                })
                .await;
        }
    }

    pub async fn subject(
        &self,
        pipeline: &Pipeline,
        room: BareJid,
        subject: Option<String>,
        by: Option<String>,
    ) {
        let text = subject.clone();
        self.write(
            pipeline,
            &room,
            "store a room's subject",
            move |s, acc, jid| s.set_room_subject(acc, jid, text.as_deref()),
        )
        .await;
        pipeline
            .emit(Event::RoomSubject {
                account: self.account.clone(),
                room,
                subject,
                by,
            })
            .await;
    }

    /// Stores messages from the room in one transaction; false if the
    /// store refused (then the resume point must not move past them).
    async fn store(
        &mut self,
        pipeline: &Pipeline,
        room: &BareJid,
        messages: Vec<RoomMessage>,
        live: bool,
    ) -> bool {
        if messages.is_empty() {
            return true;
        }
        let Some(r) = self.rooms.get_mut(room) else {
            return true;
        };
        let now = now_ms();
        let our_nick = r.joined_as.clone().unwrap_or_else(|| r.nick.clone());
        let count_unread = live || !r.first;
        // Live messages sort when they came; archive pages no earlier than
        // what they follow (the store keeps this floor).
        let mut floor = (!live).then(|| r.floor.unwrap_or(i64::MIN));
        let mut rows = Vec::with_capacity(messages.len());
        for m in messages {
            let sent_at = if live {
                now
            } else {
                m.sent_at.map_or(now, |s| s.ms)
            };
            let ours = match &m.real_jid {
                Some(jid) => *jid == self.account,
                None => m.nick == our_nick,
            };
            rows.push((m, sent_at, ours));
        }
        let (acc, jid) = (self.account.to_string(), room.to_string());
        let stored = pipeline
            .blocking(move |s| {
                let senders: Vec<String> = rows
                    .iter()
                    .map(|(m, ..)| format!("{}/{}", m.room, m.nick))
                    .collect();
                let bodies: Vec<_> = rows
                    .iter()
                    .map(|(m, ..)| super::pipeline::capped(&m.body))
                    .collect();
                let new: Vec<NewRoomMessage<'_>> = rows
                    .iter()
                    .zip(senders.iter().zip(&bodies))
                    .map(|((m, sent_at, ours), (sender, body))| NewRoomMessage {
                        sender,
                        body,
                        sent_at: *sent_at,
                        origin_id: m.origin_id.as_deref(),
                        stanza_id: m.stanza_id.as_deref(),
                        wire_id: m.id.as_deref(),
                        ours: *ours,
                        count_unread,
                    })
                    .collect();
                let stored = s.insert_room_messages(&acc, &jid, &new, floor.as_mut());
                stored.map(|stored| (stored, floor))
            })
            .await;
        match stored {
            Ok((stored, floor)) => {
                if let (Some(floor), Some(r)) = (floor, self.rooms.get_mut(room)) {
                    r.floor = Some(floor);
                }
                let mut new = Vec::new();
                for s in stored {
                    match s {
                        RoomStored::New(m) => new.push(m),
                        RoomStored::Reflected(m) => {
                            pipeline
                                .emit(Event::MessageState {
                                    account: self.account.clone(),
                                    id: m.origin_id.clone().unwrap_or_default(),
                                    state: OutgoingState::Delivered,
                                })
                                .await;
                        }
                    }
                }
                if live {
                    for message in new {
                        pipeline
                            .emit(Event::Message {
                                account: self.account.clone(),
                                message,
                            })
                            .await;
                    }
                } else if !new.is_empty() {
                    pipeline
                        .emit(Event::Archived {
                            account: self.account.clone(),
                            messages: new,
                        })
                        .await;
                }
                true
            }
            Err(e) => {
                tracing::error!(account = %self.account, error = %e, "could not store a room's messages");
                false
            }
        }
    }
}
