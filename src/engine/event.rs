//! The typed boundary between the core and the front ends.

use secrecy::SecretString;
use serde::Serialize;

use crate::config::{AccountConfig, PasswordStore};
use crate::model::{
    AccountId, Availability, BareJid, ChatState, ConnectionState, Contact, Departure, Occupant,
    OccupantChange, OutgoingMessage, OutgoingState, PresenceUpdate, PushSource, RoomRefusal,
    SubscriptionChange,
};
use crate::omemo::DeviceId;
use crate::store::{ChatEncryption, OmemoTrust, StoredMessage};

/// What a front end asks the engine to do.
#[derive(Debug)]
pub enum Command {
    /// Tell the engine of an account without connecting it: how it
    /// reaches the network (Tor or not) decides how its knocks go.
    /// [`Command::Start`] does this too.
    Configure(Box<AccountConfig>),
    /// Connect an account and keep it connected.
    Start(Box<AccountLogin>),
    /// Create the account on its server (XEP-0077 in-band registration),
    /// then connect it as [`Command::Start`] does. Failures to create come
    /// as [`ConnectionState::Failed`](crate::model::ConnectionState) with
    /// the server's reason; nothing is retried.
    CreateAccount(Box<AccountLogin>),
    /// Disconnect an account cleanly.
    Stop(AccountId),
    /// Keep an account's password where it is safe: the system keychain,
    /// or the encrypted database where no keychain is reachable. Answered
    /// by [`Event::PasswordStored`].
    StorePassword {
        account: AccountId,
        password: SecretString,
    },
    /// Disconnect an account and forget it: its password and everything
    /// stored for it. Answered by [`Event::AccountForgotten`].
    ForgetAccount {
        account: AccountId,
        password_store: PasswordStore,
    },
    /// Push info the user typed or pasted for a contact (its JSON).
    AddPushInfo {
        account: AccountId,
        contact: BareJid,
        json: String,
    },
    /// Forget a contact's push info.
    RemovePushInfo {
        account: AccountId,
        contact: BareJid,
    },
    SendMessage {
        account: AccountId,
        message: OutgoingMessage,
    },
    SetPresence {
        account: AccountId,
        availability: Availability,
        status: Option<String>,
    },
    FetchRoster {
        account: AccountId,
    },
    /// Put someone in the contact list and ask to see their presence.
    AddContact {
        account: AccountId,
        jid: BareJid,
        name: Option<String>,
    },
    /// Answer someone's request to see our presence.
    AnswerSubscription {
        account: AccountId,
        jid: BareJid,
        approve: bool,
    },
    /// Publish our push info (its JSON) in PEP for contacts who see our
    /// presence.
    PublishPushInfo {
        account: AccountId,
        json: String,
    },
    /// Send our push info (its JSON) to one contact only, inside OMEMO 2
    /// encryption; answered by [`Event::PushInfoSent`].
    SendPushInfo {
        account: AccountId,
        contact: BareJid,
        json: String,
    },
    /// Take our published push info down.
    RetractPushInfo {
        account: AccountId,
    },
    /// Fetch a contact's published push info into the store.
    FetchPushInfo {
        account: AccountId,
        contact: BareJid,
    },
    /// Knock a contact's phone through their push relay.
    Knock {
        account: AccountId,
        contact: BareJid,
    },
    /// Knock once, automatically, when a message is queued for this
    /// contact while they are offline.
    SetAutoKnock {
        account: AccountId,
        contact: BareJid,
        on: bool,
    },
    /// Tell a contact what we are doing in their conversation (XEP-0085),
    /// e.g. composing; not archived by the server.
    SetChatState {
        account: AccountId,
        to: BareJid,
        state: ChatState,
    },
    /// Correct our last message to `to` (XEP-0308): `replaces` is the id
    /// (origin-id) of our earlier message, `body` its new text.
    CorrectMessage {
        account: AccountId,
        to: BareJid,
        replaces: String,
        body: String,
    },
    /// Whether the user is looking at Sotto (XEP-0352): while inactive,
    /// servers that support it hold back unimportant traffic.
    SetClientActive {
        active: bool,
    },
    /// The user has seen the conversation: nothing unread, and the contact
    /// learns we read their newest message (XEP-0333).
    MarkRead {
        account: AccountId,
        peer: BareJid,
    },
    /// Change (or with `None`, clear) a contact's name; groups are kept.
    RenameContact {
        account: AccountId,
        jid: BareJid,
        name: Option<String>,
    },
    /// Take someone off the contact list (and end presence sharing).
    RemoveContact {
        account: AccountId,
        jid: BareJid,
    },
    /// Block (or unblock) an address (XEP-0191): the server drops what it
    /// sends us.
    BlockContact {
        account: AccountId,
        jid: BareJid,
        blocked: bool,
    },
    /// Encrypt a chat, follow the contact (`Auto`), or stop encrypting it.
    SetChatEncryption {
        account: AccountId,
        peer: BareJid,
        setting: ChatEncryption,
    },
    /// Mark a device of a contact (or of our own account) verified after
    /// comparing fingerprints, trusted blindly, or untrusted (nothing is
    /// encrypted to it). Applies to the device id in both namespaces.
    SetDeviceTrust {
        account: AccountId,
        jid: BareJid,
        device: DeviceId,
        trust: OmemoTrust,
    },
    /// Take one of our own stale OMEMO devices off our published device
    /// lists (needs the account online; never this device).
    RemoveOwnDevice {
        account: AccountId,
        device: DeviceId,
    },
    /// Enter a room (and remember it, to enter at every login): as
    /// `nick`, or the nickname used there before, or the account's name.
    JoinRoom {
        account: AccountId,
        room: BareJid,
        nick: Option<String>,
        password: Option<String>,
    },
    /// Make a room (entering it as `nick`, or the account's name), set up
    /// as `config` says; a room that exists already is only entered.
    CreateRoom {
        account: AccountId,
        room: BareJid,
        nick: Option<String>,
        config: crate::model::RoomConfig,
    },
    /// Kick, ban, or give or take someone's voice, in a room where we may.
    Moderate {
        account: AccountId,
        room: BareJid,
        what: crate::model::Moderation,
        reason: Option<String>,
    },
    /// A new subject for a room (where we may set it).
    SetRoomSubject {
        account: AccountId,
        room: BareJid,
        subject: String,
    },
    /// Invite `to` into a room we are in.
    InviteToRoom {
        account: AccountId,
        room: BareJid,
        to: BareJid,
        reason: Option<String>,
    },
    /// Turn an invitation down (the room passes it on, where it came
    /// through the room).
    DeclineInvitation {
        account: AccountId,
        invitation: crate::model::Invitation,
    },
    /// What notifies in a room.
    SetRoomNotify {
        account: AccountId,
        room: BareJid,
        notify: crate::store::RoomNotify,
    },
    /// Leave a room; its history stays.
    LeaveRoom {
        account: AccountId,
        room: BareJid,
    },
    /// Disconnect everything and stop the engine.
    Shutdown,
}

/// An account to connect, with its password and how to behave.
pub struct AccountLogin {
    pub config: AccountConfig,
    /// `None`: the engine reads the stored one.
    pub password: Option<SecretString>,
    /// Presence announced on every (re)connection; `None` keeps the session
    /// invisible to contacts (one-shot CLI commands).
    pub presence: Option<(Availability, Option<String>)>,
    pub retry: crate::xmpp::RetryPolicy,
}

impl std::fmt::Debug for AccountLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountLogin")
            .field("jid", &self.config.jid)
            .field("presence", &self.presence)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// What the engine tells front ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The shared Tor client's bootstrap, for every account set to use
    /// Tor: progress, readiness, or why it cannot reach the network.
    TorBootstrap {
        #[serde(flatten)]
        progress: crate::tor::BootstrapProgress,
    },
    Connection {
        account: AccountId,
        #[serde(flatten)]
        state: ConnectionState,
    },
    Roster {
        account: AccountId,
        contacts: Vec<Contact>,
    },
    /// The server's contact list could not be had; what is stored stays.
    RosterFailed {
        account: AccountId,
        reason: String,
    },
    ContactChanged {
        account: AccountId,
        contact: Contact,
    },
    ContactRemoved {
        account: AccountId,
        jid: BareJid,
    },
    Presence {
        account: AccountId,
        #[serde(flatten)]
        update: PresenceUpdate,
    },
    Subscription {
        account: AccountId,
        from: BareJid,
        change: SubscriptionChange,
    },
    /// A message is new in the store: incoming, or our own (queued here,
    /// or sent from another device).
    Message {
        account: AccountId,
        #[serde(flatten)]
        message: StoredMessage,
    },
    MessageState {
        account: AccountId,
        id: String,
        #[serde(flatten)]
        state: OutgoingState,
    },
    /// Messages new in the store from one page of the server's archive,
    /// in order: one event per page rather than per message, so a long
    /// catch-up is a few redraws.
    Archived {
        account: AccountId,
        messages: Vec<StoredMessage>,
    },
    /// Catching up with the server's archive after logging in: `fetched`
    /// messages so far, `total` when the server says, `done` at the end.
    CatchUp {
        account: AccountId,
        fetched: usize,
        total: Option<usize>,
        done: bool,
    },
    /// A contact's push info is stored (new or with more tokens).
    PushInfoLearned {
        account: AccountId,
        contact: BareJid,
        relay: String,
        tokens: usize,
        source: PushSource,
    },
    /// A contact's push info was unusable or absent.
    PushInfoRejected {
        account: AccountId,
        contact: BareJid,
        reason: String,
    },
    /// Our own push info was published (or, with `published: false`,
    /// taken down), or the server refused.
    PushInfoPublished {
        account: AccountId,
        published: bool,
        error: Option<String>,
    },
    /// A knock is on its way to the contact's relay.
    Knocking {
        account: AccountId,
        contact: BareJid,
        automatic: bool,
    },
    /// How a knock went: `relay` accepted it, or `error` says why not.
    Knocked {
        account: AccountId,
        contact: BareJid,
        relay: Option<String>,
        error: Option<String>,
        /// The accepted token's hint (never the token itself).
        token: Option<String>,
        /// Tokens the relay no longer knew, now forgotten.
        dropped_tokens: usize,
    },
    /// A message we sent came back as an error.
    MessageError {
        account: AccountId,
        id: Option<String>,
        reason: String,
    },
    /// A contact's chat state (XEP-0085), e.g. they are typing.
    ChatState {
        account: AccountId,
        from: BareJid,
        state: ChatState,
    },
    /// A stored message got a new body (XEP-0308 correction, ours or the
    /// contact's); `message` is the original, updated.
    Corrected {
        account: AccountId,
        peer: BareJid,
        message: StoredMessage,
    },
    /// A conversation has no unread messages any more.
    ConversationRead {
        account: AccountId,
        peer: BareJid,
    },
    /// An address was blocked or unblocked (from this or another device).
    Blocked {
        account: AccountId,
        jid: BareJid,
        blocked: bool,
    },
    /// The blocked addresses, as the server has them after logging in.
    BlockList {
        account: AccountId,
        jids: Vec<BareJid>,
    },
    /// Where [`Command::StorePassword`] put the password, or why it could
    /// not; `keychain_unavailable` says why the keychain was not used when
    /// it was tried.
    PasswordStored {
        account: AccountId,
        store: Option<PasswordStore>,
        keychain_unavailable: Option<String>,
        error: Option<String>,
    },
    /// [`Command::ForgetAccount`] is done (`error`: what could not be
    /// removed).
    AccountForgotten {
        account: AccountId,
        error: Option<String>,
    },
    /// Auto-knock for a contact is now on or off.
    AutoKnock {
        account: AccountId,
        contact: BareJid,
        on: bool,
    },
    /// A contact's push info was forgotten (`removed: false`: there was
    /// none).
    PushInfoRemoved {
        account: AccountId,
        contact: BareJid,
        removed: bool,
    },
    /// Our message is end-to-end encrypted (OMEMO) and goes out.
    MessageEncrypted {
        account: AccountId,
        peer: BareJid,
        id: String,
    },
    /// A chat's encryption setting changed.
    ChatEncryption {
        account: AccountId,
        peer: BareJid,
        setting: ChatEncryption,
    },
    /// Our trust in a device changed, or (`error`) could not.
    DeviceTrust {
        account: AccountId,
        jid: BareJid,
        device: u32,
        trust: OmemoTrust,
        error: Option<String>,
    },
    /// [`Command::SendPushInfo`] went out encrypted, or (`error`) did not
    /// go at all.
    PushInfoSent {
        account: AccountId,
        contact: BareJid,
        error: Option<String>,
    },
    /// One of our account's device lists was read or changed (and stored).
    OwnDeviceList {
        account: AccountId,
    },
    /// One of our own devices is off our published device lists, or
    /// (`error`) is not.
    OwnDeviceRemoved {
        account: AccountId,
        device: u32,
        error: Option<String>,
    },
    /// We are in the room, as `nick` (`created`: our join created it).
    RoomJoined {
        account: AccountId,
        room: BareJid,
        nick: String,
        created: bool,
        /// Our standing there: what we may do.
        role: crate::model::Role,
        affiliation: crate::model::Affiliation,
    },
    /// Our standing in a room changed.
    RoomStanding {
        account: AccountId,
        room: BareJid,
        role: crate::model::Role,
        affiliation: crate::model::Affiliation,
    },
    /// The room would not let us in; `reason` says why in words.
    RoomJoinFailed {
        account: AccountId,
        room: BareJid,
        reason: String,
        refusal: RoomRefusal,
    },
    /// We are out of the room: we left, or it put us out.
    RoomLeft {
        account: AccountId,
        room: BareJid,
        departure: Departure,
    },
    /// What the room says about someone in it (not us).
    Occupant {
        account: AccountId,
        room: BareJid,
        occupant: Occupant,
        change: OccupantChange,
    },
    RoomSubject {
        account: AccountId,
        room: BareJid,
        subject: Option<String>,
        by: Option<String>,
    },
    /// Our moderation was done (the room tells everyone, as an
    /// [`Event::Occupant`]), or (`error`) refused.
    Moderated {
        account: AccountId,
        room: BareJid,
        what: crate::model::Moderation,
        error: Option<String>,
    },
    /// A room we made is set up, or (`error`) refused its settings.
    RoomConfigured {
        account: AccountId,
        room: BareJid,
        error: Option<String>,
    },
    /// Someone invites us into a room. `from_contact`: they are in the
    /// roster; anyone else's waits among requests and never notifies.
    Invitation {
        account: AccountId,
        invitation: crate::model::Invitation,
        from_contact: bool,
    },
    /// Our invitation went out, or (`error`) could not.
    Invited {
        account: AccountId,
        room: BareJid,
        to: BareJid,
        error: Option<String>,
    },
    /// What a room we entered says of itself (stored).
    RoomInfo {
        account: AccountId,
        room: BareJid,
        info: crate::model::RoomInfo,
    },
    /// A room's notification setting changed (stored).
    RoomNotify {
        account: AccountId,
        room: BareJid,
        notify: crate::store::RoomNotify,
    },
    /// The room's archive is read up to now, after entering it.
    RoomCaughtUp {
        account: AccountId,
        room: BareJid,
    },
}
