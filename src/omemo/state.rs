//! Persistent state as versioned byte blobs for the app's encrypted store.
//!
//! A blob is `format(1) ‖ kind(1) ‖ protobuf`. Protobuf (prost, already
//! needed for the wire) keeps blobs compact and lets later formats add
//! fields that older builds skip; the kind byte stops a prekey blob from
//! ever being read as a session. Blobs hold secrets: the app stores them
//! encrypted, and the buffers here are wiped after use.

use std::collections::VecDeque;

use zeroize::{Zeroize, Zeroizing};

use super::Profile;
use super::curve::{Secret, x25519_public};
use super::error::{Error, Result};
use super::keys::{
    IdentityKey, IdentityKeyPair, IdentitySecret, PreKeyPair, SignedPreKeyPair, curve_to_wire,
};
use super::ratchet::{
    Chain, Core, MAX_OLD_CHAINS, MAX_OLD_RATCHET_KEYS, MAX_SKIPPED_KEYS_PER_SESSION, OldChain,
    Ratchet, SkippedKey,
};
use super::session::{Role, Session};
use super::wire::KeyExchangeHeader;

const FORMAT: u8 = 1;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Identity = 1,
    PreKey = 2,
    SignedPreKey = 3,
    Session = 4,
}

#[derive(Clone, PartialEq, prost::Message)]
struct IdentityState {
    #[prost(bytes = "vec", optional, tag = "1")]
    seed: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "2")]
    private_key: Option<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct PreKeyState {
    #[prost(uint32, tag = "1")]
    id: u32,
    #[prost(bytes = "vec", tag = "2")]
    private_key: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct SignedPreKeyState {
    #[prost(uint32, tag = "1")]
    profile: u32,
    #[prost(uint32, tag = "2")]
    id: u32,
    #[prost(bytes = "vec", tag = "3")]
    private_key: Vec<u8>,
    #[prost(bytes = "vec", tag = "4")]
    signature: Vec<u8>,
    #[prost(uint64, tag = "5")]
    created_at: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ChainState {
    #[prost(bytes = "vec", tag = "1")]
    key: Vec<u8>,
    #[prost(uint32, tag = "2")]
    n: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
struct OldChainState {
    #[prost(bytes = "vec", tag = "1")]
    dh_pub: Vec<u8>,
    #[prost(message, optional, tag = "2")]
    chain: Option<ChainState>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct SkippedKeyState {
    #[prost(bytes = "vec", tag = "1")]
    dh_pub: Vec<u8>,
    #[prost(uint32, tag = "2")]
    n: u32,
    #[prost(bytes = "vec", tag = "3")]
    key: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct SessionState {
    #[prost(uint32, tag = "1")]
    profile: u32,
    #[prost(bool, tag = "2")]
    initiator: bool,
    #[prost(bytes = "vec", tag = "3")]
    own_identity: Vec<u8>,
    #[prost(bytes = "vec", tag = "4")]
    remote_identity: Vec<u8>,
    #[prost(bytes = "vec", tag = "5")]
    origin_identity: Vec<u8>,
    #[prost(bytes = "vec", tag = "6")]
    origin_base_key: Vec<u8>,
    #[prost(uint32, tag = "7")]
    origin_signed_pre_key_id: u32,
    #[prost(uint32, optional, tag = "8")]
    origin_pre_key_id: Option<u32>,
    #[prost(bool, tag = "9")]
    confirmed: bool,
    #[prost(bytes = "vec", tag = "10")]
    root_key: Vec<u8>,
    #[prost(bytes = "vec", tag = "11")]
    own_private: Vec<u8>,
    #[prost(bytes = "vec", tag = "12")]
    remote_public: Vec<u8>,
    #[prost(message, optional, tag = "13")]
    sending: Option<ChainState>,
    #[prost(message, optional, tag = "14")]
    receiving: Option<ChainState>,
    #[prost(uint32, tag = "15")]
    previous_sending_n: u32,
    #[prost(message, repeated, tag = "16")]
    old_chains: Vec<OldChainState>,
    #[prost(message, repeated, tag = "17")]
    skipped: Vec<SkippedKeyState>,
}

impl Drop for IdentityState {
    fn drop(&mut self) {
        self.seed.zeroize();
        self.private_key.zeroize();
    }
}

impl Drop for PreKeyState {
    fn drop(&mut self) {
        self.private_key.zeroize();
    }
}

impl Drop for SignedPreKeyState {
    fn drop(&mut self) {
        self.private_key.zeroize();
    }
}

impl Drop for ChainState {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl Drop for SkippedKeyState {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl Drop for SessionState {
    fn drop(&mut self) {
        self.root_key.zeroize();
        self.own_private.zeroize();
    }
}

fn encode<M: prost::Message>(kind: Kind, message: &M) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(2 + message.encoded_len()));
    out.push(FORMAT);
    out.push(kind as u8);
    message.encode_raw(&mut *out);
    out
}

fn decode<M: prost::Message + Default>(kind: Kind, blob: &[u8]) -> Result<M> {
    match blob {
        [FORMAT, k, body @ ..] if *k == kind as u8 => {
            M::decode(body).map_err(|_| Error::CorruptState("undecodable"))
        }
        [FORMAT, ..] => Err(Error::CorruptState("wrong kind of blob")),
        [format, ..] => Err(Error::UnsupportedStateFormat(*format)),
        [] => Err(Error::CorruptState("empty")),
    }
}

fn secret(bytes: &[u8]) -> Result<Secret> {
    let mut s = Zeroizing::new([0_u8; 32]);
    if bytes.len() != 32 {
        return Err(Error::CorruptState("key length"));
    }
    s.copy_from_slice(bytes);
    Ok(s)
}

fn public(bytes: &[u8]) -> Result<[u8; 32]> {
    <[u8; 32]>::try_from(bytes).map_err(|_| Error::CorruptState("key length"))
}

fn profile(v: u32) -> Result<Profile> {
    u8::try_from(v)
        .ok()
        .and_then(Profile::from_u8)
        .ok_or(Error::CorruptState("profile"))
}

fn identity(profile: Profile, bytes: &[u8]) -> Result<IdentityKey> {
    IdentityKey::from_wire(profile, &curve_to_wire(profile, &public(bytes)?))
        .map_err(|_| Error::CorruptState("identity key"))
}

impl IdentityKeyPair {
    /// The identity as a blob for the store.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let state = match &self.secret {
            IdentitySecret::Seed(seed) => IdentityState {
                seed: Some(seed.to_vec()),
                private_key: None,
            },
            IdentitySecret::Private(private) => IdentityState {
                seed: None,
                private_key: Some(private.to_vec()),
            },
        };
        encode(Kind::Identity, &state)
    }

    /// An identity from [`to_bytes`](Self::to_bytes).
    pub fn from_bytes(blob: &[u8]) -> Result<Self> {
        let state: IdentityState = decode(Kind::Identity, blob)?;
        match (&state.seed, &state.private_key) {
            (Some(seed), None) => Ok(Self {
                secret: IdentitySecret::Seed(secret(seed)?),
            }),
            (None, Some(private)) => Ok(Self {
                secret: IdentitySecret::Private(secret(private)?),
            }),
            _ => Err(Error::CorruptState("identity secret")),
        }
    }
}

impl PreKeyPair {
    /// The prekey as a blob for the store.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        encode(
            Kind::PreKey,
            &PreKeyState {
                id: self.id,
                private_key: self.private.to_vec(),
            },
        )
    }

    /// A prekey from [`to_bytes`](Self::to_bytes).
    pub fn from_bytes(blob: &[u8]) -> Result<Self> {
        let state: PreKeyState = decode(Kind::PreKey, blob)?;
        Ok(Self::from_private(state.id, *secret(&state.private_key)?))
    }
}

impl SignedPreKeyPair {
    /// The signed prekey as a blob for the store.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        encode(
            Kind::SignedPreKey,
            &SignedPreKeyState {
                profile: u32::from(self.profile.to_u8()),
                id: self.id,
                private_key: self.private.to_vec(),
                signature: self.signature.to_vec(),
                created_at: self.created_at,
            },
        )
    }

    /// A signed prekey from [`to_bytes`](Self::to_bytes).
    pub fn from_bytes(blob: &[u8]) -> Result<Self> {
        let state: SignedPreKeyState = decode(Kind::SignedPreKey, blob)?;
        let private = secret(&state.private_key)?;
        Ok(Self {
            profile: profile(state.profile)?,
            id: state.id,
            public: x25519_public(&private),
            private,
            signature: <[u8; 64]>::try_from(state.signature.as_slice())
                .map_err(|_| Error::CorruptState("signature"))?,
            created_at: state.created_at,
        })
    }
}

fn chain_to_state(chain: &Chain) -> ChainState {
    ChainState {
        key: chain.key.to_vec(),
        n: chain.n,
    }
}

fn chain_from_state(state: &ChainState) -> Result<Chain> {
    Ok(Chain {
        key: secret(&state.key)?,
        n: state.n,
    })
}

impl Session {
    /// The session as a blob for the store. Store it after every successful
    /// [`encrypt`](Self::encrypt) and decrypt, or a restart reuses keys.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let core = &self.ratchet.core;
        let state = SessionState {
            profile: u32::from(self.profile.to_u8()),
            initiator: self.role == Role::Initiator,
            own_identity: self.own_identity.key.to_vec(),
            remote_identity: self.remote_identity.key.to_vec(),
            origin_identity: self.origin.identity_key.to_vec(),
            origin_base_key: self.origin.base_key.to_vec(),
            origin_signed_pre_key_id: self.origin.signed_pre_key_id,
            origin_pre_key_id: self.origin.pre_key_id,
            confirmed: self.confirmed,
            root_key: core.root_key.to_vec(),
            own_private: core.own_private.to_vec(),
            remote_public: core.remote_public.to_vec(),
            sending: Some(chain_to_state(&core.sending)),
            receiving: core.receiving.as_ref().map(chain_to_state),
            previous_sending_n: core.previous_sending_n,
            old_chains: core
                .old_chains
                .iter()
                .map(|c| OldChainState {
                    dh_pub: c.dh_pub.to_vec(),
                    chain: c.chain.as_ref().map(chain_to_state),
                })
                .collect(),
            skipped: self
                .ratchet
                .skipped
                .iter()
                .map(|k| SkippedKeyState {
                    dh_pub: k.dh_pub.to_vec(),
                    n: k.n,
                    key: k.key.to_vec(),
                })
                .collect(),
        };
        encode(Kind::Session, &state)
    }

    /// A session from [`to_bytes`](Self::to_bytes).
    pub fn from_bytes(blob: &[u8]) -> Result<Self> {
        let state: SessionState = decode(Kind::Session, blob)?;
        let profile = profile(state.profile)?;
        if state.old_chains.len() > MAX_OLD_RATCHET_KEYS
            || state
                .old_chains
                .iter()
                .filter(|c| c.chain.is_some())
                .count()
                > MAX_OLD_CHAINS
            || state.skipped.len() > MAX_SKIPPED_KEYS_PER_SESSION
        {
            return Err(Error::CorruptState("too many keys"));
        }
        let own_private = secret(&state.own_private)?;
        let core = Core {
            root_key: secret(&state.root_key)?,
            own_public: x25519_public(&own_private),
            own_private,
            remote_public: public(&state.remote_public)?,
            sending: chain_from_state(
                state
                    .sending
                    .as_ref()
                    .ok_or(Error::CorruptState("sending chain"))?,
            )?,
            receiving: state.receiving.as_ref().map(chain_from_state).transpose()?,
            previous_sending_n: state.previous_sending_n,
            old_chains: state
                .old_chains
                .iter()
                .map(|c| {
                    Ok(OldChain {
                        dh_pub: public(&c.dh_pub)?,
                        chain: c.chain.as_ref().map(chain_from_state).transpose()?,
                    })
                })
                .collect::<Result<_>>()?,
        };
        let skipped = state
            .skipped
            .iter()
            .map(|k| {
                Ok(SkippedKey {
                    dh_pub: public(&k.dh_pub)?,
                    n: k.n,
                    key: secret(&k.key)?,
                })
            })
            .collect::<Result<VecDeque<_>>>()?;
        Ok(Self {
            profile,
            role: if state.initiator {
                Role::Initiator
            } else {
                Role::Responder
            },
            own_identity: identity(profile, &state.own_identity)?,
            remote_identity: identity(profile, &state.remote_identity)?,
            origin: KeyExchangeHeader {
                identity_key: public(&state.origin_identity)?,
                base_key: public(&state.origin_base_key)?,
                signed_pre_key_id: state.origin_signed_pre_key_id,
                pre_key_id: state.origin_pre_key_id,
            },
            confirmed: state.confirmed,
            ratchet: Ratchet {
                profile,
                core,
                skipped,
            },
        })
    }
}
