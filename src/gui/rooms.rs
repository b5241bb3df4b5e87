//! What the window knows about the accounts' rooms (group chats), from the
//! store and the engine's events. Pure data: no iced, no I/O.

use std::collections::BTreeMap;

use sotto::engine::Event;
use sotto::model::{Affiliation, Departure, Occupant, OccupantChange, Role};
use sotto::store::{RoomNotify, StoredRoom};

use super::people::{Key, People};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomState {
    /// The room's name, when it has one.
    pub name: Option<String>,
    pub subject: Option<String>,
    /// The nickname the room gave us; `None`: not in it now.
    pub joined_as: Option<String>,
    /// The nickname we ask for.
    pub nick: String,
    /// Entered at every login (false once left).
    pub autojoin: bool,
    pub notify: RoomNotify,
    /// Members only and non-anonymous: a private group.
    pub private: bool,
    /// Our standing there (what we may do), while we are in.
    pub role: Role,
    pub affiliation: Affiliation,
    /// Everyone else in the room, by nickname.
    pub occupants: BTreeMap<String, Occupant>,
    /// Why the room would not let us in, or put us out.
    pub problem: Option<String>,
}

impl RoomState {
    fn from_stored(room: &StoredRoom) -> Self {
        Self {
            name: room.name.clone(),
            subject: room.subject.clone(),
            joined_as: None,
            nick: room.nick.clone(),
            autojoin: room.autojoin,
            notify: room.notify,
            private: room.members_only && room.non_anonymous,
            role: Role::None,
            affiliation: Affiliation::None,
            occupants: BTreeMap::new(),
            problem: None,
        }
    }

    /// We may put people out, and give or take their voice.
    pub fn moderating(&self) -> bool {
        self.joined_as.is_some() && self.role == Role::Moderator
    }

    /// Our nickname here: the one the room gave us, or the one we ask for.
    pub fn our_nick(&self) -> &str {
        self.joined_as.as_deref().unwrap_or(&self.nick)
    }

    /// Whether `body` names us: our nickname as a word of its own, in any
    /// case ("Sam:", "@sam", "thanks sam!" but not "samuel").
    pub fn mentions_us(&self, body: &str) -> bool {
        mentions(body, self.our_nick())
    }

    /// Whether a message in this room should notify.
    pub fn notifies(&self, body: &str) -> bool {
        match self.notify {
            RoomNotify::All => true,
            RoomNotify::Mentions => self.mentions_us(body),
            RoomNotify::Nothing => false,
        }
    }
}

/// Whether `body` holds `nick` as a word: not inside a longer word.
pub fn mentions(body: &str, nick: &str) -> bool {
    let nick = nick.trim();
    if nick.is_empty() {
        return false;
    }
    let (body, nick) = (body.to_lowercase(), nick.to_lowercase());
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    body.match_indices(&nick).any(|(at, found)| {
        !word(body[..at].chars().next_back()) && !word(body[at + found.len()..].chars().next())
    })
}

/// Who invites, as the person knows them: a contact's name, someone in
/// the room by nickname, or an address marked as a stranger's.
pub fn inviter(
    people: &People,
    account: &sotto::model::BareJid,
    invitation: &sotto::model::Invitation,
    from_contact: bool,
) -> String {
    let bare = invitation.from.to_bare();
    match invitation.from.resource() {
        Some(nick) if bare == invitation.room => format!("{nick}, in the room,"),
        _ if from_contact => people.display_name(account, &bare),
        _ => format!("{bare} (not in your contacts)"),
    }
}

/// How someone's leaving reads.
pub fn departure_words(nick: &str, departure: &Departure) -> String {
    let by = |by: &Option<String>, reason: &Option<String>| {
        let by = by
            .as_deref()
            .map(|b| format!(" by {b}"))
            .unwrap_or_default();
        let reason = reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        format!("{by}{reason}")
    };
    match departure {
        Departure::Left => format!("{nick} left"),
        Departure::Kicked { by: b, reason } => format!("{nick} was removed{}", by(b, reason)),
        Departure::Banned { by: b, reason } => format!("{nick} was banned{}", by(b, reason)),
        Departure::Removed => format!("{nick} is no longer allowed in the room"),
        Departure::Shutdown => "The room's service shut down".to_owned(),
        Departure::Destroyed { reason } => format!("The room was closed{}", by(&None, reason)),
    }
}

impl People {
    pub fn room(
        &self,
        account: &sotto::model::BareJid,
        room: &sotto::model::BareJid,
    ) -> Option<&RoomState> {
        self.rooms.get(&(account.clone(), room.clone()))
    }

    /// The rooms as the store has them; what this window learnt of who is
    /// in them stays.
    pub fn load_rooms(&mut self, rooms: Vec<(String, StoredRoom)>) {
        for (account, room) in rooms {
            let (Ok(account), Ok(jid)) = (account.parse(), room.jid.parse()) else {
                continue;
            };
            let key: Key = (account, jid);
            let fresh = RoomState::from_stored(&room);
            match self.rooms.get_mut(&key) {
                Some(known) => {
                    known.name = fresh.name;
                    known.subject = fresh.subject;
                    known.nick = fresh.nick;
                    known.autojoin = fresh.autojoin;
                    known.notify = fresh.notify;
                    known.private = fresh.private;
                }
                None => {
                    self.rooms.insert(key, fresh);
                }
            }
        }
    }

    /// Applies a room's event; false when it is not one.
    pub(super) fn apply_room(&mut self, event: &Event) -> bool {
        let key = |a: &sotto::model::BareJid, r: &sotto::model::BareJid| (a.clone(), r.clone());
        let fresh = |nick: &str| RoomState {
            name: None,
            subject: None,
            joined_as: None,
            nick: nick.to_owned(),
            autojoin: true,
            notify: RoomNotify::Mentions,
            private: false,
            role: Role::None,
            affiliation: Affiliation::None,
            occupants: BTreeMap::new(),
            problem: None,
        };
        match event {
            Event::Invitation {
                account,
                invitation,
                from_contact,
            } => {
                self.invitations.insert(
                    key(account, &invitation.room),
                    (invitation.clone(), *from_contact),
                );
            }
            Event::RoomJoined {
                account,
                room,
                nick,
                role,
                affiliation,
                ..
            } => {
                self.invitations.remove(&key(account, room));
                let r = self
                    .rooms
                    .entry(key(account, room))
                    .or_insert_with(|| fresh(nick));
                r.joined_as = Some(nick.clone());
                r.role = *role;
                r.affiliation = *affiliation;
                if r.nick.is_empty() {
                    r.nick = nick.clone();
                }
                r.autojoin = true;
                r.problem = None;
            }
            Event::RoomJoinFailed {
                account,
                room,
                reason,
                ..
            } => {
                if let Some(r) = self.rooms.get_mut(&key(account, room)) {
                    r.problem = Some(reason.clone());
                }
            }
            Event::RoomLeft {
                account,
                room,
                departure,
            } => {
                if let Some(r) = self.rooms.get_mut(&key(account, room)) {
                    r.joined_as = None;
                    r.occupants.clear();
                    r.problem = match departure {
                        Departure::Left => None,
                        other => {
                            Some(departure_words("You", other).replacen("You was", "You were", 1))
                        }
                    };
                    if !matches!(departure, Departure::Shutdown) {
                        r.autojoin = false;
                    }
                }
            }
            Event::Occupant {
                account,
                room,
                occupant,
                change,
            } => {
                // A room tells who is in it before it tells us we are in.
                let r = self
                    .rooms
                    .entry(key(account, room))
                    .or_insert_with(|| fresh(""));
                {
                    match change {
                        OccupantChange::Present => {
                            r.occupants.insert(occupant.nick.clone(), occupant.clone());
                        }
                        OccupantChange::Renamed { new_nick } => {
                            if let Some(mut o) = r.occupants.remove(&occupant.nick) {
                                o.nick = new_nick.clone();
                                r.occupants.insert(new_nick.clone(), o);
                            }
                        }
                        OccupantChange::Gone(_) => {
                            r.occupants.remove(&occupant.nick);
                        }
                    }
                }
            }
            Event::RoomStanding {
                account,
                room,
                role,
                affiliation,
            } => {
                if let Some(r) = self.rooms.get_mut(&key(account, room)) {
                    r.role = *role;
                    r.affiliation = *affiliation;
                }
            }
            Event::RoomSubject {
                account,
                room,
                subject,
                ..
            } => {
                if let Some(r) = self.rooms.get_mut(&key(account, room)) {
                    r.subject = subject.clone();
                }
            }
            Event::RoomInfo {
                account,
                room,
                info,
            } => {
                if let Some(r) = self.rooms.get_mut(&key(account, room)) {
                    if info.name.is_some() {
                        r.name = info.name.clone();
                    }
                    r.private = info.members_only && info.non_anonymous;
                }
            }
            Event::RoomNotify {
                account,
                room,
                notify,
            } => {
                if let Some(r) = self.rooms.get_mut(&key(account, room)) {
                    r.notify = *notify;
                }
            }
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mention_is_the_nickname_as_a_word() {
        for body in ["sam: look", "@Sam hi", "thanks, sam!", "SAM"] {
            assert!(mentions(body, "sam"), "{body}");
        }
        for body in ["samuel is here", "flotsam", "s a m", ""] {
            assert!(!mentions(body, "sam"), "{body}");
        }
        assert!(mentions("ping Dr. Ö", "Dr. Ö"));
        assert!(!mentions("anything", " "));
    }
}
