//! The engine: one task per account, commands in, events out. Every
//! message passes through the store before a front end hears of it or it
//! goes on the wire. Front ends hold an [`Engine`], the receiving end of
//! its events, and a read-only [`Reader`] for what they display: they
//! never write to the store or the keychain themselves.

mod account;
mod event;
mod knocks;
mod omemo;
mod pipeline;
mod rooms;

use std::collections::HashMap;

use tokio::sync::mpsc;

pub use event::{AccountLogin, Command, Event};
pub use pipeline::MAX_BODY_BYTES;

/// The engine's OMEMO steps over a store, for the benchmarks to time; not
/// an interface for front ends (they speak [`Command`] and [`Event`]).
#[doc(hidden)]
pub mod omemo_steps {
    pub use super::omemo::crypto::{OmemoError, Target, seal, set_up, start_session};
}

use self::account::{AccountInput, AccountTask};
use self::pipeline::Pipeline;
use crate::instance::{InstanceError, InstanceLock};
use crate::knock::KnockPolicy;
use crate::model::{AccountId, PushSource};
use crate::secrets::Secrets;
use crate::store::{Database, Reader, Store, StoreError};
use crate::tor::{Tor, TorSettings};
use crate::xmpp::Route;

/// How many events may wait for a slow front end before accounts pause.
const EVENT_BUFFER: usize = 1024;

#[derive(Debug, thiserror::Error)]
#[error("the engine has stopped")]
pub struct EngineStopped;

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    AlreadyRunning(#[from] InstanceError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How the engine behaves beyond its defaults.
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// What knocks may reach (the development switch lives here).
    pub knock: KnockPolicy,
    /// Where Tor keeps its files and how patient it is. `None`: a `tor/`
    /// folder beside the database (Sotto's data folder).
    pub tor: Option<TorSettings>,
}

/// A cheap handle to the running engine.
#[derive(Debug, Clone)]
pub struct Engine {
    commands: mpsc::UnboundedSender<Command>,
    reader: Reader,
    /// This process is the one running Sotto on the database, while any
    /// handle lives.
    _instance: Option<std::sync::Arc<InstanceLock>>,
}

impl Engine {
    /// Starts the engine over the unlocked database, as the one Sotto
    /// running on it: another process already running it is an error that
    /// says so.
    pub fn open(
        database: Database,
        options: EngineOptions,
    ) -> Result<(Self, mpsc::Receiver<Event>), EngineError> {
        let lock = InstanceLock::acquire(database.path())?;
        let (mut engine, events) = Self::start_with(database.into_store(), options)?;
        engine._instance = Some(std::sync::Arc::new(lock));
        Ok((engine, events))
    }

    /// Starts the engine on the current tokio runtime; it owns `store`
    /// from here on (front ends read through [`Engine::reader`]).
    pub fn start(store: Store) -> Result<(Self, mpsc::Receiver<Event>), StoreError> {
        Self::start_with(store, EngineOptions::default())
    }

    pub fn start_with(
        store: Store,
        options: EngineOptions,
    ) -> Result<(Self, mpsc::Receiver<Event>), StoreError> {
        let reader = store.reader()?;
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (events, event_rx) = mpsc::channel(EVENT_BUFFER);
        tokio::spawn(run(store, options, command_rx, events));
        Ok((
            Self {
                commands,
                reader,
                _instance: None,
            },
            event_rx,
        ))
    }

    pub fn send(&self, command: Command) -> Result<(), EngineStopped> {
        self.commands.send(command).map_err(|_| EngineStopped)
    }

    /// The store, read-only: what front ends show.
    pub fn reader(&self) -> &Reader {
        &self.reader
    }

    /// A fresh id for an outgoing message (also its XEP-0359 origin-id).
    pub fn new_message_id() -> String {
        crate::xmpp::new_id()
    }
}

/// The engine's main loop: routes commands to account tasks and never
/// waits on one, nor on the store or the keychain (those run in tasks of
/// their own).
struct Core {
    pipeline: Pipeline,
    knocks: knocks::Knocks,
    tor: EngineTor,
    /// Every account the front end has named, connected or not: its task
    /// keeps what is sent to it in order either way.
    accounts: HashMap<AccountId, mpsc::UnboundedSender<AccountInput>>,
    /// The front end's last word on whether the user is looking
    /// (XEP-0352), for accounts started later too.
    client_active: Option<bool>,
}

async fn run(
    store: Store,
    options: EngineOptions,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::Sender<Event>,
) {
    let tor_settings = options
        .tor
        .clone()
        .or_else(|| store.path().parent().map(TorSettings::in_data_dir));
    // Nothing starts until a Tor account needs it.
    let tor = EngineTor::new(Tor::new(tor_settings), events.clone());
    let knocks = knocks::Knocks::new(
        store.clone(),
        events.clone(),
        options.knock,
        tor.tor.clone(),
    );
    let mut core = Core {
        pipeline: Pipeline::new(store, events),
        knocks,
        tor,
        accounts: HashMap::new(),
        client_active: None,
    };
    while let Some(command) = commands.recv().await {
        if matches!(command, Command::Shutdown) {
            break;
        }
        core.command(command);
    }
    for (jid, account) in core.accounts.drain() {
        let _ = account.send(AccountInput::Command(Command::Stop(jid)));
    }
}

impl Core {
    fn command(&mut self, command: Command) {
        match command {
            Command::Configure(config) => self.knocks.set_tor(&config.jid, config.tor),
            Command::Start(login) => self.start(*login, false),
            Command::CreateAccount(login) => self.start(*login, true),
            Command::StorePassword { account, password } => {
                let pipeline = self.pipeline.clone();
                tokio::spawn(async move {
                    let (acc, store) = (account.clone(), pipeline.store().clone());
                    let stored = tokio::task::spawn_blocking(move || {
                        Secrets::new(store).store_password(&acc, &password)
                    })
                    .await;
                    let event = match stored {
                        Ok(Ok(stored)) => Event::PasswordStored {
                            account,
                            store: Some(stored.store),
                            keychain_unavailable: stored.keychain_unavailable,
                            error: None,
                        },
                        Ok(Err(e)) => Event::PasswordStored {
                            account,
                            store: None,
                            keychain_unavailable: None,
                            error: Some(e.to_string()),
                        },
                        Err(_) => Event::PasswordStored {
                            account,
                            store: None,
                            keychain_unavailable: None,
                            error: Some("the keychain task stopped".into()),
                        },
                    };
                    pipeline.emit(event).await;
                });
            }
            Command::ForgetAccount {
                account,
                password_store,
            } => {
                // Its task ends with the session it closes.
                if let Some(task) = self.accounts.remove(&account) {
                    let _ = task.send(AccountInput::Command(Command::Stop(account.clone())));
                }
                let pipeline = self.pipeline.clone();
                tokio::spawn(async move {
                    let (acc, store) = (account.clone(), pipeline.store().clone());
                    let outcome = tokio::task::spawn_blocking(move || {
                        let mut problems = Vec::new();
                        if let Err(e) =
                            Secrets::new(store.clone()).delete_password(&acc, password_store)
                        {
                            problems.push(format!("the password could not be removed: {e}"));
                        }
                        if let Err(e) = store.remove_account(acc.as_str()) {
                            problems.push(format!("its data could not be removed: {e}"));
                        }
                        problems
                    })
                    .await
                    .unwrap_or_else(|_| vec!["the task removing it stopped".into()]);
                    let error = (!outcome.is_empty()).then(|| outcome.join("; "));
                    pipeline
                        .emit(Event::AccountForgotten { account, error })
                        .await;
                });
            }
            Command::AddPushInfo {
                account,
                contact,
                json,
            } => {
                let pipeline = self.pipeline.clone();
                tokio::spawn(async move {
                    pipeline
                        .push_info(account, contact, Some(json), PushSource::Manual)
                        .await;
                });
            }
            Command::RemovePushInfo { account, contact } => {
                let pipeline = self.pipeline.clone();
                tokio::spawn(async move { pipeline.remove_push_info(account, contact).await });
            }
            Command::Knock { account, contact } => self.knocks.start(account, contact, false),
            Command::SetAutoKnock {
                account,
                contact,
                on,
            } => {
                let pipeline = self.pipeline.clone();
                tokio::spawn(async move { pipeline.set_auto_knock(account, contact, on).await });
            }
            Command::SetChatEncryption {
                account,
                peer,
                setting,
            } => {
                let pipeline = self.pipeline.clone();
                tokio::spawn(
                    async move { pipeline.set_chat_encryption(account, peer, setting).await },
                );
            }
            Command::SetDeviceTrust {
                account,
                jid,
                device,
                trust,
            } => {
                let pipeline = self.pipeline.clone();
                tokio::spawn(async move {
                    pipeline.set_device_trust(account, jid, device, trust).await
                });
            }
            Command::SetClientActive { active } => {
                self.client_active = Some(active);
                for task in self.accounts.values() {
                    let _ = task.send(AccountInput::Command(Command::SetClientActive { active }));
                }
            }
            Command::Shutdown => {}
            other => self.route(other),
        }
    }

    /// The account's task, started (not connected) when it has none.
    fn task(&mut self, account: &AccountId) -> &mpsc::UnboundedSender<AccountInput> {
        let (pipeline, knocks, active) = (&self.pipeline, &self.knocks, self.client_active);
        self.accounts.entry(account.clone()).or_insert_with(|| {
            let task = AccountTask::spawn(account.clone(), pipeline.clone(), knocks.clone());
            if let Some(active) = active {
                let _ = task.send(AccountInput::Command(Command::SetClientActive { active }));
            }
            task
        })
    }

    /// Hands an account's command to its task.
    fn route(&mut self, command: Command) {
        let Some(account) = command_account(&command).cloned() else {
            return;
        };
        let _ = self.task(&account).send(AccountInput::Command(command));
    }

    /// Connects an account (creating it on the server first when asked).
    fn start(&mut self, login: AccountLogin, register: bool) {
        let jid = login.config.jid.clone();
        // Known before anything can knock for this account.
        self.knocks.set_tor(&jid, login.config.tor);
        let route = if login.config.tor {
            self.tor.start();
            Route::Tor(self.tor.tor.clone())
        } else {
            Route::Direct
        };
        let _ = self.task(&jid).send(AccountInput::Connect {
            login: Box::new(login),
            register,
            route,
        });
    }
}

/// The account a command is for, where it is for one.
fn command_account(command: &Command) -> Option<&AccountId> {
    match command {
        Command::SendMessage { account, .. }
        | Command::SetPresence { account, .. }
        | Command::FetchRoster { account }
        | Command::AddContact { account, .. }
        | Command::AnswerSubscription { account, .. }
        | Command::PublishPushInfo { account, .. }
        | Command::SendPushInfo { account, .. }
        | Command::RetractPushInfo { account }
        | Command::FetchPushInfo { account, .. }
        | Command::SetChatState { account, .. }
        | Command::CorrectMessage { account, .. }
        | Command::MarkRead { account, .. }
        | Command::RenameContact { account, .. }
        | Command::RemoveContact { account, .. }
        | Command::BlockContact { account, .. }
        | Command::RemoveOwnDevice { account, .. }
        | Command::JoinRoom { account, .. }
        | Command::LeaveRoom { account, .. }
        | Command::SetRoomNotify { account, .. }
        | Command::InviteToRoom { account, .. }
        | Command::CreateRoom { account, .. }
        | Command::Moderate { account, .. }
        | Command::SetRoomSubject { account, .. }
        | Command::DeclineInvitation { account, .. }
        | Command::Stop(account) => Some(account),
        _ => None,
    }
}

/// The engine's one Tor, and the task that reports its bootstrap.
struct EngineTor {
    tor: Tor,
    events: mpsc::Sender<Event>,
    reporting: std::sync::atomic::AtomicBool,
}

impl EngineTor {
    fn new(tor: Tor, events: mpsc::Sender<Event>) -> Self {
        Self {
            tor,
            events,
            reporting: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Starts bootstrapping (once) and forwards its progress as
    /// [`Event::TorBootstrap`].
    fn start(&self) {
        if self
            .reporting
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return;
        }
        let (tor, events) = (self.tor.clone(), self.events.clone());
        tokio::spawn(async move {
            let mut progress = tor.progress();
            if let Err(e) = tor.start().await {
                tracing::warn!(error = %e, "Tor could not start");
                let failed = crate::tor::BootstrapProgress {
                    failed: Some(e.to_string()),
                    ..Default::default()
                };
                let _ = events.send(Event::TorBootstrap { progress: failed }).await;
                return;
            }
            loop {
                let now = progress.borrow_and_update().clone();
                if events
                    .send(Event::TorBootstrap { progress: now })
                    .await
                    .is_err()
                {
                    return;
                }
                if progress.changed().await.is_err() {
                    return;
                }
            }
        });
    }
}
