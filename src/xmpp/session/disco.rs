//! What Sotto tells peers it supports (XEP-0030, with entity
//! capabilities, XEP-0115): exactly what it implements, since peers that
//! check disco (as XEP-0085, XEP-0333 and XEP-0308 tell them to) only use
//! a feature with clients that list it.

use tokio_xmpp::parsers::caps::Caps;
use tokio_xmpp::parsers::disco::{DiscoInfoResult, Identity};
use tokio_xmpp::parsers::ns;

/// Where our entity capabilities are described.
pub const CAPS_NODE: &str = "https://sotto.im";

/// Each feature with what implements it; the tests prove every entry by
/// running that code.
pub const FEATURES: &[&str] = &[
    // We answer disco#info queries.
    ns::DISCO_INFO,
    // We answer pings.
    ns::PING,
    // Delivery receipts (XEP-0184): asked for on ours, sent for theirs.
    ns::RECEIPTS,
    // Chat states (XEP-0085), both ways.
    ns::CHATSTATES,
    // Chat markers (XEP-0333): displayed, both ways.
    ns::DISPLAYED_MARKERS,
    // Last message correction (XEP-0308), both ways.
    ns::MESSAGE_CORRECT,
    // Unique and stable stanza ids (XEP-0359): origin-id on ours.
    ns::SID,
    // Contacts' push info, pushed to us as they publish it (PEP +notify).
    concat!("urn:sotto:knock:0", "+notify"),
    // OMEMO device lists of both generations, pushed as they change.
    concat!("eu.siacs.conversations.axolotl.devicelist", "+notify"),
    concat!("urn:xmpp:omemo:2:devices", "+notify"),
    // Our bookmarks of rooms (XEP-0402), as our other clients change them.
    concat!("urn:xmpp:bookmarks:1", "+notify"),
];

/// Our disco#info answer, for a plain query or one on our caps node.
pub fn info(node: Option<String>) -> DiscoInfoResult {
    DiscoInfoResult {
        node,
        identities: vec![Identity::new("client", "pc", "en", "Sotto")],
        features: FEATURES.iter().map(|f| (*f).to_owned()).collect(),
        extensions: vec![],
    }
}

/// Our caps element for presence, computed from [`info`].
pub fn caps() -> Option<Caps> {
    use tokio_xmpp::parsers::caps::{compute_disco, hash_caps};
    use tokio_xmpp::parsers::hashes::Algo;
    let hash = hash_caps(&compute_disco(&info(None)), Algo::Sha_1).ok()?;
    Some(Caps::new(CAPS_NODE, hash))
}

/// Whether we advertise `feature`.
#[cfg(test)]
pub fn advertises(feature: &str) -> bool {
    FEATURES.contains(&feature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::omemo::Profile;
    use crate::xmpp::convert::{self, MessageMeaning};
    use crate::xmpp::omemo::pubsub;
    use crate::xmpp::pep::KNOCK_NS;
    use tokio_xmpp::minidom::Element;
    use tokio_xmpp::parsers::message::Message;

    fn message(xml: &str) -> Message {
        let el: Element = xml.parse().expect("xml");
        Message::try_from(el).expect("message")
    }

    /// Every advertised feature, with code that exercises it: adding a
    /// feature to the list without its proof here fails, and so does
    /// dropping one the code still relies on.
    #[test]
    fn the_advertised_list_is_exactly_what_the_code_does() {
        let mut proofs: Vec<(&str, fn())> = vec![
            (ns::DISCO_INFO, || {
                assert!(!info(None).features.is_empty());
            }),
            (ns::PING, || {
                // The session answers `<ping/>` gets with a result; the
                // dispatch is covered by the integration tests, the shape
                // here.
                let el: Element = "<ping xmlns='urn:xmpp:ping'/>".parse().expect("xml");
                assert!(el.is("ping", ns::PING));
            }),
            (ns::RECEIPTS, || {
                let asks = message(
                    "<message xmlns='jabber:client' from='b@x/y' type='chat' id='q'>\
                     <body>x</body><request xmlns='urn:xmpp:receipts'/></message>",
                );
                let MessageMeaning::Chat(m) = convert::message_meaning(&asks, "a@x") else {
                    panic!("chat expected");
                };
                assert!(m.wants_receipt);
            }),
            (ns::CHATSTATES, || {
                let typing = message(
                    "<message xmlns='jabber:client' from='b@x/y' type='chat'>\
                     <composing xmlns='http://jabber.org/protocol/chatstates'/></message>",
                );
                assert!(matches!(
                    convert::message_meaning(&typing, "a@x"),
                    MessageMeaning::ChatState { .. }
                ));
            }),
            (ns::DISPLAYED_MARKERS, || {
                let read = message(
                    "<message xmlns='jabber:client' from='b@x/y' type='chat'>\
                     <displayed xmlns='urn:xmpp:chat-markers:0' id='m2'/></message>",
                );
                assert!(matches!(
                    convert::message_meaning(&read, "a@x"),
                    MessageMeaning::Displayed { .. }
                ));
            }),
            (ns::MESSAGE_CORRECT, || {
                let fix = message(
                    "<message xmlns='jabber:client' from='b@x/y' type='chat'><body>y</body>\
                     <replace xmlns='urn:xmpp:message-correct:0' id='m1'/></message>",
                );
                let MessageMeaning::Chat(m) = convert::message_meaning(&fix, "a@x") else {
                    panic!("chat expected");
                };
                assert_eq!(m.replaces.as_deref(), Some("m1"));
            }),
            (ns::SID, || {
                let out = crate::model::OutgoingMessage {
                    id: "o1".into(),
                    to: "b@x".parse().expect("jid"),
                    body: "hi".into(),
                    plain: false,
                };
                let el: Element = convert::outgoing_stanza(&out).into();
                assert!(el.get_child("origin-id", ns::SID).is_some());
            }),
            ("urn:sotto:knock:0+notify", || {
                // The node the session subscribes to by advertising it.
                assert_eq!(format!("{KNOCK_NS}+notify"), "urn:sotto:knock:0+notify");
            }),
            ("eu.siacs.conversations.axolotl.devicelist+notify", || {
                // The session reads the notifications this asks for.
                let m = message(
                    "<message xmlns='jabber:client' from='b@x' type='headline'>\
                     <event xmlns='http://jabber.org/protocol/pubsub#event'>\
                     <items node='eu.siacs.conversations.axolotl.devicelist'><item id='current'>\
                     <list xmlns='eu.siacs.conversations.axolotl'><device id='3'/></list>\
                     </item></items></event></message>",
                );
                let (_, list) = pubsub::device_list_from_event(&m).expect("a list");
                assert_eq!(list.expect("parses").profile, Profile::Legacy);
            }),
            ("urn:xmpp:omemo:2:devices+notify", || {
                let m = message(
                    "<message xmlns='jabber:client' from='b@x' type='headline'>\
                     <event xmlns='http://jabber.org/protocol/pubsub#event'>\
                     <items node='urn:xmpp:omemo:2:devices'><item id='current'>\
                     <devices xmlns='urn:xmpp:omemo:2'><device id='3'/></devices>\
                     </item></items></event></message>",
                );
                let (_, list) = pubsub::device_list_from_event(&m).expect("a list");
                assert_eq!(list.expect("parses").profile, Profile::Omemo2);
            }),
        ];
        proofs.push(("urn:xmpp:bookmarks:1+notify", || {
            let m = message(
                "<message xmlns='jabber:client' from='a@x' type='headline'>\
                 <event xmlns='http://jabber.org/protocol/pubsub#event'>\
                 <items node='urn:xmpp:bookmarks:1'><item id='r@c.x'>\
                 <conference xmlns='urn:xmpp:bookmarks:1' autojoin='true'/>\
                 </item></items></event></message>",
            );
            let own = "a@x".parse().expect("jid");
            let changes = crate::xmpp::bookmarks::from_event(&m, &own).expect("ours");
            assert_eq!(changes.len(), 1);
        }));
        let proved: Vec<&str> = proofs.iter().map(|(f, _)| *f).collect();
        assert_eq!(proved, FEATURES, "each advertised feature needs a proof");
        for (_, proof) in proofs {
            proof();
        }
    }

    #[test]
    fn caps_are_computed_from_the_list() {
        let el: Element = caps().expect("caps").into();
        assert_eq!(el.attr("node"), Some(CAPS_NODE));
        assert_eq!(el.attr("hash"), Some("sha-1"));
        assert!(advertises("urn:sotto:knock:0+notify"));
        assert!(!advertises("jabber:iq:version"), "we do not answer it");
    }
}
