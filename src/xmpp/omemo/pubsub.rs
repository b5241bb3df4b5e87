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
use tokio_xmpp::parsers::pubsub::owner::{Owner, Payload as OwnerPayload};
use tokio_xmpp::parsers::pubsub::pubsub::{Item, Items, PubSub, Publish, PublishOptions};
use tokio_xmpp::parsers::pubsub::{ItemId, NodeName};

use super::{DeviceList, Error, bundle_element, bundle_location, device_list_node, parse_bundle};
use crate::omemo::{Bundle, DeviceId, Profile};

/// The item id of a device list (both generations).
const CURRENT: &str = "current";

/// The OMEMO 2 bundles node's size when a server refuses XEP-0060's
/// `max`: far more devices than an account has, and under ejabberd's
/// ceiling for a node (`max_items_node`, 1000 unless an admin lowers it).
const BUNDLES_CAPACITY: &str = "64";

/// How a request spells the size of OMEMO 2's one bundles node, which
/// must keep every device's item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// XEP-0060's `max`: the largest the server allows.
    Max,
    /// [`BUNDLES_CAPACITY`], for servers that read only numbers.
    Number,
    /// Left out: some servers refuse a publish-options field they do not
    /// know (ejabberd 23.01 knows only the access model and persistence
    /// there), so the size is configured after.
    Unsaid,
}

/// Something of ours on PEP: a device list, or our device's bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Publication {
    DeviceList(DeviceList),
    Bundle(DeviceId, Bundle),
}

impl Publication {
    pub fn profile(&self) -> Profile {
        match self {
            Self::DeviceList(list) => list.profile,
            Self::Bundle(_, bundle) => bundle.profile(),
        }
    }

    pub fn is_bundle(&self) -> bool {
        matches!(self, Self::Bundle(..))
    }

    /// Whether its node settings include a size, which some servers
    /// refuse to read.
    pub fn asks_max_items(&self) -> bool {
        self.is_bundle() && self.profile() == Profile::Omemo2
    }

    /// Whether both replace the same item of the same node.
    pub fn same_item(&self, other: &Self) -> bool {
        self.location() == other.location()
    }

    fn location(&self) -> (String, String) {
        match self {
            Self::DeviceList(list) => (
                device_list_node(list.profile).to_owned(),
                CURRENT.to_owned(),
            ),
            Self::Bundle(device, bundle) => bundle_location(bundle.profile(), *device),
        }
    }

    /// The node settings XEP-0384 requires: open (so strangers can start
    /// sessions), persistent, and for OMEMO 2's one bundles node, room for
    /// every device's item.
    fn fields(&self, size: Size) -> Vec<Field> {
        let mut fields = vec![
            Field::text_single("pubsub#access_model", "open"),
            Field::text_single("pubsub#persist_items", "true"),
        ];
        if self.asks_max_items() {
            match size {
                Size::Max => fields.push(Field::text_single("pubsub#max_items", "max")),
                Size::Number => {
                    fields.push(Field::text_single("pubsub#max_items", BUNDLES_CAPACITY));
                }
                Size::Unsaid => {}
            }
        }
        fields
    }

    /// The publish request, with the settings as publish-options (the
    /// server refuses with `precondition-not-met` if the node differs).
    pub fn publish(&self, id: String, size: Size) -> Iq {
        let (node, item) = self.location();
        let payload = match self {
            Self::DeviceList(list) => list.to_element(),
            Self::Bundle(_, bundle) => bundle_element(bundle),
        };
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
                publish_options: Some(PublishOptions {
                    form: Some(DataForm::new(
                        DataFormType::Submit,
                        "http://jabber.org/protocol/pubsub#publish-options",
                        self.fields(size),
                    )),
                }),
            },
        )
    }

    /// Reconfigures an existing node (made by another client with other
    /// settings) to the settings a publication needs.
    pub fn configure(&self, id: String, size: Size) -> Iq {
        let (node, _) = self.location();
        Iq::from_set(
            id,
            Owner {
                payload: OwnerPayload::Configure {
                    node: Some(NodeName(node)),
                    form: Some(DataForm::new(
                        DataFormType::Submit,
                        "http://jabber.org/protocol/pubsub#node_config",
                        self.fields(size),
                    )),
                },
            },
        )
    }
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
    crate::xmpp::pep::items_result(payload).map_err(|e| Error::Xml(e.to_string()))
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
        let list = Publication::DeviceList(DeviceList {
            profile: Profile::Omemo2,
            devices: vec![Device {
                id: id(7),
                label: None,
            }],
        });
        let xml = String::from(&Element::from(list.publish("a".into(), Size::Max)));
        assert!(xml.contains("urn:xmpp:omemo:2:devices"), "{xml}");
        assert!(xml.contains("<value>open</value>"), "{xml}");
        assert!(xml.contains("id='current'"), "{xml}");
        assert!(!xml.contains("max_items"), "{xml}");
        assert!(!list.asks_max_items());

        let mut rng = rand::rng();
        let identity = IdentityKeyPair::generate(&mut rng);
        for profile in [Profile::Legacy, Profile::Omemo2] {
            let spk = SignedPreKeyPair::generate(&mut rng, &identity, profile, 1, 0);
            let pks = [PreKeyPair::generate(&mut rng, 1)];
            let bundle = Publication::Bundle(id(42), Bundle::new(&identity, &spk, &pks));
            let xml = String::from(&Element::from(bundle.publish("b".into(), Size::Max)));
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
                    let unsaid =
                        String::from(&Element::from(bundle.publish("c".into(), Size::Unsaid)));
                    assert!(!unsaid.contains("max_items"), "{unsaid}");
                    assert!(unsaid.contains("<value>open</value>"), "{unsaid}");
                }
            }
        }
    }

    #[test]
    fn a_node_is_reconfigured_with_the_settings_its_publication_needs() {
        let mut rng = rand::rng();
        let identity = IdentityKeyPair::generate(&mut rng);
        let spk = SignedPreKeyPair::generate(&mut rng, &identity, Profile::Omemo2, 1, 0);
        let pks = [PreKeyPair::generate(&mut rng, 1)];
        let bundle = Publication::Bundle(id(42), Bundle::new(&identity, &spk, &pks));
        let xml = String::from(&Element::from(bundle.configure("d".into(), Size::Number)));
        assert!(
            xml.contains("http://jabber.org/protocol/pubsub#owner"),
            "{xml}"
        );
        assert!(xml.contains("node='urn:xmpp:omemo:2:bundles'"), "{xml}");
        assert!(xml.contains("pubsub#node_config"), "{xml}");
        assert!(xml.contains("<value>open</value>"), "{xml}");
        assert!(xml.contains("<value>64</value>"), "{xml}");
        assert!(
            !xml.contains("<item"),
            "a configuration carries no item: {xml}"
        );
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
        // As ejabberd answers: the items, then a result set.
        let with_rsm: Element = "<pubsub xmlns='http://jabber.org/protocol/pubsub'>\
            <items node='urn:xmpp:omemo:2:devices'><item id='current'>\
            <devices xmlns='urn:xmpp:omemo:2'><device id='9'/></devices></item></items>\
            <set xmlns='http://jabber.org/protocol/rsm'><first>current</first>\
            <last>current</last><count>1</count></set></pubsub>"
            .parse()
            .expect("xml");
        let list = device_list_from_result(Profile::Omemo2, Some(with_rsm)).expect("list");
        assert!(list.contains(id(9)));
        let not_items: Element = "<pubsub xmlns='http://jabber.org/protocol/pubsub'>\
            <subscriptions/></pubsub>"
            .parse()
            .expect("xml");
        assert!(device_list_from_result(Profile::Omemo2, Some(not_items)).is_err());

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
