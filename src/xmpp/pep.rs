//! Push info over XMPP (`urn:sotto:knock:0`): our own published in PEP
//! for contacts with a presence subscription, a contact's fetched from
//! their PEP node, or a `<push-info/>` sent in a message. Only the JSON
//! text crosses this edge; `knock` validates it.

use tokio_xmpp::jid::BareJid;
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::data_forms::{DataForm, DataFormType, Field};
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::parsers::message::Message;
use tokio_xmpp::parsers::pubsub::pubsub::{Item, Items, PubSub, Publish, PublishOptions, Retract};
use tokio_xmpp::parsers::pubsub::{ItemId, NodeName};

/// The namespace, PEP node and element name of push info.
pub const KNOCK_NS: &str = "urn:sotto:knock:0";
const ITEM_ID: &str = "current";

fn push_info_element(json: &str) -> Element {
    Element::builder("push-info", KNOCK_NS)
        .append(json.to_owned())
        .build()
}

/// Publishes our push info, readable by contacts who see our presence.
pub fn publish(id: String, json: &str) -> Iq {
    let options = DataForm::new(
        DataFormType::Submit,
        "http://jabber.org/protocol/pubsub#publish-options",
        vec![
            Field::text_single("pubsub#access_model", "presence"),
            Field::text_single("pubsub#persist_items", "true"),
        ],
    );
    Iq::from_set(
        id,
        PubSub::Publish {
            publish: Publish {
                node: NodeName(KNOCK_NS.into()),
                items: vec![Item {
                    id: Some(ItemId(ITEM_ID.into())),
                    publisher: None,
                    payload: Some(push_info_element(json)),
                }],
            },
            publish_options: Some(PublishOptions {
                form: Some(options),
            }),
        },
    )
}

/// Takes our published push info down.
pub fn retract(id: String) -> Iq {
    Iq::from_set(
        id,
        PubSub::Retract(Retract {
            node: NodeName(KNOCK_NS.into()),
            notify: true,
            items: vec![Item {
                id: Some(ItemId(ITEM_ID.into())),
                publisher: None,
                payload: None,
            }],
        }),
    )
}

/// Asks a contact's PEP service for their push info.
pub fn fetch(id: String, contact: &BareJid) -> Iq {
    Iq::from_get(
        id,
        PubSub::Items(Items {
            max_items: Some(1),
            node: NodeName(KNOCK_NS.into()),
            subid: None,
            items: vec![],
        }),
    )
    .with_to(contact.clone().into())
}

/// The push-info JSON in an items result, if there is one.
pub fn from_items_result(payload: Option<Element>) -> Option<String> {
    items_result(payload?)
        .ok()?
        .into_iter()
        .find(|p| p.is("push-info", KNOCK_NS))
        .map(|p| p.text())
}

/// Why an items result could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a pubsub items result")]
pub struct NotItems;

/// The payloads of an items result (XEP-0060 §6.5), in order. Read by
/// hand rather than with xmpp-parsers' `PubSub`, which refuses anything
/// beside `<items/>`: ejabberd adds the result set (XEP-0059) that §6.5.4
/// allows, and a strict reader would see no device list there and send
/// in clear.
pub(crate) fn items_result(payload: Element) -> Result<Vec<Element>, NotItems> {
    const PUBSUB: &str = "http://jabber.org/protocol/pubsub";
    if !payload.is("pubsub", PUBSUB) {
        return Err(NotItems);
    }
    let items = payload.get_child("items", PUBSUB).ok_or(NotItems)?;
    Ok(items
        .children()
        .filter(|c| c.is("item", PUBSUB))
        .filter_map(|item| item.children().next().cloned())
        .collect())
}

/// A PEP notification (XEP-0163): whose service sent it, the node, and
/// the items published. Only a bare JID's own PEP service sends these;
/// anything else is `None`.
pub(crate) fn notification(
    message: &Message,
) -> Option<(
    BareJid,
    NodeName,
    Vec<tokio_xmpp::parsers::pubsub::event::Item>,
)> {
    use tokio_xmpp::parsers::pubsub::event::{Event, Payload};
    let from = message.from.as_ref()?;
    if from.resource().is_some() {
        return None;
    }
    let payload = message
        .payloads
        .iter()
        .find(|p| p.is("event", tokio_xmpp::parsers::ns::PUBSUB_EVENT))?;
    let Event { payload } = Event::try_from(payload.clone()).ok()?;
    let Payload::Items {
        node, published, ..
    } = payload
    else {
        return None;
    };
    Some((from.to_bare(), node, published))
}

/// The push-info JSON in a PEP notification, if this message is one.
pub fn from_event(message: &Message) -> Option<String> {
    let (_, node, published) = notification(message)?;
    if node.0 != KNOCK_NS {
        return None;
    }
    published
        .into_iter()
        .filter_map(|i| i.payload)
        .find(|p| p.is("push-info", KNOCK_NS))
        .map(|p| p.text())
}

/// The push-info JSON sent directly in a message, if any.
pub fn from_message(message: &Message) -> Option<String> {
    message
        .payloads
        .iter()
        .find(|p| p.is("push-info", KNOCK_NS))
        .map(Element::text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_info_is_read_beside_a_result_set() {
        let result: Element = "<pubsub xmlns='http://jabber.org/protocol/pubsub'>\
            <items node='urn:sotto:knock:0'><item id='current'>\
            <push-info xmlns='urn:sotto:knock:0'>{}</push-info></item></items>\
            <set xmlns='http://jabber.org/protocol/rsm'><count>1</count></set></pubsub>"
            .parse()
            .expect("xml");
        assert_eq!(from_items_result(Some(result)).as_deref(), Some("{}"));
        let foreign: Element = "<query xmlns='jabber:iq:roster'/>".parse().expect("xml");
        assert_eq!(items_result(foreign), Err(NotItems));
    }

    #[test]
    fn publish_carries_the_json_and_the_presence_access_model() {
        let el: Element =
            publish("p1".into(), r#"{"endpoint":"https://x/","tokens":["t"]}"#).into();
        let xml = String::from(&el);
        assert!(xml.contains("urn:sotto:knock:0"), "{xml}");
        assert!(xml.contains("pubsub#access_model"), "{xml}");
        assert!(xml.contains("presence"), "{xml}");
        assert!(
            xml.contains(r#"{"endpoint":"https://x/","tokens":["t"]}"#)
                || xml.contains("{&quot;endpoint&quot;"),
            "{xml}"
        );
    }

    #[test]
    fn reads_push_info_from_pep_notifications_of_bare_jids_only() {
        let xml = "<message xmlns='jabber:client' from='bob@x' type='headline'>\
            <event xmlns='http://jabber.org/protocol/pubsub#event'>\
            <items node='urn:sotto:knock:0'><item id='current'>\
            <push-info xmlns='urn:sotto:knock:0'>{}</push-info></item></items></event></message>";
        let m: Message = xml
            .parse::<Element>()
            .expect("xml")
            .try_into()
            .expect("message");
        assert_eq!(from_event(&m).as_deref(), Some("{}"));
        // Prosody's shape: a publisher on the item, an id on the message.
        let prosody = "<message xmlns='jabber:client' from='bob@x' type='headline' id='s3ig' to='a@x/r'>\
            <event xmlns='http://jabber.org/protocol/pubsub#event'>\
            <items node='urn:sotto:knock:0'><item id='current' publisher='bob@x'>\
            <push-info xmlns='urn:sotto:knock:0'>{}</push-info></item></items></event></message>";
        let m: Message = prosody
            .parse::<Element>()
            .expect("xml")
            .try_into()
            .expect("message");
        assert_eq!(from_event(&m).as_deref(), Some("{}"));
        let forged: Message = xml
            .replace("from='bob@x'", "from='bob@x/res'")
            .parse::<Element>()
            .expect("xml")
            .try_into()
            .expect("message");
        assert_eq!(from_event(&forged), None);
    }

    #[test]
    fn reads_push_info_from_results_and_messages() {
        let result: Element = "<pubsub xmlns='http://jabber.org/protocol/pubsub'>\
            <items node='urn:sotto:knock:0'><item id='current'>\
            <push-info xmlns='urn:sotto:knock:0'>{\"endpoint\":\"https://r/\",\"tokens\":[\"a\"]}</push-info>\
            </item></items></pubsub>"
            .parse()
            .expect("xml");
        assert_eq!(
            from_items_result(Some(result)).as_deref(),
            Some(r#"{"endpoint":"https://r/","tokens":["a"]}"#)
        );
        let empty: Element = "<pubsub xmlns='http://jabber.org/protocol/pubsub'>\
            <items node='urn:sotto:knock:0'/></pubsub>"
            .parse()
            .expect("xml");
        assert_eq!(from_items_result(Some(empty)), None);
        let message: Message = "<message xmlns='jabber:client' from='b@x/p' type='chat'>\
            <push-info xmlns='urn:sotto:knock:0'>{}</push-info></message>"
            .parse::<Element>()
            .expect("xml")
            .try_into()
            .expect("message");
        assert_eq!(from_message(&message).as_deref(), Some("{}"));
    }
}
