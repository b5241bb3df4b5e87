//! Stanzas to Sotto's model and back, without I/O, so each shape can be
//! tested on its own.

use tokio_xmpp::Stanza;
use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::delay::Delay;
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::parsers::message::{Lang, Message, MessageType};
use tokio_xmpp::parsers::ns;
use tokio_xmpp::parsers::presence::{Presence, Show, Type as PresenceType};
use tokio_xmpp::parsers::receipts::Request as ReceiptRequest;
use tokio_xmpp::parsers::roster::{Ask, Item, Roster, Subscription as RosterSubscription};
use tokio_xmpp::parsers::stanza_id::{OriginId, StanzaId};

use tokio_xmpp::parsers::blocking::{Block, BlocklistRequest, BlocklistResult, Unblock};
use tokio_xmpp::parsers::chatstates::ChatState as WireChatState;
use tokio_xmpp::parsers::displayed_markers::{Displayed, Markable};
use tokio_xmpp::parsers::message::Id as MessageId;
use tokio_xmpp::parsers::message_correct::Replace;

use crate::model::{
    Availability, ChatState, Contact, IncomingMessage, OutgoingMessage, PresenceUpdate, Stamp,
    Subscription, SubscriptionChange, SyncedMessage, now_ms,
};

/// XEP-0334 message processing hints.
const HINTS: &str = "urn:xmpp:hints";

/// Why a stanza from the network could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    #[error("not a {expected} element")]
    Unexpected { expected: &'static str },
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
}

pub fn contact_from_item(item: Item) -> Contact {
    Contact {
        jid: item.jid,
        name: item.name.filter(|n| !n.trim().is_empty()),
        subscription: match item.subscription {
            RosterSubscription::To => Subscription::To,
            RosterSubscription::From => Subscription::From,
            RosterSubscription::Both => Subscription::Both,
            RosterSubscription::None | RosterSubscription::Remove => Subscription::None,
        },
        pending_out: item.ask == Ask::Subscribe,
        groups: item.groups.into_iter().map(|g| g.0).collect(),
    }
}

/// What one presence stanza means to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresenceMeaning {
    Update(PresenceUpdate),
    Subscription {
        from: BareJid,
        change: SubscriptionChange,
    },
    /// Probes and errors: nothing to show.
    Ignore,
}

pub fn presence_meaning(presence: &Presence) -> PresenceMeaning {
    let Some(from) = presence.from.clone() else {
        return PresenceMeaning::Ignore;
    };
    let status = presence
        .statuses
        .get("")
        .or_else(|| presence.statuses.values().next())
        .cloned()
        .filter(|s| !s.trim().is_empty());
    let subscription = |change| PresenceMeaning::Subscription {
        from: from.to_bare(),
        change,
    };
    match presence.type_ {
        PresenceType::None => PresenceMeaning::Update(PresenceUpdate {
            availability: match presence.show {
                None => Availability::Available,
                Some(Show::Chat) => Availability::Chat,
                Some(Show::Away) => Availability::Away,
                Some(Show::Xa) => Availability::ExtendedAway,
                Some(Show::Dnd) => Availability::DoNotDisturb,
            },
            from,
            status,
            priority: presence.priority.0,
        }),
        PresenceType::Unavailable => PresenceMeaning::Update(PresenceUpdate {
            from,
            availability: Availability::Unavailable,
            status,
            priority: 0,
        }),
        PresenceType::Subscribe => subscription(SubscriptionChange::Requested),
        PresenceType::Subscribed => subscription(SubscriptionChange::Approved),
        PresenceType::Unsubscribed => subscription(SubscriptionChange::Revoked),
        PresenceType::Unsubscribe => subscription(SubscriptionChange::Unsubscribed),
        PresenceType::Probe | PresenceType::Error => PresenceMeaning::Ignore,
    }
}

/// A roster set that adds or renames one contact.
pub fn roster_set(jid: BareJid, name: Option<String>) -> Iq {
    roster_update(jid, name, vec![])
}

/// Our own presence for an availability and an optional status text.
pub fn own_presence(availability: Availability, status: Option<&str>) -> Presence {
    let mut presence = match availability {
        Availability::Unavailable => Presence::unavailable(),
        other => {
            let presence = Presence::available();
            match other {
                Availability::Chat => presence.with_show(Show::Chat),
                Availability::Away => presence.with_show(Show::Away),
                Availability::ExtendedAway => presence.with_show(Show::Xa),
                Availability::DoNotDisturb => presence.with_show(Show::Dnd),
                _ => presence,
            }
        }
    };
    if let Some(status) = status {
        presence.set_status("", status);
    }
    presence
}

/// What one message stanza means to us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageMeaning {
    Chat(IncomingMessage),
    /// The server or the peer bounced one of ours.
    Error {
        id: Option<String>,
        reason: String,
    },
    /// The peer got one of ours (XEP-0184 receipt).
    Delivered {
        id: String,
    },
    /// The peer read up to one of ours (XEP-0333 displayed marker).
    Displayed {
        id: String,
    },
    /// A chat state without a body (XEP-0085).
    ChatState {
        from: Jid,
        state: ChatState,
    },
    /// Group chat (not yet), empty messages: nothing to show.
    Ignore,
}

impl From<WireChatState> for ChatState {
    fn from(s: WireChatState) -> Self {
        match s {
            WireChatState::Active => Self::Active,
            WireChatState::Composing => Self::Composing,
            WireChatState::Paused => Self::Paused,
            WireChatState::Inactive => Self::Inactive,
            WireChatState::Gone => Self::Gone,
        }
    }
}

impl From<ChatState> for WireChatState {
    fn from(s: ChatState) -> Self {
        match s {
            ChatState::Active => Self::Active,
            ChatState::Composing => Self::Composing,
            ChatState::Paused => Self::Paused,
            ChatState::Inactive => Self::Inactive,
            ChatState::Gone => Self::Gone,
        }
    }
}

/// The extras a chat message may carry beside its body.
#[derive(Debug, Default)]
struct Extras {
    chat_state: Option<ChatState>,
    markable: bool,
    replaces: Option<String>,
}

fn extras(message: &Message) -> Extras {
    let mut extras = Extras::default();
    for payload in &message.payloads {
        if payload.ns() == ns::CHATSTATES {
            extras.chat_state = WireChatState::try_from(payload.clone())
                .ok()
                .map(ChatState::from);
        } else if payload.is("markable", ns::DISPLAYED_MARKERS) {
            extras.markable = true;
        } else if payload.is("replace", ns::MESSAGE_CORRECT) {
            extras.replaces = Replace::try_from(payload.clone())
                .ok()
                .map(|r| r.id.0)
                .filter(|id| !id.is_empty());
        }
    }
    extras
}

/// The OMEMO `<encrypted/>` elements a message carries (one per
/// namespace at most counts); unreadable ones are left out, and logged.
fn encrypted_of(message: &Message) -> Vec<crate::xmpp::omemo::Encrypted> {
    crate::xmpp::omemo::encrypted_payloads(&message.payloads)
        .into_iter()
        .filter_map(|e| {
            e.map_err(|e| tracing::debug!(error = %e, "unreadable OMEMO element ignored"))
                .ok()
        })
        .collect()
}

/// The domain of an account's bare JID given as text.
fn own_domain(account: &str) -> &str {
    account.rsplit_once('@').map_or(account, |(_, d)| d)
}

pub fn message_meaning(message: &Message, own_server: &str) -> MessageMeaning {
    match message.type_ {
        MessageType::Error => {
            let reason = message
                .payloads
                .iter()
                .find(|p| p.name() == "error")
                .map(describe_stanza_error)
                .unwrap_or_else(|| "the server returned an error".into());
            return MessageMeaning::Error {
                id: message.id.as_ref().map(|id| id.0.clone()),
                reason,
            };
        }
        MessageType::Groupchat | MessageType::Headline => return MessageMeaning::Ignore,
        MessageType::Chat | MessageType::Normal => {}
    }
    for payload in &message.payloads {
        if payload.is("received", ns::RECEIPTS)
            && let Some(id) = payload.attr("id").filter(|id| !id.is_empty())
        {
            return MessageMeaning::Delivered { id: id.to_owned() };
        }
        if payload.is("displayed", ns::DISPLAYED_MARKERS)
            && let Some(id) = payload.attr("id").filter(|id| !id.is_empty())
        {
            return MessageMeaning::Displayed { id: id.to_owned() };
        }
    }
    let Some(from) = message.from.clone() else {
        return MessageMeaning::Ignore;
    };
    let extras = extras(message);
    let encrypted = encrypted_of(message);
    // An encrypted message's body is a fallback notice for clients
    // without OMEMO; an empty OMEMO message (session set-up) has none.
    let body = match (message.get_best_body(vec![]), encrypted.is_empty()) {
        (_, false) => String::new(),
        (Some((_, body)), true) => body.clone(),
        (None, true) => {
            return match extras.chat_state {
                Some(state) => MessageMeaning::ChatState { from, state },
                None => MessageMeaning::Ignore,
            };
        }
    };
    let mut origin_id = None;
    let mut stanza_id = None;
    let mut delayed_at = None;
    let mut wants_receipt = false;
    for payload in &message.payloads {
        if payload.is("origin-id", ns::SID) {
            origin_id = OriginId::try_from(payload.clone()).ok().map(|o| o.id);
        } else if payload.is("stanza-id", ns::SID) {
            // Only our own server's stamp can be trusted for deduplication
            // (XEP-0359 §4); a sender could forge any other.
            if let Ok(sid) = StanzaId::try_from(payload.clone())
                && sid.by.as_str() == own_server
            {
                stanza_id = Some(sid.id);
            }
        } else if payload.is("delay", ns::DELAY) {
            delayed_at = trusted_delay(payload, own_domain(own_server));
        } else if payload.is("request", ns::RECEIPTS) {
            wants_receipt = true;
        }
    }
    MessageMeaning::Chat(IncomingMessage {
        from,
        body,
        encrypted,
        id: message.id.as_ref().map(|id| id.0.clone()),
        origin_id,
        stanza_id,
        delayed: delayed_at,
        wants_receipt,
        markable: extras.markable,
        chat_state: extras.chat_state,
        replaces: extras.replaces,
    })
}

fn describe_stanza_error(error: &Element) -> String {
    let condition = error
        .children()
        .find(|c| c.ns() == ns::XMPP_STANZAS && c.name() != "text")
        .map(|c| c.name().to_owned());
    let text = error
        .children()
        .find(|c| c.name() == "text")
        .map(|t| t.text())
        .filter(|t| !t.trim().is_empty());
    match (condition.as_deref(), text) {
        (_, Some(text)) => text,
        (Some("service-unavailable"), None) => {
            "the recipient's server says it cannot take the message".into()
        }
        (Some("item-not-found" | "remote-server-not-found"), None) => {
            "no such address on that server".into()
        }
        (Some(other), None) => other.replace('-', " "),
        (None, None) => "the server returned an error".into(),
    }
}

/// A delay stamp as a sort time, at its full precision (two messages a
/// few hundred milliseconds apart keep their order), never later than now.
pub fn stamp_ms(stamp: &tokio_xmpp::parsers::date::DateTime) -> i64 {
    stamp.0.timestamp_millis().min(now_ms())
}

/// A `<delay/>` element's stamp, knowing whether it named a fraction of a
/// second (the parsed date no longer says).
pub(crate) fn stamp_of(delay_element: &Element) -> Option<Stamp> {
    let delay = Delay::try_from(delay_element.clone()).ok()?;
    let whole_second = delay_element
        .attr("stamp")
        .is_some_and(|text| !text.contains('.'));
    Some(Stamp {
        ms: stamp_ms(&delay.stamp),
        whole_second,
    })
}

/// The sort time a `<delay/>` in a message may give it: only one stamped
/// by our own server (offline storage) is believed. Anyone else's is the
/// sender's claim, and a sender could sort a message anywhere in our
/// history; such messages take the time they reach us.
fn trusted_delay(payload: &Element, own_domain: &str) -> Option<Stamp> {
    let from = payload.attr("from")?.parse::<Jid>().ok()?;
    (from.node().is_none() && from.domain().as_str() == own_domain)
        .then(|| stamp_of(payload))
        .flatten()
}

/// Reads the message inside a carbon or an archive result. `own` is the
/// account's bare JID: a message from it is one we sent.
pub fn synced_message(
    inner: &Message,
    own: &BareJid,
    stanza_id: Option<String>,
    stamp: Option<Stamp>,
) -> Option<SyncedMessage> {
    if !matches!(inner.type_, MessageType::Chat | MessageType::Normal) {
        return None;
    }
    let encrypted = encrypted_of(inner);
    let body = if encrypted.is_empty() {
        inner.get_best_body(vec![])?.1.clone()
    } else {
        String::new()
    };
    let from = inner.from.clone()?;
    let outgoing = from.to_bare() == *own;
    let peer = if outgoing {
        inner.to.as_ref()?.to_bare()
    } else {
        from.to_bare()
    };
    let mut origin_id = None;
    let mut delayed = None;
    for payload in &inner.payloads {
        if payload.is("origin-id", ns::SID) {
            origin_id = OriginId::try_from(payload.clone()).ok().map(|o| o.id);
        } else if payload.is("delay", ns::DELAY) {
            delayed = trusted_delay(payload, own.domain().as_str());
        }
    }
    let extras = extras(inner);
    Some(SyncedMessage {
        peer,
        sender: from,
        body,
        encrypted,
        protection: crate::model::Protection::Clear,
        outgoing,
        origin_id,
        stanza_id,
        sent_at: stamp.or(delayed),
        id: inner.id.as_ref().map(|id| id.0.clone()),
        markable: extras.markable,
        replaces: extras.replaces,
    })
}

/// What a carbon (XEP-0280) carries, if this message is one. Only our own
/// bare JID may send carbons; anything else is a forgery and ignored.
pub fn carbon(message: &Message, own: &BareJid) -> Option<SyncedMessage> {
    use tokio_xmpp::parsers::carbons::{Received, Sent};
    let from = message.from.as_ref()?;
    if from.resource().is_some() || from.to_bare() != *own {
        return None;
    }
    for payload in &message.payloads {
        let forwarded = if payload.is("received", ns::CARBONS) {
            Received::try_from(payload.clone()).ok()?.forwarded
        } else if payload.is("sent", ns::CARBONS) {
            Sent::try_from(payload.clone()).ok()?.forwarded
        } else {
            continue;
        };
        let stanza_id = forwarded.message.payloads.iter().find_map(|p| {
            StanzaId::try_from(p.clone())
                .ok()
                .filter(|s| s.by.to_bare() == *own)
                .map(|s| s.id)
        });
        return synced_message(&forwarded.message, own, stanza_id, None);
    }
    None
}

/// A result of our archive query `query_id` (XEP-0313), whoever's archive
/// it is: its archive id, the message archived, and the archive's stamp.
pub fn mam_result(message: &Message, query_id: &str) -> Option<(String, Message, Option<Stamp>)> {
    use tokio_xmpp::parsers::mam::Result_;
    let payload = message.payloads.iter().find(|p| p.is("result", ns::MAM))?;
    let result = Result_::try_from(payload.clone()).ok()?;
    if result.queryid.as_ref().map(|q| q.0.as_str()) != Some(query_id) {
        return None;
    }
    // The archive's own stamp on the forwarded copy.
    let stamp = payload
        .get_child("forwarded", ns::FORWARD)
        .and_then(|f| f.get_child("delay", ns::DELAY))
        .and_then(stamp_of);
    Some((result.id, result.forwarded.message, stamp))
}

/// An archive (XEP-0313) result for query `query_id`, with its archive id.
pub fn archive_result(
    message: &Message,
    own: &BareJid,
    query_id: &str,
) -> Option<(String, Option<SyncedMessage>)> {
    // Results come from our own account (or the server on its behalf).
    if message.from.as_ref().is_some_and(|f| f.to_bare() != *own) {
        return None;
    }
    let (id, archived, stamp) = mam_result(message, query_id)?;
    let synced = synced_message(&archived, own, Some(id.clone()), stamp);
    Some((id, synced))
}

/// A delivery receipt (XEP-0184) for a message we got.
pub fn receipt(to: Jid, id: &str) -> Stanza {
    Message::new(Some(to))
        .with_payload(tokio_xmpp::parsers::receipts::Received { id: id.to_owned() })
        .into()
}

/// The stanza for a message we send: a chat message whose id doubles as its
/// XEP-0359 origin-id, asking for a delivery receipt (XEP-0184) and chat
/// markers (XEP-0333), and saying we are active (XEP-0085).
pub fn outgoing_stanza(message: &OutgoingMessage) -> Stanza {
    let mut stanza = Message::chat(Some(Jid::from(message.to.clone())))
        .with_body(Lang::new(), message.body.clone())
        .with_payload(OriginId {
            id: message.id.clone(),
        })
        .with_payload(ReceiptRequest)
        .with_payload(Markable)
        .with_payload(WireChatState::Active);
    stanza.id = Some(MessageId(message.id.clone()));
    stanza.into()
}

/// An OMEMO-encrypted message (or correction, with `replaces`): one
/// `<encrypted/>` per namespace, the XEP's fixed fallback notice as the
/// body (never the text), the encryption and store hints, and the same
/// receipts, markers and origin-id as a message in clear. An empty OMEMO
/// message (session set-up or repair) has no body, asks for nothing and
/// is kept out of the archive.
pub fn encrypted_stanza(
    to: &BareJid,
    id: &str,
    replaces: Option<&str>,
    encrypted: &[crate::xmpp::omemo::Encrypted],
    kind: crate::xmpp::SealedKind,
) -> Stanza {
    let mut stanza = Message::chat(Some(Jid::from(to.clone())));
    stanza.id = Some(MessageId(id.to_owned()));
    for e in encrypted {
        stanza.payloads.push(e.to_element());
    }
    let profiles: Vec<_> = encrypted.iter().map(|e| e.profile()).collect();
    if kind == crate::xmpp::SealedKind::Silent {
        stanza
            .payloads
            .extend(crate::xmpp::omemo::hint_payloads(&profiles));
        stanza.payloads.push(OriginId { id: id.to_owned() }.into());
        return stanza.into();
    }
    if kind == crate::xmpp::SealedKind::Empty {
        stanza.payloads.push(
            tokio_xmpp::parsers::eme::ExplicitMessageEncryption {
                namespace: profiles
                    .first()
                    .map_or(crate::omemo::Profile::Legacy, |p| *p)
                    .namespace()
                    .to_owned(),
                name: Some("OMEMO".to_owned()),
            }
            .into(),
        );
        stanza.payloads.push(no_store());
        return stanza.into();
    }
    stanza
        .bodies
        .insert(Lang::new(), crate::xmpp::omemo::FALLBACK_BODY.to_owned());
    stanza
        .payloads
        .extend(crate::xmpp::omemo::hint_payloads(&profiles));
    if let Some(replaces) = replaces {
        stanza.payloads.push(
            Replace {
                id: MessageId(replaces.to_owned()),
            }
            .into(),
        );
    } else {
        stanza.payloads.push(ReceiptRequest.into());
    }
    stanza.payloads.push(OriginId { id: id.to_owned() }.into());
    stanza.payloads.push(Markable.into());
    stanza.payloads.push(WireChatState::Active.into());
    stanza.into()
}

/// `<no-store/>` (XEP-0334): keep this out of archives.
fn no_store() -> Element {
    Element::builder("no-store", HINTS).build()
}

/// A standalone chat state (XEP-0085), kept out of archives.
pub fn chat_state_stanza(to: BareJid, state: ChatState) -> Stanza {
    let mut message = Message::chat(Some(Jid::from(to))).with_payload(WireChatState::from(state));
    message.payloads.push(no_store());
    message.into()
}

/// A correction (XEP-0308) of our message `replaces`: a fresh id that is
/// also its origin-id.
pub fn correction_stanza(to: BareJid, id: &str, replaces: &str, body: &str) -> Stanza {
    let mut stanza = Message::chat(Some(Jid::from(to)))
        .with_body(Lang::new(), body.to_owned())
        .with_payload(Replace {
            id: MessageId(replaces.to_owned()),
        })
        .with_payload(OriginId { id: id.to_owned() })
        .with_payload(Markable)
        .with_payload(WireChatState::Active);
    stanza.id = Some(MessageId(id.to_owned()));
    stanza.into()
}

/// A displayed marker (XEP-0333): we read up to their message `id`.
pub fn displayed_stanza(to: BareJid, id: &str) -> Stanza {
    Message::chat(Some(Jid::from(to)))
        .with_payload(Displayed {
            id: MessageId(id.to_owned()),
        })
        .into()
}

/// A roster set that names a contact and keeps their groups.
pub fn roster_update(jid: BareJid, name: Option<String>, groups: Vec<String>) -> Iq {
    use tokio_xmpp::parsers::roster::Group;
    roster_push(Item {
        jid,
        name,
        subscription: RosterSubscription::None,
        ask: Ask::None,
        groups: groups.into_iter().map(Group).collect(),
        approved: None,
    })
}

/// A roster set that removes a contact (RFC 6121 §2.5).
pub fn roster_remove(jid: BareJid) -> Iq {
    roster_push(Item {
        jid,
        name: None,
        subscription: RosterSubscription::Remove,
        ask: Ask::None,
        groups: vec![],
        approved: None,
    })
}

/// A roster set of one item.
fn roster_push(item: Item) -> Iq {
    Iq::from_set(
        super::session::new_id(),
        Roster {
            ver: None,
            items: vec![item],
        },
    )
}

/// Block or unblock one address (XEP-0191).
pub fn block_request(id: String, jid: BareJid, blocked: bool) -> Iq {
    let items = vec![Jid::from(jid)];
    if blocked {
        Iq::from_set(id, Block { items })
    } else {
        Iq::from_set(id, Unblock { items })
    }
}

/// Ask for the block list (XEP-0191).
pub fn blocklist_request(id: String) -> Iq {
    Iq::from_get(id, BlocklistRequest)
}

/// The bare JIDs of a block list result. Full JIDs (a single resource
/// blocked) are skipped: Sotto blocks contacts, not devices.
pub fn blocklist(payload: Element) -> Result<Vec<BareJid>, ConvertError> {
    if !payload.is("blocklist", ns::BLOCKING) {
        return Err(ConvertError::Unexpected {
            expected: "blocklist",
        });
    }
    let list = BlocklistResult::try_from(payload).map_err(|e| ConvertError::Invalid {
        what: "block list",
        reason: e.to_string(),
    })?;
    Ok(list.items.into_iter().filter_map(bare_only).collect())
}

fn bare_only(jid: Jid) -> Option<BareJid> {
    jid.try_into_full().err()
}

/// What a block push (XEP-0191 §3.3, §3.4) changes: each bare address and
/// whether it is now blocked. An empty unblock means "everything
/// unblocked", given as an empty list with `false`.
pub fn block_push(payload: Element) -> Result<(Vec<BareJid>, bool), ConvertError> {
    let blocked = if payload.is("block", ns::BLOCKING) {
        true
    } else if payload.is("unblock", ns::BLOCKING) {
        false
    } else {
        return Err(ConvertError::Unexpected {
            expected: "block or unblock",
        });
    };
    let what = if blocked {
        "block push"
    } else {
        "unblock push"
    };
    let invalid = |reason: String| ConvertError::Invalid { what, reason };
    let items = if blocked {
        Block::try_from(payload)
            .map_err(|e| invalid(e.to_string()))?
            .items
    } else {
        Unblock::try_from(payload)
            .map_err(|e| invalid(e.to_string()))?
            .items
    };
    // A single resource blocked (from another client) is not a contact
    // blocked: skipped, as in the block list.
    let jids = items.into_iter().filter_map(bare_only).collect();
    Ok((jids, blocked))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<T: TryFrom<Element>>(xml: &str) -> T
    where
        T::Error: std::fmt::Debug,
    {
        let el: Element = xml.parse().expect("xml");
        T::try_from(el).expect("stanza")
    }

    #[test]
    fn roster_item_becomes_contact() {
        let item: Item = parse(
            "<item xmlns='jabber:iq:roster' jid='bob@example.org' name='Bob' \
             subscription='to' ask='subscribe'><group>Friends</group></item>",
        );
        let c = contact_from_item(item);
        assert_eq!(c.jid.as_str(), "bob@example.org");
        assert_eq!(c.name.as_deref(), Some("Bob"));
        assert_eq!(c.subscription, Subscription::To);
        assert!(c.pending_out);
        assert_eq!(c.groups, ["Friends"]);
    }

    #[test]
    fn presence_shapes() {
        let away: Presence = parse(
            "<presence xmlns='jabber:client' from='bob@example.org/phone'>\
             <show>away</show><status>lunch</status><priority>5</priority></presence>",
        );
        let PresenceMeaning::Update(update) = presence_meaning(&away) else {
            panic!("update expected");
        };
        assert_eq!(update.availability, Availability::Away);
        assert_eq!(update.status.as_deref(), Some("lunch"));
        assert_eq!(update.priority, 5);

        let gone: Presence = parse(
            "<presence xmlns='jabber:client' from='bob@example.org/phone' type='unavailable'/>",
        );
        assert!(matches!(
            presence_meaning(&gone),
            PresenceMeaning::Update(PresenceUpdate {
                availability: Availability::Unavailable,
                ..
            })
        ));

        let ask: Presence =
            parse("<presence xmlns='jabber:client' from='eve@example.org' type='subscribe'/>");
        assert_eq!(
            presence_meaning(&ask),
            PresenceMeaning::Subscription {
                from: "eve@example.org".parse().expect("jid"),
                change: SubscriptionChange::Requested
            }
        );
        let anonymous: Presence = parse("<presence xmlns='jabber:client'/>");
        assert_eq!(presence_meaning(&anonymous), PresenceMeaning::Ignore);
    }

    #[test]
    fn chat_message_with_ids_and_delay() {
        let m: Message = parse(
            "<message xmlns='jabber:client' from='bob@example.org/phone' to='a@example.org' \
             type='chat' id='m1'><body>hi</body>\
             <origin-id xmlns='urn:xmpp:sid:0' id='o1'/>\
             <stanza-id xmlns='urn:xmpp:sid:0' id='forged' by='bob@example.org'/>\
             <stanza-id xmlns='urn:xmpp:sid:0' id='s1' by='a@example.org'/>\
             <delay xmlns='urn:xmpp:delay' from='example.org' stamp='2026-01-02T03:04:05.250Z'/>\
             </message>",
        );
        let MessageMeaning::Chat(msg) = message_meaning(&m, "a@example.org") else {
            panic!("chat expected");
        };
        assert_eq!(msg.body, "hi");
        assert_eq!(msg.id.as_deref(), Some("m1"));
        assert_eq!(msg.origin_id.as_deref(), Some("o1"));
        assert_eq!(msg.stanza_id.as_deref(), Some("s1"), "forged stamp ignored");
        // Our server's stamp, to the millisecond.
        assert_eq!(
            msg.delayed,
            Some(Stamp {
                ms: 1_767_323_045_250,
                whole_second: false
            })
        );
        assert!(!msg.wants_receipt);
    }

    #[test]
    fn a_senders_own_delay_does_not_sort_a_live_message() {
        for delay in [
            // The sender's claim, far in the past or the future.
            "<delay xmlns='urn:xmpp:delay' from='bob@example.org/phone' stamp='2001-01-01T00:00:00Z'/>",
            "<delay xmlns='urn:xmpp:delay' stamp='2001-01-01T00:00:00Z'/>",
            "<delay xmlns='urn:xmpp:delay' from='example.net' stamp='2001-01-01T00:00:00Z'/>",
        ] {
            let m: Message = parse(&format!(
                "<message xmlns='jabber:client' from='bob@example.org/phone' type='chat'>\
                 <body>hi</body>{delay}</message>"
            ));
            let MessageMeaning::Chat(msg) = message_meaning(&m, "a@example.org") else {
                panic!("chat expected");
            };
            assert_eq!(msg.delayed, None, "{delay}");
        }
        // Our server's stamp in the future is capped at now.
        let m: Message = parse(
            "<message xmlns='jabber:client' from='bob@example.org/phone' type='chat'>\
             <body>hi</body><delay xmlns='urn:xmpp:delay' from='example.org' \
             stamp='2999-01-01T00:00:00Z'/></message>",
        );
        let MessageMeaning::Chat(msg) = message_meaning(&m, "a@example.org") else {
            panic!("chat expected");
        };
        assert!(msg.delayed.is_some_and(|t| t.ms <= now_ms()));
    }

    #[test]
    fn bodiless_and_group_messages_are_ignored() {
        let empty: Message = parse(
            "<message xmlns='jabber:client' from='b@x/y' type='chat'>\
             <thread>t1</thread></message>",
        );
        assert_eq!(message_meaning(&empty, "a@x"), MessageMeaning::Ignore);
        let group: Message = parse(
            "<message xmlns='jabber:client' from='room@muc.x/n' type='groupchat'><body>x</body></message>",
        );
        assert_eq!(message_meaning(&group, "a@x"), MessageMeaning::Ignore);
    }

    #[test]
    fn receipts_and_markers_name_the_message() {
        let r: Message = parse(
            "<message xmlns='jabber:client' from='b@x/y'>\
             <received xmlns='urn:xmpp:receipts' id='m1'/></message>",
        );
        assert_eq!(
            message_meaning(&r, "a@x"),
            MessageMeaning::Delivered { id: "m1".into() }
        );
        let d: Message = parse(
            "<message xmlns='jabber:client' from='b@x/y' type='chat'>\
             <displayed xmlns='urn:xmpp:chat-markers:0' id='m2'/></message>",
        );
        assert_eq!(
            message_meaning(&d, "a@x"),
            MessageMeaning::Displayed { id: "m2".into() }
        );
        let asks: Message = parse(
            "<message xmlns='jabber:client' from='b@x/y' type='chat' id='q'><body>x</body>\
             <request xmlns='urn:xmpp:receipts'/></message>",
        );
        let MessageMeaning::Chat(m) = message_meaning(&asks, "a@x") else {
            panic!("chat expected");
        };
        assert!(m.wants_receipt);
    }

    #[test]
    fn carbons_only_from_our_own_account() {
        let own: BareJid = "me@x".parse().expect("jid");
        let sent = "<message xmlns='jabber:client' from='me@x' to='me@x/laptop' type='chat'>\
             <sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>\
             <message xmlns='jabber:client' from='me@x/phone' to='bob@x' type='chat' id='o5'>\
             <body>from my phone</body><origin-id xmlns='urn:xmpp:sid:0' id='o5'/></message>\
             </forwarded></sent></message>";
        let m: Message = parse(sent);
        let c = carbon(&m, &own).expect("a sent carbon");
        assert!(c.outgoing);
        assert_eq!(c.peer.as_str(), "bob@x");
        assert_eq!(c.origin_id.as_deref(), Some("o5"));
        let forged: Message = parse(&sent.replace("from='me@x' to=", "from='eve@x' to="));
        assert_eq!(carbon(&forged, &own), None);
        let from_resource: Message =
            parse(&sent.replace("from='me@x' to=", "from='me@x/evil' to="));
        assert_eq!(carbon(&from_resource, &own), None);
    }

    #[test]
    fn archive_results_match_our_query() {
        let own: BareJid = "me@x".parse().expect("jid");
        let xml = "<message xmlns='jabber:client' to='me@x/laptop'>\
             <result xmlns='urn:xmpp:mam:2' queryid='q1' id='A7'>\
             <forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:00Z'/>\
             <message xmlns='jabber:client' from='bob@x/p' to='me@x' type='chat'><body>old</body></message>\
             </forwarded></result></message>";
        let m: Message = parse(xml);
        let (id, synced) = archive_result(&m, &own, "q1").expect("ours");
        assert_eq!(id, "A7");
        let synced = synced.expect("a chat message");
        assert!(!synced.outgoing);
        assert_eq!(synced.stanza_id.as_deref(), Some("A7"));
        assert_eq!(
            synced.sent_at,
            Some(Stamp {
                ms: 1_767_225_600_000,
                whole_second: true
            }),
            "Prosody-style whole seconds, said so"
        );
        assert!(archive_result(&m, &own, "other").is_none());
    }

    #[test]
    fn error_messages_carry_a_readable_reason() {
        let m: Message = parse(
            "<message xmlns='jabber:client' from='nobody@x' type='error' id='m9'>\
             <error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
             </error></message>",
        );
        assert_eq!(
            message_meaning(&m, "a@x"),
            MessageMeaning::Error {
                id: Some("m9".into()),
                reason: "the recipient's server says it cannot take the message".into()
            }
        );
    }

    #[test]
    fn outgoing_message_has_origin_id_and_receipt_request() {
        let stanza = outgoing_stanza(&OutgoingMessage {
            id: "abc".into(),
            to: "bob@example.org".parse().expect("jid"),
            body: "hello".into(),
            plain: false,
        });
        let el: Element = stanza.into();
        assert_eq!(el.attr("id"), Some("abc"));
        assert_eq!(el.attr("type"), Some("chat"));
        assert!(el.get_child("origin-id", ns::SID).is_some());
        assert!(el.get_child("request", ns::RECEIPTS).is_some());
        assert!(el.get_child("markable", ns::DISPLAYED_MARKERS).is_some());
        assert!(el.get_child("active", ns::CHATSTATES).is_some());
        assert_eq!(
            el.get_child("body", ns::DEFAULT_NS).map(|b| b.text()),
            Some("hello".into())
        );
    }

    fn jid(s: &str) -> BareJid {
        s.parse().expect("jid")
    }

    #[test]
    fn a_standalone_chat_state_is_its_own_meaning() {
        let m: Message = parse(
            "<message xmlns='jabber:client' from='bob@x/phone' type='chat'>\
             <paused xmlns='http://jabber.org/protocol/chatstates'/>\
             <no-store xmlns='urn:xmpp:hints'/></message>",
        );
        assert_eq!(
            message_meaning(&m, "a@x"),
            MessageMeaning::ChatState {
                from: "bob@x/phone".parse().expect("jid"),
                state: ChatState::Paused
            }
        );
        // An unknown element in the chat states namespace is no state.
        let odd: Message = parse(
            "<message xmlns='jabber:client' from='bob@x/phone' type='chat'>\
             <dancing xmlns='http://jabber.org/protocol/chatstates'/></message>",
        );
        assert_eq!(message_meaning(&odd, "a@x"), MessageMeaning::Ignore);
    }

    #[test]
    fn a_chat_state_beside_a_body_rides_on_the_message() {
        let m: Message = parse(
            "<message xmlns='jabber:client' from='bob@x/phone' type='chat' id='m1'>\
             <body>hi</body><active xmlns='http://jabber.org/protocol/chatstates'/>\
             <markable xmlns='urn:xmpp:chat-markers:0'/></message>",
        );
        let MessageMeaning::Chat(msg) = message_meaning(&m, "a@x") else {
            panic!("chat expected");
        };
        assert_eq!(msg.chat_state, Some(ChatState::Active));
        assert!(msg.markable);
        assert_eq!(msg.replaces, None);
        // A body without a state implies nothing.
        let plain: Message = parse(
            "<message xmlns='jabber:client' from='bob@x/phone' type='chat'><body>hi</body></message>",
        );
        let MessageMeaning::Chat(msg) = message_meaning(&plain, "a@x") else {
            panic!("chat expected");
        };
        assert_eq!(msg.chat_state, None);
        assert!(!msg.markable);
    }

    #[test]
    fn chat_state_stanza_is_kept_out_of_archives() {
        let el: Element = chat_state_stanza(jid("bob@x"), ChatState::Composing).into();
        assert_eq!(el.attr("type"), Some("chat"));
        assert_eq!(el.attr("to"), Some("bob@x"));
        assert!(el.get_child("composing", ns::CHATSTATES).is_some());
        assert!(el.get_child("no-store", HINTS).is_some());
        assert!(el.get_child("body", ns::DEFAULT_NS).is_none());
    }

    #[test]
    fn corrections_name_the_message_they_replace() {
        let xml = "<message xmlns='jabber:client' from='bob@x/phone' to='a@x' type='chat' id='c2'>\
             <body>fixed</body><replace xmlns='urn:xmpp:message-correct:0' id='o1'/>\
             <origin-id xmlns='urn:xmpp:sid:0' id='c2'/></message>";
        let m: Message = parse(xml);
        let MessageMeaning::Chat(msg) = message_meaning(&m, "a@x") else {
            panic!("chat expected");
        };
        assert_eq!(msg.replaces.as_deref(), Some("o1"));
        assert_eq!(msg.body, "fixed");
        // The same in a carbon of our own correction, sent from our phone.
        let own: BareJid = jid("a@x");
        let carbon_xml = "<message xmlns='jabber:client' from='a@x' to='a@x/laptop' type='chat'>\
             <sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>\
             <message xmlns='jabber:client' from='a@x/phone' to='bob@x' type='chat' id='c3'>\
             <body>mine, fixed</body><replace xmlns='urn:xmpp:message-correct:0' id='o9'/>\
             </message></forwarded></sent></message>";
        let c = carbon(&parse(carbon_xml), &own).expect("a sent carbon");
        assert!(c.outgoing);
        assert_eq!(c.replaces.as_deref(), Some("o9"));
        assert_eq!(c.id.as_deref(), Some("c3"));
        // An empty id refers to nothing.
        let empty: Message = parse(&xml.replace("id='o1'", "id=''"));
        let MessageMeaning::Chat(msg) = message_meaning(&empty, "a@x") else {
            panic!("chat expected");
        };
        assert_eq!(msg.replaces, None);
    }

    #[test]
    fn a_spoofed_correction_still_names_its_real_sender() {
        // Eve claims to correct Bob's message: the meaning carries Eve as
        // the sender, so the store (which checks the author) refuses it.
        let m: Message = parse(
            "<message xmlns='jabber:client' from='eve@x/laptop' type='chat' id='e1'>\
             <body>evil</body><replace xmlns='urn:xmpp:message-correct:0' id='o1'/></message>",
        );
        let MessageMeaning::Chat(msg) = message_meaning(&m, "a@x") else {
            panic!("chat expected");
        };
        let synced = SyncedMessage::from(msg);
        assert_eq!(synced.peer, jid("eve@x"));
        assert_eq!(synced.sender.to_bare(), jid("eve@x"));
        assert_eq!(synced.replaces.as_deref(), Some("o1"));
    }

    #[test]
    fn correction_stanza_shape() {
        let el: Element = correction_stanza(jid("bob@x"), "n2", "o1", "better").into();
        assert_eq!(el.attr("id"), Some("n2"));
        assert_eq!(
            el.get_child("replace", ns::MESSAGE_CORRECT)
                .and_then(|r| r.attr("id")),
            Some("o1")
        );
        assert_eq!(
            el.get_child("origin-id", ns::SID)
                .and_then(|o| o.attr("id")),
            Some("n2")
        );
        assert_eq!(
            el.get_child("body", ns::DEFAULT_NS).map(|b| b.text()),
            Some("better".into())
        );
    }

    #[test]
    fn displayed_marker_shape_and_meaning() {
        let el: Element = displayed_stanza(jid("bob@x"), "m7").into();
        assert_eq!(el.attr("type"), Some("chat"));
        assert_eq!(
            el.get_child("displayed", ns::DISPLAYED_MARKERS)
                .and_then(|d| d.attr("id")),
            Some("m7")
        );
        let back: Message =
            parse(&String::from(&el).replace("<message ", "<message from='bob@x/p' "));
        assert_eq!(
            message_meaning(&back, "a@x"),
            MessageMeaning::Displayed { id: "m7".into() }
        );
    }

    #[test]
    fn block_pushes_and_lists() {
        let block: Element = "<block xmlns='urn:xmpp:blocking'><item jid='eve@x'/>\
             <item jid='mallory@y/phone'/></block>"
            .parse()
            .expect("xml");
        assert_eq!(block_push(block), Ok((vec![jid("eve@x")], true)));
        let unblock: Element = "<unblock xmlns='urn:xmpp:blocking'><item jid='eve@x'/></unblock>"
            .parse()
            .expect("xml");
        assert_eq!(block_push(unblock), Ok((vec![jid("eve@x")], false)));
        let all: Element = "<unblock xmlns='urn:xmpp:blocking'/>".parse().expect("xml");
        assert_eq!(block_push(all), Ok((vec![], false)));
        let list: Element = "<blocklist xmlns='urn:xmpp:blocking'><item jid='eve@x'/></blocklist>"
            .parse()
            .expect("xml");
        assert_eq!(blocklist(list), Ok(vec![jid("eve@x")]));
    }

    #[test]
    fn bad_block_pushes_are_exact_errors() {
        let other: Element = "<query xmlns='jabber:iq:roster'/>".parse().expect("xml");
        assert_eq!(
            block_push(other.clone()),
            Err(ConvertError::Unexpected {
                expected: "block or unblock"
            })
        );
        assert_eq!(
            blocklist(other),
            Err(ConvertError::Unexpected {
                expected: "blocklist"
            })
        );
        let no_jid: Element = "<block xmlns='urn:xmpp:blocking'><item/></block>"
            .parse()
            .expect("xml");
        let err = block_push(no_jid).expect_err("an item without jid");
        assert!(
            matches!(
                &err,
                ConvertError::Invalid {
                    what: "block push",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().starts_with("invalid block push: "), "{err}");
        let bad_jid: Element = "<unblock xmlns='urn:xmpp:blocking'><item jid='@@'/></unblock>"
            .parse()
            .expect("xml");
        assert!(matches!(
            block_push(bad_jid),
            Err(ConvertError::Invalid {
                what: "unblock push",
                ..
            })
        ));
    }

    #[test]
    fn block_requests_and_roster_changes() {
        let el: Element = block_request("b1".into(), jid("eve@x"), true).into();
        assert_eq!(el.attr("type"), Some("set"));
        let item = el
            .get_child("block", ns::BLOCKING)
            .and_then(|b| b.get_child("item", ns::BLOCKING))
            .expect("item");
        assert_eq!(item.attr("jid"), Some("eve@x"));
        let el: Element = block_request("b2".into(), jid("eve@x"), false).into();
        assert!(el.get_child("unblock", ns::BLOCKING).is_some());
        let el: Element = roster_remove(jid("bob@x")).into();
        let item = el
            .get_child("query", ns::ROSTER)
            .and_then(|q| q.get_child("item", ns::ROSTER))
            .expect("item");
        assert_eq!(item.attr("subscription"), Some("remove"));
        let el: Element =
            roster_update(jid("bob@x"), Some("Robert".into()), vec!["Work".into()]).into();
        let item = el
            .get_child("query", ns::ROSTER)
            .and_then(|q| q.get_child("item", ns::ROSTER))
            .expect("item");
        assert_eq!(item.attr("name"), Some("Robert"));
        assert_eq!(
            item.get_child("group", ns::ROSTER).map(|g| g.text()),
            Some("Work".into())
        );
    }
}
