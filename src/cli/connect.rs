//! Bringing one account online for a command, and waiting on its events.

use anyhow::{Result, anyhow, bail};
use secrecy::SecretString;
use sotto::config::AccountConfig;
use sotto::engine::{AccountLogin, Command, Engine, EngineOptions, Event};
use sotto::knock::KnockPolicy;
use sotto::model::{Availability, ConnectionState};
use sotto::store::Store;
use sotto::xmpp::RetryPolicy;
use tokio::sync::mpsc;

/// A connected account for the length of one command.
pub struct Online {
    pub engine: Engine,
    pub events: mpsc::Receiver<Event>,
    pub account: AccountConfig,
    /// The full JID the server bound.
    pub jid: String,
    /// Whether the server acknowledges stanzas (XEP-0198).
    pub acks: bool,
}

/// Turns a refusal into the message a person needs, with the command that
/// fixes it when there is one.
pub fn failure(
    account: &AccountConfig,
    reason: &str,
    certificate: Option<String>,
) -> anyhow::Error {
    match certificate {
        Some(fp) => anyhow!(
            "{reason}. If this is your server and you trust this certificate, pin it: \
             sotto account trust {} {fp}",
            account.jid
        ),
        None => anyhow!("{reason}"),
    }
}

/// Connects and waits until the account is online. One-shot commands use
/// `RetryPolicy::Never` so a failure ends the command at once.
pub async fn connect(
    store: Store,
    account: AccountConfig,
    password: SecretString,
    presence: Option<(Availability, Option<String>)>,
    retry: RetryPolicy,
) -> Result<Online> {
    connect_or_create(store, account, password, presence, retry, false).await
}

/// [`connect`], creating the account on its server first when `create`.
pub async fn connect_or_create(
    store: Store,
    account: AccountConfig,
    password: SecretString,
    presence: Option<(Availability, Option<String>)>,
    retry: RetryPolicy,
    create: bool,
) -> Result<Online> {
    let options = EngineOptions {
        knock: KnockPolicy {
            allow_insecure: insecure_relays_allowed(),
            ..KnockPolicy::default()
        },
        // Tor beside the database, in Sotto's data folder.
        tor: None,
    };
    let (engine, mut events) = Engine::start_with(store, options);
    let login = Box::new(AccountLogin {
        config: account.clone(),
        password,
        presence,
        retry,
    });
    engine.send(if create {
        Command::CreateAccount(login)
    } else {
        Command::Start(login)
    })?;
    while let Some(event) = events.recv().await {
        let Event::Connection { state, .. } = event else {
            continue;
        };
        match state {
            ConnectionState::Online { jid, acks, .. } => {
                return Ok(Online {
                    engine,
                    events,
                    account,
                    jid,
                    acks,
                });
            }
            ConnectionState::Failed {
                reason,
                certificate,
            } => {
                return Err(failure(
                    &account,
                    &reason,
                    certificate.map(|c| c.to_string()),
                ));
            }
            ConnectionState::WaitingToRetry { seconds, reason } => {
                tracing::info!(%reason, seconds, "retrying");
                eprintln!("sotto: {reason}; trying again in {seconds} s");
            }
            ConnectionState::Connecting { .. } | ConnectionState::Suspended => {}
            ConnectionState::Offline => bail!("the connection closed before logging in"),
        }
    }
    bail!("the engine stopped unexpectedly")
}

impl Online {
    /// Tells the user how a long-running command's connection is doing;
    /// a failure for good ends the command.
    pub fn report(&self, state: &ConnectionState) -> Result<()> {
        match state {
            ConnectionState::Failed {
                reason,
                certificate,
            } => Err(failure(
                &self.account,
                reason,
                certificate.map(|c| c.to_string()),
            )),
            ConnectionState::WaitingToRetry { seconds, reason } => {
                eprintln!("sotto: {reason}; trying again in {seconds} s");
                Ok(())
            }
            ConnectionState::Suspended => {
                eprintln!("sotto: connection lost, reconnecting");
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Closes the stream cleanly, so the server has everything we sent.
    pub async fn close(mut self) {
        let _ = self.engine.send(Command::Stop(self.account.jid.clone()));
        while let Some(event) = self.events.recv().await {
            if matches!(
                event,
                Event::Connection {
                    state: ConnectionState::Offline | ConnectionState::Failed { .. },
                    ..
                }
            ) {
                break;
            }
        }
        let _ = self.engine.send(Command::Shutdown);
    }
}

/// The development switch for knocks (`SOTTO_KNOCK_INSECURE=1`): plain
/// http and relays on this machine or the local network.
pub fn insecure_relays_allowed() -> bool {
    std::env::var("SOTTO_KNOCK_INSECURE")
        .map(|v| matches!(v.as_str(), "1" | "true" | "yes" | "on"))
        .unwrap_or(false)
}
