//! The application state and its `update`: engine events in, commands
//! out, store reads as tasks. Never blocks and never awaits.

mod conversation;
mod events;
mod forms;
mod overlays;
mod startup;

use iced::keyboard::{self, Key, key::Named};
use iced::widget::{operation, scrollable, text_editor};
use iced::{Task, window};
use secrecy::SecretString;
use sotto::config::Config;
use sotto::config::PasswordStore;
use sotto::engine::{Command, Engine, Event};
use sotto::knock::PushInfo;
use sotto::model::{BareJid, ChatState, ConnectionState, OutgoingMessage, OutgoingState, now_ms};
use sotto::paths::Paths;
use sotto::sandbox::SandboxStatus;
use sotto::store::{
    ConversationSummary, Database, Direction, KeyOrigin, MessageState, SearchHit, StoredMessage,
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
    Unlocked(Result<(Database, KeyOrigin), UnlockFailure>),
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
    PasswordAgain(String),
    Create(bool),
    Advanced(bool),
    Server(String),
    DirectTls(bool),
    Tor(bool),
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
    /// Pin the certificate the server showed, then reconnect.
    Trust(BareJid, sotto::fingerprint::Fingerprint),
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
                to_newest()
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
            Message::Contacts(m) => self.contacts(m),
            Message::Settings(m) => self.settings(m),
            Message::DismissBanner => {
                self.banner = None;
                Task::none()
            }
        }
    }
}

/// Scrolls the chat to its newest message (the list is anchored there).
fn to_newest() -> Task<Message> {
    operation::snap_to(MESSAGES, scrollable::RelativeOffset { x: 0.0, y: 0.0 })
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
