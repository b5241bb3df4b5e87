//! `xmpp:` links handed to the window (at start, or by a later `sotto`):
//! each opens what it names and fills in what it asks, but nothing is
//! sent, added or joined until the user says so (XEP-0147 §3: a link is
//! someone else's words).

use iced::Task;
use sotto::model::BareJid;
use sotto::uri::{Action, XmppUri};

use super::{Dashboard, Message};
use crate::gui::sidebar::Page;

impl Dashboard {
    pub fn open_link(&mut self, link: Result<XmppUri, String>) -> Task<Message> {
        let uri = match link {
            Ok(uri) => uri,
            Err(e) => {
                self.banner = Some(format!("Sotto could not open the link: {e}."));
                return Task::none();
            }
        };
        let Some(account) = self.account_for(&uri) else {
            self.banner = Some("Add an account first, then open the link again.".into());
            return Task::none();
        };
        let peer = uri.bare();
        if let Action::Join { password } = &uri.action {
            // Entered only once the person says so, with a nickname.
            if peer.node().is_none() {
                self.banner = Some(format!("The link names {peer}, a server, not a room."));
                return Task::none();
            }
            let nick = self
                .people
                .room(&account, &peer)
                .map(|r| r.nick.clone())
                .or_else(|| account.node().map(|n| n.to_string()))
                .unwrap_or_default();
            let (overlay, task) = crate::gui::overlay::Overlay::join_room(
                account,
                nick,
                Some(&peer),
                password.clone(),
            );
            self.overlay = Some(overlay);
            return task.map(Message::Overlay);
        }
        if peer.node().is_none() {
            self.banner = Some(format!(
                "The link names {peer}, a server, not someone to chat with."
            ));
            return Task::none();
        }
        match uri.action {
            Action::Roster { name, .. } => {
                self.overlay = None;
                self.page = Page::Contacts;
                self.contacts.offer(&peer, name).map(Message::Contacts)
            }
            Action::Message { body, .. } => {
                let open = self.open(account, peer, None);
                let fill = match (body, &mut self.chat) {
                    (Some(body), Some(chat)) => chat.compose(&body).map(Message::Chat),
                    _ => Task::none(),
                };
                Task::batch([open, fill])
            }
            Action::Knock => {
                let open = self.open(account, peer, None);
                let offer = match &mut self.chat {
                    Some(chat) => chat
                        .offer_push_link(uri.to_string(), &self.backend)
                        .map(Message::Chat),
                    None => Task::none(),
                };
                Task::batch([open, offer])
            }
            Action::Other(kind) => {
                self.banner = Some(format!(
                    "Sotto does not act on “{kind}” links; it opened the chat with {peer} instead."
                ));
                self.open(account, peer, None)
            }
            Action::Open | Action::Join { .. } => self.open(account, peer, None),
        }
    }

    /// The account a link is for: the one it names, if it is ours; else
    /// the first that has the address as a contact; else the first.
    fn account_for(&self, uri: &XmppUri) -> Option<BareJid> {
        let ours = |jid: &BareJid| self.config.accounts.iter().any(|a| &a.jid == jid);
        if let Some(named) = uri.account.as_ref().filter(|a| ours(a)) {
            return Some(named.clone());
        }
        let peer = uri.bare();
        self.config
            .accounts
            .iter()
            .find(|a| {
                self.people
                    .contact(&a.jid, &peer)
                    .is_some_and(|c| c.contact.is_some())
            })
            .or(self.config.accounts.first())
            .map(|a| a.jid.clone())
    }
}
