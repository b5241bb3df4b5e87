//! AES-256-CBC with PKCS#7 (ratchet messages of both profiles, OMEMO 2
//! payloads) and AES-128-GCM (legacy payloads).

use aes::{Aes128, Aes256};
use aes_gcm::aead::consts::{U12, U16};
use aes_gcm::{AeadInOut, AesGcm, KeyInit as _};
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use zeroize::Zeroizing;

use super::error::{Error, Result};

const BLOCK: usize = 16;

pub(crate) fn cbc_encrypt(key: &[u8; 32], iv: &[u8; 16], plaintext: &[u8]) -> Vec<u8> {
    cbc::Encryptor::<Aes256>::new(key.into(), iv.into()).encrypt_padded_vec::<Pkcs7>(plaintext)
}

/// Decrypts and unpads. Only called on authenticated ciphertext, so a
/// failure here means a broken sender, not an attacker probing padding.
pub(crate) fn cbc_decrypt(
    key: &[u8; 32],
    iv: &[u8; 16],
    ciphertext: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(BLOCK) {
        return None;
    }
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    let len = cbc::Decryptor::<Aes256>::new(key.into(), iv.into())
        .decrypt_padded::<Pkcs7>(buf.as_mut_slice())
        .ok()?
        .len();
    buf.truncate(len);
    Some(buf)
}

/// AES-128-GCM with a 12-byte IV, returning ciphertext and the detached tag.
pub(crate) fn gcm_encrypt(
    key: &[u8; 16],
    iv: &[u8; 12],
    plaintext: &[u8],
) -> Result<(Vec<u8>, [u8; 16])> {
    let cipher = AesGcm::<Aes128, U12>::new(key.into());
    let mut buf = plaintext.to_vec();
    let tag = cipher
        .encrypt_inout_detached(iv.into(), b"", buf.as_mut_slice().into())
        .map_err(|_| Error::Crypto("AES-GCM input too long"))?;
    Ok((buf, tag.into()))
}

/// AES-128-GCM decryption with a 12- or 16-byte IV (old Conversations used
/// 16; GCM hashes such IVs into the counter block, which `AesGcm<_, U16>`
/// does).
pub(crate) fn gcm_decrypt(
    key: &[u8; 16],
    iv: &[u8],
    ciphertext: &[u8],
    tag: &[u8; 16],
) -> Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    let ok = if let Ok(iv) = <&[u8; 12]>::try_from(iv) {
        AesGcm::<Aes128, U12>::new(key.into())
            .decrypt_inout_detached(iv.into(), b"", buf.as_mut_slice().into(), tag.into())
            .is_ok()
    } else if let Ok(iv) = <&[u8; 16]>::try_from(iv) {
        AesGcm::<Aes128, U16>::new(key.into())
            .decrypt_inout_detached(iv.into(), b"", buf.as_mut_slice().into(), tag.into())
            .is_ok()
    } else {
        return Err(Error::InvalidIv(iv.len()));
    };
    if ok {
        Ok(buf)
    } else {
        Err(Error::PayloadAuthentication)
    }
}
