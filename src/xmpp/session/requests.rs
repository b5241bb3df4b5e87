//! IQs: answers to our requests (matched by the tracker) and requests from
//! others (pings, disco, roster and block pushes), which only our own
//! account may make where they change our state.

use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::parsers::ns;
use tokio_xmpp::parsers::roster::{Roster, Subscription as RosterSubscription};
use tokio_xmpp::parsers::stanza_error::{DefinedCondition, ErrorType, StanzaError};

use super::disco;
use super::iq::{self, Answer, Purpose};
use super::{Session, SessionEvent};
use crate::model::PushSource;
use crate::xmpp::{convert, muc, pep};

impl Session {
    pub(super) async fn handle_iq(&mut self, iq: Iq) {
        if let Some(purpose) = self.iqs.take(&iq, &self.account)
            && let Some(answer) = iq::answer_of(iq.clone())
        {
            return self.answered(purpose, answer).await;
        }
        match iq {
            Iq::Set {
                from, id, payload, ..
            } if payload.ns() == ns::BLOCKING => {
                if !self.is_own_account(from.as_ref()) {
                    return self
                        .reply_error(from, id, DefinedCondition::Forbidden)
                        .await;
                }
                match convert::block_push(payload) {
                    Ok((jids, blocked)) => {
                        self.reply(from, id, None).await;
                        self.block_push(jids, blocked).await;
                    }
                    Err(e) => {
                        tracing::debug!(account = %self.account, error = %e, "unreadable block push");
                        self.reply_error(from, id, DefinedCondition::BadRequest)
                            .await;
                    }
                }
            }
            Iq::Set {
                from, id, payload, ..
            } if payload.is("query", ns::ROSTER) => {
                if !self.is_own_account(from.as_ref()) {
                    return self
                        .reply_error(from, id, DefinedCondition::Forbidden)
                        .await;
                }
                self.roster_push(payload).await;
                self.reply(from, id, None).await;
            }
            Iq::Get {
                from, id, payload, ..
            } if payload.is("ping", ns::PING) => {
                self.reply(from, id, None).await;
            }
            Iq::Get {
                from, id, payload, ..
            } if payload.is("query", ns::DISCO_INFO) => {
                // Asked by our caps node (`node#ver`) or plainly.
                let node = payload.attr("node").map(str::to_owned);
                self.reply(from, id, Some(disco::info(node).into())).await;
            }
            Iq::Get { from, id, .. } | Iq::Set { from, id, .. } => {
                self.reply_error(from, id, DefinedCondition::ServiceUnavailable)
                    .await;
            }
            // Answers to nothing we asked (or from someone we did not ask).
            Iq::Result { .. } | Iq::Error { .. } => {}
        }
    }

    /// One of our requests got its answer.
    async fn answered(&mut self, purpose: Purpose, answer: Answer) {
        match purpose {
            Purpose::Roster => match answer {
                Ok(payload) => match payload.map(Roster::try_from) {
                    Some(Ok(roster)) => {
                        let contacts = roster
                            .items
                            .into_iter()
                            .map(convert::contact_from_item)
                            .collect();
                        self.emit(SessionEvent::Roster(contacts)).await;
                    }
                    // An empty result means an empty roster.
                    None => self.emit(SessionEvent::Roster(Vec::new())).await,
                    Some(Err(e)) => {
                        tracing::warn!(account = %self.account, error = %e, "unreadable roster");
                        self.emit(SessionEvent::RosterFailed(
                            "the server sent a contact list Sotto could not read".into(),
                        ))
                        .await;
                    }
                },
                Err(error) => {
                    tracing::warn!(account = %self.account, condition = ?error.defined_condition, "roster request failed");
                    self.emit(SessionEvent::RosterFailed(format!(
                        "the server refused to send the contact list ({})",
                        condition_words(&error)
                    )))
                    .await;
                }
            },
            Purpose::ArchivePage(archive) => self.archive_answer(archive, answer).await,
            Purpose::Blocklist => match answer {
                Ok(Some(payload)) => match convert::blocklist(payload) {
                    Ok(jids) => self.emit(SessionEvent::BlockList(jids)).await,
                    Err(e) => {
                        tracing::warn!(account = %self.account, error = %e, "unreadable block list");
                    }
                },
                Ok(None) => self.emit(SessionEvent::BlockList(Vec::new())).await,
                Err(error) => {
                    tracing::info!(account = %self.account, condition = ?error.defined_condition, "the server has no block list");
                }
            },
            Purpose::Block { jid, blocked } => {
                // Success shows as the server's push; a refusal leaves the
                // address as it was.
                if let Err(error) = answer {
                    tracing::warn!(account = %self.account, %jid, blocked, condition = ?error.defined_condition, "blocking refused");
                    self.emit(SessionEvent::Blocked {
                        jid,
                        blocked: !blocked,
                    })
                    .await;
                }
            }
            Purpose::PushPublish | Purpose::PushRetract => {
                let published = purpose == Purpose::PushPublish;
                self.emit(SessionEvent::PushInfoPublished {
                    published,
                    error: answer
                        .err()
                        .map(|e| format!("the server refused ({})", condition_words(&e))),
                })
                .await;
            }
            Purpose::PushFetch(contact) => {
                let json = answer.ok().and_then(pep::from_items_result);
                self.emit(SessionEvent::PushInfo {
                    contact,
                    json,
                    source: PushSource::Pep,
                })
                .await;
            }
            Purpose::OmemoDeviceList { .. }
            | Purpose::OmemoBundle { .. }
            | Purpose::OmemoPublish(_)
            | Purpose::OmemoConfigure { .. } => self.omemo_answered(purpose, answer).await,
            Purpose::SelfPing(room) => self.self_ping_answered(room, answer).await,
            Purpose::RoomInfo(room) => {
                let info = answer.ok().flatten().and_then(|p| muc::room_info(&p));
                if let Some(info) = info {
                    self.emit(SessionEvent::RoomInfo { room, info }).await;
                }
            }
            Purpose::Moderate { room, what } => {
                let error = answer.err().map(|e| match e.defined_condition {
                    DefinedCondition::Forbidden | DefinedCondition::NotAllowed => {
                        "you are not allowed to do that in this room".to_owned()
                    }
                    DefinedCondition::ItemNotFound | DefinedCondition::NotAcceptable => {
                        "nobody by that name is in the room".to_owned()
                    }
                    other => format!("the room refused ({other:?})"),
                });
                self.emit(SessionEvent::Moderated { room, what, error })
                    .await;
            }
            Purpose::RoomConfigure {
                room,
                nick,
                role,
                affiliation,
            } => {
                let error = answer
                    .err()
                    .map(|e| format!("the room refused its settings ({:?})", e.defined_condition));
                // In either case we are in (a room that refused its
                // settings keeps the service's).
                self.entered(SessionEvent::RoomJoined {
                    room: room.clone(),
                    nick,
                    created: true,
                    role,
                    affiliation,
                })
                .await;
                self.emit(SessionEvent::RoomConfigured { room, error })
                    .await;
            }
            Purpose::Bookmarks => self.bookmarks_answered(false, answer).await,
            Purpose::BookmarksPrivate => self.bookmarks_answered(true, answer).await,
            Purpose::BookmarkPublish(step) => self.bookmark_step_answered(step, answer).await,
            Purpose::Ignore => {}
        }
    }

    /// A request that will not be answered (timeout, or a new stream).
    pub(super) async fn request_failed(&mut self, purpose: Purpose, reason: String) {
        match purpose {
            Purpose::Roster => self.emit(SessionEvent::RosterFailed(reason)).await,
            Purpose::PushFetch(contact) => {
                self.emit(SessionEvent::PushInfo {
                    contact,
                    json: None,
                    source: PushSource::Pep,
                })
                .await;
            }
            Purpose::PushPublish | Purpose::PushRetract => {
                self.emit(SessionEvent::PushInfoPublished {
                    published: purpose == Purpose::PushPublish,
                    error: Some(reason),
                })
                .await;
            }
            Purpose::ArchivePage(None) => {
                if self.catch_up.is_some() {
                    tracing::warn!(account = %self.account, %reason, "archive catch-up interrupted");
                    self.catch_up = None;
                }
            }
            Purpose::ArchivePage(Some(room)) => {
                if self.room_catch_ups.remove(&room).is_some() {
                    tracing::warn!(account = %self.account, %room, %reason, "room archive catch-up interrupted");
                    // The engine learns the page ended, so live messages
                    // move the room's resume point again.
                    self.emit(SessionEvent::RoomArchivePage {
                        room,
                        messages: Vec::new(),
                        last: None,
                        complete: true,
                    })
                    .await;
                }
            }
            Purpose::OmemoDeviceList { .. }
            | Purpose::OmemoBundle { .. }
            | Purpose::OmemoPublish(_)
            | Purpose::OmemoConfigure { .. } => self.omemo_request_failed(purpose, reason).await,
            Purpose::Bookmarks | Purpose::BookmarksPrivate => {
                self.emit(SessionEvent::Bookmarks(None)).await;
            }
            Purpose::Blocklist
            | Purpose::Block { .. }
            | Purpose::SelfPing(_)
            | Purpose::RoomInfo(_)
            | Purpose::RoomConfigure { .. }
            | Purpose::Moderate { .. }
            | Purpose::BookmarkPublish(_)
            | Purpose::Ignore => {}
        }
    }

    /// A block push from our server: an empty unblock unblocks everyone.
    async fn block_push(&mut self, jids: Vec<BareJid>, blocked: bool) {
        if jids.is_empty() && !blocked {
            self.emit(SessionEvent::BlockList(jids)).await;
            return;
        }
        for jid in jids {
            self.emit(SessionEvent::Blocked { jid, blocked }).await;
        }
    }

    async fn roster_push(&mut self, payload: Element) {
        let Ok(roster) = Roster::try_from(payload) else {
            tracing::debug!(account = %self.account, "unreadable roster push ignored");
            return;
        };
        for item in roster.items {
            let event = if item.subscription == RosterSubscription::Remove {
                SessionEvent::ContactRemoved(item.jid)
            } else {
                SessionEvent::ContactChanged(convert::contact_from_item(item))
            };
            self.emit(event).await;
        }
    }

    /// Roster and block pushes count only from our own account (RFC 6121
    /// §2.1.6); anyone else could forge them.
    fn is_own_account(&self, from: Option<&Jid>) -> bool {
        from.is_none_or(|f| f.to_bare() == self.account)
    }

    pub(super) async fn reply(&self, to: Option<Jid>, id: String, payload: Option<Element>) {
        self.send(Iq::Result {
            from: None,
            to,
            id,
            payload,
        })
        .await;
    }

    pub(super) async fn reply_error(
        &self,
        to: Option<Jid>,
        id: String,
        condition: DefinedCondition,
    ) {
        let error = StanzaError::new(ErrorType::Cancel, condition, "en", "");
        self.send(Iq::Error {
            from: None,
            to,
            id,
            error,
            payload: None,
        })
        .await;
    }
}

/// A stanza error's condition in words ("item not found").
pub(super) fn condition_words(error: &StanzaError) -> String {
    let debug = format!("{:?}", error.defined_condition);
    let mut words = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            words.push(' ');
        }
        words.extend(c.to_lowercase());
    }
    words
}
