//! Conversations and messages: writes from the pipeline, reads for the
//! front ends.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use super::{Store, StoreError, now_ms};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }
}

/// A message's state. Outgoing ones only move forward:
/// queued → sent → acked → delivered → read, or to failed before acked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageState {
    Queued,
    Sent,
    Acked,
    Delivered,
    Read,
    Failed,
    /// An incoming message.
    Received,
}

impl MessageState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Acked => "acked",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
            Self::Received => "received",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "queued" => Self::Queued,
            "sent" => Self::Sent,
            "acked" => Self::Acked,
            "delivered" => Self::Delivered,
            "read" => Self::Read,
            "failed" => Self::Failed,
            _ => Self::Received,
        }
    }
}

/// An incoming message as the pipeline hands it to the store.
#[derive(Debug, Clone)]
pub struct NewIncoming<'a> {
    pub account: &'a str,
    /// The conversation: the other side's bare JID.
    pub peer: &'a str,
    /// Who wrote it (full JID).
    pub sender: &'a str,
    pub body: &'a str,
    pub sent_at: i64,
    /// How `sent_at` places the message among the others.
    pub placement: Placement,
    pub origin_id: Option<&'a str>,
    pub stanza_id: Option<&'a str>,
    pub archive_id: Option<&'a str>,
    /// False for messages caught up from the archive that were read
    /// elsewhere, or our own sent from another device.
    pub count_unread: bool,
    /// The stanza's id attribute, as the sender set it.
    pub wire_id: Option<&'a str>,
    /// The sender asked for chat markers (XEP-0333).
    pub markable: bool,
    /// It came end-to-end encrypted (OMEMO) and `body` is what it said.
    pub encrypted: bool,
    /// `body` is Sotto's notice that it could not be decrypted.
    pub omemo_notice: bool,
}

/// How a message's sort time is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Exactly as given.
    AsStamped,
    /// A stamp of whole seconds (Prosody's offline storage): the message
    /// was sent somewhen in that second, and reached us after what the
    /// conversation already has in it.
    WithinSecond,
}

/// A correction (XEP-0308) of an earlier message, as the pipeline hands it
/// to the store.
#[derive(Debug, Clone)]
pub struct NewCorrection<'a> {
    pub account: &'a str,
    /// The conversation: the other side's bare JID.
    pub peer: &'a str,
    /// Who sent the correction (full or bare JID): only the author of the
    /// original may change it.
    pub sender: &'a str,
    /// The id (wire id or origin-id) of the message corrected.
    pub replaces: &'a str,
    pub body: &'a str,
    /// When the correction was written.
    pub at: i64,
    /// We wrote it (the original is one of ours).
    pub outgoing: bool,
}

/// What became of a correction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorrectionOutcome {
    /// The original now has the new body.
    Applied(Box<StoredMessage>),
    /// Already applied, or older than the correction applied last.
    Unchanged,
    /// No such message in this conversation (from this side).
    NotFound,
    /// Someone other than its author tried to change it.
    WrongSender,
}

/// A step for one of our messages, as the pipeline hands it to the store.
#[derive(Debug, Clone, Copy)]
pub struct Advance<'a> {
    pub account: &'a str,
    /// The message's origin-id (which is also its stanza id).
    pub origin_id: &'a str,
    pub state: MessageState,
    pub failure: Option<&'a str>,
    /// A server or the contact refused it: it waits for the user instead
    /// of going out again by itself.
    pub refused: bool,
    /// Written to a stream that does not confirm stanzas (no XEP-0198):
    /// nothing more will come from our server, so it leaves the outbox.
    pub settled: bool,
    /// Who reported this step: the contact (bare JID) or a server (its
    /// domain) for receipts, markers and bounces; `None` for what our own
    /// stream tells. The message must have gone to them.
    pub witness: Option<&'a str>,
}

impl<'a> Advance<'a> {
    /// A step our own stream reports.
    pub fn by_stream(account: &'a str, origin_id: &'a str, state: MessageState) -> Self {
        Self {
            account,
            origin_id,
            state,
            failure: None,
            refused: false,
            settled: false,
            witness: None,
        }
    }
}

/// Whether `witness` (a bare JID or a domain) may report on a message to
/// `peer`: the peer themselves, or their server.
fn speaks_for(witness: &str, peer: &str) -> bool {
    if witness.contains('@') {
        witness == peer
    } else {
        peer.rsplit_once('@').map_or(peer, |(_, d)| d) == witness
    }
}

/// An outgoing message, stored as queued before anything is sent.
#[derive(Debug, Clone)]
pub struct NewOutgoing<'a> {
    pub account: &'a str,
    pub peer: &'a str,
    pub body: &'a str,
    pub origin_id: &'a str,
    /// In clear whatever the chat's encryption (see [`Queued::plain`]).
    pub plain: bool,
}

/// A message in the outbox, still to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub message: StoredMessage,
    /// The user asked for this one in clear (`sotto send --plain`).
    pub plain: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredMessage {
    pub id: i64,
    pub account: String,
    pub peer: String,
    pub direction: Direction,
    pub sender: String,
    pub body: String,
    pub sent_at: i64,
    pub state: MessageState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stanza_id: Option<String>,
    /// When the body was last corrected (XEP-0308); `None`: as first sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<i64>,
    /// It travelled end-to-end encrypted (OMEMO).
    #[serde(default)]
    pub encrypted: bool,
    /// The body is Sotto's notice that a message could not be decrypted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub omemo_notice: bool,
}

/// Where a page of history starts or ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub sent_at: i64,
    pub id: i64,
}

impl StoredMessage {
    pub fn cursor(&self) -> Cursor {
        Cursor {
            sent_at: self.sent_at,
            id: self.id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConversationSummary {
    pub account: String,
    pub peer: String,
    pub last_activity: i64,
    pub unread: i64,
    pub muted: bool,
    pub last_body: Option<String>,
    pub last_direction: Option<Direction>,
    /// A room (group chat), not a person.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub room: bool,
    /// In a room: who wrote the last message (their nickname).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_author: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchHit {
    pub message: StoredMessage,
    /// The part of the body around the matches (… where cut).
    pub snippet: String,
    /// Where in `snippet` the matches are, as byte ranges.
    pub matches: Vec<std::ops::Range<usize>>,
}

/// What FTS5 puts around matches in a snippet: private-use characters,
/// which a body does not contain in practice (and if one does, only the
/// highlighting goes wrong).
const MATCH_START: char = '\u{E000}';
const MATCH_END: char = '\u{E001}';

/// Splits FTS5's marked snippet into plain text and match ranges.
fn unmark(marked: &str) -> (String, Vec<std::ops::Range<usize>>) {
    let mut text = String::with_capacity(marked.len());
    let mut matches = Vec::new();
    let mut start = None;
    for c in marked.chars() {
        match c {
            MATCH_START => start = Some(text.len()),
            MATCH_END => {
                if let Some(s) = start.take() {
                    matches.push(s..text.len());
                }
            }
            c => text.push(c),
        }
    }
    (text, matches)
}

const MESSAGE_COLUMNS: &str = "m.id, a.jid, c.peer, m.direction, m.sender, m.body, m.sent_at, \
     m.state, m.failure, m.origin_id, m.stanza_id, m.edited_at, m.encrypted, m.omemo_notice";

const MESSAGE_JOIN: &str = "messages m JOIN conversations c ON c.id = m.conversation_id \
     JOIN accounts a ON a.id = c.account_id";

fn message_from_row(row: &Row<'_>) -> rusqlite::Result<StoredMessage> {
    let direction: String = row.get(3)?;
    let state: String = row.get(7)?;
    Ok(StoredMessage {
        id: row.get(0)?,
        account: row.get(1)?,
        peer: row.get(2)?,
        direction: if direction == "out" {
            Direction::Out
        } else {
            Direction::In
        },
        sender: row.get(4)?,
        body: row.get(5)?,
        sent_at: row.get(6)?,
        state: MessageState::parse(&state),
        failure: row.get(8)?,
        origin_id: row.get(9)?,
        stanza_id: row.get(10)?,
        edited_at: row.get(11)?,
        encrypted: row.get(12)?,
        omemo_notice: row.get(13)?,
    })
}

/// A JID's bare part, from its text.
fn bare(jid: &str) -> &str {
    jid.split_once('/').map_or(jid, |(bare, _)| bare)
}

pub(super) fn conversation_id(
    conn: &Connection,
    account_id: i64,
    peer: &str,
) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO conversations (account_id, peer) VALUES (?1, ?2)
         ON CONFLICT (account_id, peer) DO NOTHING",
    )?
    .execute(params![account_id, peer])?;
    Ok(conn
        .prepare_cached("SELECT id FROM conversations WHERE account_id = ?1 AND peer = ?2")?
        .query_row(params![account_id, peer], |r| r.get(0))?)
}

pub(super) fn message_by_id(conn: &Connection, id: i64) -> Result<StoredMessage, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_JOIN} WHERE m.id = ?1"
        ))?
        .query_row(params![id], message_from_row)?)
}

/// FTS5 query for what a person typed: every word must appear, the last
/// one as a prefix; quotes make operators in the input plain text.
fn fts_query(input: &str) -> Option<String> {
    let words: Vec<String> = input
        .split_whitespace()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect();
    let (last, rest) = words.split_last()?;
    let mut query = rest.join(" ");
    if !query.is_empty() {
        query.push(' ');
    }
    query.push_str(last);
    query.push('*');
    Some(query)
}

/// Inserts one message inside the caller's transaction; `None` when it
/// is a duplicate (same stanza-id from our server, or same origin-id).
pub(super) fn insert_in(
    tx: &Connection,
    m: &NewIncoming<'_>,
    direction: Direction,
    state: MessageState,
) -> Result<Option<StoredMessage>, StoreError> {
    let account_id = Store::account_id(tx, m.account)?;
    let conversation = conversation_id(tx, account_id, m.peer)?;
    let sent_at = if m.placement == Placement::WithinSecond {
        let newest: Option<i64> = tx
            .prepare_cached("SELECT max(sent_at) FROM messages WHERE conversation_id = ?1")?
            .query_row(params![conversation], |r| r.get(0))?;
        match newest {
            Some(n) if (m.sent_at..m.sent_at + 1000).contains(&n) => n,
            _ => m.sent_at,
        }
    } else {
        m.sent_at
    };
    let inserted = tx
        .prepare_cached(
            "INSERT INTO messages (conversation_id, direction, sender, body, sent_at, stored_at,
                                   state, origin_id, stanza_id, archive_id, wire_id, markable,
                                   encrypted, omemo_notice)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            conversation,
            direction.as_str(),
            m.sender,
            m.body,
            sent_at,
            now_ms(),
            state.as_str(),
            m.origin_id,
            m.stanza_id,
            m.archive_id,
            m.wire_id,
            m.markable,
            m.encrypted,
            m.omemo_notice,
        ])?;
    if inserted == 0 {
        // Already stored; an archive id learned later still counts.
        if let (Some(archive_id), Some(stanza_id)) = (m.archive_id, m.stanza_id) {
            tx.execute(
                "UPDATE messages SET archive_id = ?1
                 WHERE conversation_id = ?2 AND stanza_id = ?3 AND archive_id IS NULL",
                params![archive_id, conversation, stanza_id],
            )?;
        }
        return Ok(None);
    }
    let id = tx.last_insert_rowid();
    tx.prepare_cached(
        "UPDATE conversations SET last_activity = max(last_activity, ?2),
             unread = unread + ?3 WHERE id = ?1",
    )?
    .execute(params![
        conversation,
        sent_at,
        i64::from(m.count_unread && direction == Direction::In)
    ])?;
    Ok(Some(message_by_id(tx, id)?))
}

impl Store {
    /// Stores an incoming message unless it is already there (same
    /// stanza-id from our server, or same origin-id from the sender).
    /// Returns it when new, `None` for a duplicate.
    pub fn insert_incoming(
        &self,
        m: &NewIncoming<'_>,
    ) -> Result<Option<StoredMessage>, StoreError> {
        self.insert(m, Direction::In, MessageState::Received)
    }

    /// Stores a copy of our own message sent from another device (a carbon
    /// or an archived one), deduplicated the same way.
    pub fn insert_own_from_elsewhere(
        &self,
        m: &NewIncoming<'_>,
    ) -> Result<Option<StoredMessage>, StoreError> {
        self.insert(m, Direction::Out, MessageState::Acked)
    }

    fn insert(
        &self,
        m: &NewIncoming<'_>,
        direction: Direction,
        state: MessageState,
    ) -> Result<Option<StoredMessage>, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let stored = insert_in(&tx, m, direction, state)?;
        tx.commit()?;
        Ok(stored)
    }

    /// Stores many messages in one transaction (an archive page), each
    /// deduplicated as [`Store::insert_incoming`] does. `outgoing` marks our
    /// own. Returns the ones that were new, in order.
    pub fn insert_many(
        &self,
        messages: &[(NewIncoming<'_>, bool)],
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let mut new = Vec::new();
        for (m, outgoing) in messages {
            let (direction, state) = if *outgoing {
                (Direction::Out, MessageState::Acked)
            } else {
                (Direction::In, MessageState::Received)
            };
            new.extend(insert_in(&tx, m, direction, state)?);
        }
        tx.commit()?;
        Ok(new)
    }

    /// Stores an outgoing message as queued and puts it in the outbox,
    /// before anything goes on the wire.
    pub fn insert_outgoing(&self, m: &NewOutgoing<'_>) -> Result<StoredMessage, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let account_id = Self::account_id(&tx, m.account)?;
        let conversation = conversation_id(&tx, account_id, m.peer)?;
        let now = now_ms();
        tx.execute(
            "INSERT INTO messages (conversation_id, direction, sender, body, sent_at, stored_at,
                                   state, origin_id, wire_id)
             VALUES (?1, 'out', ?2, ?3, ?4, ?4, 'queued', ?5, ?5)",
            params![conversation, m.account, m.body, now, m.origin_id],
        )?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO outbox (message_id, account_id, plain) VALUES (?1, ?2, ?3)",
            params![id, account_id, m.plain],
        )?;
        tx.execute(
            "UPDATE conversations SET last_activity = max(last_activity, ?2) WHERE id = ?1",
            params![conversation, now],
        )?;
        let stored = message_by_id(&tx, id)?;
        tx.commit()?;
        Ok(stored)
    }

    /// Moves an outgoing message forward (never back). Reaching `acked`
    /// or beyond, or `sent` when settled, takes it out of the outbox;
    /// `failed` with `refused` (a server or the contact said no) parks it
    /// there as wedged. An error makes it failed from any state before
    /// `delivered`, since a bounce may come after our server took it.
    /// Returns the message when its state changed.
    pub fn advance_outgoing(&self, a: &Advance<'_>) -> Result<Option<StoredMessage>, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let row: Option<(i64, String, String)> = tx
            .prepare_cached(
                "SELECT m.id, m.state, c.peer FROM messages m
                 JOIN conversations c ON c.id = m.conversation_id
                 JOIN accounts a ON a.id = c.account_id
                 WHERE a.jid = ?1 AND m.direction = 'out' AND m.origin_id = ?2",
            )?
            .query_row(params![a.account, a.origin_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        let Some((id, current, peer)) = row else {
            return Ok(None);
        };
        if let Some(witness) = a.witness
            && !speaks_for(witness, &peer)
        {
            // A receipt, marker or bounce naming our message from someone
            // the message did not go to.
            return Ok(None);
        }
        let current = MessageState::parse(&current);
        let state = a.state;
        let allowed = match state {
            MessageState::Failed => current < MessageState::Delivered,
            _ => {
                current == MessageState::Failed && state >= MessageState::Acked
                    || current < state && current != MessageState::Failed
            }
        };
        if !allowed {
            return Ok(None);
        }
        tx.execute(
            "UPDATE messages SET state = ?2, failure = ?3 WHERE id = ?1",
            params![id, state.as_str(), a.failure],
        )?;
        let leaves_outbox = (state >= MessageState::Acked && state != MessageState::Failed)
            || (state == MessageState::Sent && a.settled);
        if leaves_outbox {
            tx.execute("DELETE FROM outbox WHERE message_id = ?1", params![id])?;
        } else if state == MessageState::Failed {
            // Refused: retrying by itself would fail again, so it waits
            // (wedged) until the user retries. A transport failure stays
            // queued for the next connection.
            tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, wedged = ?3
                 WHERE message_id = ?1",
                params![id, a.failure, i64::from(a.refused)],
            )?;
        }
        let stored = message_by_id(&tx, id)?;
        tx.commit()?;
        Ok(Some(stored))
    }

    /// The account's messages still to be sent, oldest first.
    pub fn outbox(&self, account: &str) -> Result<Vec<Queued>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {MESSAGE_COLUMNS}, o.plain FROM {MESSAGE_JOIN}
             JOIN outbox o ON o.message_id = m.id
             WHERE a.jid = ?1 AND o.wedged = 0 ORDER BY m.id"
        ))?;
        let rows = stmt.query_map(params![account], |row| {
            Ok(Queued {
                message: message_from_row(row)?,
                plain: row.get("plain")?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Conversations, most recent first, with the last message.
    pub fn conversations(
        &self,
        account: Option<&str>,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT a.jid, c.peer, c.last_activity, c.unread, c.muted,
                    (SELECT body FROM messages WHERE conversation_id = c.id
                     ORDER BY sent_at DESC, id DESC LIMIT 1),
                    (SELECT direction FROM messages WHERE conversation_id = c.id
                     ORDER BY sent_at DESC, id DESC LIMIT 1),
                    c.kind,
                    (SELECT sender FROM messages WHERE conversation_id = c.id
                     ORDER BY sent_at DESC, id DESC LIMIT 1)
             FROM conversations c JOIN accounts a ON a.id = c.account_id
             WHERE ?1 IS NULL OR a.jid = ?1
             ORDER BY c.last_activity DESC, c.id DESC",
        )?;
        let rows = stmt.query_map(params![account], |r| {
            let direction: Option<String> = r.get(6)?;
            let room = r.get::<_, String>(7)? == "room";
            let sender: Option<String> = r.get(8)?;
            Ok(ConversationSummary {
                room,
                last_author: sender
                    .filter(|_| room)
                    .and_then(|s| s.split_once('/').map(|(_, nick)| nick.to_owned())),
                account: r.get(0)?,
                peer: r.get(1)?,
                last_activity: r.get(2)?,
                unread: r.get(3)?,
                muted: r.get::<_, i64>(4)? != 0,
                last_body: r.get(5)?,
                last_direction: direction.map(|d| {
                    if d == "out" {
                        Direction::Out
                    } else {
                        Direction::In
                    }
                }),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Up to `limit` messages older than `before` (or the newest), in
    /// chronological order.
    pub fn messages_before(
        &self,
        account: &str,
        peer: &str,
        before: Option<Cursor>,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let conn = self.conn()?;
        let (at, id) = before.map_or((i64::MAX, i64::MAX), |c| (c.sent_at, c.id));
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_JOIN}
             WHERE a.jid = ?1 AND c.peer = ?2 AND (m.sent_at, m.id) < (?3, ?4)
             ORDER BY m.sent_at DESC, m.id DESC LIMIT ?5"
        ))?;
        let rows = stmt.query_map(
            params![account, peer, at, id, limit as i64],
            message_from_row,
        )?;
        let mut page: Vec<StoredMessage> = rows.collect::<Result<_, _>>()?;
        page.reverse();
        Ok(page)
    }

    /// Up to `limit` messages newer than `after`, in chronological order.
    pub fn messages_after(
        &self,
        account: &str,
        peer: &str,
        after: Cursor,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_JOIN}
             WHERE a.jid = ?1 AND c.peer = ?2 AND (m.sent_at, m.id) > (?3, ?4)
             ORDER BY m.sent_at, m.id LIMIT ?5"
        ))?;
        let rows = stmt.query_map(
            params![account, peer, after.sent_at, after.id, limit as i64],
            message_from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Full-text search over bodies, best matches first.
    pub fn search(
        &self,
        account: Option<&str>,
        input: &str,
        limit: usize,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let Some(query) = fts_query(input) else {
            return Ok(Vec::new());
        };
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS}, snippet(messages_fts, 0, '{MATCH_START}', '{MATCH_END}', '…', 12)
             FROM {MESSAGE_JOIN} JOIN messages_fts ON messages_fts.rowid = m.id
             WHERE messages_fts MATCH ?1 AND (?2 IS NULL OR a.jid = ?2)
             ORDER BY rank LIMIT ?3"
        ))?;
        let rows = stmt.query_map(params![query, account, limit as i64], |r| {
            let marked: String = r.get(14)?;
            let (snippet, matches) = unmark(&marked);
            Ok(SearchHit {
                message: message_from_row(r)?,
                snippet,
                matches,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When the account's newest stored message was sent.
    pub fn newest_message_time(&self, account: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.conn()?.query_row(
            "SELECT max(c.last_activity) FROM conversations c JOIN accounts a ON a.id = c.account_id
             WHERE a.jid = ?1",
            params![account],
            |r| r.get(0),
        )?)
    }

    /// Gives an earlier message the body of its correction (XEP-0308), if
    /// the correction comes from the original's author and is newer than
    /// any applied before. The FTS index follows the new body.
    pub fn correct_message(&self, c: &NewCorrection<'_>) -> Result<CorrectionOutcome, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let direction = if c.outgoing {
            Direction::Out
        } else {
            Direction::In
        };
        let row: Option<(i64, String, String, Option<i64>)> = tx
            .prepare_cached(
                "SELECT m.id, m.sender, m.body, m.edited_at FROM messages m
                 JOIN conversations c ON c.id = m.conversation_id
                 JOIN accounts a ON a.id = c.account_id
                 WHERE a.jid = ?1 AND c.peer = ?2 AND m.direction = ?3
                   AND (m.wire_id = ?4 OR m.origin_id = ?4)
                 ORDER BY m.sent_at DESC, m.id DESC LIMIT 1",
            )?
            .query_row(
                params![c.account, c.peer, direction.as_str(), c.replaces],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((id, sender, body, edited_at)) = row else {
            return Ok(CorrectionOutcome::NotFound);
        };
        // Our own messages are stored with the account as sender; theirs
        // with the contact's full JID.
        let author = if c.outgoing { c.account } else { c.peer };
        if bare(&sender) != bare(c.sender) || bare(c.sender) != author {
            return Ok(CorrectionOutcome::WrongSender);
        }
        if body == c.body || edited_at.is_some_and(|t| t > c.at) {
            return Ok(CorrectionOutcome::Unchanged);
        }
        tx.execute(
            "UPDATE messages SET body = ?2, edited_at = ?3 WHERE id = ?1",
            params![id, c.body, c.at],
        )?;
        let stored = message_by_id(&tx, id)?;
        tx.commit()?;
        Ok(CorrectionOutcome::Applied(Box::new(stored)))
    }

    /// Marks the conversation read and returns the id to name in a
    /// displayed marker (XEP-0333): the newest incoming message that asked
    /// for markers, if it is newer than the last one we named.
    pub fn mark_read_for_marker(
        &self,
        account: &str,
        peer: &str,
    ) -> Result<Option<String>, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let conversation: Option<(i64, Option<i64>)> = tx
            .query_row(
                "SELECT c.id, c.displayed_up_to FROM conversations c
                 JOIN accounts a ON a.id = c.account_id WHERE a.jid = ?1 AND c.peer = ?2",
                params![account, peer],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((conversation, displayed_up_to)) = conversation else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE conversations SET unread = 0 WHERE id = ?1",
            params![conversation],
        )?;
        let newest: Option<(i64, Option<String>)> = tx
            .query_row(
                "SELECT id, coalesce(wire_id, origin_id) FROM messages
                 WHERE conversation_id = ?1 AND direction = 'in' AND markable = 1
                   AND coalesce(wire_id, origin_id) IS NOT NULL
                 ORDER BY sent_at DESC, id DESC LIMIT 1",
                params![conversation],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let marker = match newest {
            Some((id, wire)) if displayed_up_to.is_none_or(|d| id > d) => {
                tx.execute(
                    "UPDATE conversations SET displayed_up_to = ?2 WHERE id = ?1",
                    params![conversation, id],
                )?;
                wire
            }
            _ => None,
        };
        tx.commit()?;
        Ok(marker)
    }

    /// The conversation was seen: no unread messages left.
    pub fn mark_read(&self, account: &str, peer: &str) -> Result<(), StoreError> {
        self.conn()?.execute(
            "UPDATE conversations SET unread = 0 WHERE peer = ?2
             AND account_id = (SELECT id FROM accounts WHERE jid = ?1)",
            params![account, peer],
        )?;
        Ok(())
    }

    /// Every message of an account, oldest first, for export.
    pub fn all_messages(&self, account: &str) -> Result<Vec<StoredMessage>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_JOIN} WHERE a.jid = ?1
             ORDER BY c.peer, m.sent_at, m.id"
        ))?;
        let rows = stmt.query_map(params![account], message_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreKey;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store =
            Store::open(&dir.path().join("db"), &StoreKey::from_bytes([9; 32])).expect("open");
        (dir, store)
    }

    fn incoming<'a>(body: &'a str, at: i64, stanza_id: Option<&'a str>) -> NewIncoming<'a> {
        NewIncoming {
            account: "me@x",
            peer: "bob@x",
            sender: "bob@x/phone",
            body,
            sent_at: at,
            placement: Placement::AsStamped,
            origin_id: None,
            stanza_id,
            archive_id: None,
            count_unread: true,
            wire_id: None,
            markable: false,
            encrypted: false,
            omemo_notice: false,
        }
    }

    #[test]
    fn a_whole_second_stamp_sorts_after_what_that_second_already_has() {
        let (_d, store) = store();
        // Received live at 10.400 and 10.700 (our clock).
        store
            .insert_incoming(&incoming("live one", 10_400, Some("a")))
            .expect("insert");
        store
            .insert_incoming(&incoming("live two", 10_700, Some("b")))
            .expect("insert");
        // Delivered from offline storage stamped "…:10Z": somewhen in
        // that second, and it reached us after the others.
        let offline = store
            .insert_incoming(&NewIncoming {
                placement: Placement::WithinSecond,
                ..incoming("from offline storage", 10_000, Some("c"))
            })
            .expect("insert")
            .expect("new");
        assert_eq!(offline.sent_at, 10_700);
        // A stamp of another second keeps its own time.
        let older = store
            .insert_incoming(&NewIncoming {
                placement: Placement::WithinSecond,
                ..incoming("an older one", 5_000, Some("d"))
            })
            .expect("insert")
            .expect("new");
        assert_eq!(older.sent_at, 5_000);
        let order: Vec<String> = store
            .messages_before("me@x", "bob@x", None, 10)
            .expect("page")
            .into_iter()
            .map(|m| m.body)
            .collect();
        assert_eq!(
            order,
            [
                "an older one",
                "live one",
                "live two",
                "from offline storage"
            ]
        );
    }

    #[test]
    fn duplicates_are_stored_once() {
        let (_d, store) = store();
        assert!(
            store
                .insert_incoming(&incoming("hi", 1, Some("s1")))
                .expect("insert")
                .is_some()
        );
        assert!(
            store
                .insert_incoming(&incoming("hi", 1, Some("s1")))
                .expect("insert")
                .is_none()
        );
        let mut by_origin = incoming("yo", 2, None);
        by_origin.origin_id = Some("o1");
        assert!(store.insert_incoming(&by_origin).expect("insert").is_some());
        assert!(store.insert_incoming(&by_origin).expect("insert").is_none());
        assert_eq!(
            store
                .messages_before("me@x", "bob@x", None, 10)
                .expect("page")
                .len(),
            2
        );
        let conv = &store.conversations(None).expect("list")[0];
        assert_eq!(conv.unread, 2);
        store.mark_read("me@x", "bob@x").expect("read");
        assert_eq!(store.conversations(None).expect("list")[0].unread, 0);
    }

    fn outgoing(store: &Store, peer: &str, origin_id: &str) {
        store
            .insert_outgoing(&NewOutgoing {
                account: "me@x",
                peer,
                body: "hello",
                origin_id,
                plain: false,
            })
            .expect("insert");
    }

    #[test]
    fn outgoing_moves_forward_only_and_leaves_the_outbox_when_acked() {
        let (_d, store) = store();
        outgoing(&store, "bob@x", "o9");
        assert_eq!(store.outbox("me@x").expect("outbox").len(), 1);
        let adv = |s| {
            store
                .advance_outgoing(&Advance::by_stream("me@x", "o9", s))
                .expect("advance")
        };
        assert!(adv(MessageState::Sent).is_some());
        assert!(adv(MessageState::Queued).is_none(), "never backwards");
        assert_eq!(
            store.outbox("me@x").expect("outbox").len(),
            1,
            "sent is not enough"
        );
        assert!(adv(MessageState::Acked).is_some());
        assert!(store.outbox("me@x").expect("outbox").is_empty());
        assert_eq!(
            adv(MessageState::Read).expect("read").state,
            MessageState::Read
        );
        assert!(adv(MessageState::Delivered).is_none());
        assert!(
            adv(MessageState::Failed).is_none(),
            "read by the contact: an error cannot be about it"
        );
    }

    #[test]
    fn a_bounce_after_the_servers_ack_fails_the_message() {
        let (_d, store) = store();
        outgoing(&store, "bob@x", "b1");
        for state in [MessageState::Sent, MessageState::Acked] {
            store
                .advance_outgoing(&Advance::by_stream("me@x", "b1", state))
                .expect("advance");
        }
        let bounce = Advance {
            state: MessageState::Failed,
            failure: Some("recipient unavailable"),
            refused: true,
            witness: Some("bob@x"),
            ..Advance::by_stream("me@x", "b1", MessageState::Failed)
        };
        let failed = store
            .advance_outgoing(&bounce)
            .expect("advance")
            .expect("changed");
        assert_eq!(failed.state, MessageState::Failed);
        assert_eq!(failed.failure.as_deref(), Some("recipient unavailable"));
    }

    #[test]
    fn receipts_and_bounces_count_only_from_whom_the_message_went_to() {
        let (_d, store) = store();
        outgoing(&store, "bob@x", "w9");
        let from = |witness, state| Advance {
            witness: Some(witness),
            ..Advance::by_stream("me@x", "w9", state)
        };
        for stranger in ["eve@x", "bob@evil.example", "evil.example"] {
            assert!(
                store
                    .advance_outgoing(&from(stranger, MessageState::Delivered))
                    .expect("advance")
                    .is_none(),
                "{stranger}"
            );
            assert!(
                store
                    .advance_outgoing(&from(stranger, MessageState::Failed))
                    .expect("advance")
                    .is_none(),
                "{stranger}"
            );
        }
        // Bob's server may bounce it; Bob may confirm it.
        assert!(
            store
                .advance_outgoing(&from("bob@x", MessageState::Delivered))
                .expect("advance")
                .is_some()
        );
        outgoing(&store, "carol@y", "w10");
        let server_bounce = Advance {
            witness: Some("y"),
            failure: Some("no such user"),
            ..Advance::by_stream("me@x", "w10", MessageState::Failed)
        };
        assert!(
            store
                .advance_outgoing(&server_bounce)
                .expect("advance")
                .is_some()
        );
    }

    #[test]
    fn without_stream_management_sent_is_as_far_as_the_server_goes() {
        let (_d, store) = store();
        outgoing(&store, "bob@x", "n1");
        let sent = Advance {
            settled: true,
            ..Advance::by_stream("me@x", "n1", MessageState::Sent)
        };
        let m = store
            .advance_outgoing(&sent)
            .expect("advance")
            .expect("changed");
        assert_eq!(m.state, MessageState::Sent);
        assert!(
            store.outbox("me@x").expect("outbox").is_empty(),
            "not sent again blindly"
        );
    }

    #[test]
    fn a_refused_message_is_wedged_not_retried() {
        let (_d, store) = store();
        outgoing(&store, "nobody@y", "w1");
        let refused = Advance {
            failure: Some("no such user"),
            refused: true,
            ..Advance::by_stream("me@x", "w1", MessageState::Failed)
        };
        let failed = store
            .advance_outgoing(&refused)
            .expect("advance")
            .expect("changed");
        assert_eq!(failed.failure.as_deref(), Some("no such user"));
        assert!(store.outbox("me@x").expect("outbox").is_empty());
        outgoing(&store, "bob@x", "w2");
        let transient = Advance {
            failure: Some("link down"),
            ..Advance::by_stream("me@x", "w2", MessageState::Failed)
        };
        store.advance_outgoing(&transient).expect("advance");
        assert_eq!(
            store.outbox("me@x").expect("outbox").len(),
            1,
            "retried later"
        );
    }

    #[test]
    fn pages_walk_backwards_and_forwards_in_order() {
        let (_d, store) = store();
        let ids: Vec<String> = (0..25).map(|i| format!("s{i}")).collect();
        for (i, id) in ids.iter().enumerate() {
            store
                .insert_incoming(&incoming(&format!("m{i}"), i as i64, Some(id)))
                .expect("insert");
        }
        let newest = store
            .messages_before("me@x", "bob@x", None, 10)
            .expect("page");
        let bodies: Vec<&str> = newest.iter().map(|m| m.body.as_str()).collect();
        assert_eq!(bodies.first(), Some(&"m15"));
        assert_eq!(bodies.last(), Some(&"m24"));
        let older = store
            .messages_before("me@x", "bob@x", Some(newest[0].cursor()), 10)
            .expect("page");
        assert_eq!(older.last().map(|m| m.body.as_str()), Some("m14"));
        let newer = store
            .messages_after("me@x", "bob@x", older[0].cursor(), 3)
            .expect("page");
        let bodies: Vec<&str> = newer.iter().map(|m| m.body.as_str()).collect();
        assert_eq!(bodies, ["m6", "m7", "m8"]);
    }

    #[test]
    fn search_finds_words_and_prefixes_and_treats_operators_as_text() {
        let (_d, store) = store();
        store
            .insert_incoming(&incoming("Let's meet at the café tomorrow", 1, Some("a")))
            .expect("insert");
        store
            .insert_incoming(&incoming("nothing to see", 2, Some("b")))
            .expect("insert");
        let hits = store.search(None, "cafe tomor", 10).expect("search");
        assert_eq!(hits.len(), 1);
        let hit = &hits[0];
        let found: Vec<&str> = hit
            .matches
            .iter()
            .map(|r| &hit.snippet[r.clone()])
            .collect();
        assert_eq!(found, ["café", "tomorrow"], "{}", hit.snippet);
        assert!(!hit.snippet.contains('\u{E000}'), "no markers left");
        assert!(
            store
                .search(None, "\" OR NOT (", 10)
                .expect("no syntax error")
                .is_empty()
        );
        assert!(
            store
                .search(Some("other@x"), "cafe", 10)
                .expect("search")
                .is_empty()
        );
    }

    fn correction<'a>(
        sender: &'a str,
        replaces: &'a str,
        body: &'a str,
        at: i64,
    ) -> NewCorrection<'a> {
        NewCorrection {
            account: "me@x",
            peer: "bob@x",
            sender,
            replaces,
            body,
            at,
            outgoing: false,
        }
    }

    #[test]
    fn corrections_replace_the_body_and_what_search_finds() {
        let (_d, store) = store();
        let mut original = incoming("see you at the bakery", 1, Some("s1"));
        original.wire_id = Some("w1");
        let stored = store
            .insert_incoming(&original)
            .expect("insert")
            .expect("new");
        assert_eq!(stored.edited_at, None);
        let outcome = store
            .correct_message(&correction(
                "bob@x/laptop",
                "w1",
                "see you at the library",
                5,
            ))
            .expect("correct");
        let CorrectionOutcome::Applied(updated) = outcome else {
            panic!("applied expected, got {outcome:?}");
        };
        assert_eq!(updated.id, stored.id);
        assert_eq!(updated.body, "see you at the library");
        assert_eq!(updated.edited_at, Some(5));
        assert_eq!(updated.sent_at, 1, "it keeps its place in the history");
        assert_eq!(store.search(None, "library", 10).expect("search").len(), 1);
        assert!(store.search(None, "bakery", 10).expect("search").is_empty());
        // The same again, or an older correction replayed: no change.
        assert_eq!(
            store
                .correct_message(&correction(
                    "bob@x/laptop",
                    "w1",
                    "see you at the library",
                    6
                ))
                .expect("correct"),
            CorrectionOutcome::Unchanged
        );
        assert_eq!(
            store
                .correct_message(&correction("bob@x/phone", "w1", "older text", 3))
                .expect("correct"),
            CorrectionOutcome::Unchanged
        );
        assert_eq!(
            store
                .correct_message(&correction("bob@x", "nope", "x", 9))
                .expect("correct"),
            CorrectionOutcome::NotFound
        );
    }

    #[test]
    fn only_the_author_may_correct() {
        let (_d, store) = store();
        let mut original = incoming("original words", 1, Some("s1"));
        original.origin_id = Some("o1");
        store.insert_incoming(&original).expect("insert");
        let spoofed = NewCorrection {
            peer: "bob@x",
            ..correction("eve@x/pc", "o1", "spoofed words", 2)
        };
        assert_eq!(
            store.correct_message(&spoofed).expect("correct"),
            CorrectionOutcome::WrongSender
        );
        // Our own correction cannot touch their message either.
        let mine = NewCorrection {
            outgoing: true,
            ..correction("me@x", "o1", "mine", 2)
        };
        assert_eq!(
            store.correct_message(&mine).expect("correct"),
            CorrectionOutcome::NotFound
        );
        let page = store
            .messages_before("me@x", "bob@x", None, 5)
            .expect("page");
        assert_eq!(page[0].body, "original words");
        assert!(
            store
                .search(None, "spoofed", 10)
                .expect("search")
                .is_empty()
        );
        // Ours, by origin-id.
        store
            .insert_outgoing(&NewOutgoing {
                account: "me@x",
                peer: "bob@x",
                body: "typo hre",
                origin_id: "m1",
                plain: false,
            })
            .expect("insert");
        let CorrectionOutcome::Applied(fixed) = store
            .correct_message(&NewCorrection {
                outgoing: true,
                ..correction("me@x", "m1", "typo here", 3)
            })
            .expect("correct")
        else {
            panic!("applied expected");
        };
        assert_eq!(fixed.body, "typo here");
        assert_eq!(fixed.direction, Direction::Out);
    }

    #[test]
    fn marking_read_names_the_newest_markable_message_once() {
        let (_d, store) = store();
        assert_eq!(
            store.mark_read_for_marker("me@x", "bob@x").expect("read"),
            None,
            "no conversation yet"
        );
        let mut first = incoming("one", 1, Some("s1"));
        first.wire_id = Some("w1");
        first.markable = true;
        store.insert_incoming(&first).expect("insert");
        let mut second = incoming("two", 2, Some("s2"));
        second.origin_id = Some("o2");
        second.markable = true;
        store.insert_incoming(&second).expect("insert");
        let mut unmarkable = incoming("three", 3, Some("s3"));
        unmarkable.wire_id = Some("w3");
        store.insert_incoming(&unmarkable).expect("insert");
        assert_eq!(store.conversations(None).expect("list")[0].unread, 3);
        assert_eq!(
            store.mark_read_for_marker("me@x", "bob@x").expect("read"),
            Some("o2".into())
        );
        assert_eq!(store.conversations(None).expect("list")[0].unread, 0);
        assert_eq!(
            store.mark_read_for_marker("me@x", "bob@x").expect("read"),
            None,
            "already told"
        );
        let mut fourth = incoming("four", 4, Some("s4"));
        fourth.wire_id = Some("w4");
        fourth.markable = true;
        store.insert_incoming(&fourth).expect("insert");
        assert_eq!(
            store.mark_read_for_marker("me@x", "bob@x").expect("read"),
            Some("w4".into())
        );
    }
}
