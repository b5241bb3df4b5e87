//! What the window knows about accounts and contacts, kept up to date from
//! the engine's events. Pure data: no iced, no I/O.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use sotto::engine::Event;
use sotto::model::{
    Availability, BareJid, ChatState, ConnectionState, Contact, SubscriptionChange,
};
use sotto::store::{Direction, StoredPushInfo};

/// An account and one of its contacts.
pub type Key = (BareJid, BareJid);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountStatus {
    pub state: ConnectionState,
    /// Archive catch-up in progress: fetched so far, and the total when
    /// the server tells.
    pub catch_up: Option<(usize, Option<usize>)>,
}

impl Default for AccountStatus {
    fn default() -> Self {
        Self {
            state: ConnectionState::Offline,
            catch_up: None,
        }
    }
}

impl AccountStatus {
    pub fn online(&self) -> bool {
        matches!(self.state, ConnectionState::Online { .. })
    }
}

/// A contact's push info as the window shows it: never the tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSummary {
    pub host: String,
    pub tokens: usize,
    pub last_knock_at: Option<i64>,
    pub last_result: Option<String>,
    pub auto_knock: bool,
}

impl From<&StoredPushInfo> for PushSummary {
    fn from(p: &StoredPushInfo) -> Self {
        Self {
            host: p.info.endpoint.host_str().unwrap_or("?").to_owned(),
            tokens: p.info.tokens.len(),
            last_knock_at: p.last_knock_at,
            last_result: p.last_result.clone(),
            auto_knock: p.auto_knock,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactState {
    /// The roster entry, when they are in the roster.
    pub contact: Option<Contact>,
    /// Available resources and how available each is.
    pub resources: HashMap<String, Availability>,
    pub push: Option<PushSummary>,
}

impl ContactState {
    /// The best availability over their devices, if any is online.
    pub fn availability(&self) -> Option<Availability> {
        use Availability::*;
        let rank = |a: &Availability| match a {
            Chat => 0,
            Available => 1,
            Away => 2,
            DoNotDisturb => 3,
            ExtendedAway => 4,
            Unavailable => 5,
        };
        self.resources
            .values()
            .filter(|a| a.is_online())
            .min_by_key(|a| rank(a))
            .copied()
    }

    pub fn online(&self) -> bool {
        self.availability().is_some()
    }
}

/// How the last knock of a contact went, for the chat to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KnockStatus {
    Knocking,
    Knocked { relay: String },
    Failed(String),
}

/// Accounts, contacts, presence and requests, from the engine's events.
#[derive(Debug, Default)]
pub struct People {
    pub accounts: BTreeMap<BareJid, AccountStatus>,
    pub contacts: BTreeMap<Key, ContactState>,
    /// People who asked to see our presence.
    pub requests: BTreeSet<Key>,
    pub knocks: HashMap<Key, KnockStatus>,
    pub blocked: BTreeSet<Key>,
    /// Contacts typing to us right now (XEP-0085).
    pub typing: HashSet<Key>,
    /// The shared Tor client's bootstrap, once a Tor account started.
    pub tor: Option<sotto::tor::BootstrapProgress>,
    /// Accounts whose contact list could not be had, and why: what is
    /// known stays shown, and the failure is said, never shown as "no
    /// contacts".
    pub roster_errors: BTreeMap<BareJid, String>,
    /// The accounts' rooms (group chats).
    pub rooms: BTreeMap<Key, super::rooms::RoomState>,
    /// Invitations into rooms waiting for an answer, by account and room,
    /// and whether they came from a contact.
    pub invitations: BTreeMap<Key, (sotto::model::Invitation, bool)>,
}

impl People {
    pub fn contact(&self, account: &BareJid, peer: &BareJid) -> Option<&ContactState> {
        self.contacts.get(&(account.clone(), peer.clone()))
    }

    pub fn contact_mut(&mut self, account: &BareJid, peer: &BareJid) -> &mut ContactState {
        self.contacts
            .entry((account.clone(), peer.clone()))
            .or_default()
    }

    /// A contact's name as the user knows them; a room's own name.
    pub fn display_name(&self, account: &BareJid, peer: &BareJid) -> String {
        if let Some(name) = self
            .room(account, peer)
            .and_then(|r| r.name.clone())
            .filter(|n| !n.trim().is_empty())
        {
            return name;
        }
        self.contact(account, peer)
            .and_then(|c| c.contact.as_ref())
            .and_then(|c| c.name.clone())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| {
                peer.node()
                    .map_or_else(|| peer.to_string(), |n| n.to_string())
            })
    }

    pub fn typing(&self, account: &BareJid, peer: &BareJid) -> bool {
        self.typing.contains(&(account.clone(), peer.clone()))
    }

    pub fn is_room(&self, account: &BareJid, peer: &BareJid) -> bool {
        self.rooms.contains_key(&(account.clone(), peer.clone()))
    }

    /// Applies an event to what is known.
    pub fn apply(&mut self, event: &Event) {
        if self.apply_room(event) {
            return;
        }
        match event {
            Event::Connection { account, state } => {
                let status = self.accounts.entry(account.clone()).or_default();
                status.state = state.clone();
                if !matches!(state, ConnectionState::Online { .. }) {
                    status.catch_up = None;
                    // Presence is only known while connected.
                    for ((acc, _), c) in self.contacts.iter_mut() {
                        if acc == account {
                            c.resources.clear();
                        }
                    }
                }
                // A stream that may still resume keeps its rooms; any
                // other is in none until it enters them again.
                if !matches!(
                    state,
                    ConnectionState::Suspended | ConnectionState::Online { resumed: true, .. }
                ) {
                    for ((acc, _), r) in self.rooms.iter_mut() {
                        if acc == account {
                            r.joined_as = None;
                            r.occupants.clear();
                        }
                    }
                }
            }
            Event::Roster { account, contacts } => {
                self.roster_errors.remove(account);
                for ((acc, _), c) in self.contacts.iter_mut() {
                    if acc == account {
                        c.contact = None;
                    }
                }
                for contact in contacts {
                    self.contact_mut(account, &contact.jid).contact = Some(contact.clone());
                }
            }
            Event::RosterFailed { account, reason } => {
                self.roster_errors.insert(account.clone(), reason.clone());
            }
            Event::AutoKnock {
                account,
                contact,
                on,
            } => {
                if let Some(p) = self.contact_mut(account, contact).push.as_mut() {
                    p.auto_knock = *on;
                }
            }
            Event::ContactChanged { account, contact } => {
                self.contact_mut(account, &contact.jid).contact = Some(contact.clone());
            }
            Event::ContactRemoved { account, jid } => {
                if let Some(c) = self.contacts.get_mut(&(account.clone(), jid.clone())) {
                    c.contact = None;
                }
            }
            Event::Presence { account, update } => {
                let bare = update.from.to_bare();
                if &bare == account {
                    return;
                }
                let resource = update
                    .from
                    .resource()
                    .map(|r| r.to_string())
                    .unwrap_or_default();
                let c = self.contact_mut(account, &bare);
                if update.availability.is_online() {
                    c.resources.insert(resource, update.availability);
                } else if resource.is_empty() {
                    c.resources.clear();
                } else {
                    c.resources.remove(&resource);
                }
            }
            Event::Subscription {
                account,
                from,
                change,
            } => {
                let key = (account.clone(), from.clone());
                match change {
                    SubscriptionChange::Requested => {
                        self.requests.insert(key);
                    }
                    SubscriptionChange::Unsubscribed | SubscriptionChange::Revoked => {
                        self.requests.remove(&key);
                    }
                    SubscriptionChange::Approved => {}
                }
            }
            Event::CatchUp {
                account,
                fetched,
                total,
                done,
            } => {
                let status = self.accounts.entry(account.clone()).or_default();
                status.catch_up = (!done).then_some((*fetched, *total));
            }
            Event::Knocking {
                account, contact, ..
            } => {
                self.knocks
                    .insert((account.clone(), contact.clone()), KnockStatus::Knocking);
            }
            Event::Knocked {
                account,
                contact,
                relay,
                error,
                ..
            } => {
                let status = match (relay, error) {
                    (_, Some(error)) => KnockStatus::Failed(error.clone()),
                    (Some(relay), None) => KnockStatus::Knocked {
                        relay: relay.clone(),
                    },
                    (None, None) => KnockStatus::Failed("the relay did not answer".into()),
                };
                self.knocks
                    .insert((account.clone(), contact.clone()), status);
            }
            Event::ChatState {
                account,
                from,
                state,
            } => {
                let key = (account.clone(), from.clone());
                if *state == ChatState::Composing {
                    self.typing.insert(key);
                } else {
                    self.typing.remove(&key);
                }
            }
            Event::Blocked {
                account,
                jid,
                blocked,
            } => {
                let key = (account.clone(), jid.clone());
                if *blocked {
                    self.blocked.insert(key);
                } else {
                    self.blocked.remove(&key);
                }
            }
            Event::BlockList { account, jids } => {
                self.blocked.retain(|(a, _)| a != account);
                self.blocked
                    .extend(jids.iter().map(|j| (account.clone(), j.clone())));
            }
            Event::Message { account, message } if message.direction == Direction::In => {
                if let Ok(peer) = message.peer.parse::<BareJid>() {
                    // A message ends their typing.
                    self.typing.remove(&(account.clone(), peer));
                }
            }
            Event::TorBootstrap { progress } => self.tor = Some(progress.clone()),
            _ => {}
        }
    }

    /// Forgets everything of an account that was removed.
    pub fn forget(&mut self, account: &BareJid) {
        self.accounts.remove(account);
        self.contacts.retain(|(a, _), _| a != account);
        self.requests.retain(|(a, _)| a != account);
        self.knocks.retain(|(a, _), _| a != account);
        self.blocked.retain(|(a, _)| a != account);
        self.typing.retain(|(a, _)| a != account);
        self.roster_errors.remove(account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sotto::model::{Jid, PresenceUpdate, Subscription};

    fn jid(s: &str) -> BareJid {
        s.parse().expect("jid")
    }

    fn presence(from: &str, availability: Availability) -> Event {
        Event::Presence {
            account: jid("me@example.org"),
            update: PresenceUpdate {
                from: from.parse::<Jid>().expect("jid"),
                availability,
                status: None,
                priority: 0,
            },
        }
    }

    #[test]
    fn presence_follows_resources_and_ignores_our_own() {
        let mut people = People::default();
        let me = jid("me@example.org");
        let bob = jid("bob@example.org");
        people.apply(&presence("bob@example.org/phone", Availability::Away));
        people.apply(&presence("bob@example.org/desk", Availability::Available));
        assert_eq!(
            people
                .contact(&me, &bob)
                .and_then(ContactState::availability),
            Some(Availability::Available)
        );
        people.apply(&presence("bob@example.org/desk", Availability::Unavailable));
        assert_eq!(
            people
                .contact(&me, &bob)
                .and_then(ContactState::availability),
            Some(Availability::Away)
        );
        people.apply(&presence(
            "bob@example.org/phone",
            Availability::Unavailable,
        ));
        assert!(!people.contact(&me, &bob).is_some_and(ContactState::online));
        people.apply(&presence("me@example.org/other", Availability::Available));
        assert!(people.contact(&me, &me).is_none());
    }

    #[test]
    fn going_offline_forgets_presence_and_roster_names_show() {
        let mut people = People::default();
        let me = jid("me@example.org");
        let bob = jid("bob@example.org");
        people.apply(&Event::Roster {
            account: me.clone(),
            contacts: vec![Contact {
                jid: bob.clone(),
                name: Some("Bob B.".into()),
                subscription: Subscription::Both,
                pending_out: false,
                groups: vec![],
            }],
        });
        assert_eq!(people.display_name(&me, &bob), "Bob B.");
        assert_eq!(people.display_name(&me, &jid("carol@example.org")), "carol");
        people.apply(&presence("bob@example.org/desk", Availability::Available));
        people.apply(&Event::Connection {
            account: me.clone(),
            state: ConnectionState::Suspended,
        });
        assert!(!people.contact(&me, &bob).is_some_and(ContactState::online));
    }

    #[test]
    fn a_failed_roster_read_keeps_the_names_and_is_remembered() {
        let mut people = People::default();
        let me = jid("me@example.org");
        let bob = jid("bob@example.org");
        people.apply(&Event::Roster {
            account: me.clone(),
            contacts: vec![Contact {
                jid: bob.clone(),
                name: Some("Bob B.".into()),
                subscription: Subscription::Both,
                pending_out: false,
                groups: vec![],
            }],
        });
        people.apply(&Event::RosterFailed {
            account: me.clone(),
            reason: "the server did not answer".into(),
        });
        assert_eq!(people.display_name(&me, &bob), "Bob B.", "names stay");
        assert_eq!(
            people.roster_errors.get(&me).map(String::as_str),
            Some("the server did not answer")
        );
        people.apply(&Event::Roster {
            account: me.clone(),
            contacts: vec![],
        });
        assert!(people.roster_errors.is_empty(), "a later roster clears it");
    }
}
