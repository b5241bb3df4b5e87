//! The conversation list as the sidebar shows it: read from the store,
//! then kept up to date in place from the engine's events. A chat
//! receiving twenty messages a second must not re-read every
//! conversation from the database twenty times a second.

use sotto::model::BareJid;
use sotto::store::{ConversationSummary, Direction, StoredMessage};

#[derive(Debug, Default)]
pub struct Conversations {
    /// Most recent first.
    list: Vec<ConversationSummary>,
    /// Bumped by every change made in place, so a read of the store begun
    /// before one is known to be stale when it ends.
    version: u64,
}

impl Conversations {
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The list as the store had it when `version` was current; false (and
    /// nothing changed) if it changed here since.
    pub fn replace(&mut self, version: u64, list: Vec<ConversationSummary>) -> bool {
        if version != self.version {
            return false;
        }
        self.list = list;
        true
    }

    pub fn iter(&self) -> impl Iterator<Item = &ConversationSummary> {
        self.list.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    fn find(&self, account: &BareJid, peer: &str) -> Option<usize> {
        self.list
            .iter()
            .position(|c| c.account == account.as_str() && c.peer == peer)
    }

    pub fn unread(&self, account: &BareJid, peer: &BareJid) -> i64 {
        self.find(account, peer.as_str())
            .map_or(0, |i| self.list[i].unread)
    }

    pub fn unread_total(&self) -> i64 {
        self.list.iter().map(|c| c.unread).sum()
    }

    /// A message new in the store. `seen`: the person is looking at that
    /// chat's newest messages, so it does not count as unread.
    pub fn message(&mut self, account: &BareJid, m: &StoredMessage, seen: bool) {
        self.version += 1;
        let mut c = match self.find(account, &m.peer) {
            Some(i) => self.list.remove(i),
            None => ConversationSummary {
                account: account.to_string(),
                peer: m.peer.clone(),
                last_activity: m.sent_at,
                unread: 0,
                muted: false,
                last_body: None,
                last_direction: None,
                room: false,
                last_author: None,
            },
        };
        // A late message (delayed, from the archive) is not the last one.
        if m.sent_at >= c.last_activity || c.last_body.is_none() {
            c.last_activity = m.sent_at;
            c.last_body = Some(m.body.clone());
            c.last_direction = Some(m.direction);
            // Shown only for rooms, where the sender is room/nickname.
            c.last_author = Some(crate::gui::chat::nick_of(m).to_owned());
        }
        if m.direction == Direction::In && !seen {
            c.unread += 1;
        }
        let at = self
            .list
            .iter()
            .position(|o| o.last_activity < c.last_activity)
            .unwrap_or(self.list.len());
        self.list.insert(at, c);
    }

    /// Nothing unread there any more (read here or on another device).
    pub fn read(&mut self, account: &BareJid, peer: &BareJid) {
        if let Some(i) = self.find(account, peer.as_str())
            && self.list[i].unread != 0
        {
            self.version += 1;
            self.list[i].unread = 0;
        }
    }

    pub fn forget(&mut self, account: &BareJid) {
        self.version += 1;
        self.list.retain(|c| c.account != account.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sotto::store::MessageState;

    fn message(peer: &str, body: &str, at: i64, direction: Direction) -> StoredMessage {
        StoredMessage {
            id: at,
            account: "me@example.org".into(),
            peer: peer.into(),
            direction,
            sender: peer.into(),
            body: body.into(),
            sent_at: at,
            state: MessageState::Received,
            failure: None,
            origin_id: None,
            stanza_id: None,
            edited_at: None,
            encrypted: false,
            omemo_notice: false,
        }
    }

    #[test]
    fn a_message_moves_its_conversation_up_and_counts_unless_seen() {
        let me: BareJid = "me@example.org".parse().expect("jid");
        let bob: BareJid = "bob@example.org".parse().expect("jid");
        let mut list = Conversations::default();
        list.message(
            &me,
            &message("carol@example.org", "hi", 10, Direction::In),
            false,
        );
        list.message(
            &me,
            &message("bob@example.org", "yo", 20, Direction::In),
            true,
        );
        let peers = |l: &Conversations| l.iter().map(|c| c.peer.clone()).collect::<Vec<_>>();
        assert_eq!(peers(&list), ["bob@example.org", "carol@example.org"]);
        assert_eq!(list.unread(&me, &bob), 0, "seen as it came");
        assert_eq!(list.unread_total(), 1);
        list.message(
            &me,
            &message("carol@example.org", "there?", 30, Direction::In),
            false,
        );
        assert_eq!(peers(&list), ["carol@example.org", "bob@example.org"]);
        assert_eq!(list.unread_total(), 2);
        // A late message keeps the newer preview and the place.
        list.message(
            &me,
            &message("carol@example.org", "old", 5, Direction::In),
            false,
        );
        let first = list.iter().next().expect("carol");
        assert_eq!(first.last_body.as_deref(), Some("there?"));
        list.read(&me, &"carol@example.org".parse().expect("jid"));
        assert_eq!(list.unread_total(), 0);
        // A read of the store begun before these changes is stale.
        let before = list.version();
        list.message(
            &me,
            &message("dave@example.org", "new", 50, Direction::In),
            false,
        );
        assert!(!list.replace(before, Vec::new()));
        assert_eq!(list.unread_total(), 1);
        assert!(list.replace(list.version(), Vec::new()));
        assert!(list.is_empty());
        // Our own message is never unread.
        list.message(
            &me,
            &message("bob@example.org", "me", 40, Direction::Out),
            false,
        );
        assert_eq!(list.unread_total(), 0);
        assert_eq!(peers(&list)[0], "bob@example.org");
    }
}
