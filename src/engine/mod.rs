//! The engine: one task per account, commands in, events out. Front ends
//! hold an [`Engine`] and the receiving end of its events.

mod event;

use std::collections::HashMap;

use tokio::sync::mpsc;

pub use event::{AccountLogin, Command, Event};

use crate::model::{AccountId, ConnectionState};
use crate::xmpp::{SessionCommand, SessionParams, run_session};

/// How many events may wait for a slow front end before sessions pause.
const EVENT_BUFFER: usize = 1024;

#[derive(Debug, thiserror::Error)]
#[error("the engine has stopped")]
pub struct EngineStopped;

/// A cheap handle to the running engine.
#[derive(Debug, Clone)]
pub struct Engine {
    commands: mpsc::UnboundedSender<Command>,
}

impl Engine {
    /// Starts the engine on the current tokio runtime.
    pub fn start() -> (Self, mpsc::Receiver<Event>) {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (events, event_rx) = mpsc::channel(EVENT_BUFFER);
        tokio::spawn(run(command_rx, events));
        (Self { commands }, event_rx)
    }

    pub fn send(&self, command: Command) -> Result<(), EngineStopped> {
        self.commands.send(command).map_err(|_| EngineStopped)
    }

    /// A fresh id for an outgoing message (also its XEP-0359 origin-id).
    pub fn new_message_id() -> String {
        crate::xmpp::new_id()
    }
}

struct Account {
    commands: mpsc::Sender<SessionCommand>,
}

async fn run(mut commands: mpsc::UnboundedReceiver<Command>, events: mpsc::Sender<Event>) {
    let mut accounts: HashMap<AccountId, Account> = HashMap::new();
    while let Some(command) = commands.recv().await {
        match command {
            Command::Start(login) => {
                let jid = login.config.jid.clone();
                if accounts.get(&jid).is_some_and(|a| !a.commands.is_closed()) {
                    tracing::debug!(account = %jid, "already running");
                    continue;
                }
                let (tx, rx) = mpsc::channel(256);
                let params = SessionParams {
                    jid: jid.clone(),
                    password: login.password,
                    server: login.config.server,
                    direct_tls: login.config.direct_tls,
                    pinned: login.config.pinned_certificate,
                    presence: login.presence,
                    retry: login.retry,
                };
                tokio::spawn(run_session(params, rx, events.clone()));
                accounts.insert(jid, Account { commands: tx });
            }
            Command::Stop(jid) => {
                if let Some(account) = accounts.remove(&jid) {
                    let _ = account.commands.send(SessionCommand::Close).await;
                }
            }
            Command::SendMessage { account, message } => {
                route(&accounts, &events, &account, SessionCommand::Send(message)).await;
            }
            Command::SetPresence {
                account,
                availability,
                status,
            } => {
                let command = SessionCommand::SetPresence(availability, status);
                route(&accounts, &events, &account, command).await;
            }
            Command::FetchRoster { account } => {
                route(&accounts, &events, &account, SessionCommand::FetchRoster).await;
            }
            Command::AddContact { account, jid, name } => {
                let command = SessionCommand::AddContact(jid, name);
                route(&accounts, &events, &account, command).await;
            }
            Command::AnswerSubscription {
                account,
                jid,
                approve,
            } => {
                let command = SessionCommand::AnswerSubscription(jid, approve);
                route(&accounts, &events, &account, command).await;
            }
            Command::Shutdown => break,
        }
    }
    for (_, account) in accounts.drain() {
        let _ = account.commands.send(SessionCommand::Close).await;
    }
}

async fn route(
    accounts: &HashMap<AccountId, Account>,
    events: &mpsc::Sender<Event>,
    account: &AccountId,
    command: SessionCommand,
) {
    let delivered = match accounts.get(account) {
        Some(a) => a.commands.send(command).await.is_ok(),
        None => false,
    };
    if !delivered {
        let _ = events
            .send(Event::Connection {
                account: account.clone(),
                state: ConnectionState::Failed {
                    reason: "this account is not connected".into(),
                    certificate: None,
                },
            })
            .await;
    }
}
