//! Catching up with our server's archive (XEP-0313) after logging in:
//! page after page from the resume point, each page handed over whole so
//! the engine stores it in one transaction.

use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::data_forms::{DataForm, DataFormType, Field};
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::parsers::mam::{Fin, Query, QueryId};
use tokio_xmpp::parsers::message::Message;
use tokio_xmpp::parsers::ns;
use tokio_xmpp::parsers::rsm::SetQuery;
use tokio_xmpp::parsers::stanza_error::{DefinedCondition, StanzaError};

use super::iq::Purpose;
use super::{Session, SessionEvent, new_id};
use crate::model::SyncedMessage;
use crate::xmpp::convert;

/// Where an archive catch-up starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatchUpFrom {
    /// After the newest archive id already stored; if the server no longer
    /// has that id (archives are pruned), from `fallback_since` instead.
    After { id: String, fallback_since: i64 },
    /// From this time (ms since the epoch), when no id is known yet.
    Since(i64),
}

/// The page size we ask for: servers cap it at what they allow (Prosody's
/// default is 50, ejabberd's 100), so asking for more costs nothing and
/// spares round trips where a server allows large pages.
const LARGEST_PAGE: usize = 1000;
/// What we ask for after a server refused [`LARGEST_PAGE`].
const MODEST_PAGE: usize = 100;

pub struct CatchUp {
    query_id: String,
    /// Where this page's query started, to fall back when its id is gone.
    from: CatchUpFrom,
    fetched: usize,
    page_size: usize,
    /// This page's messages, handed over together when the page ends.
    page: Vec<SyncedMessage>,
}

impl CatchUp {
    fn fallback_since(&self) -> i64 {
        match &self.from {
            CatchUpFrom::After { fallback_since, .. } => *fallback_since,
            CatchUpFrom::Since(ms) => *ms,
        }
    }
}

impl Session {
    pub(super) async fn start_catch_up(&mut self, from: CatchUpFrom) {
        self.query_archive(from, 0, LARGEST_PAGE).await;
    }

    async fn query_archive(&mut self, from: CatchUpFrom, fetched: usize, page_size: usize) {
        let (after, form) = match &from {
            CatchUpFrom::After { id, .. } => (Some(id.clone()), None),
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
        self.catch_up = Some(CatchUp {
            query_id: query_id.clone(),
            from,
            fetched,
            page_size,
            page: Vec::new(),
        });
        let query = Query {
            queryid: Some(QueryId(query_id)),
            node: None,
            form,
            set: Some(SetQuery {
                max: Some(page_size),
                before: None,
                after,
                index: None,
            }),
            flip_page: false,
        };
        self.request(Iq::from_set(new_id(), query), Purpose::ArchivePage)
            .await;
    }

    /// Takes a message if it is a result of the running catch-up.
    pub(super) fn archive_result(&mut self, message: &Message) -> bool {
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

    /// The server answered a page query.
    pub(super) async fn archive_answer(&mut self, answer: Result<Option<Element>, StanzaError>) {
        let Some(state) = self.catch_up.as_ref() else {
            return;
        };
        match answer {
            Ok(payload) => self.archive_page_done(payload).await,
            Err(error) if error.defined_condition == DefinedCondition::ItemNotFound => {
                if let CatchUpFrom::After { .. } = state.from {
                    // The server pruned our resume point: go by time.
                    tracing::info!(account = %self.account, "archive resume point is gone; catching up by time");
                    let (since, size) = (state.fallback_since(), state.page_size);
                    self.query_archive(CatchUpFrom::Since(since), 0, size).await;
                } else {
                    self.archive_page_done(None).await;
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
                self.query_archive(from, fetched, MODEST_PAGE).await;
            }
            Err(error) => {
                tracing::warn!(account = %self.account, condition = ?error.defined_condition, "archive query failed");
                self.archive_page_done(None).await;
            }
        }
    }

    /// One page ended: hand it over, then ask for the next or stop.
    async fn archive_page_done(&mut self, payload: Option<Element>) {
        let Some(state) = self.catch_up.as_mut() else {
            return;
        };
        let messages = std::mem::take(&mut state.page);
        let fin = payload.and_then(|p| Fin::try_from(p).ok());
        let (last, complete, total) = match &fin {
            Some(fin) => (fin.set.last.clone(), fin.complete, fin.set.count),
            None => (None, true, None),
        };
        let complete = complete || last.is_none();
        let (fetched, fallback_since, size) =
            (state.fetched, state.fallback_since(), state.page_size);
        self.emit(SessionEvent::ArchivePage {
            messages,
            last: last.clone(),
            complete,
            fetched,
            total,
        })
        .await;
        match last {
            Some(id) if !complete => {
                let from = CatchUpFrom::After { id, fallback_since };
                self.query_archive(from, fetched, size).await;
            }
            _ => self.catch_up = None,
        }
    }
}
