//! OMEMO over PEP in the session: publishing our device lists and bundles,
//! fetching those of contacts (and of our own other devices), device list
//! notifications, and sending encrypted messages the engine sealed. No
//! cryptography and no store here: the engine decides, the session carries.

use tokio_xmpp::jid::BareJid;
use tokio_xmpp::parsers::message::Message;

use super::iq::{Answer, Purpose};
use super::{Session, SessionEvent, new_id};
use crate::omemo::{Bundle, DeviceId, Profile};
use crate::xmpp::convert;
use crate::xmpp::omemo::pubsub;
use crate::xmpp::omemo::{DeviceList, Encrypted};

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
    /// An empty OMEMO message (no payload): session set-up or repair.
    pub empty: bool,
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

    pub(super) async fn omemo_publish_device_list(&mut self, list: DeviceList) {
        let profile = list.profile;
        let iq = pubsub::publish_device_list(new_id(), &list);
        self.request(
            iq,
            Purpose::OmemoPublish {
                profile,
                bundle: false,
            },
        )
        .await;
    }

    pub(super) async fn omemo_publish_bundle(&mut self, device: DeviceId, bundle: Bundle) {
        let profile = bundle.profile();
        let iq = pubsub::publish_bundle(new_id(), device, &bundle);
        self.request(
            iq,
            Purpose::OmemoPublish {
                profile,
                bundle: true,
            },
        )
        .await;
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
                m.empty,
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
                    Err(e) => Err(super::requests::condition_words(&e)),
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
                    Err(e) => Err(super::requests::condition_words(&e)),
                },
            },
            Purpose::OmemoPublish { profile, bundle } => OmemoEvent::Published {
                profile,
                bundle,
                error: answer.err().map(|e| {
                    format!(
                        "the server refused ({})",
                        super::requests::condition_words(&e)
                    )
                }),
            },
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
            Purpose::OmemoPublish { profile, bundle } => OmemoEvent::Published {
                profile,
                bundle,
                error: Some(reason),
            },
            _ => return,
        };
        self.emit(SessionEvent::Omemo(event)).await;
    }
}
