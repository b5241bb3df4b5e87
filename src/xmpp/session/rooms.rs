//! The rooms this stream is in (XEP-0045): joining, leaving, what rooms
//! say about their occupants, and their messages. The engine decides
//! which rooms to be in and stores what they say; a new stream starts with
//! none (the server forgot us), and the engine joins them again.

use std::time::{Duration, Instant};

use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::parsers::message::Message;
use tokio_xmpp::parsers::presence::Presence;

use super::{Session, SessionEvent};
use crate::model::{Availability, Departure, OccupantChange, OutgoingMessage, RoomRefusal};
use crate::xmpp::muc::{self, RoomMessageMeaning, RoomPresence};

/// One room we are in or entering on this stream.
#[derive(Debug, Clone)]
pub(super) struct RoomLink {
    nick: String,
    /// The room sent our own presence: we are in.
    joined: bool,
    /// We asked to leave: the room's goodbye ends the link.
    leaving: bool,
    password: Option<String>,
    /// When the room last said anything to us: a room silent for long is
    /// asked whether we are still in it (XEP-0410), since a room's server
    /// may drop us without a word (a restart, a lost link between servers).
    heard: Instant,
    pinging: bool,
    /// How to set the room up if our join creates it.
    create: Option<crate::model::RoomConfig>,
}

/// How long a room may be silent before we check we are still in it.
pub(super) const SELF_PING_AFTER: Duration = Duration::from_secs(15 * 60);

impl Session {
    pub(super) async fn join_room(
        &mut self,
        room: BareJid,
        nick: String,
        password: Option<String>,
        create: Option<crate::model::RoomConfig>,
    ) {
        let to = match muc::occupant_jid(&room, &nick) {
            Ok(to) => to,
            Err(e) => {
                self.emit(SessionEvent::RoomRefused {
                    room,
                    refusal: RoomRefusal::Other {
                        reason: e.to_string(),
                    },
                })
                .await;
                return;
            }
        };
        if self
            .rooms
            .get(&room)
            .is_some_and(|l| l.nick == nick && !l.leaving)
        {
            return;
        }
        let (availability, status) = self
            .presence
            .clone()
            .unwrap_or((Availability::Available, None));
        self.rooms.insert(
            room,
            RoomLink {
                nick,
                joined: false,
                leaving: false,
                password: password.clone(),
                heard: Instant::now(),
                pinging: false,
                create,
            },
        );
        self.send(muc::join_presence(
            to,
            password.as_deref(),
            availability,
            status.as_deref(),
        ))
        .await;
    }

    pub(super) async fn leave_room(&mut self, room: BareJid) {
        self.forget_room_catch_up(&room);
        let Some(link) = self.rooms.get_mut(&room) else {
            self.emit(SessionEvent::RoomLeft {
                room,
                departure: Departure::Left,
            })
            .await;
            return;
        };
        link.leaving = true;
        if let Ok(to) = muc::occupant_jid(&room, &link.nick) {
            self.send(muc::leave_presence(to)).await;
        }
    }

    /// Our messages to rooms we are in; one to a room we are not in waits
    /// with the engine, which hands it over once the room let us in.
    pub(super) async fn send_to_rooms(&mut self, messages: Vec<OutgoingMessage>) {
        for message in messages {
            if self.in_flight.holds(&message.id)
                || !self.rooms.get(&message.to).is_some_and(|l| l.joined)
            {
                continue;
            }
            let stanza = muc::groupchat_stanza(&message.to, &message.id, &message.body);
            let token = self.send(stanza).await;
            self.in_flight
                .track(message.id, token, self.acks, self.events.clone());
        }
    }

    /// Our presence goes to the rooms we are in too (XEP-0045 §7.7).
    pub(super) async fn presence_to_rooms(&self, availability: Availability, status: Option<&str>) {
        for (room, link) in self.rooms.iter().filter(|(_, l)| l.joined) {
            if let Ok(to) = muc::occupant_jid(room, &link.nick) {
                let mut presence = crate::xmpp::convert::own_presence(availability, status);
                presence.to = Some(Jid::from(to));
                self.send(presence).await;
            }
        }
    }

    /// Asks rooms silent for [`SELF_PING_AFTER`] whether we are still in
    /// them: a ping to our own occupant address (XEP-0410).
    pub(super) async fn self_ping_silent_rooms(&mut self, now: Instant) {
        let silent: Vec<(BareJid, String)> = self
            .rooms
            .iter_mut()
            .filter(|(_, l)| {
                l.joined && !l.pinging && now.duration_since(l.heard) >= SELF_PING_AFTER
            })
            .map(|(room, l)| {
                l.pinging = true;
                (room.clone(), l.nick.clone())
            })
            .collect();
        for (room, nick) in silent {
            let Ok(to) = muc::occupant_jid(&room, &nick) else {
                continue;
            };
            let ping = Iq::from_get(super::new_id(), tokio_xmpp::parsers::ping::Ping)
                .with_to(Jid::from(to));
            self.request(ping, super::iq::Purpose::SelfPing(room)).await;
        }
    }

    /// XEP-0410 §3: an answer, or an error the room (not our occupant
    /// address) gave, says whether we are still in.
    pub(super) async fn self_ping_answered(
        &mut self,
        room: BareJid,
        answer: Result<Option<Element>, tokio_xmpp::parsers::stanza_error::StanzaError>,
    ) {
        use tokio_xmpp::parsers::stanza_error::DefinedCondition as C;
        let Some(link) = self.rooms.get_mut(&room) else {
            return;
        };
        link.pinging = false;
        link.heard = Instant::now();
        let still_in = match &answer {
            Ok(_) => true,
            Err(e) => matches!(
                e.defined_condition,
                C::ServiceUnavailable
                    | C::FeatureNotImplemented
                    | C::RemoteServerNotFound
                    | C::RemoteServerTimeout
            ),
        };
        if still_in {
            return;
        }
        tracing::info!(account = %self.account, %room, "the room dropped us; joining again");
        let (nick, password) = (link.nick.clone(), link.password.clone());
        // Not in it as far as the room knows: enter again, and the engine
        // reads what we missed from the room's archive.
        self.rooms.remove(&room);
        self.forget_room_catch_up(&room);
        self.join_room(room, nick, password, None).await;
    }

    /// We are in a room: said, and the room asked what it is.
    pub(super) async fn entered(&mut self, joined: SessionEvent) {
        let SessionEvent::RoomJoined { room, .. } = &joined else {
            return;
        };
        let ask = muc::room_info_request(super::new_id(), room);
        let purpose = super::iq::Purpose::RoomInfo(room.clone());
        self.emit(joined).await;
        self.request(ask, purpose).await;
    }

    /// A new stream: rooms forgot us, and so do we.
    pub(super) fn rooms_reset(&mut self) {
        self.rooms.clear();
        self.room_catch_ups.clear();
    }

    /// Takes a presence if it comes from a room we are in or entering.
    pub(super) async fn room_presence_in(&mut self, presence: &Presence) -> bool {
        let Some(room) = presence.from.as_ref().map(Jid::to_bare) else {
            return false;
        };
        let Some(link) = self.rooms.get_mut(&room) else {
            return false;
        };
        link.heard = Instant::now();
        let link = link.clone();
        let Some(meaning) = muc::room_presence(presence, &room) else {
            return true;
        };
        match meaning {
            RoomPresence::Refused(refusal) => {
                if !link.joined {
                    self.rooms.remove(&room);
                }
                self.emit(SessionEvent::RoomRefused { room, refusal }).await;
            }
            RoomPresence::Occupant {
                occupant,
                change,
                own,
                created,
                nick_assigned,
            } => {
                // Servers that leave out status 110 still answer our join
                // under the nickname we asked for.
                let own = own || (!link.joined && occupant.nick == link.nick);
                if !own {
                    self.emit(SessionEvent::Occupant {
                        room,
                        occupant,
                        change,
                    })
                    .await;
                    return true;
                }
                match &change {
                    OccupantChange::Present => {
                        if let Some(l) = self.rooms.get_mut(&room) {
                            if nick_assigned || !l.joined {
                                l.nick = occupant.nick.clone();
                            }
                            if !l.joined {
                                l.joined = true;
                                let nick = l.nick.clone();
                                if created {
                                    // A room our join created stays locked
                                    // (others are told it does not exist)
                                    // until its owner configures it: we are
                                    // in once it is configured.
                                    let config = l.create.take();
                                    let iq = muc::new_room_configuration(
                                        super::new_id(),
                                        &room,
                                        config.as_ref(),
                                    );
                                    let purpose = super::iq::Purpose::RoomConfigure {
                                        room,
                                        nick: l.nick.clone(),
                                        role: occupant.role,
                                        affiliation: occupant.affiliation,
                                    };
                                    self.request(iq, purpose).await;
                                } else {
                                    self.entered(SessionEvent::RoomJoined {
                                        room: room.clone(),
                                        nick,
                                        created,
                                        role: occupant.role,
                                        affiliation: occupant.affiliation,
                                    })
                                    .await;
                                }
                            } else {
                                self.emit(SessionEvent::Standing {
                                    room: room.clone(),
                                    role: occupant.role,
                                    affiliation: occupant.affiliation,
                                })
                                .await;
                            }
                        }
                    }
                    OccupantChange::Renamed { new_nick } => {
                        if let Some(l) = self.rooms.get_mut(&room) {
                            l.nick = new_nick.clone();
                        }
                    }
                    OccupantChange::Gone(departure) => {
                        self.rooms.remove(&room);
                        self.forget_room_catch_up(&room);
                        self.emit(SessionEvent::RoomLeft {
                            room: room.clone(),
                            departure: departure.clone(),
                        })
                        .await;
                        return true;
                    }
                }
            }
        }
        true
    }

    /// Takes a groupchat message from a room we are in. Private messages
    /// from occupants are not taken here: they are one-to-one chats.
    pub(super) async fn room_message_in(&mut self, message: &Message) -> bool {
        let Some(room) = message.from.as_ref().map(Jid::to_bare) else {
            return false;
        };
        let Some(link) = self.rooms.get_mut(&room) else {
            return false;
        };
        link.heard = Instant::now();
        match muc::room_message(message, &room, None) {
            Some(RoomMessageMeaning::Message(m)) => {
                self.emit(SessionEvent::RoomMessage(m)).await;
                true
            }
            Some(RoomMessageMeaning::Subject { subject, by }) => {
                self.emit(SessionEvent::RoomSubject { room, subject, by })
                    .await;
                true
            }
            None => false,
        }
    }
}
