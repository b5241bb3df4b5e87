//! The engine: one task per account, commands in, events out. Every
//! message passes through the store before a front end hears of it or it
//! goes on the wire. Front ends hold an [`Engine`] and the receiving end
//! of its events.

mod event;
mod pipeline;

use std::collections::HashMap;

use tokio::sync::mpsc;

pub(crate) use event::SessionOutput;
pub use event::{AccountLogin, Command, Event};

use crate::model::{AccountId, ConnectionState};
use crate::store::Store;
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
    /// Starts the engine on the current tokio runtime, over `store`.
    pub fn start(store: Store) -> (Self, mpsc::Receiver<Event>) {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (events, event_rx) = mpsc::channel(EVENT_BUFFER);
        tokio::spawn(run(store, command_rx, events));
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
    /// Bound and able to send now; otherwise messages wait in the outbox.
    online: bool,
}

async fn run(
    store: Store,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::Sender<Event>,
) {
    let (session_tx, mut session_rx) = mpsc::channel(EVENT_BUFFER);
    let mut accounts: HashMap<AccountId, Account> = HashMap::new();
    let pipeline = pipeline::Pipeline::new(store, events.clone());
    loop {
        tokio::select! {
            command = commands.recv() => {
                let Some(command) = command else { break };
                if matches!(command, Command::Shutdown) {
                    break;
                }
                handle_command(command, &mut accounts, &pipeline, &session_tx).await;
            }
            Some(output) = session_rx.recv() => {
                if let SessionOutput::Event(Event::Connection { account, state }) = &output
                    && let Some(a) = accounts.get_mut(account)
                {
                    let was_online = a.online;
                    a.online = matches!(state, ConnectionState::Online { .. });
                    // A fresh stream (not a resumed one) lost whatever was in
                    // flight: send the outbox again, in order. Receivers
                    // deduplicate by origin-id.
                    if a.online && !was_online
                        && matches!(state, ConnectionState::Online { resumed: false, .. })
                    {
                        for message in pipeline.outbox(account).await {
                            let _ = a.commands.send(SessionCommand::Send(message)).await;
                        }
                        let after = pipeline.start_catch_up(account).await;
                        let _ = a.commands.send(SessionCommand::CatchUp(after)).await;
                    }
                }
                pipeline.handle(output).await;
            }
        }
    }
    for (_, account) in accounts.drain() {
        let _ = account.commands.send(SessionCommand::Close).await;
    }
}

async fn handle_command(
    command: Command,
    accounts: &mut HashMap<AccountId, Account>,
    pipeline: &pipeline::Pipeline,
    session_tx: &mpsc::Sender<SessionOutput>,
) {
    match command {
        Command::Start(login) => {
            let jid = login.config.jid.clone();
            if accounts.get(&jid).is_some_and(|a| !a.commands.is_closed()) {
                tracing::debug!(account = %jid, "already running");
                return;
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
            tokio::spawn(run_session(params, rx, session_tx.clone()));
            accounts.insert(
                jid,
                Account {
                    commands: tx,
                    online: false,
                },
            );
        }
        Command::Stop(jid) => {
            if let Some(account) = accounts.remove(&jid) {
                let _ = account.commands.send(SessionCommand::Close).await;
            }
        }
        Command::SendMessage { account, message } => {
            // Stored as queued first: from here on it cannot be lost.
            let Some(message) = pipeline.queue(&account, message).await else {
                return;
            };
            match accounts.get(&account) {
                Some(a) if a.online => {
                    let _ = a.commands.send(SessionCommand::Send(message)).await;
                }
                Some(_) => tracing::debug!(%account, "offline; the message waits in the outbox"),
                None => pipeline.not_connected(&account).await,
            }
        }
        Command::SetPresence {
            account,
            availability,
            status,
        } => {
            let command = SessionCommand::SetPresence(availability, status);
            route(accounts, pipeline, &account, command).await;
        }
        Command::FetchRoster { account } => {
            route(accounts, pipeline, &account, SessionCommand::FetchRoster).await;
        }
        Command::AddContact { account, jid, name } => {
            let command = SessionCommand::AddContact(jid, name);
            route(accounts, pipeline, &account, command).await;
        }
        Command::AnswerSubscription {
            account,
            jid,
            approve,
        } => {
            let command = SessionCommand::AnswerSubscription(jid, approve);
            route(accounts, pipeline, &account, command).await;
        }
        Command::PublishPushInfo { account, json } => {
            route(
                accounts,
                pipeline,
                &account,
                SessionCommand::PublishPushInfo(json),
            )
            .await;
        }
        Command::RetractPushInfo { account } => {
            route(
                accounts,
                pipeline,
                &account,
                SessionCommand::RetractPushInfo,
            )
            .await;
        }
        Command::FetchPushInfo { account, contact } => {
            route(
                accounts,
                pipeline,
                &account,
                SessionCommand::FetchPushInfo(contact),
            )
            .await;
        }
        Command::Shutdown => {}
    }
}

async fn route(
    accounts: &HashMap<AccountId, Account>,
    pipeline: &pipeline::Pipeline,
    account: &AccountId,
    command: SessionCommand,
) {
    let delivered = match accounts.get(account) {
        Some(a) => a.commands.send(command).await.is_ok(),
        None => false,
    };
    if !delivered {
        pipeline.not_connected(account).await;
    }
}
