//! `xmpp:` links (RFC 5122) and the actions their query names (XEP-0147),
//! as other programs hand them to Sotto: a web page's link, a QR code, a
//! second `sotto 'xmpp:…'`. A link is untrusted input: it is read into
//! typed parts here, and nothing it asks for happens without the user
//! seeing it first.

use jid::{BareJid, Jid};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use thiserror::Error;

/// What an address may not hold unescaped in a link (RFC 3986's gen-delims
/// that end a path, and what is never bare in a URI).
const IN_PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');
/// And a query's keys and values: also what separates them (XEP-0147).
const IN_QUERY: &AsciiSet = &IN_PATH
    .add(b';')
    .add(b'=')
    .add(b'&')
    .add(b'+')
    .add(b'/')
    .add(b':');

/// Longer links are refused before they are read: a knock link with its
/// tokens is well under 1 KiB.
pub const MAX_URI_BYTES: usize = 8 * 1024;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum UriError {
    #[error("the link is {0} bytes long; at most {MAX_URI_BYTES} are accepted")]
    TooLong(usize),
    #[error("it is not an xmpp: link")]
    NotXmpp,
    #[error("the link is malformed: {0}")]
    Malformed(String),
    #[error("the link has a broken %-escape")]
    BadEscape,
    #[error("the link names no address")]
    NoAddress,
    #[error("“{address}” in the link is not an XMPP address: {reason}")]
    BadAddress { address: String, reason: String },
}

/// What a link asks for, from its query type (XEP-0147's registry, plus
/// Sotto's `knock`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// No query: open the chat.
    Open,
    /// `?message`: a chat, with the composer filled from `body`.
    Message {
        body: Option<String>,
        subject: Option<String>,
    },
    /// `?roster` / `?subscribe`: add the address as a contact.
    Roster {
        name: Option<String>,
        group: Option<String>,
    },
    /// `?join`: a group chat.
    Join { password: Option<String> },
    /// `?knock`: push info to add for the contact (knock-protocol.md).
    Knock,
    /// Any other query type (`remove`, `vcard`, `invite`…), by name.
    Other(String),
}

/// One `xmpp:` link, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmppUri {
    /// The account to act from, where the link names one
    /// (`xmpp://alice@example.org/bob@example.org`).
    pub account: Option<BareJid>,
    /// Who or what the link is about.
    pub target: Jid,
    pub action: Action,
    /// The query type as written (`subscribe` and `roster` are one
    /// action), `None` without a query.
    pub query_type: Option<String>,
    /// The query's `key=value` pairs, %-decoded, in order (a key may
    /// repeat: a knock link has one `token` per token).
    pub params: Vec<(String, String)>,
}

impl XmppUri {
    pub fn parse(uri: &str) -> Result<Self, UriError> {
        let uri = uri.trim();
        if uri.len() > MAX_URI_BYTES {
            return Err(UriError::TooLong(uri.len()));
        }
        let url = url::Url::parse(uri).map_err(|e| match e {
            url::ParseError::RelativeUrlWithoutBase => UriError::NotXmpp,
            e => UriError::Malformed(e.to_string()),
        })?;
        if url.scheme() != "xmpp" {
            return Err(UriError::NotXmpp);
        }
        let (account, path) = if url.has_host() {
            // RFC 5122's authority form: the account, then the target.
            let host = decode(url.host_str().unwrap_or_default())?;
            let account = match url.username() {
                "" => return Err(UriError::Malformed("its account has no name".into())),
                user => format!("{}@{host}", decode(user)?),
            };
            let account = account
                .parse::<BareJid>()
                .map_err(|e| UriError::BadAddress {
                    address: account.clone(),
                    reason: e.to_string(),
                })?;
            (Some(account), url.path().trim_start_matches('/'))
        } else {
            (None, url.path())
        };
        let address = decode(path)?;
        if address.is_empty() {
            return Err(UriError::NoAddress);
        }
        let target = Jid::new(&address).map_err(|e| UriError::BadAddress {
            address: address.clone(),
            reason: e.to_string(),
        })?;
        let (kind, params) = match url.query() {
            None => (None, Vec::new()),
            Some(query) => {
                let mut parts = query.split(';');
                let kind = decode(parts.next().unwrap_or_default())?;
                let params = parts
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        let (k, v) = p.split_once('=').unwrap_or((p, ""));
                        Ok((decode(k)?, decode(v)?))
                    })
                    .collect::<Result<Vec<_>, UriError>>()?;
                (Some(kind), params)
            }
        };
        let first = |key: &str| {
            params
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let action = match kind.as_deref() {
            None | Some("") => Action::Open,
            Some("message") => Action::Message {
                body: first("body"),
                subject: first("subject"),
            },
            Some("roster" | "subscribe") => Action::Roster {
                name: first("name"),
                group: first("group"),
            },
            Some("join") => Action::Join {
                password: first("password"),
            },
            Some("knock") => Action::Knock,
            Some(other) => Action::Other(other.to_owned()),
        };
        Ok(Self {
            account,
            target,
            action,
            query_type: kind,
            params,
        })
    }

    /// Every value of `key`, in order.
    pub fn values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.params
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The target without its resource: the chat or contact.
    pub fn bare(&self) -> BareJid {
        self.target.to_bare()
    }
}

/// The link again, escaped where it must be: `parse` reads it back the same.
impl std::fmt::Display for XmppUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("xmpp:")?;
        if let Some(account) = &self.account {
            let (node, domain) = (account.node().map(|n| n.as_str()), account.domain());
            write!(
                f,
                "//{}@{}/",
                utf8_percent_encode(node.unwrap_or_default(), IN_QUERY),
                domain
            )?;
        }
        write!(
            f,
            "{}",
            utf8_percent_encode(&self.target.to_string(), IN_PATH)
        )?;
        if let Some(kind) = &self.query_type {
            write!(f, "?{}", utf8_percent_encode(kind, IN_QUERY))?;
            for (k, v) in &self.params {
                write!(
                    f,
                    ";{}={}",
                    utf8_percent_encode(k, IN_QUERY),
                    utf8_percent_encode(v, IN_QUERY)
                )?;
            }
        }
        Ok(())
    }
}

/// RFC 3986 %-decoding into UTF-8. A `%` not followed by two hex digits
/// is an error (percent-encoding would pass it through), and `+` is a
/// plus: these are not HTML form values.
fn decode(s: &str) -> Result<String, UriError> {
    let bytes = s.as_bytes();
    for (i, _) in s.match_indices('%') {
        let ok = bytes
            .get(i + 1..i + 3)
            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
        if !ok {
            return Err(UriError::BadEscape);
        }
    }
    percent_decode_str(s)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| UriError::BadEscape)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> XmppUri {
        XmppUri::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn reads_the_rfc_5122_and_xep_0147_examples() {
        let u = parse("xmpp:romeo@montague.net");
        assert_eq!(u.target.to_string(), "romeo@montague.net");
        assert_eq!(u.action, Action::Open);
        assert_eq!(u.account, None);

        let u = parse(
            "xmpp:romeo@montague.net?message;subject=Test%20Message;body=Here%27s%20a%20test%20message",
        );
        assert_eq!(
            u.action,
            Action::Message {
                body: Some("Here's a test message".into()),
                subject: Some("Test Message".into()),
            }
        );

        let u = parse("xmpp:romeo@montague.net?roster;name=Romeo%20Montague;group=Friends");
        assert_eq!(
            u.action,
            Action::Roster {
                name: Some("Romeo Montague".into()),
                group: Some("Friends".into()),
            }
        );
        assert_eq!(
            parse("xmpp:romeo@montague.net?subscribe").action,
            Action::Roster {
                name: None,
                group: None
            }
        );

        let u = parse("xmpp:darkcave@chat.shakespeare.lit?join;password=cauldronburn");
        assert_eq!(
            u.action,
            Action::Join {
                password: Some("cauldronburn".into())
            }
        );
        assert_eq!(u.bare().to_string(), "darkcave@chat.shakespeare.lit");

        let u = parse("xmpp://guest@example.com/support@example.com?message");
        assert_eq!(
            u.account.map(|a| a.to_string()).as_deref(),
            Some("guest@example.com")
        );
        assert_eq!(u.target.to_string(), "support@example.com");

        assert_eq!(
            parse("xmpp:romeo@montague.net?remove").action,
            Action::Other("remove".into())
        );
    }

    #[test]
    fn decodes_the_address_resources_and_repeated_keys() {
        // RFC 5122 §3.3: a non-ASCII address travels %-encoded as UTF-8.
        let u = parse(
            "xmpp:ju%C3%B1o@example.org/balcony?knock;token=A;token=B;endpoint=https%3A%2F%2Fx%2F",
        );
        assert_eq!(u.bare().to_string(), "juño@example.org");
        assert_eq!(u.target.resource().map(|r| r.as_str()), Some("balcony"));
        assert_eq!(u.action, Action::Knock);
        assert_eq!(u.values("token").collect::<Vec<_>>(), ["A", "B"]);
        assert_eq!(u.values("endpoint").next(), Some("https://x/"));
        // A plus is a plus, not a space.
        let u = parse("xmpp:a@b?message;body=1+1");
        assert!(matches!(u.action, Action::Message { body: Some(b), .. } if b == "1+1"));
        // A domain alone is an address (a server, a room service).
        assert_eq!(parse("xmpp:example.org").target.to_string(), "example.org");
    }

    #[test]
    fn writes_a_link_that_reads_back_the_same() {
        for link in [
            "xmpp:romeo@montague.net",
            "xmpp:ju%C3%B1o@example.org/balcony?knock;token=A;token=B;endpoint=https%3A%2F%2Fx%2F",
            "xmpp://guest@example.com/support@example.com?message;body=a%3Bb%3Dc%20d+e%25",
            "xmpp:a@b?subscribe",
            "xmpp:a@b/r%3Fx?",
        ] {
            let once = parse(link);
            let text = once.to_string();
            assert_eq!(parse(&text), once, "{link} → {text}");
        }
        assert_eq!(
            parse("xmpp:bob@example.net?knock;endpoint=https%3A%2F%2Fpush.example.net%2Fapi%2Fv1%2F;token=T1")
                .to_string(),
            "xmpp:bob@example.net?knock;endpoint=https%3A%2F%2Fpush.example.net%2Fapi%2Fv1%2F;token=T1"
        );
    }

    #[test]
    fn refuses_what_is_not_a_usable_link() {
        let cases: &[(&str, UriError)] = &[
            ("https://example.org", UriError::NotXmpp),
            ("bob@example.org", UriError::NotXmpp),
            ("xmpp:", UriError::NoAddress),
            ("xmpp:?message;body=x", UriError::NoAddress),
            ("xmpp:bob@example.org?message;body=%ZZ", UriError::BadEscape),
            ("xmpp:bob@example.org?message;body=%4", UriError::BadEscape),
            ("xmpp:bob@example.org?message;body=%FF", UriError::BadEscape),
        ];
        for (uri, want) in cases {
            assert_eq!(XmppUri::parse(uri).as_ref(), Err(want), "{uri}");
        }
        assert!(matches!(
            XmppUri::parse("xmpp:bob@@example.org"),
            Err(UriError::BadAddress { .. })
        ));
        assert!(matches!(
            XmppUri::parse("xmpp://@example.org/bob@example.org"),
            Err(UriError::Malformed(_))
        ));
        let long = format!(
            "xmpp:bob@example.org?message;body={}",
            "a".repeat(MAX_URI_BYTES)
        );
        assert!(matches!(XmppUri::parse(&long), Err(UriError::TooLong(_))));
    }
}
