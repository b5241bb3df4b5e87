//! The protobuf wire formats of both profiles, hand-written for prost.
//!
//! Every field is declared `optional` although the reference `.proto` files
//! make most of them `required` (proto2): prost cannot report a missing
//! `required` field, and we want a typed error instead of a silent zero. On
//! encoding every field is `Some`, which gives the same bytes protobuf emits
//! for `required` fields (python-twomemo/oldmemo, libsignal). Fields are
//! declared in tag order, the order protobuf serialises them.

use prost::Message as _;

use super::Profile;
use super::error::{Error, Result};
use super::keys::{curve_from_wire, curve_to_wire, raw_from_wire};

/// twomemo.proto `OMEMOMessage`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct OmemoMessage {
    #[prost(uint32, optional, tag = "1")]
    pub(crate) n: Option<u32>,
    #[prost(uint32, optional, tag = "2")]
    pub(crate) pn: Option<u32>,
    #[prost(bytes = "vec", optional, tag = "3")]
    pub(crate) dh_pub: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "4")]
    pub(crate) ciphertext: Option<Vec<u8>>,
}

/// twomemo.proto `OMEMOAuthenticatedMessage`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct OmemoAuthenticatedMessage {
    #[prost(bytes = "vec", optional, tag = "1")]
    pub(crate) mac: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub(crate) message: Option<Vec<u8>>,
}

/// twomemo.proto `OMEMOKeyExchange`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct OmemoKeyExchange {
    #[prost(uint32, optional, tag = "1")]
    pub(crate) pk_id: Option<u32>,
    #[prost(uint32, optional, tag = "2")]
    pub(crate) spk_id: Option<u32>,
    #[prost(bytes = "vec", optional, tag = "3")]
    pub(crate) ik: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "4")]
    pub(crate) ek: Option<Vec<u8>>,
    #[prost(message, optional, tag = "5")]
    pub(crate) message: Option<OmemoAuthenticatedMessage>,
}

/// libsignal WhisperTextProtocol.proto `WhisperMessage` (`SignalMessage`).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct WhisperMessage {
    #[prost(bytes = "vec", optional, tag = "1")]
    pub(crate) ephemeral_key: Option<Vec<u8>>,
    #[prost(uint32, optional, tag = "2")]
    pub(crate) counter: Option<u32>,
    #[prost(uint32, optional, tag = "3")]
    pub(crate) previous_counter: Option<u32>,
    #[prost(bytes = "vec", optional, tag = "4")]
    pub(crate) ciphertext: Option<Vec<u8>>,
}

/// libsignal WhisperTextProtocol.proto `PreKeyWhisperMessage`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct PreKeyWhisperMessage {
    #[prost(uint32, optional, tag = "1")]
    pub(crate) pre_key_id: Option<u32>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub(crate) base_key: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "3")]
    pub(crate) identity_key: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "4")]
    pub(crate) message: Option<Vec<u8>>,
    #[prost(uint32, optional, tag = "5")]
    pub(crate) registration_id: Option<u32>,
    #[prost(uint32, optional, tag = "6")]
    pub(crate) signed_pre_key_id: Option<u32>,
}

/// libsignal's `CiphertextMessage.CURRENT_VERSION` in both nibbles.
pub(crate) const LEGACY_VERSION: u8 = 0x33;

/// The Double Ratchet header of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) dh_pub: [u8; 32],
    pub(crate) n: u32,
    pub(crate) pn: u32,
}

/// A ratchet message taken apart, not yet authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParsedMessage {
    pub(crate) header: Header,
    pub(crate) ciphertext: Vec<u8>,
    pub(crate) mac: Vec<u8>,
    /// The bytes the MAC covers after the identity keys, exactly as received
    /// (never re-encoded: a peer's encoder may differ from ours).
    pub(crate) authenticated: Vec<u8>,
}

fn required<T>(v: Option<T>, message: &'static str, field: &'static str) -> Result<T> {
    v.ok_or(Error::MissingField { message, field })
}

fn check_legacy_version(version: u8) -> Result<()> {
    // Exactly 0x33, as python-oldmemo demands (libsignal-java would take any
    // 0x3?; every OMEMO client writes 0x33). The key exchange's version
    // byte is not authenticated, so strictness there is all we can have.
    if version == LEGACY_VERSION {
        Ok(())
    } else {
        Err(Error::UnsupportedVersion(version))
    }
}

/// Parses a ratchet message: legacy `version ‖ WhisperMessage ‖ mac(8)`, or
/// an OMEMO 2 `OMEMOAuthenticatedMessage`.
pub(crate) fn parse_message(profile: Profile, bytes: &[u8]) -> Result<ParsedMessage> {
    match profile {
        Profile::Legacy => {
            let body_len = bytes
                .len()
                .checked_sub(8)
                .ok_or(Error::Malformed("WhisperMessage"))?;
            let (authenticated, mac) = bytes
                .split_at_checked(body_len)
                .ok_or(Error::Malformed("WhisperMessage"))?;
            let (&version, proto) = authenticated
                .split_first()
                .ok_or(Error::Malformed("WhisperMessage"))?;
            check_legacy_version(version)?;
            let m =
                WhisperMessage::decode(proto).map_err(|_| Error::Malformed("WhisperMessage"))?;
            const NAME: &str = "WhisperMessage";
            let dh_pub = curve_from_wire(
                profile,
                &required(m.ephemeral_key, NAME, "ephemeralKey")?,
                "ratchet key",
            )?;
            Ok(ParsedMessage {
                header: Header {
                    dh_pub,
                    n: required(m.counter, NAME, "counter")?,
                    // libsignal does not insist on previousCounter either.
                    pn: m.previous_counter.unwrap_or(0),
                },
                ciphertext: required(m.ciphertext, NAME, "ciphertext")?,
                mac: mac.to_vec(),
                authenticated: authenticated.to_vec(),
            })
        }
        Profile::Omemo2 => {
            let a = OmemoAuthenticatedMessage::decode(bytes)
                .map_err(|_| Error::Malformed("OMEMOAuthenticatedMessage"))?;
            parse_authenticated(a)
        }
    }
}

fn parse_authenticated(a: OmemoAuthenticatedMessage) -> Result<ParsedMessage> {
    const OUTER: &str = "OMEMOAuthenticatedMessage";
    const NAME: &str = "OMEMOMessage";
    let mac = required(a.mac, OUTER, "mac")?;
    let authenticated = required(a.message, OUTER, "message")?;
    let m = OmemoMessage::decode(authenticated.as_slice()).map_err(|_| Error::Malformed(NAME))?;
    let dh_pub = curve_from_wire(
        Profile::Omemo2,
        &required(m.dh_pub, NAME, "dh_pub")?,
        "ratchet key",
    )?;
    Ok(ParsedMessage {
        header: Header {
            dh_pub,
            n: required(m.n, NAME, "n")?,
            pn: required(m.pn, NAME, "pn")?,
        },
        // Optional in twomemo.proto; python-twomemo then decrypts b"" and
        // fails, as we will.
        ciphertext: m.ciphertext.unwrap_or_default(),
        mac,
        authenticated,
    })
}

/// The part of a ratchet message the MAC covers (after the identity keys).
pub(crate) fn encode_authenticated(
    profile: Profile,
    header: &Header,
    ciphertext: &[u8],
) -> Vec<u8> {
    match profile {
        Profile::Legacy => {
            let m = WhisperMessage {
                ephemeral_key: Some(curve_to_wire(profile, &header.dh_pub)),
                counter: Some(header.n),
                previous_counter: Some(header.pn),
                ciphertext: Some(ciphertext.to_vec()),
            };
            let mut out = Vec::with_capacity(1 + m.encoded_len() + 8);
            out.push(LEGACY_VERSION);
            m.encode_raw(&mut out);
            out
        }
        Profile::Omemo2 => OmemoMessage {
            n: Some(header.n),
            pn: Some(header.pn),
            dh_pub: Some(header.dh_pub.to_vec()),
            ciphertext: Some(ciphertext.to_vec()),
        }
        .encode_to_vec(),
    }
}

/// A complete ratchet message from its authenticated part and MAC.
pub(crate) fn finish_message(profile: Profile, mut authenticated: Vec<u8>, mac: &[u8]) -> Vec<u8> {
    match profile {
        Profile::Legacy => {
            authenticated.extend_from_slice(mac);
            authenticated
        }
        Profile::Omemo2 => OmemoAuthenticatedMessage {
            mac: Some(mac.to_vec()),
            message: Some(authenticated),
        }
        .encode_to_vec(),
    }
}

/// The X3DH header of a key exchange, keys in raw 32-byte form (identity key
/// as the profile has it: Curve25519 for legacy, Ed25519 for OMEMO 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeyExchangeHeader {
    pub(crate) identity_key: [u8; 32],
    pub(crate) base_key: [u8; 32],
    pub(crate) signed_pre_key_id: u32,
    pub(crate) pre_key_id: Option<u32>,
}

/// A key exchange wrapping a ratchet message (given as authenticated part
/// and MAC).
pub(crate) fn encode_key_exchange(
    profile: Profile,
    kex: &KeyExchangeHeader,
    authenticated: Vec<u8>,
    mac: &[u8],
) -> Vec<u8> {
    match profile {
        Profile::Legacy => {
            let m = PreKeyWhisperMessage {
                pre_key_id: kex.pre_key_id,
                base_key: Some(curve_to_wire(profile, &kex.base_key)),
                identity_key: Some(curve_to_wire(profile, &kex.identity_key)),
                message: Some(finish_message(profile, authenticated, mac)),
                // The registration id is libsignal bookkeeping nobody in
                // OMEMO checks; python-oldmemo leaves it out too.
                registration_id: None,
                signed_pre_key_id: Some(kex.signed_pre_key_id),
            };
            let mut out = Vec::with_capacity(1 + m.encoded_len());
            out.push(LEGACY_VERSION);
            m.encode_raw(&mut out);
            out
        }
        Profile::Omemo2 => OmemoKeyExchange {
            pk_id: kex.pre_key_id,
            spk_id: Some(kex.signed_pre_key_id),
            ik: Some(kex.identity_key.to_vec()),
            ek: Some(kex.base_key.to_vec()),
            message: Some(OmemoAuthenticatedMessage {
                mac: Some(mac.to_vec()),
                message: Some(authenticated),
            }),
        }
        .encode_to_vec(),
    }
}

/// Parses a legacy `version ‖ PreKeyWhisperMessage` or an OMEMO 2
/// `OMEMOKeyExchange` and the message inside.
pub(crate) fn parse_key_exchange(
    profile: Profile,
    bytes: &[u8],
) -> Result<(KeyExchangeHeader, ParsedMessage)> {
    match profile {
        Profile::Legacy => {
            const NAME: &str = "PreKeyWhisperMessage";
            let (&version, proto) = bytes.split_first().ok_or(Error::Malformed(NAME))?;
            check_legacy_version(version)?;
            let m = PreKeyWhisperMessage::decode(proto).map_err(|_| Error::Malformed(NAME))?;
            let header = KeyExchangeHeader {
                identity_key: curve_from_wire(
                    profile,
                    &required(m.identity_key, NAME, "identityKey")?,
                    "identity key",
                )?,
                base_key: curve_from_wire(
                    profile,
                    &required(m.base_key, NAME, "baseKey")?,
                    "base key",
                )?,
                signed_pre_key_id: required(m.signed_pre_key_id, NAME, "signedPreKeyId")?,
                pre_key_id: m.pre_key_id,
            };
            let message = parse_message(profile, &required(m.message, NAME, "message")?)?;
            Ok((header, message))
        }
        Profile::Omemo2 => {
            const NAME: &str = "OMEMOKeyExchange";
            let m = OmemoKeyExchange::decode(bytes).map_err(|_| Error::Malformed(NAME))?;
            let header = KeyExchangeHeader {
                // An Ed25519 key; KeyExchange::parse checks it.
                identity_key: raw_from_wire(profile, &required(m.ik, NAME, "ik")?, "identity key")?,
                base_key: curve_from_wire(profile, &required(m.ek, NAME, "ek")?, "base key")?,
                signed_pre_key_id: required(m.spk_id, NAME, "spk_id")?,
                pre_key_id: Some(required(m.pk_id, NAME, "pk_id")?),
            };
            let message = parse_authenticated(required(m.message, NAME, "message")?)?;
            Ok((header, message))
        }
    }
}
