//! The sign-in form's state and checks, and what the person is told while
//! the first connection is tried. Pure data: no iced, no I/O.

use std::str::FromStr;

use secrecy::SecretString;
use sotto::config::{AccountConfig, Config, PasswordStore, ServerAddress};
use sotto::fingerprint::Fingerprint;
use sotto::model::{BareJid, ConnectionState};

#[derive(Debug, Default)]
pub struct SignIn {
    pub jid: String,
    pub password: String,
    /// Create the account on the server (XEP-0077) rather than sign in.
    pub create: bool,
    /// The password typed again, when creating.
    pub password_again: String,
    pub advanced: bool,
    pub server: String,
    pub direct_tls: bool,
    /// Connect only through Tor.
    pub tor: bool,
    pub status: Status,
    /// The account being tried, with its password, until it logs in.
    pub pending: Option<(AccountConfig, SecretString)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Status {
    #[default]
    Editing,
    Connecting(String),
    Failed(String),
    /// The server's certificate is not trusted; the user may pin it.
    Untrusted {
        reason: String,
        fingerprint: Fingerprint,
    },
    /// Logged in; saving the password and the account.
    Saving,
}

impl SignIn {
    /// Checks the form and makes the account to try.
    pub fn account(&self, config: &Config) -> Result<(AccountConfig, SecretString), String> {
        let jid = BareJid::from_str(self.jid.trim()).map_err(|_| {
            format!(
                "“{}” is not an address. It looks like alice@example.org.",
                self.jid.trim()
            )
        })?;
        if jid.node().is_none() {
            return Err(format!(
                "{jid} is a server, not an account: give the whole address, like alice@{jid}"
            ));
        }
        if config.account(&jid).is_some() {
            return Err(format!("{jid} is already signed in."));
        }
        if self.password.is_empty() {
            return Err(if self.create {
                "Choose a password for the new account.".into()
            } else {
                "Type the account's password.".into()
            });
        }
        if self.create && self.password != self.password_again {
            return Err("The two passwords differ: type the same one twice.".into());
        }
        let server = if self.advanced && !self.server.trim().is_empty() {
            let s = self.server.trim();
            // A host without a port means the usual one for the TLS mode.
            let with_port = if s.contains(':') && !s.ends_with(']') {
                s.to_owned()
            } else if self.direct_tls {
                format!("{s}:5223")
            } else {
                format!("{s}:5222")
            };
            Some(ServerAddress::from_str(&with_port).map_err(|e| e.to_string())?)
        } else {
            None
        };
        Ok((
            AccountConfig {
                jid,
                server,
                direct_tls: self.advanced && self.direct_tls,
                pinned_certificate: None,
                password_store: PasswordStore::Keychain,
                enabled: true,
                tor: self.advanced && self.tor,
            },
            SecretString::from(self.password.clone()),
        ))
    }

    /// Follows the pending account's connection. Returns true once it is
    /// online, when the caller saves it.
    pub fn follow(&mut self, account: &BareJid, state: &ConnectionState) -> bool {
        let Some((pending, _)) = &self.pending else {
            return false;
        };
        if &pending.jid != account {
            return false;
        }
        match state {
            ConnectionState::Connecting { attempt } if *attempt > 1 => {
                self.status = Status::Connecting(format!("Connecting (attempt {attempt})…"));
            }
            ConnectionState::Connecting { .. } => {
                self.status = Status::Connecting(self.connecting_text());
            }
            ConnectionState::WaitingToRetry { seconds, reason } => {
                self.status = Status::Connecting(format!(
                    "{reason}. Trying again in {seconds} s (check the address, or Cancel)."
                ));
            }
            ConnectionState::Failed {
                reason,
                certificate: Some(fingerprint),
                pinnable: true,
            } => {
                self.status = Status::Untrusted {
                    reason: reason.clone(),
                    fingerprint: *fingerprint,
                };
            }
            ConnectionState::Failed { reason, .. } => {
                self.status = Status::Failed(plain(reason));
            }
            ConnectionState::Online { .. } => {
                self.status = Status::Saving;
                return true;
            }
            ConnectionState::Suspended | ConnectionState::Offline => {}
        }
        false
    }

    /// What the form says while the first connection is tried.
    pub fn connecting_text(&self) -> String {
        if self.create {
            "Creating the account on the server…".into()
        } else {
            "Connecting…".into()
        }
    }

    pub fn busy(&self) -> bool {
        matches!(self.status, Status::Connecting(_) | Status::Saving)
    }
}

/// The core's reasons are already sentences; make sure they read as one.
fn plain(reason: &str) -> String {
    let mut s = reason.trim().to_owned();
    if let Some(first) = s.get(0..1) {
        let upper = first.to_uppercase();
        s.replace_range(0..1, &upper);
    }
    if !s.ends_with('.') {
        s.push('.');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(jid: &str, password: &str) -> SignIn {
        SignIn {
            jid: jid.into(),
            password: password.into(),
            ..SignIn::default()
        }
    }

    #[test]
    fn the_form_says_what_is_wrong() {
        let config = Config::default();
        let err = |f: SignIn| f.account(&config).expect_err("should fail");
        assert!(err(form("not an address@@", "x")).contains("is not an address"));
        assert!(err(form("example.org", "x")).contains("is a server"));
        assert!(err(form("alice@example.org", "")).contains("password"));
        let mut f = form("alice@example.org", "pw");
        f.advanced = true;
        f.server = "xmpp.example.org".into();
        let (account, _) = f.account(&config).expect("valid");
        assert_eq!(
            account.server.map(|s| s.to_string()).as_deref(),
            Some("xmpp.example.org:5222")
        );
        f.direct_tls = true;
        let (account, _) = f.account(&config).expect("valid");
        assert_eq!(
            account.server.map(|s| s.to_string()).as_deref(),
            Some("xmpp.example.org:5223")
        );
        assert!(account.direct_tls);
    }

    #[test]
    fn creating_asks_for_the_password_twice() {
        let config = Config::default();
        let mut f = form("alice@example.org", "pw one");
        f.create = true;
        let err = f.account(&config).expect_err("differ");
        assert!(err.contains("differ"), "{err}");
        f.password_again = "pw one".into();
        assert!(f.account(&config).is_ok());
        assert_eq!(f.connecting_text(), "Creating the account on the server…");
        f.password.clear();
        assert!(
            f.account(&config)
                .expect_err("empty")
                .contains("Choose a password")
        );
    }

    #[test]
    fn follows_only_its_account_and_offers_to_pin() {
        let mut f = form("alice@example.org", "pw");
        let pending = f.account(&Config::default()).expect("valid");
        f.pending = Some(pending);
        let alice: BareJid = "alice@example.org".parse().expect("jid");
        let other: BareJid = "bob@example.org".parse().expect("jid");
        let fp = Fingerprint::of_der(b"cert");
        let failed = ConnectionState::Failed {
            pinnable: true,
            reason: "the certificate is not trusted".into(),
            certificate: Some(fp),
        };
        assert!(!f.follow(&other, &failed));
        assert_eq!(f.status, Status::Editing);
        assert!(!f.follow(&alice, &failed));
        assert!(matches!(f.status, Status::Untrusted { fingerprint, .. } if fingerprint == fp));
        let online = ConnectionState::Online {
            jid: "alice@example.org/x".into(),
            resumed: false,
            acks: true,
        };
        assert!(f.follow(&alice, &online));
    }
}
