//! OMEMO over PEP in the session: publishing our device lists and bundles,
//! fetching those of contacts (and of our own other devices), device list
//! notifications, and sending encrypted messages the engine sealed. No
//! cryptography and no store here: the engine decides, the session carries.

use tokio_xmpp::jid::BareJid;
use tokio_xmpp::parsers::message::Message;
use tokio_xmpp::parsers::stanza_error::{DefinedCondition, StanzaError};

use super::iq::{Answer, PublishAttempt, Purpose};
use super::requests::condition_words;
use super::{Session, SessionEvent, new_id};
use crate::omemo::{Bundle, DeviceId, Profile};
use crate::xmpp::convert;
use crate::xmpp::omemo::pubsub::{self, Publication, Size};
use crate::xmpp::omemo::{DeviceList, Encrypted};

/// XEP-0060 §7.1.5's refusal of publish-options the node does not match:
/// `conflict` with this pubsub condition.
fn precondition_not_met(error: &StanzaError) -> bool {
    error.defined_condition == DefinedCondition::Conflict
        && error.other.as_ref().is_some_and(|e| {
            e.is(
                "precondition-not-met",
                "http://jabber.org/protocol/pubsub#errors",
            )
        })
}

/// How often a publication whose node the server failed to create is
/// tried again.
const PUBLISH_RETRIES: u8 = 2;

/// What a sealed message is, which decides what travels beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedKind {
    /// Something the person wrote: the fixed fallback body, hints,
    /// receipt request and markers.
    Message,
    /// No payload: a session set-up or repair, kept out of archives.
    Empty,
    /// A payload with nothing to show (push info): no body, but archived,
    /// so it reaches a contact who is offline now.
    Silent,
}

/// An encrypted message the engine sealed, ready for the wire.
#[derive(Debug, Clone)]
pub struct SealedMessage {
    /// The stanza id, also its origin-id; the id of an outbox message
    /// when `tracked`.
    pub id: String,
    pub to: BareJid,
    /// A correction of our message with this id (XEP-0308).
    pub replaces: Option<String>,
    /// One element per namespace.
    pub encrypted: Vec<Encrypted>,
    pub kind: SealedKind,
    /// Follow its delivery (an outbox message or a correction).
    pub tracked: bool,
}

/// What the session reports about OMEMO's PEP nodes.
#[derive(Debug)]
pub enum OmemoEvent {
    /// An account's device list of one namespace, fetched or notified; an
    /// account without the node has an empty list. `Err`: the fetch
    /// failed (the reason, readable).
    DeviceList {
        jid: BareJid,
        profile: Profile,
        list: Result<DeviceList, String>,
    },
    /// A device's bundle (verified), or why there is none.
    Bundle {
        jid: BareJid,
        profile: Profile,
        device: DeviceId,
        bundle: Result<Bundle, String>,
    },
    /// Our device list or bundle was published, or refused.
    Published {
        profile: Profile,
        bundle: bool,
        error: Option<String>,
    },
}

impl Session {
    pub(super) async fn omemo_fetch_device_list(&mut self, jid: BareJid, profile: Profile) {
        let iq = pubsub::fetch_device_list(new_id(), &jid, profile);
        self.request(iq, Purpose::OmemoDeviceList { jid, profile })
            .await;
    }

    pub(super) async fn omemo_fetch_bundle(
        &mut self,
        jid: BareJid,
        profile: Profile,
        device: DeviceId,
    ) {
        let iq = pubsub::fetch_bundle(new_id(), &jid, profile, device);
        self.request(
            iq,
            Purpose::OmemoBundle {
                jid,
                profile,
                device,
            },
        )
        .await;
    }

    /// Publishes now, or after the publication in flight; a queued one
    /// for the same node gives way to this newer one.
    pub(super) async fn omemo_publish(&mut self, publication: Publication) {
        if self.iqs.publishing() {
            self.omemo_queue.retain(|q| !q.same_item(&publication));
            self.omemo_queue.push_back(publication);
            return;
        }
        self.publish_attempt(PublishAttempt {
            publication,
            publish_size: Size::Max,
            configure_size: Size::Max,
            configured: false,
            retries: 0,
        })
        .await;
    }

    /// The next queued publication, once none is in flight.
    async fn next_publication(&mut self) {
        if !self.iqs.publishing()
            && let Some(next) = self.omemo_queue.pop_front()
        {
            // Boxed: a request can fail an expired publication, which
            // starts the next one, which makes a request.
            Box::pin(self.omemo_publish(next)).await;
        }
    }

    async fn publish_attempt(&mut self, attempt: PublishAttempt) {
        let iq = attempt.publication.publish(new_id(), attempt.publish_size);
        self.request(iq, Purpose::OmemoPublish(Box::new(attempt)))
            .await;
    }

    async fn configure_attempt(&mut self, attempt: PublishAttempt, then_publish: bool) {
        let iq = attempt
            .publication
            .configure(new_id(), attempt.configure_size);
        self.request(
            iq,
            Purpose::OmemoConfigure {
                attempt: Box::new(attempt),
                then_publish,
            },
        )
        .await;
    }

    /// The answer to a publication: done (the event to emit), or `None`
    /// while what servers accept instead is tried: a node made by another
    /// client with other settings is reconfigured (XEP-0060 §7.1.5), and
    /// a size the server cannot read in publish-options is left out and
    /// configured after.
    async fn published(
        &mut self,
        mut attempt: PublishAttempt,
        answer: Answer,
    ) -> Option<OmemoEvent> {
        let (profile, bundle) = (
            attempt.publication.profile(),
            attempt.publication.is_bundle(),
        );
        let error = match answer {
            Ok(_) => {
                if attempt.publish_size == Size::Unsaid && !attempt.configured {
                    self.configure_attempt(attempt, false).await;
                }
                None
            }
            Err(e) if precondition_not_met(&e) && !attempt.configured => {
                tracing::info!(account = %self.account, ?profile, "an OMEMO node has other settings: configuring it");
                attempt.configured = true;
                self.configure_attempt(attempt, true).await;
                return None;
            }
            Err(e) if attempt.publication.asks_max_items() && attempt.publish_size == Size::Max => {
                tracing::info!(account = %self.account, condition = %condition_words(&e), "publish-options with a size refused: publishing without");
                attempt.publish_size = Size::Unsaid;
                self.publish_attempt(attempt).await;
                return None;
            }
            // ejabberd auto-creates a missing node on publish and answers
            // item-not-found when that creation fails, as it does when
            // its transaction deadlocked with another user's.
            Err(e)
                if e.defined_condition == DefinedCondition::ItemNotFound
                    && attempt.retries < PUBLISH_RETRIES =>
            {
                tracing::info!(account = %self.account, ?profile, bundle, "OMEMO node not created on publish: publishing again");
                attempt.retries += 1;
                self.publish_attempt(attempt).await;
                return None;
            }
            Err(e) => Some(format!("the server refused ({})", condition_words(&e))),
        };
        Some(OmemoEvent::Published {
            profile,
            bundle,
            error,
        })
    }

    /// The answer to a node configuration: the publication goes again, or
    /// its refusal is final (`Some`); a size the node could not take is
    /// only logged, as the item is out.
    async fn configured(
        &mut self,
        mut attempt: PublishAttempt,
        then_publish: bool,
        answer: Answer,
    ) -> Option<OmemoEvent> {
        let e = match answer {
            Ok(_) if then_publish => {
                self.publish_attempt(attempt).await;
                return None;
            }
            // Sized now; until then the node kept one item, so another of
            // our devices may have replaced ours: publish it once more.
            Ok(_) => {
                attempt.configured = true;
                self.publish_attempt(attempt).await;
                return None;
            }
            Err(e) => e,
        };
        if attempt.publication.asks_max_items() && attempt.configure_size == Size::Max {
            attempt.configure_size = Size::Number;
            self.configure_attempt(attempt, then_publish).await;
            return None;
        }
        let profile = attempt.publication.profile();
        if !then_publish {
            tracing::warn!(account = %self.account, ?profile, condition = %condition_words(&e), "the server would not size the OMEMO bundles node: another device's bundle may replace ours");
            return None;
        }
        Some(OmemoEvent::Published {
            profile,
            bundle: attempt.publication.is_bundle(),
            error: Some(format!(
                "the server refused to change the node's settings ({})",
                condition_words(&e)
            )),
        })
    }

    pub(super) async fn send_sealed(&mut self, messages: Vec<SealedMessage>) {
        for m in messages {
            if m.tracked && self.in_flight.holds(&m.id) {
                continue;
            }
            let stanza = convert::encrypted_stanza(
                &m.to,
                &m.id,
                m.replaces.as_deref(),
                &m.encrypted,
                m.kind,
            );
            let token = self.send(stanza).await;
            if m.tracked {
                self.in_flight
                    .track(m.id, token, self.acks, self.events.clone());
            }
        }
    }

    /// A device list notification (PEP +notify), if this message is one.
    pub(super) async fn omemo_event_in(&self, message: &Message) -> bool {
        let Some((jid, list)) = pubsub::device_list_from_event(message) else {
            return false;
        };
        let profile = match &list {
            Ok(l) => l.profile,
            // The node told us which generation; an unreadable list is
            // logged and dropped (the last good one stays).
            Err(e) => {
                tracing::info!(account = %self.account, %jid, error = %e, "unreadable OMEMO device list ignored");
                return true;
            }
        };
        self.emit(SessionEvent::Omemo(OmemoEvent::DeviceList {
            jid,
            profile,
            list: list.map_err(|e| e.to_string()),
        }))
        .await;
        true
    }

    /// The answer to one of our OMEMO requests.
    pub(super) async fn omemo_answered(&mut self, purpose: Purpose, answer: Answer) {
        let event = match purpose {
            Purpose::OmemoDeviceList { jid, profile } => {
                let list = match answer {
                    Ok(payload) => {
                        pubsub::device_list_from_result(profile, payload).map_err(|e| e.to_string())
                    }
                    // No node: nobody published a list of this kind.
                    Err(e)
                        if e.defined_condition
                            == tokio_xmpp::parsers::stanza_error::DefinedCondition::ItemNotFound =>
                    {
                        Ok(DeviceList {
                            profile,
                            devices: Vec::new(),
                        })
                    }
                    Err(e) => Err(condition_words(&e)),
                };
                OmemoEvent::DeviceList { jid, profile, list }
            }
            Purpose::OmemoBundle {
                jid,
                profile,
                device,
            } => OmemoEvent::Bundle {
                jid,
                profile,
                device,
                bundle: match answer {
                    Ok(payload) => {
                        pubsub::bundle_from_result(profile, payload).map_err(|e| e.to_string())
                    }
                    Err(e) => Err(condition_words(&e)),
                },
            },
            Purpose::OmemoPublish(attempt) => {
                let event = self.published(*attempt, answer).await;
                self.next_publication().await;
                let Some(event) = event else {
                    return;
                };
                event
            }
            Purpose::OmemoConfigure {
                attempt,
                then_publish,
            } => {
                let event = self.configured(*attempt, then_publish, answer).await;
                self.next_publication().await;
                let Some(event) = event else {
                    return;
                };
                event
            }
            _ => return,
        };
        self.emit(SessionEvent::Omemo(event)).await;
    }

    /// An OMEMO request that will not be answered.
    pub(super) async fn omemo_request_failed(&mut self, purpose: Purpose, reason: String) {
        let event = match purpose {
            Purpose::OmemoDeviceList { jid, profile } => OmemoEvent::DeviceList {
                jid,
                profile,
                list: Err(reason),
            },
            Purpose::OmemoBundle {
                jid,
                profile,
                device,
            } => OmemoEvent::Bundle {
                jid,
                profile,
                device,
                bundle: Err(reason),
            },
            // Only sizing a node already published to: nothing to report.
            Purpose::OmemoConfigure {
                then_publish: false,
                ..
            } => {
                self.next_publication().await;
                return;
            }
            Purpose::OmemoPublish(attempt) | Purpose::OmemoConfigure { attempt, .. } => {
                self.next_publication().await;
                OmemoEvent::Published {
                    profile: attempt.publication.profile(),
                    bundle: attempt.publication.is_bundle(),
                    error: Some(reason),
                }
            }
            _ => return,
        };
        self.emit(SessionEvent::Omemo(event)).await;
    }
}
