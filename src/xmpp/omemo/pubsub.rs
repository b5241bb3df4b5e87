//! OMEMO's PEP nodes (XEP-0384 with XEP-0163): publishing our device list
//! and bundle with the `open` access model the XEP requires (so strangers
//! can start sessions), fetching a contact's, and reading the device list
//! notifications PEP pushes to clients that advertise `+notify`. Pure
//! functions: the session sends and matches the IQs.

use tokio_xmpp::jid::BareJid;
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::data_forms::{DataForm, DataFormType, Field};
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::parsers::message::Message;
use tokio_xmpp::parsers::pubsub::pubsub::{Item, Items, PubSub, Publish, PublishOptions};
use tokio_xmpp::parsers::pubsub::{ItemId, NodeName};

use super::{DeviceList, Error, bundle_element, bundle_location, device_list_node, parse_bundle};
use crate::omemo::{Bundle, DeviceId, Profile};

/// The item id of a device list (both generations).
const CURRENT: &str = "current";

fn options(profile: Profile, bundles: bool) -> PublishOptions {
    let mut fields = vec![
        Field::text_single("pubsub#access_model", "open"),
        Field::text_single("pubsub#persist_items", "true"),
    ];
    if bundles && profile == Profile::Omemo2 {
        // One node holds every device's bundle: it must keep them all.
        fields.push(Field::text_single("pubsub#max_items", "max"));
    }
    PublishOptions {
        form: Some(DataForm::new(
            DataFormType::Submit,
            "http://jabber.org/protocol/pubsub#publish-options",
            fields,
        )),
    }
}

fn publish(
    id: String,
    node: String,
    item: String,
    payload: Element,
    options: PublishOptions,
) -> Iq {
    Iq::from_set(
        id,
        PubSub::Publish {
            publish: Publish {
                node: NodeName(node),
                items: vec![Item {
                    id: Some(ItemId(item)),
                    publisher: None,
                    payload: Some(payload),
                }],
            },
            publish_options: Some(options),
        },
    )
}

/// Publishes our account's device list of `list.profile`.
pub fn publish_device_list(id: String, list: &DeviceList) -> Iq {
    publish(
        id,
        device_list_node(list.profile).to_owned(),
        CURRENT.to_owned(),
        list.to_element(),
        options(list.profile, false),
    )
}

/// Publishes our device's bundle (its profile is the bundle's).
pub fn publish_bundle(id: String, device: DeviceId, bundle: &Bundle) -> Iq {
    let profile = bundle.profile();
    let (node, item) = bundle_location(profile, device);
    publish(
        id,
        node,
        item,
        bundle_element(bundle),
        options(profile, true),
    )
}

fn items_request(id: String, to: &BareJid, node: String, item: Option<String>) -> Iq {
    Iq::from_get(
        id,
        PubSub::Items(Items {
            max_items: item.is_none().then_some(1),
            node: NodeName(node),
            subid: None,
            items: item
                .into_iter()
                .map(|i| Item {
                    id: Some(ItemId(i)),
                    publisher: None,
                    payload: None,
                })
                .collect(),
        }),
    )
    .with_to(to.clone().into())
}

/// Asks `jid`'s PEP service for its device list of `profile`.
pub fn fetch_device_list(id: String, jid: &BareJid, profile: Profile) -> Iq {
    items_request(id, jid, device_list_node(profile).to_owned(), None)
}

/// Asks `jid`'s PEP service for the bundle of one of its devices.
pub fn fetch_bundle(id: String, jid: &BareJid, profile: Profile, device: DeviceId) -> Iq {
    let (node, item) = bundle_location(profile, device);
    items_request(id, jid, node, Some(item))
}

fn items_of(payload: Option<Element>) -> Result<Vec<Element>, Error> {
    let Some(payload) = payload else {
        return Ok(Vec::new());
    };
    match PubSub::try_from(payload).map_err(super::xml_error)? {
        PubSub::Items(items) => Ok(items.items.into_iter().filter_map(|i| i.payload).collect()),
        _ => Err(Error::Xml("not an items result".into())),
    }
}

/// The device list in an items result; an empty node is an empty list.
pub fn device_list_from_result(
    profile: Profile,
    payload: Option<Element>,
) -> Result<DeviceList, Error> {
    match items_of(payload)?.into_iter().next() {
        Some(item) => {
            let list = DeviceList::from_element(item)?;
            if list.profile != profile {
                return Err(Error::Xml("a device list of the other generation".into()));
            }
            Ok(list)
        }
        None => Ok(DeviceList {
            profile,
            devices: Vec::new(),
        }),
    }
}

/// The bundle in an items result, verified.
pub fn bundle_from_result(profile: Profile, payload: Option<Element>) -> Result<Bundle, Error> {
    let item = items_of(payload)?
        .into_iter()
        .next()
        .ok_or(Error::MissingBundleField("item"))?;
    let bundle = parse_bundle(item)?;
    if bundle.profile() != profile {
        return Err(Error::Xml("a bundle of the other generation".into()));
    }
    Ok(bundle)
}

/// A device list in a PEP notification: whose, and the list. Only a bare
/// JID's own PEP service sends these; anything else is ignored.
pub fn device_list_from_event(message: &Message) -> Option<(BareJid, Result<DeviceList, Error>)> {
    let (from, node, published) = crate::xmpp::pep::notification(message)?;
    let profile = [Profile::Legacy, Profile::Omemo2]
        .into_iter()
        .find(|p| device_list_node(*p) == node.0)?;
    let list = match published.into_iter().find_map(|i| i.payload) {
        Some(item) => DeviceList::from_element(item).and_then(|l| {
            if l.profile == profile {
                Ok(l)
            } else {
                Err(Error::Xml("a device list of the other generation".into()))
            }
        }),
        None => Ok(DeviceList {
            profile,
            devices: Vec::new(),
        }),
    };
    Some((from, list))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

    use super::*;
    use crate::omemo::{IdentityKeyPair, PreKeyPair, SignedPreKeyPair};
    use crate::xmpp::omemo::Device;

    fn id(n: u32) -> DeviceId {
        DeviceId::new(n).expect("id")
    }

    fn message(xml: &str) -> Message {
        xml.parse::<Element>()
            .expect("xml")
            .try_into()
            .expect("message")
    }

    #[test]
    fn publications_are_open_and_omemo2_bundles_keep_every_item() {
        let list = DeviceList {
            profile: Profile::Omemo2,
            devices: vec![Device {
                id: id(7),
                label: None,
            }],
        };
        let xml = String::from(&Element::from(publish_device_list("a".into(), &list)));
        assert!(xml.contains("urn:xmpp:omemo:2:devices"), "{xml}");
        assert!(xml.contains("<value>open</value>"), "{xml}");
        assert!(xml.contains("id='current'"), "{xml}");
        assert!(!xml.contains("max_items"), "{xml}");

        let mut rng = rand::rng();
        let identity = IdentityKeyPair::generate(&mut rng);
        for profile in [Profile::Legacy, Profile::Omemo2] {
            let spk = SignedPreKeyPair::generate(&mut rng, &identity, profile, 1, 0);
            let pks = [PreKeyPair::generate(&mut rng, 1)];
            let bundle = Bundle::new(&identity, &spk, &pks);
            let xml = String::from(&Element::from(publish_bundle("b".into(), id(42), &bundle)));
            assert!(xml.contains("<value>open</value>"), "{xml}");
            match profile {
                Profile::Legacy => {
                    assert!(
                        xml.contains("eu.siacs.conversations.axolotl.bundles:42"),
                        "{xml}"
                    );
                    assert!(!xml.contains("max_items"), "{xml}");
                }
                Profile::Omemo2 => {
                    assert!(xml.contains("id='42'"), "{xml}");
                    assert!(xml.contains("<value>max</value>"), "{xml}");
                }
            }
        }
    }

    #[test]
    fn results_give_lists_and_verified_bundles() {
        let empty: Element = "<pubsub xmlns='http://jabber.org/protocol/pubsub'>\
            <items node='eu.siacs.conversations.axolotl.devicelist'/></pubsub>"
            .parse()
            .expect("xml");
        let list = device_list_from_result(Profile::Legacy, Some(empty)).expect("empty list");
        assert!(list.devices.is_empty());
        let full: Element = "<pubsub xmlns='http://jabber.org/protocol/pubsub'>\
            <items node='eu.siacs.conversations.axolotl.devicelist'><item id='current'>\
            <list xmlns='eu.siacs.conversations.axolotl'><device id='5'/><device id='0'/></list>\
            </item></items></pubsub>"
            .parse()
            .expect("xml");
        let list = device_list_from_result(Profile::Legacy, Some(full.clone())).expect("list");
        assert!(list.contains(id(5)));
        assert_eq!(list.devices.len(), 1, "id 0 is invalid and left out");
        assert!(device_list_from_result(Profile::Omemo2, Some(full)).is_err());

        let mut rng = rand::rng();
        let identity = IdentityKeyPair::generate(&mut rng);
        let spk = SignedPreKeyPair::generate(&mut rng, &identity, Profile::Omemo2, 3, 0);
        let bundle = Bundle::new(&identity, &spk, &[PreKeyPair::generate(&mut rng, 9)]);
        let result: Element = format!(
            "<pubsub xmlns='http://jabber.org/protocol/pubsub'>\
             <items node='urn:xmpp:omemo:2:bundles'><item id='42'>{}</item></items></pubsub>",
            String::from(&bundle_element(&bundle))
        )
        .parse()
        .expect("xml");
        assert_eq!(
            bundle_from_result(Profile::Omemo2, Some(result.clone())).expect("bundle"),
            bundle
        );
        assert!(bundle_from_result(Profile::Legacy, Some(result)).is_err());
        assert!(matches!(
            bundle_from_result(Profile::Omemo2, None),
            Err(Error::MissingBundleField(_))
        ));
    }

    #[test]
    fn device_list_notifications_come_only_from_bare_jids() {
        let xml = "<message xmlns='jabber:client' from='bob@x' type='headline'>\
            <event xmlns='http://jabber.org/protocol/pubsub#event'>\
            <items node='urn:xmpp:omemo:2:devices'><item id='current'>\
            <devices xmlns='urn:xmpp:omemo:2'><device id='12' label='phone'/></devices>\
            </item></items></event></message>";
        let (jid, list) = device_list_from_event(&message(xml)).expect("a device list");
        assert_eq!(jid.as_str(), "bob@x");
        let list = list.expect("parses");
        assert_eq!(list.profile, Profile::Omemo2);
        assert_eq!(list.devices[0].label.as_deref(), Some("phone"));
        assert!(device_list_from_event(&message(&xml.replace("bob@x'", "bob@x/r'"))).is_none());
        let other = xml.replace("urn:xmpp:omemo:2:devices", "urn:sotto:knock:0");
        assert!(device_list_from_event(&message(&other)).is_none());
        // A list of the wrong generation on a node is an error, not a list.
        let mixed = xml.replace(
            "urn:xmpp:omemo:2:devices",
            "eu.siacs.conversations.axolotl.devicelist",
        );
        assert!(
            device_list_from_event(&message(&mixed))
                .expect("event")
                .1
                .is_err()
        );
    }
}
