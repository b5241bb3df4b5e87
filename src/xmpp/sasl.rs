//! SCRAM login (RFC 5802, RFC 7677), driven here rather than by tokio-xmpp:
//! its login never checks the server's signature (so a server that does
//! not know the password could still take the session), hashes whatever
//! iteration count the server names on the async worker, and knows no
//! channel binding but tls-exporter. The mechanism itself is the `sasl`
//! crate's; this module decides which one, checks what the server sends
//! and refuses what it must.

use std::str::FromStr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use sasl::client::Mechanism;
use sasl::client::mechanisms::Scram;
use sasl::common::scram::{Sha1, Sha256};
use sasl::common::{ChannelBinding, Credentials, parse_frame};
use thiserror::Error;
use tokio::io::{AsyncBufRead, AsyncWrite};
use tokio_xmpp::parsers::sasl::{
    Auth, DefinedCondition, Mechanism as WireMechanism, Nonza, Response,
};
use tokio_xmpp::parsers::sasl_cb;
use tokio_xmpp::parsers::stream_features::StreamFeatures;
use tokio_xmpp::xmlstream::{InitiatingStream, ReadError, XmppStream, XmppStreamElement};

/// The most PBKDF2 iterations Sotto computes for a login. Servers use
/// 4,096 to about 600,000; a server naming more is either misconfigured or
/// trying to burn our CPU.
pub const MAX_ITERATIONS: u32 = 1_000_000;

/// How long the whole exchange may take once started.
const SASL_TIMEOUT: Duration = Duration::from_secs(60);

/// What the TLS connection can bind a login to.
#[derive(Clone, Default)]
pub struct TlsBindings {
    /// RFC 9266 tls-exporter, on TLS 1.3 connections.
    pub exporter: Option<Vec<u8>>,
    /// RFC 5929 tls-server-end-point: the hash of the server certificate.
    pub server_end_point: Option<Vec<u8>>,
}

impl std::fmt::Debug for TlsBindings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsBindings")
            .field("exporter", &self.exporter.is_some())
            .field("server_end_point", &self.server_end_point.is_some())
            .finish()
    }
}

/// The mechanism to log in with, and how it binds to TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub mechanism: String,
    pub binding: ChannelBinding,
}

impl Choice {
    pub fn is_plus(&self) -> bool {
        self.mechanism.ends_with("-PLUS")
    }
}

/// Why a login did not complete.
#[derive(Debug, Error)]
pub enum SaslError {
    #[error("the server offers no secure login method (SCRAM), so Sotto did not send the password")]
    NoMechanism,
    /// The server said no.
    #[error("the server refused the login ({})", describe(.condition, .text))]
    Refused {
        condition: DefinedCondition,
        text: Option<String>,
    },
    #[error(
        "the server could not prove that it knows your password (its SCRAM signature was wrong), \
         so Sotto did not go on: someone may be impersonating it"
    )]
    ServerNotAuthenticated,
    #[error(
        "the server asked for {0} password hashing rounds, more than Sotto computes \
         ({MAX_ITERATIONS}); its login is misconfigured or hostile"
    )]
    TooManyIterations(u32),
    #[error("the server's login challenge was not valid SCRAM ({0})")]
    Malformed(&'static str),
    #[error("the login took too long")]
    Timeout,
    #[error("the connection broke during the login: {0}")]
    Io(String),
    #[error("the server closed the connection during the login")]
    Closed,
}

impl SaslError {
    /// Retrying later might help (not so for a refusal or a lying server).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Refused { condition, .. } => {
                matches!(condition, DefinedCondition::TemporaryAuthFailure)
            }
            Self::Timeout | Self::Io(_) | Self::Closed => true,
            Self::NoMechanism
            | Self::ServerNotAuthenticated
            | Self::TooManyIterations(_)
            | Self::Malformed(_) => false,
        }
    }

    /// A -PLUS login that failed this way may have failed over channel
    /// binding rather than the password: servers say "not authorized"
    /// (ejabberd logs "Invalid channel binding") or "malformed request".
    pub fn may_be_binding(&self) -> bool {
        matches!(
            self,
            Self::Refused {
                condition: DefinedCondition::NotAuthorized
                    | DefinedCondition::MalformedRequest
                    | DefinedCondition::InvalidMechanism,
                ..
            }
        )
    }
}

fn describe(condition: &DefinedCondition, text: &Option<String>) -> String {
    let name = match condition {
        DefinedCondition::NotAuthorized => {
            "not authorized: check the address and password".to_owned()
        }
        DefinedCondition::AccountDisabled => "the account is disabled".to_owned(),
        DefinedCondition::CredentialsExpired => {
            "the password has expired; change it with your provider".to_owned()
        }
        DefinedCondition::TemporaryAuthFailure => {
            "it could not check the password right now".to_owned()
        }
        DefinedCondition::EncryptionRequired => "it wants encryption first".to_owned(),
        other => format!("{other:?}").to_lowercase(),
    };
    match text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        // The server's words, kept short: they are shown to the user.
        Some(t) => format!(
            "{name}; it said: {}",
            t.chars().take(200).collect::<String>()
        ),
        None => name,
    }
}

/// Picks the login: the strongest SCRAM the server offers, bound to TLS
/// whenever both sides can. `avoid_plus` is set after a -PLUS login failed
/// in a way that may be the binding's fault.
///
/// Which binding: the one the server announces (XEP-0440), preferring
/// tls-exporter; without an announcement, the one it can be expected to
/// have for the TLS version in use (RFC 9266: tls-exporter on TLS 1.3,
/// tls-server-end-point before). When -PLUS is not used although this
/// connection could bind, the `y` flag tells a -PLUS server that we could
/// have, so it can detect a stripped mechanism list.
pub fn choose(
    features: &StreamFeatures,
    tls: &TlsBindings,
    avoid_plus: bool,
) -> Result<Choice, SaslError> {
    let offered = &features.sasl_mechanisms;
    let best = |plus: bool| {
        ["SCRAM-SHA-256", "SCRAM-SHA-1"]
            .into_iter()
            .map(|m| {
                if plus {
                    format!("{m}-PLUS")
                } else {
                    m.to_owned()
                }
            })
            .find(|m| offered.contains(m))
    };
    let announced = features.sasl_cb.as_ref().map(|cb| &cb.types);
    let binding = match announced {
        Some(types) => {
            if let (true, Some(e)) = (types.contains(&sasl_cb::Type::TlsExporter), &tls.exporter) {
                Some(ChannelBinding::TlsExporter(e.clone()))
            } else if let (true, Some(h)) = (
                types.contains(&sasl_cb::Type::TlsServerEndPoint),
                &tls.server_end_point,
            ) {
                Some(ChannelBinding::TlsServerEndPoint(h.clone()))
            } else {
                None
            }
        }
        None => match (&tls.exporter, &tls.server_end_point) {
            (Some(e), _) => Some(ChannelBinding::TlsExporter(e.clone())),
            (None, Some(h)) => Some(ChannelBinding::TlsServerEndPoint(h.clone())),
            (None, None) => None,
        },
    };
    if !avoid_plus && let (Some(binding), Some(mechanism)) = (binding.clone(), best(true)) {
        return Ok(Choice { mechanism, binding });
    }
    let mechanism = best(false).ok_or(SaslError::NoMechanism)?;
    // We could bind but do not: say so, whether the server offered -PLUS
    // (then it must refuse us unless it really cannot bind) or not.
    let could_bind = tls.exporter.is_some() || tls.server_end_point.is_some();
    let binding = if could_bind {
        ChannelBinding::Unsupported
    } else {
        ChannelBinding::None
    };
    Ok(Choice { mechanism, binding })
}

type BoxedMechanism = Box<dyn Mechanism + Send>;

fn mechanism(choice: &Choice, username: &str, password: &str) -> Result<BoxedMechanism, SaslError> {
    let credentials = Credentials::default()
        .with_username(username)
        .with_password(password)
        .with_channel_binding(choice.binding.clone());
    let base = choice.mechanism.trim_end_matches("-PLUS");
    let boxed: BoxedMechanism = match base {
        "SCRAM-SHA-256" => Box::new(
            Scram::<Sha256>::from_credentials(credentials)
                .map_err(|_| SaslError::Malformed("no nonce could be made"))?,
        ),
        "SCRAM-SHA-1" => Box::new(
            Scram::<Sha1>::from_credentials(credentials)
                .map_err(|_| SaslError::Malformed("no nonce could be made"))?,
        ),
        _ => return Err(SaslError::NoMechanism),
    };
    Ok(boxed)
}

/// Checks the server-first message before any hashing: the nonce must
/// extend ours (RFC 5802 §5.1), the iteration count must be sane.
pub fn check_server_first(challenge: &[u8], client_nonce: &str) -> Result<u32, SaslError> {
    let frame = parse_frame(challenge).map_err(|_| SaslError::Malformed("not UTF-8"))?;
    let nonce = frame.get("r").ok_or(SaslError::Malformed("no nonce"))?;
    if nonce.len() <= client_nonce.len() || !nonce.starts_with(client_nonce) {
        return Err(SaslError::Malformed("the nonce does not extend ours"));
    }
    if frame.get("s").is_none_or(String::is_empty) {
        return Err(SaslError::Malformed("no salt"));
    }
    let iterations: u32 = frame
        .get("i")
        .ok_or(SaslError::Malformed("no iteration count"))?
        .parse()
        .map_err(|_| SaslError::Malformed("the iteration count is not a number"))?;
    if iterations == 0 {
        return Err(SaslError::Malformed("zero iterations"));
    }
    if iterations > MAX_ITERATIONS {
        return Err(SaslError::TooManyIterations(iterations));
    }
    Ok(iterations)
}

/// The `r=` value of our client-first message.
fn client_nonce(initial: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(initial).ok()?;
    text.split(',')
        .find_map(|part| part.strip_prefix("r="))
        .map(str::to_owned)
}

/// Runs the SCRAM exchange on a secured stream. On success the stream is
/// ready for its reset (a new header); the server has proved it knows the
/// password.
pub async fn authenticate<S>(
    mut stream: XmppStream<S>,
    choice: &Choice,
    username: &str,
    password: &str,
) -> Result<InitiatingStream<S>, SaslError>
where
    S: AsyncBufRead + AsyncWrite + Unpin,
{
    let mut mech = mechanism(choice, username, password)?;
    let initial = mech.initial();
    let nonce = client_nonce(&initial).ok_or(SaslError::Malformed("no nonce of ours"))?;
    let wire = WireMechanism::from_str(&choice.mechanism).map_err(|_| SaslError::NoMechanism)?;
    let io = |e: std::io::Error| SaslError::Io(e.to_string());
    tokio::time::timeout(SASL_TIMEOUT, async move {
        stream
            .send(&XmppStreamElement::Sasl(Nonza::Auth(Auth {
                mechanism: wire,
                data: initial,
            })))
            .await
            .map_err(io)?;
        let mut answered = false;
        let mut verified = false;
        loop {
            let element = match stream.next().await {
                None => return Err(SaslError::Closed),
                Some(Err(ReadError::SoftTimeout)) => continue,
                Some(Err(ReadError::HardError(e))) => return Err(io(e)),
                Some(Err(ReadError::ParseError(_))) => {
                    return Err(SaslError::Malformed("unreadable answer"));
                }
                Some(Err(ReadError::StreamFooterReceived)) => return Err(SaslError::Closed),
                Some(Ok(element)) => element
                    .into_read_error()
                    .map_err(|_| SaslError::Malformed("unreadable answer"))?,
            };
            let XmppStreamElement::Sasl(nonza) = element else {
                return Err(SaslError::Malformed(
                    "something other than SASL during the login",
                ));
            };
            match nonza {
                Nonza::Challenge(challenge) if !answered => {
                    check_server_first(&challenge.data, &nonce)?;
                    // PBKDF2 runs on the blocking pool: even a legitimate
                    // count takes milliseconds that other accounts' tasks
                    // should not wait for.
                    let data = challenge.data;
                    let (back, response) = tokio::task::spawn_blocking(move || {
                        let response = mech.response(&data);
                        (mech, response)
                    })
                    .await
                    .map_err(|_| SaslError::Io("the login task stopped".into()))?;
                    mech = back;
                    let response = response.map_err(|_| SaslError::Malformed("rejected"))?;
                    answered = true;
                    stream
                        .send(&XmppStreamElement::Sasl(Nonza::Response(Response {
                            data: response,
                        })))
                        .await
                        .map_err(io)?;
                }
                // Some servers send the server-final message as a last
                // challenge and an empty success (RFC 6120 §6.3.10).
                Nonza::Challenge(challenge) if !verified => {
                    mech.success(&challenge.data)
                        .map_err(|_| SaslError::ServerNotAuthenticated)?;
                    verified = true;
                    stream
                        .send(&XmppStreamElement::Sasl(Nonza::Response(Response {
                            data: Vec::new(),
                        })))
                        .await
                        .map_err(io)?;
                }
                Nonza::Challenge(_) => return Err(SaslError::Malformed("too many challenges")),
                Nonza::Success(success) => {
                    if !verified {
                        if !answered {
                            return Err(SaslError::ServerNotAuthenticated);
                        }
                        mech.success(&success.data)
                            .map_err(|_| SaslError::ServerNotAuthenticated)?;
                    }
                    return Ok(stream.initiate_reset());
                }
                Nonza::Failure(failure) => {
                    return Err(SaslError::Refused {
                        condition: failure.defined_condition,
                        text: failure.texts.values().next().cloned(),
                    });
                }
                _ => return Err(SaslError::Malformed("unexpected SASL element")),
            }
        }
    })
    .await
    .map_err(|_| SaslError::Timeout)?
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_xmpp::minidom::Element;

    fn features(mechs: &[&str], cb: Option<&[&str]>) -> StreamFeatures {
        let mut xml = String::from(
            "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>\
             <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>",
        );
        for m in mechs {
            xml.push_str(&format!("<mechanism>{m}</mechanism>"));
        }
        xml.push_str("</mechanisms>");
        if let Some(types) = cb {
            xml.push_str("<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'>");
            for t in types {
                xml.push_str(&format!("<channel-binding type='{t}'/>"));
            }
            xml.push_str("</sasl-channel-binding>");
        }
        xml.push_str("</stream:features>");
        let el: Element = xml.parse().expect("xml");
        StreamFeatures::try_from(el).expect("features")
    }

    fn tls13() -> TlsBindings {
        TlsBindings {
            exporter: Some(vec![1; 32]),
            server_end_point: Some(vec![2; 32]),
        }
    }

    fn tls12() -> TlsBindings {
        TlsBindings {
            exporter: None,
            server_end_point: Some(vec![2; 32]),
        }
    }

    #[test]
    fn never_plain_or_anonymous() {
        let f = features(&["PLAIN", "ANONYMOUS"], None);
        assert!(matches!(
            choose(&f, &tls13(), false),
            Err(SaslError::NoMechanism)
        ));
        let f = features(&["PLAIN", "ANONYMOUS", "SCRAM-SHA-1"], None);
        let choice = choose(&f, &tls13(), false).expect("scram");
        assert_eq!(choice.mechanism, "SCRAM-SHA-1");
    }

    #[test]
    fn plus_with_the_announced_binding() {
        let f = features(
            &[
                "SCRAM-SHA-1",
                "SCRAM-SHA-1-PLUS",
                "SCRAM-SHA-256",
                "SCRAM-SHA-256-PLUS",
            ],
            Some(&["tls-server-end-point", "tls-exporter"]),
        );
        let c = choose(&f, &tls13(), false).expect("choice");
        assert_eq!(c.mechanism, "SCRAM-SHA-256-PLUS");
        assert!(matches!(c.binding, ChannelBinding::TlsExporter(_)));
        // Announced but not available on this connection (TLS 1.2).
        let c = choose(&f, &tls12(), false).expect("choice");
        assert!(matches!(c.binding, ChannelBinding::TlsServerEndPoint(_)));
        // Announced only tls-unique, which rustls cannot give: no -PLUS,
        // and the y flag.
        let f = features(&["SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"], Some(&["tls-unique"]));
        let c = choose(&f, &tls13(), false).expect("choice");
        assert_eq!(c.mechanism, "SCRAM-SHA-1");
        assert_eq!(c.binding, ChannelBinding::Unsupported);
        assert_eq!(c.binding.header(), b"y,,");
    }

    #[test]
    fn without_an_announcement_the_tls_version_decides() {
        let f = features(&["SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"], None);
        let c = choose(&f, &tls13(), false).expect("choice");
        assert!(matches!(c.binding, ChannelBinding::TlsExporter(_)));
        let c = choose(&f, &tls12(), false).expect("choice");
        assert!(matches!(c.binding, ChannelBinding::TlsServerEndPoint(_)));
        assert_eq!(c.binding.header(), b"p=tls-server-end-point,,");
    }

    #[test]
    fn after_a_binding_failure_plain_scram_with_the_y_flag() {
        let f = features(&["SCRAM-SHA-256", "SCRAM-SHA-256-PLUS"], None);
        let c = choose(&f, &tls13(), true).expect("choice");
        assert_eq!(c.mechanism, "SCRAM-SHA-256");
        assert_eq!(c.binding.header(), b"y,,");
        // A server without -PLUS, and a connection that could bind: still y.
        let f = features(&["SCRAM-SHA-256"], None);
        assert_eq!(
            choose(&f, &tls13(), false).expect("choice").binding,
            ChannelBinding::Unsupported
        );
        // Nothing to bind to at all: n.
        let f = features(&["SCRAM-SHA-256"], None);
        assert_eq!(
            choose(&f, &TlsBindings::default(), false)
                .expect("choice")
                .binding,
            ChannelBinding::None
        );
    }

    #[test]
    fn the_server_first_message_is_checked_before_hashing() {
        let ok = b"r=abcSERVER,s=c2FsdA==,i=4096";
        assert_eq!(check_server_first(ok, "abc").expect("ok"), 4096);
        assert!(matches!(
            check_server_first(b"r=xyzSERVER,s=c2FsdA==,i=4096", "abc"),
            Err(SaslError::Malformed(_))
        ));
        assert!(matches!(
            check_server_first(b"r=abc,s=c2FsdA==,i=4096", "abc"),
            Err(SaslError::Malformed(_))
        ));
        assert!(matches!(
            check_server_first(b"r=abcS,s=c2FsdA==,i=2000000000", "abc"),
            Err(SaslError::TooManyIterations(2_000_000_000))
        ));
        assert!(matches!(
            check_server_first(b"r=abcS,s=c2FsdA==,i=99999999999", "abc"),
            Err(SaslError::Malformed(_))
        ));
        assert!(matches!(
            check_server_first(b"r=abcS,i=4096", "abc"),
            Err(SaslError::Malformed(_))
        ));
    }

    #[test]
    fn our_nonce_is_read_from_the_client_first_message() {
        assert_eq!(
            client_nonce(b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL").as_deref(),
            Some("fyko+d2lbbFgONRv9qkxdawL")
        );
        assert_eq!(
            client_nonce(b"p=tls-exporter,,n=u,r=N1").as_deref(),
            Some("N1")
        );
    }

    #[test]
    fn refusals_read_as_sentences() {
        let e = SaslError::Refused {
            condition: DefinedCondition::NotAuthorized,
            text: None,
        };
        assert!(e.to_string().contains("check the address and password"));
        assert!(e.may_be_binding());
        assert!(!e.is_transient());
        let e = SaslError::Refused {
            condition: DefinedCondition::TemporaryAuthFailure,
            text: Some("busy".into()),
        };
        assert!(e.is_transient());
        assert!(e.to_string().contains("it said: busy"));
    }
}
