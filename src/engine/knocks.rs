//! Knocks from the engine: on request, or once automatically when a
//! message is queued for an offline contact with auto-knock on.

use std::collections::HashSet;
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
    /// Accounts set to use Tor: their knocks go only through it. Kept
    /// after an account stops, so a later knock still takes Tor.
    tor_accounts: Arc<Mutex<HashSet<AccountId>>>,
}

impl Knocks {
    pub fn new(store: Store, events: mpsc::Sender<Event>, policy: KnockPolicy, tor: Tor) -> Self {
        Self {
            store,
            events,
            policy,
            tor,
            tor_accounts: Arc::default(),
        }
    }

    /// Records whether `account` uses Tor (from its settings, at start).
    pub fn set_tor(&self, account: &AccountId, tor: bool) {
        if let Ok(mut set) = self.tor_accounts.lock() {
            if tor {
                set.insert(account.clone());
            } else {
                set.remove(account);
            }
        }
    }

    fn route(&self, account: &AccountId) -> KnockRoute {
        // A poisoned lock must not turn a Tor account's knock into a
        // direct one: Tor is the safe answer.
        let tor = self
            .tor_accounts
            .lock()
            .map_or(true, |set| set.contains(account));
        if tor {
            KnockRoute::Tor(self.tor.clone())
        } else {
            KnockRoute::Direct
        }
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

    async fn run(self, account: AccountId, contact: BareJid, automatic: bool) {
        let knocked = |relay: Option<String>, error: Option<String>| Event::Knocked {
            account: account.clone(),
            contact: contact.clone(),
            relay,
            error,
        };
        let (store, acc, who) = (self.store.clone(), account.to_string(), contact.to_string());
        let stored = tokio::task::spawn_blocking(move || store.push_info(&acc, &who))
            .await
            .ok()
            .and_then(Result::ok)
            .flatten();
        let Some(stored) = stored else {
            let error =
                format!("{contact} has not shared push info, so their phone cannot be knocked");
            let _ = self.events.send(knocked(None, Some(error))).await;
            return;
        };
        if let Some(wait) = cooldown_left(stored.last_knock_at, now_ms()) {
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
        let report = knock_via(&stored.info, self.policy, &self.route(&account)).await;
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
        let recorded = tokio::task::spawn_blocking(move || {
            store.record_knock(&acc, &who, &text, &dropped, contacted)
        })
        .await;
        if !matches!(recorded, Ok(Ok(()))) {
            tracing::error!(%account, %contact, "could not record a knock");
        }
        let event = match report.result {
            Ok(_) => knocked(Some(relay), None),
            Err(e) => knocked(None, Some(e.to_string())),
        };
        let _ = self.events.send(event).await;
    }
}
