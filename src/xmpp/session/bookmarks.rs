//! Our bookmarks on this stream: read once per login (PEP, or private
//! storage where the server has no PEP bookmarks), written as rooms are
//! joined and left, and followed as our other clients change them.

use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::message::Message;
use tokio_xmpp::parsers::stanza_error::StanzaError;

use super::iq::{BookmarkStep, Purpose};
use super::{Session, SessionEvent, new_id};
use crate::model::Bookmark;
use crate::xmpp::bookmarks;

impl Session {
    pub(super) async fn fetch_bookmarks(&mut self) {
        self.request(bookmarks::fetch(new_id()), Purpose::Bookmarks)
            .await;
    }

    pub(super) async fn publish_bookmark(&mut self, bookmark: Bookmark) {
        let iq = bookmarks::publish(new_id(), &bookmark, true);
        self.request(iq, Purpose::BookmarkPublish(BookmarkStep::Sized(bookmark)))
            .await;
    }

    /// A step of writing a bookmark answered: a server that refuses the
    /// node's size in publish-options gets it without, then has the node
    /// configured to keep every bookmark.
    pub(super) async fn bookmark_step_answered(
        &mut self,
        step: BookmarkStep,
        answer: Result<Option<Element>, StanzaError>,
    ) {
        let next = match (step, answer) {
            (BookmarkStep::Sized(_) | BookmarkStep::Configure { .. }, Ok(_)) => None,
            (BookmarkStep::Unsized, Ok(_)) => Some((
                bookmarks::configure(new_id(), true),
                BookmarkStep::Configure { max: true },
            )),
            (BookmarkStep::Sized(bookmark), Err(_)) => Some((
                bookmarks::publish(new_id(), &bookmark, false),
                BookmarkStep::Unsized,
            )),
            (BookmarkStep::Configure { max: true }, Err(_)) => Some((
                bookmarks::configure(new_id(), false),
                BookmarkStep::Configure { max: false },
            )),
            (step, Err(e)) => {
                tracing::warn!(account = %self.account, ?step, condition = ?e.defined_condition, "the bookmark could not be written");
                None
            }
        };
        if let Some((iq, step)) = next {
            self.request(iq, Purpose::BookmarkPublish(step)).await;
        }
    }

    pub(super) async fn bookmarks_answered(
        &mut self,
        private: bool,
        answer: Result<Option<Element>, StanzaError>,
    ) {
        let found = match &answer {
            Ok(Some(payload)) if private => bookmarks::from_private(payload),
            Ok(Some(payload)) => bookmarks::from_items(payload),
            Ok(None) => Some(Vec::new()),
            Err(_) => None,
        };
        match (found, private) {
            // PEP bookmarks, possibly none yet: the private store may hold
            // what an older client wrote.
            (Some(list), false) if !list.is_empty() => {
                self.emit(SessionEvent::Bookmarks(Some(list))).await;
            }
            (_, false) => {
                self.request(
                    bookmarks::fetch_private(new_id()),
                    Purpose::BookmarksPrivate,
                )
                .await;
            }
            (Some(list), true) => self.emit(SessionEvent::Bookmarks(Some(list))).await,
            (None, true) => {
                tracing::info!(account = %self.account, "this server keeps no bookmarks");
                self.emit(SessionEvent::Bookmarks(None)).await;
            }
        }
    }

    /// A change our other clients made to our bookmarks.
    pub(super) async fn bookmark_event_in(&self, message: &Message) -> bool {
        match bookmarks::from_event(message, &self.account) {
            Some(changes) => {
                if !changes.is_empty() {
                    self.emit(SessionEvent::BookmarkChanges(changes)).await;
                }
                true
            }
            None => false,
        }
    }
}
