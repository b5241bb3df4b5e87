//! The GUI's handle on the core: the engine (commands in, events out) and
//! the store's read API, both on a tokio runtime of their own.
//!
//! The runtime is built after the process has confined itself, so every
//! thread that touches the network or the database inherits the sandbox.

use std::future::Future;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use futures::stream::BoxStream;
use secrecy::SecretString;
use sotto::config::{AccountConfig, Config};
use sotto::engine::{AccountLogin, Command, Engine, EngineOptions, Event};
use sotto::model::Availability;
use sotto::paths::Paths;
use sotto::store::{Database, KeyOrigin, PassphraseError, PassphrasePrompt, Reader, StoreError};
use sotto::xmpp::RetryPolicy;
use tokio::sync::mpsc;

/// At most this many engine events reach `update` at once; a catch-up of
/// thousands of messages becomes a few redraws.
const EVENT_BATCH: usize = 256;
/// How long events are gathered after the first of a batch when the
/// window has been quiet: a message and what it sets off (a receipt, the
/// list's new preview) are drawn together, too soon to be noticed.
const GATHER: std::time::Duration = std::time::Duration::from_millis(16);
/// While events keep coming, a batch goes out at most this often: a chat
/// receiving twenty messages a second redraws five times, not twenty,
/// and nothing waits longer than this to be shown.
const BUSY_GAP: std::time::Duration = std::time::Duration::from_millis(200);

/// The passphrase typed into the unlock screen (or `SOTTO_PASSPHRASE`).
struct GivenPassphrase(Option<SecretString>);

impl PassphrasePrompt for GivenPassphrase {
    fn passphrase(&self, _creating: bool) -> Result<SecretString, PassphraseError> {
        if let Some(p) = &self.0 {
            return Ok(p.clone());
        }
        std::env::var(sotto::store::PASSPHRASE_ENV)
            .map(SecretString::from)
            .map_err(|_| PassphraseError::NotGiven)
    }
}

/// Why the store did not open, as the unlock screen shows it.
#[derive(Debug, Clone)]
pub enum UnlockFailure {
    /// No keychain: the user must type the database passphrase.
    NeedsPassphrase { creating: bool },
    /// Anything else, in words.
    Other(String),
}

/// Opens the encrypted store: through the keychain, or with `passphrase`.
/// Blocks (keychain, Argon2): call it off the GUI thread.
pub fn unlock(
    paths: &Paths,
    passphrase: Option<SecretString>,
) -> Result<(Database, KeyOrigin), UnlockFailure> {
    let given = passphrase.is_some();
    match sotto::store::unlock(paths, &GivenPassphrase(passphrase)) {
        Ok(opened) => Ok(opened),
        Err(StoreError::Passphrase(PassphraseError::NotGiven)) => {
            Err(UnlockFailure::NeedsPassphrase {
                creating: !sotto::store::database_file(paths).exists(),
            })
        }
        Err(StoreError::Locked) if given => Err(UnlockFailure::Other(
            "That passphrase does not open Sotto's database. Try again.".into(),
        )),
        Err(e) => Err(UnlockFailure::Other(e.to_string())),
    }
}

/// The running core.
#[derive(Clone)]
pub struct Backend {
    pub engine: Engine,
    /// What the window shows; the engine alone writes.
    pub reader: Reader,
    runtime: tokio::runtime::Handle,
    /// Taken once by the event subscription.
    events: Arc<Mutex<Option<mpsc::Receiver<Event>>>>,
    writer: Writer,
    /// What every account announces when it signs in: available or away,
    /// and the status message.
    presence: Arc<Mutex<(Availability, Option<String>)>>,
    /// Keeps the runtime alive as long as any handle exists.
    _owner: Arc<RuntimeOwner>,
}

struct RuntimeOwner(Option<tokio::runtime::Runtime>);

type Job = Box<dyn FnOnce() + Send>;

/// One thread that writes files in turn.
#[derive(Clone)]
struct Writer(std::sync::mpsc::Sender<Job>);

impl Writer {
    fn start() -> Result<Self, String> {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sotto-writer".into())
            .spawn(move || {
                for job in rx {
                    job();
                }
            })
            .map_err(|e| format!("Sotto could not start: {e}"))?;
        Ok(Self(tx))
    }
}

impl Drop for RuntimeOwner {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend").finish_non_exhaustive()
    }
}

impl Backend {
    /// Starts the engine over the database on a new runtime, as the one
    /// Sotto running on it.
    pub fn start(database: Database, options: EngineOptions) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sotto-core")
            .enable_all()
            .build()
            .map_err(|e| format!("Sotto could not start its core: {e}"))?;
        let (engine, events) = {
            let _guard = runtime.enter();
            Engine::open(database, options).map_err(|e| e.to_string())?
        };
        Ok(Self {
            reader: engine.reader().clone(),
            engine,
            runtime: runtime.handle().clone(),
            events: Arc::new(Mutex::new(Some(events))),
            writer: Writer::start()?,
            presence: Arc::new(Mutex::new((Availability::Available, None))),
            _owner: Arc::new(RuntimeOwner(Some(runtime))),
        })
    }

    /// The engine's events, in batches. Can be taken once.
    pub fn event_stream(&self) -> Option<BoxStream<'static, Vec<Event>>> {
        let rx = self.events.lock().ok().and_then(|mut e| e.take())?;
        Some(
            futures::stream::unfold((rx, None), |(mut rx, last)| async move {
                let mut batch = vec![rx.recv().await?];
                // What comes within a moment of the first is drawn with it;
                // while the previous batch is recent, what comes until the
                // gap is over, so a busy chat costs a redraw per gap, not
                // per message, and a lone message is shown at once.
                let now = tokio::time::Instant::now();
                let deadline = last
                    .map_or(now, |last: tokio::time::Instant| last + BUSY_GAP)
                    .max(now + GATHER);
                while batch.len() < EVENT_BATCH {
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(event)) => batch.push(event),
                        Ok(None) | Err(_) => break,
                    }
                }
                Some((batch, (rx, Some(tokio::time::Instant::now()))))
            })
            .boxed(),
        )
    }

    /// Sends a command; a stopped engine is logged (it only stops on
    /// shutdown).
    pub fn send(&self, command: Command) {
        if self.engine.send(command).is_err() {
            tracing::warn!("the engine has stopped; command dropped");
        }
    }

    /// Runs a store read on the blocking pool.
    pub fn read<T, F>(&self, f: F) -> impl Future<Output = Result<T, String>> + use<T, F>
    where
        T: Send + 'static,
        F: FnOnce(&Reader) -> Result<T, StoreError> + Send + 'static,
    {
        let reader = self.reader.clone();
        let handle = self.runtime.spawn_blocking(move || f(&reader));
        async move {
            match handle.await {
                Ok(result) => result.map_err(|e| e.to_string()),
                Err(e) => Err(format!("the database task failed: {e}")),
            }
        }
    }

    /// The runtime, for the window's own long-running tasks.
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }

    /// Writes a file of the window's own (settings, preferences) off the
    /// GUI thread, in the order asked, so a later save never loses to an
    /// earlier one.
    pub fn persist<F>(&self, write: F) -> impl Future<Output = Result<(), String>> + use<F>
    where
        F: FnOnce() -> Result<(), String> + Send + 'static,
    {
        let (tx, rx) = futures::channel::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(write());
        });
        let sent = self.writer.0.send(job).is_ok();
        async move {
            if !sent {
                return Err("Sotto is shutting down".into());
            }
            rx.await
                .unwrap_or_else(|_| Err("the file could not be written".into()))
        }
    }

    /// Connects an account; with `create`, first creates it on its
    /// server. `None`: the engine reads the stored password.
    pub fn login(&self, account: AccountConfig, password: Option<SecretString>, create: bool) {
        let login = Box::new(AccountLogin {
            config: account,
            password,
            presence: Some(
                self.presence
                    .lock()
                    .map(|p| p.clone())
                    .unwrap_or((Availability::Available, None)),
            ),
            retry: RetryPolicy::Forever,
        });
        self.send(if create {
            Command::CreateAccount(login)
        } else {
            Command::Start(login)
        });
    }

    /// Announces `availability` and `status` from `accounts` now, and from
    /// every account that signs in later.
    pub fn set_presence<'a>(
        &self,
        availability: Availability,
        status: Option<String>,
        accounts: impl Iterator<Item = &'a AccountConfig>,
    ) {
        if let Ok(mut p) = self.presence.lock() {
            *p = (availability, status.clone());
        }
        for account in accounts.filter(|a| a.enabled) {
            self.send(Command::SetPresence {
                account: account.jid.clone(),
                availability,
                status: status.clone(),
            });
        }
    }

    /// Connects the enabled accounts (the engine reads their passwords)
    /// and tells it of the others (how they would knock).
    pub fn login_all(&self, config: &Config) {
        for account in &config.accounts {
            if account.enabled {
                self.login(account.clone(), None, false);
            } else {
                self.send(Command::Configure(Box::new(account.clone())));
            }
        }
    }
}

/// A timer that starts when polled, so it is made inside the executor's
/// runtime whatever thread `update` runs on.
pub async fn sleep(duration: std::time::Duration) {
    tokio::time::sleep(duration).await;
}
