//! The database passphrase, for machines without a reachable keychain:
//! where it comes from and why it may be missing.

use secrecy::SecretString;
use thiserror::Error;

/// Gives the database passphrase when Sotto needs it.
pub const PASSPHRASE_ENV: &str = "SOTTO_PASSPHRASE";

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
