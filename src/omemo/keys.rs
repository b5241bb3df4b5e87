//! Keys: device identity, signed and one-time prekeys, public keys in their
//! two wire encodings, bundles and fingerprints.

use core::fmt;

use rand::CryptoRng;
use zeroize::Zeroizing;

use super::Profile;
use super::curve::{self, Secret};
use super::error::{Error, Result};

/// The type byte libsignal puts in front of Curve25519 keys (`Curve.DJB_TYPE`).
pub(crate) const DJB_TYPE: u8 = 0x05;

pub(crate) fn array32(bytes: &[u8], what: &'static str) -> Result<[u8; 32]> {
    <[u8; 32]>::try_from(bytes).map_err(|_| Error::InvalidLength {
        what,
        expected: 32,
        actual: bytes.len(),
    })
}

pub(crate) fn array64(bytes: &[u8], what: &'static str) -> Result<[u8; 64]> {
    <[u8; 64]>::try_from(bytes).map_err(|_| Error::InvalidLength {
        what,
        expected: 64,
        actual: bytes.len(),
    })
}

pub(crate) fn random_secret<R: CryptoRng + ?Sized>(rng: &mut R) -> Secret {
    let mut s = Zeroizing::new([0_u8; 32]);
    rng.fill_bytes(s.as_mut());
    s
}

/// Whether u is the canonical encoding of a field element (u < 2^255 - 19).
/// X25519 ignores the top bit and reduces mod p, so without this check a
/// key has several encodings, and a key exchange (whose base key is not
/// covered by any MAC) could be replayed in a form that does not look like
/// the one a session was built from. Every implementation derives public
/// keys canonically, so refusing the other forms costs no interoperability.
fn is_canonical_u(u: &[u8; 32]) -> bool {
    let (&last, rest) = match u.split_last() {
        Some(split) => split,
        None => return false,
    };
    if last & 0x80 != 0 {
        return false;
    }
    let (&first, middle) = match rest.split_first() {
        Some(split) => split,
        None => return false,
    };
    !(last == 0x7f && middle.iter().all(|&b| b == 0xff) && first >= 0xed)
}

/// Parses a Curve25519 key in the profile's encoding: 33 bytes with the 0x05
/// type byte for legacy (libsignal's `Curve.decodePoint`), 32 raw bytes for
/// OMEMO 2. Only canonical encodings are accepted.
pub(crate) fn curve_from_wire(
    profile: Profile,
    bytes: &[u8],
    what: &'static str,
) -> Result<[u8; 32]> {
    let key = raw_from_wire(profile, bytes, what)?;
    if is_canonical_u(&key) {
        Ok(key)
    } else {
        Err(Error::InvalidPublicKey("non-canonical Curve25519 encoding"))
    }
}

/// The 32 key bytes of either kind of key in the profile's encoding.
pub(crate) fn raw_from_wire(
    profile: Profile,
    bytes: &[u8],
    what: &'static str,
) -> Result<[u8; 32]> {
    match profile {
        Profile::Legacy => match bytes.split_first() {
            Some((&DJB_TYPE, key)) if key.len() == 32 => array32(key, what),
            Some((&DJB_TYPE, _)) | None => Err(Error::InvalidLength {
                what,
                expected: 33,
                actual: bytes.len(),
            }),
            Some(_) if bytes.len() == 33 => {
                Err(Error::InvalidPublicKey("missing the 0x05 key type byte"))
            }
            Some(_) => Err(Error::InvalidLength {
                what,
                expected: 33,
                actual: bytes.len(),
            }),
        },
        Profile::Omemo2 => array32(bytes, what),
    }
}

pub(crate) fn curve_to_wire(profile: Profile, key: &[u8; 32]) -> Vec<u8> {
    match profile {
        Profile::Legacy => {
            let mut v = Vec::with_capacity(33);
            v.push(DJB_TYPE);
            v.extend_from_slice(key);
            v
        }
        Profile::Omemo2 => key.to_vec(),
    }
}

/// A Curve25519 public key: signed prekey, one-time prekey, ratchet or base
/// key. The same key encodes differently per profile on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(pub(crate) [u8; 32]);

impl PublicKey {
    /// Parses a key as found in a bundle or message of `profile`.
    pub fn from_wire(profile: Profile, bytes: &[u8]) -> Result<Self> {
        curve_from_wire(profile, bytes, "public key").map(Self)
    }

    /// The key as `profile` puts it in bundles and messages.
    pub fn to_wire(&self, profile: Profile) -> Vec<u8> {
        curve_to_wire(profile, &self.0)
    }

    /// The raw 32-byte Montgomery u coordinate.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", hex(&self.0))
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use core::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A device's public identity key in its profile's form: the Curve25519 key
/// for legacy, the Ed25519 key for OMEMO 2. This is what trust decisions and
/// fingerprints are about.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdentityKey {
    pub(crate) profile: Profile,
    pub(crate) key: [u8; 32],
}

impl IdentityKey {
    /// Parses an identity key from a bundle or key exchange of `profile`
    /// (33 bytes with 0x05 for legacy; a valid Ed25519 point for OMEMO 2).
    pub fn from_wire(profile: Profile, bytes: &[u8]) -> Result<Self> {
        let key = match profile {
            Profile::Legacy => curve_from_wire(profile, bytes, "identity key")?,
            Profile::Omemo2 => {
                let key = raw_from_wire(profile, bytes, "identity key")?;
                curve::check_ed25519_public(&key)?;
                key
            }
        };
        Ok(Self { profile, key })
    }

    /// The key as bundles and key exchanges carry it.
    pub fn to_wire(&self) -> Vec<u8> {
        curve_to_wire(self.profile, &self.key)
    }

    /// The 32 key bytes: Curve25519 u (legacy) or Ed25519 (OMEMO 2).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.key
    }

    /// The profile this key belongs to.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The fingerprint as Conversations, Dino, Gajim (legacy: the 32-byte
    /// Curve25519 key, without libsignal's 0x05 type byte) and Kaidan or
    /// Converse.js (OMEMO 2: the Ed25519 key) show it: lowercase hex in
    /// groups of 8, separated by spaces.
    pub fn fingerprint(&self) -> String {
        let h = hex(&self.key);
        let mut out = String::with_capacity(h.len() + h.len() / 8);
        for (i, c) in h.chars().enumerate() {
            if i > 0 && i % 8 == 0 {
                out.push(' ');
            }
            out.push(c);
        }
        out
    }

    /// The key as a Curve25519 key for X3DH.
    pub(crate) fn x25519(&self) -> Result<[u8; 32]> {
        match self.profile {
            Profile::Legacy => Ok(self.key),
            Profile::Omemo2 => curve::ed25519_public_to_x25519(&self.key),
        }
    }

    /// Checks a signature by this identity: XEdDSA (libsignal's
    /// `curve25519_verify`) for legacy, Ed25519 for OMEMO 2.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8; 64]) -> Result<()> {
        match self.profile {
            Profile::Legacy => curve::xeddsa_verify(&self.key, message, signature),
            Profile::Omemo2 => curve::ed25519_verify(&self.key, message, signature),
        }
    }
}

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityKey({:?}, {})", self.profile, hex(&self.key))
    }
}

#[derive(Clone)]
pub(crate) enum IdentitySecret {
    /// An Ed25519 seed; the private scalar is derived from it.
    Seed(Secret),
    /// A bare Curve25519/Ed25519 private scalar (imported legacy keys).
    Private(Secret),
}

/// A device's identity key pair.
///
/// One pair serves both profiles, as in python-omemo: legacy uses its
/// Curve25519 form (signing with XEdDSA), OMEMO 2 its Ed25519 form. The app
/// may equally keep one pair per profile. New pairs are Ed25519 seeds; a bare
/// private key (from a legacy store) works too, signing OMEMO 2 prekeys with
/// an XEdDSA-style nonce since there is no seed.
#[derive(Clone)]
pub struct IdentityKeyPair {
    pub(crate) secret: IdentitySecret,
}

impl IdentityKeyPair {
    /// A new random identity (an Ed25519 seed).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self {
            secret: IdentitySecret::Seed(random_secret(rng)),
        }
    }

    /// An identity from an Ed25519 seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self {
            secret: IdentitySecret::Seed(Zeroizing::new(seed)),
        }
    }

    /// An identity from a Curve25519 private key (for example one exported
    /// from a libsignal store).
    pub fn from_private_key(private: [u8; 32]) -> Self {
        Self {
            secret: IdentitySecret::Private(Zeroizing::new(private)),
        }
    }

    /// The private scalar, clamped, for X25519 and XEdDSA.
    pub(crate) fn private_scalar(&self) -> Secret {
        match &self.secret {
            IdentitySecret::Seed(seed) => curve::seed_to_private(seed),
            IdentitySecret::Private(private) => {
                Zeroizing::new(curve25519_dalek::scalar::clamp_integer(**private))
            }
        }
    }

    /// The public identity key in `profile`'s form.
    pub fn public_key(&self, profile: Profile) -> IdentityKey {
        let private = self.private_scalar();
        let key = match profile {
            Profile::Legacy => curve::x25519_public(&private),
            Profile::Omemo2 => match &self.secret {
                IdentitySecret::Seed(seed) => ed25519_dalek::SigningKey::from_bytes(seed)
                    .verifying_key()
                    .to_bytes(),
                IdentitySecret::Private(_) => curve::private_to_ed25519_public(&private),
            },
        };
        IdentityKey { profile, key }
    }

    /// Signs as `profile` requires; `nonce` feeds XEdDSA-style signatures
    /// (seed-based Ed25519 signatures are deterministic and ignore it).
    ///
    /// Legacy signatures are not XEdDSA's (which signs with whichever of the
    /// two Ed25519 keys of our Curve25519 key has sign bit 0): they are
    /// Ed25519 signatures by our actual Ed25519 identity key (libxeddsa's
    /// `ed25519_priv_sign`), with its sign bit in the unused top bit of `s`,
    /// bit for bit as python-oldmemo writes them, and as
    /// libsignal's pre-XEdDSA `curve25519_sign` did. libsignal's
    /// `curve25519_verify` (Conversations, Dino, Monal, Profanity,
    /// libsignal-protocol-javascript) takes the sign bit from exactly there,
    /// so they verify; and a client that speaks both namespaces with one
    /// identity (python-omemo, slixmpp-omemo) recovers the same Ed25519 key
    /// from our legacy bundle as from our OMEMO 2 one. With XEdDSA's form,
    /// half of all identities would look like two different keys to it, and
    /// it refuses our OMEMO 2 key exchange as an identity change.
    pub(crate) fn sign(&self, profile: Profile, message: &[u8], nonce: &[u8; 64]) -> [u8; 64] {
        match (profile, &self.secret) {
            (Profile::Legacy, _) => {
                let private = self.private_scalar();
                let mut signature = curve::ed25519_private_sign(&private, message, nonce);
                let ed25519 = curve::private_to_ed25519_public(&private);
                if let (Some(top), Some(sign)) = (signature.last_mut(), ed25519.last()) {
                    *top |= sign & 0x80;
                }
                signature
            }
            (Profile::Omemo2, IdentitySecret::Seed(seed)) => {
                curve::ed25519_seed_sign(seed, message)
            }
            (Profile::Omemo2, IdentitySecret::Private(_)) => {
                curve::ed25519_private_sign(&self.private_scalar(), message, nonce)
            }
        }
    }
}

impl fmt::Debug for IdentityKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentityKeyPair([redacted])")
    }
}

/// What a signed prekey's signature covers: the key as the profile encodes it.
pub(crate) fn signed_pre_key_message(profile: Profile, public: &[u8; 32]) -> Vec<u8> {
    curve_to_wire(profile, public)
}

/// A one-time prekey.
#[derive(Clone)]
pub struct PreKeyPair {
    pub(crate) id: u32,
    pub(crate) private: Secret,
    pub(crate) public: [u8; 32],
}

impl PreKeyPair {
    /// A new random prekey with the given id.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R, id: u32) -> Self {
        Self::from_private(id, *random_secret(rng))
    }

    pub(crate) fn from_private(id: u32, private: [u8; 32]) -> Self {
        let private = Zeroizing::new(private);
        let public = curve::x25519_public(&private);
        Self {
            id,
            private,
            public,
        }
    }

    /// The prekey id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The public key to publish.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.public)
    }
}

impl fmt::Debug for PreKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PreKeyPair({}, {:?})", self.id, self.public_key())
    }
}

/// A signed prekey. The signature depends on the profile (legacy signs the
/// 33-byte encoding with XEdDSA, OMEMO 2 the raw key with Ed25519), so a
/// signed prekey belongs to one profile.
#[derive(Clone)]
pub struct SignedPreKeyPair {
    pub(crate) profile: Profile,
    pub(crate) id: u32,
    pub(crate) private: Secret,
    pub(crate) public: [u8; 32],
    pub(crate) signature: [u8; 64],
    pub(crate) created_at: u64,
}

impl SignedPreKeyPair {
    /// A new signed prekey. `created_at` (Unix seconds, the app's clock) lets
    /// the app rotate it on schedule.
    pub fn generate<R: CryptoRng + ?Sized>(
        rng: &mut R,
        identity: &IdentityKeyPair,
        profile: Profile,
        id: u32,
        created_at: u64,
    ) -> Self {
        let private = random_secret(rng);
        let mut nonce = Zeroizing::new([0_u8; 64]);
        rng.fill_bytes(nonce.as_mut());
        Self::from_private(identity, profile, id, *private, &nonce, created_at)
    }

    pub(crate) fn from_private(
        identity: &IdentityKeyPair,
        profile: Profile,
        id: u32,
        private: [u8; 32],
        nonce: &[u8; 64],
        created_at: u64,
    ) -> Self {
        let private = Zeroizing::new(private);
        let public = curve::x25519_public(&private);
        let signature = identity.sign(profile, &signed_pre_key_message(profile, &public), nonce);
        Self {
            profile,
            id,
            private,
            public,
            signature,
            created_at,
        }
    }

    /// The signed prekey id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The profile whose signature it carries.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The public key to publish.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.public)
    }

    /// The 64-byte signature to publish.
    pub fn signature(&self) -> [u8; 64] {
        self.signature
    }

    /// When the app created it (Unix seconds).
    pub fn created_at(&self) -> u64 {
        self.created_at
    }
}

impl fmt::Debug for SignedPreKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SignedPreKeyPair({:?}, {}, {:?})",
            self.profile,
            self.id,
            self.public_key()
        )
    }
}

/// A device's published keys, own or a contact's. A `Bundle` is always
/// verified: [`Bundle::parse`] checks the signed prekey signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    pub(crate) identity_key: IdentityKey,
    pub(crate) signed_pre_key_id: u32,
    pub(crate) signed_pre_key: PublicKey,
    pub(crate) signed_pre_key_signature: [u8; 64],
    pub(crate) pre_keys: Vec<(u32, PublicKey)>,
}

impl Bundle {
    /// Our own bundle, to publish. The profile is the signed prekey's.
    pub fn new(
        identity: &IdentityKeyPair,
        signed_pre_key: &SignedPreKeyPair,
        pre_keys: &[PreKeyPair],
    ) -> Self {
        Self {
            identity_key: identity.public_key(signed_pre_key.profile),
            signed_pre_key_id: signed_pre_key.id,
            signed_pre_key: signed_pre_key.public_key(),
            signed_pre_key_signature: signed_pre_key.signature,
            pre_keys: pre_keys.iter().map(|k| (k.id, k.public_key())).collect(),
        }
    }

    /// A bundle from its wire fields (the app has decoded the base64), with
    /// the signed prekey's signature verified.
    pub fn parse<'a, I>(
        profile: Profile,
        identity_key: &[u8],
        signed_pre_key_id: u32,
        signed_pre_key: &[u8],
        signed_pre_key_signature: &[u8],
        pre_keys: I,
    ) -> Result<Self>
    where
        I: IntoIterator<Item = (u32, &'a [u8])>,
    {
        let identity_key = IdentityKey::from_wire(profile, identity_key)?;
        let signed_pre_key = PublicKey::from_wire(profile, signed_pre_key)?;
        let signature = array64(signed_pre_key_signature, "signed prekey signature")?;
        identity_key.verify(
            &signed_pre_key_message(profile, &signed_pre_key.0),
            &signature,
        )?;
        let pre_keys = pre_keys
            .into_iter()
            .map(|(id, key)| PublicKey::from_wire(profile, key).map(|k| (id, k)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            identity_key,
            signed_pre_key_id,
            signed_pre_key,
            signed_pre_key_signature: signature,
            pre_keys,
        })
    }

    /// The profile of this bundle.
    pub fn profile(&self) -> Profile {
        self.identity_key.profile
    }

    /// The device's identity key.
    pub fn identity_key(&self) -> &IdentityKey {
        &self.identity_key
    }

    /// The signed prekey id.
    pub fn signed_pre_key_id(&self) -> u32 {
        self.signed_pre_key_id
    }

    /// The signed prekey.
    pub fn signed_pre_key(&self) -> &PublicKey {
        &self.signed_pre_key
    }

    /// The signed prekey signature as published.
    pub fn signed_pre_key_signature(&self) -> &[u8; 64] {
        &self.signed_pre_key_signature
    }

    /// The one-time prekeys with their ids.
    pub fn pre_keys(&self) -> &[(u32, PublicKey)] {
        &self.pre_keys
    }

    /// A uniformly chosen one-time prekey id, as the X3DH specification asks.
    pub fn random_pre_key_id<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> Option<u32> {
        // Multiply-shift maps a 64-bit draw onto the index range.
        let len = u128::try_from(self.pre_keys.len()).ok()?;
        let index = usize::try_from((u128::from(rng.next_u64()) * len) >> 64).ok()?;
        self.pre_keys.get(index).map(|(id, _)| *id)
    }

    pub(crate) fn pre_key(&self, id: u32) -> Option<&PublicKey> {
        self.pre_keys.iter().find(|(i, _)| *i == id).map(|(_, k)| k)
    }
}

/// An OMEMO device id: 1 to 2^31 - 1, as both XEP versions require.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(u32);

impl DeviceId {
    /// The largest valid id.
    pub const MAX: u32 = 0x7fff_ffff;

    /// A random device id.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        loop {
            let v = rng.next_u32() & Self::MAX;
            if v != 0 {
                return Self(v);
            }
        }
    }

    /// Checks a device id from the network.
    pub fn new(id: u32) -> Option<Self> {
        (1..=Self::MAX).contains(&id).then_some(Self(id))
    }

    /// The numeric id.
    pub fn get(self) -> u32 {
        self.0
    }
}
