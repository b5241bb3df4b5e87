//! TLS policy: certificates verified by the platform verifier against the
//! system roots, unless the account pinned one certificate, in which case
//! exactly that certificate is accepted and every other is refused.

use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};

use crate::fingerprint::Fingerprint;

/// What the verifier concluded about the last certificate it saw; read
/// after a failed handshake to tell the user which certificate it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertVerdict {
    Trusted,
    Pinned,
    /// Not trusted by the system roots; the reason comes from the verifier.
    Untrusted {
        fingerprint: Fingerprint,
        reason: String,
    },
    /// A pin is set and this is another certificate.
    PinMismatch {
        fingerprint: Fingerprint,
        pinned: Fingerprint,
    },
    /// Accepted without a CA or name check because the server is an onion
    /// service reached through Tor, whose address already proves who it is.
    OnionService {
        fingerprint: Fingerprint,
    },
}

#[derive(Debug)]
pub struct PinningVerifier {
    system: Arc<dyn ServerCertVerifier>,
    provider: Arc<CryptoProvider>,
    pinned: Option<Fingerprint>,
    /// The server is an onion service: see [`PinningVerifier::for_onion`].
    onion: bool,
    verdict: Mutex<Option<CertVerdict>>,
}

impl PinningVerifier {
    pub fn new(pinned: Option<Fingerprint>) -> Result<Arc<Self>, rustls::Error> {
        Self::build(pinned, false)
    }

    /// For an onion service reached through Tor. Our choice, as Gajim and
    /// Conversations do: TLS is still required (STARTTLS must be offered,
    /// the handshake must succeed, the server must prove it holds the
    /// certificate's key), but the certificate need not chain to a CA nor
    /// name the domain, because the onion address itself authenticates the
    /// server (Tor checks the service's key). Onion servers rarely have CA
    /// certificates. A pin, when set, still applies: exactly that one.
    pub fn for_onion(pinned: Option<Fingerprint>) -> Result<Arc<Self>, rustls::Error> {
        Self::build(pinned, true)
    }

    fn build(pinned: Option<Fingerprint>, onion: bool) -> Result<Arc<Self>, rustls::Error> {
        let provider = crypto_provider();
        let system = Arc::new(rustls_platform_verifier::Verifier::new(provider.clone())?);
        Ok(Arc::new(Self {
            system,
            provider,
            pinned,
            onion,
            verdict: Mutex::new(None),
        }))
    }

    /// Takes the verdict of the last handshake.
    pub fn take_verdict(&self) -> Option<CertVerdict> {
        self.verdict.lock().map(|mut v| v.take()).unwrap_or(None)
    }

    fn record(&self, verdict: CertVerdict) {
        if let Ok(mut slot) = self.verdict.lock() {
            *slot = Some(verdict);
        }
    }

    pub fn client_config(self: &Arc<Self>) -> Result<Arc<ClientConfig>, rustls::Error> {
        let config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(self.clone())
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

/// One crypto provider for the whole binary: ring.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fingerprint = Fingerprint::of_der(end_entity.as_ref());
        if let Some(pinned) = self.pinned {
            // A pin is the user's explicit decision for this one certificate:
            // it replaces the CA check rather than adding to it.
            if pinned == fingerprint {
                self.record(CertVerdict::Pinned);
                return Ok(ServerCertVerified::assertion());
            }
            self.record(CertVerdict::PinMismatch {
                fingerprint,
                pinned,
            });
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ));
        }
        if self.onion {
            self.record(CertVerdict::OnionService { fingerprint });
            return Ok(ServerCertVerified::assertion());
        }
        match self.system.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(ok) => {
                self.record(CertVerdict::Trusted);
                Ok(ok)
            }
            Err(e) => {
                self.record(CertVerdict::Untrusted {
                    fingerprint,
                    reason: describe_rustls_error(&e),
                });
                Err(e)
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.system.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.system.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.system.supported_verify_schemes()
    }
}

/// Plain words for the certificate errors people actually meet; never a
/// library's debug output.
pub fn describe_rustls_error(e: &rustls::Error) -> String {
    use rustls::{AlertDescription, PeerIncompatible};
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => {
                "it is not signed by an authority this system trusts (it may be self-signed)".into()
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "it has expired".into()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "it is not valid yet (or this computer's clock is wrong)".into()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "it was issued for another name".into()
            }
            CertificateError::Revoked => "it has been revoked by its issuer".into(),
            CertificateError::BadSignature => "its signature is invalid".into(),
            CertificateError::BadEncoding => "it is malformed".into(),
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                "it is not meant for servers".into()
            }
            CertificateError::UnknownRevocationStatus
            | CertificateError::ExpiredRevocationList
            | CertificateError::ExpiredRevocationListContext { .. } => {
                "whether it was revoked cannot be checked".into()
            }
            CertificateError::UnhandledCriticalExtension => {
                "it uses an extension this system cannot check".into()
            }
            CertificateError::Other(other) => describe_other(&other.to_string()),
            _ => "it could not be verified".into(),
        },
        rustls::Error::AlertReceived(AlertDescription::HandshakeFailure)
        | rustls::Error::AlertReceived(AlertDescription::InsufficientSecurity)
        | rustls::Error::AlertReceived(AlertDescription::ProtocolVersion) => {
            "the server and Sotto have no TLS version or cipher in common \
             (Sotto needs TLS 1.2 or newer)"
                .into()
        }
        rustls::Error::AlertReceived(alert) => {
            format!("the server ended the TLS handshake ({alert:?})")
        }
        rustls::Error::PeerIncompatible(PeerIncompatible::ServerDoesNotSupportTls12Or13) => {
            "the server only speaks TLS versions older than 1.2, which are no longer safe".into()
        }
        rustls::Error::PeerIncompatible(_) => {
            "the server's TLS settings are too old or unusual for a safe connection".into()
        }
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
            "the server did not answer in TLS: is this the right port, and is it direct TLS \
             or STARTTLS?"
                .into()
        }
        rustls::Error::PeerMisbehaved(_) => "the server broke the TLS protocol".into(),
        _ => "the secure connection could not be set up".into(),
    }
}

/// webpki's errors reach rustls as opaque `Other` errors; these are the
/// ones a person can act on.
fn describe_other(text: &str) -> String {
    if text.contains("CaUsedAsEndEntity") {
        "the server presents a certificate authority's certificate instead of its own".into()
    } else if text.contains("UnsupportedSignatureAlgorithm") {
        "it is signed with an algorithm this system does not accept".into()
    } else if text.contains("EndEntityUsedAsCa") {
        "the chain uses a server certificate as an authority".into()
    } else if text.contains("NameConstraintViolation") {
        "its issuer is not allowed to issue it for this name".into()
    } else if text.contains("PathLenConstraintViolated") {
        "its chain of authorities is longer than allowed".into()
    } else {
        "it could not be verified".into()
    }
}

/// Plain words for a failed TLS handshake: the rustls error inside the I/O
/// error when there is one.
pub fn describe_handshake_error(e: &std::io::Error) -> String {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => describe_rustls_error(tls),
        None => match e.kind() {
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => {
                "the server closed the connection during the TLS handshake".into()
            }
            _ => format!("the connection broke during the TLS handshake ({e})"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_errors_are_sentences_not_debug_output() {
        let ca = rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(
            std::sync::Arc::new(std::io::Error::other("CaUsedAsEndEntity")),
        )));
        let text = describe_rustls_error(&ca);
        assert!(text.contains("authority's certificate"), "{text}");
        assert!(!text.contains("Other("), "{text}");
        for e in [
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
            rustls::Error::InvalidCertificate(CertificateError::Expired),
            rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure),
            rustls::Error::General("x".into()),
        ] {
            let text = describe_rustls_error(&e);
            for debug in ["Error", "Other(", "::", "{"] {
                assert!(!text.contains(debug), "{text}");
            }
        }
        let io = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::NotValidForName),
        );
        assert_eq!(
            describe_handshake_error(&io),
            "it was issued for another name"
        );
    }
}
