//! The OS keychain through `keyring` (Secret Service on Linux, Keychain
//! Services on macOS). Calls block: keep them off async tasks.

use secrecy::{ExposeSecret, SecretString};
use thiserror::Error;

/// The keychain "service" under which Sotto's entries are filed; equal to
/// the macOS bundle identifier.
pub const SERVICE: &str = "im.sotto.Sotto";

/// `passphrase` skips the keychain even where one is reachable.
pub const BACKEND_ENV: &str = "SOTTO_SECRETS";

/// Whether to try the OS keychain at all (`SOTTO_SECRETS=passphrase` says
/// no).
pub fn keychain_wanted() -> bool {
    std::env::var(BACKEND_ENV)
        .map(|v| v != "passphrase")
        .unwrap_or(true)
}

#[derive(Debug, Error)]
pub enum KeychainError {
    /// No keychain could be reached or it refused access (locked, absent).
    #[error("the system keychain is not available ({0})")]
    Unavailable(String),
    #[error("the system keychain failed: {0}")]
    Failed(String),
    #[error("the system keychain returned a different password than was stored")]
    Mismatch,
}

impl KeychainError {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

impl From<keyring::Error> for KeychainError {
    fn from(e: keyring::Error) -> Self {
        // Only the platform errors' text is shown: the encoding variants
        // carry the secret's bytes.
        match e {
            keyring::Error::NoStorageAccess(p) | keyring::Error::PlatformFailure(p) => {
                Self::Unavailable(p.to_string())
            }
            keyring::Error::NoDefaultStore => Self::Unavailable("no credential store".into()),
            keyring::Error::BadEncoding(_) | keyring::Error::BadDataFormat(..) => {
                Self::Failed("the stored password is unreadable".into())
            }
            keyring::Error::NoEntry => Self::Failed("no such entry".into()),
            other => Self::Failed(other.to_string()),
        }
    }
}

/// One keychain entry.
pub struct Keychain {
    entry: keyring::Entry,
}

impl Keychain {
    pub fn new(user: &str) -> Result<Self, KeychainError> {
        Ok(Self {
            entry: keyring::Entry::new(SERVICE, user)?,
        })
    }

    /// Stores and reads back, so a keychain that accepts writes but loses
    /// them is found out now rather than at the next login.
    pub fn set_verified(&self, secret: &SecretString) -> Result<(), KeychainError> {
        self.entry.set_password(secret.expose_secret())?;
        match self.get()? {
            Some(read) if read.expose_secret() == secret.expose_secret() => Ok(()),
            _ => Err(KeychainError::Mismatch),
        }
    }

    pub fn get(&self) -> Result<Option<SecretString>, KeychainError> {
        match self.entry.get_password() {
            Ok(p) => Ok(Some(SecretString::from(p))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub fn delete(&self) -> Result<(), KeychainError> {
        match self.entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
