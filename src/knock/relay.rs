//! The relay client: POSTs a knock as the ChatSecure push relay expects
//! (JSON, `priority: "high"`, oldest token first, 404 drops a token). The
//! endpoint came from a contact, so: HTTPS only, no redirects, short
//! timeouts, a small response limit, and no private, loopback or
//! link-local targets, unless the development switch says otherwise.
//!
//! A Tor account's knocks take [`KnockRoute::Tor`]: no local DNS (the exit
//! resolves the relay's name), HTTP/1.1 by hyper on a Tor stream under the
//! same TLS config, the same request and the same reading of the answer.
//! reqwest is never built for them: it could only connect directly.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use reqwest::{StatusCode, Url};
use rustls::pki_types::ServerName;
use thiserror::Error;

use super::push_info::{PushInfo, Token};
use crate::tor::{BoxedIo, Tor};

/// How a knock reaches the relay.
#[derive(Debug, Clone, Default)]
pub enum KnockRoute {
    /// reqwest, with the relay's addresses resolved and vetted here.
    #[default]
    Direct,
    /// Only through Tor (the account is set to use Tor).
    Tor(Tor),
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(10);
/// The whole knock: name lookup, TLS and every token tried.
const KNOCK_DEADLINE: Duration = Duration::from_secs(15);
/// A relay answers with an echo or a small error map; more is not a relay.
const MAX_RESPONSE_BYTES: usize = 4 * 1024;

/// What a knock may reach, and how long it may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnockPolicy {
    /// Development switch: allow plain http and loopback or private
    /// addresses, for testers running a relay on their own machine.
    pub allow_insecure: bool,
    /// One request, connection included.
    pub timeout: Duration,
    /// The whole knock, name lookup and every token included: a contact
    /// with many tokens must not keep a knock going for minutes.
    pub deadline: Duration,
}

impl Default for KnockPolicy {
    fn default() -> Self {
        Self {
            allow_insecure: false,
            timeout: TOTAL_TIMEOUT,
            deadline: KNOCK_DEADLINE,
        }
    }
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum KnockError {
    #[error("the relay address {0} does not use https; Sotto only knocks over https")]
    NotHttps(String),
    #[error(
        "the relay {host} resolves to {addr}, a {range} address; Sotto only knocks on \
         public addresses, never inside your network"
    )]
    ForbiddenAddress {
        host: String,
        addr: IpAddr,
        range: &'static str,
    },
    #[error("the relay {host} could not be found: {reason}")]
    Resolve { host: String, reason: String },
    #[error("the relay answered with a redirect ({0}); Sotto does not follow redirects for knocks")]
    Redirect(u16),
    #[error("the relay rejected the knock as malformed: {0}")]
    BadRequest(String),
    #[error("the relay is having trouble (HTTP {0}); try again later")]
    RelayTrouble(u16),
    #[error("the relay answered HTTP {0}, which a push relay does not send")]
    UnexpectedStatus(u16),
    #[error("the relay did not answer in time")]
    Timeout,
    #[error("could not reach the relay: {0}")]
    Network(String),
    #[error("the relay sent more than {MAX_RESPONSE_BYTES} bytes; not a push relay")]
    ResponseTooLarge,
    #[error("every token was refused as unknown; ask the contact for new push info")]
    NoTokensLeft,
    #[error("TLS could not be set up: {0}")]
    Tls(String),
    /// Through Tor, before any byte reached the relay.
    #[error("{0}")]
    Tor(String),
}

impl KnockError {
    /// Whether the relay was contacted at all; refusals on our side do not
    /// count against the cooldown.
    pub fn reached_relay(&self) -> bool {
        !matches!(
            self,
            Self::NotHttps(_)
                | Self::ForbiddenAddress { .. }
                | Self::Resolve { .. }
                | Self::Tls(_)
                | Self::Tor(_)
        )
    }
}

/// How a knock went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnockReport {
    /// `Ok` with the token that was accepted.
    pub result: Result<Token, KnockError>,
    /// Tokens the relay no longer knows (404): remove them from the store.
    pub dropped: Vec<Token>,
}

/// The special-purpose range an address is in, if any (see `address`).
fn forbidden(ip: IpAddr) -> Option<&'static str> {
    crate::address::special_purpose(ip)
}

/// Built once: loading the system's roots takes milliseconds.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, KnockError> {
    static CONFIG: std::sync::OnceLock<Result<Arc<rustls::ClientConfig>, String>> =
        std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let verifier = rustls_platform_verifier::Verifier::new(provider.clone())
                .map_err(|e| e.to_string())?;
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth();
            Ok(Arc::new(config))
        })
        .clone()
        .map_err(KnockError::Tls)
}

/// The URL's host (IPv6 without brackets), if its scheme is allowed.
fn https_host(url: &Url, policy: KnockPolicy) -> Result<String, KnockError> {
    if url.scheme() != "https" && !policy.allow_insecure {
        return Err(KnockError::NotHttps(url.to_string()));
    }
    let host = url
        .host_str()
        .ok_or_else(|| KnockError::NotHttps(url.to_string()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    Ok(host)
}

/// Checks the URL and resolves its host once; the connection then goes to
/// exactly these addresses, so DNS cannot swap in a private one later.
async fn vet(url: &Url, policy: KnockPolicy) -> Result<(String, Vec<SocketAddr>), KnockError> {
    let host = https_host(url, policy)?;
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| KnockError::Resolve {
            host: host.clone(),
            reason: e.to_string(),
        })?
        .collect();
    if addrs.is_empty() {
        return Err(KnockError::Resolve {
            host,
            reason: "no address".into(),
        });
    }
    if !policy.allow_insecure
        && let Some((addr, range)) = addrs
            .iter()
            .find_map(|a| forbidden(a.ip()).map(|range| (a.ip(), range)))
    {
        return Err(KnockError::ForbiddenAddress { host, addr, range });
    }
    Ok((host, addrs))
}

/// Knocks with each token in turn, oldest first, until one is accepted.
pub async fn knock(info: &PushInfo, policy: KnockPolicy) -> KnockReport {
    knock_via(info, policy, &KnockRoute::Direct).await
}

/// [`knock`], by the given route.
pub async fn knock_via(info: &PushInfo, policy: KnockPolicy, route: &KnockRoute) -> KnockReport {
    let mut dropped = Vec::new();
    let work = async {
        match route {
            KnockRoute::Direct => knock_tokens(info, policy, &mut dropped).await,
            KnockRoute::Tor(tor) => knock_tokens_tor(info, policy, tor, &mut dropped).await,
        }
    };
    // One deadline for everything; tokens found unknown before it passed
    // are still reported.
    let result = tokio::time::timeout(policy.deadline, work)
        .await
        .unwrap_or(Err(KnockError::Timeout));
    KnockReport { result, dropped }
}

/// The checks that need no DNS: the scheme, and literal addresses. Through
/// Tor a name is resolved by the exit, which refuses private answers
/// itself, so only literal private addresses are ours to refuse.
fn vet_for_tor(url: &Url, policy: KnockPolicy) -> Result<(String, u16), KnockError> {
    let host = https_host(url, policy)?;
    if !policy.allow_insecure
        && let Ok(addr) = host.parse::<IpAddr>()
        && let Some(range) = forbidden(addr)
    {
        return Err(KnockError::ForbiddenAddress { host, addr, range });
    }
    Ok((host, url.port_or_known_default().unwrap_or(443)))
}

async fn knock_tokens_tor(
    info: &PushInfo,
    policy: KnockPolicy,
    tor: &Tor,
    dropped: &mut Vec<Token>,
) -> Result<Token, KnockError> {
    let url = info.knock_url();
    let (host, port) = vet_for_tor(&url, policy)?;
    // Borrowed, so each token's attempt can take them along.
    let (url, host) = (&url, host.as_str());
    each_token(info, host, dropped, |token| async move {
        let attempt = post_over_tor(tor, url, host, port, token);
        match tokio::time::timeout(policy.timeout, attempt).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Post::Failed(KnockError::Timeout)),
        }
    })
    .await
}

/// One POST over a fresh Tor stream: TLS (same config as the direct path),
/// then HTTP/1.1 by hyper. No redirects are followed: hyper's client
/// connection never follows any.
async fn post_over_tor(
    tor: &Tor,
    url: &Url,
    host: &str,
    port: u16,
    token: &Token,
) -> Result<(), Post> {
    let failed = |e: KnockError| Post::Failed(e);
    let io = tor
        .connect(host, port)
        .await
        .map_err(|e| failed(KnockError::Tor(e.to_string())))?;
    let io: BoxedIo = if url.scheme() == "https" {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| failed(KnockError::Tls(format!("{host} is not a TLS name: {e}"))))?;
        let connector = tokio_rustls::TlsConnector::from(tls_config().map_err(failed)?);
        Box::new(
            connector
                .connect(name, io)
                .await
                .map_err(|e| failed(KnockError::Network(e.to_string())))?,
        )
    } else {
        io
    };
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(io))
            .await
            .map_err(|e| failed(KnockError::Network(e.to_string())))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "knock connection ended");
        }
    });
    let authority = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    };
    let mut target = url.path().to_owned();
    if let Some(query) = url.query() {
        target.push('?');
        target.push_str(query);
    }
    let request = hyper::Request::post(target)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(hyper::header::ACCEPT, "application/json")
        .header(hyper::header::USER_AGENT, USER_AGENT)
        .body(Full::new(Bytes::from(knock_body(token))))
        .map_err(|e| failed(KnockError::Network(e.to_string())))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| failed(KnockError::Network(e.to_string())))?;
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|e| {
            failed(if e.is::<http_body_util::LengthLimitError>() {
                KnockError::ResponseTooLarge
            } else {
                KnockError::Network(e.to_string())
            })
        })?
        .to_bytes();
    outcome(status, &body)
}

const USER_AGENT: &str = concat!("Sotto/", env!("CARGO_PKG_VERSION"));

/// The knock's JSON body; the same on every route.
fn knock_body(token: &Token) -> String {
    serde_json::json!({ "token": token.expose(), "priority": "high" }).to_string()
}

async fn knock_tokens(
    info: &PushInfo,
    policy: KnockPolicy,
    dropped: &mut Vec<Token>,
) -> Result<Token, KnockError> {
    let url = info.knock_url();
    let (host, addrs) = vet(&url, policy).await?;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured((*tls_config()?).clone())
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT.min(policy.timeout))
        .timeout(policy.timeout)
        .no_proxy()
        .resolve_to_addrs(&host, &addrs)
        .user_agent(USER_AGENT)
        .build()
        .map_err(|e| KnockError::Tls(e.to_string()))?;
    each_token(info, &host, dropped, |token| post(&client, &url, token)).await
}

/// Tries the tokens in turn, oldest first: one the relay no longer knows
/// (404) is dropped and the next is tried; any other failure ends the knock
/// and keeps the token.
async fn each_token<'t, F, Fut>(
    info: &'t PushInfo,
    host: &str,
    dropped: &mut Vec<Token>,
    mut post_one: F,
) -> Result<Token, KnockError>
where
    F: FnMut(&'t Token) -> Fut,
    Fut: Future<Output = Result<(), Post>>,
{
    for token in &info.tokens {
        match post_one(token).await {
            Ok(()) => return Ok(token.clone()),
            Err(Post::UnknownToken) => {
                tracing::info!(relay = %host, token = ?token, "the relay no longer knows a token");
                dropped.push(token.clone());
            }
            Err(Post::Failed(e)) => return Err(e),
        }
    }
    Err(KnockError::NoTokensLeft)
}

enum Post {
    UnknownToken,
    Failed(KnockError),
}

async fn post(client: &reqwest::Client, url: &Url, token: &Token) -> Result<(), Post> {
    let body = knock_body(token);
    let response = client
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::ACCEPT, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| {
            Post::Failed(if e.is_timeout() {
                KnockError::Timeout
            } else {
                KnockError::Network(e.to_string())
            })
        })?;
    let status = response.status();
    let body = read_limited(response).await.map_err(Post::Failed)?;
    outcome(status, &body)
}

/// What the relay's answer means; the same on every route.
fn outcome(status: StatusCode, body: &[u8]) -> Result<(), Post> {
    match status {
        StatusCode::ACCEPTED => Ok(()),
        StatusCode::NOT_FOUND => Err(Post::UnknownToken),
        StatusCode::BAD_REQUEST => Err(Post::Failed(KnockError::BadRequest(describe_400(body)))),
        s if s.is_redirection() => Err(Post::Failed(KnockError::Redirect(s.as_u16()))),
        s if s.is_server_error() => Err(Post::Failed(KnockError::RelayTrouble(s.as_u16()))),
        s => Err(Post::Failed(KnockError::UnexpectedStatus(s.as_u16()))),
    }
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, KnockError> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(KnockError::ResponseTooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) if e.is_timeout() => return Err(KnockError::Timeout),
            Err(e) => return Err(KnockError::Network(e.to_string())),
        }
    }
}

/// The relay's 400 body is a JSON map of field → messages; show it plainly.
fn describe_400(body: &[u8]) -> String {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body)
    else {
        return "no details given".into();
    };
    let parts: Vec<String> = map
        .iter()
        .map(|(field, v)| {
            let text = match v {
                serde_json::Value::Array(items) => items
                    .iter()
                    .filter_map(|i| i.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
                other => other.to_string(),
            };
            // Field messages come from a stranger's server: keep them short.
            let text: String = text.chars().take(120).collect();
            format!("{field}: {text}")
        })
        .collect();
    if parts.is_empty() {
        "no details given".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_local_addresses_are_forbidden() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::7f00:1",
            "64:ff9b::a00:1",
            "2002:c0a8:101::1",
            "fe80::1",
            "fd00::1",
            "::ffff:192.168.0.1",
        ] {
            assert!(forbidden(bad.parse().expect("ip")).is_some(), "{bad}");
        }
        for good in ["93.184.216.34", "2606:2800:220:1::1"] {
            assert!(forbidden(good.parse().expect("ip")).is_none(), "{good}");
        }
    }

    #[test]
    fn field_errors_read_plainly() {
        assert_eq!(
            describe_400(br#"{"token": ["Ensure this field has no more than 200 characters."]}"#),
            "token: Ensure this field has no more than 200 characters."
        );
        assert_eq!(describe_400(b"<html>"), "no details given");
    }

    #[tokio::test]
    async fn http_and_loopback_need_the_development_switch() {
        let token = Token::parse("t").expect("token");
        let http = PushInfo::new("http://127.0.0.1:9/api/v1/", vec![token.clone()]).expect("ok");
        let report = knock(&http, KnockPolicy::default()).await;
        assert!(matches!(report.result, Err(KnockError::NotHttps(_))));
        let loopback = PushInfo::new("https://127.0.0.1:9/api/v1/", vec![token]).expect("ok");
        let report = knock(&loopback, KnockPolicy::default()).await;
        assert!(matches!(
            report.result,
            Err(KnockError::ForbiddenAddress { .. })
        ));
    }
}
