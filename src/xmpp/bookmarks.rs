//! Bookmarks of rooms, so that the rooms an account is in follow it to
//! its other clients: PEP native bookmarks (XEP-0402,
//! `urn:xmpp:bookmarks:1`), and the older private-storage form (XEP-0048)
//! read where a server has only that.

use tokio_xmpp::jid::BareJid;
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::data_forms::{DataForm, DataFormType, Field};
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::parsers::message::Message;
use tokio_xmpp::parsers::pubsub::pubsub::{Item, Items, PubSub, Publish, PublishOptions};
use tokio_xmpp::parsers::pubsub::{ItemId, NodeName};

use crate::model::Bookmark;

pub const NODE: &str = "urn:xmpp:bookmarks:1";
const PUBSUB: &str = "http://jabber.org/protocol/pubsub";
const PUBSUB_EVENT: &str = "http://jabber.org/protocol/pubsub#event";
const PRIVATE: &str = "jabber:iq:private";
const LEGACY: &str = "storage:bookmarks";
/// Names, nicknames and passwords longer than this are someone's mistake
/// (or malice), not a bookmark.
const MAX_FIELD: usize = 1024;

/// Asks our PEP service for all our bookmarks.
pub fn fetch(id: String) -> Iq {
    Iq::from_get(
        id,
        PubSub::Items(Items {
            max_items: None,
            node: NodeName(NODE.into()),
            subid: None,
            items: vec![],
        }),
    )
}

/// Asks for the XEP-0048 bookmarks in private XML storage.
pub fn fetch_private(id: String) -> Iq {
    let query = Element::builder("query", PRIVATE)
        .append(Element::builder("storage", LEGACY).build())
        .build();
    Iq::Get {
        from: None,
        to: None,
        id,
        payload: query,
    }
}

fn conference(b: &Bookmark) -> Element {
    use tokio_xmpp::minidom::rxml::xml_ncname;
    let mut el = Element::builder("conference", NODE).attr(
        xml_ncname!("autojoin").into(),
        if b.autojoin { "true" } else { "false" },
    );
    if let Some(name) = &b.name {
        el = el.attr(xml_ncname!("name").into(), name.as_str());
    }
    if let Some(nick) = &b.nick {
        el = el.append(Element::builder("nick", NODE).append(nick.as_str()).build());
    }
    if let Some(password) = &b.password {
        el = el.append(
            Element::builder("password", NODE)
                .append(password.as_str())
                .build(),
        );
    }
    el.build()
}

/// Publishes one bookmark (its item id is the room's address), readable
/// by our account only (XEP-0402 §3). `sized`: the publish-options say
/// the node keeps every item; without, they say only what every server
/// reads there (ejabberd 23.01 refuses the rest), and [`configure`] sizes
/// the node after.
pub fn publish(id: String, bookmark: &Bookmark, sized: bool) -> Iq {
    let mut fields = vec![
        Field::text_single("pubsub#persist_items", "true"),
        Field::text_single("pubsub#access_model", "whitelist"),
    ];
    if sized {
        fields.push(Field::text_single("pubsub#max_items", "max"));
        fields.push(Field::text_single(
            "pubsub#send_last_published_item",
            "never",
        ));
    }
    let options = DataForm::new(
        DataFormType::Submit,
        "http://jabber.org/protocol/pubsub#publish-options",
        fields,
    );
    Iq::from_set(
        id,
        PubSub::Publish {
            publish: Publish {
                node: NodeName(NODE.into()),
                items: vec![Item {
                    id: Some(ItemId(bookmark.room.to_string())),
                    publisher: None,
                    payload: Some(conference(bookmark)),
                }],
            },
            publish_options: Some(PublishOptions {
                form: Some(options),
            }),
        },
    )
}

/// Makes our bookmarks node keep every bookmark: `max` items, or (for a
/// server that reads only numbers) as many as anyone has rooms.
pub fn configure(id: String, max: bool) -> Iq {
    use tokio_xmpp::parsers::pubsub::owner::{Owner, Payload as OwnerPayload};
    Iq::from_set(
        id,
        Owner {
            payload: OwnerPayload::Configure {
                node: Some(NodeName(NODE.into())),
                form: Some(DataForm::new(
                    DataFormType::Submit,
                    "http://jabber.org/protocol/pubsub#node_config",
                    vec![
                        Field::text_single("pubsub#persist_items", "true"),
                        Field::text_single("pubsub#max_items", if max { "max" } else { "1000" }),
                        Field::text_single("pubsub#access_model", "whitelist"),
                        Field::text_single("pubsub#send_last_published_item", "never"),
                    ],
                )),
            },
        },
    )
}

fn field(text: String) -> Option<String> {
    let text = text.trim().to_owned();
    (!text.is_empty() && text.len() <= MAX_FIELD).then_some(text)
}

fn truthy(value: Option<&str>) -> bool {
    matches!(value, Some("true" | "1"))
}

/// A `<conference/>` of either generation, for the room `room`.
fn read_conference(room: &str, el: &Element, ns: &str) -> Option<Bookmark> {
    let room: BareJid = room.parse().ok()?;
    // A bookmark of a server or a person is not a room.
    room.node()?;
    Some(Bookmark {
        room,
        name: el.attr("name").and_then(|n| field(n.to_owned())),
        nick: el.get_child("nick", ns).and_then(|n| field(n.text())),
        password: el.get_child("password", ns).and_then(|p| field(p.text())),
        autojoin: truthy(el.attr("autojoin")),
    })
}

/// The bookmarks in an items result of our bookmarks node.
pub fn from_items(payload: &Element) -> Option<Vec<Bookmark>> {
    if !payload.is("pubsub", PUBSUB) {
        return None;
    }
    let items = payload.get_child("items", PUBSUB)?;
    Some(
        items
            .children()
            .filter(|c| c.is("item", PUBSUB))
            .filter_map(|item| {
                let conference = item.get_child("conference", NODE)?;
                read_conference(item.attr("id")?, conference, NODE)
            })
            .collect(),
    )
}

/// The bookmarks in a private-storage answer (XEP-0048).
pub fn from_private(payload: &Element) -> Option<Vec<Bookmark>> {
    let storage = payload
        .get_child("storage", LEGACY)
        .filter(|_| payload.is("query", PRIVATE))?;
    Some(
        storage
            .children()
            .filter(|c| c.is("conference", LEGACY))
            .filter_map(|c| read_conference(c.attr("jid")?, c, LEGACY))
            .collect(),
    )
}

/// What a notification from our bookmarks node says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookmarkChange {
    Set(Bookmark),
    Removed(BareJid),
}

/// The changes a PEP notification of our own bookmarks carries; only our
/// own account's service may send them.
pub fn from_event(message: &Message, own: &BareJid) -> Option<Vec<BookmarkChange>> {
    let from = message.from.as_ref()?;
    if from.resource().is_some() || from.to_bare() != *own {
        return None;
    }
    let event = message
        .payloads
        .iter()
        .find(|p| p.is("event", PUBSUB_EVENT))?;
    let items = event
        .get_child("items", PUBSUB_EVENT)
        .filter(|i| i.attr("node") == Some(NODE))?;
    let mut changes = Vec::new();
    for child in items.children() {
        let Some(id) = child.attr("id") else { continue };
        if child.is("item", PUBSUB_EVENT) {
            if let Some(b) = child
                .get_child("conference", NODE)
                .and_then(|c| read_conference(id, c, NODE))
            {
                changes.push(BookmarkChange::Set(b));
            }
        } else if child.is("retract", PUBSUB_EVENT)
            && let Ok(room) = id.parse::<BareJid>()
        {
            changes.push(BookmarkChange::Removed(room));
        }
    }
    Some(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(xml: &str) -> Element {
        xml.parse().expect("xml")
    }

    #[test]
    fn bookmarks_round_trip_through_their_pep_form() {
        let b = Bookmark {
            room: "tea@conference.x".parse().expect("jid"),
            name: Some("Tea".into()),
            nick: Some("me".into()),
            password: None,
            autojoin: true,
        };
        let Iq::Set { payload, .. } = publish("p1".into(), &b, true) else {
            panic!("a set");
        };
        let publish = payload.get_child("publish", PUBSUB).expect("publish");
        let item = publish.get_child("item", PUBSUB).expect("item");
        assert_eq!(item.attr("id"), Some("tea@conference.x"));
        let result = el(&format!(
            "<pubsub xmlns='{PUBSUB}'><items node='{NODE}'>{}</items></pubsub>",
            String::from(&item.clone())
        ));
        assert_eq!(from_items(&result), Some(vec![b]));
    }

    #[test]
    fn private_storage_bookmarks_are_read() {
        let answer = el(
            "<query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'>\
             <conference jid='tea@conference.x' autojoin='1' name='Tea'><nick>me</nick></conference>\
             <conference jid='conference.x' autojoin='1'/>\
             <url url='https://x' name='not a room'/></storage></query>",
        );
        let found = from_private(&answer).expect("storage");
        assert_eq!(found.len(), 1, "a server is not a room");
        assert!(found[0].autojoin);
        assert_eq!(found[0].nick.as_deref(), Some("me"));
    }

    #[test]
    fn only_our_own_service_changes_our_bookmarks() {
        let own: BareJid = "me@x".parse().expect("jid");
        let xml = |from: &str| {
            format!(
                "<message xmlns='jabber:client' from='{from}' type='headline'>\
                 <event xmlns='{PUBSUB_EVENT}'><items node='{NODE}'>\
                 <item id='tea@conference.x'><conference xmlns='{NODE}' autojoin='true'/></item>\
                 <retract id='old@conference.x'/></items></event></message>"
            )
        };
        let m = Message::try_from(el(&xml("me@x"))).expect("message");
        let changes = from_event(&m, &own).expect("ours");
        assert_eq!(changes.len(), 2);
        assert!(
            matches!(&changes[1], BookmarkChange::Removed(r) if r.as_str() == "old@conference.x")
        );
        let forged = Message::try_from(el(&xml("eve@x"))).expect("message");
        assert_eq!(from_event(&forged, &own), None);
    }
}
