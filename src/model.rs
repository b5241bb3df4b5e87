//! Domain types shared by the engine and the front ends.
//!
//! These never carry XML: the `xmpp` module converts stanzas into them at its
//! edge.

use std::fmt;

pub use jid::{BareJid, FullJid, Jid};
use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, now: the time unit of stored
/// messages.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// An account is known by its bare JID.
pub type AccountId = BareJid;

/// How an account's connection is doing, as the user should see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConnectionState {
    /// Trying to connect; `attempt` counts from 1 since the last success.
    Connecting { attempt: u32 },
    /// Logged in and bound to `jid`. `acks` says whether the server
    /// confirms each stanza (XEP-0198 stream management).
    Online {
        jid: String,
        resumed: bool,
        acks: bool,
    },
    /// The link dropped; the stream may still resume without losing state.
    Suspended,
    /// Waiting before the next attempt.
    WaitingToRetry { seconds: u64, reason: String },
    /// Stopped for good until the user acts (wrong password, untrusted
    /// certificate, a server without TLS...). When a certificate was
    /// refused, `certificate` is its fingerprint; `pinnable` says whether
    /// the user may be offered to pin it, which is never the case once a
    /// certificate trusted by the system's authorities was seen for the
    /// account (then a self-signed one is what a man in the middle shows).
    Failed {
        reason: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        certificate: Option<crate::fingerprint::Fingerprint>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        pinnable: bool,
    },
    /// Closed on request.
    Offline,
}

/// A contact's subscription state, as in RFC 6121.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subscription {
    None,
    To,
    From,
    Both,
}

impl fmt::Display for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "none",
            Self::To => "to",
            Self::From => "from",
            Self::Both => "both",
        })
    }
}

/// One roster entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contact {
    pub jid: BareJid,
    pub name: Option<String>,
    pub subscription: Subscription,
    /// We asked to see their presence and they have not answered yet.
    pub pending_out: bool,
    pub groups: Vec<String>,
}

/// What a presence says about availability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Available,
    Chat,
    Away,
    ExtendedAway,
    DoNotDisturb,
    Unavailable,
}

impl Availability {
    pub fn is_online(self) -> bool {
        self != Self::Unavailable
    }
}

impl fmt::Display for Availability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Available => "available",
            Self::Chat => "free for chat",
            Self::Away => "away",
            Self::ExtendedAway => "extended away",
            Self::DoNotDisturb => "do not disturb",
            Self::Unavailable => "offline",
        })
    }
}

/// A contact's presence on one of their devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PresenceUpdate {
    /// The sending resource (full JID) or bare JID.
    pub from: Jid,
    pub availability: Availability,
    pub status: Option<String>,
    pub priority: i8,
}

/// A request from someone to see our presence, or their answer to ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionChange {
    /// They ask to see our presence.
    Requested,
    /// They accepted our request.
    Approved,
    /// They refused or revoked.
    Revoked,
    /// They stopped watching our presence.
    Unsubscribed,
}

/// A XEP-0085 chat state: what the other side is doing in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatState {
    /// Paying attention to the conversation.
    Active,
    /// Typing.
    Composing,
    /// Stopped typing for a moment.
    Paused,
    /// Not looking at the conversation.
    Inactive,
    /// Left the conversation (closed it).
    Gone,
}

/// A server's time stamp on a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Stamp {
    /// Milliseconds since the Unix epoch.
    pub ms: i64,
    /// The stamp named whole seconds only (Prosody's do): the message was
    /// sent somewhen in that second, so it may sort anywhere in it.
    pub whole_second: bool,
}

/// A one-to-one chat message that arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncomingMessage {
    pub from: Jid,
    /// The text; empty while [`encrypted`](Self::encrypted) is not yet
    /// decrypted.
    pub body: String,
    /// OMEMO elements (one per namespace) the body is encrypted in; the
    /// engine decrypts them before anything is stored.
    #[serde(skip)]
    pub encrypted: Vec<crate::xmpp::omemo::Encrypted>,
    /// The stanza's `id` attribute, if any.
    pub id: Option<String>,
    /// XEP-0359 origin-id set by the sender, if any.
    pub origin_id: Option<String>,
    /// XEP-0359 stanza-id stamped by our own server, if any.
    pub stanza_id: Option<String>,
    /// Our server's XEP-0203 delay stamp, when the message waited there.
    pub delayed: Option<Stamp>,
    /// The sender asked for a delivery receipt (XEP-0184).
    pub wants_receipt: bool,
    /// The sender asked for chat markers (XEP-0333).
    pub markable: bool,
    /// A chat state sent along (XEP-0085).
    pub chat_state: Option<ChatState>,
    /// This corrects the sender's earlier message with this id (XEP-0308).
    pub replaces: Option<String>,
}

/// Where an outgoing message has got to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum OutgoingState {
    /// Waiting for a connection.
    Queued,
    /// Written to the server's socket.
    Sent,
    /// The server confirmed it has it (XEP-0198).
    Acked,
    /// The recipient's device got it (XEP-0184).
    Delivered,
    /// The recipient read it (XEP-0333).
    Read,
    /// It could not be sent; the reason is readable.
    Failed { reason: String },
}

/// A message the user sends; `id` is also its XEP-0359 origin-id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub id: String,
    pub to: BareJid,
    pub body: String,
    /// Sent in clear even where the chat would encrypt it (`sotto send
    /// --plain`); refused in a chat that is always encrypted.
    pub plain: bool,
}

/// How a message's body reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protection {
    /// In clear.
    #[default]
    Clear,
    /// End-to-end encrypted (OMEMO), decrypted here.
    Encrypted,
    /// It came encrypted and could not be decrypted: the body is Sotto's
    /// notice saying so.
    Notice,
}

/// A copy of a one-to-one message that reached us another way: a carbon
/// (XEP-0280) of a message to or from another of our devices, or an entry
/// of the server's archive (XEP-0313).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncedMessage {
    /// The other side of the conversation.
    pub peer: BareJid,
    /// Who wrote it (full JID when known).
    pub sender: Jid,
    pub body: String,
    /// OMEMO elements the body is encrypted in, as on
    /// [`IncomingMessage::encrypted`].
    #[serde(skip)]
    pub encrypted: Vec<crate::xmpp::omemo::Encrypted>,
    /// Whether `body` came encrypted, in clear, or is Sotto's notice that
    /// it could not be decrypted.
    #[serde(skip)]
    pub protection: Protection,
    /// We wrote it, from this or another device.
    pub outgoing: bool,
    pub origin_id: Option<String>,
    /// Our server's id for it (XEP-0359), which is also its archive id.
    pub stanza_id: Option<String>,
    /// When the server stamped it (archive or offline storage); `None`:
    /// when it reached us.
    pub sent_at: Option<Stamp>,
    /// The stanza's id attribute, as the sender set it.
    pub id: Option<String>,
    /// The sender asked for chat markers (XEP-0333).
    pub markable: bool,
    /// This corrects the sender's earlier message with this id (XEP-0308).
    pub replaces: Option<String>,
}

/// Where a contact's push info came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PushSource {
    /// Typed or pasted by the user.
    Manual,
    /// The contact's PEP node.
    Pep,
    /// A `<push-info/>` in a message from the contact.
    Message,
}

impl From<IncomingMessage> for SyncedMessage {
    /// A live message, stored like any other copy of a conversation's
    /// message.
    fn from(m: IncomingMessage) -> Self {
        Self {
            peer: m.from.to_bare(),
            sender: m.from,
            body: m.body,
            encrypted: m.encrypted,
            protection: Protection::Clear,
            outgoing: false,
            origin_id: m.origin_id,
            stanza_id: m.stanza_id,
            sent_at: m.delayed,
            id: m.id,
            markable: m.markable,
            replaces: m.replaces,
        }
    }
}

/// What an occupant may do in a room now (XEP-0045 §5.1); lost on leaving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Moderator,
    Participant,
    Visitor,
    None,
}

/// Someone's standing with a room, kept across visits (XEP-0045 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Affiliation {
    Owner,
    Admin,
    Member,
    Outcast,
    None,
}

/// Someone in a room, as the room shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Occupant {
    pub nick: String,
    /// Their real address, where the room lets us see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jid: Option<BareJid>,
    pub role: Role,
    pub affiliation: Affiliation,
    pub availability: Availability,
}

/// Why someone left a room, when it was not of their own accord.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Departure {
    Left,
    Kicked {
        #[serde(skip_serializing_if = "Option::is_none")]
        by: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Banned {
        #[serde(skip_serializing_if = "Option::is_none")]
        by: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Their affiliation changed, or the room became members-only.
    Removed,
    /// The room or its service went away.
    Shutdown,
    /// The room was destroyed (by an owner).
    Destroyed {
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

/// What a room said about one of its occupants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum OccupantChange {
    /// Joined, or changed role, affiliation or presence.
    Present,
    /// Now known as `new_nick`.
    Renamed {
        new_nick: String,
    },
    Gone(Departure),
}

/// Why a room would not let us in (XEP-0045 §7.2.8 onwards).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RoomRefusal {
    /// Someone else has that nickname.
    NicknameTaken,
    /// The room has a password, and ours was missing or wrong.
    PasswordRequired,
    /// Only members may enter.
    MembersOnly,
    Banned,
    /// No such room, and we may not create it.
    NotFound,
    /// The room is full.
    Full,
    /// Anything else, said as the room said it.
    Other {
        reason: String,
    },
}

impl fmt::Display for RoomRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NicknameTaken => f.write_str("someone in the room already has that nickname"),
            Self::PasswordRequired => {
                f.write_str("the room needs a password, and it was missing or wrong")
            }
            Self::MembersOnly => f.write_str("only members may enter this room"),
            Self::Banned => f.write_str("this account is banned from the room"),
            Self::NotFound => f.write_str("there is no such room"),
            Self::Full => f.write_str("the room is full"),
            Self::Other { reason } => f.write_str(reason),
        }
    }
}

/// A message in a room (`type='groupchat'`), live or from the room's
/// archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoomMessage {
    pub room: BareJid,
    /// The author's nickname in the room.
    pub nick: String,
    /// The author's real address, where the room shows it (non-anonymous
    /// rooms, or to moderators).
    pub real_jid: Option<BareJid>,
    pub body: String,
    /// The stanza's id attribute, as the sender set it.
    pub id: Option<String>,
    pub origin_id: Option<String>,
    /// The room's XEP-0359 stanza-id (also its archive id); only one the
    /// room itself stamped is kept.
    pub stanza_id: Option<String>,
    /// The room's stamp (archive or delayed delivery); `None`: now.
    pub sent_at: Option<Stamp>,
    /// This corrects the author's earlier message with this id (XEP-0308).
    pub replaces: Option<String>,
}

/// A room kept in the account's bookmarks (XEP-0402), where all its
/// clients find it.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Bookmark {
    pub room: BareJid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nick: Option<String>,
    #[serde(skip)]
    pub password: Option<String>,
    /// Clients enter it at login.
    pub autojoin: bool,
}

/// Never the room's password, should a bookmark reach a log.
impl fmt::Debug for Bookmark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bookmark")
            .field("room", &self.room)
            .field("name", &self.name)
            .field("nick", &self.nick)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .field("autojoin", &self.autojoin)
            .finish()
    }
}

/// What a room says of itself (XEP-0045 §6.4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RoomInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub members_only: bool,
    pub non_anonymous: bool,
    pub persistent: bool,
    pub public: bool,
    pub password_protected: bool,
}

/// An invitation to a room: sent by someone directly (XEP-0249) or passed
/// on by the room (XEP-0045 §7.8.2, `mediated`).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Invitation {
    pub room: BareJid,
    /// Who invites: their address, or (passed on by a room that hides
    /// addresses) their place in the room, room/nickname.
    pub from: Jid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip)]
    pub password: Option<String>,
    pub mediated: bool,
}

/// Never the room's password, should an invitation reach a log.
impl fmt::Debug for Invitation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invitation")
            .field("room", &self.room)
            .field("from", &self.from)
            .field("reason", &self.reason)
            .field("password", &self.password.as_ref().map(|_| "…"))
            .field("mediated", &self.mediated)
            .finish()
    }
}

/// How a room we create is set up.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RoomConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A private group: only members enter (invited ones become members),
    /// everyone sees everyone's address, and it is not listed. Otherwise
    /// a public room: listed, open, addresses seen by moderators only.
    pub private: bool,
}

/// What a moderator (or an admin, for bans) does to someone in a room
/// (XEP-0045 §8, §9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Moderation {
    /// Out of the room, free to come back.
    Kick { nick: String },
    /// Out for good: by address, as a ban outlasts nicknames.
    Ban { jid: BareJid },
    /// May speak in a moderated room, or (false) may no longer.
    Voice { nick: String, granted: bool },
}
