//! What a session reports to its owner, in domain terms: no XML, and no
//! knowledge of who listens (the engine's account task).

use tokio::sync::mpsc;
use tokio_xmpp::jid::{BareJid, Jid};

use crate::model::{
    ChatState, ConnectionState, Contact, Departure, IncomingMessage, Occupant, OccupantChange,
    PresenceUpdate, PushSource, RoomMessage, RoomRefusal, SubscriptionChange, SyncedMessage,
};

/// How far one of our messages got on the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Written to the stream. With `acks`, the server will confirm it
    /// (XEP-0198); without, this is as far as the server tells.
    Sent { acks: bool },
    /// The server confirmed it has it.
    Acked,
    /// The stream went away before the server confirmed it, and was not
    /// resumed: it must go out again on the next stream.
    Lost,
    /// It cannot be sent at all (it did not serialise).
    Failed(String),
}

#[derive(Debug)]
pub enum SessionEvent {
    Connection(ConnectionState),
    /// A stream is ready for stanzas: `resumed` kept everything in flight
    /// (XEP-0198), otherwise the server's state was lost; `acks` says
    /// whether it confirms stanzas.
    Usable {
        resumed: bool,
        acks: bool,
    },
    /// The server's certificate was trusted through the system's
    /// authorities (not a pin).
    CaVerified,
    Roster(Vec<Contact>),
    /// The roster could not be fetched; what the store has stays.
    RosterFailed(String),
    ContactChanged(Contact),
    ContactRemoved(BareJid),
    Presence(PresenceUpdate),
    Subscription {
        from: BareJid,
        change: SubscriptionChange,
    },
    /// A live chat message.
    Incoming(IncomingMessage),
    /// A carbon of a message to or from another of our devices.
    Synced(SyncedMessage),
    /// One page of the archive, in the archive's order.
    ArchivePage {
        messages: Vec<SyncedMessage>,
        /// The page's newest archive id: where the next catch-up resumes.
        last: Option<String>,
        complete: bool,
        /// Results read so far in this catch-up, and the server's total.
        fetched: usize,
        total: Option<usize>,
    },
    Delivery {
        id: String,
        state: Delivery,
    },
    /// A message of ours came back as an error, from `from`.
    Bounced {
        id: Option<String>,
        from: Option<Jid>,
        reason: String,
    },
    /// A delivery receipt (XEP-0184) for our message `id`.
    Received {
        id: String,
        from: Jid,
    },
    /// A displayed marker (XEP-0333) up to our message `id`.
    Displayed {
        id: String,
        from: Jid,
    },
    ChatState {
        from: BareJid,
        state: ChatState,
    },
    /// A contact's push info (`None`: they have none published).
    PushInfo {
        contact: BareJid,
        json: Option<String>,
        source: PushSource,
    },
    PushInfoPublished {
        published: bool,
        error: Option<String>,
    },
    Blocked {
        jid: BareJid,
        blocked: bool,
    },
    BlockList(Vec<BareJid>),
    /// OMEMO device lists, bundles and publications.
    Omemo(super::omemo::OmemoEvent),
    /// The room let us in, as `nick` (which the room may have changed).
    RoomJoined {
        room: BareJid,
        nick: String,
        created: bool,
        /// Our standing there.
        role: crate::model::Role,
        affiliation: crate::model::Affiliation,
    },
    /// Our standing in a room we are in changed (voice given or taken, an
    /// affiliation granted).
    Standing {
        room: BareJid,
        role: crate::model::Role,
        affiliation: crate::model::Affiliation,
    },
    /// The room would not let us in, or refused a change of nickname.
    RoomRefused {
        room: BareJid,
        refusal: RoomRefusal,
    },
    /// We are out of the room: we left, or it put us out.
    RoomLeft {
        room: BareJid,
        departure: Departure,
    },
    Occupant {
        room: BareJid,
        occupant: Occupant,
        change: OccupantChange,
    },
    RoomSubject {
        room: BareJid,
        subject: Option<String>,
        by: Option<String>,
    },
    RoomMessage(RoomMessage),
    /// A moderator's request was done, or (`error`) refused.
    Moderated {
        room: BareJid,
        what: crate::model::Moderation,
        error: Option<String>,
    },
    /// A room our join created is set up, or (`error`) refused it.
    RoomConfigured {
        room: BareJid,
        error: Option<String>,
    },
    /// Someone invites us into a room.
    Invited(crate::model::Invitation),
    /// What a room we entered says of itself.
    RoomInfo {
        room: BareJid,
        info: crate::model::RoomInfo,
    },
    /// Our bookmarks as read at login; `None`: the server keeps none.
    Bookmarks(Option<Vec<crate::model::Bookmark>>),
    /// Our other clients changed our bookmarks.
    BookmarkChanges(Vec<crate::xmpp::bookmarks::BookmarkChange>),
    /// One page of a room's archive, in the archive's order.
    RoomArchivePage {
        room: BareJid,
        messages: Vec<RoomMessage>,
        last: Option<String>,
        complete: bool,
    },
}

/// Where a session's events go; a closed receiver just drops them.
#[derive(Clone)]
pub struct EventSink(pub(crate) mpsc::Sender<SessionEvent>);

impl EventSink {
    pub async fn send(&self, event: SessionEvent) {
        let _ = self.0.send(event).await;
    }
}
