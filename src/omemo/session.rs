//! Sessions: X3DH to set up, the Double Ratchet to run, and the message
//! framing of each profile around them.

use core::fmt;

use rand::CryptoRng;
use zeroize::Zeroizing;

use super::Profile;
use super::curve::{Secret, x25519_public};
use super::error::{Error, Result};
use super::kdf::{expand_keys, hmac, mac_matches};
use super::keys::{
    Bundle, IdentityKey, IdentityKeyPair, PreKeyPair, PublicKey, SignedPreKeyPair, random_secret,
};
use super::ratchet::Ratchet;
use super::symmetric::{cbc_decrypt, cbc_encrypt};
use super::wire::{self, KeyExchangeHeader, ParsedMessage};
use super::x3dh;

/// Where [`Session::respond`] finds our prekeys by id (the app's store).
pub trait PreKeyStore {
    /// The signed prekey with this id (current or previous).
    fn signed_pre_key(&self, id: u32) -> Option<SignedPreKeyPair>;
    /// The one-time prekey with this id, if it has not been used.
    fn pre_key(&self, id: u32) -> Option<PreKeyPair>;
}

/// A [`PreKeyStore`] in memory.
#[derive(Clone, Debug, Default)]
pub struct MemoryPreKeyStore {
    /// Signed prekeys.
    pub signed_pre_keys: Vec<SignedPreKeyPair>,
    /// One-time prekeys.
    pub pre_keys: Vec<PreKeyPair>,
}

impl PreKeyStore for MemoryPreKeyStore {
    fn signed_pre_key(&self, id: u32) -> Option<SignedPreKeyPair> {
        self.signed_pre_keys.iter().find(|k| k.id == id).cloned()
    }

    fn pre_key(&self, id: u32) -> Option<PreKeyPair> {
        self.pre_keys.iter().find(|k| k.id == id).cloned()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Initiator,
    Responder,
}

/// An encrypted ratchet message, ready for a `<key>` element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedMessage {
    /// The bytes to base64-encode into the `<key>` element.
    pub bytes: Vec<u8>,
    /// Whether this is a key exchange (`prekey="true"` in legacy,
    /// `kex="true"` in OMEMO 2). The initiator sends key exchanges until the
    /// peer's first message arrives, so that any of its messages can start
    /// the session on the other side.
    pub key_exchange: bool,
}

/// A parsed key exchange (legacy `PreKeyWhisperMessage`, OMEMO 2
/// `OMEMOKeyExchange`) and the message it carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyExchange {
    pub(crate) profile: Profile,
    pub(crate) header: KeyExchangeHeader,
    pub(crate) identity_key: IdentityKey,
    pub(crate) message: ParsedMessage,
}

impl KeyExchange {
    /// Parses a key exchange of `profile` (untrusted bytes).
    pub fn parse(profile: Profile, bytes: &[u8]) -> Result<Self> {
        let (header, message) = wire::parse_key_exchange(profile, bytes)?;
        let identity_key = IdentityKey::from_wire(
            profile,
            &super::keys::curve_to_wire(profile, &header.identity_key),
        )?;
        Ok(Self {
            profile,
            header,
            identity_key,
            message,
        })
    }

    /// The profile.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The sender's identity key (not yet authenticated: only a successful
    /// [`Session::respond`] proves the sender holds it).
    pub fn identity_key(&self) -> &IdentityKey {
        &self.identity_key
    }

    /// Our signed prekey it uses.
    pub fn signed_pre_key_id(&self) -> u32 {
        self.header.signed_pre_key_id
    }

    /// Our one-time prekey it uses (always present in OMEMO 2).
    pub fn pre_key_id(&self) -> Option<u32> {
        self.header.pre_key_id
    }

    /// The sender's X3DH ephemeral (base) key.
    pub fn base_key(&self) -> PublicKey {
        PublicKey(self.header.base_key)
    }
}

/// What [`Session::respond`] returns.
pub struct Responded {
    /// The new session.
    pub session: Session,
    /// The first message's plaintext (the key material).
    pub plaintext: Zeroizing<Vec<u8>>,
    /// The one-time prekey the key exchange used: the app deletes it (after
    /// the catch-up of offline messages, which may carry the same key
    /// exchange again, as python-omemo does) and publishes a replacement.
    pub consumed_pre_key_id: Option<u32>,
}

impl fmt::Debug for Responded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responded")
            .field("session", &self.session)
            .field("consumed_pre_key_id", &self.consumed_pre_key_id)
            .finish_non_exhaustive()
    }
}

/// A session with one device of a contact (or of our own account).
#[derive(Clone)]
pub struct Session {
    pub(crate) profile: Profile,
    pub(crate) role: Role,
    pub(crate) own_identity: IdentityKey,
    pub(crate) remote_identity: IdentityKey,
    /// The key exchange the session was built from (identity key of the
    /// initiator). The initiator repeats it on every message until confirmed.
    pub(crate) origin: KeyExchangeHeader,
    /// Initiator: a message from the peer has been decrypted, so key
    /// exchanges are no longer needed.
    pub(crate) confirmed: bool,
    pub(crate) ratchet: Ratchet,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("profile", &self.profile)
            .field("role", &self.role)
            .field("remote_identity", &self.remote_identity)
            .field("confirmed", &self.confirmed)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Starts a session with a device from its (verified) bundle, using the
    /// one-time prekey `pre_key_id` ([`Bundle::random_pre_key_id`]).
    /// Legacy allows none (libsignal does); OMEMO 2 requires one.
    pub fn initiate<R: CryptoRng + ?Sized>(
        rng: &mut R,
        own: &IdentityKeyPair,
        bundle: &Bundle,
        pre_key_id: Option<u32>,
    ) -> Result<Self> {
        let base = random_secret(rng);
        let ratchet = random_secret(rng);
        Self::initiate_with(own, bundle, pre_key_id, base, ratchet)
    }

    pub(crate) fn initiate_with(
        own: &IdentityKeyPair,
        bundle: &Bundle,
        pre_key_id: Option<u32>,
        base_private: Secret,
        ratchet_private: Secret,
    ) -> Result<Self> {
        let profile = bundle.profile();
        let pre_key = match pre_key_id {
            Some(id) => Some(bundle.pre_key(id).ok_or(Error::PreKeyNotInBundle(id))?),
            None if profile == Profile::Omemo2 => return Err(Error::PreKeyRequired),
            None => None,
        };
        let own_identity = own.public_key(profile);
        let shared = x3dh::active(
            profile,
            &own.private_scalar(),
            &bundle.identity_key.x25519()?,
            &bundle.signed_pre_key.0,
            pre_key.map(|k| &k.0),
            &base_private,
        )?;
        let ratchet = Ratchet::active(profile, &shared, &bundle.signed_pre_key.0, ratchet_private)?;
        Ok(Self {
            profile,
            role: Role::Initiator,
            own_identity,
            remote_identity: bundle.identity_key,
            origin: KeyExchangeHeader {
                identity_key: own_identity.key,
                base_key: x25519_public(&base_private),
                signed_pre_key_id: bundle.signed_pre_key_id,
                pre_key_id,
            },
            confirmed: false,
            ratchet,
        })
    }

    /// Builds a session from a key exchange someone sent us and decrypts the
    /// message in it. The app checks the returned session's
    /// [`remote_identity`](Self::remote_identity) against its trust store.
    pub fn respond<R, S>(
        rng: &mut R,
        own: &IdentityKeyPair,
        store: &S,
        key_exchange: &KeyExchange,
    ) -> Result<Responded>
    where
        R: CryptoRng + ?Sized,
        S: PreKeyStore + ?Sized,
    {
        let profile = key_exchange.profile;
        let header = key_exchange.header;
        let signed_pre_key = store
            .signed_pre_key(header.signed_pre_key_id)
            .ok_or(Error::UnknownSignedPreKey(header.signed_pre_key_id))?;
        let pre_key = match header.pre_key_id {
            Some(id) => Some(store.pre_key(id).ok_or(Error::UnknownPreKey(id))?),
            None if profile == Profile::Omemo2 => return Err(Error::PreKeyRequired),
            None => None,
        };
        let shared = x3dh::passive(
            profile,
            &own.private_scalar(),
            &signed_pre_key.private,
            pre_key.as_ref().map(|k| &*k.private),
            &key_exchange.identity_key.x25519()?,
            &header.base_key,
        )?;
        let ratchet = Ratchet::passive(
            profile,
            &shared,
            &signed_pre_key.private,
            &key_exchange.message.header.dh_pub,
            random_secret(rng),
        )?;
        let mut session = Self {
            profile,
            role: Role::Responder,
            own_identity: own.public_key(profile),
            remote_identity: key_exchange.identity_key,
            origin: header,
            confirmed: true,
            ratchet,
        };
        let plaintext = session.decrypt_parsed(rng, &key_exchange.message)?;
        Ok(Responded {
            session,
            plaintext,
            consumed_pre_key_id: header.pre_key_id,
        })
    }

    /// Encrypts `plaintext` (normally the key material of
    /// [`encrypt_payload`](super::encrypt_payload), or of
    /// [`empty_key_material`](super::empty_key_material)) for the peer.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<EncryptedMessage> {
        let profile = self.profile;
        let (header, message_key) = self.ratchet.next_sending()?;
        let keys = expand_keys(message_key.as_ref(), profile.message_key_info())?;
        let ciphertext = cbc_encrypt(&keys.cipher_key, &keys.iv, plaintext);
        let authenticated = wire::encode_authenticated(profile, &header, &ciphertext);
        let mac = hmac(
            keys.mac_key.as_ref(),
            &[&self.associated_data(true), &authenticated],
        )?;
        let mac = mac
            .get(..profile.mac_len())
            .ok_or(Error::Crypto("MAC length"))?;
        Ok(if self.role == Role::Initiator && !self.confirmed {
            EncryptedMessage {
                bytes: wire::encode_key_exchange(profile, &self.origin, authenticated, mac),
                key_exchange: true,
            }
        } else {
            EncryptedMessage {
                bytes: wire::finish_message(profile, authenticated, mac),
                key_exchange: false,
            }
        })
    }

    /// Decrypts a message that is not a key exchange. On any error the
    /// session is unchanged.
    pub fn decrypt<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        bytes: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        let message = wire::parse_message(self.profile, bytes)?;
        self.decrypt_parsed(rng, &message)
    }

    /// Decrypts a key exchange that this session was built from (the
    /// initiator repeats it until it hears from us). A different key
    /// exchange gives [`Error::KeyExchangeMismatch`]: the peer started anew,
    /// and [`Session::respond`] builds the replacement.
    pub fn decrypt_key_exchange<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        key_exchange: &KeyExchange,
    ) -> Result<Zeroizing<Vec<u8>>> {
        if !self.was_built_from(key_exchange) {
            return Err(Error::KeyExchangeMismatch);
        }
        self.decrypt_parsed(rng, &key_exchange.message)
    }

    /// Whether this session was built by responding to `key_exchange` (same
    /// identity, base key and prekeys, as python-omemo compares them).
    pub fn was_built_from(&self, key_exchange: &KeyExchange) -> bool {
        self.role == Role::Responder
            && self.profile == key_exchange.profile
            && self.origin == key_exchange.header
    }

    fn decrypt_parsed<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        message: &ParsedMessage,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let profile = self.profile;
        let associated_data = self.associated_data(false);
        let plaintext = self.ratchet.decrypt(rng, &message.header, |message_key| {
            let keys = expand_keys(message_key.as_ref(), profile.message_key_info())?;
            let mac = hmac(
                keys.mac_key.as_ref(),
                &[&associated_data, &message.authenticated],
            )?;
            if !mac_matches(&mac, &message.mac, profile.mac_len()) {
                return Err(Error::MacMismatch);
            }
            cbc_decrypt(&keys.cipher_key, &keys.iv, &message.ciphertext).ok_or(Error::BadCiphertext)
        })?;
        self.confirmed = true;
        Ok(plaintext)
    }

    /// The identity keys the MAC covers. Legacy: sender ‖ receiver in their
    /// 33-byte form, so the order flips with the direction (libsignal's
    /// `SignalMessage.getMac`; python-oldmemo rebuilds it the same way).
    /// OMEMO 2: initiator ‖ responder, fixed for the session (python-twomemo
    /// passes X3DH's associated data unchanged).
    fn associated_data(&self, sending: bool) -> Vec<u8> {
        let (first, second) = match self.profile {
            Profile::Legacy if sending => (&self.own_identity, &self.remote_identity),
            Profile::Legacy => (&self.remote_identity, &self.own_identity),
            Profile::Omemo2 if self.role == Role::Initiator => {
                (&self.own_identity, &self.remote_identity)
            }
            Profile::Omemo2 => (&self.remote_identity, &self.own_identity),
        };
        let mut ad = first.to_wire();
        ad.extend_from_slice(&second.to_wire());
        ad
    }

    /// The profile.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The peer device's identity key.
    pub fn remote_identity(&self) -> &IdentityKey {
        &self.remote_identity
    }

    /// Our identity key as this session uses it.
    pub fn own_identity(&self) -> &IdentityKey {
        &self.own_identity
    }

    /// Whether we started this session.
    pub fn is_initiator(&self) -> bool {
        self.role == Role::Initiator
    }

    /// Whether we have heard from the peer on this session (for the
    /// initiator: whether messages still go out as key exchanges).
    pub fn is_confirmed(&self) -> bool {
        self.confirmed
    }

    /// How many messages we have sent on the current sending chain (the app
    /// can send an empty message after a long one-sided run, as the XEP
    /// suggests, so the peer ratchets).
    pub fn sending_chain_length(&self) -> u32 {
        self.ratchet.core.sending.n
    }

    /// How many messages we have received on the current receiving chain.
    pub fn receiving_chain_length(&self) -> Option<u32> {
        self.ratchet.core.receiving.as_ref().map(|c| c.n)
    }

    /// How many skipped message keys are stored.
    pub fn skipped_key_count(&self) -> usize {
        self.ratchet.skipped.len()
    }
}
