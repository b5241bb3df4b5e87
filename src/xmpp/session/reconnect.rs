//! Called by tokio-xmpp whenever it needs a new stream: logs in again with
//! backoff, and stops for good on failures that retrying cannot fix.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use tokio::sync::{mpsc, oneshot};
use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::stanzastream::Connection;

use super::RetryPolicy;
use super::login::{Failure, LoginFlags, classify, login};
use crate::xmpp::backoff::Backoff;
use crate::xmpp::connect::Connector;

/// What the reconnector tells the session about its attempts.
pub enum LinkStatus {
    Attempt(u32),
    Waiting {
        delay: Duration,
        reason: String,
    },
    /// Logged in; the certificate chained to a system authority.
    LoggedIn {
        ca_verified: bool,
    },
    Fatal(Failure),
}

pub type Reconnector = Box<dyn FnMut(Option<String>, oneshot::Sender<Connection>) + Send + 'static>;

pub struct ReconnectParams {
    pub connector: Connector,
    pub jid: BareJid,
    pub password: SecretString,
    pub retry: RetryPolicy,
    pub status: mpsc::UnboundedSender<LinkStatus>,
    pub backoff: Arc<Mutex<Backoff>>,
    pub flags: Arc<LoginFlags>,
}

pub fn reconnector(params: ReconnectParams) -> Reconnector {
    let params = Arc::new(params);
    Box::new(move |_location, slot| {
        let params = params.clone();
        tokio::spawn(async move { reconnect(&params, slot).await });
    })
}

async fn reconnect(p: &ReconnectParams, mut slot: oneshot::Sender<Connection>) {
    let jid = Jid::from(p.jid.clone());
    let first_wait = p
        .backoff
        .lock()
        .map(|mut b| b.dropped(Instant::now(), rand::random()))
        .unwrap_or_default();
    if !first_wait.is_zero() {
        let _ = p.status.send(LinkStatus::Waiting {
            delay: first_wait,
            reason: "the connection dropped".into(),
        });
        tokio::select! {
            _ = tokio::time::sleep(first_wait) => {}
            _ = slot.closed() => return,
        }
    }
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let _ = p.status.send(LinkStatus::Attempt(attempt));
        let result = tokio::select! {
            r = login(&p.connector, &jid, &p.password, &p.flags) => r,
            _ = slot.closed() => return,
        };
        let failure = match result {
            Ok(logged_in) => {
                if let Ok(mut b) = p.backoff.lock() {
                    b.handed_over();
                }
                // Logged in: nonzas may go out on this stream.
                p.connector.nonzas().arm();
                let _ = p.status.send(LinkStatus::LoggedIn {
                    ca_verified: logged_in.ca_verified,
                });
                let connection = Connection {
                    stream: logged_in.stream.box_stream(),
                    features: logged_in.features,
                    identity: jid.clone(),
                };
                if slot.send(connection).is_err() {
                    tracing::debug!("session ended while logging in");
                }
                return;
            }
            Err(e) => classify(e),
        };
        if failure.fatal || p.retry == RetryPolicy::Never {
            tracing::warn!(account = %jid, reason = %failure.reason, "not retrying");
            let _ = p.status.send(LinkStatus::Fatal(failure));
            // Keep the slot: dropping it would make tokio-xmpp treat the
            // stream as crashed. The session drops the stream, which
            // closes the slot.
            slot.closed().await;
            return;
        }
        let delay = p
            .backoff
            .lock()
            .map(|mut b| b.failed(rand::random()))
            .unwrap_or(Duration::from_secs(30));
        tracing::info!(account = %jid, reason = %failure.reason, ?delay, "connection failed; retrying");
        let _ = p.status.send(LinkStatus::Waiting {
            delay,
            reason: failure.reason,
        });
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = slot.closed() => return,
        }
    }
}
