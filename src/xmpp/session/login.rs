//! One login: a secured stream (see `connect`), the account created first
//! when asked (XEP-0077), SCRAM (see `sasl`), and the reset stream ready
//! for tokio-xmpp's resource binding and stream management.

use std::sync::atomic::{AtomicBool, Ordering};

use secrecy::{ExposeSecret, SecretString};
use tokio_xmpp::jid::Jid;
use tokio_xmpp::parsers::ns;
use tokio_xmpp::parsers::stream_features::StreamFeatures;
use tokio_xmpp::xmlstream::{StreamHeader, XmppStream};
use tokio_xmpp::{Error as XmppError, error::AuthError};

use super::TIMEOUTS;
use crate::fingerprint::Fingerprint;
use crate::xmpp::connect::{ConnectError, Connector, Stream};
use crate::xmpp::sasl::{self, SaslError};

/// A logged-in stream and what is known of how it was secured.
pub struct LoggedIn {
    pub features: StreamFeatures,
    pub stream: XmppStream<Stream>,
    /// The certificate chained to a system authority (no pin involved).
    pub ca_verified: bool,
}

#[derive(Debug)]
pub enum LoginError {
    Stream(XmppError),
    Sasl(SaslError),
    /// A SCRAM-*-PLUS login was refused in a way channel binding could
    /// explain.
    PlusRefused(SaslError),
}

impl From<XmppError> for LoginError {
    fn from(e: XmppError) -> Self {
        Self::Stream(e)
    }
}

impl From<tokio_xmpp::xmlstream::RecvFeaturesError> for LoginError {
    fn from(e: tokio_xmpp::xmlstream::RecvFeaturesError) -> Self {
        Self::Stream(e.into())
    }
}

impl From<std::io::Error> for LoginError {
    fn from(e: std::io::Error) -> Self {
        Self::Stream(e.into())
    }
}

/// Flags a session keeps across its logins.
#[derive(Debug, Default)]
pub struct LoginFlags {
    /// Create the account on the first successful connection.
    pub register: AtomicBool,
    /// A -PLUS login failed where plain SCRAM then worked: this server
    /// offers channel binding it cannot do (ejabberd 23.01 does this on
    /// TLS 1.3). Kept for the session only.
    pub avoid_plus: AtomicBool,
}

/// Logs in once; a -PLUS login that fails in a way channel binding could
/// explain is tried again, once, with plain SCRAM and the `y` flag.
pub async fn login(
    connector: &Connector,
    jid: &Jid,
    password: &SecretString,
    flags: &LoginFlags,
) -> Result<LoggedIn, LoginError> {
    let avoid = flags.avoid_plus.load(Ordering::SeqCst);
    match attempt(connector, jid, password, flags, avoid).await {
        Err(LoginError::PlusRefused(_)) => {
            let retried = attempt(connector, jid, password, flags, true).await;
            match &retried {
                Ok(_) => {
                    flags.avoid_plus.store(true, Ordering::SeqCst);
                    // Not the user's problem: ejabberd 23.01 always does this.
                    tracing::info!(
                        account = %jid,
                        "the server offered channel binding (SCRAM-*-PLUS) but refused it; \
                         logged in with plain SCRAM"
                    );
                }
                Err(_) => tracing::debug!(account = %jid, "plain SCRAM failed too"),
            }
            retried
        }
        other => other,
    }
}

async fn attempt(
    connector: &Connector,
    jid: &Jid,
    password: &SecretString,
    flags: &LoginFlags,
    avoid_plus: bool,
) -> Result<LoggedIn, LoginError> {
    let username = jid
        .node()
        .ok_or(LoginError::Stream(XmppError::Auth(AuthError::NoMechanism)))?
        .as_str()
        .to_owned();
    let secured = connector.connect(jid, ns::JABBER_CLIENT, TIMEOUTS).await?;
    let (features, mut stream) = secured.stream.recv_features().await?;
    if flags.register.load(Ordering::SeqCst) {
        crate::xmpp::register::create_account(
            &mut stream,
            &features,
            jid.domain().as_str(),
            &username,
            password.expose_secret(),
        )
        .await
        .map_err(|e| XmppError::Connection(Box::new(ConnectError::Registration(e))))?;
        // Created: a later attempt (say, after a dropped link) only logs in.
        flags.register.store(false, Ordering::SeqCst);
    }
    let choice =
        sasl::choose(&features, &secured.bindings, avoid_plus).map_err(LoginError::Sasl)?;
    tracing::debug!(account = %jid, mechanism = %choice.mechanism, "logging in");
    let stream = sasl::authenticate(stream, &choice, &username, password.expose_secret())
        .await
        .map_err(|e| {
            if choice.is_plus() && e.may_be_binding() {
                LoginError::PlusRefused(e)
            } else {
                LoginError::Sasl(e)
            }
        })?;
    let stream = stream
        .send_header(StreamHeader {
            to: Some(std::borrow::Cow::Borrowed(jid.domain().as_str())),
            from: None,
            id: None,
        })
        .await?;
    let (features, stream) = stream.recv_features().await?;
    Ok(LoggedIn {
        features,
        stream,
        ca_verified: secured.ca_verified,
    })
}

/// A login failure as the user should hear of it, and whether trying
/// again later can help.
#[derive(Debug)]
pub struct Failure {
    pub reason: String,
    pub fatal: bool,
    pub certificate: Option<Fingerprint>,
}

/// Sorts login failures into "retry later" and "the user must act".
pub fn classify(error: LoginError) -> Failure {
    let fatal = |reason: String| Failure {
        reason,
        fatal: true,
        certificate: None,
    };
    let retry = |reason: String| Failure {
        reason,
        fatal: false,
        certificate: None,
    };
    let error = match error {
        LoginError::Sasl(e) | LoginError::PlusRefused(e) => {
            return if e.is_transient() {
                retry(e.to_string())
            } else {
                fatal(e.to_string())
            };
        }
        LoginError::Stream(e) => e,
    };
    match error {
        XmppError::Connection(e) => {
            match (&*e as &dyn std::error::Error).downcast_ref::<ConnectError>() {
                Some(c) if c.is_fatal() => Failure {
                    certificate: c.certificate(),
                    ..fatal(c.to_string())
                },
                Some(c) => retry(c.to_string()),
                None => retry(e.to_string()),
            }
        }
        XmppError::Auth(AuthError::NoMechanism) => fatal(SaslError::NoMechanism.to_string()),
        XmppError::Auth(e) => fatal(format!("login failed: {e}")),
        XmppError::JidParse(e) => fatal(format!("the address is not valid: {e}")),
        XmppError::StreamError(e) => {
            let text = e.to_string();
            if text.contains("host-unknown") {
                fatal(format!("the server does not host this domain ({text})"))
            } else {
                retry(format!("the server closed the stream ({text})"))
            }
        }
        XmppError::Io(e) => retry(format!("network error: {e}")),
        XmppError::Disconnected => retry("the server closed the connection".into()),
        other => retry(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_xmpp::parsers::sasl::DefinedCondition;

    #[test]
    fn wrong_password_is_fatal_network_trouble_is_not() {
        let wrong = classify(LoginError::Sasl(SaslError::Refused {
            condition: DefinedCondition::NotAuthorized,
            text: None,
        }));
        assert!(wrong.fatal);
        assert!(wrong.reason.contains("not authorized"), "{}", wrong.reason);
        let net = classify(LoginError::Stream(XmppError::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        ))));
        assert!(!net.fatal);
        let stripped = classify(LoginError::Stream(XmppError::Connection(Box::new(
            ConnectError::NoTls {
                server: "x:1".into(),
            },
        ))));
        assert!(stripped.fatal);
        let liar = classify(LoginError::Sasl(SaslError::ServerNotAuthenticated));
        assert!(liar.fatal);
        assert!(liar.reason.contains("impersonating"), "{}", liar.reason);
        let busy = classify(LoginError::Sasl(SaslError::TooManyIterations(
            2_000_000_000,
        )));
        assert!(busy.fatal);
    }
}
