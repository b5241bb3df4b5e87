//! Rooms (group chats): which ones an account is in, where their archives
//! resume, and their messages, deduplicated by the room's stanza-id and
//! our own matched to the copy the room reflects by origin-id.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::messages::{
    Direction, MessageState, NewIncoming, Placement, StoredMessage, conversation_id, insert_in,
    message_by_id,
};
use super::{Store, StoreError, now_ms};
use crate::model::RoomInfo;

/// A room an account is in, or was in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredRoom {
    pub jid: String,
    /// The nickname we asked for.
    pub nick: String,
    #[serde(skip)]
    pub password: Option<String>,
    /// Joined at every login (false once the user left it).
    pub autojoin: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What notifies in this room.
    pub notify: RoomNotify,
    /// Only members may enter (with `non_anonymous`: a private group).
    pub members_only: bool,
    /// Occupants see each other's addresses.
    pub non_anonymous: bool,
}

/// What in a room notifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomNotify {
    /// Every message.
    All,
    /// Only messages that name us.
    Mentions,
    Nothing,
}

impl RoomNotify {
    fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Mentions => "mentions",
            Self::Nothing => "none",
        }
    }

    fn parse(s: Option<&str>, private: bool) -> Self {
        match s {
            Some("all") => Self::All,
            Some("mentions") => Self::Mentions,
            Some("none") => Self::Nothing,
            // A group of people who know each other hears every message,
            // as in a one-to-one chat; a public room only mentions.
            _ if private => Self::All,
            _ => Self::Mentions,
        }
    }
}

/// A message from a room as the pipeline hands it to the store.
#[derive(Debug, Clone)]
pub struct NewRoomMessage<'a> {
    /// The author's occupant address (room/nick).
    pub sender: &'a str,
    pub body: &'a str,
    pub sent_at: i64,
    pub origin_id: Option<&'a str>,
    /// The room's stanza-id (its archive id).
    pub stanza_id: Option<&'a str>,
    pub wire_id: Option<&'a str>,
    /// We wrote it (under our nickname, or our address as the room shows
    /// it), from this or another device.
    pub ours: bool,
    /// It counts as unread (not for the pages a first join reads).
    pub count_unread: bool,
}

/// Where a room's archive is read from when we enter it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomResume {
    /// The newest archive id stored, once one is known for certain.
    pub id: Option<String>,
    /// When the message with that id sorts.
    pub at: Option<i64>,
    /// When the newest message stored from the room sorts.
    pub newest: Option<i64>,
    /// When we first entered it, if we have.
    pub since: Option<i64>,
}

/// What storing a room's message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomStored {
    New(StoredMessage),
    /// The room's copy of a message we sent from here: that message now
    /// has the room's id, and counts as delivered.
    Reflected(StoredMessage),
}

fn room_conversation(
    tx: &rusqlite::Connection,
    account_id: i64,
    room: &str,
) -> Result<i64, StoreError> {
    let id = conversation_id(tx, account_id, room)?;
    tx.prepare_cached("UPDATE conversations SET kind = 'room' WHERE id = ?1 AND kind != 'room'")?
        .execute(params![id])?;
    Ok(id)
}

impl Store {
    /// Sets one thing of one room's row: `set` names it, with `?3` for
    /// the value.
    fn update_room(
        &self,
        account: &str,
        room: &str,
        set: &'static str,
        value: impl rusqlite::ToSql,
    ) -> Result<(), StoreError> {
        self.conn()?.execute(
            &format!(
                "UPDATE rooms SET {set}
                 WHERE account_id = (SELECT id FROM accounts WHERE jid = ?1) AND jid = ?2"
            ),
            params![account, room, value],
        )?;
        Ok(())
    }

    /// Remembers a room, with the nickname and password to enter with and
    /// whether to enter it at login; its conversation shows from now on.
    pub fn save_room(
        &self,
        account: &str,
        room: &str,
        nick: &str,
        password: Option<&str>,
        autojoin: bool,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let account_id = Self::account_id(&tx, account)?;
        tx.execute(
            "INSERT INTO rooms (account_id, jid, nick, password, autojoin) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (account_id, jid) DO UPDATE SET nick = ?3, password = ?4, autojoin = ?5",
            params![account_id, room, nick, password, autojoin],
        )?;
        let conversation = room_conversation(&tx, account_id, room)?;
        tx.execute(
            "UPDATE conversations SET last_activity = max(last_activity, ?2) WHERE id = ?1",
            params![conversation, now_ms()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Whether the room is joined at every login.
    pub fn set_room_autojoin(&self, account: &str, room: &str, on: bool) -> Result<(), StoreError> {
        self.update_room(account, room, "autojoin = ?3", on)
    }

    pub fn rooms(&self, account: &str) -> Result<Vec<StoredRoom>, StoreError> {
        Ok(self
            .rooms_of(Some(account))?
            .into_iter()
            .map(|(_, room)| room)
            .collect())
    }

    /// Every account's rooms, with the account's address.
    pub fn all_rooms(&self) -> Result<Vec<(String, StoredRoom)>, StoreError> {
        self.rooms_of(None)
    }

    fn rooms_of(&self, account: Option<&str>) -> Result<Vec<(String, StoredRoom)>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT r.jid, r.nick, r.password, r.autojoin, r.subject, r.name, r.notify,
                    r.members_only, r.non_anonymous, a.jid
             FROM rooms r JOIN accounts a ON a.id = r.account_id
             WHERE ?1 IS NULL OR a.jid = ?1 ORDER BY a.jid, r.jid",
        )?;
        let rows = stmt.query_map(params![account], |r| {
            let members_only: bool = r.get(7)?;
            let non_anonymous: bool = r.get(8)?;
            Ok((
                r.get(9)?,
                StoredRoom {
                    jid: r.get(0)?,
                    nick: r.get(1)?,
                    password: r.get(2)?,
                    autojoin: r.get(3)?,
                    subject: r.get(4)?,
                    name: r.get(5)?,
                    notify: RoomNotify::parse(
                        r.get::<_, Option<String>>(6)?.as_deref(),
                        members_only && non_anonymous,
                    ),
                    members_only,
                    non_anonymous,
                },
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn set_room_notify(
        &self,
        account: &str,
        room: &str,
        notify: RoomNotify,
    ) -> Result<(), StoreError> {
        self.update_room(account, room, "notify = ?3", notify.as_str())
    }

    /// What the room said of itself on entering; a name it does not give
    /// leaves the one we have (a bookmark's).
    pub fn set_room_info(
        &self,
        account: &str,
        room: &str,
        info: &RoomInfo,
    ) -> Result<(), StoreError> {
        self.conn()?.execute(
            "UPDATE rooms SET name = coalesce(?3, name), members_only = ?4, non_anonymous = ?5
             WHERE account_id = (SELECT id FROM accounts WHERE jid = ?1) AND jid = ?2",
            params![
                account,
                room,
                info.name,
                info.members_only,
                info.non_anonymous
            ],
        )?;
        Ok(())
    }

    pub fn set_room_subject(
        &self,
        account: &str,
        room: &str,
        subject: Option<&str>,
    ) -> Result<(), StoreError> {
        self.update_room(account, room, "subject = ?3", subject)
    }

    /// Where the room's archive catch-up resumes: the newest archive id
    /// stored and the sort time of its message (archive stamps may not go
    /// below it), and the sort time of the newest message from the room
    /// (for when the id is unknown or gone).
    pub fn room_resume_point(&self, account: &str, room: &str) -> Result<RoomResume, StoreError> {
        let conn = self.conn()?;
        let (id, since): (Option<String>, Option<i64>) = conn
            .query_row(
                "SELECT r.mam_last_id, r.sync_since FROM rooms r JOIN accounts a ON a.id = r.account_id
                 WHERE a.jid = ?1 AND r.jid = ?2",
                params![account, room],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .unwrap_or_default();
        let at: Option<i64> = match &id {
            Some(id) => conn
                .query_row(
                    "SELECT m.sent_at FROM messages m
                     JOIN conversations c ON c.id = m.conversation_id
                     JOIN accounts a ON a.id = c.account_id
                     WHERE a.jid = ?1 AND c.peer = ?2 AND m.stanza_id = ?3",
                    params![account, room, id],
                    |r| r.get(0),
                )
                .optional()?,
            None => None,
        };
        let newest: Option<i64> = conn.query_row(
            "SELECT max(m.sent_at) FROM messages m JOIN conversations c ON c.id = m.conversation_id
             JOIN accounts a ON a.id = c.account_id
             WHERE a.jid = ?1 AND c.peer = ?2 AND m.stanza_id IS NOT NULL",
            params![account, room],
            |r| r.get(0),
        )?;
        Ok(RoomResume {
            id,
            at,
            newest,
            since,
        })
    }

    /// Records when we first entered the room (once: a later call keeps
    /// the first time).
    pub fn set_room_first_join(
        &self,
        account: &str,
        room: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        self.update_room(account, room, "sync_since = coalesce(sync_since, ?3)", at)
    }

    pub fn set_room_resume_point(
        &self,
        account: &str,
        room: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        self.update_room(account, room, "mam_last_id = ?3", id)
    }

    /// Stores a room's messages in one transaction, in order: one the
    /// room already gave us (same stanza-id) is skipped; the room's copy
    /// of one we sent from here (same origin-id, ours) updates that
    /// message instead of storing it twice.
    ///
    /// With `floor` (a page of the room's archive), each message sorts no
    /// earlier than the one before it in the archive, stored now or
    /// before: Prosody stamps whole seconds, and a message stored live
    /// has the time it came, so without this a message read from the
    /// archive after a crash could sort before the live one it followed.
    pub fn insert_room_messages(
        &self,
        account: &str,
        room: &str,
        messages: &[NewRoomMessage<'_>],
        mut floor: Option<&mut i64>,
    ) -> Result<Vec<RoomStored>, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let account_id = Self::account_id(&tx, account)?;
        let conversation = room_conversation(&tx, account_id, room)?;
        let mut stored = Vec::new();
        for m in messages {
            if let Some(stanza_id) = m.stanza_id {
                let known: Option<i64> = tx
                    .prepare_cached(
                        "SELECT id FROM messages WHERE conversation_id = ?1 AND stanza_id = ?2",
                    )?
                    .query_row(params![conversation, stanza_id], |r| r.get(0))
                    .optional()?;
                if let Some(known) = known {
                    if let Some(floor) = floor.as_deref_mut() {
                        *floor = (*floor).max(message_by_id(&tx, known)?.sent_at);
                    }
                    continue;
                }
            }
            if m.ours
                && let Some(origin_id) = m.origin_id
            {
                let sent: Option<(i64, String)> = tx
                    .prepare_cached(
                        "SELECT id, state FROM messages
                         WHERE conversation_id = ?1 AND direction = 'out' AND origin_id = ?2",
                    )?
                    .query_row(params![conversation, origin_id], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()?;
                if let Some((id, state)) = sent {
                    let reached = matches!(state.as_str(), "queued" | "sent" | "acked" | "failed");
                    tx.execute(
                        "UPDATE messages SET stanza_id = coalesce(stanza_id, ?2),
                             archive_id = coalesce(archive_id, ?2),
                             state = CASE WHEN ?3 THEN 'delivered' ELSE state END,
                             failure = CASE WHEN ?3 THEN NULL ELSE failure END
                         WHERE id = ?1",
                        params![id, m.stanza_id, reached],
                    )?;
                    tx.execute("DELETE FROM outbox WHERE message_id = ?1", params![id])?;
                    let message = message_by_id(&tx, id)?;
                    if let Some(floor) = floor.as_deref_mut() {
                        *floor = (*floor).max(message.sent_at);
                    }
                    if reached {
                        stored.push(RoomStored::Reflected(message));
                    }
                    continue;
                }
            }
            let sent_at = match floor.as_deref_mut() {
                Some(floor) => {
                    *floor = (*floor).max(m.sent_at);
                    *floor
                }
                None => m.sent_at,
            };
            let new = NewIncoming {
                account,
                peer: room,
                sender: m.sender,
                body: m.body,
                sent_at,
                placement: Placement::AsStamped,
                origin_id: m.origin_id,
                stanza_id: m.stanza_id,
                archive_id: m.stanza_id,
                count_unread: m.count_unread,
                wire_id: m.wire_id,
                markable: false,
                encrypted: false,
                omemo_notice: false,
            };
            let (direction, state) = if m.ours {
                (Direction::Out, MessageState::Delivered)
            } else {
                (Direction::In, MessageState::Received)
            };
            if let Some(message) = insert_in(&tx, &new, direction, state)? {
                stored.push(RoomStored::New(message));
            }
        }
        tx.commit()?;
        Ok(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewOutgoing, StoreKey};

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store =
            Store::open(&dir.path().join("s.db"), &StoreKey::from_bytes([7; 32])).expect("store");
        (dir, store)
    }

    fn from_room<'a>(sender: &'a str, body: &'a str, stanza_id: &'a str) -> NewRoomMessage<'a> {
        NewRoomMessage {
            sender,
            body,
            sent_at: 1000,
            origin_id: None,
            stanza_id: Some(stanza_id),
            wire_id: None,
            ours: false,
            count_unread: true,
        }
    }

    #[test]
    fn a_room_message_is_stored_once_and_our_own_is_matched_to_its_reflection() {
        let (_dir, store) = store();
        let (me, room) = ("me@x", "tea@conference.x");
        store.save_room(me, room, "me", None, true).expect("room");
        let first = store
            .insert_room_messages(
                me,
                room,
                &[from_room("tea@conference.x/bob", "hi", "r1")],
                None,
            )
            .expect("insert");
        assert_eq!(first.len(), 1);
        // Live, then again from the archive.
        let again = store
            .insert_room_messages(
                me,
                room,
                &[from_room("tea@conference.x/bob", "hi", "r1")],
                None,
            )
            .expect("insert");
        assert!(again.is_empty());

        let sent = store
            .insert_outgoing(&NewOutgoing {
                account: me,
                peer: room,
                body: "mine",
                origin_id: "o1",
                plain: false,
            })
            .expect("queue");
        let reflection = NewRoomMessage {
            origin_id: Some("o1"),
            ours: true,
            ..from_room("tea@conference.x/me", "mine", "r2")
        };
        let reflected = store
            .insert_room_messages(me, room, std::slice::from_ref(&reflection), None)
            .expect("reflect");
        let [RoomStored::Reflected(m)] = reflected.as_slice() else {
            panic!("reflected: {reflected:?}");
        };
        assert_eq!(m.id, sent.id);
        assert_eq!(m.state, MessageState::Delivered);
        assert_eq!(m.stanza_id.as_deref(), Some("r2"));
        assert!(store.outbox(me).expect("outbox").is_empty());
        // The archive's copy of it, after a rejoin: nothing new.
        assert!(
            store
                .insert_room_messages(me, room, &[reflection], None)
                .expect("again")
                .is_empty()
        );

        // Someone else using an origin-id of ours is not our message.
        let spoof = NewRoomMessage {
            origin_id: Some("o1"),
            ..from_room("tea@conference.x/eve", "not yours", "r3")
        };
        assert_eq!(
            store
                .insert_room_messages(me, room, &[spoof], None)
                .expect("spoof")
                .len(),
            1
        );

        let messages = store.messages_before(me, room, None, 10).expect("page");
        assert_eq!(
            messages.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
            ["hi", "not yours", "mine"]
        );
    }

    #[test]
    fn an_archive_page_never_sorts_before_what_it_follows() {
        let (_dir, store) = store();
        let (me, room) = ("me@x", "tea@conference.x");
        store.save_room(me, room, "me", None, true).expect("room");
        // Stored live at the millisecond it came...
        let live = NewRoomMessage {
            sent_at: 5_700,
            ..from_room("tea@conference.x/bob", "first", "r1")
        };
        store
            .insert_room_messages(me, room, &[live], None)
            .expect("live");
        // ...then the archive, stamped in whole seconds, after a crash.
        let page = [
            NewRoomMessage {
                sent_at: 5_000,
                ..from_room("tea@conference.x/bob", "first", "r1")
            },
            NewRoomMessage {
                sent_at: 5_000,
                ..from_room("tea@conference.x/bob", "second", "r2")
            },
        ];
        let mut floor = 0;
        store
            .insert_room_messages(me, room, &page, Some(&mut floor))
            .expect("page");
        assert_eq!(floor, 5_700);
        let messages = store.messages_before(me, room, None, 10).expect("page");
        assert_eq!(
            messages.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
            ["first", "second"]
        );
    }
}
