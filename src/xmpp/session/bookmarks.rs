//! Our bookmarks on this stream: read once per login (PEP, or private
//! storage where the server has no PEP bookmarks), written as rooms are
//! joined and left, and followed as our other clients change them.

use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::message::Message;
use tokio_xmpp::parsers::stanza_error::StanzaError;

use super::iq::Purpose;
use super::{Session, SessionEvent, new_id};
use crate::model::Bookmark;
use crate::xmpp::bookmarks;

impl Session {
    pub(super) async fn fetch_bookmarks(&mut self) {
        self.request(bookmarks::fetch(new_id()), Purpose::Bookmarks)
            .await;
    }

    pub(super) async fn publish_bookmark(&mut self, bookmark: Bookmark) {
        let room = bookmark.room.clone();
        self.request(
            bookmarks::publish(new_id(), &bookmark),
            Purpose::BookmarkPublish(room),
        )
        .await;
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
