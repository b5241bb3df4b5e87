//! Account passwords: in the OS keychain when one is reachable, otherwise in
//! Sotto's own encrypted vault, unlocked by a passphrase (as restic and borg
//! do). Nothing secret is ever written in clear.

mod keychain;
mod vault;

use secrecy::{ExposeSecret, SecretString};
use thiserror::Error;

use crate::config::PasswordStore;
use crate::model::BareJid;
use crate::paths::Paths;

pub use keychain::{Keychain, KeychainError};
pub use vault::{Vault, VaultError};

/// Gives the vault's passphrase when Sotto needs it.
pub const PASSPHRASE_ENV: &str = "SOTTO_PASSPHRASE";
/// `vault` skips the keychain even where one is reachable.
pub const BACKEND_ENV: &str = "SOTTO_SECRETS";

#[derive(Debug, Error)]
pub enum SecretsError {
    #[error(transparent)]
    Keychain(#[from] KeychainError),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error("no password is stored for {0}; add the account again or set its password")]
    Missing(BareJid),
}

/// Asks the user for the vault passphrase. `creating` is true when the vault
/// does not exist yet, so the prompt can ask twice.
pub trait PassphrasePrompt: Send + Sync {
    fn passphrase(&self, creating: bool) -> Result<SecretString, VaultError>;
}

/// `SOTTO_PASSPHRASE` if set, else a prompt on the terminal.
#[derive(Debug, Default, Clone, Copy)]
pub struct EnvOrTerminal;

impl PassphrasePrompt for EnvOrTerminal {
    fn passphrase(&self, creating: bool) -> Result<SecretString, VaultError> {
        if let Ok(value) = std::env::var(PASSPHRASE_ENV) {
            return Ok(SecretString::from(value));
        }
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return Err(VaultError::NoPassphrase);
        }
        let first = rpassword::prompt_password("Passphrase for Sotto's vault: ")
            .map_err(VaultError::Prompt)?;
        if creating {
            let again = rpassword::prompt_password("Repeat the passphrase: ")
                .map_err(VaultError::Prompt)?;
            if again != first {
                return Err(VaultError::PassphrasesDiffer);
            }
        }
        Ok(SecretString::from(first))
    }
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
    paths: Paths,
    prompt: Box<dyn PassphrasePrompt>,
    vault: Option<Vault>,
}

impl Secrets {
    pub fn new(paths: Paths, prompt: Box<dyn PassphrasePrompt>) -> Self {
        Self {
            paths,
            prompt,
            vault: None,
        }
    }

    fn keychain_wanted() -> bool {
        std::env::var(BACKEND_ENV)
            .map(|v| v != "vault")
            .unwrap_or(true)
    }

    fn vault(&mut self) -> Result<&mut Vault, VaultError> {
        if self.vault.is_none() {
            let vault = Vault::open(&self.paths.vault_file(), self.prompt.as_ref())?;
            self.vault = Some(vault);
        }
        // Just set above when it was empty.
        self.vault.as_mut().ok_or(VaultError::NoPassphrase)
    }

    fn key(jid: &BareJid) -> String {
        format!("xmpp:{jid}")
    }

    /// Stores in the keychain if it works, otherwise in the vault.
    pub fn store_password(
        &mut self,
        jid: &BareJid,
        password: &SecretString,
    ) -> Result<Stored, SecretsError> {
        let mut keychain_unavailable = None;
        if Self::keychain_wanted() {
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
                "no system keychain is reachable; the password goes to Sotto's encrypted vault"
            );
        }
        self.vault()?
            .set(&Self::key(jid), password.expose_secret())?;
        Ok(Stored {
            store: PasswordStore::Vault,
            keychain_unavailable,
        })
    }

    pub fn password(
        &mut self,
        jid: &BareJid,
        store: PasswordStore,
    ) -> Result<SecretString, SecretsError> {
        let found = match store {
            PasswordStore::Keychain => Keychain::new(&Self::key(jid))?.get()?,
            PasswordStore::Vault => self.vault()?.get(&Self::key(jid)),
        };
        found.ok_or_else(|| SecretsError::Missing(jid.clone()))
    }

    pub fn delete_password(
        &mut self,
        jid: &BareJid,
        store: PasswordStore,
    ) -> Result<(), SecretsError> {
        match store {
            PasswordStore::Keychain => Keychain::new(&Self::key(jid))?.delete()?,
            PasswordStore::Vault => self.vault()?.remove(&Self::key(jid))?,
        }
        Ok(())
    }
}
