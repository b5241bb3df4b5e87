//! The OMEMO protocol core: X3DH, the Double Ratchet and payload encryption
//! for both OMEMO generations, with no I/O and no XML.
//!
//! One core, two [`Profile`]s:
//!
//! - [`Profile::Legacy`]: `eu.siacs.conversations.axolotl` (XEP-0384 v0.3),
//!   the Signal protocol as libsignal-protocol-java/-c and python-oldmemo
//!   speak it (Conversations, Dino, Gajim, Monal, Profanity, …).
//! - [`Profile::Omemo2`]: `urn:xmpp:omemo:2` (XEP-0384 0.8+), as python
//!   `twomemo` does it (Kaidan, Converse.js 14).
//!
//! The app drives it like this:
//!
//! 1. Once per account: [`IdentityKeyPair::generate`], a [`SignedPreKeyPair`]
//!    and about 100 [`PreKeyPair`]s per profile; publish [`Bundle::new`]'s
//!    fields (the XML is the app's).
//! 2. To start a session: [`Bundle::parse`] the contact device's bundle
//!    (checks the signature), [`Session::initiate`], then
//!    [`Session::encrypt`]: until the peer answers, each message is a key
//!    exchange ([`EncryptedMessage::key_exchange`], the `prekey`/`kex`
//!    attribute).
//! 3. On a key exchange: [`KeyExchange::parse`]; if an existing session
//!    [`Session::was_built_from`] it, [`Session::decrypt_key_exchange`],
//!    otherwise [`Session::respond`] (which names the consumed prekey, to be
//!    removed and replaced).
//! 4. Other messages: [`Session::decrypt`]. A failed decryption never changes
//!    the session.
//! 5. Bodies and SCE envelopes: [`encrypt_payload`] / [`decrypt_payload`];
//!    the key material they produce/consume is what the ratchet carries.
//! 6. Persist with the `to_bytes`/`from_bytes` blobs (versioned, secrets
//!    included: store them encrypted).
//!
//! Every function that needs randomness takes the RNG, so nothing here reads
//! a clock, the OS or a global, and the known-answer tests can replay fixed
//! keys.

#![forbid(unsafe_code)]
// Everything here handles bytes from the network: no code path may panic.
#![warn(clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod curve;
mod error;
mod kdf;
mod keys;
mod payload;
mod ratchet;
mod session;
mod state;
mod symmetric;
// The fuzz targets reach its parsers (crate::fuzzing).
pub(crate) mod wire;
mod x3dh;

#[cfg(test)]
mod tests;

pub use error::{Error, Result};
pub use keys::{
    Bundle, DeviceId, IdentityKey, IdentityKeyPair, PreKeyPair, PublicKey, SignedPreKeyPair,
};
pub use payload::{EncryptedPayload, decrypt_payload, empty_key_material, encrypt_payload};
pub use ratchet::{MAX_SKIPPED_KEYS_PER_MESSAGE, MAX_SKIPPED_KEYS_PER_SESSION};
pub use session::{
    EncryptedMessage, KeyExchange, MemoryPreKeyStore, PreKeyStore, Responded, Session,
};

/// The two OMEMO generations this core speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Profile {
    /// `eu.siacs.conversations.axolotl`, XEP-0384 v0.3.
    Legacy,
    /// `urn:xmpp:omemo:2`, XEP-0384 0.8 and later.
    Omemo2,
}

impl Profile {
    /// The XML namespace of the `<encrypted>` element.
    pub const fn namespace(self) -> &'static str {
        match self {
            Self::Legacy => "eu.siacs.conversations.axolotl",
            Self::Omemo2 => "urn:xmpp:omemo:2",
        }
    }

    pub(crate) const fn x3dh_info(self) -> &'static [u8] {
        match self {
            Self::Legacy => b"WhisperText",
            Self::Omemo2 => b"OMEMO X3DH",
        }
    }

    pub(crate) const fn root_info(self) -> &'static [u8] {
        match self {
            Self::Legacy => b"WhisperRatchet",
            Self::Omemo2 => b"OMEMO Root Chain",
        }
    }

    pub(crate) const fn message_key_info(self) -> &'static [u8] {
        match self {
            Self::Legacy => b"WhisperMessageKeys",
            Self::Omemo2 => b"OMEMO Message Key Material",
        }
    }

    /// Length of the truncated HMAC on ratchet messages.
    pub(crate) const fn mac_len(self) -> usize {
        match self {
            Self::Legacy => 8,
            Self::Omemo2 => 16,
        }
    }

    pub(crate) const fn to_u8(self) -> u8 {
        match self {
            Self::Legacy => 1,
            Self::Omemo2 => 2,
        }
    }

    pub(crate) const fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::Legacy),
            2 => Some(Self::Omemo2),
            _ => None,
        }
    }
}
