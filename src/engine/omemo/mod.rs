//! OMEMO in an account's task: our device set up and published on each
//! fresh stream, contacts' device lists and bundles fetched as a message
//! needs them, outgoing messages sealed in order, incoming ones opened
//! before they are stored, and broken sessions repaired.
//!
//! Nothing here touches the socket: the account task hands the returned
//! [`SessionCommand`]s to its session. The cryptography and the store live
//! in [`crypto`], run on the blocking pool.

pub mod crypto;

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use self::crypto::{Opened, Plan, Target};
use super::Event;
use super::pipeline::Pipeline;
use crate::model::{AccountId, BareJid, OutgoingMessage, Protection, SyncedMessage};
use crate::omemo::{DeviceId, Profile};
use crate::store::{ChatEncryption, OwnDevice, now_ms};
use crate::xmpp::omemo::{Device, DeviceList};
use crate::xmpp::{OmemoEvent, SealedKind, SealedMessage, SessionCommand};

/// A contact's device list read empty is read again after this long when
/// we write to them: they may have installed an OMEMO client meanwhile, and
/// without a presence subscription no notification tells us.
const EMPTY_LIST_AGE: Duration = Duration::from_secs(30);

/// A device whose messages fail to decrypt gets a new session at most
/// this often.
const REPAIR_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// Something of ours waiting to go out through OMEMO.
#[derive(Debug, Clone)]
pub enum Outgoing {
    Message(OutgoingMessage),
    Correction {
        to: BareJid,
        id: String,
        replaces: String,
        body: String,
    },
    /// Our push info for one contact: inside OMEMO 2's envelope only,
    /// never in clear (knock-protocol.md, "sent directly").
    PushInfo {
        to: BareJid,
        id: String,
        json: String,
    },
}

impl Outgoing {
    fn peer(&self) -> &BareJid {
        match self {
            Self::Message(m) => &m.to,
            Self::Correction { to, .. } | Self::PushInfo { to, .. } => to,
        }
    }

    fn id(&self) -> &str {
        match self {
            Self::Message(m) => &m.id,
            Self::Correction { id, .. } | Self::PushInfo { id, .. } => id,
        }
    }

    /// The user asked for it in clear.
    fn plain(&self) -> bool {
        matches!(self, Self::Message(m) if m.plain)
    }
}

/// What became of the message at the head of the queue.
enum Step {
    /// It waits for device lists or bundles (requested).
    Wait,
    Plain,
    Sealed(SealedMessage),
    Failed(String),
}

type DeviceKey = (String, Profile, DeviceId);

pub struct Omemo {
    account: AccountId,
    /// Our device, once set up on this stream; `None` before, or if the
    /// store refused.
    own: Option<OwnDevice>,
    /// Set up failed on this stream: OMEMO is unavailable until the next.
    unavailable: bool,
    /// Our own device lists as last read, by namespace.
    own_lists: HashMap<Profile, DeviceList>,
    /// Namespaces whose list must get our device once our bundle is out:
    /// a contact who sees the device must find its bundle, and a bundle's
    /// publication can take several round trips where a list's takes one.
    list_after_bundle: HashSet<Profile>,
    /// Our stale devices the user asked to take off our lists; kept until
    /// reported, across streams.
    removals: HashSet<DeviceId>,
    /// Lists published without some of them, by namespace, until the
    /// server answers.
    removals_out: HashMap<Profile, Vec<DeviceId>>,
    /// A namespace's publication refused, by device, until all of its
    /// namespaces answered.
    removal_errors: HashMap<DeviceId, String>,
    /// Device lists known on this stream (fetched, or notified).
    lists: HashSet<(String, Profile)>,
    /// Those of them that were empty, and when.
    empty_lists: HashMap<(String, Profile), Instant>,
    lists_pending: HashSet<(String, Profile)>,
    bundles_pending: HashSet<DeviceKey>,
    /// Bundles that could not be had on this stream.
    bundles_failed: HashSet<DeviceKey>,
    /// Ours, in order, waiting for encryption.
    waiting: VecDeque<Outgoing>,
    /// Devices repaired lately, and when.
    repaired: HashMap<DeviceKey, Instant>,
    /// Devices we answered a new session of on this stream.
    answered: HashSet<DeviceKey>,
    /// Sessions to complete with an empty message once their bundle came
    /// (repairs).
    repairs_pending: HashSet<DeviceKey>,
    /// When this stream's catch-up began: prekeys used before it are
    /// deleted once it is done.
    stream_started: i64,
}

/// Runs `f` on the blocking pool with the store.
async fn run<T: Send + 'static>(
    pipeline: &Pipeline,
    f: impl FnOnce(&crate::store::Store) -> Result<T, crypto::OmemoError> + Send + 'static,
) -> Result<T, crypto::OmemoError> {
    let store = pipeline.store().clone();
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .unwrap_or(Err(crypto::OmemoError::Store(
            crate::store::StoreError::Interrupted,
        )))
}

fn key(t: &Target) -> DeviceKey {
    (t.jid.clone(), t.profile, t.device)
}

impl Omemo {
    pub fn new(account: AccountId) -> Self {
        Self {
            account,
            own: None,
            unavailable: false,
            own_lists: HashMap::new(),
            list_after_bundle: HashSet::new(),
            removals: HashSet::new(),
            removals_out: HashMap::new(),
            removal_errors: HashMap::new(),
            lists: HashSet::new(),
            empty_lists: HashMap::new(),
            lists_pending: HashSet::new(),
            bundles_pending: HashSet::new(),
            bundles_failed: HashSet::new(),
            waiting: VecDeque::new(),
            repaired: HashMap::new(),
            answered: HashSet::new(),
            repairs_pending: HashSet::new(),
            stream_started: now_ms(),
        }
    }

    /// Our device id, once set up.
    pub fn own_device(&self) -> Option<DeviceId> {
        self.own.as_ref().map(|o| o.device_id)
    }

    /// A fresh stream: what the server told us before is stale. Asks for
    /// our own device lists; set-up follows their answers.
    pub fn new_stream(&mut self) -> Vec<SessionCommand> {
        self.own = None;
        self.unavailable = false;
        self.own_lists.clear();
        self.list_after_bundle.clear();
        self.removals_out.clear();
        self.lists.clear();
        self.empty_lists.clear();
        self.lists_pending.clear();
        self.bundles_pending.clear();
        self.bundles_failed.clear();
        self.answered.clear();
        self.repairs_pending.clear();
        self.stream_started = now_ms();
        let me = self.account.to_string();
        crypto::PROFILES
            .into_iter()
            .map(|p| {
                self.lists_pending.insert((me.clone(), p));
                SessionCommand::OmemoFetchDeviceList(self.account.clone(), p)
            })
            .collect()
    }

    /// The link went down: what waits is still in the outbox, and goes
    /// through here again when a stream is usable.
    pub fn link_down(&mut self) {
        self.waiting.retain(|w| !matches!(w, Outgoing::Message(_)));
        self.lists_pending.clear();
        self.bundles_pending.clear();
    }

    pub fn enqueue(&mut self, outgoing: Outgoing) {
        if !self.waiting.iter().any(|w| w.id() == outgoing.id()) {
            self.waiting.push_back(outgoing);
        }
    }

    /// Replaces the queue with the outbox, in order.
    pub fn enqueue_outbox(&mut self, outbox: Vec<OutgoingMessage>) {
        self.waiting.retain(|w| !matches!(w, Outgoing::Message(_)));
        for m in outbox {
            self.enqueue(Outgoing::Message(m));
        }
    }

    /// Sends what can go now, in order, and asks for what the next needs.
    pub async fn pump(&mut self, pipeline: &Pipeline) -> Vec<SessionCommand> {
        let mut commands = Vec::new();
        while let Some(head) = self.waiting.front().cloned() {
            let step = match self.step(pipeline, &head, &mut commands).await {
                Step::Plain if matches!(head, Outgoing::PushInfo { .. }) => Step::Failed(format!(
                    "push info is sent only inside OMEMO 2 encryption, which the chat with {} \
                     cannot use now; publish it instead (`sotto push-info publish`): contacts \
                     read it from your PEP node",
                    head.peer()
                )),
                step => step,
            };
            match step {
                Step::Wait => break,
                Step::Plain => {
                    self.waiting.pop_front();
                    commands.push(match head {
                        Outgoing::Message(m) => SessionCommand::Send(vec![m]),
                        Outgoing::Correction {
                            to,
                            id,
                            replaces,
                            body,
                        } => SessionCommand::Correct {
                            to,
                            id,
                            replaces,
                            body,
                        },
                        // Turned into a failure above.
                        Outgoing::PushInfo { .. } => continue,
                    });
                }
                Step::Sealed(sealed) => {
                    self.waiting.pop_front();
                    commands.push(SessionCommand::SendSealed(vec![sealed]));
                    if let Outgoing::PushInfo { to, .. } = head {
                        pipeline
                            .emit(Event::PushInfoSent {
                                account: self.account.clone(),
                                contact: to,
                                error: None,
                            })
                            .await;
                    }
                }
                Step::Failed(reason) => {
                    self.waiting.pop_front();
                    self.fail(pipeline, &head, reason).await;
                }
            }
        }
        commands
    }

    async fn fail(&self, pipeline: &Pipeline, head: &Outgoing, reason: String) {
        if let Outgoing::PushInfo { to, .. } = head {
            tracing::info!(account = %self.account, contact = %to, "push info could not be encrypted and was not sent");
            pipeline
                .emit(Event::PushInfoSent {
                    account: self.account.clone(),
                    contact: to.clone(),
                    error: Some(reason),
                })
                .await;
            return;
        }
        tracing::warn!(account = %self.account, "a message could not be encrypted and was not sent");
        if let Outgoing::Message(m) = head {
            pipeline
                .advance(
                    &self.account,
                    super::pipeline::Step {
                        id: &m.id,
                        state: crate::model::OutgoingState::Failed {
                            reason: reason.clone(),
                        },
                        refused: true,
                        settled: false,
                        witness: None,
                    },
                )
                .await;
        }
        pipeline
            .emit(Event::MessageError {
                account: self.account.clone(),
                id: Some(head.id().to_owned()),
                reason,
            })
            .await;
    }

    async fn step(
        &mut self,
        pipeline: &Pipeline,
        head: &Outgoing,
        commands: &mut Vec<SessionCommand>,
    ) -> Step {
        let peer = head.peer().to_string();
        let account = self.account.to_string();
        let setting = {
            let (acc, p) = (account.clone(), peer.clone());
            pipeline
                .blocking(move |s| s.chat_encryption(&acc, &p))
                .await
        };
        let setting = match setting {
            Ok(s) => s,
            Err(e) => {
                return Step::Failed(format!("Sotto could not read the chat's settings: {e}"));
            }
        };
        if head.plain() {
            // The front end refuses this first; the check here covers a
            // chat that became always-encrypted while it was queued.
            return match setting {
                ChatEncryption::On => Step::Failed(format!(
                    "the chat with {peer} is always encrypted, so it was not sent in clear; \
                     turn its encryption off first if you mean to"
                )),
                _ => Step::Plain,
            };
        }
        if setting == ChatEncryption::Off {
            return Step::Plain;
        }
        let Some(own) = self.own_device() else {
            if self.unavailable {
                return match setting {
                    ChatEncryption::On => Step::Failed(
                        "encryption is not available on this connection, and this chat is \
                         encrypted, so nothing was sent in clear"
                            .to_owned(),
                    ),
                    _ => Step::Plain,
                };
            }
            return Step::Wait; // Set-up is under way.
        };
        let mut asked = false;
        for p in crypto::PROFILES {
            let k = (peer.clone(), p);
            if self
                .empty_lists
                .get(&k)
                .is_some_and(|at| at.elapsed() > EMPTY_LIST_AGE)
            {
                self.empty_lists.remove(&k);
                self.lists.remove(&k);
            }
            if !self.lists.contains(&k) {
                if self.lists_pending.insert(k) {
                    commands.push(SessionCommand::OmemoFetchDeviceList(head.peer().clone(), p));
                }
                asked = true;
            }
        }
        if asked {
            return Step::Wait;
        }
        let plan: Result<Plan, _> = {
            let (acc, p) = (account.clone(), peer.clone());
            run(pipeline, move |s| crypto::plan(s, &acc, own, &p)).await
        };
        let mut plan = match plan {
            Ok(p) => p,
            Err(e) => return Step::Failed(format!("Sotto could not prepare encryption: {e}")),
        };
        if matches!(head, Outgoing::PushInfo { .. }) {
            // Legacy OMEMO encrypts a body and nothing else.
            plan.targets.retain(|(t, _)| t.profile == Profile::Omemo2);
            if plan.contact_has_devices && !plan.targets.iter().any(|(t, _)| t.jid == peer) {
                return Step::Failed(format!(
                    "none of {peer}'s trusted devices speaks OMEMO 2, and legacy OMEMO can \
                     carry only a message's text; publish your push info instead (`sotto \
                     push-info publish`): their devices read it from your PEP node"
                ));
            }
        }
        if !plan.contact_has_devices {
            return match plan.setting {
                ChatEncryption::On => Step::Failed(format!(
                    "this chat is encrypted, but {peer} publishes no OMEMO device now, so \
                     nothing was sent in clear"
                )),
                _ => Step::Plain,
            };
        }
        let mut waiting_for_bundles = false;
        for (target, has_session) in &plan.targets {
            let k = key(target);
            if *has_session || self.bundles_failed.contains(&k) {
                continue;
            }
            waiting_for_bundles = true;
            if self.bundles_pending.insert(k) {
                commands.push(self.fetch_bundle(target));
            }
        }
        if waiting_for_bundles {
            return Step::Wait;
        }
        let targets: Vec<Target> = plan
            .targets
            .iter()
            .filter(|(t, _)| !self.bundles_failed.contains(&key(t)))
            .map(|(t, _)| t.clone())
            .collect();
        let (body, push_info, replaces) = match head {
            Outgoing::Message(m) => (Some(m.body.clone()), None, None),
            Outgoing::Correction { body, replaces, .. } => {
                (Some(body.clone()), None, Some(replaces.clone()))
            }
            Outgoing::PushInfo { json, .. } => (None, Some(json.clone()), None),
        };
        let kind = if body.is_some() {
            SealedKind::Message
        } else {
            SealedKind::Silent
        };
        let id = head.id().to_owned();
        let sealed = {
            let (acc, p, id) = (account.clone(), peer.clone(), id.clone());
            run(pipeline, move |s| {
                let sealed = crypto::seal(
                    s,
                    &acc,
                    own,
                    &p,
                    &targets,
                    body.as_deref(),
                    push_info.as_deref(),
                    now_ms(),
                )?;
                if kind == SealedKind::Message {
                    s.mark_sent_encrypted(&acc, &p, &id)?;
                }
                Ok(sealed)
            })
            .await
        };
        if sealed.is_ok() && matches!(head, Outgoing::Message(_)) {
            pipeline
                .emit(Event::MessageEncrypted {
                    account: self.account.clone(),
                    peer: head.peer().clone(),
                    id: id.clone(),
                })
                .await;
        }
        match sealed {
            Ok(encrypted) => Step::Sealed(SealedMessage {
                id,
                to: head.peer().clone(),
                replaces,
                encrypted,
                kind,
                // Push info has no row in the store to move forward.
                tracked: kind == SealedKind::Message,
            }),
            Err(e) => Step::Failed(format!(
                "none of {peer}'s devices could be encrypted to ({e}), so nothing was sent in \
                 clear"
            )),
        }
    }

    fn fetch_bundle(&self, target: &Target) -> SessionCommand {
        let jid = target.jid.parse().unwrap_or_else(|_| self.account.clone());
        SessionCommand::OmemoFetchBundle(jid, target.profile, target.device)
    }

    /// A resource of `peer` came online that was not before. It may be a
    /// new device whose device-list notification this account missed: a
    /// server notifies only the resources whose +notify it has learnt, and
    /// it may learn that after the new device published. Lists already read
    /// on this stream are read again; one never read is read when needed.
    pub fn came_online(&mut self, peer: &BareJid) -> Vec<SessionCommand> {
        let who = peer.to_string();
        let mut commands = Vec::new();
        for p in crypto::PROFILES {
            let k = (who.clone(), p);
            if self.lists.contains(&k) && self.lists_pending.insert(k.clone()) {
                // A message to them now waits for the fresh list.
                self.lists.remove(&k);
                commands.push(SessionCommand::OmemoFetchDeviceList(peer.clone(), p));
            }
        }
        commands
    }

    /// A device list, bundle or publication result from the session.
    pub async fn on_event(
        &mut self,
        pipeline: &Pipeline,
        event: OmemoEvent,
    ) -> Vec<SessionCommand> {
        let mut commands = Vec::new();
        match event {
            OmemoEvent::DeviceList { jid, profile, list } => {
                let who = jid.to_string();
                let asked = self.lists_pending.remove(&(who.clone(), profile));
                let list = match list {
                    Ok(list) => list,
                    // An answer to a request of an earlier stream: this
                    // one asks again.
                    Err(_) if !asked => return commands,
                    // A failed fetch says nothing of the devices: what the
                    // store knows stays (reading it as "none" would send
                    // in clear), and our own list is not rewritten from it.
                    Err(reason) => {
                        tracing::info!(account = %self.account, %jid, ?profile, %reason, "OMEMO device list not read; the last one known stays");
                        self.lists.insert((who.clone(), profile));
                        if jid == self.account && self.own.is_none() {
                            commands.extend(self.set_up_once_lists_read(pipeline).await);
                        }
                        return commands;
                    }
                };
                self.lists.insert((who.clone(), profile));
                if list.devices.is_empty() {
                    self.empty_lists
                        .insert((who.clone(), profile), Instant::now());
                } else {
                    self.empty_lists.remove(&(who.clone(), profile));
                }
                let devices: Vec<(DeviceId, Option<String>)> = list
                    .devices
                    .iter()
                    .map(|d| (d.id, d.label.clone()))
                    .collect();
                let (acc, j) = (self.account.to_string(), who.clone());
                if let Err(e) = pipeline
                    .blocking(move |s| {
                        s.omemo_set_device_list(&acc, &j, profile, &devices, now_ms())
                    })
                    .await
                {
                    tracing::error!(account = %self.account, error = %e, "could not store a device list");
                }
                if jid == self.account {
                    // Settings shows the account's devices from the store.
                    pipeline
                        .emit(Event::OwnDeviceList {
                            account: self.account.clone(),
                        })
                        .await;
                    self.own_lists.insert(profile, list.clone());
                    match &self.own {
                        // Another client's publication dropped us: add
                        // ourselves back.
                        Some(own)
                            if !list.contains(own.device_id)
                                && !self.list_after_bundle.contains(&profile) =>
                        {
                            commands.push(publish_with(list, own.device_id));
                        }
                        Some(_) => {}
                        None => commands.extend(self.set_up_once_lists_read(pipeline).await),
                    }
                }
            }
            OmemoEvent::Bundle {
                jid,
                profile,
                device,
                bundle,
            } => {
                let target = Target {
                    jid: jid.to_string(),
                    profile,
                    device,
                };
                let k = key(&target);
                if !self.bundles_pending.remove(&k) {
                    // An answer to a request of an earlier stream.
                    return commands;
                }
                let started = match bundle {
                    Ok(bundle) => {
                        let (acc, t) = (self.account.to_string(), target.clone());
                        run(pipeline, move |s| {
                                crypto::start_session(s, &acc, &t, &bundle, now_ms())
                            })
                            .await
                            .unwrap_or_else(|e| {
                                tracing::warn!(account = %self.account, error = %e, "could not start an OMEMO session");
                                false
                            })
                    }
                    Err(reason) => {
                        tracing::info!(account = %self.account, %jid, device = device.get(), %reason, "no OMEMO bundle");
                        false
                    }
                };
                if !started {
                    self.bundles_failed.insert(k.clone());
                }
                if self.repairs_pending.remove(&k) && started {
                    commands.extend(self.empty_message(pipeline, &target).await);
                }
            }
            OmemoEvent::Published {
                profile,
                bundle: false,
                error,
            } if self.removals_out.contains_key(&profile) => {
                self.removal_answered(pipeline, profile, error).await;
            }
            OmemoEvent::Published {
                profile,
                bundle,
                error,
            } => {
                let listing = bundle && self.list_after_bundle.remove(&profile);
                match (error, listing) {
                    (Some(error), true) => {
                        tracing::warn!(account = %self.account, ?profile, %error, "our OMEMO bundle could not be published, so this device is not added to the device list on this connection: contacts could not encrypt to it");
                    }
                    (Some(error), false) => {
                        tracing::warn!(account = %self.account, ?profile, bundle, %error, "OMEMO publication refused");
                    }
                    (None, true) => commands.extend(self.list_ourselves(profile)),
                    (None, false) => {}
                }
            }
        }
        commands
    }

    /// Sets our device up once both of our own lists were answered (read
    /// or not).
    async fn set_up_once_lists_read(&mut self, pipeline: &Pipeline) -> Vec<SessionCommand> {
        let me = self.account.to_string();
        let both = crypto::PROFILES
            .iter()
            .all(|p| !self.lists_pending.contains(&(me.clone(), *p)));
        if both && !self.unavailable {
            self.set_up(pipeline).await
        } else {
            Vec::new()
        }
    }

    /// Our device for this stream: made if new, keys topped up, bundles
    /// and (where we are missing) device lists published.
    async fn set_up(&mut self, pipeline: &Pipeline) -> Vec<SessionCommand> {
        let taken: Vec<DeviceId> = self
            .own_lists
            .values()
            .flat_map(|l| l.devices.iter().map(|d| d.id))
            .collect();
        let acc = self.account.to_string();
        let result = run(pipeline, move |s| crypto::set_up(s, &acc, &taken, now_ms())).await;
        let (own, bundles) = match result {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(account = %self.account, error = %e, "OMEMO set-up failed; this connection sends without it where chats allow");
                self.unavailable = true;
                return Vec::new();
            }
        };
        let mut commands: Vec<SessionCommand> = bundles
            .into_iter()
            .map(|b| {
                self.list_after_bundle.insert(b.profile());
                SessionCommand::OmemoPublishBundle(own.device_id, Box::new(b))
            })
            .collect();
        tracing::info!(account = %self.account, device = own.device_id.get(), "OMEMO ready");
        self.own = Some(own);
        commands.extend(self.removal_commands(pipeline).await);
        commands
    }

    /// Takes one of our stale devices off our published lists (this
    /// device only when it is set up: its lists are read by then).
    pub async fn remove_own_device(
        &mut self,
        pipeline: &Pipeline,
        device: DeviceId,
    ) -> Vec<SessionCommand> {
        self.removals.insert(device);
        if self.own.is_none() {
            return Vec::new(); // After set-up.
        }
        self.removal_commands(pipeline).await
    }

    /// Publishes each of our lists that names a device to remove, without
    /// it; a device none of them names is reported at once.
    async fn removal_commands(&mut self, pipeline: &Pipeline) -> Vec<SessionCommand> {
        let Some(own) = self.own_device() else {
            return Vec::new();
        };
        if self.removals.contains(&own) {
            let why = "that is this device: Sotto would list it again at once; remove an \
                       account's other devices";
            self.report_removal(pipeline, own, Some(why.into())).await;
        }
        let mut commands = Vec::new();
        for profile in crypto::PROFILES {
            let Some(list) = self.own_lists.get(&profile) else {
                continue;
            };
            let gone: Vec<DeviceId> = list
                .devices
                .iter()
                .map(|d| d.id)
                .filter(|id| self.removals.contains(id))
                .collect();
            if gone.is_empty() {
                continue;
            }
            let mut list = list.clone();
            list.devices.retain(|d| !gone.contains(&d.id));
            // Read as published, so that adding ourselves later keeps it.
            self.own_lists.insert(profile, list.clone());
            commands.push(if self.list_after_bundle.contains(&profile) {
                SessionCommand::OmemoPublishDeviceList(list)
            } else {
                publish_with(list, own)
            });
            self.removals_out.entry(profile).or_default().extend(gone);
        }
        let unlisted: Vec<DeviceId> = self
            .removals
            .iter()
            .copied()
            .filter(|d| !self.removals_out.values().any(|out| out.contains(d)))
            .collect();
        for device in unlisted {
            self.report_removal(
                pipeline,
                device,
                Some(format!(
                    "device {} is not on this account's device lists",
                    device.get()
                )),
            )
            .await;
        }
        commands
    }

    async fn removal_answered(
        &mut self,
        pipeline: &Pipeline,
        profile: Profile,
        error: Option<String>,
    ) {
        let devices = self.removals_out.remove(&profile).unwrap_or_default();
        for device in devices {
            if let Some(e) = &error {
                self.removal_errors.insert(device, e.clone());
            }
            if !self.removals_out.values().any(|out| out.contains(&device)) {
                let error = self.removal_errors.remove(&device);
                self.report_removal(pipeline, device, error).await;
            }
        }
    }

    async fn report_removal(
        &mut self,
        pipeline: &Pipeline,
        device: DeviceId,
        error: Option<String>,
    ) {
        self.removals.remove(&device);
        pipeline
            .emit(Event::OwnDeviceRemoved {
                account: self.account.clone(),
                device: device.get(),
                error,
            })
            .await;
    }

    /// Our device added to our list of this namespace, if it is missing.
    /// A list we could not read is left alone: publishing it from nothing
    /// would drop our other devices. Its next notification adds us.
    fn list_ourselves(&self, profile: Profile) -> Option<SessionCommand> {
        let own = self.own.as_ref()?;
        let list = self.own_lists.get(&profile)?;
        (!list.contains(own.device_id)).then(|| publish_with(list.clone(), own.device_id))
    }

    /// Publishes a fresh bundle for a namespace whose prekeys were used.
    async fn replenish(&self, pipeline: &Pipeline, profile: Profile) -> Vec<SessionCommand> {
        let Some(own) = self.own.clone() else {
            return Vec::new();
        };
        let acc = self.account.to_string();
        let device = own.device_id;
        match run(pipeline, move |s| {
            crypto::refresh_bundle(s, &acc, &own, profile, now_ms())
        })
        .await
        {
            Ok(bundle) => vec![SessionCommand::OmemoPublishBundle(device, Box::new(bundle))],
            Err(e) => {
                tracing::error!(account = %self.account, error = %e, "could not replace used prekeys");
                Vec::new()
            }
        }
    }

    /// The catch-up is done: copies of key exchanges it could carry have
    /// come, so prekeys used before this stream are deleted.
    pub async fn caught_up(&self, pipeline: &Pipeline) {
        let (acc, before) = (self.account.to_string(), self.stream_started);
        match pipeline
            .blocking(move |s| s.omemo_delete_used_pre_keys(&acc, before))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::debug!(account = %self.account, deleted = n, "used prekeys deleted"),
            Err(e) => {
                tracing::warn!(account = %self.account, error = %e, "could not delete used prekeys")
            }
        }
    }

    /// An empty OMEMO message to one device (its session must exist):
    /// it completes a session the device started, or one we repaired.
    async fn empty_message(&self, pipeline: &Pipeline, target: &Target) -> Vec<SessionCommand> {
        let Some(own) = self.own_device() else {
            return Vec::new();
        };
        let Ok(to) = target.jid.parse::<BareJid>() else {
            return Vec::new();
        };
        let (acc, t, peer) = (self.account.to_string(), target.clone(), target.jid.clone());
        let sealed = run(pipeline, move |s| {
            crypto::seal(
                s,
                &acc,
                own,
                &peer,
                std::slice::from_ref(&t),
                None,
                None,
                now_ms(),
            )
        })
        .await;
        match sealed {
            Ok(encrypted) => vec![SessionCommand::SendSealed(vec![SealedMessage {
                id: crate::xmpp::new_id(),
                to,
                replaces: None,
                encrypted,
                kind: SealedKind::Empty,
                tracked: false,
            }])],
            Err(e) => {
                tracing::warn!(account = %self.account, error = %e, "could not send an empty OMEMO message");
                Vec::new()
            }
        }
    }

    /// Decrypts the encrypted ones among `messages` in place, in order:
    /// each becomes its text, or the notice that it could not be read.
    /// Copies already stored are left for the store to drop, empty OMEMO
    /// messages are removed. Returns commands (answers, repairs, bundles)
    /// and push info found in envelopes.
    pub async fn open_all(
        &mut self,
        pipeline: &Pipeline,
        messages: &mut Vec<SyncedMessage>,
        live: bool,
    ) -> (Vec<SessionCommand>, Vec<(BareJid, String)>) {
        let mut commands = Vec::new();
        let mut push = Vec::new();
        if messages.iter().all(|m| m.encrypted.is_empty()) {
            return (commands, push);
        }
        let own = match &self.own {
            Some(own) => Some(own.device_id),
            None => {
                // Before set-up on this stream (the first messages can
                // overtake our own device list's answer): the store knows
                // our device if it was ever made.
                let acc = self.account.to_string();
                pipeline
                    .blocking(move |s| s.omemo_own_device(&acc))
                    .await
                    .ok()
                    .flatten()
                    .map(|o| o.device_id)
            }
        };
        let account = self.account.to_string();
        let mut consumed: HashSet<Profile> = HashSet::new();
        let mut kept = Vec::with_capacity(messages.len());
        for mut m in std::mem::take(messages) {
            if m.encrypted.is_empty() {
                kept.push(m);
                continue;
            }
            let Some(own) = own else {
                m.body = "An encrypted message came before Sotto had set up encryption on this \
                          device, so it cannot be decrypted here."
                    .to_owned();
                m.protection = Protection::Notice;
                m.encrypted.clear();
                kept.push(m);
                continue;
            };
            let (acc, msg) = (account.clone(), m.clone());
            let opened = run(pipeline, move |s| {
                let peer = msg.peer.to_string();
                if s.message_known(
                    &acc,
                    &peer,
                    msg.outgoing,
                    msg.origin_id.as_deref(),
                    msg.stanza_id.as_deref(),
                )? {
                    return Ok(Opened::Duplicate);
                }
                crypto::open(s, &acc, own, &msg, now_ms())
            })
            .await;
            match opened {
                Ok(Opened::Message {
                    body,
                    push_info,
                    new_session,
                    consumed: used,
                }) => {
                    consumed.extend(used);
                    if let Some(json) = push_info {
                        push.push((m.sender.to_bare(), json));
                    }
                    if let Some(target) = new_session
                        && live
                        && self.answered.insert(key(&target))
                    {
                        // The sender repeats its key exchange until it
                        // hears from us: an empty message tells it.
                        commands.extend(self.empty_message(pipeline, &target).await);
                    }
                    if let Some(body) = body {
                        m.body = body;
                        m.protection = Protection::Encrypted;
                        m.encrypted.clear();
                        kept.push(m);
                    }
                }
                Ok(Opened::Duplicate) => {
                    // The store drops it by its ids; one with no ids has
                    // nothing to show.
                    if m.origin_id.is_some() || m.stanza_id.is_some() {
                        m.encrypted.clear();
                        m.protection = Protection::Encrypted;
                        kept.push(m);
                    }
                }
                Ok(Opened::Failed(failure)) => {
                    let repairing =
                        failure.repair && self.should_repair(&key(&failure.from), Instant::now());
                    tracing::info!(account = %self.account, jid = %failure.from.jid, device = failure.from.device.get(), repairing, "an OMEMO message could not be decrypted");
                    m.body = crypto::notice(&account, &failure, repairing);
                    m.protection = Protection::Notice;
                    m.encrypted.clear();
                    kept.push(m);
                    if repairing && failure.not_for_us {
                        commands.extend(self.check_own_lists());
                    } else if repairing {
                        commands.extend(self.repair(pipeline, &failure.from).await);
                    }
                }
                Err(e) => {
                    tracing::error!(account = %self.account, error = %e, "could not decrypt a message");
                    m.body = format!(
                        "An encrypted message could not be decrypted because Sotto's store \
                         failed: {e}."
                    );
                    m.protection = Protection::Notice;
                    m.encrypted.clear();
                    kept.push(m);
                }
            }
        }
        *messages = kept;
        for profile in consumed {
            commands.extend(self.replenish(pipeline, profile).await);
        }
        (commands, push)
    }

    /// Reads our own device lists again; one that lacks our device is
    /// published again with it (see [`Self::on_event`]).
    fn check_own_lists(&mut self) -> Vec<SessionCommand> {
        let me = self.account.to_string();
        crypto::PROFILES
            .into_iter()
            .filter(|p| self.lists_pending.insert((me.clone(), *p)))
            .map(|p| SessionCommand::OmemoFetchDeviceList(self.account.clone(), p))
            .collect()
    }

    fn should_repair(&mut self, k: &DeviceKey, now: Instant) -> bool {
        match self.repaired.get(k) {
            Some(at) if now.duration_since(*at) < REPAIR_INTERVAL => false,
            _ => {
                self.repaired.insert(k.clone(), now);
                true
            }
        }
    }

    /// Throws the device's session away and starts a new one from its
    /// bundle; the empty message that tells the device follows when the
    /// bundle comes.
    async fn repair(&mut self, pipeline: &Pipeline, target: &Target) -> Vec<SessionCommand> {
        let (acc, t) = (self.account.to_string(), target.clone());
        if let Err(e) = pipeline
            .blocking(move |s| s.omemo_delete_session(&acc, &t.jid, t.profile, t.device))
            .await
        {
            tracing::warn!(account = %self.account, error = %e, "could not drop a broken session");
            return Vec::new();
        }
        let k = key(target);
        self.bundles_failed.remove(&k);
        self.repairs_pending.insert(k.clone());
        if self.bundles_pending.insert(k) {
            vec![self.fetch_bundle(target)]
        } else {
            Vec::new()
        }
    }
}

/// Our device list of a namespace with our device added.
fn publish_with(mut list: DeviceList, own: DeviceId) -> SessionCommand {
    if !list.contains(own) {
        list.devices.push(Device {
            id: own,
            label: Some("Sotto".to_owned()),
        });
    }
    if list.profile == Profile::Legacy {
        for d in &mut list.devices {
            d.label = None;
        }
    }
    SessionCommand::OmemoPublishDeviceList(list)
}

#[cfg(test)]
mod tests;
