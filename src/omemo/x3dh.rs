//! X3DH, both sides, as libsignal's `RatchetingSession` and python's `x3dh`
//! compute it: HKDF(salt = 32 zero bytes, ikm = 0xFF × 32 ‖ DH1 ‖ DH2 ‖ DH3
//! [‖ DH4], info = profile label). Only the first 32 bytes are used; libsignal
//! derives 64 and keeps the second half as a chain key its responder would
//! send on before ratcheting, which never happens in OMEMO, and HKDF output is
//! prefix-stable, so both agree.

use zeroize::Zeroizing;

use super::Profile;
use super::curve::{Secret, x25519};
use super::error::Result;
use super::kdf::hkdf;

fn derive(profile: Profile, dhs: &[&Secret]) -> Result<Secret> {
    let mut ikm = Zeroizing::new(Vec::with_capacity(32 * 5));
    ikm.extend_from_slice(&[0xff; 32]);
    for dh in dhs {
        ikm.extend_from_slice(dh.as_ref());
    }
    let mut secret = Zeroizing::new([0_u8; 32]);
    hkdf(None, &ikm, profile.x3dh_info(), secret.as_mut())?;
    Ok(secret)
}

/// The initiator's side. `remote_identity` is the responder's identity as a
/// Curve25519 key.
pub(crate) fn active(
    profile: Profile,
    own_identity_private: &[u8; 32],
    remote_identity: &[u8; 32],
    remote_signed_pre_key: &[u8; 32],
    remote_pre_key: Option<&[u8; 32]>,
    base_private: &[u8; 32],
) -> Result<Secret> {
    let dh1 = x25519(own_identity_private, remote_signed_pre_key)?;
    let dh2 = x25519(base_private, remote_identity)?;
    let dh3 = x25519(base_private, remote_signed_pre_key)?;
    match remote_pre_key {
        Some(pre_key) => derive(
            profile,
            &[&dh1, &dh2, &dh3, &x25519(base_private, pre_key)?],
        ),
        None => derive(profile, &[&dh1, &dh2, &dh3]),
    }
}

/// The responder's side. `remote_identity` is the initiator's identity as a
/// Curve25519 key.
pub(crate) fn passive(
    profile: Profile,
    own_identity_private: &[u8; 32],
    signed_pre_key_private: &[u8; 32],
    pre_key_private: Option<&[u8; 32]>,
    remote_identity: &[u8; 32],
    remote_base_key: &[u8; 32],
) -> Result<Secret> {
    let dh1 = x25519(signed_pre_key_private, remote_identity)?;
    let dh2 = x25519(own_identity_private, remote_base_key)?;
    let dh3 = x25519(signed_pre_key_private, remote_base_key)?;
    match pre_key_private {
        Some(pre_key) => derive(
            profile,
            &[&dh1, &dh2, &dh3, &x25519(pre_key, remote_base_key)?],
        ),
        None => derive(profile, &[&dh1, &dh2, &dh3]),
    }
}
