//! Multi-user chat (XEP-0045) stanzas to Sotto's model and back, without
//! I/O. Rooms are other people's servers: everything here is read
//! leniently (an unknown status code is not a reason to drop a presence)
//! and trusted only as far as the room's own address vouches for it.

use tokio_xmpp::Stanza;
use tokio_xmpp::jid::{BareJid, FullJid, Jid, ResourcePart};
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::message::Id as MessageId;
use tokio_xmpp::parsers::message::{Lang, Message, MessageType};
use tokio_xmpp::parsers::muc::Muc;
use tokio_xmpp::parsers::muc::muc::History;
use tokio_xmpp::parsers::ns;
use tokio_xmpp::parsers::presence::{Presence, Show, Type as PresenceType};
use tokio_xmpp::parsers::stanza_id::{OriginId, StanzaId};

use crate::model::{
    Affiliation, Availability, Departure, Occupant, OccupantChange, Role, RoomMessage, RoomRefusal,
    Stamp,
};

/// XEP-0045 status codes Sotto acts on.
mod status {
    pub const SELF: u16 = 110;
    pub const CREATED: u16 = 201;
    pub const NICK_ASSIGNED: u16 = 210;
    pub const BANNED: u16 = 301;
    pub const NEW_NICK: u16 = 303;
    pub const KICKED: u16 = 307;
    pub const AFFILIATION_CHANGED: u16 = 321;
    pub const MEMBERS_ONLY: u16 = 322;
    pub const SHUTDOWN: u16 = 332;
    pub const TECHNICAL: u16 = 333;
}

/// The longest nickname Sotto accepts or shows; a room may allow more,
/// but nobody reads a nickname longer than a line.
pub const MAX_NICK_CHARS: usize = 64;

/// Why a room address or nickname cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NickError {
    #[error("a nickname cannot be empty")]
    Empty,
    #[error("a nickname can have at most {MAX_NICK_CHARS} characters")]
    TooLong,
    #[error("that nickname cannot be used in a room address")]
    Invalid,
}

/// Our occupant address in `room` under `nick`, checked.
pub fn occupant_jid(room: &BareJid, nick: &str) -> Result<FullJid, NickError> {
    if nick.trim().is_empty() {
        return Err(NickError::Empty);
    }
    if nick.chars().count() > MAX_NICK_CHARS {
        return Err(NickError::TooLong);
    }
    let resource = ResourcePart::new(nick).map_err(|_| NickError::Invalid)?;
    Ok(room.with_resource(&resource))
}

/// Entering a room: no history replayed (the room's archive is read
/// instead, from where we left off), our presence as it is elsewhere.
pub fn join_presence(
    to: FullJid,
    password: Option<&str>,
    availability: Availability,
    status: Option<&str>,
) -> Presence {
    let mut muc = Muc::new().with_history(History::new().with_maxstanzas(0));
    if let Some(password) = password {
        muc = muc.with_password(password.to_owned());
    }
    let mut presence = super::convert::own_presence(availability, status);
    presence.to = Some(Jid::from(to));
    presence.with_payload(muc)
}

pub fn leave_presence(to: FullJid) -> Presence {
    Presence::new(PresenceType::Unavailable).with_to(Jid::from(to))
}

/// A message to the room; its id doubles as its origin-id, by which the
/// room's reflection of it is known as ours.
pub fn groupchat_stanza(room: &BareJid, id: &str, body: &str) -> Stanza {
    let mut stanza = Message::groupchat(Some(Jid::from(room.clone())))
        .with_body(Lang::new(), body.to_owned())
        .with_payload(OriginId { id: id.to_owned() });
    stanza.id = Some(MessageId(id.to_owned()));
    stanza.into()
}

/// The configuration a room we created gets. It always stays when
/// everyone has left (a room someone made on purpose should not vanish
/// with its history when they close the app); with `config` (`sotto room
/// create`), it gets its name and description and is a private group or
/// a public room; without (a join that happened to create it), the rest
/// is the service's default.
pub fn new_room_configuration(
    id: String,
    room: &BareJid,
    config: Option<&crate::model::RoomConfig>,
) -> tokio_xmpp::parsers::iq::Iq {
    use tokio_xmpp::parsers::data_forms::{DataForm, DataFormType, Field, FieldType};
    let flag = |var: &str, on: bool| {
        Field::new(var, FieldType::Boolean).with_value(if on { "1" } else { "0" })
    };
    let mut fields = vec![flag("muc#roomconfig_persistentroom", true)];
    if let Some(config) = config {
        if let Some(name) = &config.name {
            fields.push(Field::text_single("muc#roomconfig_roomname", name));
        }
        if let Some(description) = &config.description {
            fields.push(Field::text_single("muc#roomconfig_roomdesc", description));
        }
        fields.push(flag("muc#roomconfig_membersonly", config.private));
        fields.push(flag("muc#roomconfig_publicroom", !config.private));
        fields.push(flag("muc#roomconfig_allowinvites", config.private));
        fields.push(
            Field::new("muc#roomconfig_whois", FieldType::ListSingle).with_value(
                if config.private {
                    "anyone"
                } else {
                    "moderators"
                },
            ),
        );
    }
    let form = DataForm::new(
        DataFormType::Submit,
        "http://jabber.org/protocol/muc#roomconfig",
        fields,
    );
    let query = Element::builder("query", MUC_OWNER)
        .append(Element::from(form))
        .build();
    tokio_xmpp::parsers::iq::Iq::Set {
        from: None,
        to: Some(Jid::from(room.clone())),
        id,
        payload: query,
    }
}

const MUC_OWNER: &str = "http://jabber.org/protocol/muc#owner";

/// What a room says of itself, asked of it on entering.
pub fn room_info_request(id: String, room: &BareJid) -> tokio_xmpp::parsers::iq::Iq {
    tokio_xmpp::parsers::iq::Iq::from_get(
        id,
        tokio_xmpp::parsers::disco::DiscoInfoQuery { node: None },
    )
    .with_to(Jid::from(room.clone()))
}

/// Reads a room's disco#info answer, by hand: a room's extra form fields
/// are not ours to refuse over.
pub fn room_info(payload: &Element) -> Option<crate::model::RoomInfo> {
    if !payload.is("query", ns::DISCO_INFO) {
        return None;
    }
    let features: Vec<&str> = payload
        .children()
        .filter(|c| c.is("feature", ns::DISCO_INFO))
        .filter_map(|c| c.attr("var"))
        .collect();
    let has = |f: &str| features.contains(&f);
    let name = payload
        .children()
        .find(|c| c.is("identity", ns::DISCO_INFO) && c.attr("category") == Some("conference"))
        .and_then(|c| c.attr("name"))
        .map(|n| n.trim().chars().take(200).collect::<String>())
        .filter(|n| !n.is_empty());
    Some(crate::model::RoomInfo {
        name,
        members_only: has("muc_membersonly"),
        non_anonymous: has("muc_nonanonymous"),
        persistent: has("muc_persistent"),
        public: has("muc_public"),
        password_protected: has("muc_passwordprotected"),
    })
}

const MUC_ADMIN: &str = "http://jabber.org/protocol/muc#admin";

/// A moderator's (or admin's) request to the room (XEP-0045 §8.2, §8.4,
/// §8.5, §9.1).
pub fn moderation(
    id: String,
    room: &BareJid,
    what: &crate::model::Moderation,
    reason: Option<&str>,
) -> tokio_xmpp::parsers::iq::Iq {
    use crate::model::Moderation;
    use tokio_xmpp::minidom::rxml::xml_ncname;
    let item = Element::builder("item", MUC_ADMIN);
    let item = match what {
        Moderation::Kick { nick } => item
            .attr(xml_ncname!("nick").into(), nick.as_str())
            .attr(xml_ncname!("role").into(), "none"),
        Moderation::Voice { nick, granted } => {
            item.attr(xml_ncname!("nick").into(), nick.as_str()).attr(
                xml_ncname!("role").into(),
                if *granted { "participant" } else { "visitor" },
            )
        }
        Moderation::Ban { jid } => item
            .attr(xml_ncname!("jid").into(), jid.to_string())
            .attr(xml_ncname!("affiliation").into(), "outcast"),
    };
    let item = match reason {
        Some(reason) => item.append(Element::builder("reason", MUC_ADMIN).append(reason).build()),
        None => item,
    };
    tokio_xmpp::parsers::iq::Iq::Set {
        from: None,
        to: Some(Jid::from(room.clone())),
        id,
        payload: Element::builder("query", MUC_ADMIN)
            .append(item.build())
            .build(),
    }
}

/// A new subject for the room (XEP-0045 §8.1): a message with a subject
/// and no body.
pub fn subject_stanza(room: &BareJid, subject: &str) -> Stanza {
    let mut message = Message::groupchat(Some(Jid::from(room.clone())));
    message.id = Some(MessageId(super::new_id()));
    message.subjects.insert(Lang::new(), subject.to_owned());
    message.into()
}

/// XEP-0249's namespace.
const CONFERENCE: &str = "jabber:x:conference";

/// The longest subject kept: a room's subject is a line or a paragraph,
/// and anything longer is cut where it would be read.
const MAX_SUBJECT_CHARS: usize = 2000;

fn subject_text(subject: &str) -> Option<String> {
    let subject: String = subject.trim().chars().take(MAX_SUBJECT_CHARS).collect();
    (!subject.is_empty()).then_some(subject)
}

/// Reasons and other words a room relays, trimmed and cut to a length
/// anyone reads.
fn short(text: String) -> Option<String> {
    let text: String = text.trim().chars().take(500).collect();
    (!text.is_empty()).then_some(text)
}

/// An invitation this message carries, direct (XEP-0249) or passed on by
/// the room (XEP-0045 §7.8.2). A room's own invitation names the room as
/// its sender; anyone can claim to invite us to any room, so nothing here
/// is acted on without the person.
pub fn invitation(message: &Message) -> Option<crate::model::Invitation> {
    if message.type_ == MessageType::Groupchat || message.type_ == MessageType::Error {
        return None;
    }
    let from = message.from.as_ref()?;
    for payload in &message.payloads {
        if payload.is("x", CONFERENCE) {
            let room: BareJid = payload.attr("jid")?.parse().ok()?;
            room.node()?;
            return Some(crate::model::Invitation {
                room,
                from: Jid::from(from.to_bare()),
                reason: payload.attr("reason").and_then(|r| short(r.to_owned())),
                password: payload.attr("password").map(str::to_owned),
                mediated: false,
            });
        }
        if payload.is("x", ns::MUC_USER)
            && let Some(invite) = payload.get_child("invite", ns::MUC_USER)
        {
            // Passed on by the room: it comes from the room's address.
            if from.resource().is_some() {
                return None;
            }
            let inviter: Jid = invite.attr("from")?.parse().ok()?;
            return Some(crate::model::Invitation {
                room: from.to_bare(),
                from: inviter,
                reason: invite
                    .get_child("reason", ns::MUC_USER)
                    .and_then(|r| short(r.text())),
                password: payload
                    .get_child("password", ns::MUC_USER)
                    .map(|p| p.text()),
                mediated: true,
            });
        }
    }
    None
}

/// Our invitation of `to` into `room`: through the room (which lets them
/// into a members-only room), or directly (XEP-0249).
pub fn invite(room: &BareJid, to: &BareJid, reason: Option<&str>, mediated: bool) -> Stanza {
    if mediated {
        let mut invite = Element::builder("invite", ns::MUC_USER).attr(
            tokio_xmpp::minidom::rxml::xml_ncname!("to").into(),
            to.to_string(),
        );
        if let Some(reason) = reason {
            invite = invite.append(
                Element::builder("reason", ns::MUC_USER)
                    .append(reason)
                    .build(),
            );
        }
        let x = Element::builder("x", ns::MUC_USER)
            .append(invite.build())
            .build();
        with_element(Message::new(Some(Jid::from(room.clone()))), x)
    } else {
        let mut x = Element::builder("x", CONFERENCE).attr(
            tokio_xmpp::minidom::rxml::xml_ncname!("jid").into(),
            room.to_string(),
        );
        if let Some(reason) = reason {
            x = x.attr(
                tokio_xmpp::minidom::rxml::xml_ncname!("reason").into(),
                reason,
            );
        }
        with_element(Message::new(Some(Jid::from(to.clone()))), x.build())
    }
}

/// Declining an invitation the room passed on (XEP-0045 §7.8.2).
pub fn decline(room: &BareJid, inviter: &Jid) -> Stanza {
    let decline = Element::builder("decline", ns::MUC_USER)
        .attr(
            tokio_xmpp::minidom::rxml::xml_ncname!("to").into(),
            inviter.to_string(),
        )
        .build();
    let x = Element::builder("x", ns::MUC_USER).append(decline).build();
    with_element(Message::new(Some(Jid::from(room.clone()))), x)
}

/// A `normal` message (xmpp-parsers makes `chat` ones, which a room takes
/// for a private message and refuses) carrying `payload`.
fn with_element(mut message: Message, payload: Element) -> Stanza {
    message.type_ = MessageType::Normal;
    message.id = Some(MessageId(super::new_id()));
    message.payloads.push(payload);
    message.into()
}

/// What a presence from a room says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomPresence {
    /// About one occupant (`own`: about us).
    Occupant {
        occupant: Occupant,
        change: OccupantChange,
        own: bool,
        /// Our presence created the room (status 201).
        created: bool,
        /// The room changed the nickname we asked for (status 210).
        nick_assigned: bool,
    },
    /// The room would not let us in (or refused a nickname change).
    Refused(RoomRefusal),
}

/// Reads a presence from `room`. `None`: not from an occupant of it.
pub fn room_presence(presence: &Presence, room: &BareJid) -> Option<RoomPresence> {
    let from = presence.from.as_ref()?;
    if from.to_bare() != *room {
        return None;
    }
    if presence.type_ == PresenceType::Error {
        let error = presence.payloads.iter().find(|p| p.name() == "error");
        return Some(RoomPresence::Refused(error.map_or(
            RoomRefusal::Other {
                reason: "the room refused without saying why".into(),
            },
            refusal_of,
        )));
    }
    let nick = from.resource()?.as_str().to_owned();
    let x = presence.payloads.iter().find(|p| p.is("x", ns::MUC_USER));
    let codes: Vec<u16> = x
        .into_iter()
        .flat_map(|x| x.children())
        .filter(|c| c.is("status", ns::MUC_USER))
        .filter_map(|c| c.attr("code")?.parse().ok())
        .collect();
    let item = x.and_then(|x| x.get_child("item", ns::MUC_USER));
    let attr = |name: &'static str| item.and_then(move |i| i.attr(name));
    let has = |code: u16| codes.contains(&code);
    let availability = match presence.type_ {
        PresenceType::Unavailable => Availability::Unavailable,
        _ => match presence.show {
            None => Availability::Available,
            Some(Show::Chat) => Availability::Chat,
            Some(Show::Away) => Availability::Away,
            Some(Show::Xa) => Availability::ExtendedAway,
            Some(Show::Dnd) => Availability::DoNotDisturb,
        },
    };
    let occupant = Occupant {
        nick: capped_nick(&nick),
        jid: attr("jid")
            .and_then(|j| j.parse::<Jid>().ok())
            .map(|j| j.to_bare()),
        role: role_of(attr("role")),
        affiliation: affiliation_of(attr("affiliation")),
        availability,
    };
    let actor = item
        .and_then(|i| i.get_child("actor", ns::MUC_USER))
        .and_then(|a| a.attr("nick"))
        .map(capped_nick);
    let reason = item
        .and_then(|i| i.get_child("reason", ns::MUC_USER))
        .and_then(|r| short(r.text()));
    let change = if availability != Availability::Unavailable {
        OccupantChange::Present
    } else if has(status::NEW_NICK)
        && let Some(new_nick) = attr("nick").filter(|n| !n.is_empty())
    {
        OccupantChange::Renamed {
            new_nick: capped_nick(new_nick),
        }
    } else if let Some(destroy) = x.and_then(|x| x.get_child("destroy", ns::MUC_USER)) {
        OccupantChange::Gone(Departure::Destroyed {
            reason: destroy
                .get_child("reason", ns::MUC_USER)
                .and_then(|r| short(r.text())),
        })
    } else if has(status::BANNED) {
        OccupantChange::Gone(Departure::Banned { by: actor, reason })
    } else if has(status::KICKED) || has(status::TECHNICAL) {
        OccupantChange::Gone(Departure::Kicked { by: actor, reason })
    } else if has(status::AFFILIATION_CHANGED) || has(status::MEMBERS_ONLY) {
        OccupantChange::Gone(Departure::Removed)
    } else if has(status::SHUTDOWN) {
        OccupantChange::Gone(Departure::Shutdown)
    } else {
        OccupantChange::Gone(Departure::Left)
    };
    Some(RoomPresence::Occupant {
        occupant,
        change,
        own: has(status::SELF),
        created: has(status::CREATED),
        nick_assigned: has(status::NICK_ASSIGNED),
    })
}

fn capped_nick(nick: &str) -> String {
    nick.chars().take(MAX_NICK_CHARS).collect()
}

fn role_of(role: Option<&str>) -> Role {
    match role {
        Some("moderator") => Role::Moderator,
        Some("participant") => Role::Participant,
        Some("visitor") => Role::Visitor,
        _ => Role::None,
    }
}

fn affiliation_of(affiliation: Option<&str>) -> Affiliation {
    match affiliation {
        Some("owner") => Affiliation::Owner,
        Some("admin") => Affiliation::Admin,
        Some("member") => Affiliation::Member,
        Some("outcast") => Affiliation::Outcast,
        _ => Affiliation::None,
    }
}

/// A room's error, as XEP-0045 §7.2 gives its conditions.
fn refusal_of(error: &Element) -> RoomRefusal {
    let condition = error
        .children()
        .find(|c| c.ns() == ns::XMPP_STANZAS && c.name() != "text")
        .map(|c| c.name().to_owned());
    match condition.as_deref() {
        Some("conflict") => RoomRefusal::NicknameTaken,
        Some("not-authorized") => RoomRefusal::PasswordRequired,
        Some("registration-required") => RoomRefusal::MembersOnly,
        Some("forbidden") => RoomRefusal::Banned,
        Some("item-not-found") | Some("remote-server-not-found") => RoomRefusal::NotFound,
        Some("service-unavailable") => RoomRefusal::Full,
        _ => {
            let text = error
                .get_child("text", ns::XMPP_STANZAS)
                .map(|t| t.text().chars().take(200).collect::<String>())
                .filter(|t| !t.trim().is_empty());
            RoomRefusal::Other {
                reason: text.unwrap_or_else(|| match condition {
                    Some(c) => format!("the room refused ({c})"),
                    None => "the room refused without saying why".into(),
                }),
            }
        }
    }
}

/// What a `groupchat` message from a room says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomMessageMeaning {
    Message(RoomMessage),
    /// The room's subject changed, or was told on joining; `None`: cleared.
    Subject {
        subject: Option<String>,
        by: Option<String>,
    },
}

/// Reads a groupchat message from `room` (live, or inside the room's
/// archive with the archive's `stanza_id` and `stamp`).
pub fn room_message(
    message: &Message,
    room: &BareJid,
    archive: Option<(String, Option<Stamp>)>,
) -> Option<RoomMessageMeaning> {
    if message.type_ != MessageType::Groupchat {
        return None;
    }
    let from = message.from.as_ref()?;
    if from.to_bare() != *room {
        return None;
    }
    let nick = from.resource().map(|r| capped_nick(r.as_str()));
    let body = message.get_best_body(vec![]).map(|(_, b)| b.clone());
    if body.is_none()
        && let Some((_, subject)) = message.get_best_subject(vec![])
    {
        // A subject without a body (XEP-0045 §8.1); a message with both is
        // a message.
        return Some(RoomMessageMeaning::Subject {
            subject: subject_text(subject),
            by: nick,
        });
    }
    if body.is_none() && message.payloads.iter().any(|p| p.name() == "subject") {
        return Some(RoomMessageMeaning::Subject {
            subject: None,
            by: nick,
        });
    }
    // Messages from the room itself (no nickname) are notices, shown
    // under the room's name.
    let body = body?;
    let mut origin_id = None;
    let mut stanza_id = archive.as_ref().map(|(id, _)| id.clone());
    let mut delayed = None;
    let mut replaces = None;
    let mut real_jid = None;
    for payload in &message.payloads {
        if payload.is("origin-id", ns::SID) {
            origin_id = OriginId::try_from(payload.clone()).ok().map(|o| o.id);
        } else if payload.is("stanza-id", ns::SID) && stanza_id.is_none() {
            // Only the room's own stamp identifies its copy (XEP-0359 §4).
            if let Ok(sid) = StanzaId::try_from(payload.clone())
                && sid.by.to_bare() == *room
            {
                stanza_id = Some(sid.id);
            }
        } else if payload.is("delay", ns::DELAY) {
            // The room's own stamp on history it hands out.
            let by_room = payload
                .attr("from")
                .and_then(|f| f.parse::<Jid>().ok())
                .is_some_and(|f| f.to_bare() == *room && f.resource().is_none());
            if by_room {
                delayed = super::convert::stamp_of(payload);
            }
        } else if payload.is("replace", ns::MESSAGE_CORRECT) {
            replaces = payload
                .attr("id")
                .filter(|id| !id.is_empty())
                .map(str::to_owned);
        } else if payload.is("x", ns::MUC_USER) {
            // The real address, as a non-anonymous room (or its archive)
            // shows it.
            real_jid = payload
                .get_child("item", ns::MUC_USER)
                .and_then(|i| i.attr("jid"))
                .and_then(|j| j.parse::<Jid>().ok())
                .map(|j| j.to_bare());
        }
    }
    Some(RoomMessageMeaning::Message(RoomMessage {
        room: room.clone(),
        nick: nick.unwrap_or_default(),
        real_jid,
        body,
        id: message.id.as_ref().map(|id| id.0.clone()),
        origin_id,
        stanza_id,
        sent_at: archive.and_then(|(_, stamp)| stamp).or(delayed),
        replaces,
    }))
}

/// A result of our query `query_id` to `room`'s archive: its message, if
/// it is one (subjects and other stanzas are counted, not kept).
pub fn room_archive_result(
    message: &Message,
    room: &BareJid,
    query_id: &str,
) -> Option<Option<RoomMessage>> {
    // Results come from the room itself, never from one of its occupants.
    let from = message.from.as_ref()?;
    if from.to_bare() != *room || from.resource().is_some() {
        return None;
    }
    let (id, archived, stamp) = super::convert::mam_result(message, query_id)?;
    let found = room_message(&archived, room, Some((id, stamp)));
    Some(match found {
        Some(RoomMessageMeaning::Message(m)) => Some(m),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room() -> BareJid {
        "tea@conference.x".parse().expect("jid")
    }

    fn presence(xml: &str) -> Presence {
        let el: Element = xml.parse().expect("xml");
        Presence::try_from(el).expect("presence")
    }

    fn message(xml: &str) -> Message {
        let el: Element = xml.parse().expect("xml");
        Message::try_from(el).expect("message")
    }

    #[test]
    fn our_own_presence_says_so_and_unknown_codes_do_not_hide_it() {
        let p = presence(
            "<presence xmlns='jabber:client' from='tea@conference.x/me'>\
             <x xmlns='http://jabber.org/protocol/muc#user'>\
             <item affiliation='owner' role='moderator' jid='me@x/laptop'/>\
             <status code='110'/><status code='201'/><status code='999'/></x></presence>",
        );
        let Some(RoomPresence::Occupant {
            occupant,
            change,
            own,
            created,
            ..
        }) = room_presence(&p, &room())
        else {
            panic!("an occupant");
        };
        assert!(own && created);
        assert_eq!(change, OccupantChange::Present);
        assert_eq!(occupant.nick, "me");
        assert_eq!(occupant.role, Role::Moderator);
        assert_eq!(occupant.affiliation, Affiliation::Owner);
        assert_eq!(occupant.jid, Some("me@x".parse().expect("jid")));
    }

    #[test]
    fn kicks_bans_and_renames_are_told_apart() {
        let kicked = presence(
            "<presence xmlns='jabber:client' from='tea@conference.x/bob' type='unavailable'>\
             <x xmlns='http://jabber.org/protocol/muc#user'>\
             <item affiliation='none' role='none'><actor nick='alice'/><reason>spam</reason></item>\
             <status code='307'/></x></presence>",
        );
        let Some(RoomPresence::Occupant { change, .. }) = room_presence(&kicked, &room()) else {
            panic!("an occupant");
        };
        assert_eq!(
            change,
            OccupantChange::Gone(Departure::Kicked {
                by: Some("alice".into()),
                reason: Some("spam".into())
            })
        );
        let renamed = presence(
            "<presence xmlns='jabber:client' from='tea@conference.x/bob' type='unavailable'>\
             <x xmlns='http://jabber.org/protocol/muc#user'>\
             <item affiliation='none' role='participant' nick='robert'/>\
             <status code='303'/></x></presence>",
        );
        let Some(RoomPresence::Occupant { change, .. }) = room_presence(&renamed, &room()) else {
            panic!("an occupant");
        };
        assert_eq!(
            change,
            OccupantChange::Renamed {
                new_nick: "robert".into()
            }
        );
        let other_room =
            presence("<presence xmlns='jabber:client' from='other@conference.x/bob'/>");
        assert_eq!(room_presence(&other_room, &room()), None);
    }

    #[test]
    fn refusals_are_named() {
        let taken = presence(
            "<presence xmlns='jabber:client' from='tea@conference.x/me' type='error'>\
             <error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>\
             </presence>",
        );
        assert_eq!(
            room_presence(&taken, &room()),
            Some(RoomPresence::Refused(RoomRefusal::NicknameTaken))
        );
        let odd = presence(
            "<presence xmlns='jabber:client' from='tea@conference.x/me' type='error'>\
             <error type='cancel'><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
             <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Be nice</text></error></presence>",
        );
        assert_eq!(
            room_presence(&odd, &room()),
            Some(RoomPresence::Refused(RoomRefusal::Other {
                reason: "Be nice".into()
            }))
        );
    }

    #[test]
    fn only_the_rooms_own_stanza_id_counts() {
        let m = message(
            "<message xmlns='jabber:client' from='tea@conference.x/bob' type='groupchat' id='w1'>\
             <body>hi</body><origin-id xmlns='urn:xmpp:sid:0' id='o1'/>\
             <stanza-id xmlns='urn:xmpp:sid:0' by='bob@x' id='forged'/>\
             <stanza-id xmlns='urn:xmpp:sid:0' by='tea@conference.x' id='r1'/></message>",
        );
        let Some(RoomMessageMeaning::Message(m)) = room_message(&m, &room(), None) else {
            panic!("a message");
        };
        assert_eq!(m.nick, "bob");
        assert_eq!(m.stanza_id.as_deref(), Some("r1"));
        assert_eq!(m.origin_id.as_deref(), Some("o1"));
        assert_eq!(m.id.as_deref(), Some("w1"));
    }

    #[test]
    fn subjects_are_not_messages() {
        let m = message(
            "<message xmlns='jabber:client' from='tea@conference.x/alice' type='groupchat'>\
             <subject>Tea time</subject></message>",
        );
        assert_eq!(
            room_message(&m, &room(), None),
            Some(RoomMessageMeaning::Subject {
                subject: Some("Tea time".into()),
                by: Some("alice".into())
            })
        );
        // A room's subject is a line or a paragraph, not a book.
        let long = message(&format!(
            "<message xmlns='jabber:client' from='tea@conference.x/alice' type='groupchat'>\
             <subject>{}</subject></message>",
            "x".repeat(5000)
        ));
        let Some(RoomMessageMeaning::Subject {
            subject: Some(cut), ..
        }) = room_message(&long, &room(), None)
        else {
            panic!("a subject");
        };
        assert_eq!(cut.chars().count(), MAX_SUBJECT_CHARS);
        let chat = message(
            "<message xmlns='jabber:client' from='tea@conference.x/alice' type='chat'><body>pm</body></message>",
        );
        assert_eq!(room_message(&chat, &room(), None), None);
    }

    #[test]
    fn archive_results_come_from_the_room_itself() {
        let xml = "<message xmlns='jabber:client' from='tea@conference.x' to='me@x/laptop'>\
             <result xmlns='urn:xmpp:mam:2' queryid='q1' id='A7'>\
             <forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:00Z'/>\
             <message xmlns='jabber:client' from='tea@conference.x/bob' type='groupchat'><body>old</body></message>\
             </forwarded></result></message>";
        let m = message(xml);
        let found = room_archive_result(&m, &room(), "q1")
            .expect("ours")
            .expect("a message");
        assert_eq!(found.stanza_id.as_deref(), Some("A7"));
        assert_eq!(found.nick, "bob");
        assert_eq!(found.sent_at.map(|s| s.ms), Some(1_767_225_600_000));
        assert!(room_archive_result(&m, &room(), "q2").is_none());
        let forged =
            message(&xml.replace("from='tea@conference.x' ", "from='tea@conference.x/bob' "));
        assert!(room_archive_result(&forged, &room(), "q1").is_none());
    }

    #[test]
    fn a_rooms_description_of_itself_is_read() {
        let answer: Element = "<query xmlns='http://jabber.org/protocol/disco#info'>\
             <identity category='conference' type='text' name='Tea room'/>\
             <feature var='http://jabber.org/protocol/muc'/><feature var='muc_membersonly'/>\
             <feature var='muc_nonanonymous'/><feature var='muc_persistent'/>\
             <x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'>\
             <value>http://jabber.org/protocol/muc#roominfo</value></field>\
             <field var='muc#roominfo_odd'><value>?</value></field></x></query>"
            .parse()
            .expect("xml");
        let info = room_info(&answer).expect("info");
        assert_eq!(info.name.as_deref(), Some("Tea room"));
        assert!(info.members_only && info.non_anonymous && info.persistent);
        assert!(!info.public);
    }

    #[test]
    fn invitations_of_both_kinds_are_read_and_written() {
        let direct = message(
            "<message xmlns='jabber:client' from='bob@x/phone'><x xmlns='jabber:x:conference' \
             jid='tea@conference.x' reason='Tea?' password='pw'/></message>",
        );
        let got = invitation(&direct).expect("direct");
        assert_eq!(
            (got.room.as_str(), got.from.to_string().as_str()),
            ("tea@conference.x", "bob@x")
        );
        assert_eq!(got.reason.as_deref(), Some("Tea?"));
        assert!(!got.mediated);
        let mediated = message(
            "<message xmlns='jabber:client' from='tea@conference.x'>\
             <x xmlns='http://jabber.org/protocol/muc#user'><invite from='bob@x/phone'>\
             <reason>Tea?</reason></invite><password>pw</password></x></message>",
        );
        let got = invitation(&mediated).expect("mediated");
        assert_eq!(got.room.as_str(), "tea@conference.x");
        assert_eq!(got.from.to_string(), "bob@x/phone");
        assert_eq!(got.password.as_deref(), Some("pw"));
        assert!(got.mediated);
        // An occupant cannot pass one on as if it were the room.
        let forged = message(
            "<message xmlns='jabber:client' from='tea@conference.x/eve'>\
             <x xmlns='http://jabber.org/protocol/muc#user'><invite from='bob@x'/></x></message>",
        );
        assert_eq!(invitation(&forged), None);
        // What we send says what we meant.
        let ann: BareJid = "ann@x".parse().expect("jid");
        let direct: Element = invite(&room(), &ann, Some("Hi"), false).into();
        assert_eq!(direct.attr("to"), Some("ann@x"));
        let x = direct.get_child("x", CONFERENCE).expect("x");
        assert_eq!(
            (x.attr("jid"), x.attr("reason")),
            (Some("tea@conference.x"), Some("Hi"))
        );
        let passed: Element = invite(&room(), &ann, Some("Hi"), true).into();
        assert_eq!(passed.attr("to"), Some("tea@conference.x"));
        let inv = passed
            .get_child("x", ns::MUC_USER)
            .and_then(|x| x.get_child("invite", ns::MUC_USER))
            .expect("invite");
        assert_eq!(inv.attr("to"), Some("ann@x"));
        assert_eq!(
            inv.get_child("reason", ns::MUC_USER)
                .map(|r| r.text())
                .as_deref(),
            Some("Hi")
        );
    }

    #[test]
    fn nicknames_are_checked() {
        assert_eq!(occupant_jid(&room(), " "), Err(NickError::Empty));
        assert_eq!(
            occupant_jid(&room(), &"n".repeat(65)),
            Err(NickError::TooLong)
        );
        assert_eq!(
            occupant_jid(&room(), "me").expect("ok").to_string(),
            "tea@conference.x/me"
        );
    }
}
