//! Push info: the relay endpoint and whitelist tokens a contact gives us
//! (`{"endpoint": "...", "tokens": ["..."]}`, see knock-protocol.md). It
//! comes from contacts, so it is untrusted: size, shape and URL are checked
//! here, before it is stored.

use std::fmt;

use reqwest::Url;
use serde::Deserialize;
use thiserror::Error;

use crate::uri::{Action, XmppUri};

/// Larger push info is refused unread.
pub const MAX_JSON_BYTES: usize = 8 * 1024;
/// More tokens than a phone would ever hand out.
pub const MAX_TOKENS: usize = 32;
/// The relay's own limit on a token.
pub const MAX_TOKEN_CHARS: usize = 200;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PushInfoError {
    #[error("the push info is too large ({0} bytes; at most {MAX_JSON_BYTES})")]
    TooLarge(usize),
    #[error(
        "the push info is not valid JSON of the form {{\"endpoint\": ..., \"tokens\": [...]}}: {0}"
    )]
    Malformed(String),
    #[error("the push info's endpoint is not a web address: {0}")]
    BadEndpoint(String),
    #[error("the push info's endpoint must use https or http, not {0}")]
    BadScheme(String),
    #[error("the push info has no token")]
    NoTokens,
    #[error("the push info has {0} tokens; at most {MAX_TOKENS} are accepted")]
    TooManyTokens(usize),
    #[error("a token in the push info is empty, too long or has characters a relay does not use")]
    BadToken,
    #[error("the knock link cannot be used: {0}")]
    BadUri(String),
}

/// A whitelist token: a secret, never logged or shown in full.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Token(String);

impl Token {
    pub fn parse(s: &str) -> Result<Self, PushInfoError> {
        let s = s.trim();
        let ok = !s.is_empty()
            && s.chars().count() <= MAX_TOKEN_CHARS
            && s.chars().all(|c| c.is_ascii_graphic());
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(PushInfoError::BadToken)
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the user may see: the last four characters.
    pub fn hint(&self) -> String {
        let tail: String = self
            .0
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("…{tail}")
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({})", self.hint())
    }
}

/// A contact's relay and tokens, oldest token first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushInfo {
    pub endpoint: Url,
    pub tokens: Vec<Token>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    endpoint: String,
    tokens: Vec<String>,
}

impl PushInfo {
    /// Reads the JSON a contact sent or published.
    pub fn from_json(json: &str) -> Result<Self, PushInfoError> {
        if json.len() > MAX_JSON_BYTES {
            return Err(PushInfoError::TooLarge(json.len()));
        }
        let wire: Wire =
            serde_json::from_str(json).map_err(|e| PushInfoError::Malformed(e.to_string()))?;
        if wire.tokens.len() > MAX_TOKENS {
            return Err(PushInfoError::TooManyTokens(wire.tokens.len()));
        }
        let tokens = wire
            .tokens
            .iter()
            .map(|t| Token::parse(t))
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(&wire.endpoint, tokens)
    }

    /// From an endpoint and tokens typed or pasted by a tester.
    pub fn new(endpoint: &str, tokens: Vec<Token>) -> Result<Self, PushInfoError> {
        let endpoint = Url::parse(endpoint.trim())
            .map_err(|e| PushInfoError::BadEndpoint(format!("{endpoint}: {e}")))?;
        match endpoint.scheme() {
            "https" | "http" => {}
            other => return Err(PushInfoError::BadScheme(other.to_owned())),
        }
        if endpoint.host_str().is_none_or(str::is_empty) {
            return Err(PushInfoError::BadEndpoint(format!("{endpoint}: no host")));
        }
        if !endpoint.username().is_empty() || endpoint.password().is_some() {
            return Err(PushInfoError::BadEndpoint(
                "addresses with a user name or password are not accepted".into(),
            ));
        }
        if tokens.is_empty() {
            return Err(PushInfoError::NoTokens);
        }
        let mut unique: Vec<Token> = Vec::with_capacity(tokens.len());
        for t in tokens {
            if !unique.contains(&t) {
                unique.push(t);
            }
        }
        Ok(Self {
            endpoint,
            tokens: unique,
        })
    }

    /// Adds tokens from newer push info for the same relay: kept in order,
    /// never duplicated (newer info adds, it replaces nothing).
    pub fn merge(&mut self, newer: PushInfo) {
        if newer.endpoint != self.endpoint {
            *self = newer;
            return;
        }
        for t in newer.tokens {
            if !self.tokens.contains(&t) && self.tokens.len() < MAX_TOKENS {
                self.tokens.push(t);
            }
        }
    }

    /// Where a knock is POSTed: the endpoint itself if it ends in
    /// `/messages/`, otherwise the API base plus `messages/`.
    pub fn knock_url(&self) -> Url {
        let mut url = self.endpoint.clone();
        url.set_query(None);
        url.set_fragment(None);
        if url.path().ends_with("/messages/") {
            return url;
        }
        let mut path = url.path().to_owned();
        if !path.ends_with('/') {
            path.push('/');
        }
        path.push_str("messages/");
        url.set_path(&path);
        url
    }

    /// Reads push info carried in an `xmpp:` URI, as a contact might share
    /// it by link or QR code (XEP-0147 query syntax):
    /// `xmpp:bob@example.net?knock;endpoint=https%3A%2F%2Fpush.example.net%2Fapi%2Fv1%2F;token=T1;token=T2`.
    /// Returns the contact's address and the push info.
    pub fn from_xmpp_uri(uri: &str) -> Result<(String, Self), PushInfoError> {
        let bad = |why: &str| PushInfoError::BadUri(why.to_owned());
        if uri.len() > MAX_JSON_BYTES {
            return Err(PushInfoError::TooLarge(uri.len()));
        }
        let uri = XmppUri::parse(uri).map_err(|e| PushInfoError::BadUri(e.to_string()))?;
        if uri.action != Action::Knock {
            return Err(bad("it is not a knock link (it has no ?knock;… part)"));
        }
        let contact = uri.bare();
        if contact.node().is_none() {
            return Err(bad("it names no contact"));
        }
        let endpoint = uri
            .values("endpoint")
            .next()
            .ok_or_else(|| bad("it has no endpoint"))?;
        let mut tokens = Vec::new();
        for token in uri.values("token") {
            if tokens.len() >= MAX_TOKENS {
                return Err(PushInfoError::TooManyTokens(tokens.len() + 1));
            }
            tokens.push(Token::parse(token)?);
        }
        Ok((contact.to_string(), Self::new(endpoint, tokens)?))
    }

    /// The JSON form, for publishing our own.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "endpoint": self.endpoint.as_str(),
            "tokens": self.tokens.iter().map(Token::expose).collect::<Vec<_>>(),
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn reads_the_documented_shape_and_builds_the_knock_url() {
        let info = PushInfo::from_json(&format!(
            r#"{{"endpoint": "https://push.example.net/api/v1/", "tokens": ["{TOKEN}", "{TOKEN}"]}}"#
        ))
        .expect("valid");
        assert_eq!(info.tokens.len(), 1, "duplicates dropped");
        assert_eq!(
            info.knock_url().as_str(),
            "https://push.example.net/api/v1/messages/"
        );
        let full = PushInfo::new(
            "https://push.example.net/api/v1/messages/",
            info.tokens.clone(),
        )
        .expect("valid");
        assert_eq!(
            full.knock_url().as_str(),
            "https://push.example.net/api/v1/messages/"
        );
        let no_slash =
            PushInfo::new("https://push.example.net/api/v1", info.tokens.clone()).expect("valid");
        assert_eq!(
            no_slash.knock_url().as_str(),
            "https://push.example.net/api/v1/messages/"
        );
    }

    #[test]
    fn refuses_bad_input_with_a_reason() {
        let big = format!(
            r#"{{"endpoint":"https://x/","tokens":["{}"]}}"#,
            "a".repeat(9000)
        );
        assert!(matches!(
            PushInfo::from_json(&big),
            Err(PushInfoError::TooLarge(_))
        ));
        assert!(matches!(
            PushInfo::from_json("{nope"),
            Err(PushInfoError::Malformed(_))
        ));
        let many: Vec<String> = (0..40).map(|i| format!("\"t{i}\"")).collect();
        let json = format!(
            r#"{{"endpoint":"https://x/","tokens":[{}]}}"#,
            many.join(",")
        );
        assert_eq!(
            PushInfo::from_json(&json),
            Err(PushInfoError::TooManyTokens(40))
        );
        assert!(matches!(
            PushInfo::from_json(r#"{"endpoint":"not a url","tokens":["t"]}"#),
            Err(PushInfoError::BadEndpoint(_))
        ));
        assert_eq!(
            PushInfo::from_json(r#"{"endpoint":"ftp://x/","tokens":["t"]}"#),
            Err(PushInfoError::BadScheme("ftp".into()))
        );
        assert_eq!(
            PushInfo::from_json(r#"{"endpoint":"https://x/","tokens":[]}"#),
            Err(PushInfoError::NoTokens)
        );
        assert_eq!(
            PushInfo::from_json(r#"{"endpoint":"https://x/","tokens":["has space"]}"#),
            Err(PushInfoError::BadToken)
        );
        assert!(PushInfo::from_json(r#"{"endpoint":"https://u:p@x/","tokens":["t"]}"#).is_err());
    }

    #[test]
    fn tokens_never_show_in_full() {
        let t = Token::parse(TOKEN).expect("token");
        assert_eq!(t.hint(), "…4567");
        assert!(!format!("{t:?}").contains("0123456789"));
    }

    #[test]
    fn reads_knock_links() {
        let (jid, info) = PushInfo::from_xmpp_uri(
            "xmpp:bob@example.net?knock;endpoint=https%3A%2F%2Fpush.example.net%2Fapi%2Fv1%2F;token=T1;token=T2",
        )
        .expect("valid");
        assert_eq!(jid, "bob@example.net");
        assert_eq!(
            info.knock_url().as_str(),
            "https://push.example.net/api/v1/messages/"
        );
        assert_eq!(info.tokens.len(), 2);
        for bad in [
            "https://example.net",
            "xmpp:bob@example.net",
            "xmpp:bob@example.net?message;body=hi",
            "xmpp:bob@example.net?knock;token=T1",
            "xmpp:bob@example.net?knock;endpoint=%ZZ;token=T1",
            "xmpp:?knock;endpoint=https%3A%2F%2Fx%2F;token=T1",
        ] {
            assert!(PushInfo::from_xmpp_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn newer_push_info_adds_tokens() {
        let t = |s: &str| Token::parse(s).expect("token");
        let mut info = PushInfo::new("https://x/api/v1/", vec![t("a"), t("b")]).expect("ok");
        info.merge(PushInfo::new("https://x/api/v1/", vec![t("b"), t("c")]).expect("ok"));
        assert_eq!(info.tokens, vec![t("a"), t("b"), t("c")]);
    }
}
