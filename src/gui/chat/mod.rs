//! The open conversation: header, messages, what the chat must say, the
//! composer, and the contact's details beside it.

pub mod composer;
mod details;
mod status;
pub mod timeline;
pub mod window;

use iced::widget::{button, center, column, operation, row, scrollable, text};
use iced::{Alignment, Element, Length, Task};
use sotto::engine::{Command, Engine};
use sotto::model::{BareJid, OutgoingMessage, now_ms};
use sotto::store::{Cursor, MessageState, StoredMessage};

use self::composer::{Composer, SendButton, Target};
use self::details::Details;
use self::timeline::{MESSAGES, Timeline};
use self::window::{Edit, MOST, PAGE, Page, Request, Side, Want, Window};
use super::backend::Backend;
use super::context::Context;
use super::people::Key;
use super::widget::style;

/// Within this many pixels of the newest message the chat follows what
/// arrives.
const FOLLOW: f32 = 4.0;

pub struct Chat {
    pub account: BareJid,
    pub peer: BareJid,
    window: Window,
    scroll: Scroll,
    /// The message shown emphasised (a search result).
    highlight: Option<i64>,
    composer: Composer,
    details: Option<Details>,
    /// Messages that came while the person read further up.
    unseen: usize,
}

/// Where the list was last seen scrolled, from the scrollable's reports.
#[derive(Debug, Default)]
struct Scroll {
    last: Option<Seen>,
    /// After a change below what is shown: keep this distance from the
    /// top (and the content height before the change), once the new
    /// height is known.
    keep_top: Option<(f32, f32)>,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    from_bottom: f32,
    from_top: f32,
    content: f32,
    height: f32,
}

impl From<scrollable::Viewport> for Seen {
    fn from(v: scrollable::Viewport) -> Self {
        // The list is anchored at the bottom: its offset counts from the
        // newest message.
        Self {
            from_bottom: v.absolute_offset().y,
            from_top: v.absolute_offset_reversed().y,
            content: v.content_bounds().height,
            height: v.bounds().height,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Message {
    Loaded(u64, Result<Page, String>),
    Scrolled(scrollable::Viewport),
    JumpToBottom,
    Composer(composer::Message),
    Retry(i64),
    ToggleDetails,
    Details(details::Message),
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
            highlight: at.map(|m| m.id),
            composer: Composer::default(),
            details: None,
            unseen: 0,
        };
        let request = chat
            .window
            .reset(at.map_or(Want::Newest, |m| Want::Around(m.cursor())));
        let read = chat.read(request, backend);
        (
            chat,
            Task::batch([read, operation::focus(composer::COMPOSER)]),
        )
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
            && self.scroll.last.is_none_or(|s| s.from_bottom <= FOLLOW)
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
                let around = matches!(page, Page::Around(..));
                match self.window.loaded(generation, page) {
                    Edit::All => {
                        self.scroll = Scroll::default();
                        return (self.snap(around), None);
                    }
                    Edit::Bottom => self.keep_top(),
                    Edit::Top | Edit::None => {}
                }
            }
            Message::Loaded(generation, Err(e)) => {
                self.window.failed(generation);
                return (
                    Task::none(),
                    Some(Event::Problem(format!(
                        "Sotto could not read this conversation: {e}"
                    ))),
                );
            }
            Message::Scrolled(viewport) => return self.scrolled(viewport.into(), backend),
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
                    None => Some(Details::default()),
                };
            }
            Message::Details(m) => {
                if let Some(details) = &mut self.details {
                    let task = details.update(m, &self.account, &self.peer, backend);
                    return (task.map(Message::Details), None);
                }
            }
        }
        (Task::none(), None)
    }

    fn scrolled(&mut self, seen: Seen, backend: &Backend) -> (Task<Message>, Option<Event>) {
        if let Some((top, content)) = self.scroll.keep_top.take()
            && (seen.content - content).abs() > 0.5
        {
            // Newer messages came or went below: keep what is read in
            // place, before the frame is drawn.
            let from_bottom = (seen.content - seen.height - top).max(0.0);
            self.scroll.last = Some(Seen {
                from_bottom,
                from_top: top,
                ..seen
            });
            let offset = scrollable::AbsoluteOffset {
                x: None,
                y: Some(from_bottom),
            };
            return (operation::scroll_to(MESSAGES, offset), None);
        }
        self.scroll.last = Some(seen);
        if self.window.loading().is_none() {
            // Drop what is far from the view, before reading more; from
            // the top a page at a time (see MOST).
            if seen.from_top < seen.from_bottom {
                if self.window.trim(Side::Bottom) > 0 {
                    self.keep_top();
                }
            } else if self.window.len() > MOST {
                self.window.trim(Side::Top);
            }
        }
        // Read a page before the person reaches the end of what is held.
        let request = if seen.from_top < seen.height {
            self.window.older()
        } else if seen.from_bottom < seen.height {
            self.window.newer()
        } else {
            None
        };
        if let Some(request) = request {
            return (self.read(request, backend), None);
        }
        if self.following() {
            self.unseen = 0;
            return (Task::none(), Some(Event::Seen));
        }
        (Task::none(), None)
    }

    fn keep_top(&mut self) {
        if let Some(last) = self.scroll.last
            && last.from_bottom > FOLLOW
        {
            self.scroll.keep_top = Some((last.from_top, last.content));
        }
    }

    /// Scrolls to the newest message, reading it first if it is not held.
    fn jump_to_newest(&mut self, backend: &Backend) -> Task<Message> {
        if self.window.at_end {
            self.scroll = Scroll::default();
            return self.snap(false);
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
    pub fn arrived(&mut self, m: StoredMessage) {
        let following = self.following();
        let (held, edit) = self.window.arrived(m, following);
        if !held && !self.window.at_end {
            self.unseen += 1;
        }
        if edit == Edit::Bottom && !following {
            self.keep_top();
        }
    }

    /// A page of the archive arrived (a catch-up).
    pub fn archived(&mut self, messages: Vec<StoredMessage>) {
        for m in messages {
            if m.peer == self.peer.as_str() {
                self.arrived(m);
            }
        }
    }

    pub fn corrected(&mut self, m: StoredMessage) {
        self.window.replace(m);
    }

    pub fn set_state(&mut self, origin_id: &str, state: MessageState, failure: Option<String>) {
        self.window.set_state(origin_id, state, failure);
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
            on_scroll: Message::Scrolled,
            on_retry: Message::Retry,
            on_newest: Message::JumpToBottom,
        };
        let main = column![
            self.header(ctx, &name),
            timeline.view(),
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
        match &self.details {
            Some(d) => row![
                main,
                d.view(ctx, &self.account, &self.peer).map(Message::Details)
            ]
            .into(),
            None => main.into(),
        }
    }

    fn header<'a>(&'a self, ctx: Context<'a>, name: &str) -> Element<'a, Message> {
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
            button(text(if self.details.is_some() {
                "Hide details"
            } else {
                "Details"
            }))
            .style(button::secondary)
            .on_press(Message::ToggleDetails),
        ]
        .spacing(10)
        .align_y(Alignment::Center)
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
