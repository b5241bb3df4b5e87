//! The library API as a front end uses it, with helpers to wait on events.

use std::time::Duration;

use secrecy::SecretString;
use sotto::config::AccountConfig;
use sotto::engine::{AccountLogin, Command, Engine, EngineOptions, Event};
use sotto::model::{Availability, BareJid, ConnectionState};
use sotto::store::{Direction, Store, StoreKey, StoredMessage};
use sotto::xmpp::RetryPolicy;
use tokio::sync::mpsc;

/// How long a test waits for something that should happen promptly on
/// loopback before it declares failure.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub struct TestClient {
    pub _dir: Option<tempfile::TempDir>,
    pub store: Store,
    pub engine: Engine,
    pub events: mpsc::Receiver<Event>,
    pub jid: BareJid,
    pub seen: Vec<Event>,
    /// Incoming messages of an archive page not yet asked for.
    pending: std::collections::VecDeque<StoredMessage>,
}

impl TestClient {
    /// An engine over a fresh store of its own, logging in as `account`.
    pub fn start(account: AccountConfig, password: &str, retry: RetryPolicy) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(
            &dir.path().join("sotto.db"),
            &StoreKey::from_bytes(rand_key()),
        )
        .expect("store");
        let mut client = Self::with_store(
            store,
            AccountLogin {
                config: account,
                password: Some(SecretString::from(password.to_owned())),
                presence: Some((Availability::Available, None)),
                retry,
            },
        );
        client._dir = Some(dir);
        client
    }

    /// An engine over `store`, which outlives it (a client restarted).
    pub fn with_store(store: Store, login: AccountLogin) -> Self {
        Self::with_options(store, EngineOptions::default(), login)
    }

    /// An engine with `options` (knock policy, Tor) over `store`.
    pub fn with_options(store: Store, options: EngineOptions, login: AccountLogin) -> Self {
        sotto::logging::init(0);
        let (engine, events) = Engine::start_with(store.clone(), options).expect("engine");
        let jid = login.config.jid.clone();
        engine
            .send(Command::Start(Box::new(login)))
            .expect("engine running");
        Self {
            _dir: None,
            store,
            engine,
            events,
            jid,
            seen: Vec::new(),
            pending: std::collections::VecDeque::new(),
        }
    }

    /// Waits for the first event `pick` accepts, within `patience`.
    pub async fn wait_within<T>(
        &mut self,
        patience: Duration,
        what: &str,
        mut pick: impl FnMut(&Event) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(event)) => {
                    let found = pick(&event);
                    self.seen.push(event);
                    if let Some(found) = found {
                        return found;
                    }
                }
                Ok(None) => panic!("{}: engine stopped while waiting for {what}", self.jid),
                Err(_) => panic!(
                    "{}: no {what} within {patience:?}; saw {:#?}",
                    self.jid, self.seen
                ),
            }
        }
    }

    pub async fn wait_for<T>(&mut self, what: &str, pick: impl FnMut(&Event) -> Option<T>) -> T {
        self.wait_within(PATIENCE, what, pick).await
    }

    /// Waits until online; panics with the reason if the account failed.
    pub async fn online(&mut self) -> String {
        self.wait_for("online state", |e| match e {
            Event::Connection {
                state: ConnectionState::Online { jid, .. },
                ..
            } => Some(jid.clone()),
            Event::Connection {
                state: ConnectionState::Failed { reason, .. },
                ..
            } => panic!("login failed: {reason}"),
            _ => None,
        })
        .await
    }

    /// Waits until the account fails for good and returns the state.
    pub async fn failed(&mut self) -> (String, Option<sotto::fingerprint::Fingerprint>) {
        self.wait_for("failure", |e| match e {
            Event::Connection {
                state:
                    ConnectionState::Failed {
                        reason,
                        certificate,
                        ..
                    },
                ..
            } => Some((reason.clone(), *certificate)),
            Event::Connection {
                state: ConnectionState::Online { .. },
                ..
            } => panic!("connected, but it must have been refused"),
            _ => None,
        })
        .await
    }

    /// Waits for a newly stored incoming message.
    /// A message that comes while the login's catch-up runs (say, from
    /// the server's offline storage) may be stored from the archive: it is
    /// new in the store either way.
    pub async fn incoming(&mut self, what: &str) -> StoredMessage {
        if let Some(m) = self.pending.pop_front() {
            return m;
        }
        let found = self
            .wait_for(what, |e| match e {
                Event::Message { message, .. } if message.direction == Direction::In => {
                    Some(vec![message.clone()])
                }
                Event::Archived { messages, .. } => {
                    let incoming: Vec<StoredMessage> = messages
                        .iter()
                        .filter(|m| m.direction == Direction::In)
                        .cloned()
                        .collect();
                    (!incoming.is_empty()).then_some(incoming)
                }
                _ => None,
            })
            .await;
        let mut found = found.into_iter();
        let first = found.next().expect("at least one");
        self.pending.extend(found);
        first
    }

    /// The reason the engine gives for failing to send message `id`.
    pub async fn message_error(&mut self, what: &str, id: &str) -> String {
        self.wait_for(what, |e| match e {
            Event::MessageError {
                id: Some(got),
                reason,
                ..
            } if got == id => Some(reason.clone()),
            _ => None,
        })
        .await
    }

    pub fn send(&self, command: Command) {
        self.engine.send(command).expect("engine running");
    }

    /// Closes the account's stream cleanly (the server has it offline
    /// when this returns), then stops the engine.
    pub async fn close(mut self) {
        self.send(Command::Stop(self.jid.clone()));
        self.wait_for("the stream closed", |e| match e {
            Event::Connection {
                state: ConnectionState::Offline | ConnectionState::Failed { .. },
                ..
            } => Some(()),
            _ => None,
        })
        .await;
        self.send(Command::Shutdown);
    }

    /// This client's own OMEMO device, set up at login.
    #[allow(dead_code)] // Not every includer of this file uses OMEMO.
    pub fn omemo_device(&self) -> sotto::omemo::DeviceId {
        self.store
            .omemo_own_device(self.jid.as_str())
            .expect("read")
            .expect("an OMEMO device")
            .device_id
    }

    /// Waits until this client has heard (over PEP) that `jid` publishes
    /// `device` in its OMEMO 2 list. A message sent before goes to the
    /// devices known then, as OMEMO means: tests about something else wait
    /// here so a device that came online at the same moment can read it.
    #[allow(dead_code)]
    pub async fn knows_device(&self, jid: &BareJid, device: sotto::omemo::DeviceId) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !self
            .store
            .omemo_devices(self.jid.as_str(), jid.as_str())
            .expect("read")
            .iter()
            .any(|d| {
                d.active && d.profile == sotto::omemo::Profile::Omemo2 && d.device_id == device
            })
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{}: never heard of {jid}'s device {}",
                self.jid,
                device.get()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for the end of the login's archive catch-up: the server has
    /// processed every request the login sent before it (carbons,
    /// presence), since a stream is handled in order.
    pub async fn settled(&mut self) {
        self.wait_for("the login's catch-up", |e| {
            matches!(e, Event::CatchUp { done: true, .. }).then_some(())
        })
        .await;
    }
}

/// Makes two online clients mutual contacts: both ask, both approve, until
/// each has the other with subscription both (receipts and markers go
/// only to people who may see our presence).
pub async fn befriend(a: &mut TestClient, b: &mut TestClient) {
    use sotto::model::{Subscription, SubscriptionChange};
    for (from, to) in [(&*a, &*b), (&*b, &*a)] {
        from.send(Command::AddContact {
            account: from.jid.clone(),
            jid: to.jid.clone(),
            name: None,
        });
    }
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let (mut a_done, mut b_done) = (false, false);
    while !(a_done && b_done) {
        let (client, done) = tokio::select! {
            e = a.events.recv() => ((&*a, e), &mut a_done),
            e = b.events.recv() => ((&*b, e), &mut b_done),
            () = tokio::time::sleep_until(deadline) => panic!("{} and {} did not become contacts", a.jid, b.jid),
        };
        let (client, event) = client;
        match event.expect("engine running") {
            Event::Subscription {
                from,
                change: SubscriptionChange::Requested,
                ..
            } => client.send(Command::AnswerSubscription {
                account: client.jid.clone(),
                jid: from,
                approve: true,
            }),
            Event::ContactChanged { contact, .. } => {
                *done |= contact.subscription == Subscription::Both;
            }
            _ => {}
        }
    }
}

/// A key for a test store; every store gets its own.
pub fn rand_key() -> [u8; 32] {
    use std::sync::atomic::{AtomicU8, Ordering};
    static N: AtomicU8 = AtomicU8::new(1);
    [N.fetch_add(1, Ordering::Relaxed); 32]
}
