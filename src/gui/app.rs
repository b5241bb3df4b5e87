//! The application state and its `update`: engine events in, commands
//! out, store reads as tasks. Never blocks and never awaits.

use iced::keyboard::{self, Key, key::Named};
use iced::widget::{operation, scrollable, text_editor};
use iced::{Task, window};
use secrecy::SecretString;
use sotto::config::Config;
use sotto::engine::{Command, Engine, Event};
use sotto::knock::PushInfo;
use sotto::model::{BareJid, ChatState, ConnectionState, OutgoingMessage, OutgoingState, now_ms};
use sotto::paths::Paths;
use sotto::sandbox::SandboxStatus;
use sotto::secrets::Secrets;
use sotto::store::{
    ConversationSummary, Direction, KeyOrigin, MessageState, PushSource, SearchHit, Store,
    StoredMessage,
};

use super::backend::{Backend, UnlockFailure};
use super::chat::{Chat, PAGE, SendButton};
use super::notify::{self, Notice};
use super::prefs::{self, Prefs, ThemeChoice};
use super::signin::{SignIn, Status as SignInStatus};
use super::state::{Key as ContactKey, People, PushSummary};

pub const MESSAGES: &str = "messages";
pub const OVERLAY_INPUT: &str = "overlay-input";
pub const COMPOSER: &str = "composer";

/// After this long without a key, the contact is told we paused.
const TYPING_PAUSE: std::time::Duration = std::time::Duration::from_secs(5);
/// While typing, "composing" is said again this often at most.
const TYPING_REPEAT: std::time::Duration = std::time::Duration::from_secs(20);

/// Where the app is in starting up.
#[derive(Debug)]
pub enum Phase {
    /// Waiting for the window, then the keychain.
    Starting,
    /// The database needs its passphrase.
    Locked {
        passphrase: String,
        creating: bool,
        error: Option<String>,
        busy: bool,
    },
    /// The database could not be opened at all.
    Broken(String),
    Ready,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Chats,
    Contacts,
    Settings,
    SignIn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverlayKind {
    Switcher,
    NewChat,
    Search,
}

#[derive(Debug)]
pub struct Overlay {
    pub kind: OverlayKind,
    pub query: String,
    pub hits: Vec<SearchHit>,
    pub account: Option<BareJid>,
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    WindowOpened,
    WindowFocus(bool),
    Shortcut(Shortcut),
    SystemDark(bool),
    // Start-up.
    PassphraseChanged(String),
    Unlock,
    Unlocked(Result<(Store, KeyOrigin), UnlockFailure>),
    LoginProblems(Vec<(BareJid, String)>),
    Engine(Vec<Event>),
    // Conversations.
    Conversations(Result<Vec<ConversationSummary>, String>),
    Filter(String),
    Open(BareJid, BareJid),
    OpenAt(BareJid, BareJid, i64),
    Page {
        account: BareJid,
        peer: BareJid,
        older: bool,
        result: Result<Vec<StoredMessage>, String>,
    },
    Scrolled(scrollable::Viewport),
    JumpToBottom,
    // Composer.
    Composer(text_editor::Action),
    /// No key pressed for a while: tell the contact we paused (XEP-0085).
    TypingPause(u64),
    Send,
    Knock,
    EditLast,
    CancelEdit,
    Retry(i64),
    /// A cooldown ended: redraw so Knock is enabled again.
    Tick,
    // Contact details.
    ToggleDetails,
    PushLoaded(ContactKey, Option<PushSummary>),
    PushLink(String),
    AddPush,
    RemovePush,
    FetchPush,
    AutoKnock(bool),
    // Overlays.
    OpenOverlay(OverlayKind),
    CloseOverlay,
    OverlayQuery(String),
    OverlayAccount(BareJid),
    SearchResults(String, Result<Vec<SearchHit>, String>),
    StartChat,
    // Screens.
    Show(Screen),
    SignIn(SignInMessage),
    SignedIn(Result<Box<Config>, String>),
    Contacts(ContactsMessage),
    Settings(SettingsMessage),
    NotificationClicked(BareJid, BareJid),
    DismissBanner,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcut {
    Switcher,
    NewChat,
    Search,
    Escape,
}

#[derive(Debug, Clone)]
pub enum SignInMessage {
    Jid(String),
    Password(String),
    Advanced(bool),
    Server(String),
    DirectTls(bool),
    Submit,
    Trust,
    Cancel,
}

#[derive(Debug, Clone)]
pub enum ContactsMessage {
    NewJid(String),
    NewName(String),
    Add,
    Answer(BareJid, BareJid, bool),
    StartRename(BareJid, BareJid),
    RenameText(String),
    SaveName,
    Remove(BareJid, BareJid),
    Block(BareJid, BareJid, bool),
}

#[derive(Debug, Clone)]
pub enum SettingsMessage {
    Notifications(bool),
    HideContent(bool),
    Previews(bool),
    Theme(ThemeChoice),
    Enable(BareJid, bool),
    Remove(BareJid),
    ConfirmRemove(BareJid),
    Removed(BareJid, Result<(), String>),
    Reconnect(BareJid),
}

#[derive(Debug, Default)]
pub struct ContactsForm {
    pub jid: String,
    pub name: String,
    pub account: Option<BareJid>,
    pub error: Option<String>,
    /// The contact being renamed and the name typed so far.
    pub renaming: Option<(ContactKey, String)>,
}

pub struct App {
    pub paths: Paths,
    pub config: Config,
    pub prefs: Prefs,
    pub phase: Phase,
    pub backend: Option<Backend>,
    pub key_origin: Option<KeyOrigin>,
    pub sandbox: Option<SandboxStatus>,
    pub screen: Screen,
    pub people: People,
    pub conversations: Vec<ConversationSummary>,
    pub filter: String,
    pub chat: Option<Chat>,
    pub overlay: Option<Overlay>,
    pub sign_in: SignIn,
    pub contacts_form: ContactsForm,
    pub confirm_remove: Option<BareJid>,
    pub focused: bool,
    pub system_dark: bool,
    /// A problem worth telling, until dismissed.
    pub banner: Option<String>,
    /// Set by tests: never touch the sandbox or the desktop.
    pub headless: bool,
    /// The conversation list has been shown once (start-up timing).
    listed: bool,
}

impl App {
    pub fn new(paths: Paths, config: Config) -> Self {
        let prefs = Prefs::load(&prefs::file(&paths));
        let screen = if config.accounts.is_empty() {
            Screen::SignIn
        } else {
            Screen::Chats
        };
        Self {
            paths,
            config,
            prefs,
            phase: Phase::Starting,
            backend: None,
            key_origin: None,
            sandbox: None,
            screen,
            people: People::default(),
            conversations: Vec::new(),
            filter: String::new(),
            chat: None,
            overlay: None,
            sign_in: SignIn::default(),
            contacts_form: ContactsForm::default(),
            confirm_remove: None,
            focused: true,
            system_dark: false,
            banner: None,
            headless: false,
            listed: false,
        }
    }

    /// A running app over an already open store, for tests: no sandbox,
    /// no notifications, events fed by the caller.
    #[cfg(test)]
    pub fn headless(paths: Paths, config: Config, backend: Backend) -> Self {
        let mut app = Self::new(paths, config);
        app.headless = true;
        app.backend = Some(backend);
        app.phase = Phase::Ready;
        app
    }

    pub fn theme(&self) -> iced::Theme {
        let dark = match self.prefs.theme {
            ThemeChoice::System => self.system_dark,
            ThemeChoice::Light => false,
            ThemeChoice::Dark => true,
        };
        if dark {
            iced::Theme::Dark
        } else {
            iced::Theme::Light
        }
    }

    pub fn typing(&self, account: &BareJid, peer: &BareJid) -> bool {
        self.people
            .typing
            .contains(&(account.clone(), peer.clone()))
    }

    pub fn title(&self) -> String {
        let unread: i64 = self.conversations.iter().map(|c| c.unread).sum();
        match (&self.chat, unread) {
            (Some(chat), 0) => format!(
                "{} — Sotto",
                self.people.display_name(&chat.account, &chat.peer)
            ),
            (_, 0) => "Sotto".into(),
            (_, n) => format!("Sotto ({n})"),
        }
    }

    pub fn update(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::WindowOpened => self.start(),
            Message::WindowFocus(focused) => {
                self.focused = focused;
                self.client_active(focused);
                if focused {
                    self.mark_open_read()
                } else {
                    Task::none()
                }
            }
            Message::SystemDark(dark) => {
                self.system_dark = dark;
                Task::none()
            }
            Message::Shortcut(s) => self.shortcut(s),
            Message::PassphraseChanged(p) => {
                if let Phase::Locked { passphrase, .. } = &mut self.phase {
                    *passphrase = p;
                }
                Task::none()
            }
            Message::Unlock => self.unlock_with_passphrase(),
            Message::Unlocked(result) => self.unlocked(result),
            Message::LoginProblems(problems) => {
                if let Some((jid, why)) = problems.first() {
                    self.banner = Some(format!("{jid} could not sign in: {why}"));
                }
                Task::none()
            }
            Message::Engine(events) => self.engine_events(events),
            Message::Conversations(Ok(list)) => {
                if !self.listed {
                    self.listed = true;
                    tracing::info!(
                        ms = super::since_start_ms(),
                        conversations = list.len(),
                        "conversation list shown"
                    );
                }
                self.conversations = list;
                Task::none()
            }
            Message::Conversations(Err(e)) | Message::SearchResults(_, Err(e)) => {
                self.banner = Some(format!("Sotto could not read its database: {e}"));
                Task::none()
            }
            Message::Filter(f) => {
                self.filter = f;
                Task::none()
            }
            Message::Open(account, peer) => self.open(account, peer, None),
            Message::OpenAt(account, peer, id) => self.open(account, peer, Some(id)),
            Message::NotificationClicked(account, peer) => {
                let open = self.open(account, peer, None);
                match self.window_task() {
                    Some(focus) => Task::batch([open, focus]),
                    None => open,
                }
            }
            Message::Page {
                account,
                peer,
                older,
                result,
            } => self.page(&account, &peer, older, result),
            Message::Scrolled(viewport) => self.scrolled(viewport),
            Message::JumpToBottom => {
                if let Some(chat) = &mut self.chat {
                    chat.at_bottom = true;
                    chat.highlight = None;
                }
                operation::snap_to_end(MESSAGES)
            }
            Message::Composer(action) => self.compose(action),
            Message::TypingPause(generation) => {
                if let (Some(chat), Some(b)) = (&mut self.chat, &self.backend)
                    && chat.typing_generation == generation
                    && chat.composing_since.take().is_some()
                {
                    b.send(Command::SetChatState {
                        account: chat.account.clone(),
                        to: chat.peer.clone(),
                        state: ChatState::Paused,
                    });
                }
                Task::none()
            }
            Message::Send => self.send(),
            Message::Knock => self.knock(),
            Message::EditLast => {
                if let Some(chat) = &mut self.chat
                    && chat.text().trim().is_empty()
                    && let Some(last) = chat.last_own().cloned()
                {
                    chat.editing = last.origin_id.clone();
                    chat.composer = text_editor::Content::with_text(&last.body);
                    chat.composer
                        .perform(text_editor::Action::Move(text_editor::Motion::DocumentEnd));
                }
                Task::none()
            }
            Message::CancelEdit => {
                if let Some(chat) = &mut self.chat
                    && chat.editing.take().is_some()
                {
                    chat.composer = text_editor::Content::new();
                }
                Task::none()
            }
            Message::Retry(id) => self.retry(id),
            Message::Tick => Task::none(),
            Message::ToggleDetails => {
                if let Some(chat) = &mut self.chat {
                    chat.details = !chat.details;
                }
                Task::none()
            }
            Message::PushLoaded(key, push) => {
                self.people.contact_mut(&key.0, &key.1).push = push.clone();
                // Wake the view when a knock cooldown ends.
                match push.and_then(|p| sotto::knock::cooldown_left(p.last_knock_at, now_ms())) {
                    Some(ms) => Task::perform(
                        sleep(std::time::Duration::from_millis(ms as u64 + 50)),
                        |()| Message::Tick,
                    ),
                    None => Task::none(),
                }
            }
            Message::PushLink(s) => {
                if let Some(chat) = &mut self.chat {
                    chat.push_link = s;
                    chat.push_error = None;
                }
                Task::none()
            }
            Message::AddPush => self.add_push(),
            Message::RemovePush => self.remove_push(),
            Message::FetchPush => {
                if let (Some(chat), Some(b)) = (&self.chat, &self.backend) {
                    b.send(Command::FetchPushInfo {
                        account: chat.account.clone(),
                        contact: chat.peer.clone(),
                    });
                }
                Task::none()
            }
            Message::AutoKnock(on) => {
                if let (Some(chat), Some(b)) = (&self.chat, &self.backend) {
                    b.send(Command::SetAutoKnock {
                        account: chat.account.clone(),
                        contact: chat.peer.clone(),
                        on,
                    });
                    let key = (chat.account.clone(), chat.peer.clone());
                    if let Some(p) = self.people.contact_mut(&key.0, &key.1).push.as_mut() {
                        p.auto_knock = on;
                    }
                }
                Task::none()
            }
            Message::OpenOverlay(kind) => self.open_overlay(kind),
            Message::CloseOverlay => {
                self.overlay = None;
                Task::none()
            }
            Message::OverlayQuery(q) => self.overlay_query(q),
            Message::OverlayAccount(account) => {
                if let Some(o) = &mut self.overlay {
                    o.account = Some(account);
                }
                Task::none()
            }
            Message::SearchResults(query, Ok(hits)) => {
                if let Some(o) = &mut self.overlay
                    && o.query == query
                {
                    o.hits = hits;
                }
                Task::none()
            }
            Message::StartChat => self.start_chat(),
            Message::Show(screen) => {
                self.screen = screen;
                self.overlay = None;
                Task::none()
            }
            Message::SignIn(m) => self.sign_in(m),
            Message::SignedIn(result) => self.signed_in(result),
            Message::Contacts(m) => self.contacts(m),
            Message::Settings(m) => self.settings(m),
            Message::DismissBanner => {
                self.banner = None;
                Task::none()
            }
        }
    }

    // ---- start-up -------------------------------------------------------

    /// The window is up: confine the process, then open the store.
    fn start(&mut self) -> Task<Message> {
        if !matches!(self.phase, Phase::Starting) || self.backend.is_some() {
            return Task::none();
        }
        tracing::info!(ms = super::since_start_ms(), "window open");
        if !self.headless {
            // The window and its libraries are loaded; from here on the
            // process (and every thread it starts) reaches only its own
            // folders. Threads started earlier by the toolkit keep their
            // access; none of them touches the network or the store.
            let status = sotto::sandbox::confine(&self.paths);
            tracing::info!(sandbox = %status, "sandbox");
            self.sandbox = Some(status);
        }
        let paths = self.paths.clone();
        Task::perform(
            off_thread(move || super::backend::unlock(&paths, None)),
            |r| {
                Message::Unlocked(r.unwrap_or_else(|| {
                    Err(UnlockFailure::Other("the unlock thread failed".into()))
                }))
            },
        )
    }

    fn unlock_with_passphrase(&mut self) -> Task<Message> {
        let Phase::Locked {
            passphrase, busy, ..
        } = &mut self.phase
        else {
            return Task::none();
        };
        if passphrase.is_empty() {
            return Task::none();
        }
        *busy = true;
        let secret = SecretString::from(std::mem::take(passphrase));
        let paths = self.paths.clone();
        Task::perform(
            off_thread(move || super::backend::unlock(&paths, Some(secret))),
            |r| {
                Message::Unlocked(r.unwrap_or_else(|| {
                    Err(UnlockFailure::Other("the unlock thread failed".into()))
                }))
            },
        )
    }

    fn unlocked(&mut self, result: Result<(Store, KeyOrigin), UnlockFailure>) -> Task<Message> {
        match result {
            Ok((store, origin)) => {
                self.key_origin = Some(origin);
                match Backend::start(store) {
                    Ok(backend) => {
                        self.backend = Some(backend);
                        self.phase = Phase::Ready;
                        self.after_start()
                    }
                    Err(e) => {
                        self.phase = Phase::Broken(format!("Sotto could not start: {e}"));
                        Task::none()
                    }
                }
            }
            Err(UnlockFailure::NeedsPassphrase { creating }) => {
                self.phase = Phase::Locked {
                    passphrase: String::new(),
                    creating,
                    error: None,
                    busy: false,
                };
                Task::none()
            }
            Err(UnlockFailure::Other(e)) => {
                match &mut self.phase {
                    Phase::Locked { error, busy, .. } => {
                        *error = Some(e);
                        *busy = false;
                    }
                    phase => *phase = Phase::Broken(e),
                }
                Task::none()
            }
        }
    }

    /// Store open, engine running: listen, sign in, show what is stored.
    pub fn after_start(&mut self) -> Task<Message> {
        let Some(backend) = self.backend.clone() else {
            return Task::none();
        };
        let mut tasks = vec![self.reload_conversations()];
        if let Some(events) = backend.event_stream() {
            tasks.push(Task::run(events, Message::Engine));
        }
        for account in &self.config.accounts {
            self.people.accounts.entry(account.jid.clone()).or_default();
        }
        tasks.push(Task::perform(
            backend.login_all(&self.config),
            Message::LoginProblems,
        ));
        tasks.push(self.load_rosters());
        Task::batch(tasks)
    }

    /// Contacts as stored, so names show before the server answers.
    fn load_rosters(&self) -> Task<Message> {
        let Some(backend) = &self.backend else {
            return Task::none();
        };
        let tasks = self.config.accounts.iter().map(|a| {
            let account = a.jid.clone();
            let acc = account.to_string();
            Task::perform(
                backend.read(move |s| s.contacts(&acc)),
                move |r: Result<Vec<sotto::model::Contact>, String>| {
                    Message::Engine(vec![Event::Roster {
                        account: account.clone(),
                        contacts: r.unwrap_or_default(),
                    }])
                },
            )
        });
        Task::batch(tasks)
    }

    pub fn reload_conversations(&self) -> Task<Message> {
        match &self.backend {
            Some(b) => Task::perform(b.read(|s| s.conversations(None)), Message::Conversations),
            None => Task::none(),
        }
    }

    // ---- engine events --------------------------------------------------

    fn engine_events(&mut self, events: Vec<Event>) -> Task<Message> {
        let mut tasks = Vec::new();
        let mut list_changed = false;
        for event in events {
            list_changed |= self.people.apply(&event);
            match event {
                Event::Connection { account, state } => {
                    if self.sign_in.follow(&account, &state) {
                        tasks.push(self.save_signed_in());
                    }
                    if let ConnectionState::Failed { reason, .. } = &state
                        && self.config.account(&account).is_some()
                    {
                        self.banner = Some(format!(
                            "{account} is offline: {reason}. See Settings to fix it."
                        ));
                    }
                }
                Event::Message { account, message } => {
                    tasks.push(self.arrived(&account, vec![message]));
                }
                Event::Corrected {
                    account, message, ..
                } => {
                    if let Some(chat) = &mut self.chat
                        && chat.account == account
                    {
                        chat.merge([message]);
                    }
                }
                Event::Archived { account, messages } => {
                    if let Some(chat) = &mut self.chat
                        && chat.account == account
                    {
                        chat.merge(messages);
                    }
                }
                Event::MessageState { account, id, state } => {
                    if let Some(chat) = &mut self.chat
                        && chat.account == account
                    {
                        let (state, failure) = match state {
                            OutgoingState::Queued => (MessageState::Queued, None),
                            OutgoingState::Sent => (MessageState::Sent, None),
                            OutgoingState::Acked => (MessageState::Acked, None),
                            OutgoingState::Delivered => (MessageState::Delivered, None),
                            OutgoingState::Read => (MessageState::Read, None),
                            OutgoingState::Failed { reason } => {
                                (MessageState::Failed, Some(reason))
                            }
                        };
                        chat.set_state(&id, state, failure);
                    }
                }
                Event::MessageError {
                    reason, id: None, ..
                } => {
                    self.banner = Some(reason);
                }
                Event::PushInfoLearned {
                    account, contact, ..
                }
                | Event::Knocked {
                    account, contact, ..
                } => tasks.push(self.load_push(account, contact)),
                Event::PushInfoRejected {
                    account,
                    contact,
                    reason,
                } => {
                    if let Some(chat) = &mut self.chat
                        && chat.account == account
                        && chat.peer == contact
                    {
                        chat.push_error = Some(reason);
                    }
                }
                Event::PushInfoPublished {
                    error: Some(error), ..
                } => self.banner = Some(error),
                _ => {}
            }
        }
        if list_changed {
            tasks.push(self.reload_conversations());
        }
        Task::batch(tasks)
    }

    /// New messages in the store: show them, mark them read or notify.
    fn arrived(&mut self, account: &BareJid, messages: Vec<StoredMessage>) -> Task<Message> {
        let mut tasks = Vec::new();
        for m in messages {
            let open = self.chat.as_ref().is_some_and(|c| c.is(account, &m.peer));
            let incoming = m.direction == Direction::In;
            if open {
                if let Some(chat) = &mut self.chat {
                    chat.merge([m.clone()]);
                    if chat.at_bottom {
                        tasks.push(operation::snap_to_end(MESSAGES));
                    }
                }
                if incoming && self.focused {
                    tasks.push(self.mark_open_read());
                }
            }
            if incoming && !(open && self.focused) && self.prefs.notifications && !self.headless {
                tasks.push(self.notify(account, &m));
            }
        }
        Task::batch(tasks)
    }

    fn notify(&self, account: &BareJid, m: &StoredMessage) -> Task<Message> {
        let Some(backend) = &self.backend else {
            return Task::none();
        };
        let Ok(peer) = m.peer.parse::<BareJid>() else {
            return Task::none();
        };
        let notice = Notice {
            title: self.people.display_name(account, &peer),
            body: (!self.prefs.hide_content).then(|| m.body.clone()),
        };
        let account = account.clone();
        Task::perform(
            backend.blocking(move || notify::show_and_wait(&notice)),
            move |clicked| {
                if clicked == Some(true) {
                    Message::NotificationClicked(account.clone(), peer.clone())
                } else {
                    Message::Tick
                }
            },
        )
    }

    fn window_task(&self) -> Option<Task<Message>> {
        if self.headless {
            return None;
        }
        Some(window::latest().and_then(window::gain_focus))
    }

    /// XEP-0352: the server may hold back unimportant traffic while the
    /// window is not in use.
    fn client_active(&self, active: bool) {
        if let Some(b) = &self.backend {
            b.send(Command::SetClientActive { active });
        }
    }

    fn mark_open_read(&mut self) -> Task<Message> {
        let (Some(chat), Some(b)) = (&self.chat, &self.backend) else {
            return Task::none();
        };
        let unread = self.conversations.iter().any(|c| {
            chat.is(&c.account.parse().unwrap_or(chat.account.clone()), &c.peer) && c.unread > 0
        });
        let newest_incoming = chat
            .messages
            .iter()
            .rev()
            .find(|m| m.direction == Direction::In)
            .is_some();
        if !unread && !newest_incoming {
            return Task::none();
        }
        b.send(Command::MarkRead {
            account: chat.account.clone(),
            peer: chat.peer.clone(),
        });
        for c in &mut self.conversations {
            if chat.is(&chat.account, &c.peer) && c.account == chat.account.as_str() {
                c.unread = 0;
            }
        }
        Task::none()
    }

    // ---- opening chats and paging ---------------------------------------

    fn open(&mut self, account: BareJid, peer: BareJid, at: Option<i64>) -> Task<Message> {
        let Some(backend) = self.backend.clone() else {
            return Task::none();
        };
        self.overlay = None;
        self.screen = Screen::Chats;
        let same = self
            .chat
            .as_ref()
            .is_some_and(|c| c.is(&account, peer.as_str()));
        if !same || at.is_some() {
            let mut chat = Chat::new(account.clone(), peer.clone());
            chat.highlight = at;
            chat.at_bottom = at.is_none();
            self.chat = Some(chat);
        }
        let (acc, who) = (account.to_string(), peer.to_string());
        let load = Task::perform(
            backend.read(move |s| match at {
                // Around the message: a page before it and a page after.
                Some(id) => {
                    let all = s.messages_before(&acc, &who, None, usize::MAX)?;
                    let pos = all.iter().position(|m| m.id == id).unwrap_or(all.len());
                    let start = pos.saturating_sub(PAGE);
                    let end = (pos + PAGE).min(all.len());
                    Ok(all[start..end].to_vec())
                }
                None => s.messages_before(&acc, &who, None, PAGE),
            }),
            {
                let (account, peer) = (account.clone(), peer.clone());
                move |result| Message::Page {
                    account: account.clone(),
                    peer: peer.clone(),
                    older: false,
                    result,
                }
            },
        );
        let focus = operation::focus(COMPOSER);
        let read = self.mark_open_read();
        let push = self.load_push(account, peer);
        Task::batch([load, focus, read, push])
    }

    fn page(
        &mut self,
        account: &BareJid,
        peer: &BareJid,
        older: bool,
        result: Result<Vec<StoredMessage>, String>,
    ) -> Task<Message> {
        let Some(chat) = &mut self.chat else {
            return Task::none();
        };
        if !chat.is(account, peer.as_str()) {
            return Task::none();
        }
        match result {
            Ok(page) if older => chat.prepend(page),
            Ok(page) => {
                if page.len() < PAGE && chat.highlight.is_none() {
                    chat.at_start = true;
                }
                chat.merge(page);
                if let Some(id) = chat.highlight {
                    let pos = chat.messages.iter().position(|m| m.id == id).unwrap_or(0);
                    let y = pos as f32 / chat.messages.len().max(1) as f32;
                    return operation::snap_to(MESSAGES, scrollable::RelativeOffset { x: 0.0, y });
                }
                return operation::snap_to_end(MESSAGES);
            }
            Err(e) => {
                chat.loading_older = false;
                self.banner = Some(format!("Sotto could not read this conversation: {e}"));
            }
        }
        Task::none()
    }

    fn scrolled(&mut self, viewport: scrollable::Viewport) -> Task<Message> {
        let Some(chat) = &mut self.chat else {
            return Task::none();
        };
        let offset = viewport.absolute_offset();
        let max = (viewport.content_bounds().height - viewport.bounds().height).max(0.0);
        chat.at_bottom = max - offset.y < 40.0;
        let near_top = offset.y < 200.0;
        if !near_top || chat.at_start || chat.loading_older {
            return Task::none();
        }
        let Some(backend) = &self.backend else {
            return Task::none();
        };
        let Some(oldest) = chat.messages.first().map(StoredMessage::cursor) else {
            return Task::none();
        };
        chat.loading_older = true;
        let (acc, who) = (chat.account.to_string(), chat.peer.to_string());
        let (account, peer) = (chat.account.clone(), chat.peer.clone());
        Task::perform(
            backend.read(move |s| s.messages_before(&acc, &who, Some(oldest), PAGE)),
            move |result| Message::Page {
                account: account.clone(),
                peer: peer.clone(),
                older: true,
                result,
            },
        )
    }

    // ---- composer -------------------------------------------------------

    fn compose(&mut self, action: text_editor::Action) -> Task<Message> {
        let (Some(chat), Some(backend)) = (&mut self.chat, &self.backend) else {
            return Task::none();
        };
        let edit = action.is_edit();
        chat.composer.perform(action);
        if !edit || chat.editing.is_some() {
            return Task::none();
        }
        if chat.text().trim().is_empty() {
            // Everything deleted: no longer composing.
            if chat.composing_since.take().is_some() {
                backend.send(Command::SetChatState {
                    account: chat.account.clone(),
                    to: chat.peer.clone(),
                    state: ChatState::Active,
                });
            }
            return Task::none();
        }
        // Composing once per burst of typing, not once per key.
        let now = std::time::Instant::now();
        if chat
            .composing_since
            .is_none_or(|t| now.duration_since(t) > TYPING_REPEAT)
        {
            chat.composing_since = Some(now);
            backend.send(Command::SetChatState {
                account: chat.account.clone(),
                to: chat.peer.clone(),
                state: ChatState::Composing,
            });
        }
        chat.typing_generation += 1;
        let generation = chat.typing_generation;
        Task::perform(sleep(TYPING_PAUSE), move |()| {
            Message::TypingPause(generation)
        })
    }

    fn send(&mut self) -> Task<Message> {
        let (Some(chat), Some(backend)) = (&mut self.chat, &self.backend) else {
            return Task::none();
        };
        let body = chat.text().trim_end().to_owned();
        if body.trim().is_empty() {
            return self.knock_if_offered();
        }
        match chat.editing.take() {
            Some(replaces) => backend.send(Command::CorrectMessage {
                account: chat.account.clone(),
                to: chat.peer.clone(),
                replaces,
                body,
            }),
            None => backend.send(Command::SendMessage {
                account: chat.account.clone(),
                message: OutgoingMessage {
                    id: Engine::new_message_id(),
                    to: chat.peer.clone(),
                    body,
                },
            }),
        }
        chat.composer = text_editor::Content::new();
        // The message itself carries <active/>.
        chat.composing_since = None;
        chat.typing_generation += 1;
        chat.at_bottom = true;
        operation::snap_to_end(MESSAGES)
    }

    /// Enter in an empty composer knocks when Knock is what the button says.
    fn knock_if_offered(&mut self) -> Task<Message> {
        match self.send_button() {
            Some(SendButton::Knock { wait: None }) => self.knock(),
            _ => Task::none(),
        }
    }

    pub fn send_button(&self) -> Option<SendButton> {
        let chat = self.chat.as_ref()?;
        let key = (chat.account.clone(), chat.peer.clone());
        Some(chat.send_button(
            self.people.contacts.get(&key),
            self.people.knocks.get(&key),
            &self.people.display_name(&chat.account, &chat.peer),
            now_ms(),
        ))
    }

    fn knock(&mut self) -> Task<Message> {
        let (Some(chat), Some(backend)) = (&self.chat, &self.backend) else {
            return Task::none();
        };
        backend.send(Command::Knock {
            account: chat.account.clone(),
            contact: chat.peer.clone(),
        });
        Task::none()
    }

    /// A failed message goes out again as a new message (the failed one
    /// stays, marked, so nothing disappears).
    fn retry(&mut self, id: i64) -> Task<Message> {
        let (Some(chat), Some(backend)) = (&self.chat, &self.backend) else {
            return Task::none();
        };
        if let Some(m) = chat.messages.iter().find(|m| m.id == id) {
            backend.send(Command::SendMessage {
                account: chat.account.clone(),
                message: OutgoingMessage {
                    id: Engine::new_message_id(),
                    to: chat.peer.clone(),
                    body: m.body.clone(),
                },
            });
        }
        Task::none()
    }

    // ---- push info ------------------------------------------------------

    fn load_push(&self, account: BareJid, contact: BareJid) -> Task<Message> {
        let Some(backend) = &self.backend else {
            return Task::none();
        };
        let (acc, who) = (account.to_string(), contact.to_string());
        Task::perform(backend.read(move |s| s.push_info(&acc, &who)), move |r| {
            Message::PushLoaded(
                (account.clone(), contact.clone()),
                r.ok().flatten().as_ref().map(PushSummary::from),
            )
        })
    }

    /// A tester pastes an `xmpp:` knock link or `ENDPOINT TOKEN`.
    fn add_push(&mut self) -> Task<Message> {
        let (Some(chat), Some(backend)) = (&mut self.chat, &self.backend) else {
            return Task::none();
        };
        let input = chat.push_link.trim().to_owned();
        let parsed: Result<PushInfo, String> = if input.starts_with("xmpp:") {
            match PushInfo::from_xmpp_uri(&input) {
                Ok((jid, info)) if jid == chat.peer.as_str() => Ok(info),
                Ok((jid, _)) => Err(format!("This link is for {jid}, not {}.", chat.peer)),
                Err(e) => Err(e.to_string()),
            }
        } else {
            let mut parts = input.split_whitespace();
            match (parts.next(), parts.next()) {
                (Some(endpoint), Some(token)) => sotto::knock::Token::parse(token)
                    .and_then(|t| PushInfo::new(endpoint, vec![t]))
                    .map_err(|e| e.to_string()),
                _ => Err(
                    "Paste a knock link (xmpp:…?knock;…), or the endpoint and a token \
                          separated by a space."
                        .into(),
                ),
            }
        };
        match parsed {
            Ok(info) => {
                chat.push_link.clear();
                chat.push_error = None;
                let (account, contact) = (chat.account.clone(), chat.peer.clone());
                let (acc, who) = (account.to_string(), contact.to_string());
                Task::perform(
                    backend.read(move |s| s.add_push_info(&acc, &who, info, PushSource::Manual)),
                    move |r| match r {
                        Ok(p) => Message::PushLoaded(
                            (account.clone(), contact.clone()),
                            Some(PushSummary::from(&p)),
                        ),
                        Err(e) => Message::Conversations(Err(e)),
                    },
                )
            }
            Err(e) => {
                chat.push_error = Some(e);
                Task::none()
            }
        }
    }

    fn remove_push(&mut self) -> Task<Message> {
        let (Some(chat), Some(backend)) = (&self.chat, &self.backend) else {
            return Task::none();
        };
        let (account, contact) = (chat.account.clone(), chat.peer.clone());
        let (acc, who) = (account.to_string(), contact.to_string());
        Task::perform(
            backend.read(move |s| s.remove_push_info(&acc, &who)),
            move |_| Message::PushLoaded((account.clone(), contact.clone()), None),
        )
    }

    // ---- overlays -------------------------------------------------------

    fn shortcut(&mut self, s: Shortcut) -> Task<Message> {
        if !matches!(self.phase, Phase::Ready) {
            return Task::none();
        }
        match s {
            Shortcut::Switcher => self.open_overlay(OverlayKind::Switcher),
            Shortcut::NewChat => self.open_overlay(OverlayKind::NewChat),
            Shortcut::Search => self.open_overlay(OverlayKind::Search),
            Shortcut::Escape => {
                if self.overlay.take().is_some() {
                } else if self.chat.as_ref().is_some_and(|c| c.editing.is_some()) {
                    return self.update(Message::CancelEdit);
                } else if self.chat.as_ref().is_some_and(|c| c.details) {
                    return self.update(Message::ToggleDetails);
                } else if self.screen != Screen::Chats && !self.config.accounts.is_empty() {
                    self.screen = Screen::Chats;
                }
                Task::none()
            }
        }
    }

    fn open_overlay(&mut self, kind: OverlayKind) -> Task<Message> {
        if self.config.accounts.is_empty() {
            return Task::none();
        }
        self.overlay = Some(Overlay {
            kind,
            query: String::new(),
            hits: Vec::new(),
            account: self
                .chat
                .as_ref()
                .map(|c| c.account.clone())
                .or_else(|| self.config.accounts.first().map(|a| a.jid.clone())),
            error: None,
        });
        operation::focus(OVERLAY_INPUT)
    }

    fn overlay_query(&mut self, q: String) -> Task<Message> {
        let Some(o) = &mut self.overlay else {
            return Task::none();
        };
        o.query = q.clone();
        o.error = None;
        if o.kind != OverlayKind::Search || q.trim().is_empty() {
            o.hits.clear();
            return Task::none();
        }
        let Some(backend) = &self.backend else {
            return Task::none();
        };
        let query = q.clone();
        Task::perform(
            backend.read(move |s| s.search(None, &query, 50)),
            move |r| Message::SearchResults(q.clone(), r),
        )
    }

    /// Enter in the new-chat box or the switcher.
    fn start_chat(&mut self) -> Task<Message> {
        let Some(o) = &self.overlay else {
            return Task::none();
        };
        let target = match o.kind {
            OverlayKind::Switcher => super::view::overlay::switcher_matches(self, &o.query)
                .into_iter()
                .next()
                .map(|(a, p)| (a, p, None)),
            OverlayKind::NewChat => {
                let Some(account) = o.account.clone() else {
                    return Task::none();
                };
                match o.query.trim().parse::<BareJid>() {
                    Ok(peer) if peer.node().is_some() && peer != account => {
                        Some((account, peer, None))
                    }
                    _ => {
                        if let Some(o) = &mut self.overlay {
                            o.error = Some(
                                "Type your contact's whole address, like bob@example.org.".into(),
                            );
                        }
                        return Task::none();
                    }
                }
            }
            OverlayKind::Search => o.hits.first().and_then(|hit| {
                let m = &hit.message;
                match (m.account.parse(), m.peer.parse()) {
                    (Ok(a), Ok(p)) => Some((a, p, Some(m.id))),
                    _ => None,
                }
            }),
        };
        match target {
            Some((account, peer, at)) => self.open(account, peer, at),
            None => Task::none(),
        }
    }

    // ---- sign-in ----------------------------------------------------------

    fn sign_in(&mut self, m: SignInMessage) -> Task<Message> {
        let form = &mut self.sign_in;
        match m {
            SignInMessage::Jid(s) => form.jid = s,
            SignInMessage::Password(s) => form.password = s,
            SignInMessage::Advanced(on) => form.advanced = on,
            SignInMessage::Server(s) => form.server = s,
            SignInMessage::DirectTls(on) => form.direct_tls = on,
            SignInMessage::Submit => {
                if form.busy() {
                    return Task::none();
                }
                match form.account(&self.config) {
                    Ok((account, password)) => {
                        form.status = SignInStatus::Connecting("Connecting…".into());
                        form.pending = Some((account.clone(), password.clone()));
                        if let Some(b) = &self.backend {
                            b.login(account, password);
                        }
                    }
                    Err(e) => form.status = SignInStatus::Failed(e),
                }
            }
            SignInMessage::Trust => {
                if let (SignInStatus::Untrusted { fingerprint, .. }, Some((account, password))) =
                    (&form.status, &mut form.pending)
                {
                    account.pinned_certificate = Some(*fingerprint);
                    form.status = SignInStatus::Connecting("Connecting…".into());
                    if let Some(b) = &self.backend {
                        b.login(account.clone(), password.clone());
                    }
                }
            }
            SignInMessage::Cancel => {
                if let Some((account, _)) = form.pending.take()
                    && let Some(b) = &self.backend
                {
                    b.send(Command::Stop(account.jid.clone()));
                    self.people.accounts.remove(&account.jid);
                }
                form.status = SignInStatus::Editing;
                if !self.config.accounts.is_empty() && !form.busy() && form.jid.is_empty() {
                    self.screen = Screen::Settings;
                }
            }
        }
        Task::none()
    }

    /// Logged in: keep the password, then the account.
    fn save_signed_in(&mut self) -> Task<Message> {
        let (Some((account, password)), Some(backend)) =
            (self.sign_in.pending.clone(), &self.backend)
        else {
            return Task::none();
        };
        let store = backend.store.clone();
        let mut config = self.config.clone();
        let path = self.paths.config_file();
        Task::perform(
            backend.blocking(move || {
                let secrets = Secrets::new(store);
                let stored = secrets
                    .store_password(&account.jid, &password)
                    .map_err(|e| format!("Sotto could not keep the password: {e}"))?;
                let mut account = account;
                account.password_store = stored.store;
                let jid = account.jid.clone();
                config.add_account(account).map_err(|e| e.to_string())?;
                if let Err(e) = config.save(&path) {
                    let _ = secrets.delete_password(&jid, stored.store);
                    return Err(format!("Sotto could not save the account: {e}"));
                }
                Ok(Box::new(config))
            }),
            |r| Message::SignedIn(r.unwrap_or_else(|| Err("the saving thread failed".into()))),
        )
    }

    fn signed_in(&mut self, result: Result<Box<Config>, String>) -> Task<Message> {
        match result {
            Ok(config) => {
                self.config = *config;
                self.sign_in = SignIn::default();
                self.screen = Screen::Chats;
                self.reload_conversations()
            }
            Err(e) => {
                self.sign_in.status = SignInStatus::Failed(e);
                Task::none()
            }
        }
    }

    // ---- contacts and settings ------------------------------------------

    fn contacts(&mut self, m: ContactsMessage) -> Task<Message> {
        let form = &mut self.contacts_form;
        match m {
            ContactsMessage::NewJid(s) => form.jid = s,
            ContactsMessage::NewName(s) => form.name = s,
            ContactsMessage::Add => {
                let account = form
                    .account
                    .clone()
                    .or_else(|| self.config.accounts.first().map(|a| a.jid.clone()));
                match (account, form.jid.trim().parse::<BareJid>()) {
                    (Some(account), Ok(jid)) if jid.node().is_some() => {
                        let name = Some(form.name.trim().to_owned()).filter(|n| !n.is_empty());
                        if let Some(b) = &self.backend {
                            b.send(Command::AddContact { account, jid, name });
                        }
                        *form = ContactsForm::default();
                    }
                    (None, _) => form.error = Some("Sign in to an account first.".into()),
                    _ => {
                        form.error = Some("Type the whole address, like bob@example.org.".into());
                    }
                }
            }
            ContactsMessage::Answer(account, jid, approve) => {
                if let Some(b) = &self.backend {
                    b.send(Command::AnswerSubscription {
                        account: account.clone(),
                        jid: jid.clone(),
                        approve,
                    });
                    if approve {
                        // Ask back, so both see each other.
                        b.send(Command::AddContact {
                            account: account.clone(),
                            jid: jid.clone(),
                            name: None,
                        });
                    }
                }
                self.people.requests.remove(&(account, jid));
            }
            ContactsMessage::StartRename(account, jid) => {
                let current = self
                    .people
                    .contact(&account, &jid)
                    .and_then(|c| c.contact.as_ref())
                    .and_then(|c| c.name.clone())
                    .unwrap_or_default();
                self.contacts_form.renaming = Some(((account, jid), current));
            }
            ContactsMessage::RenameText(name) => {
                if let Some((_, typed)) = &mut self.contacts_form.renaming {
                    *typed = name;
                }
            }
            ContactsMessage::SaveName => {
                if let (Some(((account, jid), name)), Some(b)) =
                    (self.contacts_form.renaming.take(), &self.backend)
                {
                    let name = Some(name.trim().to_owned()).filter(|n| !n.is_empty());
                    b.send(Command::RenameContact { account, jid, name });
                }
            }
            ContactsMessage::Remove(account, jid) => {
                if let Some(b) = &self.backend {
                    b.send(Command::RemoveContact { account, jid });
                }
            }
            ContactsMessage::Block(account, jid, blocked) => {
                if let Some(b) = &self.backend {
                    b.send(Command::BlockContact {
                        account,
                        jid,
                        blocked,
                    });
                }
            }
        }
        Task::none()
    }

    fn settings(&mut self, m: SettingsMessage) -> Task<Message> {
        match m {
            SettingsMessage::Notifications(on) => self.prefs.notifications = on,
            SettingsMessage::HideContent(on) => self.prefs.hide_content = on,
            SettingsMessage::Previews(on) => self.prefs.previews = on,
            SettingsMessage::Theme(t) => self.prefs.theme = t,
            SettingsMessage::Enable(jid, on) => {
                if let Ok(account) = self.config.account_mut(&jid) {
                    account.enabled = on;
                }
                if let Err(e) = self.config.save(&self.paths.config_file()) {
                    self.banner = Some(e.to_string());
                }
                let Some(backend) = &self.backend else {
                    return Task::none();
                };
                if on {
                    let config = Config {
                        accounts: self.config.account(&jid).cloned().into_iter().collect(),
                    };
                    return Task::perform(backend.login_all(&config), Message::LoginProblems);
                }
                backend.send(Command::Stop(jid));
                return Task::none();
            }
            SettingsMessage::Reconnect(jid) => {
                if let Some(b) = &self.backend {
                    b.send(Command::Stop(jid.clone()));
                    let config = Config {
                        accounts: self.config.account(&jid).cloned().into_iter().collect(),
                    };
                    return Task::perform(b.login_all(&config), Message::LoginProblems);
                }
                return Task::none();
            }
            SettingsMessage::Remove(jid) => {
                self.confirm_remove = Some(jid);
                return Task::none();
            }
            SettingsMessage::ConfirmRemove(jid) => {
                self.confirm_remove = None;
                return self.remove_account(jid);
            }
            SettingsMessage::Removed(jid, result) => {
                match result {
                    Ok(()) => {
                        self.people.accounts.remove(&jid);
                        self.people.contacts.retain(|(a, _), _| a != &jid);
                        if self.chat.as_ref().is_some_and(|c| c.account == jid) {
                            self.chat = None;
                        }
                        if self.config.accounts.is_empty() {
                            self.screen = Screen::SignIn;
                        }
                    }
                    Err(e) => self.banner = Some(e),
                }
                return self.reload_conversations();
            }
        }
        if let Err(e) = self.prefs.save(&prefs::file(&self.paths)) {
            self.banner = Some(e);
        }
        Task::none()
    }

    /// Forgets an account: its messages, its password, its settings.
    fn remove_account(&mut self, jid: BareJid) -> Task<Message> {
        let Some(backend) = &self.backend else {
            return Task::none();
        };
        backend.send(Command::Stop(jid.clone()));
        let Ok(account) = self.config.remove_account(&jid) else {
            return Task::none();
        };
        if let Err(e) = self.config.save(&self.paths.config_file()) {
            self.banner = Some(e.to_string());
        }
        let store = backend.store.clone();
        Task::perform(
            backend.blocking(move || {
                store.remove_account(account.jid.as_str()).map_err(|e| {
                    format!("the messages of {} could not be removed: {e}", account.jid)
                })?;
                Secrets::new(store)
                    .delete_password(&account.jid, account.password_store)
                    .map_err(|e| format!("the password could not be removed: {e}"))
            }),
            move |r| {
                Message::Settings(SettingsMessage::Removed(
                    jid.clone(),
                    r.unwrap_or_else(|| Err("the removing thread failed".into())),
                ))
            },
        )
    }
}

/// A timer that starts when polled, so it is made inside the executor's
/// runtime whatever thread `update` runs on.
async fn sleep(duration: std::time::Duration) {
    tokio::time::sleep(duration).await;
}

/// Runs blocking start-up work on a thread of its own (the runtime does not
/// exist yet), started from the confined GUI thread.
fn off_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> impl std::future::Future<Output = Option<T>> {
    let (tx, rx) = futures::channel::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("sotto-unlock".into())
        .spawn(move || {
            let _ = tx.send(f());
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start a thread");
    }
    async move { rx.await.ok() }
}

/// Global shortcuts: Ctrl/Cmd+K, +N, +F, and Esc, whatever has focus.
pub fn shortcut(
    event: iced::Event,
    _status: iced::event::Status,
    _window: window::Id,
) -> Option<Message> {
    let iced::Event::Keyboard(keyboard::Event::KeyPressed { key, modifiers, .. }) = event else {
        return match event {
            iced::Event::Window(window::Event::Focused) => Some(Message::WindowFocus(true)),
            iced::Event::Window(window::Event::Unfocused) => Some(Message::WindowFocus(false)),
            _ => None,
        };
    };
    let s = match key.as_ref() {
        Key::Named(Named::Escape) => Shortcut::Escape,
        Key::Character(c) if modifiers.command() => match c {
            "k" | "K" => Shortcut::Switcher,
            "n" | "N" => Shortcut::NewChat,
            "f" | "F" => Shortcut::Search,
            _ => return None,
        },
        _ => return None,
    };
    Some(Message::Shortcut(s))
}
