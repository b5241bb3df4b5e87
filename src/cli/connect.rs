//! The engine for one command, bringing an account online when the
//! command needs the network, and waiting on its events.

use anyhow::{Result, anyhow, bail};
use secrecy::SecretString;
use sotto::config::AccountConfig;
use sotto::engine::{AccountLogin, Command, Engine, EngineOptions, Event};
use sotto::knock::KnockPolicy;
use sotto::model::{Availability, ConnectionState};
use sotto::store::Database;
use sotto::xmpp::RetryPolicy;
use tokio::sync::mpsc;

use super::human;

/// The engine, for the length of one command.
pub struct Running {
    pub engine: Engine,
    pub events: mpsc::Receiver<Event>,
}

/// Starts the engine as the one Sotto on this database; must run inside
/// the command's runtime. `insecure_relay` is the development switch for
/// knocks (plain http, relays on this machine).
pub fn start(database: Database, insecure_relay: bool) -> Result<Running> {
    let options = EngineOptions {
        knock: KnockPolicy {
            allow_insecure: insecure_relay || insecure_relays_allowed(),
            ..KnockPolicy::default()
        },
        // Tor beside the database, in Sotto's data folder.
        tor: None,
    };
    let (engine, events) = Engine::open(database, options)?;
    Ok(Running { engine, events })
}

impl Running {
    /// Waits for the first event `answer` accepts (`Some`); `None` when
    /// the engine stops first.
    pub async fn wait_for<T>(&mut self, mut answer: impl FnMut(&Event) -> Option<T>) -> Option<T> {
        while let Some(event) = self.events.recv().await {
            if let Some(found) = answer(&event) {
                return Some(found);
            }
        }
        None
    }

    pub fn send(&self, command: Command) -> Result<()> {
        Ok(self.engine.send(command)?)
    }

    pub fn shutdown(self) {
        let _ = self.engine.send(Command::Shutdown);
    }
}

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
pub fn failure(account: &AccountConfig, state: &ConnectionState) -> anyhow::Error {
    match state {
        ConnectionState::Failed {
            reason,
            certificate: Some(fp),
            pinnable: true,
        } => anyhow!(
            "{}. If this is your server and you trust this certificate, pin it: \
             sotto account trust {} {fp}",
            human(reason),
            account.jid
        ),
        ConnectionState::Failed { reason, .. } => anyhow!("{}", human(reason)),
        other => anyhow!("{other:?}"),
    }
}

/// How an account is brought online for a command.
pub struct Login {
    pub account: AccountConfig,
    /// `None`: the stored password.
    pub password: Option<SecretString>,
    pub presence: Option<(Availability, Option<String>)>,
    /// One-shot commands use `Never`, so a failure ends the command.
    pub retry: RetryPolicy,
    /// Create the account on its server first.
    pub create: bool,
}

impl Login {
    /// The stored password, invisible to contacts, no retries.
    pub fn once(account: AccountConfig) -> Self {
        Self {
            account,
            password: None,
            presence: None,
            retry: RetryPolicy::Never,
            create: false,
        }
    }

    /// The stored password, available to contacts, reconnecting for as
    /// long as the command runs.
    pub fn present(account: AccountConfig) -> Self {
        Self {
            presence: Some((Availability::Available, None)),
            retry: RetryPolicy::Forever,
            ..Self::once(account)
        }
    }
}

/// Connects and waits until the account is online.
pub async fn connect(running: Running, login: Login) -> Result<Online> {
    let Running { engine, mut events } = running;
    let account = login.account.clone();
    let start = Box::new(AccountLogin {
        config: login.account,
        password: login.password,
        presence: login.presence,
        retry: login.retry,
    });
    engine.send(if login.create {
        Command::CreateAccount(start)
    } else {
        Command::Start(start)
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
            ConnectionState::Failed { .. } => return Err(failure(&account, &state)),
            ConnectionState::WaitingToRetry { seconds, reason } => {
                tracing::info!(%reason, seconds, "retrying");
                eprintln!("sotto: {}; trying again in {seconds} s", human(&reason));
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
            ConnectionState::Failed { .. } => Err(failure(&self.account, state)),
            ConnectionState::WaitingToRetry { seconds, reason } => {
                eprintln!("sotto: {}; trying again in {seconds} s", human(reason));
                Ok(())
            }
            ConnectionState::Suspended => {
                eprintln!("sotto: connection lost, reconnecting");
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Waits for the first event `answer` accepts; an error when the
    /// connection fails for good or the engine stops first.
    pub async fn wait_for<T>(
        &mut self,
        mut answer: impl FnMut(&Event) -> Option<Result<T>>,
    ) -> Result<T> {
        while let Some(event) = self.events.recv().await {
            if let Some(found) = answer(&event) {
                return found;
            }
            if let Event::Connection { state, .. } = &event {
                self.report(state)?;
            }
        }
        bail!("the connection closed")
    }

    /// Closes the stream cleanly, so the server has everything we sent;
    /// the engine goes on.
    pub async fn stop(mut self) -> Running {
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
        Running {
            engine: self.engine,
            events: self.events,
        }
    }

    /// [`Online::stop`], then the engine too.
    pub async fn close(self) {
        self.stop().await.shutdown();
    }
}

/// The development switch for knocks (`SOTTO_KNOCK_INSECURE=1`): plain
/// http and relays on this machine or the local network.
pub fn insecure_relays_allowed() -> bool {
    std::env::var("SOTTO_KNOCK_INSECURE")
        .map(|v| matches!(v.as_str(), "1" | "true" | "yes" | "on"))
        .unwrap_or(false)
}
