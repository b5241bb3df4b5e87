//! Our IQ requests in flight and the matching of their answers, in one
//! place: an answer counts only if its id is one we sent and it comes from
//! the entity we asked (RFC 6120 §8.1.2.1), so nobody else can answer for
//! our server or a contact.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::parsers::stanza_error::StanzaError;

/// How long an answer may take before the request is given up.
pub const IQ_TIMEOUT: Duration = Duration::from_secs(60);

/// A contact's device list or bundle, which an outgoing encrypted message
/// waits for: given up sooner, so a device whose server does not answer
/// delays the message by seconds, not a minute (it goes to the others).
pub const OMEMO_FETCH_TIMEOUT: Duration = Duration::from_secs(15);

impl Purpose {
    fn timeout(&self) -> Duration {
        match self {
            Self::OmemoDeviceList { .. } | Self::OmemoBundle { .. } => OMEMO_FETCH_TIMEOUT,
            _ => IQ_TIMEOUT,
        }
    }
}

/// What an answer means depends on what we asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    Roster,
    /// One page of an archive catch-up: ours, or a room's.
    ArchivePage(super::mam::Archive),
    Blocklist,
    Block {
        jid: BareJid,
        blocked: bool,
    },
    PushPublish,
    PushRetract,
    PushFetch(BareJid),
    /// An account's OMEMO device list of one namespace.
    OmemoDeviceList {
        jid: BareJid,
        profile: crate::omemo::Profile,
    },
    /// One device's OMEMO bundle.
    OmemoBundle {
        jid: BareJid,
        profile: crate::omemo::Profile,
        device: crate::omemo::DeviceId,
    },
    /// Publishing our device list or bundle of one namespace.
    OmemoPublish(Box<PublishAttempt>),
    /// Configuring the node of a publication of ours: to fit it, then
    /// publish again; or to size it after it was published.
    OmemoConfigure {
        attempt: Box<PublishAttempt>,
        then_publish: bool,
    },
    /// Our bookmarks (XEP-0402), or their private-storage form (XEP-0048).
    Bookmarks,
    BookmarksPrivate,
    /// Writing one bookmark, and what servers need instead.
    BookmarkPublish(BookmarkStep),
    /// What a room we entered says of itself.
    RoomInfo(BareJid),
    /// A moderator's request to a room.
    Moderate {
        room: BareJid,
        what: crate::model::Moderation,
    },
    /// Setting up a room our join created; once answered we are in, as
    /// `nick` with this standing.
    RoomConfigure {
        room: BareJid,
        nick: String,
        role: crate::model::Role,
        affiliation: crate::model::Affiliation,
    },
    /// XEP-0410: are we still in this room?
    SelfPing(BareJid),
    /// Answers we only need so the request does not linger (carbons,
    /// pings, roster sets).
    Ignore,
}

/// How far the writing of a bookmark got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookmarkStep {
    /// Published with the node's size in the publish-options.
    Sized(crate::model::Bookmark),
    /// Published again without it.
    Unsized,
    /// Sizing the node (`max`, or a number).
    Configure { max: bool },
}

/// One of our OMEMO publications, and how far its fallbacks went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishAttempt {
    pub publication: crate::xmpp::omemo::pubsub::Publication,
    /// How the publish-options spell the node's size (`Max`, or `Unsaid`
    /// once the server refused to read it).
    pub publish_size: crate::xmpp::omemo::pubsub::Size,
    /// How a node configuration spells it (`Max`, or `Number` once the
    /// server refused `max`).
    pub configure_size: crate::xmpp::omemo::pubsub::Size,
    /// The node was configured already: another mismatch is final.
    pub configured: bool,
    /// Times published again after `item-not-found`.
    pub retries: u8,
}

/// The answer to one of our requests.
pub type Answer = Result<Option<Element>, StanzaError>;

/// What a result or error says; `None` for a request.
pub fn answer_of(iq: Iq) -> Option<Answer> {
    match iq {
        Iq::Result { payload, .. } => Some(Ok(payload)),
        Iq::Error { error, .. } => Some(Err(error)),
        Iq::Get { .. } | Iq::Set { .. } => None,
    }
}

#[derive(Debug)]
struct Pending {
    /// Whom we asked: `None` is our own account (answered by our server).
    to: Option<BareJid>,
    purpose: Purpose,
    sent: Instant,
}

#[derive(Debug, Default)]
pub struct IqTracker {
    pending: HashMap<String, Pending>,
}

impl IqTracker {
    /// Records `iq` (a get or set) as in flight.
    pub fn track(&mut self, iq: &Iq, purpose: Purpose) {
        let (id, to) = match iq {
            Iq::Get { id, to, .. } | Iq::Set { id, to, .. } => (id, to),
            Iq::Result { .. } | Iq::Error { .. } => return,
        };
        self.pending.insert(
            id.clone(),
            Pending {
                to: to.as_ref().map(Jid::to_bare),
                purpose,
                sent: Instant::now(),
            },
        );
    }

    /// Takes the request this result or error answers, if it is one of
    /// ours and comes from whom we asked. Anything else is not an answer.
    pub fn take(&mut self, iq: &Iq, own: &BareJid) -> Option<Purpose> {
        let (id, from) = match iq {
            Iq::Result { id, from, .. } | Iq::Error { id, from, .. } => (id, from),
            Iq::Get { .. } | Iq::Set { .. } => return None,
        };
        let pending = self.pending.get(id)?;
        let from_ok = match (&pending.to, from) {
            // Our server answers for our account: no from, our bare JID,
            // or (some servers) our domain.
            (None, None) => true,
            (None, Some(from)) => {
                let bare = from.to_bare();
                bare == *own || (from.node().is_none() && from.domain() == own.domain())
            }
            (Some(to), Some(from)) => from.to_bare() == *to,
            // A request to our own bare JID may be answered without from.
            (Some(to), None) => to == own,
        };
        if !from_ok {
            tracing::debug!(account = %own, "an answer from someone we did not ask was ignored");
            return None;
        }
        self.pending.remove(id).map(|p| p.purpose)
    }

    /// Gives up requests older than their timeout ([`IQ_TIMEOUT`], or
    /// [`OMEMO_FETCH_TIMEOUT`]); returns their purposes.
    pub fn expire(&mut self, now: Instant) -> Vec<Purpose> {
        let old: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| now.duration_since(p.sent) > p.purpose.timeout())
            .map(|(id, _)| id.clone())
            .collect();
        old.into_iter()
            .filter_map(|id| self.pending.remove(&id))
            .map(|p| p.purpose)
            .collect()
    }

    /// One of our OMEMO publications (or its node's configuration) is in
    /// flight.
    pub fn publishing(&self) -> bool {
        self.pending.values().any(|p| {
            matches!(
                p.purpose,
                Purpose::OmemoPublish(_) | Purpose::OmemoConfigure { .. }
            )
        })
    }

    /// A fresh stream: no answer to an earlier request will come.
    pub fn clear(&mut self) -> Vec<Purpose> {
        self.pending.drain().map(|(_, p)| p.purpose).collect()
    }

    #[cfg(test)]
    pub fn is_waiting_for(&self, purpose: &Purpose) -> bool {
        self.pending.values().any(|p| p.purpose == *purpose)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_xmpp::parsers::ping::Ping;

    fn own() -> BareJid {
        "me@example.org".parse().expect("jid")
    }

    fn result(id: &str, from: Option<&str>) -> Iq {
        Iq::Result {
            from: from.map(|f| f.parse().expect("jid")),
            to: None,
            id: id.into(),
            payload: None,
        }
    }

    #[test]
    fn answers_count_only_from_whom_we_asked() {
        let mut t = IqTracker::default();
        t.track(&Iq::from_get("r1", Ping), Purpose::Roster);
        // Someone else forging our server's answer.
        let forged = t.take(&result("r1", Some("mallory@evil.example")), &own());
        assert!(forged.is_none());
        // A stranger's full JID with our domain is not our server either.
        assert!(
            t.take(&result("r1", Some("other@example.org/x")), &own())
                .is_none()
        );
        let answer = result("r1", Some("me@example.org"));
        assert_eq!(t.take(&answer, &own()), Some(Purpose::Roster));
        assert!(answer_of(answer).is_some_and(|a| a.is_ok()));
        // Once answered it is gone.
        assert!(t.take(&result("r1", None), &own()).is_none());

        let bob: Jid = "bob@example.net".parse().expect("jid");
        t.track(
            &Iq::from_get("p1", Ping).with_to(bob),
            Purpose::PushFetch("bob@example.net".parse().expect("jid")),
        );
        assert!(t.take(&result("p1", None), &own()).is_none());
        assert!(t.take(&result("p1", Some("example.org")), &own()).is_none());
        assert!(
            t.take(&result("p1", Some("bob@example.net")), &own())
                .is_some()
        );
    }

    #[test]
    fn our_server_may_answer_from_its_domain_or_without_from() {
        let mut t = IqTracker::default();
        t.track(&Iq::from_get("a", Ping), Purpose::Blocklist);
        t.track(&Iq::from_get("b", Ping), Purpose::Ignore);
        assert!(t.take(&result("a", Some("example.org")), &own()).is_some());
        assert!(t.take(&result("b", None), &own()).is_some());
    }

    #[test]
    fn old_requests_expire_and_a_new_stream_clears_all() {
        let mut t = IqTracker::default();
        t.track(&Iq::from_get("a", Ping), Purpose::Roster);
        assert!(t.expire(Instant::now()).is_empty());
        assert!(t.is_waiting_for(&Purpose::Roster));
        let later = Instant::now() + IQ_TIMEOUT + Duration::from_secs(1);
        assert_eq!(t.expire(later), [Purpose::Roster]);
        t.track(&Iq::from_get("b", Ping), Purpose::Blocklist);
        assert_eq!(t.clear(), [Purpose::Blocklist]);
        assert!(!t.is_waiting_for(&Purpose::Blocklist));
    }

    #[test]
    fn an_omemo_fetch_a_message_waits_for_is_given_up_sooner() {
        let mut t = IqTracker::default();
        let bundle = Purpose::OmemoBundle {
            jid: "bob@example.org".parse().expect("jid"),
            profile: crate::omemo::Profile::Omemo2,
            device: crate::omemo::DeviceId::new(7).expect("id"),
        };
        t.track(&Iq::from_get("a", Ping), Purpose::Roster);
        t.track(&Iq::from_get("b", Ping), bundle.clone());
        let later = Instant::now() + OMEMO_FETCH_TIMEOUT + Duration::from_secs(1);
        assert_eq!(t.expire(later), [bundle]);
        assert!(t.is_waiting_for(&Purpose::Roster));
    }
}
