//! The KDF chains of X3DH and the Double Ratchet, and the message-key
//! expansion, as the Signal specifications recommend and both OMEMO versions
//! instantiate them (HKDF-SHA-256, HMAC-SHA-256 with the constants 0x01/0x02).

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::Profile;
use super::curve::Secret;
use super::error::{Error, Result};

type HmacSha256 = Hmac<Sha256>;

/// HKDF-SHA-256 with a salt of 32 zero bytes unless one is given (the zero
/// salt is what libsignal's HKDFv3 and python's x3dh/doubleratchet pass).
pub(crate) fn hkdf(salt: Option<&[u8]>, ikm: &[u8], info: &[u8], okm: &mut [u8]) -> Result<()> {
    Hkdf::<Sha256>::new(Some(salt.unwrap_or(&[0_u8; 32])), ikm)
        .expand(info, okm)
        .map_err(|_| Error::Crypto("HKDF output length"))
}

/// HMAC-SHA-256 over the concatenation of `parts`.
pub(crate) fn hmac(key: &[u8], parts: &[&[u8]]) -> Result<[u8; 32]> {
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(key).map_err(|_| Error::Crypto("HMAC key"))?;
    for part in parts {
        mac.update(part);
    }
    Ok(mac.finalize().into_bytes().into())
}

/// Compares a received truncated MAC with the computed one in constant time.
pub(crate) fn mac_matches(computed: &[u8; 32], received: &[u8], len: usize) -> bool {
    match computed.get(..len) {
        Some(expected) if received.len() == len => bool::from(expected.ct_eq(received)),
        _ => false,
    }
}

/// Splits 64 bytes of KDF output into two secrets.
fn split64(okm: &[u8; 64]) -> (Secret, Secret) {
    let mut first = Zeroizing::new([0_u8; 32]);
    let mut second = Zeroizing::new([0_u8; 32]);
    let (a, b) = okm.split_at(32);
    first.copy_from_slice(a);
    second.copy_from_slice(b);
    (first, second)
}

/// One step of the root chain: HKDF(salt = root key, ikm = DH output,
/// info = profile label) → (new root key, new chain key).
pub(crate) fn root_step(
    profile: Profile,
    root_key: &[u8; 32],
    dh: &[u8; 32],
) -> Result<(Secret, Secret)> {
    let mut okm = Zeroizing::new([0_u8; 64]);
    hkdf(Some(root_key), dh, profile.root_info(), okm.as_mut())?;
    Ok(split64(&okm))
}

/// One step of a sending or receiving chain: the next chain key is
/// HMAC(ck, 0x02), the message key HMAC(ck, 0x01) (libsignal's ChainKey,
/// python's `kdf_separate_hmacs` with the constant b"\x02\x01").
pub(crate) fn chain_step(chain_key: &[u8; 32]) -> Result<(Secret, Secret)> {
    let next = Zeroizing::new(hmac(chain_key, &[&[0x02]])?);
    let message_key = Zeroizing::new(hmac(chain_key, &[&[0x01]])?);
    Ok((next, message_key))
}

/// The three keys one message key expands to.
pub(crate) struct MessageKeys {
    pub(crate) cipher_key: Secret,
    pub(crate) mac_key: Secret,
    pub(crate) iv: Zeroizing<[u8; 16]>,
}

/// Expands 32 bytes into AES-256 key, HMAC key and IV:
/// HKDF(salt = zeros, ikm = key, info) → 32 ‖ 32 ‖ 16. Used with the message
/// key labels for ratchet messages and with "OMEMO Payload" for OMEMO 2
/// payloads.
pub(crate) fn expand_keys(key: &[u8], info: &[u8]) -> Result<MessageKeys> {
    let mut okm = Zeroizing::new([0_u8; 80]);
    hkdf(None, key, info, okm.as_mut())?;
    let mut keys = MessageKeys {
        cipher_key: Zeroizing::new([0_u8; 32]),
        mac_key: Zeroizing::new([0_u8; 32]),
        iv: Zeroizing::new([0_u8; 16]),
    };
    let (cipher, rest) = okm.split_at(32);
    let (mac, iv) = rest.split_at(32);
    keys.cipher_key.copy_from_slice(cipher);
    keys.mac_key.copy_from_slice(mac);
    keys.iv.copy_from_slice(iv);
    Ok(keys)
}
