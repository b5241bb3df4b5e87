//! SHA-256 certificate fingerprints, as shown to and typed by users.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The SHA-256 digest of a DER certificate.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

#[derive(Debug, Error, PartialEq, Eq)]
#[error(
    "'{0}' is not a SHA-256 fingerprint: expected 64 hexadecimal digits, with or without colons"
)]
pub struct ParseFingerprintError(String);

impl Fingerprint {
    pub fn of_der(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    /// `AB:CD:...`, the form browsers and `openssl x509 -fingerprint` show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl FromStr for Fingerprint {
    type Err = ParseFingerprintError;

    /// Accepts `AB:CD:..`, `abcd..`, and the `sha256:`/`SHA256 Fingerprint=`
    /// prefixes that tools print, so a pasted value just works.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseFingerprintError(s.to_owned());
        let trimmed = s.trim();
        let value = trimmed
            .rsplit_once('=')
            .map(|(_, v)| v)
            .unwrap_or(trimmed)
            .trim_start_matches("sha256:")
            .trim_start_matches("SHA256:");
        let hex: String = value
            .chars()
            .filter(|c| !matches!(c, ':' | ' ' | '-'))
            .collect();
        if hex.len() != 64 || !hex.is_ascii() {
            return Err(err());
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| err())?;
        }
        Ok(Self(out))
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_display() {
        let fp = Fingerprint::of_der(b"certificate");
        let shown = fp.to_string();
        assert_eq!(shown.len(), 32 * 3 - 1);
        assert_eq!(shown.parse::<Fingerprint>(), Ok(fp));
    }

    #[test]
    fn accepts_the_forms_tools_print() {
        let fp = Fingerprint::of_der(b"x");
        let plain: String = fp.to_string().replace(':', "").to_lowercase();
        assert_eq!(plain.parse::<Fingerprint>(), Ok(fp));
        let openssl = format!("sha256 Fingerprint={fp}");
        assert_eq!(openssl.parse::<Fingerprint>(), Ok(fp));
    }

    #[test]
    fn rejects_wrong_length_and_non_hex() {
        assert!("AB:CD".parse::<Fingerprint>().is_err());
        let bad = "ZZ".repeat(32);
        assert!(bad.parse::<Fingerprint>().is_err());
        let non_ascii = "é".repeat(32);
        assert!(non_ascii.parse::<Fingerprint>().is_err());
    }
}
