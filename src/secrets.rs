//! Account passwords: in the OS keychain when one is reachable, otherwise
//! inside Sotto's encrypted database, which is then unlocked by a
//! passphrase (as restic and borg do). Nothing secret is ever written in
//! clear.

use secrecy::{ExposeSecret, SecretString};
use thiserror::Error;

use crate::config::PasswordStore;
use crate::keychain::{Keychain, KeychainError, keychain_wanted};
use crate::model::BareJid;
use crate::store::{Store, StoreError};

#[derive(Debug, Error)]
pub enum SecretsError {
    #[error(transparent)]
    Keychain(#[from] KeychainError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no password is stored for {0}; remove the account and add it again")]
    Missing(BareJid),
}

/// What happened when a password was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub store: PasswordStore,
    /// Why the keychain was not used, when it was tried and failed; the
    /// front end tells the user once.
    pub keychain_unavailable: Option<String>,
}

/// The front ends' entry point to account passwords.
pub struct Secrets {
    store: Store,
}

impl Secrets {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    fn key(jid: &BareJid) -> String {
        format!("xmpp:{jid}")
    }

    /// Stores in the keychain if it works, otherwise in the database.
    pub fn store_password(
        &self,
        jid: &BareJid,
        password: &SecretString,
    ) -> Result<Stored, SecretsError> {
        let mut keychain_unavailable = None;
        if keychain_wanted() {
            match Keychain::new(&Self::key(jid)).and_then(|k| k.set_verified(password)) {
                Ok(()) => {
                    return Ok(Stored {
                        store: PasswordStore::Keychain,
                        keychain_unavailable: None,
                    });
                }
                Err(e) if e.is_unavailable() => keychain_unavailable = Some(e.to_string()),
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(reason) = &keychain_unavailable {
            tracing::warn!(
                %reason,
                "no system keychain is reachable; the password goes to the encrypted database"
            );
        }
        self.store
            .set_secret(&Self::key(jid), password.expose_secret())?;
        Ok(Stored {
            store: PasswordStore::Database,
            keychain_unavailable,
        })
    }

    pub fn password(
        &self,
        jid: &BareJid,
        store: PasswordStore,
    ) -> Result<SecretString, SecretsError> {
        let found = match store {
            PasswordStore::Keychain => Keychain::new(&Self::key(jid))?.get()?,
            PasswordStore::Database => self.store.secret(&Self::key(jid))?.map(SecretString::from),
        };
        found.ok_or_else(|| SecretsError::Missing(jid.clone()))
    }

    pub fn delete_password(&self, jid: &BareJid, store: PasswordStore) -> Result<(), SecretsError> {
        match store {
            PasswordStore::Keychain => Keychain::new(&Self::key(jid))?.delete()?,
            PasswordStore::Database => self.store.delete_secret(&Self::key(jid))?,
        }
        Ok(())
    }
}
