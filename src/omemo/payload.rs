//! The payload layer: what is encrypted once per message (the legacy body,
//! the OMEMO 2 SCE envelope) and the key material the ratchet then carries
//! to each device.

use core::fmt;

use rand::CryptoRng;
use zeroize::Zeroizing;

use super::Profile;
use super::error::{Error, Result};
use super::kdf::{expand_keys, hmac, mac_matches};
use super::symmetric::{cbc_decrypt, cbc_encrypt, gcm_decrypt, gcm_encrypt};

const PAYLOAD_INFO: &[u8] = b"OMEMO Payload";
const OMEMO2_TAG_LEN: usize = 16;

/// An encrypted payload.
pub struct EncryptedPayload {
    /// What [`Session::encrypt`](super::Session::encrypt) carries to each
    /// device: legacy key(16) ‖ GCM tag(16); OMEMO 2 key(32) ‖ HMAC(16).
    pub key_material: Zeroizing<Vec<u8>>,
    /// The `<payload>` content.
    pub ciphertext: Vec<u8>,
    /// Legacy only: the 12-byte `<iv>`. OMEMO 2 derives its IV.
    pub iv: Option<[u8; 12]>,
}

impl fmt::Debug for EncryptedPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptedPayload")
            .field("ciphertext_len", &self.ciphertext.len())
            .field("iv", &self.iv)
            .finish_non_exhaustive()
    }
}

/// Encrypts a payload: the legacy `<body>` text or the OMEMO 2 SCE envelope
/// (the app builds and parses the XML; here it is opaque bytes).
pub fn encrypt_payload<R: CryptoRng + ?Sized>(
    rng: &mut R,
    profile: Profile,
    plaintext: &[u8],
) -> Result<EncryptedPayload> {
    match profile {
        Profile::Legacy => {
            let mut key = Zeroizing::new([0_u8; 16]);
            rng.fill_bytes(key.as_mut());
            let mut iv = [0_u8; 12];
            rng.fill_bytes(&mut iv);
            encrypt_legacy(&key, &iv, plaintext)
        }
        Profile::Omemo2 => {
            let mut key = Zeroizing::new([0_u8; 32]);
            rng.fill_bytes(key.as_mut());
            encrypt_omemo2(&key, plaintext)
        }
    }
}

/// AES-128-GCM; the tag goes with the key into the key material, as
/// XEP-0384 v0.3 and Conversations since 2018 do.
pub(crate) fn encrypt_legacy(
    key: &[u8; 16],
    iv: &[u8; 12],
    plaintext: &[u8],
) -> Result<EncryptedPayload> {
    let (ciphertext, tag) = gcm_encrypt(key, iv, plaintext)?;
    let mut key_material = Zeroizing::new(Vec::with_capacity(32));
    key_material.extend_from_slice(key);
    key_material.extend_from_slice(&tag);
    Ok(EncryptedPayload {
        key_material,
        ciphertext,
        iv: Some(*iv),
    })
}

/// python-twomemo's `encrypt_plaintext`: HKDF("OMEMO Payload") of a random
/// 32-byte key gives AES-256-CBC key, HMAC key and IV; the tag is the HMAC of
/// the ciphertext truncated to 16 bytes.
pub(crate) fn encrypt_omemo2(key: &[u8; 32], plaintext: &[u8]) -> Result<EncryptedPayload> {
    let keys = expand_keys(key, PAYLOAD_INFO)?;
    let ciphertext = cbc_encrypt(&keys.cipher_key, &keys.iv, plaintext);
    let tag = hmac(keys.mac_key.as_ref(), &[&ciphertext])?;
    let mut key_material = Zeroizing::new(Vec::with_capacity(32 + OMEMO2_TAG_LEN));
    key_material.extend_from_slice(key);
    key_material.extend_from_slice(
        tag.get(..OMEMO2_TAG_LEN)
            .ok_or(Error::Crypto("tag length"))?,
    );
    Ok(EncryptedPayload {
        key_material,
        ciphertext,
        iv: None,
    })
}

/// Decrypts a payload with the key material a session decrypted.
///
/// Legacy accepts the current form (key material = key ‖ tag, 32 bytes) and
/// the pre-2018 Conversations form (16-byte key, tag appended to the
/// payload), as Dino and Gajim do; IVs of 12 or 16 bytes. OMEMO 2 takes
/// 48 bytes of key material and no IV.
pub fn decrypt_payload(
    profile: Profile,
    key_material: &[u8],
    ciphertext: &[u8],
    iv: Option<&[u8]>,
) -> Result<Zeroizing<Vec<u8>>> {
    match profile {
        Profile::Legacy => {
            let iv = iv.ok_or(Error::InvalidIv(0))?;
            let (key, tag, body) = match key_material.len() {
                32 => {
                    let (key, tag) = key_material.split_at(16);
                    (key, tag, ciphertext)
                }
                16 => {
                    let body_len = ciphertext
                        .len()
                        .checked_sub(16)
                        .ok_or(Error::MalformedPayload)?;
                    let (body, tag) = ciphertext.split_at(body_len);
                    (key_material, tag, body)
                }
                n => return Err(Error::InvalidKeyMaterial(n)),
            };
            let key = <&[u8; 16]>::try_from(key)
                .map_err(|_| Error::InvalidKeyMaterial(key_material.len()))?;
            let tag = <&[u8; 16]>::try_from(tag).map_err(|_| Error::MalformedPayload)?;
            gcm_decrypt(key, iv, body, tag)
        }
        Profile::Omemo2 => {
            if let Some(iv) = iv {
                return Err(Error::InvalidIv(iv.len()));
            }
            if key_material.len() != 32 + OMEMO2_TAG_LEN {
                return Err(Error::InvalidKeyMaterial(key_material.len()));
            }
            let (key, tag) = key_material.split_at(32);
            let keys = expand_keys(key, PAYLOAD_INFO)?;
            let computed = hmac(keys.mac_key.as_ref(), &[ciphertext])?;
            if !mac_matches(&computed, tag, OMEMO2_TAG_LEN) {
                return Err(Error::PayloadAuthentication);
            }
            cbc_decrypt(&keys.cipher_key, &keys.iv, ciphertext).ok_or(Error::MalformedPayload)
        }
    }
}

/// Key material for an empty OMEMO message (session set-up, heartbeat,
/// repair), which has no `<payload>`: legacy a fresh 16-byte key as
/// Conversations' key transport messages and python-oldmemo send; OMEMO 2
/// 32 zero bytes, as python-twomemo does.
pub fn empty_key_material<R: CryptoRng + ?Sized>(
    rng: &mut R,
    profile: Profile,
) -> Zeroizing<Vec<u8>> {
    match profile {
        Profile::Legacy => {
            let mut key = Zeroizing::new(vec![0_u8; 16]);
            rng.fill_bytes(key.as_mut_slice());
            key
        }
        Profile::Omemo2 => Zeroizing::new(vec![0_u8; 32]),
    }
}
