//! OMEMO on the wire (XEP-0384): the `<encrypted/>` element, device lists
//! and bundles of both generations, the XEP-0420 envelope OMEMO 2 encrypts,
//! and the fallback a client without OMEMO sees.
//!
//! Legacy (`eu.siacs.conversations.axolotl`) elements are xmpp-parsers'
//! `legacy_omemo`; the `urn:xmpp:omemo:2` and SCE ones are ours
//! ([`elements`], [`sce`]), defined with xso the same way. Everything here
//! converts between those elements and namespace-neutral types
//! ([`Encrypted`], [`DeviceList`], [`crate::omemo::Bundle`]); the
//! cryptography is [`crate::omemo`]'s, which never sees XML.

// Everything here parses what the network sent: no code path may panic.
#![warn(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

pub mod elements;
pub mod pubsub;
pub mod sce;

#[cfg(test)]
mod tests;

use tokio_xmpp::jid::BareJid;
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::eme::ExplicitMessageEncryption;
use tokio_xmpp::parsers::legacy_omemo as legacy;

use crate::omemo::{self, DeviceId, Profile};

/// `eu.siacs.conversations.axolotl`.
pub const LEGACY_NS: &str = "eu.siacs.conversations.axolotl";
/// The legacy device list node.
pub const LEGACY_DEVICE_LIST_NODE: &str = "eu.siacs.conversations.axolotl.devicelist";
/// The legacy bundle node prefix; the device id follows a colon.
pub const LEGACY_BUNDLES_NODE_PREFIX: &str = "eu.siacs.conversations.axolotl.bundles";
/// The OMEMO 2 device list node.
pub const OMEMO2_DEVICES_NODE: &str = "urn:xmpp:omemo:2:devices";
/// The OMEMO 2 bundle node (one item per device, the item id is the device
/// id).
pub const OMEMO2_BUNDLES_NODE: &str = "urn:xmpp:omemo:2:bundles";

/// The `<body/>` an encrypted message carries for clients without OMEMO:
/// a fixed notice (the one Gajim, Dino, Profanity and Monal send), never
/// the message text.
pub const FALLBACK_BODY: &str =
    "You received a message encrypted with OMEMO but your client doesn't support OMEMO.";

const HINTS_NS: &str = "urn:xmpp:hints";

/// Malformed or unusable OMEMO XML.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The element is not one of the OMEMO elements asked for.
    #[error("expected an OMEMO {expected}, got <{name} xmlns='{ns}'>")]
    UnexpectedElement {
        /// What was expected.
        expected: &'static str,
        /// The element's name.
        name: String,
        /// The element's namespace.
        ns: String,
    },
    /// The element does not have the structure the XEP defines (missing or
    /// repeated children, bad attribute values, bad base64).
    #[error("malformed OMEMO element: {0}")]
    Xml(String),
    /// A device id outside 1..2^31-1.
    #[error("invalid OMEMO device id {0}")]
    InvalidDeviceId(u32),
    /// A legacy bundle lacks a part.
    #[error("the bundle lacks its {0}")]
    MissingBundleField(&'static str),
    /// A legacy header's IV is neither 12 nor 16 bytes long.
    #[error("the message's IV is {0} bytes long, not 12 (or 16)")]
    InvalidIv(usize),
    /// The bundle's keys or signature are not valid.
    #[error("invalid bundle: {0}")]
    Bundle(#[source] omemo::Error),
    /// A decrypted envelope is larger than any stanza a server relays.
    #[error("the decrypted envelope is {0} bytes long, more than allowed")]
    TooLarge(usize),
    /// A decrypted envelope does not say who wrote it.
    #[error("the decrypted envelope does not name its sender")]
    EnvelopeWithoutFrom,
    /// A decrypted envelope names someone other than the stanza's sender.
    #[error("the envelope claims to be from {claimed}, but the message came from {sender}")]
    EnvelopeFromMismatch {
        /// The JID in `<from/>`.
        claimed: BareJid,
        /// The stanza's sender.
        sender: BareJid,
    },
}

fn xml_error(e: impl core::fmt::Display) -> Error {
    Error::Xml(e.to_string())
}

fn device_id(id: u32) -> Result<DeviceId, Error> {
    DeviceId::new(id).ok_or(Error::InvalidDeviceId(id))
}

/// The profile whose namespace `ns` is.
pub fn profile_of(ns: &str) -> Option<Profile> {
    match ns {
        LEGACY_NS => Some(Profile::Legacy),
        elements::NS => Some(Profile::Omemo2),
        _ => None,
    }
}

fn expect(elem: &Element, name: &str, expected: &'static str) -> Result<Profile, Error> {
    match profile_of(elem.ns().as_str()) {
        Some(profile) if elem.name() == name => Ok(profile),
        _ => Err(Error::UnexpectedElement {
            expected,
            name: elem.name().to_owned(),
            ns: elem.ns(),
        }),
    }
}

/// One recipient device's encrypted key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientKey {
    /// The recipient account (OMEMO 2 groups keys by account; legacy does
    /// not say).
    pub jid: Option<BareJid>,
    /// The recipient device.
    pub device: DeviceId,
    /// Whether this is a key exchange (`prekey`/`kex`).
    pub key_exchange: bool,
    /// The ratchet message for [`crate::omemo::Session`].
    pub data: Vec<u8>,
}

/// An `<encrypted/>` element of either namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encrypted {
    profile: Profile,
    sender_device: DeviceId,
    keys: Vec<RecipientKey>,
    iv: Option<Vec<u8>>,
    payload: Option<Vec<u8>>,
}

impl Encrypted {
    /// A legacy element: `keys` by recipient device, the 12-byte IV and
    /// the payload (none for an empty message).
    pub fn legacy(
        sender_device: DeviceId,
        keys: impl IntoIterator<Item = (DeviceId, omemo::EncryptedMessage)>,
        iv: [u8; 12],
        payload: Option<Vec<u8>>,
    ) -> Self {
        Self {
            profile: Profile::Legacy,
            sender_device,
            keys: keys
                .into_iter()
                .map(|(device, m)| RecipientKey {
                    jid: None,
                    device,
                    key_exchange: m.key_exchange,
                    data: m.bytes,
                })
                .collect(),
            iv: Some(iv.to_vec()),
            payload,
        }
    }

    /// An OMEMO 2 element: `keys` by recipient account and device.
    pub fn omemo2(
        sender_device: DeviceId,
        keys: impl IntoIterator<Item = (BareJid, DeviceId, omemo::EncryptedMessage)>,
        payload: Option<Vec<u8>>,
    ) -> Self {
        Self {
            profile: Profile::Omemo2,
            sender_device,
            keys: keys
                .into_iter()
                .map(|(jid, device, m)| RecipientKey {
                    jid: Some(jid),
                    device,
                    key_exchange: m.key_exchange,
                    data: m.bytes,
                })
                .collect(),
            iv: None,
            payload,
        }
    }

    /// Which OMEMO this is.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The sending device (`sid`).
    pub fn sender_device(&self) -> DeviceId {
        self.sender_device
    }

    /// Every recipient key, in document order.
    pub fn keys(&self) -> &[RecipientKey] {
        &self.keys
    }

    /// The key for our device, if the sender encrypted for it. `own` is our
    /// bare JID; legacy keys carry no JID and match on the device alone.
    pub fn key_for(&self, own: &BareJid, device: DeviceId) -> Option<&RecipientKey> {
        self.keys
            .iter()
            .find(|k| k.device == device && k.jid.as_ref().is_none_or(|jid| jid == own))
    }

    /// The legacy payload IV (12 bytes, or 16 from old senders).
    pub fn iv(&self) -> Option<&[u8]> {
        self.iv.as_deref()
    }

    /// The encrypted payload; none for an empty OMEMO message (session
    /// set-up or repair, heartbeat).
    pub fn payload(&self) -> Option<&[u8]> {
        self.payload.as_deref()
    }

    /// Parses an `<encrypted/>` element of either namespace.
    pub fn from_element(elem: Element) -> Result<Self, Error> {
        match expect(&elem, "encrypted", "<encrypted/>")? {
            Profile::Legacy => {
                let e = legacy::Encrypted::try_from(elem).map_err(xml_error)?;
                let iv = e.header.iv.data;
                if iv.len() != 12 && iv.len() != 16 {
                    return Err(Error::InvalidIv(iv.len()));
                }
                Ok(Self {
                    profile: Profile::Legacy,
                    sender_device: device_id(e.header.sid)?,
                    keys: e
                        .header
                        .keys
                        .into_iter()
                        .map(|k| {
                            Ok(RecipientKey {
                                jid: None,
                                device: device_id(k.rid)?,
                                key_exchange: k.prekey,
                                data: k.data,
                            })
                        })
                        .collect::<Result<_, Error>>()?,
                    iv: Some(iv),
                    payload: e.payload.map(|p| p.data),
                })
            }
            Profile::Omemo2 => {
                let e = elements::Encrypted::try_from(elem).map_err(xml_error)?;
                let mut keys = Vec::new();
                for group in e.header.keys {
                    for k in group.keys {
                        keys.push(RecipientKey {
                            jid: Some(group.jid.clone()),
                            device: device_id(k.rid)?,
                            key_exchange: k.kex,
                            data: k.data,
                        });
                    }
                }
                Ok(Self {
                    profile: Profile::Omemo2,
                    sender_device: device_id(e.header.sid)?,
                    keys,
                    iv: None,
                    payload: e.payload.map(|p| p.data),
                })
            }
        }
    }

    /// The element, in this profile's namespace. (The constructors and
    /// the parser keep each profile's shape: a legacy element has an IV and
    /// keys without JIDs, an OMEMO 2 one keys with JIDs and no IV.)
    pub fn to_element(&self) -> Element {
        match self.profile {
            Profile::Legacy => legacy::Encrypted {
                header: legacy::Header {
                    sid: self.sender_device.get(),
                    keys: self
                        .keys
                        .iter()
                        .map(|k| legacy::Key {
                            rid: k.device.get(),
                            prekey: k.key_exchange,
                            data: k.data.clone(),
                        })
                        .collect(),
                    iv: legacy::IV {
                        data: self.iv.clone().unwrap_or_default(),
                    },
                },
                payload: self.payload.clone().map(|data| legacy::Payload { data }),
            }
            .into(),
            Profile::Omemo2 => {
                let mut groups: Vec<elements::Keys> = Vec::new();
                for (jid, k) in self
                    .keys
                    .iter()
                    .filter_map(|k| k.jid.as_ref().map(|jid| (jid, k)))
                {
                    let key = elements::Key {
                        rid: k.device.get(),
                        kex: k.key_exchange,
                        data: k.data.clone(),
                    };
                    match groups.iter_mut().find(|g| g.jid == *jid) {
                        Some(group) => group.keys.push(key),
                        None => groups.push(elements::Keys {
                            jid: jid.clone(),
                            keys: vec![key],
                        }),
                    }
                }
                elements::Encrypted {
                    header: elements::Header {
                        sid: self.sender_device.get(),
                        keys: groups,
                    },
                    payload: self.payload.clone().map(|data| elements::Payload { data }),
                }
                .into()
            }
        }
    }
}

/// Every `<encrypted/>` among a message's payloads, one result per element
/// (a message for devices of both kinds carries one per namespace). Other
/// payloads are skipped.
pub fn encrypted_payloads(payloads: &[Element]) -> Vec<Result<Encrypted, Error>> {
    payloads
        .iter()
        .filter(|e| e.name() == "encrypted" && profile_of(e.ns().as_str()).is_some())
        .map(|e| Encrypted::from_element(e.clone()))
        .collect()
}

/// What an encrypted message carries besides its `<encrypted/>` elements:
/// an XEP-0380 `<encryption/>` hint per namespace and the XEP-0334 store
/// hint (an encrypted message has a fallback body, but servers that archive
/// only bodies should not depend on it). The body itself is
/// [`FALLBACK_BODY`].
pub fn hint_payloads(profiles: &[Profile]) -> Vec<Element> {
    let mut out: Vec<Element> = profiles
        .iter()
        .map(|p| {
            ExplicitMessageEncryption {
                namespace: p.namespace().to_owned(),
                name: Some("OMEMO".to_owned()),
            }
            .into()
        })
        .collect();
    out.push(Element::builder("store", HINTS_NS).build());
    out
}

/// One entry of a device list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The device id.
    pub id: DeviceId,
    /// Its label (OMEMO 2 only).
    pub label: Option<String>,
}

/// A device list: the item of the account's device list node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceList {
    /// Which node it belongs to.
    pub profile: Profile,
    /// The devices, without duplicates.
    pub devices: Vec<Device>,
}

impl DeviceList {
    /// Parses a legacy `<list/>` or an OMEMO 2 `<devices/>`. Entries with an
    /// id outside 1..2^31-1, and repeated ids, are left out: one bad entry
    /// from a buggy client should not hide the account's other devices.
    pub fn from_element(elem: Element) -> Result<Self, Error> {
        let profile = match profile_of(elem.ns().as_str()) {
            Some(Profile::Legacy) if elem.name() == "list" => Profile::Legacy,
            Some(Profile::Omemo2) if elem.name() == "devices" => Profile::Omemo2,
            _ => {
                return Err(Error::UnexpectedElement {
                    expected: "device list",
                    name: elem.name().to_owned(),
                    ns: elem.ns(),
                });
            }
        };
        let entries: Vec<(u32, Option<String>)> = match profile {
            Profile::Legacy => legacy::DeviceList::try_from(elem)
                .map_err(xml_error)?
                .devices
                .into_iter()
                .map(|d| (d.id, None))
                .collect(),
            Profile::Omemo2 => elements::Devices::try_from(elem)
                .map_err(xml_error)?
                .devices
                .into_iter()
                .map(|d| (d.id, d.label))
                .collect(),
        };
        let mut devices: Vec<Device> = Vec::with_capacity(entries.len());
        for (id, label) in entries {
            if let Some(id) = DeviceId::new(id)
                && !devices.iter().any(|d| d.id == id)
            {
                devices.push(Device { id, label });
            }
        }
        Ok(Self { profile, devices })
    }

    /// The element to publish.
    pub fn to_element(&self) -> Element {
        match self.profile {
            Profile::Legacy => legacy::DeviceList {
                devices: self
                    .devices
                    .iter()
                    .map(|d| legacy::Device { id: d.id.get() })
                    .collect(),
            }
            .into(),
            Profile::Omemo2 => elements::Devices {
                devices: self
                    .devices
                    .iter()
                    .map(|d| elements::Device {
                        id: d.id.get(),
                        label: d.label.clone(),
                    })
                    .collect(),
            }
            .into(),
        }
    }

    /// Whether the list has `id`.
    pub fn contains(&self, id: DeviceId) -> bool {
        self.devices.iter().any(|d| d.id == id)
    }
}

/// The node name of a device list.
pub fn device_list_node(profile: Profile) -> &'static str {
    match profile {
        Profile::Legacy => LEGACY_DEVICE_LIST_NODE,
        Profile::Omemo2 => OMEMO2_DEVICES_NODE,
    }
}

/// Where a device's bundle is published: the node and the item id. Legacy
/// has a node per device (item id `current`, as Conversations publishes);
/// OMEMO 2 one node with the device id as item id.
pub fn bundle_location(profile: Profile, device: DeviceId) -> (String, String) {
    match profile {
        Profile::Legacy => (
            format!("{LEGACY_BUNDLES_NODE_PREFIX}:{}", device.get()),
            "current".to_owned(),
        ),
        Profile::Omemo2 => (OMEMO2_BUNDLES_NODE.to_owned(), device.get().to_string()),
    }
}

/// The device a bundle node or item names: the legacy node's suffix, or
/// the OMEMO 2 item id.
pub fn bundle_device(profile: Profile, node: &str, item_id: Option<&str>) -> Option<DeviceId> {
    let id = match profile {
        Profile::Legacy => node
            .strip_prefix(LEGACY_BUNDLES_NODE_PREFIX)?
            .strip_prefix(':')?,
        Profile::Omemo2 if node == OMEMO2_BUNDLES_NODE => item_id?,
        Profile::Omemo2 => return None,
    };
    // u32's parser takes a leading '+'; a device id never has one.
    if !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    DeviceId::new(id.parse().ok()?)
}

/// Parses a bundle of either namespace and verifies its signed prekey
/// signature: what comes back can start a session.
pub fn parse_bundle(elem: Element) -> Result<omemo::Bundle, Error> {
    match expect(&elem, "bundle", "<bundle/>")? {
        Profile::Legacy => {
            let b = legacy::Bundle::try_from(elem).map_err(xml_error)?;
            let spk = b
                .signed_pre_key_public
                .ok_or(Error::MissingBundleField("signed prekey"))?;
            let spk_id = spk
                .signed_pre_key_id
                .ok_or(Error::MissingBundleField("signed prekey id"))?;
            let signature = b
                .signed_pre_key_signature
                .ok_or(Error::MissingBundleField("signed prekey signature"))?;
            let identity = b
                .identity_key
                .ok_or(Error::MissingBundleField("identity key"))?;
            let prekeys = b.prekeys.ok_or(Error::MissingBundleField("prekeys"))?;
            omemo::Bundle::parse(
                Profile::Legacy,
                &identity.data,
                spk_id,
                &spk.data,
                &signature.data,
                prekeys
                    .keys
                    .iter()
                    .map(|k| (k.pre_key_id, k.data.as_slice())),
            )
            .map_err(Error::Bundle)
        }
        Profile::Omemo2 => {
            let b = elements::Bundle::try_from(elem).map_err(xml_error)?;
            omemo::Bundle::parse(
                Profile::Omemo2,
                &b.ik.data,
                b.spk.id,
                &b.spk.data,
                &b.spks.data,
                b.prekeys.keys.iter().map(|k| (k.id, k.data.as_slice())),
            )
            .map_err(Error::Bundle)
        }
    }
}

/// Our bundle as the element to publish, in its profile's namespace.
pub fn bundle_element(bundle: &omemo::Bundle) -> Element {
    let profile = bundle.profile();
    match profile {
        Profile::Legacy => legacy::Bundle {
            signed_pre_key_public: Some(legacy::SignedPreKeyPublic {
                signed_pre_key_id: Some(bundle.signed_pre_key_id()),
                data: bundle.signed_pre_key().to_wire(profile),
            }),
            signed_pre_key_signature: Some(legacy::SignedPreKeySignature {
                data: bundle.signed_pre_key_signature().to_vec(),
            }),
            identity_key: Some(legacy::IdentityKey {
                data: bundle.identity_key().to_wire(),
            }),
            prekeys: Some(legacy::Prekeys {
                keys: bundle
                    .pre_keys()
                    .iter()
                    .map(|(id, key)| legacy::PreKeyPublic {
                        pre_key_id: *id,
                        data: key.to_wire(profile),
                    })
                    .collect(),
            }),
        }
        .into(),
        Profile::Omemo2 => elements::Bundle {
            spk: elements::Spk {
                id: bundle.signed_pre_key_id(),
                data: bundle.signed_pre_key().to_wire(profile),
            },
            spks: elements::Spks {
                data: bundle.signed_pre_key_signature().to_vec(),
            },
            ik: elements::Ik {
                data: bundle.identity_key().to_wire(),
            },
            prekeys: elements::Prekeys {
                keys: bundle
                    .pre_keys()
                    .iter()
                    .map(|(id, key)| elements::Pk {
                        id: *id,
                        data: key.to_wire(profile),
                    })
                    .collect(),
            },
        }
        .into(),
    }
}

/// What a decrypted OMEMO 2 envelope carries that Sotto uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeContent {
    /// The message text, if it has one.
    pub body: Option<String>,
    /// Push info (`urn:sotto:knock:0`) sent inside the envelope.
    pub push_info: Option<String>,
}

/// Serializes an OMEMO 2 envelope holding `body` (and our push info, when
/// it travels with the message), from `from` to `to`.
pub fn seal_envelope<R: rand::CryptoRng + ?Sized>(
    rng: &mut R,
    body: Option<&str>,
    push_info: Option<&str>,
    from: BareJid,
    to: &BareJid,
) -> Result<Vec<u8>, Error> {
    let mut payloads = Vec::new();
    if let Some(body) = body {
        payloads.push(
            Element::builder("body", "jabber:client")
                .append(body.to_owned())
                .build(),
        );
    }
    if let Some(json) = push_info {
        payloads.push(
            Element::builder("push-info", crate::xmpp::pep::KNOCK_NS)
                .append(json.to_owned())
                .build(),
        );
    }
    sce::Envelope::new(rng, payloads, from, Some(to.clone().into()), None).to_bytes()
}

/// Parses a decrypted OMEMO 2 envelope (untrusted) and checks that it names
/// `sender`, the bare JID the stanza came from, as its author.
pub fn open_envelope(bytes: &[u8], sender: &BareJid) -> Result<EnvelopeContent, Error> {
    let envelope = sce::Envelope::from_bytes(bytes)?;
    envelope.check_from(sender)?;
    let push_info = envelope
        .content
        .payloads
        .iter()
        .find(|p| p.is("push-info", crate::xmpp::pep::KNOCK_NS))
        .map(Element::text);
    Ok(EnvelopeContent {
        body: envelope.body(),
        push_info,
    })
}
