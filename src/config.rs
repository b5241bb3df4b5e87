//! The user's settings file (`sotto.toml`): accounts and their connection
//! options. It never holds a secret: passwords live in the keychain or the
//! encrypted database (see `secrets`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::fingerprint::Fingerprint;
use crate::model::BareJid;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("could not read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a valid Sotto settings file: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("could not write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the account {0} already exists")]
    DuplicateAccount(BareJid),
    #[error("there is no account {0}")]
    NoSuchAccount(BareJid),
}

/// A server address typed by the user: `host:port`, `[v6]:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddress {
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("'{0}' is not a server address: expected HOST:PORT, for example xmpp.example.org:5222")]
pub struct ParseServerAddressError(String);

impl FromStr for ServerAddress {
    type Err = ParseServerAddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseServerAddressError(s.to_owned());
        let (host, port) = s.trim().rsplit_once(':').ok_or_else(err)?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty() || host.contains(['/', ' ']) {
            return Err(err());
        }
        let port: u16 = port.parse().map_err(|_| err())?;
        if port == 0 {
            return Err(err());
        }
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for ServerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl Serialize for ServerAddress {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ServerAddress {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Where an account's password is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordStore {
    /// The OS keychain (Secret Service, macOS Keychain, Windows).
    Keychain,
    /// Sotto's encrypted database, for machines without a keychain.
    Database,
}

impl fmt::Display for PasswordStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Keychain => "the system keychain",
            Self::Database => "Sotto's encrypted database",
        })
    }
}

/// One account's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountConfig {
    pub jid: BareJid,
    /// Connect here instead of looking the domain up in DNS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerAddress>,
    /// TLS from the first byte (XEP-0368) rather than STARTTLS.
    #[serde(default)]
    pub direct_tls: bool,
    /// When set, exactly this certificate is accepted and no other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_certificate: Option<Fingerprint>,
    pub password_store: PasswordStore,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Connect only through Tor: the XMPP stream, its DNS and the knocks
    /// of this account never touch the network directly.
    #[serde(default)]
    pub tor: bool,
}

fn yes() -> bool {
    true
}

/// The whole settings file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    #[serde(default)]
    pub accounts: Vec<AccountConfig>,
}

impl Config {
    /// Reads the file; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }

    /// Writes atomically (temporary file, then rename) so a crash never
    /// leaves half a settings file.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let write_err = |source| ConfigError::Write {
            path: path.to_owned(),
            source,
        };
        let text = toml::to_string_pretty(self).map_err(|e| write_err(std::io::Error::other(e)))?;
        write_private_atomically(path, text.as_bytes()).map_err(write_err)
    }

    pub fn account(&self, jid: &BareJid) -> Option<&AccountConfig> {
        self.accounts.iter().find(|a| &a.jid == jid)
    }

    pub fn account_mut(&mut self, jid: &BareJid) -> Result<&mut AccountConfig, ConfigError> {
        self.accounts
            .iter_mut()
            .find(|a| &a.jid == jid)
            .ok_or_else(|| ConfigError::NoSuchAccount(jid.clone()))
    }

    pub fn add_account(&mut self, account: AccountConfig) -> Result<(), ConfigError> {
        if self.account(&account.jid).is_some() {
            return Err(ConfigError::DuplicateAccount(account.jid));
        }
        self.accounts.push(account);
        Ok(())
    }

    pub fn remove_account(&mut self, jid: &BareJid) -> Result<AccountConfig, ConfigError> {
        let index = self
            .accounts
            .iter()
            .position(|a| &a.jid == jid)
            .ok_or_else(|| ConfigError::NoSuchAccount(jid.clone()))?;
        Ok(self.accounts.remove(index))
    }
}

/// Writes `bytes` to `path` via a sibling temporary file, mode 0600 on Unix.
pub(crate) fn write_private_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile_in(dir)?;
    tmp.1.write_all(bytes)?;
    tmp.1.sync_all()?;
    std::fs::rename(&tmp.0, path)
}

fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let name = format!(".sotto-{}.tmp", rand::random::<u64>());
    let path = dir.join(name);
    let file = options.open(&path)?;
    Ok((path, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(jid: &str) -> AccountConfig {
        AccountConfig {
            jid: jid.parse().expect("jid"),
            server: Some("[::1]:5223".parse().expect("addr")),
            direct_tls: true,
            pinned_certificate: Some(Fingerprint::of_der(b"c")),
            password_store: PasswordStore::Database,
            enabled: true,
            tor: true,
        }
    }

    #[test]
    fn server_addresses_parse_and_print() {
        let a: ServerAddress = "xmpp.example.org:5222".parse().expect("parse");
        assert_eq!((a.host.as_str(), a.port), ("xmpp.example.org", 5222));
        let v6: ServerAddress = "[::1]:5223".parse().expect("parse");
        assert_eq!(v6.host, "::1");
        assert_eq!(v6.to_string(), "[::1]:5223");
        for bad in ["example.org", "example.org:0", ":5222", "a:b", "http://x:1"] {
            assert!(bad.parse::<ServerAddress>().is_err(), "{bad}");
        }
    }

    #[test]
    fn saves_and_loads_the_same_config() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sotto.toml");
        assert_eq!(
            Config::load(&path).expect("missing is empty"),
            Config::default()
        );
        let mut config = Config::default();
        config.add_account(account("a@example.org")).expect("add");
        assert!(matches!(
            config.add_account(account("a@example.org")),
            Err(ConfigError::DuplicateAccount(_))
        ));
        config.save(&path).expect("save");
        assert_eq!(Config::load(&path).expect("load"), config);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_broken_file_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sotto.toml");
        std::fs::write(&path, "accounts = 3").expect("write");
        let err = Config::load(&path).expect_err("must fail");
        assert!(err.to_string().contains("not a valid Sotto settings file"));
    }
}
