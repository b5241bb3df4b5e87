//! Sotto's `ServerConnector`: finds the server, opens TCP, secures it with
//! TLS (direct or STARTTLS) under our own certificate policy, and refuses
//! anything that is not encrypted. tokio-xmpp's stock connectors build their
//! own rustls config, which leaves no room for pinning; this one plugs ours.
//!
//! A Tor account takes the same path with another transport: no SRV lookup
//! and no local DNS at all (the exit resolves the name), a stream from
//! [`Tor::connect`] instead of TCP, then the same STARTTLS/TLS and pinning.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use hickory_resolver::TokioResolver;
use rustls::pki_types::ServerName;
use thiserror::Error;
use tokio::io::BufStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_xmpp::Error as XmppError;
use tokio_xmpp::connect::{DnsConfig, ServerConnectorError};
use tokio_xmpp::jid::Jid;
use tokio_xmpp::parsers::starttls;
use tokio_xmpp::xmlstream::{
    FallibleStreamElement, PendingFeaturesRecv, ReadError, StreamHeader, Timeouts,
    XmppStreamElement, initiate_stream,
};

use super::nonza::{Nonzas, WithNonzas};
use super::register::RegisterError;
use super::sasl::TlsBindings;
use super::srv::{Candidate, candidates};
use super::tls::{CertVerdict, PinningVerifier};
use crate::config::ServerAddress;
use crate::fingerprint::Fingerprint;
use crate::tor::{BoxedIo, Tor, TorError, is_onion};

const TCP_TIMEOUT: Duration = Duration::from_secs(15);
const TLS_TIMEOUT: Duration = Duration::from_secs(20);

/// Why a connection could not be made, in the user's terms.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ConnectError {
    #[error(
        "the server at {server} offered no encryption (STARTTLS was missing), so Sotto did not connect; \
         someone on the network may be removing it"
    )]
    NoTls { server: String },
    #[error(
        "the certificate of {domain} is not trusted: {reason}. Its SHA-256 fingerprint is {fingerprint}"
    )]
    UntrustedCertificate {
        domain: String,
        fingerprint: Fingerprint,
        reason: String,
    },
    #[error(
        "the certificate of {domain} has changed: it is now {fingerprint}, but you pinned {pinned}. \
         Sotto refuses it; if your server's certificate really changed, pin the new one"
    )]
    PinMismatch {
        domain: String,
        fingerprint: Fingerprint,
        pinned: Fingerprint,
    },
    #[error("the secure connection to {server} failed: {reason}")]
    Tls { server: String, reason: String },
    #[error("could not reach {server}: {reason}")]
    Unreachable { server: String, reason: String },
    /// Tor is not ready or could not open the stream; the account waits
    /// and retries through Tor, never directly.
    #[error("{0}")]
    Tor(TorError),
    /// Creating the account (XEP-0077) failed; retrying would not help.
    #[error("{0}")]
    Registration(RegisterError),
}

impl ServerConnectorError for ConnectError {}

impl ConnectError {
    /// Retrying without the user changing something cannot help.
    /// The certificate the user could pin to get past this error.
    pub fn certificate(&self) -> Option<Fingerprint> {
        match self {
            Self::UntrustedCertificate { fingerprint, .. }
            | Self::PinMismatch { fingerprint, .. } => Some(*fingerprint),
            _ => None,
        }
    }

    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            Self::NoTls { .. }
                | Self::UntrustedCertificate { .. }
                | Self::PinMismatch { .. }
                | Self::Registration(_)
        )
    }
}

/// How an account's bytes reach its server.
#[derive(Debug, Clone, Default)]
pub enum Route {
    /// Plain TCP after SRV and system DNS.
    #[default]
    Direct,
    /// Only through this Tor: no local DNS, no direct socket, ever.
    Tor(Tor),
}

/// A TLS policy: the verifier (to read its verdict) and its connector.
#[derive(Clone)]
struct Tls {
    verifier: Arc<PinningVerifier>,
    connector: TlsConnector,
}

impl Tls {
    fn new(verifier: Arc<PinningVerifier>) -> Result<Self, rustls::Error> {
        let connector = TlsConnector::from(verifier.client_config()?);
        Ok(Self {
            verifier,
            connector,
        })
    }
}

/// Everything needed to open an account's stream, cheap to clone.
#[derive(Clone)]
pub struct Connector {
    server: Option<ServerAddress>,
    direct_tls: bool,
    tls: Tls,
    /// Onion servers' policy (see [`PinningVerifier::for_onion`]); only
    /// for Tor routes, since only Tor reaches onion services.
    onion_tls: Option<Tls>,
    route: Route,
    resolver: Option<TokioResolver>,
    /// Every stream this connector opens can carry the session's nonzas.
    nonzas: Nonzas,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("server", &self.server)
            .field("direct_tls", &self.direct_tls)
            .field("tor", &matches!(self.route, Route::Tor(_)))
            .finish_non_exhaustive()
    }
}

impl Connector {
    pub fn new(
        server: Option<ServerAddress>,
        direct_tls: bool,
        pinned: Option<Fingerprint>,
        route: Route,
    ) -> Result<Self, ConnectError> {
        let tls_err = |e: rustls::Error| ConnectError::Tls {
            server: "any server".into(),
            reason: format!("TLS could not be set up: {e}"),
        };
        let tls = Tls::new(PinningVerifier::new(pinned).map_err(tls_err)?).map_err(tls_err)?;
        let onion_tls = match route {
            Route::Tor(_) => Some(
                Tls::new(PinningVerifier::for_onion(pinned).map_err(tls_err)?).map_err(tls_err)?,
            ),
            Route::Direct => None,
        };
        // A Tor account never gets a resolver: there is nothing for it to ask.
        let resolver = match (&server, &route) {
            (None, Route::Direct) => system_resolver(),
            _ => None,
        };
        Ok(Self {
            server,
            direct_tls,
            tls,
            onion_tls,
            route,
            resolver,
            nonzas: Nonzas::default(),
        })
    }

    /// Opens the byte stream: TCP after system DNS, or a Tor stream with
    /// the name resolved by the exit.
    async fn transport(
        &self,
        candidate: &Candidate,
        server: &str,
    ) -> Result<BoxedIo, ConnectError> {
        match &self.route {
            Route::Tor(tor) => tor
                .connect(&candidate.host, candidate.port)
                .await
                .map_err(ConnectError::Tor),
            Route::Direct => {
                let tcp = tokio::time::timeout(
                    TCP_TIMEOUT,
                    DnsConfig::no_srv(&candidate.host, candidate.port).resolve(),
                )
                .await
                .map_err(|_| ConnectError::Unreachable {
                    server: server.to_owned(),
                    reason: "no answer in time".into(),
                })?
                .map_err(|e| ConnectError::Unreachable {
                    server: server.to_owned(),
                    reason: e.to_string(),
                })?;
                let _ = tcp.set_nodelay(true);
                Ok(Box::new(tcp))
            }
        }
    }

    /// Where to connect. Through Tor there is no SRV lookup (it would be a
    /// DNS query outside Tor): the configured server, or the domain on the
    /// standard port.
    async fn candidates(&self, domain: &str) -> Vec<Candidate> {
        match (&self.route, &self.server) {
            (Route::Tor(_), None) => vec![Candidate {
                host: domain.to_owned(),
                port: if self.direct_tls { 5223 } else { 5222 },
                direct_tls: self.direct_tls,
            }],
            _ => {
                candidates(
                    domain,
                    self.server.as_ref(),
                    self.direct_tls,
                    self.resolver.as_ref(),
                )
                .await
            }
        }
    }

    /// The handle through which the session queues nonzas on the streams
    /// this connector (and its clones) open.
    pub fn nonzas(&self) -> &Nonzas {
        &self.nonzas
    }

    async fn open(
        &self,
        jid: &Jid,
        candidate: &Candidate,
        ns: &'static str,
        timeouts: Timeouts,
    ) -> Result<Secured, XmppError> {
        let server = format!("{}:{}", candidate.host, candidate.port);
        let domain = jid.domain().as_str();
        let io = self.transport(candidate, &server).await?;
        let io = if candidate.direct_tls {
            io
        } else {
            self.starttls(io, domain, &server, ns, timeouts).await?
        };
        let tls = match &self.onion_tls {
            Some(onion) if is_onion(&candidate.host) => onion,
            _ => &self.tls,
        };
        let (tls, bindings, ca_verified) = handshake(tls, io, jid, &server).await?;
        let stream = initiate_stream(
            self.nonzas.wrap(BufStream::new(tls)),
            ns,
            StreamHeader {
                to: Some(Cow::Borrowed(domain)),
                from: Some(Cow::Owned(jid.to_bare().to_string())),
                id: None,
            },
            timeouts,
        )
        .await?;
        Ok(Secured {
            stream,
            bindings,
            ca_verified,
        })
    }

    /// Negotiates STARTTLS on a fresh TCP stream. A server that does not
    /// offer it is refused: this is where a stripping attack shows.
    async fn starttls(
        &self,
        tcp: BoxedIo,
        domain: &str,
        server: &str,
        ns: &'static str,
        timeouts: Timeouts,
    ) -> Result<BoxedIo, XmppError> {
        let stream = initiate_stream(
            BufStream::new(tcp),
            ns,
            StreamHeader {
                to: Some(Cow::Borrowed(domain)),
                from: None,
                id: None,
            },
            timeouts,
        )
        .await?;
        let (features, mut stream) = stream.recv_features::<FallibleStreamElement>().await?;
        if !features.can_starttls() {
            return Err(ConnectError::NoTls {
                server: server.to_owned(),
            }
            .into());
        }
        stream
            .send(&XmppStreamElement::Starttls(starttls::Nonza::Request(
                starttls::Request,
            )))
            .await?;
        loop {
            match stream
                .next()
                .await
                .map(|r| r.and_then(FallibleStreamElement::into_read_error))
            {
                Some(Ok(XmppStreamElement::Starttls(starttls::Nonza::Proceed(_)))) => break,
                Some(Ok(XmppStreamElement::Starttls(_))) => {
                    return Err(ConnectError::NoTls {
                        server: server.to_owned(),
                    }
                    .into());
                }
                Some(Ok(_)) | Some(Err(ReadError::SoftTimeout)) => {}
                Some(Err(ReadError::HardError(e))) => return Err(e.into()),
                Some(Err(ReadError::ParseError(e))) => {
                    return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e).into());
                }
                None | Some(Err(ReadError::StreamFooterReceived)) => {
                    return Err(XmppError::Disconnected);
                }
            }
        }
        Ok(stream.into_inner().into_inner())
    }
}

/// TLS on a stream, direct or Tor, under `tls`'s policy.
async fn handshake(
    tls: &Tls,
    io: BoxedIo,
    jid: &Jid,
    server: &str,
) -> Result<(TlsStream<BoxedIo>, TlsBindings, bool), XmppError> {
    let domain = jid.domain().as_str();
    // The certificate must name the JID's domain (RFC 6120 §13.7.2.1),
    // whatever host the SRV record or the user's override pointed at.
    let name = ServerName::try_from(domain.to_owned()).map_err(|e| ConnectError::Tls {
        server: server.to_owned(),
        reason: format!("{domain} is not a valid TLS name: {e}"),
    })?;
    let _ = tls.verifier.take_verdict();
    let result = tokio::time::timeout(TLS_TIMEOUT, tls.connector.connect(name, io)).await;
    let (tls, ca_verified) = match result {
        Ok(Ok(stream)) => (
            stream,
            matches!(tls.verifier.take_verdict(), Some(CertVerdict::Trusted)),
        ),
        Ok(Err(e)) => {
            return Err(match tls.verifier.take_verdict() {
                Some(CertVerdict::Untrusted {
                    fingerprint,
                    reason,
                }) => ConnectError::UntrustedCertificate {
                    domain: domain.to_owned(),
                    fingerprint,
                    reason,
                },
                Some(CertVerdict::PinMismatch {
                    fingerprint,
                    pinned,
                }) => ConnectError::PinMismatch {
                    domain: domain.to_owned(),
                    fingerprint,
                    pinned,
                },
                _ => ConnectError::Tls {
                    server: server.to_owned(),
                    reason: super::tls::describe_handshake_error(&e),
                },
            }
            .into());
        }
        Err(_) => {
            return Err(ConnectError::Tls {
                server: server.to_owned(),
                reason: "the TLS handshake timed out".into(),
            }
            .into());
        }
    };
    let (_, connection) = tls.get_ref();
    let bindings = TlsBindings {
        // RFC 9266: the exporter is defined for TLS 1.3 only.
        exporter: match connection.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => connection
                .export_keying_material(vec![0u8; 32], b"EXPORTER-Channel-Binding", None)
                .ok(),
            _ => None,
        },
        server_end_point: connection
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|cert| server_end_point(cert.as_ref())),
    };
    Ok((tls, bindings, ca_verified))
}

/// RFC 5929 §4.1: the certificate hashed with its signature's hash
/// function, SHA-256 where that is MD5 or SHA-1; undefined (`None`) for
/// signatures without one hash function, such as Ed25519.
pub fn server_end_point(der: &[u8]) -> Option<Vec<u8>> {
    use sha2::Digest;
    use x509_parser::oid_registry as oids;
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let algorithm = &cert.signature_algorithm.algorithm;
    let sha256 = [
        oids::OID_PKCS1_SHA256WITHRSA,
        oids::OID_SIG_ECDSA_WITH_SHA256,
        oids::OID_PKCS1_SHA1WITHRSA,
        oids::OID_PKCS1_MD5WITHRSAENC,
    ];
    if sha256.contains(algorithm) {
        Some(sha2::Sha256::digest(der).to_vec())
    } else if [
        oids::OID_PKCS1_SHA384WITHRSA,
        oids::OID_SIG_ECDSA_WITH_SHA384,
    ]
    .contains(algorithm)
    {
        Some(sha2::Sha384::digest(der).to_vec())
    } else if [
        oids::OID_PKCS1_SHA512WITHRSA,
        oids::OID_SIG_ECDSA_WITH_SHA512,
    ]
    .contains(algorithm)
    {
        Some(sha2::Sha512::digest(der).to_vec())
    } else {
        None
    }
}

/// A stream secured by TLS, before login.
pub struct Secured {
    pub stream: PendingFeaturesRecv<Stream>,
    /// What a SCRAM-PLUS login can bind to.
    pub bindings: TlsBindings,
    /// The certificate chained to a system authority (no pin involved).
    pub ca_verified: bool,
}

/// The stream type our connector hands to tokio-xmpp.
pub type Stream = WithNonzas<BufStream<TlsStream<BoxedIo>>>;

fn system_resolver() -> Option<TokioResolver> {
    let builder = TokioResolver::builder_tokio()
        .map_err(
            |e| tracing::warn!(error = %e, "no system DNS configuration; SRV lookups are skipped"),
        )
        .ok()?;
    builder
        .build()
        .map_err(|e| tracing::warn!(error = %e, "DNS resolver could not start"))
        .ok()
}

impl Connector {
    /// Opens a secured stream to the account's server, trying each
    /// candidate in turn; with what the TLS connection can bind a login to.
    pub async fn connect(
        &self,
        jid: &Jid,
        ns: &'static str,
        timeouts: Timeouts,
    ) -> Result<Secured, XmppError> {
        let domain = jid.domain().as_str();
        let list = self.candidates(domain).await;
        let mut last = None;
        for candidate in &list {
            tracing::debug!(host = %candidate.host, port = candidate.port, direct_tls = candidate.direct_tls, "connecting");
            match self.open(jid, candidate, ns, timeouts).await {
                Ok(ok) => return Ok(ok),
                Err(XmppError::Connection(e)) => {
                    let fatal = (&*e as &dyn std::error::Error)
                        .downcast_ref::<ConnectError>()
                        .is_some_and(ConnectError::is_fatal);
                    if fatal {
                        // A security failure is never papered over by
                        // trying the next host.
                        return Err(XmppError::Connection(e));
                    }
                    last = Some(XmppError::Connection(e));
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(XmppError::Disconnected))
    }
}
