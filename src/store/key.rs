//! Where the database key comes from: a random 256-bit key kept in the OS
//! keychain, or, where no keychain is reachable, a key derived from the
//! user's passphrase with Argon2id (salt in the clear beside the database).

use std::path::{Path, PathBuf};

use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::passphrase::{PassphraseError, PassphrasePrompt};
use super::{Database, Store, StoreError};
use crate::keychain::{Keychain, keychain_wanted};
use crate::paths::Paths;

/// The keychain entry holding the database key.
const KEY_ENTRY: &str = "database-key";

/// 32 bytes that unlock the database; zeroed when dropped.
pub struct StoreKey(Zeroizing<[u8; 32]>);

impl StoreKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    fn random() -> Self {
        Self::from_bytes(rand::random())
    }

    pub(super) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Argon2id with its recommended parameters (19 MiB, 2 passes).
    pub fn derive(passphrase: &SecretString, salt: &[u8]) -> Result<Self, StoreError> {
        let mut key = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
            .hash_password_into(passphrase.expose_secret().as_bytes(), salt, key.as_mut())
            .map_err(|e| StoreError::Io {
                path: PathBuf::from("(key derivation)"),
                source: std::io::Error::other(e.to_string()),
            })?;
        Ok(Self(key))
    }

    fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(self.0.iter().map(|b| format!("{b:02x}")).collect())
    }

    fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut out = Zeroizing::new([0u8; 32]);
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(out))
    }
}

/// Which protection the database has, for telling the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    Keychain,
    Passphrase,
}

pub fn database_file(paths: &Paths) -> PathBuf {
    paths.data_dir.join("sotto.db")
}

fn salt_file(db: &Path) -> PathBuf {
    db.with_extension("db.salt")
}

/// Opens the database, creating it and its key on first use. Asks for the
/// passphrase through `prompt` only when the keychain is not used.
pub fn unlock(
    paths: &Paths,
    prompt: &dyn PassphrasePrompt,
) -> Result<(Database, KeyOrigin), StoreError> {
    open_unlocked(paths, prompt).map(|(store, origin)| (Database(store), origin))
}

fn open_unlocked(
    paths: &Paths,
    prompt: &dyn PassphrasePrompt,
) -> Result<(Store, KeyOrigin), StoreError> {
    let db = database_file(paths);
    let salt_path = salt_file(&db);
    if salt_path.exists() {
        return open_with_passphrase(&db, &salt_path, prompt, false);
    }
    let keychain_error = if keychain_wanted() {
        match Keychain::new(KEY_ENTRY).and_then(|k| k.get().map(|v| (k, v))) {
            Ok((_, Some(hex))) => {
                let key = StoreKey::from_hex(hex.expose_secret()).ok_or(StoreError::Locked)?;
                return Ok((Store::open(&db, &key)?, KeyOrigin::Keychain));
            }
            Ok((entry, None)) => {
                if db.exists() {
                    return Err(StoreError::KeyMissing(db));
                }
                let key = StoreKey::random();
                match entry.set_verified(&SecretString::from(key.to_hex().as_str())) {
                    Ok(()) => return Ok((Store::open(&db, &key)?, KeyOrigin::Keychain)),
                    Err(e) if e.is_unavailable() => Some(e),
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) if e.is_unavailable() => Some(e),
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    if db.exists() {
        // Made with a keychain key that cannot be reached now.
        return Err(match keychain_error {
            Some(e) => e.into(),
            None => StoreError::KeyMissing(db),
        });
    }
    if let Some(e) = &keychain_error {
        tracing::warn!(reason = %e, "no system keychain; the database is protected by a passphrase");
    }
    open_with_passphrase(&db, &salt_path, prompt, true)
}

fn open_with_passphrase(
    db: &Path,
    salt_path: &Path,
    prompt: &dyn PassphrasePrompt,
    creating: bool,
) -> Result<(Store, KeyOrigin), StoreError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| StoreError::Io { path, source }
    };
    let passphrase = prompt.passphrase(creating)?;
    if passphrase.expose_secret().is_empty() {
        return Err(PassphraseError::Empty.into());
    }
    let salt = if creating {
        let salt: [u8; 16] = rand::random();
        crate::config::write_private_atomically(salt_path, &salt).map_err(io(salt_path))?;
        salt.to_vec()
    } else {
        std::fs::read(salt_path).map_err(io(salt_path))?
    };
    let key = StoreKey::derive(&passphrase, &salt)?;
    Ok((Store::open(db, &key)?, KeyOrigin::Passphrase))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let key = StoreKey::from_bytes([0xab; 32]);
        let back = StoreKey::from_hex(&key.to_hex()).expect("hex");
        assert_eq!(back.bytes(), key.bytes());
        assert!(StoreKey::from_hex("zz").is_none());
    }

    #[test]
    fn the_same_passphrase_and_salt_give_the_same_key() {
        let p = SecretString::from("correct horse");
        let a = StoreKey::derive(&p, b"0123456789abcdef").expect("derive");
        let b = StoreKey::derive(&p, b"0123456789abcdef").expect("derive");
        let c = StoreKey::derive(&p, b"fedcba9876543210").expect("derive");
        assert_eq!(a.bytes(), b.bytes());
        assert_ne!(a.bytes(), c.bytes());
    }
}
