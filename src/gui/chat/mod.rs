//! The open conversation: header, messages, what the chat must say, the
//! composer, and the contact's details beside it.

pub mod composer;
mod details;
mod room_details;
mod scroll;
mod status;
pub mod timeline;

pub use timeline::nick_of;
pub mod window;

use std::collections::VecDeque;

use iced::widget::{button, center, column, operation, row, scrollable, text};
use iced::{Alignment, Element, Length, Task};
use sotto::engine::{Command, Engine};
use sotto::model::{BareJid, OutgoingMessage, now_ms};
use sotto::omemo::DeviceId;
use sotto::store::{ChatEncryption, Cursor, MessageState, OmemoTrust, StoredMessage};

use self::composer::{Composer, SendButton, Target};
use self::details::Details;
use self::scroll::{Scroll, Seen};
use self::timeline::{MESSAGES, Timeline};
use self::window::{Edit, HELD, MOST, PAGE, Page, Request, Side, Want, Window};
use super::backend::{Backend, sleep};
use super::context::Context;
use super::people::Key;
use super::widget::style;

/// The next page is read when the person comes within this many screens
/// of either end of what is held, so a steady wheel seldom meets it.
const PREFETCH: f32 = 2.0;

pub struct Chat {
    pub account: BareJid,
    pub peer: BareJid,
    window: Window,
    scroll: Scroll,
    /// Changes held back until the one before them is measured (see
    /// `scroll`), in the order they came.
    waiting: VecDeque<Change>,
    /// The end of the conversation on screen, last said in the log.
    edge: Option<Side>,
    /// The message shown emphasised (a search result).
    highlight: Option<i64>,
    composer: Composer,
    details: Option<Details>,
    /// Messages that came while the person read further up.
    unseen: usize,
    /// Whether the chat is encrypted, once read from the store.
    encryption: Option<Encryption>,
}

/// A chat's encryption setting, whether the contact publishes OMEMO
/// devices (what "automatic" follows), and their devices waiting for the
/// person's decision (id and fingerprint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encryption {
    pub setting: ChatEncryption,
    pub contact_has_devices: bool,
    pub undecided: Vec<(DeviceId, String)>,
}

impl Encryption {
    pub fn encrypted(&self) -> bool {
        match self.setting {
            ChatEncryption::On => true,
            ChatEncryption::Off => false,
            ChatEncryption::Auto => self.contact_has_devices,
        }
    }
}

/// A change to what the window holds.
#[derive(Debug)]
enum Change {
    Page(u64, Page),
    Arrival(StoredMessage),
}

impl Change {
    /// The side of the list it changes; `None` for a whole new window.
    fn side(&self) -> Option<Side> {
        match self {
            Change::Page(_, Page::Older(_)) => Some(Side::Top),
            Change::Page(_, Page::Newer(_)) | Change::Arrival(_) => Some(Side::Bottom),
            Change::Page(_, Page::Newest(_) | Page::Around(..)) => None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Message {
    Loaded(u64, Result<Page, String>),
    /// A report of the list, from the view of that revision (see
    /// `scroll`).
    Scrolled(u64, scrollable::Viewport),
    /// Time to let held-back changes through if no report measured the
    /// one before them.
    Settle,
    JumpToBottom,
    Composer(composer::Message),
    Retry(i64),
    ToggleDetails,
    Details(details::Message),
    EncryptionRead(Result<Encryption, String>),
    ToggleEncryption,
    /// The person decided about a new device of the contact.
    Decide(DeviceId, OmemoTrust),
}

pub enum Event {
    /// The newest messages are on screen: what came in has been seen.
    Seen,
    /// Something the person should know, for the banner.
    Problem(String),
}

impl Chat {
    /// Opens the conversation at its newest message, or around `at` (a
    /// search result).
    pub fn open(
        account: BareJid,
        peer: BareJid,
        at: Option<&StoredMessage>,
        backend: &Backend,
    ) -> (Self, Task<Message>) {
        let mut chat = Self {
            account,
            peer,
            window: Window::default(),
            scroll: Scroll::default(),
            waiting: VecDeque::new(),
            edge: None,
            highlight: at.map(|m| m.id),
            composer: Composer::default(),
            details: None,
            unseen: 0,
            encryption: None,
        };
        let request = chat
            .window
            .reset(at.map_or(Want::Newest, |m| Want::Around(m.cursor())));
        let read = chat.read(request, backend);
        let encryption = chat.read_encryption(backend);
        (
            chat,
            Task::batch([read, encryption, operation::focus(composer::COMPOSER)]),
        )
    }

    /// A link's text in the composer, which gets the keyboard.
    pub fn compose(&mut self, body: &str) -> Task<Message> {
        self.composer.prefill(body);
        operation::focus(composer::COMPOSER)
    }

    /// A knock link handed to the window: shown in the details' push info
    /// field for the user to add (or not).
    pub fn offer_push_link(&mut self, link: String, backend: &Backend) -> Task<Message> {
        let load = match self.details {
            Some(_) => Task::none(),
            None => {
                self.details = Some(Details::default());
                Details::load(&self.account, &self.peer, backend).map(Message::Details)
            }
        };
        if let Some(details) = &mut self.details {
            details.offer(link);
        }
        Task::batch([load, operation::focus(details::PUSH_LINK)])
    }

    pub fn is(&self, account: &BareJid, peer: &str) -> bool {
        &self.account == account && self.peer.as_str() == peer
    }

    pub fn key(&self) -> Key {
        (self.account.clone(), self.peer.clone())
    }

    /// The newest messages are held and the list is scrolled to them.
    pub fn following(&self) -> bool {
        self.window.at_end
            && !matches!(
                self.window.loading(),
                Some(Want::Around(_) | Want::Newer(_))
            )
            && self.scroll.at_bottom()
    }

    /// How many messages are in memory (a bounded few, whatever the
    /// chat's length).
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.window.len()
    }

    #[cfg(test)]
    pub fn loading(&self) -> bool {
        self.window.loading().is_some()
    }

    /// Reads the chat's encryption again: after it was set, or when a
    /// message may have changed it (the first encrypted one locks it on).
    pub fn read_encryption(&self, backend: &Backend) -> Task<Message> {
        let (acc, who) = (self.account.to_string(), self.peer.to_string());
        Task::perform(
            backend.read(move |r| {
                let devices = r.omemo_devices(&acc, &who)?;
                let mut undecided: Vec<(DeviceId, String)> = devices
                    .iter()
                    .filter(|d| d.active)
                    .filter_map(|d| match &d.identity {
                        Some((key, OmemoTrust::Undecided)) => {
                            Some((d.device_id, key.fingerprint()))
                        }
                        _ => None,
                    })
                    .collect();
                undecided.dedup_by_key(|(id, _)| *id);
                Ok(Encryption {
                    setting: r.chat_encryption(&acc, &who)?,
                    contact_has_devices: devices.iter().any(|d| d.active),
                    undecided,
                })
            }),
            Message::EncryptionRead,
        )
    }

    fn read(&self, request: Request, backend: &Backend) -> Task<Message> {
        let (acc, who) = (self.account.to_string(), self.peer.to_string());
        let generation = request.generation;
        Task::perform(
            backend.read(move |r| match request.want {
                Want::Newest => r.messages_before(&acc, &who, None, PAGE).map(Page::Newest),
                Want::Around(at) => {
                    // The message itself, and a page either side.
                    let upto = Cursor {
                        sent_at: at.sent_at,
                        id: at.id.saturating_add(1),
                    };
                    let before = r.messages_before(&acc, &who, Some(upto), PAGE + 1)?;
                    let after = r.messages_after(&acc, &who, at, PAGE)?;
                    Ok(Page::Around(before, after))
                }
                Want::Older(c) => r
                    .messages_before(&acc, &who, Some(c), PAGE)
                    .map(Page::Older),
                Want::Newer(c) => r.messages_after(&acc, &who, c, PAGE).map(Page::Newer),
            }),
            move |result| Message::Loaded(generation, result),
        )
    }

    pub fn update(
        &mut self,
        message: Message,
        backend: &Backend,
    ) -> (Task<Message>, Option<Event>) {
        match message {
            Message::Loaded(generation, Ok(page)) => {
                return (self.change(Change::Page(generation, page)), None);
            }
            Message::Settle => return (self.settle(), None),
            Message::Loaded(generation, Err(e)) => {
                self.window.failed(generation);
                return (
                    Task::none(),
                    Some(Event::Problem(format!(
                        "Sotto could not read this conversation: {e}"
                    ))),
                );
            }
            Message::Scrolled(revision, viewport) => {
                return self.scrolled(revision, viewport.into(), backend);
            }
            Message::JumpToBottom => {
                self.highlight = None;
                self.unseen = 0;
                return (self.jump_to_newest(backend), None);
            }
            Message::Composer(m) => {
                let to = Target {
                    account: &self.account,
                    peer: &self.peer,
                };
                let (task, event) = self.composer.update(m, to, self.window.last_own(), backend);
                let task = task.map(Message::Composer);
                return match event {
                    Some(composer::Event::Sent) => {
                        (Task::batch([task, self.jump_to_newest(backend)]), None)
                    }
                    None => (task, None),
                };
            }
            Message::Retry(id) => self.retry(id, backend),
            Message::ToggleDetails => {
                self.details = match self.details {
                    Some(_) => None,
                    None => {
                        let load = Details::load(&self.account, &self.peer, backend);
                        self.details = Some(Details::default());
                        return (load.map(Message::Details), None);
                    }
                };
            }
            Message::Details(m) => {
                if let Some(details) = &mut self.details {
                    let task = details.update(m, &self.account, &self.peer, backend);
                    return (task.map(Message::Details), None);
                }
            }
            Message::EncryptionRead(Ok(e)) => self.encryption = Some(e),
            Message::EncryptionRead(Err(e)) => {
                return (
                    Task::none(),
                    Some(Event::Problem(format!(
                        "Sotto could not read whether this chat is encrypted: {e}"
                    ))),
                );
            }
            Message::Decide(device, trust) => backend.send(Command::SetDeviceTrust {
                account: self.account.clone(),
                jid: self.peer.clone(),
                device,
                trust,
            }),
            Message::ToggleEncryption => {
                if let Some(e) = &self.encryption {
                    backend.send(Command::SetChatEncryption {
                        account: self.account.clone(),
                        peer: self.peer.clone(),
                        setting: if e.encrypted() {
                            ChatEncryption::Off
                        } else {
                            ChatEncryption::On
                        },
                    });
                }
            }
        }
        (Task::none(), None)
    }

    fn scrolled(
        &mut self,
        revision: u64,
        seen: Seen,
        backend: &Backend,
    ) -> (Task<Message>, Option<Event>) {
        let mut tasks = Vec::new();
        if let Some(delta) = self.scroll.seen(revision, seen) {
            // Newer messages came or went below what is read: it stays in
            // place, before the frame is drawn.
            tracing::debug!(
                delta,
                from_bottom = seen.from_bottom,
                "chat window: kept in place"
            );
            let by = scrollable::AbsoluteOffset { x: 0.0, y: delta };
            tasks.push(operation::scroll_by(MESSAGES, by));
        }
        let seen = self.scroll.last().unwrap_or(seen);
        tasks.push(self.flush());
        self.log_edge(seen);
        let older = !self.window.at_start && seen.from_top < PREFETCH * seen.height;
        let newer = !self.window.at_end && seen.from_bottom < PREFETCH * seen.height;
        if self.window.loading().is_none() && self.waiting.is_empty() {
            // Drop what is far from the view before reading more, so the
            // window never holds more than MOST. From the top only a page
            // at a time: dropping the oldest moves every bubble to another
            // place in the list, and each then lays its text out again.
            if seen.from_top < seen.from_bottom {
                let at_end = self.window.at_end;
                if self.window.len() > HELD && !self.scroll.must_wait(Side::Bottom, at_end) {
                    self.window.trim(Side::Bottom);
                    self.scroll.changed(Side::Bottom, at_end);
                    self.log_window("dropped below");
                }
            } else if (self.window.len() > MOST || (newer && self.window.len() > HELD))
                && !self.scroll.must_wait(Side::Top, self.window.at_end)
            {
                self.window.trim(Side::Top);
                self.scroll.changed(Side::Top, self.window.at_end);
                self.log_window("dropped above");
            }
        }
        // Read a page before the person reaches the end of what is held.
        let request = if self.window.len() > HELD {
            None
        } else if older {
            self.window.older()
        } else if newer {
            self.window.newer()
        } else {
            None
        };
        if let Some(request) = request {
            tasks.push(self.read(request, backend));
        }
        let mut event = None;
        if self.following() {
            self.unseen = 0;
            event = Some(Event::Seen);
        }
        (Task::batch(tasks), event)
    }

    /// Makes a change now, or holds it back while the list is measured
    /// after one on the other side.
    fn change(&mut self, change: Change) -> Task<Message> {
        let wait = match change.side() {
            // Behind what already waits, so arrivals keep their order.
            Some(side) => {
                !self.waiting.is_empty() || self.scroll.must_wait(side, self.window.at_end)
            }
            None => false,
        };
        if wait {
            let first = self.waiting.is_empty();
            self.waiting.push_back(change);
            return if first {
                Task::perform(sleep(scroll::SETTLE), |()| Message::Settle)
            } else {
                Task::none()
            };
        }
        self.apply(change)
    }

    fn apply(&mut self, change: Change) -> Task<Message> {
        match change {
            Change::Page(generation, page) => {
                let around = matches!(page, Page::Around(..));
                let (at_start, at_end) = (self.window.at_start, self.window.at_end);
                match self.window.loaded(generation, page) {
                    Edit::All => {
                        self.scroll.reset();
                        self.log_window("read");
                        // What waited was for the window replaced.
                        for held in std::mem::take(&mut self.waiting) {
                            if let Change::Arrival(m) = held {
                                self.arrive(m);
                            }
                        }
                        return self.snap(around);
                    }
                    Edit::Top => self.scroll.changed(Side::Top, at_end),
                    Edit::Bottom => self.scroll.changed(Side::Bottom, at_end),
                    Edit::None => {
                        if self.window.at_start != at_start {
                            // An empty page before the oldest held: that one
                            // is the first. Nothing moved (no report will
                            // come), only the line above says so now.
                            self.log_window("read");
                            if let Some(seen) = self.scroll.last() {
                                self.log_edge(seen);
                            }
                        }
                        return Task::none();
                    }
                }
                self.log_window("read");
            }
            Change::Arrival(m) => self.arrive(m),
        }
        Task::none()
    }

    /// Lets through what waits, in order, as far as the list allows.
    fn flush(&mut self) -> Task<Message> {
        let mut tasks = Vec::new();
        while let Some(next) = self.waiting.front() {
            let at_end = self.window.at_end;
            if next
                .side()
                .is_some_and(|side| self.scroll.must_wait(side, at_end))
            {
                break;
            }
            if let Some(change) = self.waiting.pop_front() {
                tasks.push(self.apply(change));
            }
        }
        Task::batch(tasks)
    }

    fn settle(&mut self) -> Task<Message> {
        if self.waiting.is_empty() {
            return Task::none();
        }
        if let Some(left) = self.scroll.settle() {
            return Task::perform(sleep(left), |()| Message::Settle);
        }
        let flushed = self.flush();
        if self.waiting.is_empty() {
            flushed
        } else {
            Task::batch([
                flushed,
                Task::perform(sleep(scroll::SETTLE), |()| Message::Settle),
            ])
        }
    }

    /// What the window holds, for the log (row ids, never what was said).
    fn log_window(&self, what: &str) {
        tracing::debug!(
            first = self.window.iter().next().map(|m| m.id),
            last = self.window.iter().next_back().map(|m| m.id),
            held = self.window.len(),
            from_bottom = self.scroll.last().map(|s| s.from_bottom),
            content = self.scroll.last().map(|s| s.content),
            at_start = self.window.at_start,
            at_end = self.window.at_end,
            "chat window: {what}"
        );
    }

    /// Says in the log when either end of the conversation comes on
    /// screen (the chat benchmark waits for it).
    fn log_edge(&mut self, seen: Seen) {
        let edge = if self.window.at_start && seen.from_top <= 1.0 {
            Some(Side::Top)
        } else if self.window.at_end && seen.from_bottom <= 1.0 {
            Some(Side::Bottom)
        } else {
            None
        };
        if edge != self.edge {
            self.edge = edge;
            let held = self.window.len();
            match edge {
                Some(Side::Top) => tracing::debug!(held, "chat shows its first message"),
                Some(Side::Bottom) => tracing::debug!(held, "chat shows its newest message"),
                None => {}
            }
        }
    }

    /// Scrolls to the newest message, reading it first if it is not held.
    fn jump_to_newest(&mut self, backend: &Backend) -> Task<Message> {
        if self.window.at_end {
            self.scroll.reset();
            let flushed = self.flush();
            return Task::batch([flushed, self.snap(false)]);
        }
        let request = self.window.reset(Want::Newest);
        self.read(request, backend)
    }

    /// To the bottom, or to the highlighted message (roughly: bubbles
    /// differ in height).
    fn snap(&self, around: bool) -> Task<Message> {
        let y = match self.highlight.filter(|_| around) {
            Some(id) => {
                let n = self.window.len();
                let pos = self.window.iter().position(|m| m.id == id).unwrap_or(n);
                // Anchored at the bottom: 0 is the newest.
                1.0 - pos as f32 / n.saturating_sub(1).max(1) as f32
            }
            None => 0.0,
        };
        operation::snap_to(MESSAGES, scrollable::RelativeOffset { x: 0.0, y })
    }

    /// A message new in the store, for this conversation.
    pub fn arrived(&mut self, m: StoredMessage) -> Task<Message> {
        self.change(Change::Arrival(m))
    }

    fn arrive(&mut self, m: StoredMessage) {
        let following = self.following();
        let at_end = self.window.at_end;
        let (held, edit) = self.window.arrived(m, following);
        if !held && !self.window.at_end {
            self.unseen += 1;
        }
        if edit == Edit::Bottom {
            self.scroll.changed(Side::Bottom, at_end);
        }
    }

    /// A page of the archive arrived (a catch-up).
    pub fn archived(&mut self, messages: Vec<StoredMessage>) -> Task<Message> {
        let peer = self.peer.clone();
        Task::batch(
            messages
                .into_iter()
                .filter(|m| m.peer == peer.as_str())
                .map(|m| self.arrived(m))
                .collect::<Vec<_>>(),
        )
    }

    pub fn corrected(&mut self, m: StoredMessage) {
        self.window.replace(m);
    }

    pub fn set_encrypted(&mut self, origin_id: &str) {
        self.window.set_encrypted(origin_id);
    }

    pub fn set_state(&mut self, origin_id: &str, state: MessageState, failure: Option<String>) {
        self.window.set_state(origin_id, state, failure);
    }

    /// Our trust in one of the contact's devices changed: the details
    /// read the keys again.
    pub fn trust_changed(&self, backend: &Backend) -> Task<Message> {
        let details = match self.details {
            Some(_) => Details::load(&self.account, &self.peer, backend).map(Message::Details),
            None => Task::none(),
        };
        Task::batch([details, self.read_encryption(backend)])
    }

    pub fn push_rejected(&mut self, reason: String) {
        if let Some(d) = &mut self.details {
            d.rejected(reason);
        }
    }

    /// Esc: ends a correction, then closes the details. False when there
    /// was nothing to close.
    pub fn escape(&mut self) -> bool {
        self.composer.cancel_edit() || self.details.take().is_some()
    }

    /// A failed message goes out again as a new message (the failed one
    /// stays, marked, so nothing disappears).
    fn retry(&self, id: i64, backend: &Backend) {
        if let Some(m) = self.window.find(id) {
            backend.send(Command::SendMessage {
                account: self.account.clone(),
                message: OutgoingMessage {
                    id: Engine::new_message_id(),
                    to: self.peer.clone(),
                    body: m.body.clone(),
                    plain: false,
                },
            });
        }
    }

    pub fn send_button(&self, ctx: Context<'_>) -> SendButton {
        let key = self.key();
        self.composer.button(
            ctx.people.contacts.get(&key),
            ctx.people.knocks.get(&key),
            &ctx.name(&self.account, &self.peer),
            now_ms(),
        )
    }

    #[cfg(test)]
    pub fn composer_text(&self) -> String {
        self.composer.text()
    }

    pub fn view<'a>(&'a self, ctx: Context<'a>) -> Element<'a, Message> {
        let name = ctx.name(&self.account, &self.peer);
        let timeline = Timeline {
            window: &self.window,
            highlight: self.highlight,
            unseen: self.unseen,
            following: self.following(),
            revision: self.scroll.revision(),
            on_scroll: Message::Scrolled,
            on_retry: Message::Retry,
            on_newest: Message::JumpToBottom,
            // Group chats are not end-to-end encrypted yet.
            encrypted_chat: !ctx.people.is_room(&self.account, &self.peer)
                && self.encryption.as_ref().is_some_and(Encryption::encrypted),
            room: ctx
                .people
                .room(&self.account, &self.peer)
                .map(|r| r.our_nick()),
        };
        let main = column![
            self.header(ctx, &name),
            timeline.view(),
            self.new_device(&name),
            status::view(
                ctx,
                &self.account,
                &self.peer,
                self.window.queued(),
                self.composer.editing()
            ),
            self.composer
                .view(&name, self.send_button(ctx))
                .map(Message::Composer),
        ]
        .spacing(6)
        .padding(12)
        .width(Length::Fill);
        // The messages keep their place in the tree (and so their scroll
        // position) whether the details are shown or not.
        row![main]
            .push(
                self.details
                    .as_ref()
                    .map(|d| d.view(ctx, &self.account, &self.peer).map(Message::Details)),
            )
            .into()
    }

    fn header<'a>(&'a self, ctx: Context<'a>, name: &str) -> Element<'a, Message> {
        if let Some(room) = ctx.people.room(&self.account, &self.peer) {
            return self.room_header(ctx, name, room);
        }
        let availability = ctx
            .people
            .contact(&self.account, &self.peer)
            .and_then(|c| c.availability());
        let mut sub = format!("{} · {}", self.peer, style::presence_word(availability));
        if ctx.several_accounts() {
            sub.push_str(&format!(" · via {}", self.account));
        }
        row![
            style::avatar(name, self.peer.as_str(), 40.0, Some(availability.is_some())),
            column![
                text(name.to_owned()).size(18),
                text(sub).size(13).style(style::muted)
            ]
            .width(Length::Fill),
            self.lock(),
            self.details_button(),
        ]
        .spacing(10)
        .align_y(Alignment::Center)
        .into()
    }
}

impl Chat {
    fn details_button(&self) -> Element<'_, Message> {
        button(text(if self.details.is_some() {
            "Hide details"
        } else {
            "Details"
        }))
        .style(button::secondary)
        .on_press(Message::ToggleDetails)
        .into()
    }

    /// A group chat's header: who is in it and what it is about.
    fn room_header<'a>(
        &'a self,
        ctx: Context<'a>,
        name: &str,
        room: &'a crate::gui::rooms::RoomState,
    ) -> Element<'a, Message> {
        let mut sub = match (&room.joined_as, room.occupants.len()) {
            (Some(_), 0) => format!("{} · only you", self.peer),
            (Some(_), n) => format!("{} · you and {n} more", self.peer),
            (None, _) if room.autojoin => format!("{} · entering…", self.peer),
            (None, _) => format!("{} · you left this room", self.peer),
        };
        if ctx.several_accounts() {
            sub.push_str(&format!(" · via {}", self.account));
        }
        let mut about = column![
            text(name.to_owned()).size(18),
            text(sub).size(13).style(style::muted)
        ]
        .width(Length::Fill);
        if let Some(subject) = &room.subject {
            about = about.push(
                crate::gui::widget::ellipsized(subject.clone())
                    .size(13)
                    .style(style::muted),
            );
        }
        if let Some(problem) = &room.problem {
            about = about.push(text(problem.clone()).size(13).style(style::danger));
        }
        row![
            style::group_avatar(name, self.peer.as_str(), 40.0),
            about,
            self.details_button(),
        ]
        .spacing(10)
        .align_y(Alignment::Center)
        .into()
    }

    /// A new device of a contact who has a verified one: nothing is
    /// encrypted to it until the person decides, so the chat asks.
    fn new_device(&self, name: &str) -> Option<Element<'_, Message>> {
        let (device, fingerprint) = self.encryption.as_ref()?.undecided.first()?;
        let ask =
            column![
            text(format!(
                "{name} has a new device ({}), or a device with a new key. Nothing is encrypted \
                 to it until you decide: compare its fingerprint with what their device shows.",
                device.get()
            ))
            .size(13),
            text(fingerprint.clone()).size(13).font(iced::Font::MONOSPACE),
            row![
                button(text("Mark verified").size(13))
                    .style(button::success)
                    .on_press(Message::Decide(*device, OmemoTrust::Verified)),
                button(text("Don't trust it").size(13))
                    .style(button::secondary)
                    .on_press(Message::Decide(*device, OmemoTrust::Untrusted)),
            ]
            .spacing(8),
        ]
            .spacing(6);
        Some(
            iced::widget::container(ask)
                .padding(10)
                .width(Length::Fill)
                .style(iced::widget::container::rounded_box)
                .into(),
        )
    }

    /// The chat's encryption, as a button that turns it off or on.
    fn lock(&self) -> Element<'_, Message> {
        let Some(e) = &self.encryption else {
            return iced::widget::Space::new().into();
        };
        let (label, tip, style): (_, _, fn(&iced::Theme, button::Status) -> button::Style) =
            match (e.encrypted(), e.setting) {
                (true, _) => (
                    "Encrypted",
                    "End-to-end encrypted (OMEMO): only your and their devices can read it. \
                     Click to stop encrypting this chat.",
                    button::success,
                ),
                (false, ChatEncryption::Off) => (
                    "Not encrypted",
                    "You turned encryption off: the servers can read this chat. Click to \
                     encrypt it.",
                    button::danger,
                ),
                (false, _) => (
                    "Not encrypted",
                    "This contact's app publishes no OMEMO keys, so messages go in clear. \
                     Click to allow only encrypted messages.",
                    button::secondary,
                ),
            };
        iced::widget::tooltip(
            button(text(label))
                .style(style)
                .on_press(Message::ToggleEncryption),
            iced::widget::container(text(tip).size(13))
                .padding(8)
                .max_width(320)
                .style(iced::widget::container::rounded_box),
            iced::widget::tooltip::Position::Bottom,
        )
        .into()
    }
}

/// What the chat pane shows with no conversation open.
pub fn empty<'a, M: 'a>() -> Element<'a, M> {
    center(
        column![
            text("No conversation open").size(20),
            text("Pick one on the left, or press Ctrl+K to switch and Ctrl+N to start one.")
                .style(style::muted),
        ]
        .spacing(8)
        .align_x(Alignment::Center),
    )
    .into()
}
