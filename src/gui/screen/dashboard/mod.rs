//! The running window: it owns what the parts share (accounts, people,
//! the conversation list), hands engine events to the parts they concern,
//! and routes each part's messages and events. It never blocks: commands
//! go to the engine, reads are tasks on the core's blocking pool.

mod accounts;
mod events;
mod links;
mod presence;
mod view;

use iced::Task;
use sotto::config::Config;
use sotto::engine::{Command, Engine, Event as EngineEvent};
use sotto::model::{BareJid, Contact, OutgoingMessage, now_ms};
use sotto::paths::Paths;
use sotto::sandbox::SandboxStatus;
use sotto::store::{ConversationSummary, KeyOrigin, StoredMessage};

use super::contacts::{self, Contacts};
use super::settings::{self, Settings};
use super::sign_in::{self, SignIn};
use crate::gui::backend::{Backend, sleep};
use crate::gui::chat::{self, Chat};
use crate::gui::context::Context;
use crate::gui::conversations::Conversations;
use crate::gui::notify::{Notifier, Response};
use crate::gui::overlay::{self, Kind, Overlay};
use crate::gui::people::{Key, People, PushSummary};
use crate::gui::platform::Platform;
use crate::gui::prefs::Prefs;
use crate::gui::sidebar::{self, Page, Sidebar};

/// While messages keep coming into the open chat, it is marked read at
/// most this often (each mark is a database write and a stanza).
const READ_EVERY: std::time::Duration = std::time::Duration::from_millis(750);

pub struct Dashboard {
    paths: Paths,
    notifier: Notifier,
    backend: Backend,
    key: KeyOrigin,
    sandbox: Option<SandboxStatus>,
    config: Config,
    prefs: Prefs,
    people: People,
    conversations: Conversations,
    page: Page,
    /// The sign-in form is shown to add an account.
    adding: bool,
    sidebar: Sidebar,
    chat: Option<Chat>,
    overlay: Option<Overlay>,
    sign_in: SignIn,
    contacts: Contacts,
    settings: Settings,
    /// A problem worth telling, until dismissed.
    banner: Option<String>,
    focused: bool,
    /// A conversation whose new messages were seen and are to be marked
    /// read, and whether the timer that does it is running.
    read_due: Option<Key>,
    read_timer: bool,
    /// The conversation list has been shown once (start-up timing).
    listed: bool,
    presence: presence::Presence,
    /// How often the idle time is asked, if at all (Platform).
    idle_poll: Option<std::time::Duration>,
    #[cfg(all(unix, not(target_os = "macos")))]
    autostart: Option<crate::gui::autostart::Autostart>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortcut {
    Switcher,
    NewChat,
    Search,
    Escape,
}

#[derive(Debug, Clone)]
pub enum Message {
    Engine(Vec<EngineEvent>),
    /// The list as the store had it when the list here was at a version.
    Conversations(u64, Result<Vec<ConversationSummary>, String>),
    Rooms(Result<Vec<(String, sotto::store::StoredRoom)>, String>),
    Roster(BareJid, Result<Vec<Contact>, String>),
    Push(Key, Option<PushSummary>),
    Sidebar(sidebar::Message),
    Chat(chat::Message),
    Overlay(overlay::Message),
    SignIn(sign_in::Message),
    Contacts(contacts::Message),
    Settings(settings::Message),
    Shortcut(Shortcut),
    Focus(bool),
    /// The user acted on a conversation's notification.
    Notification(Response),
    MarkRead,
    /// A new account's settings were written (or not).
    AccountSaved(Box<Config>, Result<(), String>),
    /// Settings or preferences written (or not).
    Saved(Result<(), String>),
    DismissBanner,
    /// A knock cooldown ended: redraw so Knock is enabled again.
    Tick,
    /// The person went away from the computer, or came back.
    #[cfg(all(unix, not(target_os = "macos")))]
    Idle(crate::gui::idle::Change),
}

pub struct Start {
    pub paths: Paths,
    pub platform: Platform,
    pub backend: Backend,
    pub key: KeyOrigin,
    pub sandbox: Option<SandboxStatus>,
    pub config: Config,
    pub prefs: Prefs,
}

impl Dashboard {
    /// The store is open and the engine running: listen to it, sign in,
    /// show what is stored.
    pub fn start(start: Start) -> (Self, Task<Message>) {
        let notifier = Notifier::start(start.backend.runtime(), (start.platform.notifications)());
        let mut dashboard = Self {
            notifier,
            paths: start.paths,
            backend: start.backend,
            key: start.key,
            sandbox: start.sandbox,
            config: start.config,
            prefs: start.prefs,
            people: People::default(),
            conversations: Conversations::default(),
            page: Page::Chats,
            adding: false,
            sidebar: Sidebar::default(),
            chat: None,
            overlay: None,
            sign_in: SignIn::default(),
            contacts: Contacts::default(),
            settings: Settings::default(),
            banner: None,
            focused: true,
            read_due: None,
            read_timer: false,
            listed: false,
            presence: presence::Presence::default(),
            idle_poll: start.platform.idle_poll,
            #[cfg(all(unix, not(target_os = "macos")))]
            autostart: start.platform.autostart.clone(),
        };
        let mut tasks = vec![dashboard.reload_conversations()];
        if let Some(events) = dashboard.backend.event_stream() {
            tasks.push(Task::run(events, Message::Engine));
        }
        if let Some(responses) = dashboard.notifier.responses() {
            let responses = futures::stream::unfold(responses, |mut rx| async move {
                rx.recv().await.map(|response| (response, rx))
            });
            tasks.push(Task::run(responses, Message::Notification));
        }
        for account in &dashboard.config.accounts {
            dashboard
                .people
                .accounts
                .entry(account.jid.clone())
                .or_default();
        }
        // Before signing in, so the first presence is already the right one.
        dashboard.announce();
        tasks.push(dashboard.watch_idle());
        // The entry follows the setting, and names this copy of Sotto (an
        // AppImage that moved).
        if dashboard.prefs.start_at_login {
            tasks.push(dashboard.start_at_login(true));
        }
        dashboard.backend.login_all(&dashboard.config);
        tasks.push(dashboard.load_rosters());
        (dashboard, Task::batch(tasks))
    }

    fn ctx(&self) -> Context<'_> {
        Context {
            config: &self.config,
            people: &self.people,
            prefs: &self.prefs,
            conversations: &self.conversations,
        }
    }

    pub fn prefs(&self) -> &Prefs {
        &self.prefs
    }

    pub fn unread_total(&self) -> i64 {
        self.conversations.unread_total()
    }

    pub fn title(&self) -> String {
        match (&self.chat, self.conversations.unread_total()) {
            (Some(chat), 0) => format!("{} — Sotto", self.ctx().name(&chat.account, &chat.peer)),
            (_, 0) => "Sotto".into(),
            (_, n) => format!("Sotto ({n})"),
        }
    }

    pub fn update(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::Engine(events) => return self.engine(events),
            Message::Conversations(version, Ok(list)) => {
                let count = list.len();
                if !self.conversations.replace(version, list) {
                    // Changed here while the store was read: read again.
                    return self.reload_conversations();
                }
                if !self.listed {
                    self.listed = true;
                    tracing::info!(
                        ms = crate::gui::since_start_ms(),
                        conversations = count,
                        "conversation list shown"
                    );
                }
            }
            Message::Conversations(_, Err(e)) | Message::Rooms(Err(e)) => {
                self.banner = Some(format!("Sotto could not read its database: {e}"));
            }
            Message::Rooms(Ok(rooms)) => self.people.load_rooms(rooms),
            Message::Roster(account, result) => {
                // A failed read is said, never shown as "no contacts".
                self.people.apply(&match result {
                    Ok(contacts) => EngineEvent::Roster { account, contacts },
                    Err(reason) => EngineEvent::RosterFailed {
                        account,
                        reason: format!("the stored contacts could not be read: {reason}"),
                    },
                });
            }
            Message::Push(key, push) => return self.pushed(key, push),
            Message::Sidebar(m) => return self.sidebar(m),
            Message::Chat(m) => return self.chat(m),
            Message::Overlay(m) => return self.overlay(m),
            Message::SignIn(m) => return self.sign_in(m),
            Message::Contacts(m) => return self.contacts(m),
            Message::Settings(m) => return self.settings(m),
            Message::Shortcut(s) => return self.shortcut(s),
            Message::Focus(focused) => {
                self.focused = focused;
                // XEP-0352: the server may hold back unimportant traffic
                // while the window is not in use.
                self.backend
                    .send(Command::SetClientActive { active: focused });
                if focused && self.chat.as_ref().is_some_and(Chat::following) {
                    return self.seen();
                }
            }
            Message::Notification(Response::Open((account, peer))) => {
                let open = self.open(account, peer, None);
                return Task::batch([open, crate::gui::raise()]);
            }
            Message::Notification(Response::MarkRead((account, peer))) => {
                self.send_read(account, peer);
            }
            // Answered without opening the window: the message goes as the
            // composer's would (encrypted where the chat is), and answering
            // is having read what it answers.
            Message::Notification(Response::Reply((account, peer), body)) => {
                self.backend.send(Command::SendMessage {
                    account: account.clone(),
                    message: OutgoingMessage {
                        id: Engine::new_message_id(),
                        to: peer.clone(),
                        body: body.trim_end().to_owned(),
                        plain: false,
                    },
                });
                self.send_read(account, peer);
            }
            Message::Tick => {}
            #[cfg(all(unix, not(target_os = "macos")))]
            Message::Idle(change) => self.idle(change == crate::gui::idle::Change::Away),
            Message::MarkRead => {
                self.read_timer = false;
                if let Some((account, peer)) = self.read_due.take() {
                    self.send_read(account, peer);
                }
            }
            Message::AccountSaved(config, result) => return self.account_saved(*config, result),
            Message::Saved(Ok(())) => {}
            Message::Saved(Err(e)) => self.banner = Some(e),
            Message::DismissBanner => self.banner = None,
        }
        Task::none()
    }

    fn sidebar(&mut self, m: sidebar::Message) -> Task<Message> {
        match self.sidebar.update(m) {
            Some(sidebar::Event::Open(account, peer)) => self.open(account, peer, None),
            Some(sidebar::Event::NewChat) => self.open_overlay(Kind::NewChat),
            Some(sidebar::Event::Show(page)) => {
                self.page = page;
                self.overlay = None;
                self.settings_keys(None)
            }
            None => Task::none(),
        }
    }

    fn chat(&mut self, m: chat::Message) -> Task<Message> {
        let Some(chat) = &mut self.chat else {
            return Task::none();
        };
        let (task, event) = chat.update(m, &self.backend);
        let task = task.map(Message::Chat);
        match event {
            Some(chat::Event::Seen) if self.focused => Task::batch([task, self.seen()]),
            Some(chat::Event::Problem(e)) => {
                self.banner = Some(e);
                task
            }
            _ => task,
        }
    }

    fn overlay(&mut self, m: overlay::Message) -> Task<Message> {
        let ctx = Context {
            config: &self.config,
            people: &self.people,
            prefs: &self.prefs,
            conversations: &self.conversations,
        };
        let Some(o) = &mut self.overlay else {
            return Task::none();
        };
        let (task, event) = o.update(m, ctx, &self.backend);
        let task = task.map(Message::Overlay);
        match event {
            Some(overlay::Event::Close) => {
                self.overlay = None;
                task
            }
            Some(overlay::Event::Open { account, peer, at }) => {
                Task::batch([task, self.open(account, peer, at)])
            }
            Some(overlay::Event::Problem(e)) => {
                self.banner = Some(e);
                task
            }
            Some(overlay::Event::JoinRoom {
                account,
                room,
                nick,
                password,
            }) => {
                self.backend.send(Command::JoinRoom {
                    account,
                    room,
                    nick: Some(nick),
                    password,
                });
                task
            }
            None => task,
        }
    }

    fn contacts(&mut self, m: contacts::Message) -> Task<Message> {
        let ctx = Context {
            config: &self.config,
            people: &self.people,
            prefs: &self.prefs,
            conversations: &self.conversations,
        };
        let (task, event) = self.contacts.update(m, ctx, &self.backend);
        let task = task.map(Message::Contacts);
        match event {
            Some(contacts::Event::Chat(account, peer)) => {
                Task::batch([task, self.open(account, peer, None)])
            }
            Some(contacts::Event::Answered(account, jid)) => {
                self.people.requests.remove(&(account, jid));
                task
            }
            Some(contacts::Event::Back) => {
                self.page = Page::Chats;
                task
            }
            Some(contacts::Event::JoinRoom(account, invitation)) => {
                let nick = account.node().map(|n| n.to_string()).unwrap_or_default();
                let (overlay, focus) = overlay::Overlay::join_room(
                    account,
                    nick,
                    Some(&invitation.room),
                    invitation.password,
                );
                self.overlay = Some(overlay);
                Task::batch([task, focus.map(Message::Overlay)])
            }
            Some(contacts::Event::Declined(account, room)) => {
                self.people.invitations.remove(&(account, room));
                task
            }
            None => task,
        }
    }

    fn shortcut(&mut self, s: Shortcut) -> Task<Message> {
        if self.config.accounts.is_empty() {
            return Task::none();
        }
        match s {
            Shortcut::Switcher => self.open_overlay(Kind::Switcher),
            Shortcut::NewChat => self.open_overlay(Kind::NewChat),
            Shortcut::Search => self.open_overlay(Kind::Search),
            Shortcut::Escape => {
                if self.overlay.take().is_none() && !self.chat.as_mut().is_some_and(Chat::escape) {
                    self.page = Page::Chats;
                    self.adding = false;
                }
                Task::none()
            }
        }
    }

    fn open_overlay(&mut self, kind: Kind) -> Task<Message> {
        if self.config.accounts.is_empty() {
            return Task::none();
        }
        let account = self
            .chat
            .as_ref()
            .map(|c| c.account.clone())
            .or_else(|| self.config.accounts.first().map(|a| a.jid.clone()));
        let (overlay, task) = Overlay::open(kind, account);
        self.overlay = Some(overlay);
        task.map(Message::Overlay)
    }

    /// Opens a chat, at a message when one is given.
    fn open(
        &mut self,
        account: BareJid,
        peer: BareJid,
        at: Option<Box<StoredMessage>>,
    ) -> Task<Message> {
        self.overlay = None;
        self.page = Page::Chats;
        self.adding = false;
        let mut tasks = Vec::new();
        let same = at.is_none()
            && self
                .chat
                .as_ref()
                .is_some_and(|c| c.is(&account, peer.as_str()));
        if !same {
            let (chat, task) =
                Chat::open(account.clone(), peer.clone(), at.as_deref(), &self.backend);
            self.chat = Some(chat);
            tasks.push(task.map(Message::Chat));
        }
        // Opening it is reading it.
        if self.focused {
            self.mark_read(account.clone(), peer.clone());
        }
        tasks.push(self.load_push(account, peer));
        Task::batch(tasks)
    }

    /// The open chat shows its newest messages: mark them read soon.
    fn seen(&mut self) -> Task<Message> {
        let Some(chat) = &self.chat else {
            return Task::none();
        };
        if self.read_due.is_none() && self.conversations.unread(&chat.account, &chat.peer) == 0 {
            return Task::none();
        }
        self.read_due = Some(chat.key());
        if self.read_timer {
            return Task::none();
        }
        self.read_timer = true;
        Task::perform(sleep(READ_EVERY), |()| Message::MarkRead)
    }

    /// Marks a conversation read now, if anything in it is unread or
    /// waits to be marked.
    fn mark_read(&mut self, account: BareJid, peer: BareJid) {
        let key = (account, peer);
        let due = self.read_due.as_ref() == Some(&key);
        if due {
            self.read_due = None;
        }
        if due || self.conversations.unread(&key.0, &key.1) > 0 {
            self.send_read(key.0, key.1);
        }
    }

    fn send_read(&mut self, account: BareJid, peer: BareJid) {
        self.conversations.read(&account, &peer);
        self.notifier.seen(&(account.clone(), peer.clone()));
        self.backend.send(Command::MarkRead { account, peer });
    }

    fn load_push(&self, account: BareJid, contact: BareJid) -> Task<Message> {
        let (acc, who) = (account.to_string(), contact.to_string());
        Task::perform(
            self.backend.read(move |r| r.push_info(&acc, &who)),
            move |r| {
                Message::Push(
                    (account.clone(), contact.clone()),
                    r.ok().flatten().as_ref().map(PushSummary::from),
                )
            },
        )
    }

    fn pushed(&mut self, key: Key, push: Option<PushSummary>) -> Task<Message> {
        let cooldown = push
            .as_ref()
            .and_then(|p| sotto::knock::cooldown_left(p.last_knock_at, now_ms()));
        self.people.contact_mut(&key.0, &key.1).push = push;
        // Wake the view when a knock cooldown ends.
        match cooldown {
            Some(ms) => Task::perform(
                sleep(std::time::Duration::from_millis(ms as u64 + 50)),
                |()| Message::Tick,
            ),
            None => Task::none(),
        }
    }

    /// Contacts as stored, so names show before the server answers.
    fn load_rosters(&self) -> Task<Message> {
        Task::batch(self.config.accounts.iter().map(|a| {
            let account = a.jid.clone();
            let acc = account.to_string();
            Task::perform(self.backend.read(move |r| r.contacts(&acc)), move |r| {
                Message::Roster(account.clone(), r)
            })
        }))
    }

    /// Reads the conversation list again, and the rooms with it (so a
    /// room is known as one before its conversation is drawn).
    fn reload_conversations(&self) -> Task<Message> {
        let version = self.conversations.version();
        let rooms = Task::perform(self.backend.read(|r| r.all_rooms()), Message::Rooms);
        let list = Task::perform(
            self.backend.read(|r| r.conversations(None)),
            move |result| Message::Conversations(version, result),
        );
        rooms.chain(list)
    }

    #[cfg(test)]
    pub fn open_chat(&self) -> Option<&Chat> {
        self.chat.as_ref()
    }

    #[cfg(test)]
    pub fn people(&self) -> &People {
        &self.people
    }

    #[cfg(test)]
    pub fn overlay_open(&self) -> Option<&Overlay> {
        self.overlay.as_ref()
    }

    #[cfg(test)]
    pub fn config(&self) -> &Config {
        &self.config
    }
}
