//! Sotto's encrypted vault: a small file of secrets for machines without a
//! keychain. XChaCha20-Poly1305 under a key derived from the user's
//! passphrase with Argon2id; the file holds only the salt, the KDF
//! parameters, a nonce and ciphertext.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use zeroize::{Zeroize, Zeroizing};

use super::PassphrasePrompt;
use crate::config::write_private_atomically;

const FORMAT: &str = "sotto-vault-1";

#[derive(Debug, Error)]
pub enum VaultError {
    #[error("Sotto's vault needs its passphrase: set SOTTO_PASSPHRASE or run Sotto in a terminal")]
    NoPassphrase,
    #[error("could not read the passphrase: {0}")]
    Prompt(#[source] std::io::Error),
    #[error("the two passphrases differ; nothing was changed")]
    PassphrasesDiffer,
    #[error("an empty passphrase would protect nothing; choose one")]
    EmptyPassphrase,
    #[error("the vault could not be unlocked: wrong passphrase, or the file was altered")]
    WrongPassphrase,
    #[error("{path} is not a Sotto vault ({reason})")]
    Corrupt { path: PathBuf, reason: String },
    #[error("could not read or write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Serialize, Deserialize)]
struct KdfParams {
    algorithm: String,
    m_cost: u32,
    t_cost: u32,
    p_cost: u32,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct VaultFile {
    format: String,
    kdf: KdfParams,
    nonce: String,
    ciphertext: String,
}

/// An unlocked vault. The derived key stays in memory (zeroed on drop) so
/// the passphrase is asked once per process.
pub struct Vault {
    path: PathBuf,
    kdf: KdfParams,
    key: Zeroizing<[u8; 32]>,
    entries: BTreeMap<String, String>,
}

impl Drop for Vault {
    fn drop(&mut self) {
        for value in self.entries.values_mut() {
            value.zeroize();
        }
    }
}

fn derive_key(
    passphrase: &SecretString,
    kdf: &KdfParams,
    path: &Path,
) -> Result<Zeroizing<[u8; 32]>, VaultError> {
    use secrecy::ExposeSecret;
    let corrupt = |reason: String| VaultError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    if kdf.algorithm != "argon2id" {
        return Err(corrupt(format!("unknown KDF {}", kdf.algorithm)));
    }
    let salt = B64
        .decode(&kdf.salt)
        .map_err(|e| corrupt(format!("salt: {e}")))?;
    let params = Params::new(kdf.m_cost, kdf.t_cost, kdf.p_cost, Some(32))
        .map_err(|e| corrupt(format!("KDF parameters: {e}")))?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.expose_secret().as_bytes(), &salt, key.as_mut())
        .map_err(|e| corrupt(format!("KDF: {e}")))?;
    Ok(key)
}

impl Vault {
    /// Opens the vault at `path`, creating it if absent. Asks for the
    /// passphrase through `prompt`.
    pub fn open(path: &Path, prompt: &dyn PassphrasePrompt) -> Result<Self, VaultError> {
        let io = |source| VaultError::Io {
            path: path.to_owned(),
            source,
        };
        match std::fs::read(path) {
            Ok(bytes) => {
                let passphrase = prompt.passphrase(false)?;
                Self::unlock(path, &bytes, &passphrase)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let passphrase = prompt.passphrase(true)?;
                Self::create(path, &passphrase)
            }
            Err(e) => Err(io(e)),
        }
    }

    fn create(path: &Path, passphrase: &SecretString) -> Result<Self, VaultError> {
        use secrecy::ExposeSecret;
        if passphrase.expose_secret().is_empty() {
            return Err(VaultError::EmptyPassphrase);
        }
        let defaults = Params::default();
        let kdf = KdfParams {
            algorithm: "argon2id".into(),
            m_cost: defaults.m_cost(),
            t_cost: defaults.t_cost(),
            p_cost: defaults.p_cost(),
            salt: B64.encode(rand::random::<[u8; 16]>()),
        };
        let key = derive_key(passphrase, &kdf, path)?;
        let vault = Self {
            path: path.to_owned(),
            kdf,
            key,
            entries: BTreeMap::new(),
        };
        vault.save()?;
        Ok(vault)
    }

    fn unlock(path: &Path, bytes: &[u8], passphrase: &SecretString) -> Result<Self, VaultError> {
        let corrupt = |reason: String| VaultError::Corrupt {
            path: path.to_owned(),
            reason,
        };
        let file: VaultFile = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        if file.format != FORMAT {
            return Err(corrupt(format!("unknown format {}", file.format)));
        }
        let nonce = B64
            .decode(&file.nonce)
            .map_err(|e| corrupt(format!("nonce: {e}")))?;
        if nonce.len() != 24 {
            return Err(corrupt("nonce length".into()));
        }
        let ciphertext = B64
            .decode(&file.ciphertext)
            .map_err(|e| corrupt(format!("ciphertext: {e}")))?;
        let key = derive_key(passphrase, &file.kdf, path)?;
        let cipher = XChaCha20Poly1305::new(key.as_ref().into());
        let plaintext = Zeroizing::new(
            cipher
                .decrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &ciphertext,
                        aad: FORMAT.as_bytes(),
                    },
                )
                .map_err(|_| VaultError::WrongPassphrase)?,
        );
        let entries: BTreeMap<String, String> =
            serde_json::from_slice(&plaintext).map_err(|e| corrupt(e.to_string()))?;
        Ok(Self {
            path: path.to_owned(),
            kdf: file.kdf,
            key,
            entries,
        })
    }

    fn save(&self) -> Result<(), VaultError> {
        let plaintext =
            Zeroizing::new(
                serde_json::to_vec(&self.entries).map_err(|e| VaultError::Io {
                    path: self.path.clone(),
                    source: std::io::Error::other(e),
                })?,
            );
        let nonce: [u8; 24] = rand::random();
        let cipher = XChaCha20Poly1305::new(self.key.as_ref().into());
        let ciphertext = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &plaintext,
                    aad: FORMAT.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Io {
                path: self.path.clone(),
                source: std::io::Error::other("encryption failed"),
            })?;
        let file = VaultFile {
            format: FORMAT.into(),
            kdf: KdfParams {
                algorithm: self.kdf.algorithm.clone(),
                m_cost: self.kdf.m_cost,
                t_cost: self.kdf.t_cost,
                p_cost: self.kdf.p_cost,
                salt: self.kdf.salt.clone(),
            },
            nonce: B64.encode(nonce),
            ciphertext: B64.encode(ciphertext),
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(|e| VaultError::Io {
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        write_private_atomically(&self.path, &bytes).map_err(|source| VaultError::Io {
            path: self.path.clone(),
            source,
        })
    }

    pub fn get(&self, key: &str) -> Option<SecretString> {
        self.entries.get(key).map(|v| SecretString::from(v.clone()))
    }

    pub fn set(&mut self, key: &str, value: &str) -> Result<(), VaultError> {
        self.entries.insert(key.to_owned(), value.to_owned());
        self.save()
    }

    pub fn remove(&mut self, key: &str) -> Result<(), VaultError> {
        if self.entries.remove(key).is_some() {
            self.save()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(&'static str);
    impl PassphrasePrompt for Fixed {
        fn passphrase(&self, _creating: bool) -> Result<SecretString, VaultError> {
            Ok(SecretString::from(self.0))
        }
    }

    #[test]
    fn stores_secrets_encrypted_and_reads_them_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secrets.vault");
        let mut vault = Vault::open(&path, &Fixed("correct horse")).expect("create");
        vault.set("xmpp:a@b", "hunter2-unique-marker").expect("set");
        drop(vault);

        let raw = std::fs::read_to_string(&path).expect("read");
        assert!(!raw.contains("hunter2-unique-marker"));
        assert!(!raw.contains("xmpp:a@b"), "entry names are secret too");

        let vault = Vault::open(&path, &Fixed("correct horse")).expect("unlock");
        let got = vault.get("xmpp:a@b").expect("present");
        assert_eq!(
            secrecy::ExposeSecret::expose_secret(&got),
            "hunter2-unique-marker"
        );
    }

    #[test]
    fn a_wrong_passphrase_is_a_clear_error_and_changes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secrets.vault");
        Vault::open(&path, &Fixed("right"))
            .expect("create")
            .set("k", "v")
            .expect("set");
        let before = std::fs::read(&path).expect("read");
        let err = Vault::open(&path, &Fixed("wrong"))
            .err()
            .expect("must fail");
        assert!(matches!(err, VaultError::WrongPassphrase), "{err}");
        assert_eq!(std::fs::read(&path).expect("read"), before);
    }

    #[test]
    fn a_damaged_file_is_reported_not_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secrets.vault");
        std::fs::write(&path, b"{not json").expect("write");
        let err = Vault::open(&path, &Fixed("x")).err().expect("must fail");
        assert!(matches!(err, VaultError::Corrupt { .. }), "{err}");
        assert_eq!(std::fs::read(&path).expect("read"), b"{not json");
    }

    #[test]
    fn refuses_an_empty_passphrase() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = Vault::open(&dir.path().join("v"), &Fixed(""))
            .err()
            .expect("must fail");
        assert!(matches!(err, VaultError::EmptyPassphrase));
    }
}
