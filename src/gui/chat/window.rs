//! The messages of the open chat held in memory: a window of at most
//! [`HELD`] around what is on screen, paged in from the store as the
//! person scrolls and dropped again at the far end. Its cost stays the
//! same whether the chat has fifty messages or a hundred thousand.
//! Pure data: what to ask the store for, and which end changed.

use std::collections::VecDeque;

use sotto::store::{Cursor, Direction, MessageState, StoredMessage};

/// Messages per page read from the store.
pub const PAGE: usize = 50;
/// This many are held after dropping (two pages): a screenful and a
/// margin either side, however tall the window.
pub const HELD: usize = 2 * PAGE;
/// The most ever held. The oldest are dropped a page at a time rather
/// than one per arrival: the list's widgets keep their laid-out text by
/// position, so dropping from the top makes every bubble lay out again.
pub const MOST: usize = HELD + PAGE;

/// A read the window wants from the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// The newest page (opening, jumping to the newest).
    Newest,
    /// Pages either side of a message, itself included (a search hit).
    Around(Cursor),
    Older(Cursor),
    Newer(Cursor),
}

/// A request, tagged so an answer to an older one is not mixed into a
/// window that has been replaced since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub generation: u64,
    pub want: Want,
}

/// What the store answered.
#[derive(Debug, Clone)]
pub enum Page {
    Newest(Vec<StoredMessage>),
    /// Up to the message (included), and after it.
    Around(Vec<StoredMessage>, Vec<StoredMessage>),
    Older(Vec<StoredMessage>),
    Newer(Vec<StoredMessage>),
}

/// Which end of the list changed, so the view can keep still what the
/// person is reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    None,
    /// Older messages added or dropped: the view is anchored at the
    /// bottom, so nothing on screen moves.
    Top,
    /// Newer messages added or dropped: what is on screen must be kept in
    /// place by its distance from the top.
    Bottom,
    /// Everything replaced.
    All,
}

#[derive(Debug)]
pub struct Window {
    /// Oldest first.
    messages: VecDeque<StoredMessage>,
    /// The oldest held is the conversation's first.
    pub at_start: bool,
    /// The newest held is the conversation's newest.
    pub at_end: bool,
    loading: Option<Want>,
    generation: u64,
    /// Live messages that came while the newest page was being read, in
    /// case the read missed them.
    pending: Vec<StoredMessage>,
}

impl Default for Window {
    fn default() -> Self {
        Self {
            messages: VecDeque::new(),
            at_start: false,
            at_end: true,
            loading: None,
            generation: 0,
            pending: Vec::new(),
        }
    }
}

fn key(m: &StoredMessage) -> (i64, i64) {
    (m.sent_at, m.id)
}

impl Window {
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &StoredMessage> {
        self.messages.iter()
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    pub fn loading(&self) -> Option<&Want> {
        self.loading.as_ref()
    }

    pub fn find(&self, id: i64) -> Option<&StoredMessage> {
        self.messages.iter().find(|m| m.id == id)
    }

    /// Replaces the window: the newest page, or the pages around a
    /// message. Answers to earlier requests are ignored from now on.
    pub fn reset(&mut self, want: Want) -> Request {
        self.generation += 1;
        self.pending.clear();
        self.loading = Some(want.clone());
        Request {
            generation: self.generation,
            want,
        }
    }

    /// The page before the oldest held, unless it is the first or a read
    /// is under way.
    pub fn older(&mut self) -> Option<Request> {
        if self.at_start || self.loading.is_some() {
            return None;
        }
        let want = Want::Older(self.messages.front()?.cursor());
        self.loading = Some(want.clone());
        Some(Request {
            generation: self.generation,
            want,
        })
    }

    /// The page after the newest held, when the window is not at the end.
    pub fn newer(&mut self) -> Option<Request> {
        if self.at_end || self.loading.is_some() {
            return None;
        }
        let want = Want::Newer(self.messages.back()?.cursor());
        self.loading = Some(want.clone());
        Some(Request {
            generation: self.generation,
            want,
        })
    }

    /// A read failed: it may be asked again.
    pub fn failed(&mut self, generation: u64) {
        if generation == self.generation {
            self.loading = None;
        }
    }

    pub fn loaded(&mut self, generation: u64, page: Page) -> Edit {
        if generation != self.generation {
            return Edit::None;
        }
        self.loading = None;
        match page {
            Page::Newest(page) => {
                self.at_start = page.len() < PAGE;
                self.at_end = true;
                self.messages = page.into();
                for m in std::mem::take(&mut self.pending) {
                    self.arrived(m, true);
                }
                Edit::All
            }
            Page::Around(before, after) => {
                // `before` was asked with room for the message itself.
                self.at_start = before.len() <= PAGE;
                self.at_end = after.len() < PAGE;
                self.messages = before.into_iter().chain(after).collect();
                Edit::All
            }
            Page::Older(page) => {
                self.at_start = page.len() < PAGE;
                let (oldest, held) = (self.messages.front().map(key), self.messages.len());
                for m in page.into_iter().rev() {
                    if oldest.is_none_or(|o| key(&m) < o) {
                        self.messages.push_front(m);
                    }
                }
                // The line above the list says "beginning" instead of
                // "loading" in the same height: nothing else moved.
                if self.messages.len() > held {
                    Edit::Top
                } else {
                    Edit::None
                }
            }
            Page::Newer(page) => {
                // Even with nothing new, the end's line goes (see the
                // timeline): a change below.
                self.at_end = page.len() < PAGE;
                let newest = self.messages.back().map(key);
                self.messages.extend(
                    page.into_iter()
                        .filter(|m| newest.is_none_or(|n| key(m) > n)),
                );
                Edit::Bottom
            }
        }
    }

    /// A message new in the store. It is held only where it belongs in
    /// what is held: one older than the oldest held is history, and one
    /// newer than a window that is not at the end is left for the page
    /// that will bring it. While the person reads further up, the window
    /// stops following rather than grow. Returns whether it was held.
    pub fn arrived(&mut self, m: StoredMessage, following: bool) -> (bool, Edit) {
        if let Some(old) = self.messages.iter_mut().find(|o| o.id == m.id) {
            *old = m;
            return (true, Edit::None);
        }
        match self.loading {
            Some(Want::Newest) => {
                // The page being read may or may not have it.
                self.pending.push(m);
                return (false, Edit::None);
            }
            Some(Want::Around(_) | Want::Newer(_)) => return (false, Edit::None),
            Some(Want::Older(_)) | None => {}
        }
        if !self.at_end {
            return (false, Edit::None);
        }
        let k = key(&m);
        let at = self.messages.partition_point(|o| key(o) < k);
        if at == 0 && !self.at_start && !self.messages.is_empty() {
            return (false, Edit::None);
        }
        if !following && self.messages.len() >= HELD {
            self.at_end = false;
            return (false, Edit::None);
        }
        self.messages.insert(at, m);
        if following && self.messages.len() > MOST {
            self.trim(Side::Top);
        }
        (true, Edit::Bottom)
    }

    /// Drops from `side` down to [`HELD`]; returns how many went.
    pub fn trim(&mut self, side: Side) -> usize {
        let extra = self.messages.len().saturating_sub(HELD);
        for _ in 0..extra {
            match side {
                Side::Top => self.messages.pop_front(),
                Side::Bottom => self.messages.pop_back(),
            };
        }
        if extra > 0 {
            match side {
                Side::Top => self.at_start = false,
                Side::Bottom => self.at_end = false,
            }
        }
        extra
    }

    /// A held message changed (a correction): replaced where it is.
    pub fn replace(&mut self, m: StoredMessage) {
        if let Some(old) = self.messages.iter_mut().find(|o| o.id == m.id) {
            *old = m;
        }
    }

    /// An outgoing message moved on (sent, acked, delivered, read, failed).
    pub fn set_state(&mut self, origin_id: &str, state: MessageState, failure: Option<String>) {
        if let Some(m) = self
            .messages
            .iter_mut()
            .rev()
            .find(|m| m.origin_id.as_deref() == Some(origin_id))
        {
            // States only move forward; a late event must not undo one.
            if state > m.state || state == MessageState::Failed {
                m.state = state;
                m.failure = failure;
            }
        }
    }

    /// Our message went out end-to-end encrypted.
    pub fn set_encrypted(&mut self, origin_id: &str) {
        if let Some(m) = self
            .messages
            .iter_mut()
            .rev()
            .find(|m| m.origin_id.as_deref() == Some(origin_id))
        {
            m.encrypted = true;
        }
    }

    /// Our newest message, the one Up arrow corrects: only when the
    /// newest messages are held, or it might not be the last.
    pub fn last_own(&self) -> Option<&StoredMessage> {
        if !self.at_end {
            return None;
        }
        self.messages
            .iter()
            .rev()
            .find(|m| m.direction == Direction::Out && m.origin_id.is_some())
    }

    /// Messages to this contact still waiting to leave (they are the
    /// newest, so the window holds them).
    pub fn queued(&self) -> usize {
        self.messages
            .iter()
            .filter(|m| m.direction == Direction::Out && m.state == MessageState::Queued)
            .count()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Top,
    Bottom,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: i64) -> StoredMessage {
        StoredMessage {
            id,
            account: "me@example.org".into(),
            peer: "bob@example.org".into(),
            direction: Direction::In,
            sender: "bob@example.org/phone".into(),
            body: format!("message {id}"),
            sent_at: id * 1000,
            state: MessageState::Received,
            failure: None,
            origin_id: None,
            stanza_id: None,
            edited_at: None,
            encrypted: false,
            omemo_notice: false,
        }
    }

    fn page(ids: std::ops::Range<i64>) -> Vec<StoredMessage> {
        ids.map(m).collect()
    }

    fn ids(w: &Window) -> Vec<i64> {
        w.iter().map(|m| m.id).collect()
    }

    /// A window over a conversation of messages 1..=1000, newest page
    /// loaded.
    fn newest() -> Window {
        let mut w = Window::default();
        let r = w.reset(Want::Newest);
        assert_eq!(
            w.loaded(r.generation, Page::Newest(page(951..1001))),
            Edit::All
        );
        w
    }

    #[test]
    fn paging_up_holds_at_most_two_pages_and_drops_the_newest() {
        let mut w = newest();
        assert!(w.at_end && !w.at_start);
        let mut oldest = 951;
        for _ in 0..10 {
            let r = w.older().expect("more to read");
            assert_eq!(r.want, Want::Older(m(oldest).cursor()));
            assert!(w.older().is_none(), "one read at a time");
            assert_eq!(
                w.loaded(r.generation, Page::Older(page(oldest - 50..oldest))),
                Edit::Top
            );
            oldest -= 50;
            w.trim(Side::Bottom);
            assert!(w.len() <= HELD);
        }
        assert_eq!(ids(&w).first(), Some(&451));
        assert_eq!(ids(&w).last(), Some(&550));
        assert!(!w.at_end, "the newest were dropped");
        // Down again: pages after the newest held, the oldest dropped.
        let r = w.newer().expect("newer");
        assert_eq!(r.want, Want::Newer(m(550).cursor()));
        assert_eq!(
            w.loaded(r.generation, Page::Newer(page(551..601))),
            Edit::Bottom
        );
        w.trim(Side::Top);
        assert_eq!(ids(&w).first(), Some(&501));
        assert!(!w.at_start);
    }

    #[test]
    fn the_first_message_ends_paging_up() {
        let mut w = Window::default();
        let r = w.reset(Want::Newest);
        w.loaded(r.generation, Page::Newest(page(1..21)));
        assert!(w.at_start, "a short newest page is the whole chat");
        assert!(w.older().is_none());
    }

    #[test]
    fn a_replaced_window_ignores_answers_to_older_requests() {
        let mut w = newest();
        let stale = w.older().expect("older");
        let fresh = w.reset(Want::Newest);
        assert_eq!(
            w.loaded(stale.generation, Page::Older(page(1..51))),
            Edit::None
        );
        assert_eq!(
            w.loaded(fresh.generation, Page::Newest(page(951..1001))),
            Edit::All
        );
        assert_eq!(w.len(), 50);
    }

    #[test]
    fn live_messages_follow_the_end_and_stay_bounded() {
        let mut w = newest();
        for id in 1001..1400 {
            assert_eq!(w.arrived(m(id), true), (true, Edit::Bottom));
            assert!(w.len() <= MOST);
        }
        assert!(w.len() > HELD);
        assert_eq!(ids(&w).last(), Some(&1399));
        // The same message again (a correction) replaces it.
        let mut again = m(1399);
        again.body = "edited".into();
        let held = w.len();
        assert_eq!(w.arrived(again, true), (true, Edit::None));
        assert_eq!(w.len(), held);
        assert_eq!(w.iter().last().map(|m| m.body.as_str()), Some("edited"));
    }

    #[test]
    fn while_reading_history_arrivals_wait_for_their_page() {
        let mut w = newest();
        // Reading further up, a full window stops following.
        for id in 1001..1102 {
            w.arrived(m(id), false);
        }
        assert_eq!(w.len(), HELD);
        assert!(!w.at_end);
        assert_eq!(w.arrived(m(2000), false), (false, Edit::None));
        // An archived message older than everything held is history.
        let mut w = newest();
        assert_eq!(w.arrived(m(5), true), (false, Edit::None));
        // A late one inside the window goes in its place.
        let mut late = m(960);
        late.id = 5000;
        late.sent_at = 960 * 1000 + 1;
        assert_eq!(w.arrived(late, true), (true, Edit::Bottom));
        assert_eq!(ids(&w)[9..11], [960, 5000]);
    }

    #[test]
    fn a_message_that_comes_while_the_newest_page_is_read_is_not_lost() {
        let mut w = Window::default();
        let r = w.reset(Want::Newest);
        assert_eq!(w.arrived(m(1001), true), (false, Edit::None));
        assert_eq!(w.arrived(m(1000), true), (false, Edit::None));
        // The read saw 1000 but not 1001.
        w.loaded(r.generation, Page::Newest(page(951..1001)));
        assert_eq!(ids(&w).last(), Some(&1001));
        assert_eq!(w.len(), 51);
    }

    #[test]
    fn around_a_message_holds_both_sides() {
        let mut w = Window::default();
        let r = w.reset(Want::Around(m(500).cursor()));
        w.loaded(r.generation, Page::Around(page(450..501), page(501..551)));
        assert!(!w.at_start && !w.at_end);
        assert!(w.find(500).is_some());
        assert!(
            w.last_own().is_none(),
            "not at the end: the last one is not known"
        );
    }

    #[test]
    fn states_only_move_forward() {
        let mut w = newest();
        let mut mine = m(1001);
        mine.direction = Direction::Out;
        mine.state = MessageState::Queued;
        mine.origin_id = Some("o1".into());
        w.arrived(mine, true);
        assert_eq!(w.queued(), 1);
        w.set_state("o1", MessageState::Read, None);
        w.set_state("o1", MessageState::Delivered, None);
        assert_eq!(w.last_own().map(|m| m.state), Some(MessageState::Read));
        assert_eq!(w.queued(), 0);
    }
}
