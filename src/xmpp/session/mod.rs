//! One account's live session: owns the tokio-xmpp `StanzaStream` (which
//! does stream management and resumption), and turns stanzas into
//! [`SessionEvent`]s. One file per concern: logging in, reconnecting, IQ
//! matching, incoming stanzas, the archive, what we advertise, and our
//! messages in flight.

mod bookmarks;
mod delivery;
pub(crate) mod disco;
mod incoming;
pub(crate) mod iq;
mod login;
mod mam;
mod omemo;
mod output;
mod reconnect;
mod requests;
mod rooms;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use secrecy::SecretString;
use tokio::sync::mpsc;
use tokio_xmpp::Stanza;
use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::parsers::ns;
use tokio_xmpp::parsers::presence::Presence;
use tokio_xmpp::parsers::roster::Roster;
use tokio_xmpp::parsers::stream_features::StreamFeatures;
use tokio_xmpp::stanzastream::{Event as StreamItem, StanzaStream, StanzaToken, StreamEvent};
use tokio_xmpp::xmlstream::Timeouts;

pub use mam::CatchUpFrom;
pub use omemo::{OmemoEvent, SealedKind, SealedMessage};
pub use output::{Delivery, SessionEvent};

use self::delivery::InFlight;
use self::iq::{IqTracker, Purpose};
use self::mam::CatchUp;
use self::output::EventSink;
use self::reconnect::{LinkStatus, ReconnectParams, reconnector};
use super::backoff::Backoff;
use super::connect::{Connector, Route};
use super::convert;
use super::nonza::Nonzas;
use super::pep;
use crate::config::ServerAddress;
use crate::fingerprint::Fingerprint;
use crate::model::{Availability, ChatState, ConnectionState, OutgoingMessage};
use crate::xmpp::omemo::pubsub::Publication;

/// What to do when a connection attempt fails for a reason that may pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryPolicy {
    /// Keep trying with backoff (the GUI, `sotto listen`).
    Forever,
    /// Give up after the first failure (one-shot CLI commands).
    Never,
}

pub struct SessionParams {
    pub jid: BareJid,
    pub password: SecretString,
    pub server: Option<ServerAddress>,
    pub direct_tls: bool,
    pub pinned: Option<Fingerprint>,
    pub presence: Option<(Availability, Option<String>)>,
    pub retry: RetryPolicy,
    /// Direct, or only through Tor.
    pub route: Route,
    /// Create the account on the server (XEP-0077) before the first login.
    pub register: bool,
}

#[derive(Debug)]
pub enum SessionCommand {
    /// Messages to send, in order. Those the stream still holds (queued,
    /// or awaiting an ack that resumption would resend) are skipped, so
    /// the whole outbox can be handed over whenever a stream is usable.
    Send(Vec<OutgoingMessage>),
    /// A delivery receipt (XEP-0184) for the message `id` from `to`.
    Receipt {
        to: Jid,
        id: String,
    },
    SetPresence(Availability, Option<String>),
    FetchRoster,
    AddContact(BareJid, Option<String>),
    AnswerSubscription(BareJid, bool),
    /// Fetch what the archive holds from there on.
    CatchUp(CatchUpFrom),
    PublishPushInfo(String),
    RetractPushInfo,
    FetchPushInfo(BareJid),
    /// A standalone chat state to a contact.
    ChatState(BareJid, ChatState),
    /// A correction of our message `replaces`, sent with the fresh `id`.
    Correct {
        to: BareJid,
        id: String,
        replaces: String,
        body: String,
    },
    /// A displayed marker for the contact's message with this id.
    Displayed(BareJid, String),
    /// Name a contact, keeping these groups.
    RenameContact(BareJid, Option<String>, Vec<String>),
    RemoveContact(BareJid),
    Block(BareJid, bool),
    /// Client state indication: whether the user is looking.
    ClientActive(bool),
    /// Messages the engine encrypted (OMEMO), in order.
    SendSealed(Vec<SealedMessage>),
    /// Enter a room as `nick` (again: under a new nickname).
    JoinRoom {
        room: BareJid,
        nick: String,
        password: Option<String>,
        /// How to set it up if our join creates it (`sotto room create`).
        create: Option<crate::model::RoomConfig>,
    },
    LeaveRoom(BareJid),
    /// Our messages to rooms, in order; as with [`Self::Send`], those the
    /// stream still holds are skipped.
    SendToRooms(Vec<OutgoingMessage>),
    /// Fetch what a room's archive holds from there on.
    RoomCatchUp(BareJid, CatchUpFrom),
    /// Invite someone into a room: through the room, or directly.
    Invite {
        room: BareJid,
        to: BareJid,
        reason: Option<String>,
        mediated: bool,
    },
    /// A moderator's (or admin's) request to a room.
    Moderate {
        room: BareJid,
        what: crate::model::Moderation,
        reason: Option<String>,
    },
    /// A new subject for a room.
    SetSubject {
        room: BareJid,
        subject: String,
    },
    /// Decline an invitation the room passed on.
    Decline {
        room: BareJid,
        inviter: Jid,
    },
    /// Read our bookmarks (answered with [`SessionEvent::Bookmarks`]).
    FetchBookmarks,
    /// Write one bookmark (leaving a room writes it with autojoin off,
    /// as XEP-0402 §5.3 has it, rather than deleting it).
    PublishBookmark(crate::model::Bookmark),
    /// Fetch an account's OMEMO device list of one namespace.
    OmemoFetchDeviceList(BareJid, crate::omemo::Profile),
    /// Fetch one device's OMEMO bundle.
    OmemoFetchBundle(BareJid, crate::omemo::Profile, crate::omemo::DeviceId),
    /// Publish our account's OMEMO device list of one namespace.
    OmemoPublishDeviceList(crate::xmpp::omemo::DeviceList),
    /// Publish our device's OMEMO bundle of one namespace.
    OmemoPublishBundle(crate::omemo::DeviceId, Box<crate::omemo::Bundle>),
    Close,
}

/// Outgoing stanzas may wait this many deep in tokio-xmpp's queue while
/// the link is down.
const QUEUE_DEPTH: usize = 256;

/// A silent link is probed (an XEP-0198 request, or a ping without it)
/// after `read_timeout` and given up `response_timeout` later: a dead
/// connection is noticed within 30 s, then resumed.
pub(crate) const TIMEOUTS: Timeouts = Timeouts {
    read_timeout: Duration::from_secs(20),
    response_timeout: Duration::from_secs(10),
};

/// Runs until closed or failed for good.
pub(crate) async fn run_session(
    params: SessionParams,
    mut commands: mpsc::UnboundedReceiver<SessionCommand>,
    events: mpsc::Sender<SessionEvent>,
) {
    let events = EventSink(events);
    let connector = match Connector::new(
        params.server.clone(),
        params.direct_tls,
        params.pinned,
        params.route.clone(),
    ) {
        Ok(c) => c,
        Err(e) => {
            events
                .send(SessionEvent::Connection(ConnectionState::Failed {
                    reason: e.to_string(),
                    certificate: None,
                    pinnable: false,
                }))
                .await;
            return;
        }
    };
    let nonzas = connector.nonzas().clone();
    let (status_tx, mut status_rx) = mpsc::unbounded_channel();
    let backoff = Arc::new(Mutex::new(Backoff::default()));
    let flags = Arc::new(login::LoginFlags::default());
    flags
        .register
        .store(params.register, std::sync::atomic::Ordering::SeqCst);
    let stream = StanzaStream::new(
        reconnector(ReconnectParams {
            connector,
            jid: params.jid.clone(),
            password: params.password.clone(),
            retry: params.retry,
            status: status_tx,
            backoff: backoff.clone(),
            flags,
        }),
        QUEUE_DEPTH,
    );
    let mut session = Session {
        account: params.jid.clone(),
        stream,
        events: events.clone(),
        presence: params.presence.clone(),
        iqs: IqTracker::default(),
        omemo_queue: std::collections::VecDeque::new(),
        catch_up: None,
        room_catch_ups: std::collections::HashMap::new(),
        rooms: std::collections::HashMap::new(),
        csi: Csi::default(),
        nonzas,
        in_flight: InFlight::default(),
        acks: false,
    };

    // Requests nobody answers are given up on this clock too, not only
    // when the next request goes out: a message may wait on one.
    let mut expiry = tokio::time::interval(Duration::from_secs(5));
    expiry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = expiry.tick() => {
                session.expire_requests().await;
                session.self_ping_silent_rooms(Instant::now()).await;
            }
            command = commands.recv() => match command {
                None | Some(SessionCommand::Close) => {
                    // Flush what is queued and say goodbye; do not wait
                    // forever on a dead link.
                    let _ = tokio::time::timeout(Duration::from_secs(10), session.stream.close()).await;
                    events.send(SessionEvent::Connection(ConnectionState::Offline)).await;
                    return;
                }
                Some(command) => session.handle_command(command).await,
            },
            item = session.stream.next() => match item {
                Some(StreamItem::Stream(StreamEvent::Reset { bound_jid, features })) => {
                    if let Ok(mut b) = backoff.lock() {
                        b.connected(Instant::now());
                    }
                    session.online(bound_jid, &features).await;
                }
                Some(StreamItem::Stream(StreamEvent::Resumed)) => {
                    if let Ok(mut b) = backoff.lock() {
                        b.connected(Instant::now());
                    }
                    session.resumed().await;
                }
                Some(StreamItem::Stream(StreamEvent::Suspended)) => {
                    session.csi.link_up = false;
                    session.emit(SessionEvent::Connection(ConnectionState::Suspended)).await;
                }
                Some(StreamItem::Stanza(stanza)) => session.handle_stanza(stanza).await,
                Some(StreamItem::InvalidStanza(invalid)) => session.invalid_stanza(invalid).await,
                None => {
                    session.emit(SessionEvent::Connection(ConnectionState::Offline)).await;
                    return;
                }
            },
            Some(status) = status_rx.recv() => match status {
                LinkStatus::Attempt(attempt) => {
                    session.emit(SessionEvent::Connection(ConnectionState::Connecting { attempt })).await;
                }
                LinkStatus::Waiting { delay, reason } => {
                    session.emit(SessionEvent::Connection(ConnectionState::WaitingToRetry {
                        seconds: delay.as_secs().max(1),
                        reason,
                    })).await;
                }
                LinkStatus::LoggedIn { ca_verified } => {
                    if ca_verified {
                        session.emit(SessionEvent::CaVerified).await;
                    }
                }
                LinkStatus::Fatal(login::Failure { reason, certificate, .. }) => {
                    // The link is in its connecting state: dropping the
                    // stream ends tokio-xmpp's worker.
                    session.emit(SessionEvent::Connection(ConnectionState::Failed {
                        reason,
                        certificate,
                        // The engine knows whether pinning may be offered.
                        pinnable: false,
                    })).await;
                    return;
                }
            },
        }
    }
}

struct Session {
    account: BareJid,
    stream: StanzaStream,
    events: EventSink,
    presence: Option<(Availability, Option<String>)>,
    iqs: IqTracker,
    /// OMEMO publications waiting for the one in flight: ejabberd's node
    /// creations abort each other when they overlap (a mnesia deadlock it
    /// reports as `item-not-found`), so ours go one at a time.
    omemo_queue: std::collections::VecDeque<Publication>,
    catch_up: Option<CatchUp>,
    /// Catch-ups of rooms' archives, one per room at most.
    room_catch_ups: std::collections::HashMap<BareJid, CatchUp>,
    /// The rooms this stream is in or entering.
    rooms: std::collections::HashMap<BareJid, rooms::RoomLink>,
    csi: Csi,
    nonzas: Nonzas,
    in_flight: InFlight,
    /// The current stream confirms stanzas (XEP-0198).
    acks: bool,
}

/// Client state indication (XEP-0352).
#[derive(Debug, Default)]
struct Csi {
    /// What the front end last said; `None`: never said, nothing to send.
    wanted: Option<bool>,
    /// The server offered `urn:xmpp:csi:0` on the current stream.
    supported: bool,
    /// Bound and able to send.
    link_up: bool,
}

impl Session {
    async fn emit(&self, event: SessionEvent) {
        self.events.send(event).await;
    }

    async fn send(&self, stanza: impl Into<Stanza>) -> StanzaToken {
        self.stream.send(Box::new(stanza.into())).await
    }

    async fn expire_requests(&mut self) {
        for expired in self.iqs.expire(Instant::now()) {
            self.request_failed(expired, "no answer came in time".into())
                .await;
        }
    }

    /// Sends a request and remembers what its answer will mean.
    async fn request(&mut self, iq: Iq, purpose: Purpose) {
        self.expire_requests().await;
        self.iqs.track(&iq, purpose);
        self.send(iq).await;
    }

    /// A fresh stream: everything the server knew of us is gone.
    async fn online(&mut self, bound: Jid, features: &StreamFeatures) {
        self.acks = features.stream_management.is_some();
        // Before the new stream is announced, so that what fails here is
        // not taken for an answer to what the engine asks on the new one.
        for lost in self.iqs.clear() {
            self.request_failed(lost, "the connection was reset".into())
                .await;
        }
        // The engine publishes afresh on every new stream.
        self.omemo_queue.clear();
        self.emit(SessionEvent::Connection(ConnectionState::Online {
            jid: bound.to_string(),
            resumed: false,
            acks: self.acks,
        }))
        .await;
        self.catch_up = None;
        self.rooms_reset();
        self.fetch_roster().await;
        self.request(convert::blocklist_request(new_id()), Purpose::Blocklist)
            .await;
        self.csi.supported = features.others.iter().any(|f| f.is("csi", ns::CSI));
        self.csi.link_up = true;
        self.send_client_state().await;
        self.request(
            Iq::from_set(new_id(), tokio_xmpp::parsers::carbons::Enable),
            Purpose::Ignore,
        )
        .await;
        if let Some((availability, status)) = self.presence.clone() {
            self.send_presence(availability, status.as_deref()).await;
        }
        self.emit(SessionEvent::Usable {
            resumed: false,
            acks: self.acks,
        })
        .await;
    }

    async fn resumed(&mut self) {
        self.emit(SessionEvent::Connection(ConnectionState::Online {
            jid: self.account.to_string(),
            resumed: true,
            acks: true,
        }))
        .await;
        self.csi.link_up = true;
        self.send_client_state().await;
        self.emit(SessionEvent::Usable {
            resumed: true,
            acks: true,
        })
        .await;
    }

    async fn fetch_roster(&mut self) {
        let request = Iq::from_get(
            new_id(),
            Roster {
                ver: None,
                items: vec![],
            },
        );
        self.request(request, Purpose::Roster).await;
    }

    async fn handle_command(&mut self, command: SessionCommand) {
        match command {
            SessionCommand::Send(messages) => {
                for message in messages {
                    if self.in_flight.holds(&message.id) {
                        continue;
                    }
                    let token = self.send(convert::outgoing_stanza(&message)).await;
                    self.in_flight
                        .track(message.id, token, self.acks, self.events.clone());
                }
            }
            SessionCommand::Receipt { to, id } => {
                self.send(convert::receipt(to, &id)).await;
            }
            SessionCommand::SetPresence(availability, status) => {
                self.send_presence(availability, status.as_deref()).await;
                self.presence_to_rooms(availability, status.as_deref())
                    .await;
                self.presence = Some((availability, status));
            }
            SessionCommand::FetchRoster => self.fetch_roster().await,
            SessionCommand::AddContact(jid, name) => {
                self.request(convert::roster_set(jid.clone(), name), Purpose::Ignore)
                    .await;
                self.send(Presence::subscribe().with_to(jid)).await;
            }
            SessionCommand::AnswerSubscription(jid, approve) => {
                let answer = if approve {
                    Presence::subscribed()
                } else {
                    Presence::new(tokio_xmpp::parsers::presence::Type::Unsubscribed)
                };
                self.send(answer.with_to(jid)).await;
            }
            SessionCommand::CatchUp(from) => self.start_catch_up(None, from).await,
            SessionCommand::RoomCatchUp(room, from) => {
                self.start_catch_up(Some(room), from).await;
            }
            SessionCommand::JoinRoom {
                room,
                nick,
                password,
                create,
            } => self.join_room(room, nick, password, create).await,
            SessionCommand::LeaveRoom(room) => self.leave_room(room).await,
            SessionCommand::SendToRooms(messages) => self.send_to_rooms(messages).await,
            SessionCommand::FetchBookmarks => self.fetch_bookmarks().await,
            SessionCommand::Invite {
                room,
                to,
                reason,
                mediated,
            } => {
                self.send(crate::xmpp::muc::invite(
                    &room,
                    &to,
                    reason.as_deref(),
                    mediated,
                ))
                .await;
            }
            SessionCommand::Moderate { room, what, reason } => {
                let iq = crate::xmpp::muc::moderation(new_id(), &room, &what, reason.as_deref());
                self.request(iq, iq::Purpose::Moderate { room, what }).await;
            }
            SessionCommand::SetSubject { room, subject } => {
                self.send(crate::xmpp::muc::subject_stanza(&room, &subject))
                    .await;
            }
            SessionCommand::Decline { room, inviter } => {
                self.send(crate::xmpp::muc::decline(&room, &inviter)).await;
            }
            SessionCommand::PublishBookmark(bookmark) => self.publish_bookmark(bookmark).await,
            SessionCommand::PublishPushInfo(json) => {
                self.request(pep::publish(new_id(), &json), Purpose::PushPublish)
                    .await;
            }
            SessionCommand::RetractPushInfo => {
                self.request(pep::retract(new_id()), Purpose::PushRetract)
                    .await;
            }
            SessionCommand::FetchPushInfo(contact) => {
                let request = pep::fetch(new_id(), &contact);
                self.request(request, Purpose::PushFetch(contact)).await;
            }
            SessionCommand::ChatState(to, state) => {
                self.send(convert::chat_state_stanza(to, state)).await;
            }
            SessionCommand::Correct {
                to,
                id,
                replaces,
                body,
            } => {
                let token = self
                    .send(convert::correction_stanza(to, &id, &replaces, &body))
                    .await;
                self.in_flight
                    .track(id, token, self.acks, self.events.clone());
            }
            SessionCommand::Displayed(to, id) => {
                self.send(convert::displayed_stanza(to, &id)).await;
            }
            SessionCommand::RenameContact(jid, name, groups) => {
                self.request(convert::roster_update(jid, name, groups), Purpose::Ignore)
                    .await;
            }
            SessionCommand::RemoveContact(jid) => {
                self.request(convert::roster_remove(jid), Purpose::Ignore)
                    .await;
            }
            SessionCommand::Block(jid, blocked) => {
                let request = convert::block_request(new_id(), jid.clone(), blocked);
                self.request(request, Purpose::Block { jid, blocked }).await;
            }
            SessionCommand::ClientActive(active) => {
                self.csi.wanted = Some(active);
                self.send_client_state().await;
            }
            SessionCommand::SendSealed(messages) => self.send_sealed(messages).await,
            SessionCommand::OmemoFetchDeviceList(jid, profile) => {
                self.omemo_fetch_device_list(jid, profile).await;
            }
            SessionCommand::OmemoFetchBundle(jid, profile, device) => {
                self.omemo_fetch_bundle(jid, profile, device).await;
            }
            SessionCommand::OmemoPublishDeviceList(list) => {
                self.omemo_publish(Publication::DeviceList(list)).await;
            }
            SessionCommand::OmemoPublishBundle(device, bundle) => {
                self.omemo_publish(Publication::Bundle(device, *bundle))
                    .await;
            }
            SessionCommand::Close => {}
        }
    }

    /// Tells the server whether the user is looking (XEP-0352), if the
    /// front end said so and the server supports it. The nonza slips in
    /// beside tokio-xmpp's queue (see `nonza.rs`); a ping to our server
    /// makes the transport write it now rather than with the next stanza.
    async fn send_client_state(&mut self) {
        let Some(active) = self.csi.wanted else {
            return;
        };
        if !self.csi.link_up {
            return; // Sent when the stream is up again.
        }
        if !self.csi.supported {
            tracing::debug!(account = %self.account, "the server does not offer client state indication");
            return;
        }
        let xml = if active {
            "<active xmlns='urn:xmpp:csi:0'/>"
        } else {
            "<inactive xmlns='urn:xmpp:csi:0'/>"
        };
        self.nonzas.replace_pending(xml);
        let ping = Iq::from_get(new_id(), tokio_xmpp::parsers::ping::Ping)
            .with_to(Jid::from(self.account.domain().to_owned()));
        self.request(ping, Purpose::Ignore).await;
        tracing::debug!(account = %self.account, active, "client state sent");
    }

    async fn send_presence(&self, availability: Availability, status: Option<&str>) {
        let mut presence = convert::own_presence(availability, status);
        if availability.is_online()
            && let Some(caps) = disco::caps()
        {
            presence.add_payload(caps);
        }
        self.send(presence).await;
    }

    /// A stanza the stream read but could not use: too deep, too large or
    /// malformed. Logged once (never its content); a request gets an error
    /// so its sender is not left waiting; the stream goes on.
    async fn invalid_stanza(&mut self, invalid: tokio_xmpp::stanzastream::InvalidStanza) {
        tracing::warn!(
            account = %self.account,
            kind = invalid.kind,
            from = invalid.from.as_deref().unwrap_or("our server"),
            reason = %invalid.reason,
            "dropped a stanza that could not be read"
        );
        let is_request =
            invalid.kind == "iq" && matches!(invalid.type_.as_deref(), Some("get") | Some("set"));
        if let (true, Some(id)) = (is_request, invalid.id) {
            let to = invalid.from.and_then(|f| f.parse::<Jid>().ok());
            self.reply_error(
                to,
                id,
                tokio_xmpp::parsers::stanza_error::DefinedCondition::BadRequest,
            )
            .await;
        }
    }
}

/// A fresh random stanza id.
pub fn new_id() -> String {
    let bytes: [u8; 12] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use tokio_xmpp::minidom::Element;

    #[test]
    fn sm_failed_without_h_parses() {
        // Prosody 0.12 sends this when a stream cannot be resumed; see
        // vendor/README.md.
        let el: Element = "<failed xmlns='urn:xmpp:sm:3'><item-not-found \
             xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>"
            .parse()
            .expect("xml");
        let failed = tokio_xmpp::parsers::sm::Failed::try_from(el).expect("parses");
        assert_eq!(failed.h, None);
    }
}
