//! Account passwords: in the OS keychain when one is reachable, otherwise
//! inside Sotto's encrypted database, which is then unlocked by a
//! passphrase (as restic and borg do). Nothing secret is ever written in
//! clear.

mod keychain;

use secrecy::{ExposeSecret, SecretString};
use thiserror::Error;

use crate::config::PasswordStore;
use crate::model::BareJid;
use crate::store::{Store, StoreError};

pub use keychain::{Keychain, KeychainError};

/// Gives the database passphrase when Sotto needs it.
pub const PASSPHRASE_ENV: &str = "SOTTO_PASSPHRASE";
/// `passphrase` skips the keychain even where one is reachable.
pub const BACKEND_ENV: &str = "SOTTO_SECRETS";

#[derive(Debug, Error)]
pub enum PassphraseError {
    #[error(
        "Sotto's database needs its passphrase: set SOTTO_PASSPHRASE or run Sotto in a terminal"
    )]
    NotGiven,
    #[error("could not read the passphrase: {0}")]
    Prompt(#[source] std::io::Error),
    #[error("the two passphrases differ; nothing was changed")]
    Differ,
    #[error("an empty passphrase would protect nothing; choose one")]
    Empty,
}

#[derive(Debug, Error)]
pub enum SecretsError {
    #[error(transparent)]
    Keychain(#[from] KeychainError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no password is stored for {0}; remove the account and add it again")]
    Missing(BareJid),
}

/// Asks the user for the database passphrase. `creating` is true when the
/// database does not exist yet, so the prompt can ask twice.
pub trait PassphrasePrompt: Send + Sync {
    fn passphrase(&self, creating: bool) -> Result<SecretString, PassphraseError>;
}

/// `SOTTO_PASSPHRASE` if set, else a prompt on the terminal.
#[derive(Debug, Default, Clone, Copy)]
pub struct EnvOrTerminal;

impl PassphrasePrompt for EnvOrTerminal {
    fn passphrase(&self, creating: bool) -> Result<SecretString, PassphraseError> {
        if let Ok(value) = std::env::var(PASSPHRASE_ENV) {
            return Ok(SecretString::from(value));
        }
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return Err(PassphraseError::NotGiven);
        }
        let prompt = if creating {
            "No system keychain is reachable. Choose a passphrase for Sotto's database: "
        } else {
            "Passphrase for Sotto's database: "
        };
        let first = rpassword::prompt_password(prompt).map_err(PassphraseError::Prompt)?;
        if creating {
            let again = rpassword::prompt_password("Repeat the passphrase: ")
                .map_err(PassphraseError::Prompt)?;
            if again != first {
                return Err(PassphraseError::Differ);
            }
        }
        Ok(SecretString::from(first))
    }
}

/// Whether to try the OS keychain at all (`SOTTO_SECRETS=passphrase` says
/// no).
pub fn keychain_wanted() -> bool {
    std::env::var(BACKEND_ENV)
        .map(|v| v != "passphrase")
        .unwrap_or(true)
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
