//! The store side of OMEMO, synchronous (the engine runs it on the
//! blocking pool): our device's keys, sessions built from bundles, sealing
//! a message for a set of devices and opening one that came. Each function
//! saves every session it changes before it returns, so what goes on the
//! wire is always covered by what the store holds.

use std::collections::BTreeMap;

use crate::model::SyncedMessage;
use crate::omemo::{
    self, Bundle, DeviceId, EncryptedMessage, IdentityKeyPair, KeyExchange, PreKeyPair, Profile,
    Session, SignedPreKeyPair,
};
use crate::store::{OmemoTrust, OwnDevice, Store, StoreError};
use crate::xmpp::omemo::{self as wire, Encrypted};

/// One-time prekeys kept published per namespace.
pub const PRE_KEYS: usize = 100;

/// A signed prekey older than this is replaced at the next login (the
/// previous one stays for messages on their way).
pub const SIGNED_PRE_KEY_LIFETIME_SECS: u64 = 7 * 24 * 3600;

pub const PROFILES: [Profile; 2] = [Profile::Omemo2, Profile::Legacy];

/// Why OMEMO could not do what was asked, in words a person can read.
#[derive(Debug, thiserror::Error)]
pub enum OmemoError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Protocol(#[from] omemo::Error),
    #[error("{0}")]
    Xml(#[from] wire::Error),
    #[error("none of the devices could be encrypted to")]
    NoSessions,
}

/// A device a message goes to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    pub jid: String,
    pub profile: Profile,
    pub device: DeviceId,
}

/// What sending to a chat needs, read from the store.
#[derive(Debug, Clone)]
pub struct Plan {
    pub setting: crate::store::ChatEncryption,
    /// The contact publishes at least one OMEMO device.
    pub contact_has_devices: bool,
    /// Trusted devices (the contact's and our own other ones), each in one
    /// namespace (OMEMO 2 where a device publishes both), with whether a
    /// session exists.
    pub targets: Vec<(Target, bool)>,
}

fn now_secs(now_ms: i64) -> u64 {
    u64::try_from(now_ms / 1000).unwrap_or(0)
}

/// Our device, made on first use with a device id that none of our
/// account's published lists has, and a current signed prekey and
/// [`PRE_KEYS`] one-time prekeys per namespace. Returns the device and the
/// bundle of each namespace, to publish.
pub fn set_up(
    store: &Store,
    account: &str,
    taken: &[DeviceId],
    now_ms: i64,
) -> Result<(OwnDevice, Vec<Bundle>), OmemoError> {
    let mut rng = rand::rng();
    let own = match store.omemo_own_device(account)? {
        Some(own) => own,
        None => {
            let id = loop {
                let id = DeviceId::generate(&mut rng);
                if !taken.contains(&id) {
                    break id;
                }
            };
            let identity = IdentityKeyPair::generate(&mut rng);
            store.omemo_create_own_device(account, id, &identity, now_ms)?
        }
    };
    let mut bundles = Vec::new();
    for profile in PROFILES {
        bundles.push(refresh_bundle(store, account, &own, profile, now_ms)?);
    }
    Ok((own, bundles))
}

/// Rotates the signed prekey if it is due, tops the one-time prekeys up
/// to [`PRE_KEYS`], and returns the bundle to publish.
pub fn refresh_bundle(
    store: &Store,
    account: &str,
    own: &OwnDevice,
    profile: Profile,
    now_ms: i64,
) -> Result<Bundle, OmemoError> {
    let mut rng = rand::rng();
    let now = now_secs(now_ms);
    let current = store.omemo_current_signed_pre_key(account, profile)?;
    let signed = match current {
        Some(spk) if now.saturating_sub(spk.created_at()) < SIGNED_PRE_KEY_LIFETIME_SECS => spk,
        previous => {
            let id = previous.map_or(1, |p| p.id().wrapping_add(1).max(1));
            let spk = SignedPreKeyPair::generate(&mut rng, &own.identity, profile, id, now);
            store.omemo_add_signed_pre_key(account, &spk, now_ms)?;
            spk
        }
    };
    let mut published = store.omemo_published_pre_keys(account, profile)?;
    if published.len() < PRE_KEYS {
        let missing = u32::try_from(PRE_KEYS - published.len()).unwrap_or(0);
        let ids = store.omemo_reserve_pre_key_ids(account, profile, missing)?;
        let fresh: Vec<PreKeyPair> = ids.map(|id| PreKeyPair::generate(&mut rng, id)).collect();
        store.omemo_add_pre_keys(account, profile, &fresh, now_ms)?;
        published.extend(fresh);
    }
    Ok(Bundle::new(&own.identity, &signed, &published))
}

/// How far a new identity key is trusted: blindly, unless the account has
/// a verified device (then the user decides).
fn trust_for_new(store: &Store, account: &str, jid: &str) -> Result<OmemoTrust, StoreError> {
    Ok(if store.omemo_has_verified_device(account, jid)? {
        OmemoTrust::Undecided
    } else {
        OmemoTrust::Blind
    })
}

/// Records the identity key a bundle or key exchange showed for a device:
/// a first sighting gets [`trust_for_new`]; a key different from the one
/// recorded is never trusted silently. Returns the trust now recorded.
fn note_identity(
    store: &Store,
    account: &str,
    jid: &str,
    device: DeviceId,
    key: &omemo::IdentityKey,
    now_ms: i64,
) -> Result<OmemoTrust, StoreError> {
    match store.omemo_identity(account, jid, key.profile(), device)? {
        Some((known, trust)) if known == *key => Ok(trust),
        Some(_) => {
            tracing::warn!(%account, %jid, device = device.get(), "a device showed a different identity key; it is not trusted until the user decides");
            store.omemo_set_identity(account, jid, device, key, OmemoTrust::Undecided, now_ms)?;
            Ok(OmemoTrust::Undecided)
        }
        None => {
            let trust = trust_for_new(store, account, jid)?;
            store.omemo_set_identity(account, jid, device, key, trust, now_ms)?;
            Ok(trust)
        }
    }
}

/// Starts a session with a device from its bundle (X3DH), unless its
/// identity is not trusted. Returns whether a session now exists.
pub fn start_session(
    store: &Store,
    account: &str,
    target: &Target,
    bundle: &Bundle,
    now_ms: i64,
) -> Result<bool, OmemoError> {
    let trust = note_identity(
        store,
        account,
        &target.jid,
        target.device,
        bundle.identity_key(),
        now_ms,
    )?;
    if !trust.is_trusted() {
        return Ok(false);
    }
    let Some(own) = store.omemo_own_device(account)? else {
        return Ok(false);
    };
    let mut rng = rand::rng();
    let pre_key = bundle.random_pre_key_id(&mut rng);
    let session = Session::initiate(&mut rng, &own.identity, bundle, pre_key)?;
    store.omemo_save_session(account, &target.jid, target.device, &session, now_ms)?;
    Ok(true)
}

/// Who gets a message to `peer`: the trusted active devices of the peer
/// and of our own account (but this device), one namespace each.
pub fn plan(store: &Store, account: &str, own: DeviceId, peer: &str) -> Result<Plan, OmemoError> {
    let setting = store.chat_encryption(account, peer)?;
    let mut targets = Vec::new();
    let mut contact_has_devices = false;
    for jid in [peer, account] {
        let devices = store.omemo_devices(account, jid)?;
        let mut chosen: BTreeMap<DeviceId, Profile> = BTreeMap::new();
        for d in devices.iter().filter(|d| d.active) {
            if jid == account && d.device_id == own {
                continue;
            }
            if jid == peer {
                contact_has_devices = true;
            }
            let untrusted = d.identity.is_some_and(|(_, t)| !t.is_trusted());
            if untrusted {
                continue;
            }
            let entry = chosen.entry(d.device_id).or_insert(d.profile);
            if d.profile == Profile::Omemo2 {
                *entry = Profile::Omemo2;
            }
        }
        for (device, profile) in chosen {
            let has = store
                .omemo_session(account, jid, profile, device)?
                .is_some();
            targets.push((
                Target {
                    jid: jid.to_owned(),
                    profile,
                    device,
                },
                has,
            ));
        }
    }
    Ok(Plan {
        setting,
        contact_has_devices,
        targets,
    })
}

/// Encrypts `body` and `push_info` (or, with neither, an empty OMEMO
/// message) for every target that has a session: one `<encrypted/>` per
/// namespace. Push info travels only in OMEMO 2's envelope (legacy OMEMO
/// encrypts a body and nothing else). Sessions are saved before this
/// returns.
#[allow(clippy::too_many_arguments)]
pub fn seal(
    store: &Store,
    account: &str,
    own: DeviceId,
    peer: &str,
    targets: &[Target],
    body: Option<&str>,
    push_info: Option<&str>,
    now_ms: i64,
) -> Result<Vec<Encrypted>, OmemoError> {
    let mut rng = rand::rng();
    let own_jid: crate::model::BareJid = account
        .parse()
        .map_err(|_| OmemoError::Protocol(omemo::Error::Malformed("account address")))?;
    let peer_jid: crate::model::BareJid = peer
        .parse()
        .map_err(|_| OmemoError::Protocol(omemo::Error::Malformed("peer address")))?;
    let mut out = Vec::new();
    for profile in PROFILES {
        let mine: Vec<&Target> = targets.iter().filter(|t| t.profile == profile).collect();
        if mine.is_empty() {
            continue;
        }
        let plaintext =
            match profile {
                Profile::Legacy => body.map(|b| b.as_bytes().to_vec()),
                Profile::Omemo2 if body.is_some() || push_info.is_some() => Some(
                    wire::seal_envelope(&mut rng, body, push_info, own_jid.clone(), &peer_jid)?,
                ),
                Profile::Omemo2 => None,
            };
        let (key_material, ciphertext, iv) = match plaintext {
            Some(plaintext) => {
                let p = omemo::encrypt_payload(&mut rng, profile, &plaintext)?;
                (p.key_material, Some(p.ciphertext), p.iv)
            }
            None => {
                let iv = (profile == Profile::Legacy).then(|| {
                    let mut iv = [0_u8; 12];
                    rand::Rng::fill_bytes(&mut rng, &mut iv);
                    iv
                });
                (omemo::empty_key_material(&mut rng, profile), None, iv)
            }
        };
        let mut keys: Vec<(String, DeviceId, EncryptedMessage)> = Vec::new();
        for t in mine {
            let Some(mut session) = store.omemo_session(account, &t.jid, profile, t.device)? else {
                continue;
            };
            let message = session.encrypt(&key_material)?;
            store.omemo_save_session(account, &t.jid, t.device, &session, now_ms)?;
            keys.push((t.jid.clone(), t.device, message));
        }
        if keys.is_empty() {
            continue;
        }
        out.push(match profile {
            Profile::Legacy => Encrypted::legacy(
                own,
                keys.into_iter().map(|(_, d, m)| (d, m)),
                iv.unwrap_or_default(),
                ciphertext,
            ),
            Profile::Omemo2 => Encrypted::omemo2(
                own,
                keys.into_iter()
                    .filter_map(|(j, d, m)| j.parse().ok().map(|j| (j, d, m))),
                ciphertext,
            ),
        });
    }
    if out.is_empty() {
        return Err(OmemoError::NoSessions);
    }
    Ok(out)
}

/// What an encrypted message turned out to be.
#[derive(Debug)]
pub enum Opened {
    /// Decrypted: the text (none for an empty OMEMO message) and push info
    /// from an OMEMO 2 envelope.
    Message {
        body: Option<String>,
        push_info: Option<String>,
        /// The sender started a new session with this message (a key
        /// exchange we answered): it waits to hear from us.
        new_session: Option<Target>,
        /// A one-time prekey it used for the first time: replace it.
        consumed: Option<Profile>,
    },
    /// A copy of a message already decrypted (its keys are spent).
    Duplicate,
    /// It could not be decrypted.
    Failed(Failure),
}

/// A message that could not be decrypted, with what to tell the user.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The sending device.
    pub from: Target,
    /// Why, in plain words.
    pub reason: String,
    /// A new session would help (it would not for a forgery).
    pub repair: bool,
    /// The sender did not encrypt for our device: its session (if any) is
    /// fine, it does not know we are listed.
    pub not_for_us: bool,
}

/// Decrypts an encrypted message that reached our device. `message.sender`
/// is the stanza's sender: the sending device belongs to its bare JID.
pub fn open(
    store: &Store,
    account: &str,
    own: DeviceId,
    message: &SyncedMessage,
    now_ms: i64,
) -> Result<Opened, OmemoError> {
    let sender = message.sender.to_bare();
    let sender_str = sender.to_string();
    let account_jid: crate::model::BareJid = account
        .parse()
        .map_err(|_| OmemoError::Protocol(omemo::Error::Malformed("account address")))?;
    // OMEMO 2 first where the sender wrote both.
    let mut elements: Vec<&Encrypted> = message.encrypted.iter().collect();
    elements.sort_by_key(|e| e.profile() != Profile::Omemo2);
    let Some(first) = elements.first() else {
        return Err(OmemoError::NoSessions);
    };
    // Our own message, back to us through our bare JID (an empty message
    // to our other devices goes there).
    if sender_str == account && elements.iter().any(|e| e.sender_device() == own) {
        return Ok(Opened::Duplicate);
    }
    let chosen = elements
        .iter()
        .find_map(|e| e.key_for(&account_jid, own).map(|k| (*e, k)));
    let Some((element, key)) = chosen else {
        if elements.iter().all(|e| e.payload().is_none()) {
            // An empty message for other devices (a session answer or
            // repair, or its carbon): nothing was meant for us.
            return Ok(Opened::Message {
                body: None,
                push_info: None,
                new_session: None,
                consumed: None,
            });
        }
        return Ok(Opened::Failed(Failure {
            from: Target {
                jid: sender_str,
                profile: first.profile(),
                device: first.sender_device(),
            },
            reason: format!(
                "it was not encrypted for this device (Sotto's device {})",
                own.get()
            ),
            repair: true,
            not_for_us: true,
        }));
    };
    let profile = element.profile();
    let from = Target {
        jid: sender_str.clone(),
        profile,
        device: element.sender_device(),
    };
    let failed = |reason: String, repair: bool| {
        Ok(Opened::Failed(Failure {
            from: from.clone(),
            reason,
            repair,
            not_for_us: false,
        }))
    };
    let mut rng = rand::rng();
    let existing = store.omemo_session(account, &sender_str, profile, from.device)?;
    let mut new_session = None;
    let mut consumed = None;
    let (key_material, session) = if key.key_exchange {
        let kex = match KeyExchange::parse(profile, &key.data) {
            Ok(k) => k,
            Err(e) => return failed(format!("its key exchange is malformed ({e})"), true),
        };
        match existing.filter(|s| s.was_built_from(&kex)) {
            Some(mut session) => match session.decrypt_key_exchange(&mut rng, &kex) {
                Ok(km) => (km, session),
                Err(omemo::Error::Duplicate) => return Ok(Opened::Duplicate),
                Err(e) => return failed(words(&e), true),
            },
            None => {
                let keys = store.omemo_pre_keys_for(
                    account,
                    profile,
                    kex.signed_pre_key_id(),
                    kex.pre_key_id(),
                )?;
                let own_device = store
                    .omemo_own_device(account)?
                    .ok_or(OmemoError::NoSessions)?;
                let responded = match Session::respond(&mut rng, &own_device.identity, &keys, &kex)
                {
                    Ok(r) => r,
                    Err(e) => return failed(words(&e), true),
                };
                note_identity(
                    store,
                    account,
                    &sender_str,
                    from.device,
                    responded.session.remote_identity(),
                    now_ms,
                )?;
                if let Some(id) = responded.consumed_pre_key_id
                    && store.omemo_mark_pre_key_used(account, profile, id, now_ms)?
                {
                    consumed = Some(profile);
                }
                new_session = Some(from.clone());
                (responded.plaintext, responded.session)
            }
        }
    } else {
        let Some(mut session) = existing else {
            return failed(
                "Sotto has no encrypted session with that device".to_owned(),
                true,
            );
        };
        match session.decrypt(&mut rng, &key.data) {
            Ok(km) => (km, session),
            Err(omemo::Error::Duplicate) => return Ok(Opened::Duplicate),
            Err(e) => return failed(words(&e), true),
        }
    };
    // A device that writes to us is one we know of, listed or not.
    store.omemo_note_device(account, &sender_str, profile, from.device, now_ms)?;
    let Some(ciphertext) = element.payload() else {
        store.omemo_save_session(account, &sender_str, from.device, &session, now_ms)?;
        return Ok(Opened::Message {
            body: None,
            push_info: None,
            new_session,
            consumed,
        });
    };
    let plaintext = match omemo::decrypt_payload(profile, &key_material, ciphertext, element.iv()) {
        Ok(p) => p,
        // The session is fine (the ratchet step verified); the payload is
        // not: keep the session, say so, and do not tear it down.
        Err(e) => {
            store.omemo_save_session(account, &sender_str, from.device, &session, now_ms)?;
            return failed(format!("its content is damaged ({e})"), false);
        }
    };
    store.omemo_save_session(account, &sender_str, from.device, &session, now_ms)?;
    let (body, push_info) = match profile {
        Profile::Legacy => match String::from_utf8(plaintext.to_vec()) {
            Ok(body) => (Some(body), None),
            Err(_) => return failed("its text is not valid UTF-8".to_owned(), false),
        },
        Profile::Omemo2 => match wire::open_envelope(&plaintext, &sender) {
            Ok(content) => (content.body, content.push_info),
            Err(wire::Error::EnvelopeFromMismatch { claimed, .. }) => {
                return failed(
                    format!(
                        "it claims to have been written by {claimed}; Sotto does not show \
                         words put in someone else's mouth"
                    ),
                    false,
                );
            }
            Err(e) => return failed(format!("its content is unreadable ({e})"), false),
        },
    };
    Ok(Opened::Message {
        body,
        push_info,
        new_session,
        consumed,
    })
}

/// A protocol error in plain words.
fn words(e: &omemo::Error) -> String {
    match e {
        omemo::Error::UnknownPreKey(_) | omemo::Error::UnknownSignedPreKey(_) => {
            "it uses a key this device no longer has".to_owned()
        }
        omemo::Error::MacMismatch
        | omemo::Error::BadCiphertext
        | omemo::Error::NoReceivingChain => {
            "the encrypted session with that device is out of step".to_owned()
        }
        other => format!("the encrypted session with that device failed ({other})"),
    }
}

/// The notice stored in the chat for a message that could not be
/// decrypted: it names the device and says what happens next.
pub fn notice(account: &str, failure: &Failure, repairing: bool) -> String {
    let whose = if failure.from.jid == account {
        format!("your own device {}", failure.from.device.get())
    } else {
        format!(
            "{}'s device {}",
            failure.from.jid,
            failure.from.device.get()
        )
    };
    let generation = match failure.from.profile {
        Profile::Legacy => "OMEMO",
        Profile::Omemo2 => "OMEMO 2",
    };
    let mut text = format!(
        "An encrypted message from {whose} ({generation}) could not be decrypted: {}.",
        failure.reason
    );
    if repairing && failure.not_for_us {
        text.push_str(
            " Sotto has made sure this device is in your published device list, so that \
             device can include it from now on; ask for this one to be sent again.",
        );
    } else if repairing {
        text.push_str(
            " Sotto has started a new encrypted session with that device, so its next \
             messages should be readable; ask for this one to be sent again.",
        );
    }
    text
}
