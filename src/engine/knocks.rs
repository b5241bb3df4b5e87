//! Knocks from the engine: on request, or once automatically when a
//! message is queued for an offline contact with auto-knock on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::Event;
use crate::knock::{KnockPolicy, KnockRoute, cooldown_left, knock_via};
use crate::model::{AccountId, BareJid, now_ms};
use crate::store::Store;
use crate::tor::Tor;

#[derive(Clone)]
pub struct Knocks {
    store: Store,
    events: mpsc::Sender<Event>,
    policy: KnockPolicy,
    tor: Tor,
    /// How each account started in this engine connects (true: Tor).
    /// Kept after an account stops, so a later knock still takes Tor. An
    /// account missing here was never started: its knocks are refused,
    /// since nothing says whether it may touch the network directly.
    routes: Arc<Mutex<HashMap<AccountId, bool>>>,
    /// When each contact was last knocked by this engine, taken before the
    /// knock starts: a burst of queued messages (or of clicks) knocks once,
    /// not once per message.
    knocked: Arc<Mutex<HashMap<(AccountId, BareJid), i64>>>,
}

impl Knocks {
    pub fn new(store: Store, events: mpsc::Sender<Event>, policy: KnockPolicy, tor: Tor) -> Self {
        Self {
            store,
            events,
            policy,
            tor,
            routes: Arc::default(),
            knocked: Arc::default(),
        }
    }

    /// Records whether `account` uses Tor (from its settings, at start).
    pub fn set_tor(&self, account: &AccountId, tor: bool) {
        if let Ok(mut routes) = self.routes.lock() {
            routes.insert(account.clone(), tor);
        }
    }

    /// `None` for an account this engine has never started.
    fn route(&self, account: &AccountId) -> Option<KnockRoute> {
        // A poisoned lock must not turn a Tor account's knock into a
        // direct one: Tor is the safe answer.
        let tor = match self.routes.lock() {
            Ok(routes) => *routes.get(account)?,
            Err(_) => true,
        };
        Some(if tor {
            KnockRoute::Tor(self.tor.clone())
        } else {
            KnockRoute::Direct
        })
    }

    /// Knocks in the background; the outcome comes as [`Event::Knocked`].
    pub fn start(&self, account: AccountId, contact: BareJid, automatic: bool) {
        let this = self.clone();
        tokio::spawn(async move { this.run(account, contact, automatic).await });
    }

    /// Whether a queued message for `contact` should knock by itself.
    pub async fn auto_knock_wanted(&self, account: &AccountId, contact: &BareJid) -> bool {
        let (store, acc, who) = (self.store.clone(), account.to_string(), contact.to_string());
        tokio::task::spawn_blocking(move || store.push_info(&acc, &who))
            .await
            .ok()
            .and_then(Result::ok)
            .flatten()
            .is_some_and(|p| p.auto_knock)
    }

    /// Takes the contact's cooldown for a knock starting now; `Some(wait)`
    /// (milliseconds) when they were knocked too recently, here or (per
    /// the store) by an earlier run.
    fn reserve(&self, account: &AccountId, contact: &BareJid, stored: Option<i64>) -> Option<i64> {
        let now = now_ms();
        let Ok(mut knocked) = self.knocked.lock() else {
            // Poisoned: refuse rather than risk a burst.
            return Some(1000);
        };
        let key = (account.clone(), contact.clone());
        let last = knocked.get(&key).copied().max(stored);
        if let Some(wait) = cooldown_left(last, now) {
            return Some(wait);
        }
        knocked.insert(key, now);
        None
    }

    fn release(&self, account: &AccountId, contact: &BareJid) {
        if let Ok(mut knocked) = self.knocked.lock() {
            knocked.remove(&(account.clone(), contact.clone()));
        }
    }

    async fn run(self, account: AccountId, contact: BareJid, automatic: bool) {
        let knocked = |relay: Option<String>, error: Option<String>| Event::Knocked {
            account: account.clone(),
            contact: contact.clone(),
            relay,
            error,
            token: None,
            dropped_tokens: 0,
        };
        let (store, acc, who) = (self.store.clone(), account.to_string(), contact.to_string());
        let stored = tokio::task::spawn_blocking(move || store.push_info(&acc, &who))
            .await
            .ok()
            .and_then(Result::ok)
            .flatten();
        let Some(route) = self.route(&account) else {
            let error = format!(
                "{account} is turned off, so it cannot knock; turn it on in Settings first"
            );
            let _ = self.events.send(knocked(None, Some(error))).await;
            return;
        };
        let Some(stored) = stored else {
            let error =
                format!("{contact} has not shared push info, so their phone cannot be knocked");
            let _ = self.events.send(knocked(None, Some(error))).await;
            return;
        };
        if let Some(wait) = self.reserve(&account, &contact, stored.last_knock_at) {
            if automatic {
                tracing::debug!(%account, %contact, "auto-knock skipped: knocked moments ago");
            } else {
                let error = format!(
                    "{contact} was knocked moments ago; wait {} s before knocking again",
                    (wait + 999) / 1000
                );
                let _ = self.events.send(knocked(None, Some(error))).await;
            }
            return;
        }
        let _ = self
            .events
            .send(Event::Knocking {
                account: account.clone(),
                contact: contact.clone(),
                automatic,
            })
            .await;
        let report = knock_via(&stored.info, self.policy, &route).await;
        let relay = stored.info.endpoint.host_str().unwrap_or("?").to_owned();
        let (text, contacted) = match &report.result {
            Ok(_) => ("accepted".to_owned(), true),
            Err(e) => (e.to_string(), e.reached_relay()),
        };
        let (store, acc, who, dropped) = (
            self.store.clone(),
            account.to_string(),
            contact.to_string(),
            report.dropped.clone(),
        );
        if !contacted {
            // Refused on our side: the relay never heard of it, so it does
            // not count against the cooldown.
            self.release(&account, &contact);
        }
        let recorded = tokio::task::spawn_blocking(move || {
            store.record_knock(&acc, &who, &text, &dropped, contacted)
        })
        .await;
        if !matches!(recorded, Ok(Ok(()))) {
            tracing::error!(%account, %contact, "could not record a knock");
        }
        let (relay, error) = match &report.result {
            Ok(_) => (Some(relay), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let event = Event::Knocked {
            account,
            contact,
            relay,
            error,
            token: report.result.as_ref().ok().map(crate::knock::Token::hint),
            dropped_tokens: report.dropped.len(),
        };
        let _ = self.events.send(event).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreKey;

    fn knocks(dir: &tempfile::TempDir) -> Knocks {
        let store =
            Store::open(&dir.path().join("db"), &StoreKey::from_bytes([3; 32])).expect("open");
        let (events, _) = mpsc::channel(4);
        Knocks::new(store, events, KnockPolicy::default(), Tor::new(None))
    }

    #[test]
    fn a_burst_knocks_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let knocks = knocks(&dir);
        let (a, c): (AccountId, BareJid) = (
            "a@example.org".parse().expect("jid"),
            "c@example.org".parse().expect("jid"),
        );
        assert_eq!(knocks.reserve(&a, &c, None), None, "the first goes");
        for _ in 0..5 {
            assert!(knocks.reserve(&a, &c, None).is_some(), "the rest wait");
        }
        // A knock refused on our side gives the cooldown back.
        knocks.release(&a, &c);
        assert_eq!(knocks.reserve(&a, &c, None), None);
        // The store's record of an earlier run counts too.
        let other: BareJid = "d@example.org".parse().expect("jid");
        assert!(knocks.reserve(&a, &other, Some(now_ms())).is_some());
    }

    #[test]
    fn an_account_never_started_has_no_route_so_it_never_knocks_directly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let knocks = knocks(&dir);
        let (tor_account, plain): (AccountId, AccountId) = (
            "t@example.org".parse().expect("jid"),
            "p@example.org".parse().expect("jid"),
        );
        assert!(knocks.route(&tor_account).is_none());
        knocks.set_tor(&tor_account, true);
        knocks.set_tor(&plain, false);
        assert!(matches!(
            knocks.route(&tor_account),
            Some(KnockRoute::Tor(_))
        ));
        assert!(matches!(knocks.route(&plain), Some(KnockRoute::Direct)));
        assert!(
            knocks
                .route(&"x@example.org".parse().expect("jid"))
                .is_none()
        );
    }
}
