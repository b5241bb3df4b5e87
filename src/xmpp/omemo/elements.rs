//! The `urn:xmpp:omemo:2` elements (XEP-0384 0.8+), defined with xso the way
//! xmpp-parsers defines its own (xmpp-parsers 0.23 has only the legacy
//! `eu.siacs.conversations.axolotl` ones, in `legacy_omemo`). Shapes follow
//! the XEP's schema, which python-twomemo validates against.

use tokio_xmpp::jid::BareJid;
use xso::text::Base64;
use xso::{AsXml, FromXml};

/// `urn:xmpp:omemo:2`.
pub const NS: &str = "urn:xmpp:omemo:2";

/// `<encrypted/>`: the header and, unless it is an empty OMEMO message, the
/// payload (the encrypted SCE envelope).
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = NS, name = "encrypted")]
pub struct Encrypted {
    /// The keys for each recipient device.
    #[xml(child)]
    pub header: Header,
    /// The encrypted envelope.
    #[xml(child(default))]
    pub payload: Option<Payload>,
}

/// `<header sid/>`.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = NS, name = "header")]
pub struct Header {
    /// The sending device.
    #[xml(attribute)]
    pub sid: u32,
    /// One group per recipient account.
    #[xml(child(n = ..))]
    pub keys: Vec<Keys>,
}

/// `<keys jid/>`: the keys for the devices of one account.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = NS, name = "keys")]
pub struct Keys {
    /// The recipient account.
    #[xml(attribute)]
    pub jid: BareJid,
    /// One per device.
    #[xml(child(n = ..))]
    pub keys: Vec<Key>,
}

/// `<key rid kex/>`: an `OMEMOAuthenticatedMessage`, or an
/// `OMEMOKeyExchange` when `kex` is true.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = NS, name = "key")]
pub struct Key {
    /// The recipient device.
    #[xml(attribute)]
    pub rid: u32,
    /// Whether this is a key exchange.
    #[xml(attribute(default))]
    pub kex: bool,
    /// The ratchet message.
    #[xml(text = Base64)]
    pub data: Vec<u8>,
}

/// `<payload/>`.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = NS, name = "payload")]
pub struct Payload {
    /// AES-256-CBC ciphertext of the SCE envelope.
    #[xml(text = Base64)]
    pub data: Vec<u8>,
}

/// `<devices/>`, the item of the `urn:xmpp:omemo:2:devices` node.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = NS, name = "devices")]
pub struct Devices {
    /// The account's devices.
    #[xml(child(n = ..))]
    pub devices: Vec<Device>,
}

/// `<device id label/>`.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = NS, name = "device")]
pub struct Device {
    /// The device id.
    #[xml(attribute)]
    pub id: u32,
    /// A human-readable name of the device.
    #[xml(attribute(default))]
    pub label: Option<String>,
}

/// `<bundle/>`, an item of the `urn:xmpp:omemo:2:bundles` node (item id =
/// device id).
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = NS, name = "bundle")]
pub struct Bundle {
    /// The signed prekey.
    #[xml(child)]
    pub spk: Spk,
    /// Its signature.
    #[xml(child)]
    pub spks: Spks,
    /// The identity key (Ed25519).
    #[xml(child)]
    pub ik: Ik,
    /// The one-time prekeys.
    #[xml(child)]
    pub prekeys: Prekeys,
}

/// `<spk id/>`.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = NS, name = "spk")]
pub struct Spk {
    /// The signed prekey id.
    #[xml(attribute)]
    pub id: u32,
    /// The key (32 bytes).
    #[xml(text = Base64)]
    pub data: Vec<u8>,
}

/// `<spks/>`.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = NS, name = "spks")]
pub struct Spks {
    /// The Ed25519 signature of the signed prekey.
    #[xml(text = Base64)]
    pub data: Vec<u8>,
}

/// `<ik/>`.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = NS, name = "ik")]
pub struct Ik {
    /// The Ed25519 identity key.
    #[xml(text = Base64)]
    pub data: Vec<u8>,
}

/// `<prekeys/>`.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = NS, name = "prekeys")]
pub struct Prekeys {
    /// The one-time prekeys.
    #[xml(child(n = ..))]
    pub keys: Vec<Pk>,
}

/// `<pk id/>`.
#[derive(FromXml, AsXml, Debug, Clone, PartialEq)]
#[xml(namespace = NS, name = "pk")]
pub struct Pk {
    /// The prekey id.
    #[xml(attribute)]
    pub id: u32,
    /// The key (32 bytes).
    #[xml(text = Base64)]
    pub data: Vec<u8>,
}
