//! Keeping still what the person reads while the list changes around it.
//!
//! The list is anchored at the bottom: the scrollable counts its offset
//! from the newest message, so messages added or dropped above the view
//! move nothing on screen, while those added or dropped below it would
//! push the view by their height. Their height is known only once the
//! list has been laid out again, which the scrollable tells in its next
//! report; the view is then moved back by the change, before the frame is
//! drawn. Each change counts a revision and the view tags the list's
//! reports with the revision it was built from, so a report is known to
//! show the change (a report from an older view, such as several wheel
//! turns reported at once, does not; a change may leave the height as it
//! was). For the difference in height to be the change below alone, a
//! change above waits while one below is not yet measured, and the other
//! way round. Pure bookkeeping: the chat applies the changes and the
//! corrections.

use std::time::{Duration, Instant};

use iced::widget::scrollable;

use super::window::Side;

/// Within this many pixels of the newest message the chat follows what
/// arrives.
pub const FOLLOW: f32 = 4.0;

/// If no report comes this long after a change (a list too short to
/// scroll reports nothing), the change is taken as measured, so nothing
/// waits for ever.
pub const SETTLE: Duration = Duration::from_millis(500);

/// Where the list was seen scrolled, from one of the scrollable's reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seen {
    pub from_bottom: f32,
    pub from_top: f32,
    pub content: f32,
    pub height: f32,
}

impl From<scrollable::Viewport> for Seen {
    fn from(v: scrollable::Viewport) -> Self {
        // Anchored at the bottom: the offset counts from the newest.
        Self {
            from_bottom: v.absolute_offset().y,
            from_top: v.absolute_offset_reversed().y,
            content: v.content_bounds().height,
            height: v.bounds().height,
        }
    }
}

/// A change not yet laid out.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Pending {
    side: Side,
    /// The content's height before it.
    content: f32,
    /// The revision of its latest part: a report of this or a later one
    /// measures it.
    revision: u64,
    since: Instant,
}

#[derive(Debug, Default)]
pub struct Scroll {
    last: Option<Seen>,
    pending: Option<Pending>,
    /// Counts the changes, and never goes back (see [`Scroll::reset`]).
    revision: u64,
}

impl Scroll {
    pub fn last(&self) -> Option<Seen> {
        self.last
    }

    /// The revision the view shows; its reports carry it.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Everything in the list was replaced: nothing is known of it yet.
    /// The revision goes on counting, so reports of the old list are not
    /// taken for the new one.
    pub fn reset(&mut self) {
        self.last = None;
        self.pending = None;
        self.revision += 1;
    }

    /// At the newest message (or not scrolled yet).
    pub fn at_bottom(&self) -> bool {
        self.last.is_none_or(|s| s.from_bottom <= FOLLOW)
    }

    /// Whether a change on `side` must wait: one on the other side is
    /// not measured yet. A change below needs no care while the list
    /// sits at the conversation's newest message (it stays there);
    /// `at_end`: the window holds the newest message. At the bottom of a
    /// window that does not, a page read below must not carry the view
    /// along, or it reaches the bottom again and reads the next.
    pub fn must_wait(&self, side: Side, at_end: bool) -> bool {
        self.pending.is_some_and(|p| p.side != side) && !self.follows(side, at_end)
    }

    fn follows(&self, side: Side, at_end: bool) -> bool {
        side == Side::Bottom && at_end && self.at_bottom()
    }

    /// A change on `side` was made (after [`Scroll::must_wait`] allowed
    /// it); `at_end`: the window held the newest message before it.
    pub fn changed(&mut self, side: Side, at_end: bool) {
        self.revision += 1;
        let Some(last) = self.last else {
            // Not scrolled yet: it is at the bottom, where nothing moves.
            return;
        };
        if self.follows(side, at_end) {
            return;
        }
        match &mut self.pending {
            // Several changes on one side are measured together, once the
            // last of them is laid out.
            Some(p) if p.side == side => p.revision = self.revision,
            _ => {
                self.pending = Some(Pending {
                    side,
                    content: last.content,
                    revision: self.revision,
                    since: Instant::now(),
                })
            }
        }
    }

    /// A report of the scrollable, from the view of `revision`. Returns
    /// how far to move the view (down from the newest, in pixels) to undo
    /// a change below it.
    pub fn seen(&mut self, revision: u64, seen: Seen) -> Option<f32> {
        let mut correction = None;
        let mut seen = seen;
        if let Some(p) = self.pending
            && revision >= p.revision
        {
            self.pending = None;
            let delta = seen.content - p.content;
            if p.side == Side::Bottom && delta.abs() > 0.5 {
                let most = (seen.content - seen.height).max(0.0);
                seen.from_bottom = (seen.from_bottom + delta).clamp(0.0, most);
                seen.from_top = most - seen.from_bottom;
                correction = Some(delta);
            }
        }
        self.last = Some(seen);
        correction
    }

    /// Whether what waits may go ahead; after [`SETTLE`] without a report
    /// the change is taken as measured. `None`: ask again after that long.
    pub fn settle(&mut self) -> Option<Duration> {
        let p = self.pending?;
        let waited = p.since.elapsed();
        if waited >= SETTLE {
            self.pending = None;
            None
        } else {
            Some(SETTLE - waited)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(from_bottom: f32, content: f32) -> Seen {
        let height = 600.0;
        Seen {
            from_bottom,
            from_top: content - height - from_bottom,
            content,
            height,
        }
    }

    #[test]
    fn a_change_below_is_undone_once_measured() {
        let mut s = Scroll::default();
        assert_eq!(s.seen(s.revision(), seen(5000.0, 9000.0)), None);
        let before = s.revision();
        // Newer messages dropped below the view.
        s.changed(Side::Bottom, false);
        // A report from the view before the change changes nothing.
        assert_eq!(s.seen(before, seen(5060.0, 9000.0)), None);
        assert!(s.must_wait(Side::Top, false));
        // Laid out: the view moves down by what went.
        assert_eq!(s.seen(s.revision(), seen(5060.0, 6000.0)), Some(-3000.0));
        assert_eq!(s.last().map(|l| l.from_bottom), Some(2060.0));
        assert_eq!(s.last().map(|l| l.from_top), Some(3340.0));
        assert!(!s.must_wait(Side::Top, false));
    }

    #[test]
    fn a_change_above_needs_no_correction_but_holds_one_below() {
        let mut s = Scroll::default();
        s.seen(s.revision(), seen(5000.0, 9000.0));
        s.changed(Side::Top, false);
        assert!(s.must_wait(Side::Bottom, false));
        assert!(!s.must_wait(Side::Top, false));
        assert_eq!(s.seen(s.revision(), seen(5000.0, 12000.0)), None);
        assert!(!s.must_wait(Side::Bottom, false));
    }

    #[test]
    fn a_change_that_keeps_the_height_is_measured_too() {
        // Fifty dropped below and fifty as tall read above: the height is
        // the same, and the list must not wait for it to change.
        let mut s = Scroll::default();
        s.seen(s.revision(), seen(5000.0, 9000.0));
        s.changed(Side::Bottom, false);
        s.changed(Side::Bottom, false);
        assert!(s.must_wait(Side::Top, false));
        assert_eq!(s.seen(s.revision() - 1, seen(5000.0, 9000.0)), None);
        assert!(
            s.must_wait(Side::Top, false),
            "the second part is not laid out"
        );
        assert_eq!(s.seen(s.revision(), seen(5000.0, 9000.0)), None);
        assert!(!s.must_wait(Side::Top, false));
    }

    #[test]
    fn reports_of_a_replaced_list_measure_nothing() {
        let mut s = Scroll::default();
        s.seen(s.revision(), seen(5000.0, 9000.0));
        s.changed(Side::Bottom, false);
        let old = s.revision();
        s.reset();
        s.seen(s.revision(), seen(5000.0, 9000.0));
        s.changed(Side::Top, false);
        assert!(old < s.revision());
        assert_eq!(s.seen(old, seen(5000.0, 12000.0)), None);
        assert!(s.must_wait(Side::Bottom, false));
    }

    #[test]
    fn at_the_newest_changes_below_need_nothing() {
        let mut s = Scroll::default();
        s.seen(s.revision(), seen(0.0, 9000.0));
        s.changed(Side::Top, true);
        assert!(
            !s.must_wait(Side::Bottom, true),
            "the list follows the newest"
        );
        let mut s = Scroll::default();
        s.seen(s.revision(), seen(0.0, 9000.0));
        s.changed(Side::Bottom, true);
        assert!(s.pending.is_none());
        assert_eq!(s.seen(s.revision(), seen(0.0, 9100.0)), None);
        // At the bottom of a window short of the newest, a page read
        // below is kept below.
        let mut s = Scroll::default();
        s.seen(s.revision(), seen(0.0, 9000.0));
        s.changed(Side::Bottom, false);
        assert_eq!(s.seen(s.revision(), seen(0.0, 12000.0)), Some(3000.0));
        assert_eq!(s.last().map(|l| l.from_bottom), Some(3000.0));
    }

    #[test]
    fn a_change_never_measured_stops_holding_others_back() {
        let mut s = Scroll::default();
        s.seen(s.revision(), seen(5000.0, 9000.0));
        s.changed(Side::Bottom, false);
        assert!(s.settle().is_some(), "too early");
        if let Some(p) = &mut s.pending {
            p.since = Instant::now() - SETTLE;
        }
        assert_eq!(s.settle(), None);
        assert!(!s.must_wait(Side::Top, false));
    }
}
