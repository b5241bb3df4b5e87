//! The engine: one task per account, commands in, events out. Every
//! message passes through the store before a front end hears of it or it
//! goes on the wire. Front ends hold an [`Engine`] and the receiving end
//! of its events.

mod event;
mod knocks;
mod pipeline;

use std::collections::{HashMap, HashSet};

use tokio::sync::mpsc;

pub(crate) use event::SessionOutput;
pub use event::{AccountLogin, Command, Event};

use crate::knock::KnockPolicy;
use crate::model::{AccountId, BareJid, ConnectionState, PresenceUpdate};
use crate::store::Store;
use crate::tor::{Tor, TorSettings};
use crate::xmpp::{Route, SessionCommand, SessionParams, run_session};

/// How many events may wait for a slow front end before sessions pause.
const EVENT_BUFFER: usize = 1024;

#[derive(Debug, thiserror::Error)]
#[error("the engine has stopped")]
pub struct EngineStopped;

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
}

impl Engine {
    /// Starts the engine on the current tokio runtime, over `store`.
    pub fn start(store: Store) -> (Self, mpsc::Receiver<Event>) {
        Self::start_with(store, EngineOptions::default())
    }

    pub fn start_with(store: Store, options: EngineOptions) -> (Self, mpsc::Receiver<Event>) {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (events, event_rx) = mpsc::channel(EVENT_BUFFER);
        tokio::spawn(run(store, options, command_rx, events));
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
    /// Contacts' available resources, from their presence.
    present: HashMap<BareJid, HashSet<String>>,
}

impl Account {
    fn note_presence(&mut self, update: &PresenceUpdate) {
        let bare = update.from.to_bare();
        let resource = update
            .from
            .resource()
            .map(|r| r.to_string())
            .unwrap_or_default();
        let resources = self.present.entry(bare.clone()).or_default();
        if update.availability.is_online() {
            resources.insert(resource);
        } else if resource.is_empty() {
            resources.clear();
        } else {
            resources.remove(&resource);
        }
        if resources.is_empty() {
            self.present.remove(&bare);
        }
    }

    fn contact_online(&self, contact: &BareJid) -> bool {
        self.present.contains_key(contact)
    }
}

async fn run(
    store: Store,
    options: EngineOptions,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::Sender<Event>,
) {
    let (session_tx, mut session_rx) = mpsc::channel(EVENT_BUFFER);
    let mut accounts: HashMap<AccountId, Account> = HashMap::new();
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
    let pipeline = pipeline::Pipeline::new(store, events.clone());
    // The front end's last word on whether the user is looking (XEP-0352),
    // for accounts started later too.
    let mut client_active = None;
    loop {
        tokio::select! {
            command = commands.recv() => {
                let Some(command) = command else { break };
                if matches!(command, Command::Shutdown) {
                    break;
                }
                if let Command::SetClientActive { active } = command {
                    client_active = Some(active);
                    for a in accounts.values() {
                        let _ = a.commands.send(SessionCommand::ClientActive(active)).await;
                    }
                    continue;
                }
                let started = match &command {
                    Command::Start(login) => Some(login.config.jid.clone()),
                    _ => None,
                };
                handle_command(command, &mut accounts, &pipeline, &knocks, &tor, &session_tx).await;
                if let (Some(jid), Some(active)) = (started, client_active)
                    && let Some(a) = accounts.get(&jid)
                {
                    let _ = a.commands.send(SessionCommand::ClientActive(active)).await;
                }
            }
            Some(output) = session_rx.recv() => {
                if let SessionOutput::Event(Event::Presence { account, update }) = &output
                    && let Some(a) = accounts.get_mut(account)
                {
                    a.note_presence(update);
                }
                if let SessionOutput::Event(Event::Connection { account, state }) = &output
                    && let Some(a) = accounts.get_mut(account)
                {
                    let was_online = a.online;
                    a.online = matches!(state, ConnectionState::Online { .. });
                    if !a.online {
                        // What we knew of contacts' presence is stale now.
                        a.present.clear();
                    }
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

/// Connects an account (creating it on the server first when asked).
fn start(
    login: AccountLogin,
    register: bool,
    accounts: &mut HashMap<AccountId, Account>,
    knocks: &knocks::Knocks,
    tor: &EngineTor,
    session_tx: &mpsc::Sender<SessionOutput>,
) {
    let jid = login.config.jid.clone();
    if accounts.get(&jid).is_some_and(|a| !a.commands.is_closed()) {
        tracing::debug!(account = %jid, "already running");
        return;
    }
    // Known before anything can knock for this account.
    knocks.set_tor(&jid, login.config.tor);
    let route = if login.config.tor {
        tor.start();
        Route::Tor(tor.tor.clone())
    } else {
        Route::Direct
    };
    let (tx, rx) = mpsc::channel(256);
    let params = SessionParams {
        jid: jid.clone(),
        password: login.password,
        server: login.config.server,
        direct_tls: login.config.direct_tls,
        pinned: login.config.pinned_certificate,
        presence: login.presence,
        retry: login.retry,
        route,
        register,
    };
    tokio::spawn(run_session(params, rx, session_tx.clone()));
    accounts.insert(
        jid,
        Account {
            commands: tx,
            online: false,
            present: HashMap::new(),
        },
    );
}

async fn handle_command(
    command: Command,
    accounts: &mut HashMap<AccountId, Account>,
    pipeline: &pipeline::Pipeline,
    knocks: &knocks::Knocks,
    tor: &EngineTor,
    session_tx: &mpsc::Sender<SessionOutput>,
) {
    match command {
        Command::Start(login) => start(*login, false, accounts, knocks, tor, session_tx),
        Command::CreateAccount(login) => start(*login, true, accounts, knocks, tor, session_tx),
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
            // Nobody to receive it now: wake their phone once, if asked to.
            let offline = accounts
                .get(&account)
                .is_none_or(|a| !a.contact_online(&message.to));
            if offline && knocks.auto_knock_wanted(&account, &message.to).await {
                knocks.start(account.clone(), message.to.clone(), true);
            }
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
        Command::Knock { account, contact } => knocks.start(account, contact, false),
        Command::SetAutoKnock {
            account,
            contact,
            on,
        } => pipeline.set_auto_knock(account, contact, on).await,
        Command::SetChatState { account, to, state } => {
            route(
                accounts,
                pipeline,
                &account,
                SessionCommand::ChatState(to, state),
            )
            .await;
        }
        Command::CorrectMessage {
            account,
            to,
            replaces,
            body,
        } => {
            // Stored first, like any message of ours.
            let Some(id) = pipeline.correct_own(&account, &to, &replaces, &body).await else {
                return;
            };
            let command = SessionCommand::Correct {
                to,
                id,
                replaces,
                body,
            };
            route(accounts, pipeline, &account, command).await;
        }
        Command::MarkRead { account, peer } => {
            let marker = pipeline.mark_read(&account, &peer).await;
            // The marker goes out when connected; the store is read either way.
            if let (Some(id), Some(a)) = (marker, accounts.get(&account)) {
                let _ = a.commands.send(SessionCommand::Displayed(peer, id)).await;
            }
        }
        Command::RenameContact { account, jid, name } => {
            let groups = pipeline.contact_groups(&account, &jid).await;
            let command = SessionCommand::RenameContact(jid, name, groups);
            route(accounts, pipeline, &account, command).await;
        }
        Command::RemoveContact { account, jid } => {
            route(
                accounts,
                pipeline,
                &account,
                SessionCommand::RemoveContact(jid),
            )
            .await;
        }
        Command::BlockContact {
            account,
            jid,
            blocked,
        } => {
            route(
                accounts,
                pipeline,
                &account,
                SessionCommand::Block(jid, blocked),
            )
            .await;
        }
        // Handled in the engine loop.
        Command::SetClientActive { .. } => {}
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
