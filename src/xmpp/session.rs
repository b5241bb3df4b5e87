//! One account's live session: owns the tokio-xmpp `StanzaStream` (which
//! does stream management and resumption), decides when and how to
//! reconnect, and turns stanzas into events.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use sasl::common::{ChannelBinding, Credentials};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{mpsc, oneshot};
use tokio_xmpp::jid::{BareJid, Jid};
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::disco::{DiscoInfoResult, Identity};
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::parsers::ns;
use tokio_xmpp::parsers::presence::Presence;
use tokio_xmpp::parsers::roster::{Roster, Subscription as RosterSubscription};
use tokio_xmpp::parsers::sasl_cb;
use tokio_xmpp::parsers::stanza_error::{DefinedCondition, ErrorType, StanzaError};
use tokio_xmpp::parsers::stream_features::StreamFeatures;
use tokio_xmpp::stanzastream::{
    Connection, Event as StreamItem, StanzaStage, StanzaState, StanzaStream, StreamEvent,
};
use tokio_xmpp::xmlstream::{StreamHeader, Timeouts, XmppStream};
use tokio_xmpp::{Error as XmppError, Stanza, connect::ServerConnector, error::AuthError};

use super::backoff::Backoff;
use super::connect::{ConnectError, Connector, Route, Stream};
use super::convert::{self, MessageMeaning, PresenceMeaning};
use super::nonza::Nonzas;
use super::pep;
use crate::config::ServerAddress;
use crate::engine::{Event, SessionOutput};
use crate::fingerprint::Fingerprint;
use crate::model::PushSource;
use crate::model::{
    Availability, ChatState, ConnectionState, OutgoingMessage, OutgoingState, SyncedMessage,
};

/// What to do when a connection attempt fails for a reason that may pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryPolicy {
    /// Keep trying with backoff (the GUI, `sotto listen`).
    Forever,
    /// Give up after the first failure (one-shot CLI commands).
    Never,
}

pub struct SessionParams {
    pub jid: BareJid,
    pub password: SecretString,
    pub server: Option<ServerAddress>,
    pub direct_tls: bool,
    pub pinned: Option<Fingerprint>,
    pub presence: Option<(Availability, Option<String>)>,
    pub retry: RetryPolicy,
    /// Direct, or only through Tor.
    pub route: Route,
    /// Create the account on the server (XEP-0077) before the first login.
    pub register: bool,
}

#[derive(Debug)]
pub enum SessionCommand {
    Send(OutgoingMessage),
    SetPresence(Availability, Option<String>),
    FetchRoster,
    AddContact(BareJid, Option<String>),
    AnswerSubscription(BareJid, bool),
    /// Fetch what the archive holds from there on.
    CatchUp(CatchUpFrom),
    PublishPushInfo(String),
    RetractPushInfo,
    FetchPushInfo(BareJid),
    /// A standalone chat state to a contact.
    ChatState(BareJid, ChatState),
    /// A correction of our message `replaces`, sent with the fresh `id`.
    Correct {
        to: BareJid,
        id: String,
        replaces: String,
        body: String,
    },
    /// A displayed marker for the contact's message with this id.
    Displayed(BareJid, String),
    /// Name a contact, keeping these groups.
    RenameContact(BareJid, Option<String>, Vec<String>),
    RemoveContact(BareJid),
    Block(BareJid, bool),
    /// Client state indication: whether the user is looking.
    ClientActive(bool),
    Close,
}

/// Where an archive catch-up starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatchUpFrom {
    /// After the newest archive id already stored; if the server no longer
    /// has that id (archives are pruned), from `fallback_since` instead.
    After { id: String, fallback_since: i64 },
    /// From this time (ms since the epoch), when no id is known yet.
    Since(i64),
}

/// Messages per archive page we ask for (servers may send fewer).
const ARCHIVE_PAGE: usize = 250;

struct CatchUp {
    iq_id: String,
    query_id: String,
    /// Where this page's query started, to fall back when its id is gone.
    from: CatchUpFrom,
    fetched: usize,
    /// This page's messages, handed over together when the page ends.
    page: Vec<SyncedMessage>,
}

/// What the reconnector tells the session about its attempts.
enum LinkStatus {
    Attempt(u32),
    Waiting { delay: Duration, reason: String },
    Fatal(Failure),
}

/// Outgoing stanzas may wait this many deep in tokio-xmpp's queue while
/// the link is down.
const QUEUE_DEPTH: usize = 256;

const TIMEOUTS: Timeouts = Timeouts {
    read_timeout: Duration::from_secs(90),
    response_timeout: Duration::from_secs(30),
};

/// Runs until closed or failed for good. Every change goes out as an
/// [`Event`] on `events`.
pub(crate) async fn run_session(
    params: SessionParams,
    mut commands: mpsc::Receiver<SessionCommand>,
    output: mpsc::Sender<SessionOutput>,
) {
    let events = EventSink(output.clone());
    let account = params.jid.clone();
    let emit_state = |state: ConnectionState| Event::Connection {
        account: account.clone(),
        state,
    };
    let connector = match Connector::new(
        params.server.clone(),
        params.direct_tls,
        params.pinned,
        params.route.clone(),
    ) {
        Ok(c) => c,
        Err(e) => {
            let _ = events
                .send(emit_state(ConnectionState::Failed {
                    reason: e.to_string(),
                    certificate: None,
                }))
                .await;
            return;
        }
    };
    let nonzas = connector.nonzas().clone();
    let (status_tx, mut status_rx) = mpsc::unbounded_channel();
    let backoff = Arc::new(Mutex::new(Backoff::default()));
    let stream = StanzaStream::new(
        reconnector(
            connector,
            params.jid.clone(),
            params.password.clone(),
            params.retry,
            status_tx,
            backoff.clone(),
            Arc::new(AtomicBool::new(params.register)),
        ),
        QUEUE_DEPTH,
    );
    let mut session = Session {
        account: params.jid.clone(),
        stream,
        events: EventSink(output),
        presence: params.presence.clone(),
        roster_iq: None,
        catch_up: None,
        pep: std::collections::HashMap::new(),
        blocklist_iq: None,
        block_iqs: std::collections::HashMap::new(),
        csi: Csi::default(),
        nonzas,
    };

    loop {
        tokio::select! {
            command = commands.recv() => match command {
                None | Some(SessionCommand::Close) => {
                    // Flush what is queued and say goodbye; do not wait
                    // forever on a dead link.
                    let _ = tokio::time::timeout(Duration::from_secs(10), session.stream.close()).await;
                    let _ = events.send(emit_state(ConnectionState::Offline)).await;
                    return;
                }
                Some(command) => session.handle_command(command).await,
            },
            item = session.stream.next() => match item {
                Some(StreamItem::Stream(StreamEvent::Reset { bound_jid, features })) => {
                    if let Ok(mut b) = backoff.lock() {
                        b.connected(Instant::now());
                    }
                    session.online(bound_jid, &features, false).await;
                }
                Some(StreamItem::Stream(StreamEvent::Resumed)) => {
                    if let Ok(mut b) = backoff.lock() {
                        b.connected(Instant::now());
                    }
                    let _ = events.send(emit_state(ConnectionState::Online {
                        jid: session.account.to_string(),
                        resumed: true,
                        acks: true,
                    })).await;
                    session.csi.link_up = true;
                    session.send_client_state().await;
                }
                Some(StreamItem::Stream(StreamEvent::Suspended)) => {
                    session.csi.link_up = false;
                    let _ = events.send(emit_state(ConnectionState::Suspended)).await;
                }
                Some(StreamItem::Stanza(stanza)) => session.handle_stanza(stanza).await,
                None => {
                    let _ = events.send(emit_state(ConnectionState::Offline)).await;
                    return;
                }
            },
            Some(status) = status_rx.recv() => match status {
                LinkStatus::Attempt(attempt) => {
                    let _ = events.send(emit_state(ConnectionState::Connecting { attempt })).await;
                }
                LinkStatus::Waiting { delay, reason } => {
                    let _ = events.send(emit_state(ConnectionState::WaitingToRetry {
                        seconds: delay.as_secs().max(1),
                        reason,
                    })).await;
                }
                LinkStatus::Fatal(Failure { reason, certificate, .. }) => {
                    // The link is in its connecting state: dropping the
                    // stream ends tokio-xmpp's worker.
                    let _ = events.send(emit_state(ConnectionState::Failed { reason, certificate })).await;
                    return;
                }
            },
        }
    }
}

type Reconnector = Box<dyn FnMut(Option<String>, oneshot::Sender<Connection>) + Send + 'static>;

/// Called by tokio-xmpp whenever it needs a new stream: logs in again with
/// backoff, and stops for good on failures that retrying cannot fix.
fn reconnector(
    connector: Connector,
    jid: BareJid,
    password: SecretString,
    retry: RetryPolicy,
    status: mpsc::UnboundedSender<LinkStatus>,
    backoff: Arc<Mutex<Backoff>>,
    register: Arc<AtomicBool>,
) -> Reconnector {
    Box::new(move |_location, mut slot| {
        let connector = connector.clone();
        let register = register.clone();
        let jid = Jid::from(jid.clone());
        let password = password.clone();
        let status = status.clone();
        let backoff = backoff.clone();
        tokio::spawn(async move {
            let first_wait = backoff
                .lock()
                .map(|mut b| b.dropped(Instant::now(), rand::random()))
                .unwrap_or_default();
            if !first_wait.is_zero() {
                let _ = status.send(LinkStatus::Waiting {
                    delay: first_wait,
                    reason: "the connection dropped".into(),
                });
                tokio::select! {
                    _ = tokio::time::sleep(first_wait) => {}
                    _ = slot.closed() => return,
                }
            }
            let mut attempt = 0u32;
            loop {
                attempt += 1;
                let _ = status.send(LinkStatus::Attempt(attempt));
                let result = tokio::select! {
                    r = login(&connector, &jid, &password, &register) => r,
                    _ = slot.closed() => return,
                };
                let failure = match result {
                    Ok((features, stream)) => {
                        if let Ok(mut b) = backoff.lock() {
                            b.handed_over();
                        }
                        // Logged in: nonzas may go out on this stream.
                        connector.nonzas().arm();
                        let connection = Connection {
                            stream: stream.box_stream(),
                            features,
                            identity: jid.clone(),
                        };
                        if slot.send(connection).is_err() {
                            tracing::debug!("session ended while logging in");
                        }
                        return;
                    }
                    Err(e) => classify(e),
                };
                if failure.fatal || retry == RetryPolicy::Never {
                    tracing::warn!(account = %jid, reason = %failure.reason, "not retrying");
                    let _ = status.send(LinkStatus::Fatal(failure));
                    // Keep the slot: dropping it would make tokio-xmpp
                    // treat the stream as crashed. The session drops the
                    // stream, which closes the slot.
                    slot.closed().await;
                    return;
                }
                let delay = backoff
                    .lock()
                    .map(|mut b| b.failed(rand::random()))
                    .unwrap_or(Duration::from_secs(30));
                tracing::info!(account = %jid, reason = %failure.reason, ?delay, "connection failed; retrying");
                let _ = status.send(LinkStatus::Waiting {
                    delay,
                    reason: failure.reason,
                });
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = slot.closed() => return,
                }
            }
        });
    })
}

struct Failure {
    reason: String,
    fatal: bool,
    certificate: Option<Fingerprint>,
}

/// Sorts login failures into "retry later" and "the user must act".
fn classify(error: XmppError) -> Failure {
    let fatal = |reason: String| Failure {
        reason,
        fatal: true,
        certificate: None,
    };
    let retry = |reason: String| Failure {
        reason,
        fatal: false,
        certificate: None,
    };
    match error {
        XmppError::Connection(e) => {
            match (&*e as &dyn std::error::Error).downcast_ref::<ConnectError>() {
                Some(c) if c.is_fatal() => Failure {
                    certificate: c.certificate(),
                    ..fatal(c.to_string())
                },
                Some(c) => retry(c.to_string()),
                None => retry(e.to_string()),
            }
        }
        XmppError::Auth(AuthError::Fail(condition)) => {
            use tokio_xmpp::parsers::sasl::DefinedCondition as C;
            match condition {
                C::TemporaryAuthFailure => {
                    retry("the server could not check the password right now".into())
                }
                C::NotAuthorized => fatal(
                    "the server refused the login (not authorized): check the address and password"
                        .into(),
                ),
                C::AccountDisabled => fatal("the server says this account is disabled".into()),
                C::CredentialsExpired => fatal(
                    "the server says the password has expired; change it with your provider".into(),
                ),
                other => fatal(format!("the server refused the login ({other:?})")),
            }
        }
        XmppError::Auth(AuthError::NoMechanism) => fatal(
            "the server offers no secure login method (SCRAM), so Sotto did not send the password"
                .into(),
        ),
        XmppError::Auth(e) => fatal(format!("login failed: {e}")),
        XmppError::JidParse(e) => fatal(format!("the address is not valid: {e}")),
        XmppError::StreamError(e) => {
            let text = e.to_string();
            if text.contains("host-unknown") {
                fatal(format!("the server does not host this domain ({text})"))
            } else {
                retry(format!("the server closed the stream ({text})"))
            }
        }
        XmppError::Io(e) => retry(format!("network error: {e}")),
        XmppError::Disconnected => retry("the server closed the connection".into()),
        other => retry(other.to_string()),
    }
}

/// Secure stream → (account creation, once) → SCRAM login → fresh stream,
/// ready for tokio-xmpp's stream management and resource binding. Only
/// SCRAM mechanisms are offered for the login, so the password itself
/// never crosses the wire then; creating an account has to send it, inside
/// the same verified TLS.
async fn login(
    connector: &Connector,
    jid: &Jid,
    password: &SecretString,
    register: &AtomicBool,
) -> Result<(StreamFeatures, XmppStream<Stream>), XmppError> {
    let username = jid
        .node()
        .ok_or(XmppError::Auth(AuthError::NoMechanism))?
        .as_str()
        .to_owned();
    let (stream, tls_binding) = connector.connect(jid, ns::JABBER_CLIENT, TIMEOUTS).await?;
    let (features, mut stream) = stream.recv_features().await?;
    if register.load(Ordering::SeqCst) {
        super::register::create_account(
            &mut stream,
            &features,
            jid.domain().as_str(),
            &username,
            password.expose_secret(),
        )
        .await
        .map_err(|e| XmppError::Connection(Box::new(ConnectError::Registration(e))))?;
        // Created: a later attempt (say, after a dropped link) only logs in.
        register.store(false, Ordering::SeqCst);
    }
    let (mechanisms, binding) = choose_scram(&features, tls_binding);
    if mechanisms.is_empty() {
        return Err(XmppError::Auth(AuthError::NoMechanism));
    }
    let credentials = Credentials::default()
        .with_username(username)
        .with_password(password.expose_secret())
        .with_channel_binding(binding);
    let stream = tokio_xmpp::client_login(stream, mechanisms, credentials).await?;
    let stream = stream
        .send_header(StreamHeader {
            to: Some(std::borrow::Cow::Borrowed(jid.domain().as_str())),
            from: None,
            id: None,
        })
        .await?;
    Ok(stream.recv_features().await?)
}

/// The SCRAM mechanisms to try and the channel binding to use with them:
/// SCRAM-*-PLUS with tls-exporter when the server offers both, plain SCRAM
/// otherwise. Never PLAIN, never ANONYMOUS.
fn choose_scram(
    features: &StreamFeatures,
    tls_binding: ChannelBinding,
) -> (BTreeSet<String>, ChannelBinding) {
    let offered = &features.sasl_mechanisms;
    let exporter_ok = features
        .sasl_cb
        .as_ref()
        .is_none_or(|cb| cb.types.contains(&sasl_cb::Type::TlsExporter));
    let plus: BTreeSet<String> = offered
        .iter()
        .filter(|m| m.starts_with("SCRAM-") && m.ends_with("-PLUS"))
        .cloned()
        .collect();
    if !plus.is_empty() && exporter_ok && matches!(tls_binding, ChannelBinding::TlsExporter(_)) {
        return (plus, tls_binding);
    }
    let plain_scram = offered
        .iter()
        .filter(|m| m.starts_with("SCRAM-") && !m.ends_with("-PLUS"))
        .cloned()
        .collect();
    (plain_scram, ChannelBinding::None)
}

/// Sends events to the engine; a closed engine just drops them.
#[derive(Clone)]
struct EventSink(mpsc::Sender<SessionOutput>);

impl EventSink {
    async fn send(&self, event: Event) -> Result<(), ()> {
        self.0
            .send(SessionOutput::Event(event))
            .await
            .map_err(|_| ())
    }
}

struct Session {
    account: BareJid,
    stream: StanzaStream,
    events: EventSink,
    presence: Option<(Availability, Option<String>)>,
    roster_iq: Option<String>,
    catch_up: Option<CatchUp>,
    /// PEP requests in flight, by IQ id.
    pep: std::collections::HashMap<String, PepRequest>,
    /// The block list request in flight.
    blocklist_iq: Option<String>,
    /// Block and unblock requests in flight: the address and what we asked.
    block_iqs: std::collections::HashMap<String, (BareJid, bool)>,
    csi: Csi,
    nonzas: Nonzas,
}

/// Client state indication (XEP-0352).
#[derive(Debug, Default)]
struct Csi {
    /// What the front end last said; `None`: never said, nothing to send.
    wanted: Option<bool>,
    /// The server offered `urn:xmpp:csi:0` on the current stream.
    supported: bool,
    /// Bound and able to send.
    link_up: bool,
}

enum PepRequest {
    Publish,
    Retract,
    Fetch(BareJid),
}

impl Session {
    async fn emit(&self, event: Event) {
        let _ = self.events.send(event).await;
    }

    async fn emit_state(&self, id: String, state: OutgoingState) {
        self.emit(Event::MessageState {
            account: self.account.clone(),
            id,
            state,
        })
        .await;
    }

    async fn send(&self, stanza: impl Into<Stanza>) -> tokio_xmpp::stanzastream::StanzaToken {
        self.stream.send(Box::new(stanza.into())).await
    }

    async fn online(&mut self, bound: Jid, features: &StreamFeatures, resumed: bool) {
        self.emit(Event::Connection {
            account: self.account.clone(),
            state: ConnectionState::Online {
                jid: bound.to_string(),
                resumed,
                acks: features.stream_management.is_some(),
            },
        })
        .await;
        // State was lost with the old stream: ask again for what the front
        // ends show, and have copies of our other devices' messages.
        self.catch_up = None;
        self.fetch_roster().await;
        let id = new_id();
        self.blocklist_iq = Some(id.clone());
        self.send(convert::blocklist_request(id)).await;
        self.csi.supported = features.others.iter().any(|f| f.is("csi", ns::CSI));
        self.csi.link_up = true;
        self.send_client_state().await;
        self.send(Iq::from_set(new_id(), tokio_xmpp::parsers::carbons::Enable))
            .await;
        if let Some((availability, status)) = self.presence.clone() {
            self.send_presence(availability, status.as_deref()).await;
        }
    }

    async fn fetch_roster(&mut self) {
        let id = new_id();
        self.roster_iq = Some(id.clone());
        let request = Iq::from_get(
            id,
            Roster {
                ver: None,
                items: vec![],
            },
        );
        self.send(request).await;
    }

    async fn handle_command(&mut self, command: SessionCommand) {
        match command {
            SessionCommand::Send(message) => {
                let token = self.send(convert::outgoing_stanza(&message)).await;
                tokio::spawn(track_delivery(
                    self.account.clone(),
                    message.id,
                    token,
                    self.events.clone(),
                ));
            }
            SessionCommand::SetPresence(availability, status) => {
                self.send_presence(availability, status.as_deref()).await;
                self.presence = Some((availability, status));
            }
            SessionCommand::FetchRoster => self.fetch_roster().await,
            SessionCommand::AddContact(jid, name) => {
                self.send(convert::roster_set(jid.clone(), name)).await;
                self.send(Presence::subscribe().with_to(jid)).await;
            }
            SessionCommand::AnswerSubscription(jid, approve) => {
                let answer = if approve {
                    Presence::subscribed()
                } else {
                    Presence::new(tokio_xmpp::parsers::presence::Type::Unsubscribed)
                };
                self.send(answer.with_to(jid)).await;
            }
            SessionCommand::CatchUp(from) => self.query_archive(from, true).await,
            SessionCommand::PublishPushInfo(json) => {
                let id = new_id();
                self.pep.insert(id.clone(), PepRequest::Publish);
                self.send(pep::publish(id, &json)).await;
            }
            SessionCommand::RetractPushInfo => {
                let id = new_id();
                self.pep.insert(id.clone(), PepRequest::Retract);
                self.send(pep::retract(id)).await;
            }
            SessionCommand::FetchPushInfo(contact) => {
                let id = new_id();
                let request = pep::fetch(id.clone(), &contact);
                self.pep.insert(id, PepRequest::Fetch(contact));
                self.send(request).await;
            }
            SessionCommand::ChatState(to, state) => {
                self.send(convert::chat_state_stanza(to, state)).await;
            }
            SessionCommand::Correct {
                to,
                id,
                replaces,
                body,
            } => {
                let token = self
                    .send(convert::correction_stanza(to, &id, &replaces, &body))
                    .await;
                tokio::spawn(track_delivery(
                    self.account.clone(),
                    id,
                    token,
                    self.events.clone(),
                ));
            }
            SessionCommand::Displayed(to, id) => {
                self.send(convert::displayed_stanza(to, &id)).await;
            }
            SessionCommand::RenameContact(jid, name, groups) => {
                self.send(convert::roster_update(jid, name, groups)).await;
            }
            SessionCommand::RemoveContact(jid) => {
                self.send(convert::roster_remove(jid)).await;
            }
            SessionCommand::Block(jid, blocked) => {
                let id = new_id();
                self.block_iqs.insert(id.clone(), (jid.clone(), blocked));
                self.send(convert::block_request(id, jid, blocked)).await;
            }
            SessionCommand::ClientActive(active) => {
                self.csi.wanted = Some(active);
                self.send_client_state().await;
            }
            SessionCommand::Close => {}
        }
    }

    /// Tells the server whether the user is looking (XEP-0352), if the
    /// front end said so and the server supports it. The nonza slips in
    /// beside tokio-xmpp's queue (see `nonza.rs`); a ping to our server
    /// makes the transport write it now rather than with the next stanza.
    async fn send_client_state(&mut self) {
        let Some(active) = self.csi.wanted else {
            return;
        };
        if !self.csi.link_up {
            return; // Sent when the stream is up again.
        }
        if !self.csi.supported {
            tracing::debug!(account = %self.account, "the server does not offer client state indication");
            return;
        }
        let xml = if active {
            "<active xmlns='urn:xmpp:csi:0'/>"
        } else {
            "<inactive xmlns='urn:xmpp:csi:0'/>"
        };
        self.nonzas.replace_pending(xml);
        let ping = Iq::from_get(new_id(), tokio_xmpp::parsers::ping::Ping)
            .with_to(Jid::from(self.account.domain().to_owned()));
        self.send(ping).await;
        tracing::debug!(account = %self.account, active, "client state sent");
    }

    async fn output(&self, output: SessionOutput) {
        let _ = self.events.0.send(output).await;
    }

    async fn query_archive(&mut self, from: CatchUpFrom, starting: bool) {
        use tokio_xmpp::parsers::data_forms::{DataForm, DataFormType, Field};
        use tokio_xmpp::parsers::mam::{Query, QueryId};
        use tokio_xmpp::parsers::rsm::SetQuery;
        let started_from = from.clone();
        let (after, form) = match from {
            CatchUpFrom::After { id, .. } => (Some(id), None),
            CatchUpFrom::Since(ms) => {
                let start = chrono::DateTime::from_timestamp_millis(ms)
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
        let set = SetQuery {
            max: Some(ARCHIVE_PAGE),
            before: None,
            after,
            index: None,
        };
        let query_id = new_id();
        let iq_id = new_id();
        let fetched = match (&self.catch_up, starting) {
            (Some(c), false) => c.fetched,
            _ => 0,
        };
        self.catch_up = Some(CatchUp {
            iq_id: iq_id.clone(),
            query_id: query_id.clone(),
            from: started_from,
            fetched,
            page: Vec::new(),
        });
        let query = Query {
            queryid: Some(QueryId(query_id)),
            node: None,
            form,
            set: Some(set),
            flip_page: false,
        };
        self.send(Iq::from_set(iq_id, query)).await;
    }

    /// The server finished one archive page: report, then ask for the
    /// next or stop.
    async fn archive_page_done(&mut self, payload: Option<Element>) {
        use tokio_xmpp::parsers::mam::Fin;
        let Some(state) = self.catch_up.as_mut() else {
            return;
        };
        let fetched = state.fetched;
        let messages = std::mem::take(&mut state.page);
        let fin = payload.and_then(|p| Fin::try_from(p).ok());
        let (last, complete, total) = match &fin {
            Some(fin) => (fin.set.last.clone(), fin.complete, fin.set.count),
            None => (None, true, None),
        };
        let complete = complete || last.is_none();
        self.output(SessionOutput::ArchivePage {
            account: self.account.clone(),
            messages,
            last: last.clone(),
            complete,
        })
        .await;
        self.emit(Event::CatchUp {
            account: self.account.clone(),
            fetched,
            total,
            done: complete,
        })
        .await;
        if complete {
            self.catch_up = None;
        } else if let Some(last) = last {
            let fallback_since = match self.catch_up.as_ref().map(|c| &c.from) {
                Some(CatchUpFrom::After { fallback_since, .. }) => *fallback_since,
                Some(CatchUpFrom::Since(ms)) => *ms,
                None => 0,
            };
            self.query_archive(
                CatchUpFrom::After {
                    id: last,
                    fallback_since,
                },
                false,
            )
            .await;
        }
    }

    async fn handle_stanza(&mut self, stanza: Stanza) {
        match stanza {
            Stanza::Message(message) => {
                let pushed = pep::from_event(&message)
                    .map(|json| (json, PushSource::Pep))
                    .or_else(|| {
                        pep::from_message(&message).map(|json| (json, PushSource::Message))
                    });
                if let (Some((json, source)), Some(from)) = (pushed, &message.from)
                    && from.to_bare() != self.account
                {
                    self.output(SessionOutput::PushInfo {
                        account: self.account.clone(),
                        contact: from.to_bare(),
                        json: Some(json),
                        source,
                    })
                    .await;
                }
                if let Some(synced) = convert::carbon(&message, &self.account) {
                    self.output(SessionOutput::Synced {
                        account: self.account.clone(),
                        message: synced,
                    })
                    .await;
                    return;
                }
                let query = self.catch_up.as_ref().map(|c| c.query_id.clone());
                if let Some(query) = query
                    && let Some((_, synced)) =
                        convert::archive_result(&message, &self.account, &query)
                {
                    if let Some(c) = self.catch_up.as_mut() {
                        c.fetched += 1;
                        c.page.extend(synced);
                    }
                    return;
                }
                match convert::message_meaning(&message, self.account.as_str()) {
                    MessageMeaning::Chat(message) => {
                        let from = message.from.to_bare();
                        if message.wants_receipt
                            && let Some(id) = &message.id
                            && from != self.account
                        {
                            self.send(convert::receipt(message.from.clone(), id)).await;
                        }
                        let state = message.chat_state;
                        let _ = self
                            .events
                            .0
                            .send(SessionOutput::Incoming {
                                account: self.account.clone(),
                                message,
                            })
                            .await;
                        if let Some(state) = state {
                            self.chat_state(from, state).await;
                        }
                    }
                    MessageMeaning::ChatState { from, state } => {
                        self.chat_state(from.to_bare(), state).await;
                    }
                    MessageMeaning::Delivered { id } => {
                        self.emit_state(id, OutgoingState::Delivered).await;
                    }
                    MessageMeaning::Displayed { id } => {
                        self.emit_state(id, OutgoingState::Read).await;
                    }
                    MessageMeaning::Error { id, reason } => {
                        self.emit(Event::MessageError {
                            account: self.account.clone(),
                            id,
                            reason,
                        })
                        .await;
                    }
                    MessageMeaning::Ignore => {}
                }
            }
            Stanza::Presence(presence) => match convert::presence_meaning(&presence) {
                PresenceMeaning::Update(update) => {
                    self.emit(Event::Presence {
                        account: self.account.clone(),
                        update,
                    })
                    .await;
                }
                PresenceMeaning::Subscription { from, change } => {
                    self.emit(Event::Subscription {
                        account: self.account.clone(),
                        from,
                        change,
                    })
                    .await;
                }
                PresenceMeaning::Ignore => {}
            },
            Stanza::Iq(iq) => self.handle_iq(iq).await,
        }
    }

    /// A contact's chat state; our own (from another device) is not news.
    async fn chat_state(&self, from: BareJid, state: ChatState) {
        if from == self.account {
            return;
        }
        self.emit(Event::ChatState {
            account: self.account.clone(),
            from,
            state,
        })
        .await;
    }

    /// Roster pushes count only from our own account (RFC 6121 §2.1.6);
    /// anyone else could forge them.
    fn is_own_account(&self, from: Option<&Jid>) -> bool {
        from.is_none_or(|f| f.to_bare() == self.account)
    }

    async fn pep_answer(&mut self, request: PepRequest, result: Result<Option<Element>, String>) {
        match request {
            PepRequest::Fetch(contact) => {
                let json = result.ok().and_then(pep::from_items_result);
                self.output(SessionOutput::PushInfo {
                    account: self.account.clone(),
                    contact,
                    json,
                    source: PushSource::Pep,
                })
                .await;
            }
            PepRequest::Publish | PepRequest::Retract => {
                let published = matches!(request, PepRequest::Publish);
                self.emit(Event::PushInfoPublished {
                    account: self.account.clone(),
                    published,
                    error: result.err(),
                })
                .await;
            }
        }
    }

    async fn handle_iq(&mut self, iq: Iq) {
        let pep_id = match &iq {
            Iq::Result { id, .. } | Iq::Error { id, .. } if self.pep.contains_key(id) => {
                Some(id.clone())
            }
            _ => None,
        };
        if let Some(request) = pep_id.and_then(|id| self.pep.remove(&id)) {
            let result = match iq {
                Iq::Result { payload, .. } => Ok(payload),
                Iq::Error { error, .. } => Err(format!(
                    "the server refused ({})",
                    format!("{:?}", error.defined_condition).to_lowercase()
                )),
                _ => Err("unexpected answer".into()),
            };
            self.pep_answer(request, result).await;
            return;
        }
        if let Iq::Result { id, .. } | Iq::Error { id, .. } = &iq
            && (self.blocklist_iq.as_deref() == Some(id.as_str())
                || self.block_iqs.contains_key(id))
            && self.is_own_account(iq_from(&iq))
        {
            self.blocking_answer(iq).await;
            return;
        }
        match iq {
            Iq::Set {
                from, id, payload, ..
            } if payload.ns() == ns::BLOCKING => {
                if !self.is_own_account(from.as_ref()) {
                    self.reply_error(from, id, DefinedCondition::Forbidden)
                        .await;
                    return;
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
            Iq::Result {
                id, payload, from, ..
            } if self.roster_iq.as_deref() == Some(id.as_str())
                && self.is_own_account(from.as_ref()) =>
            {
                self.roster_iq = None;
                let roster = payload.and_then(|p| Roster::try_from(p).ok());
                let contacts = roster
                    .map(|r| {
                        r.items
                            .into_iter()
                            .map(convert::contact_from_item)
                            .collect()
                    })
                    .unwrap_or_default();
                self.emit(Event::Roster {
                    account: self.account.clone(),
                    contacts,
                })
                .await;
            }
            Iq::Result { id, payload, .. }
                if self.catch_up.as_ref().is_some_and(|c| c.iq_id == id) =>
            {
                self.archive_page_done(payload).await;
            }
            Iq::Error { id, error, .. }
                if self.catch_up.as_ref().is_some_and(|c| c.iq_id == id) =>
            {
                let fallback = match self.catch_up.as_ref().map(|c| &c.from) {
                    Some(CatchUpFrom::After { fallback_since, .. })
                        if error.defined_condition == DefinedCondition::ItemNotFound =>
                    {
                        Some(*fallback_since)
                    }
                    _ => None,
                };
                if let Some(since) = fallback {
                    // The server pruned our resume point: go by time.
                    tracing::info!(account = %self.account, "archive resume point is gone; catching up by time");
                    self.query_archive(CatchUpFrom::Since(since), false).await;
                } else {
                    tracing::warn!(account = %self.account, condition = ?error.defined_condition, "archive query failed");
                    self.archive_page_done(None).await;
                }
            }
            Iq::Error { id, error, .. } if self.roster_iq.as_deref() == Some(id.as_str()) => {
                self.roster_iq = None;
                tracing::warn!(account = %self.account, condition = ?error.defined_condition, "roster request failed");
            }
            Iq::Set {
                from, id, payload, ..
            } if payload.is("query", ns::ROSTER) => {
                if !self.is_own_account(from.as_ref()) {
                    self.reply_error(from, id, DefinedCondition::Forbidden)
                        .await;
                    return;
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
                self.reply(from, id, Some(disco_info(node).into())).await;
            }
            Iq::Get { from, id, .. } | Iq::Set { from, id, .. } => {
                self.reply_error(from, id, DefinedCondition::ServiceUnavailable)
                    .await;
            }
            Iq::Result { .. } | Iq::Error { .. } => {}
        }
    }

    /// The answer to our block list request or to a block or unblock.
    async fn blocking_answer(&mut self, iq: Iq) {
        let (id, result) = match iq {
            Iq::Result { id, payload, .. } => (id, Ok(payload)),
            Iq::Error { id, error, .. } => (id, Err(error.defined_condition)),
            _ => return,
        };
        if self.blocklist_iq.as_deref() == Some(id.as_str()) {
            self.blocklist_iq = None;
            let jids = match result {
                Ok(Some(payload)) => match convert::blocklist(payload) {
                    Ok(jids) => jids,
                    Err(e) => {
                        tracing::warn!(account = %self.account, error = %e, "unreadable block list");
                        return;
                    }
                },
                Ok(None) => Vec::new(),
                Err(condition) => {
                    tracing::info!(account = %self.account, ?condition, "the server has no block list");
                    return;
                }
            };
            self.emit(Event::BlockList {
                account: self.account.clone(),
                jids,
            })
            .await;
            return;
        }
        let Some((jid, blocked)) = self.block_iqs.remove(&id) else {
            return;
        };
        // Success shows as the server's push; a refusal leaves the address
        // as it was.
        if let Err(condition) = result {
            tracing::warn!(account = %self.account, %jid, blocked, ?condition, "blocking refused");
            self.emit(Event::Blocked {
                account: self.account.clone(),
                jid,
                blocked: !blocked,
            })
            .await;
        }
    }

    /// A block push from our server: an empty unblock unblocks everyone.
    async fn block_push(&mut self, jids: Vec<BareJid>, blocked: bool) {
        if jids.is_empty() && !blocked {
            self.emit(Event::BlockList {
                account: self.account.clone(),
                jids,
            })
            .await;
            return;
        }
        for jid in jids {
            self.emit(Event::Blocked {
                account: self.account.clone(),
                jid,
                blocked,
            })
            .await;
        }
    }

    async fn roster_push(&mut self, payload: Element) {
        let Ok(roster) = Roster::try_from(payload) else {
            tracing::debug!(account = %self.account, "unreadable roster push ignored");
            return;
        };
        for item in roster.items {
            let event = if item.subscription == RosterSubscription::Remove {
                Event::ContactRemoved {
                    account: self.account.clone(),
                    jid: item.jid,
                }
            } else {
                Event::ContactChanged {
                    account: self.account.clone(),
                    contact: convert::contact_from_item(item),
                }
            };
            self.emit(event).await;
        }
    }

    async fn send_presence(&self, availability: Availability, status: Option<&str>) {
        let mut presence = convert::own_presence(availability, status);
        if availability.is_online()
            && let Some(caps) = caps()
        {
            presence.add_payload(caps);
        }
        self.send(presence).await;
    }

    async fn reply(&self, to: Option<Jid>, id: String, payload: Option<Element>) {
        self.send(Iq::Result {
            from: None,
            to,
            id,
            payload,
        })
        .await;
    }

    async fn reply_error(&self, to: Option<Jid>, id: String, condition: DefinedCondition) {
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

/// Where our entity capabilities (XEP-0115) are described.
const CAPS_NODE: &str = "https://sotto.im";

/// What we answer to disco#info (XEP-0030), so peers know what we do.
/// `+notify` on the knock node asks contacts' PEP services to send us
/// their push info as they publish it.
fn disco_info(node: Option<String>) -> DiscoInfoResult {
    DiscoInfoResult {
        node,
        identities: vec![Identity::new("client", "pc", "en", "Sotto")],
        features: [
            ns::DISCO_INFO.to_owned(),
            ns::PING.to_owned(),
            ns::RECEIPTS.to_owned(),
            ns::SID.to_owned(),
            format!("{}+notify", pep::KNOCK_NS),
        ]
        .into_iter()
        .collect(),
        extensions: vec![],
    }
}

/// Our caps element for presence, computed from [`disco_info`].
fn caps() -> Option<tokio_xmpp::parsers::caps::Caps> {
    use tokio_xmpp::parsers::caps::{Caps, compute_disco, hash_caps};
    use tokio_xmpp::parsers::hashes::Algo;
    let hash = hash_caps(&compute_disco(&disco_info(None)), Algo::Sha_1).ok()?;
    Some(Caps::new(CAPS_NODE, hash))
}

/// Follows one outgoing stanza through tokio-xmpp's queue and reports each
/// stage.
async fn track_delivery(
    account: BareJid,
    id: String,
    mut token: tokio_xmpp::stanzastream::StanzaToken,
    events: EventSink,
) {
    let mut last = None;
    for stage in [StanzaStage::Sent, StanzaStage::Acked] {
        let state = match token.wait_for(stage).await {
            None | Some(StanzaState::Dropped) => OutgoingState::Failed {
                reason: "the connection was closed before the message went out".into(),
            },
            Some(StanzaState::Failed { error }) => OutgoingState::Failed {
                reason: format!("the message could not be sent: {}", error.to_io_error()),
            },
            Some(StanzaState::Sent { .. }) => OutgoingState::Sent,
            Some(StanzaState::Acked { .. }) => OutgoingState::Acked,
            Some(StanzaState::Queued) => continue,
        };
        if last.as_ref() == Some(&state) {
            continue;
        }
        last = Some(state.clone());
        let done = !matches!(state, OutgoingState::Sent);
        let _ = events
            .send(Event::MessageState {
                account: account.clone(),
                id: id.clone(),
                state,
            })
            .await;
        if done {
            return;
        }
    }
}

fn iq_from(iq: &Iq) -> Option<&Jid> {
    match iq {
        Iq::Get { from, .. }
        | Iq::Set { from, .. }
        | Iq::Result { from, .. }
        | Iq::Error { from, .. } => from.as_ref(),
    }
}

/// A fresh random stanza id.
pub fn new_id() -> String {
    let bytes: [u8; 12] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(xml: &str) -> StreamFeatures {
        let el: Element = xml.parse().expect("xml");
        StreamFeatures::try_from(el).expect("features")
    }

    #[test]
    fn never_offers_plain_or_anonymous() {
        let f = features(
            "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>\
             <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
             <mechanism>PLAIN</mechanism><mechanism>ANONYMOUS</mechanism>\
             <mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>",
        );
        let (mechs, binding) = choose_scram(&f, ChannelBinding::TlsExporter(vec![1; 32]));
        assert_eq!(mechs.into_iter().collect::<Vec<_>>(), ["SCRAM-SHA-1"]);
        assert!(matches!(binding, ChannelBinding::None));
    }

    #[test]
    fn uses_plus_with_tls_exporter_when_offered() {
        let f = features(
            "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>\
             <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
             <mechanism>SCRAM-SHA-1</mechanism><mechanism>SCRAM-SHA-1-PLUS</mechanism>\
             </mechanisms></stream:features>",
        );
        let (mechs, binding) = choose_scram(&f, ChannelBinding::TlsExporter(vec![1; 32]));
        assert_eq!(mechs.into_iter().collect::<Vec<_>>(), ["SCRAM-SHA-1-PLUS"]);
        assert!(matches!(binding, ChannelBinding::TlsExporter(_)));
        let (mechs, _) = choose_scram(&f, ChannelBinding::None);
        assert_eq!(mechs.into_iter().collect::<Vec<_>>(), ["SCRAM-SHA-1"]);
    }

    #[test]
    fn plain_only_servers_get_nothing() {
        let f = features(
            "<stream:features xmlns:stream='http://etherx.jabber.org/streams'>\
             <mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
             <mechanism>PLAIN</mechanism></mechanisms></stream:features>",
        );
        assert!(choose_scram(&f, ChannelBinding::None).0.is_empty());
    }

    #[test]
    fn our_caps_advertise_push_info_notifications() {
        let caps = caps().expect("caps");
        let el: Element = caps.into();
        assert_eq!(el.attr("node"), Some(CAPS_NODE));
        assert_eq!(el.attr("hash"), Some("sha-1"));
        let info = disco_info(None);
        assert!(info.features.contains("urn:sotto:knock:0+notify"));
    }

    #[test]
    fn sm_failed_without_h_parses() {
        // Prosody 0.12 sends this when a stream cannot be resumed; see
        // vendor/README.md.
        let el: Element = "<failed xmlns='urn:xmpp:sm:3'><item-not-found \
             xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>"
            .parse()
            .expect("xml");
        let failed = tokio_xmpp::parsers::sm::Failed::try_from(el).expect("parses");
        assert_eq!(failed.h, None);
    }

    #[test]
    fn wrong_password_is_fatal_network_trouble_is_not() {
        let wrong = classify(XmppError::Auth(AuthError::Fail(
            tokio_xmpp::parsers::sasl::DefinedCondition::NotAuthorized,
        )));
        assert!(wrong.fatal);
        assert!(wrong.reason.contains("not authorized"), "{}", wrong.reason);
        let net = classify(XmppError::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )));
        assert!(!net.fatal);
        let untrusted = classify(XmppError::Connection(Box::new(ConnectError::NoTls {
            server: "x:1".into(),
        })));
        assert!(untrusted.fatal);
    }
}
