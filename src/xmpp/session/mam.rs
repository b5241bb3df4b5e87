//! Catching up with an archive (XEP-0313): our server's after logging in,
//! and each room's after joining it. Page after page from the resume
//! point, each page handed over whole so the engine stores it in one
//! transaction.

use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::data_forms::{DataForm, DataFormType, Field};
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::parsers::mam::{Fin, Query, QueryId};
use tokio_xmpp::parsers::message::Message;
use tokio_xmpp::parsers::ns;
use tokio_xmpp::parsers::rsm::SetQuery;
use tokio_xmpp::parsers::stanza_error::{DefinedCondition, StanzaError};

use tokio_xmpp::jid::{BareJid, Jid};

use super::iq::Purpose;
use super::{Session, SessionEvent, new_id};
use crate::model::{RoomMessage, SyncedMessage};
use crate::xmpp::{convert, muc};

/// Where an archive catch-up starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatchUpFrom {
    /// After the newest archive id already stored; if the server no longer
    /// has that id (archives are pruned), from `fallback_since` instead.
    After { id: String, fallback_since: i64 },
    /// From this time (ms since the epoch), when no id is known yet.
    Since(i64),
    /// The newest page only: a room joined for the first time, whose
    /// whole past is not ours to download.
    Latest,
}

/// Whose archive a catch-up reads.
pub type Archive = Option<BareJid>;

/// The page size we ask for: servers cap it at what they allow (Prosody's
/// default is 50, ejabberd's 100), so asking for more costs nothing and
/// spares round trips where a server allows large pages.
const LARGEST_PAGE: usize = 1000;
/// What we ask for after a server refused [`LARGEST_PAGE`].
const MODEST_PAGE: usize = 100;
/// How much of a room's past a first join shows.
pub const LATEST_PAGE: usize = 50;

pub struct CatchUp {
    query_id: String,
    /// Where this page's query started, to fall back when its id is gone.
    from: CatchUpFrom,
    fetched: usize,
    page_size: usize,
    /// This page's messages, handed over together when the page ends.
    page: Vec<SyncedMessage>,
    /// The same for a room's archive.
    room_page: Vec<RoomMessage>,
}

impl CatchUp {
    /// Where to go when the resume point is gone; `None`: the newest page.
    fn fallback(&self) -> CatchUpFrom {
        match &self.from {
            CatchUpFrom::After { fallback_since, .. } => CatchUpFrom::Since(*fallback_since),
            other => other.clone(),
        }
    }
}

impl Session {
    pub(super) async fn start_catch_up(&mut self, archive: Archive, from: CatchUpFrom) {
        self.query_archive(archive, from, 0, LARGEST_PAGE).await;
    }

    fn catch_up_of(&mut self, archive: &Archive) -> Option<&mut CatchUp> {
        match archive {
            None => self.catch_up.as_mut(),
            Some(room) => self.room_catch_ups.get_mut(room),
        }
    }

    fn end_catch_up(&mut self, archive: &Archive) -> Option<CatchUp> {
        match archive {
            None => self.catch_up.take(),
            Some(room) => self.room_catch_ups.remove(room),
        }
    }

    async fn query_archive(
        &mut self,
        archive: Archive,
        from: CatchUpFrom,
        fetched: usize,
        page_size: usize,
    ) {
        let mut before = None;
        let mut page_size = page_size;
        let (after, form) = match &from {
            CatchUpFrom::After { id, .. } => (Some(id.clone()), None),
            CatchUpFrom::Latest => {
                // An empty <before/> asks for the last page (XEP-0059 §2.5).
                before = Some(String::new());
                page_size = page_size.min(LATEST_PAGE);
                (None, None)
            }
            CatchUpFrom::Since(ms) => {
                let start = chrono::DateTime::from_timestamp_millis(*ms)
                    .unwrap_or_default()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                let form = DataForm::new(
                    DataFormType::Submit,
                    ns::MAM,
                    vec![Field::text_single("start", &start)],
                );
                (None, Some(form))
            }
        };
        let query_id = new_id();
        let catch_up = CatchUp {
            query_id: query_id.clone(),
            from,
            fetched,
            page_size,
            page: Vec::new(),
            room_page: Vec::new(),
        };
        let to = archive.clone();
        match &archive {
            None => self.catch_up = Some(catch_up),
            Some(room) => {
                self.room_catch_ups.insert(room.clone(), catch_up);
            }
        }
        let query = Query {
            queryid: Some(QueryId(query_id)),
            node: None,
            form,
            set: Some(SetQuery {
                max: Some(page_size),
                before,
                after,
                index: None,
            }),
            flip_page: false,
        };
        let mut iq = Iq::from_set(new_id(), query);
        if let Some(room) = to {
            iq = iq.with_to(Jid::from(room));
        }
        self.request(iq, Purpose::ArchivePage(archive)).await;
    }

    /// Takes a message if it is a result of a running catch-up.
    pub(super) fn archive_result(&mut self, message: &Message) -> bool {
        if let Some(room) = message.from.as_ref().map(Jid::to_bare)
            && let Some(catch_up) = self.room_catch_ups.get_mut(&room)
        {
            return match muc::room_archive_result(message, &room, &catch_up.query_id) {
                Some(found) => {
                    catch_up.fetched += 1;
                    catch_up.room_page.extend(found);
                    true
                }
                None => false,
            };
        }
        let Some(catch_up) = self.catch_up.as_mut() else {
            return false;
        };
        match convert::archive_result(message, &self.account, &catch_up.query_id) {
            Some((_, synced)) => {
                catch_up.fetched += 1;
                catch_up.page.extend(synced);
                true
            }
            None => false,
        }
    }

    /// The server (or the room) answered a page query.
    pub(super) async fn archive_answer(
        &mut self,
        archive: Archive,
        answer: Result<Option<Element>, StanzaError>,
    ) {
        let account = self.account.clone();
        let Some(state) = self.catch_up_of(&archive) else {
            return;
        };
        match answer {
            Ok(payload) => self.archive_page_done(archive, payload).await,
            Err(error) if error.defined_condition == DefinedCondition::ItemNotFound => {
                if let CatchUpFrom::After { .. } = state.from {
                    // The archive was pruned past our resume point.
                    tracing::info!(%account, room = ?archive, "archive resume point is gone; catching up by time");
                    let (from, size) = (state.fallback(), state.page_size);
                    self.query_archive(archive, from, 0, size).await;
                } else {
                    self.archive_page_done(archive, None).await;
                }
            }
            Err(error)
                if state.page_size > MODEST_PAGE
                    && matches!(
                        error.defined_condition,
                        DefinedCondition::PolicyViolation
                            | DefinedCondition::BadRequest
                            | DefinedCondition::NotAcceptable
                    ) =>
            {
                // A server that refuses large pages instead of capping them.
                let (from, fetched) = (state.from.clone(), state.fetched);
                self.query_archive(archive, from, fetched, MODEST_PAGE)
                    .await;
            }
            Err(error) => {
                tracing::warn!(%account, room = ?archive, condition = ?error.defined_condition, "archive query failed");
                self.archive_page_done(archive, None).await;
            }
        }
    }

    /// One page ended: hand it over, then ask for the next or stop.
    async fn archive_page_done(&mut self, archive: Archive, payload: Option<Element>) {
        let Some(state) = self.catch_up_of(&archive) else {
            return;
        };
        let messages = std::mem::take(&mut state.page);
        let room_messages = std::mem::take(&mut state.room_page);
        let fin = payload.and_then(|p| Fin::try_from(p).ok());
        let (last, complete, total) = match &fin {
            Some(fin) => (fin.set.last.clone(), fin.complete, fin.set.count),
            None => (None, true, None),
        };
        // The newest page is all a first join reads.
        let complete = complete || last.is_none() || state.from == CatchUpFrom::Latest;
        let fallback_since = match state.fallback() {
            CatchUpFrom::Since(ms) => ms,
            _ => crate::model::now_ms(),
        };
        let (fetched, size) = (state.fetched, state.page_size);
        match &archive {
            None => {
                self.emit(SessionEvent::ArchivePage {
                    messages,
                    last: last.clone(),
                    complete,
                    fetched,
                    total,
                })
                .await;
            }
            Some(room) => {
                self.emit(SessionEvent::RoomArchivePage {
                    room: room.clone(),
                    messages: room_messages,
                    last: last.clone(),
                    complete,
                })
                .await;
            }
        }
        match last {
            Some(id) if !complete => {
                let from = CatchUpFrom::After { id, fallback_since };
                self.query_archive(archive, from, fetched, size).await;
            }
            _ => {
                self.end_catch_up(&archive);
            }
        }
    }

    /// A room's catch-up that cannot finish (we left it, or the stream
    /// was reset): dropped, so its results are no longer taken.
    pub(super) fn forget_room_catch_up(&mut self, room: &BareJid) {
        self.room_catch_ups.remove(room);
    }
}
