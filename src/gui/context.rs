//! What every part of the running window reads but only the dashboard
//! changes: the accounts' settings, the people, the preferences, the
//! conversation list. Parts get it borrowed to draw and decide; they
//! report what should change as events.

use sotto::config::Config;
use sotto::model::BareJid;

use super::conversations::Conversations;
use super::people::People;
use super::prefs::Prefs;

#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub config: &'a Config,
    pub people: &'a People,
    pub prefs: &'a Prefs,
    pub conversations: &'a Conversations,
}

impl Context<'_> {
    /// A contact's name as the person knows them.
    pub fn name(&self, account: &BareJid, peer: &BareJid) -> String {
        self.people.display_name(account, peer)
    }

    /// More than one account: say which one a chat goes through.
    pub fn several_accounts(&self) -> bool {
        self.config.accounts.len() > 1
    }
}
