//! Overlays over the main window: the quick switcher (Ctrl+K), new chat
//! (Ctrl+N) and message search (Ctrl+F). Esc or a click beside closes.

mod new_chat;
mod search;
mod switcher;

use iced::widget::{button, column, container, mouse_area, opaque, row, stack, text, text_input};
use iced::{Alignment, Element, Length, Task};
use sotto::model::BareJid;
use sotto::store::{SearchHit, StoredMessage};

use super::backend::Backend;
use super::context::Context;
use super::widget::style;

pub const INPUT: &str = "overlay-input";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Switcher,
    NewChat,
    Search,
}

#[derive(Debug)]
pub struct Overlay {
    kind: Kind,
    query: String,
    hits: Vec<SearchHit>,
    /// The account a new chat goes from.
    account: Option<BareJid>,
    error: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Query(String),
    Account(BareJid),
    Results(String, Result<Vec<SearchHit>, String>),
    /// Enter in the box.
    Submit,
    Pick(BareJid, BareJid),
    /// A search result, by its place in the list.
    PickHit(usize),
    Close,
}

pub enum Event {
    Close,
    /// Open the chat, at a message when one was picked.
    Open {
        account: BareJid,
        peer: BareJid,
        at: Option<Box<StoredMessage>>,
    },
    Problem(String),
}

impl Overlay {
    /// `account`: the one a new chat goes from unless changed.
    pub fn open(kind: Kind, account: Option<BareJid>) -> (Self, Task<Message>) {
        let overlay = Self {
            kind,
            query: String::new(),
            hits: Vec::new(),
            account,
            error: None,
        };
        (overlay, iced::widget::operation::focus(INPUT))
    }

    #[cfg(test)]
    pub fn kind(&self) -> Kind {
        self.kind
    }

    #[cfg(test)]
    pub fn hits(&self) -> &[SearchHit] {
        &self.hits
    }

    pub fn update(
        &mut self,
        message: Message,
        ctx: Context<'_>,
        backend: &Backend,
    ) -> (Task<Message>, Option<Event>) {
        match message {
            Message::Query(q) => return (self.query(q, backend), None),
            Message::Account(a) => self.account = Some(a),
            Message::Results(query, Ok(hits)) => {
                // Only the answer to what is typed now.
                if query == self.query {
                    self.hits = hits;
                }
            }
            Message::Results(_, Err(e)) => {
                return (
                    Task::none(),
                    Some(Event::Problem(format!("Sotto could not search: {e}"))),
                );
            }
            Message::Submit => return (Task::none(), self.submit(ctx)),
            Message::Pick(account, peer) => {
                return (
                    Task::none(),
                    Some(Event::Open {
                        account,
                        peer,
                        at: None,
                    }),
                );
            }
            Message::PickHit(i) => return (Task::none(), self.hit(i)),
            Message::Close => return (Task::none(), Some(Event::Close)),
        }
        (Task::none(), None)
    }

    fn query(&mut self, q: String, backend: &Backend) -> Task<Message> {
        self.query = q.clone();
        self.error = None;
        if self.kind != Kind::Search || q.trim().is_empty() {
            self.hits.clear();
            return Task::none();
        }
        let query = q.clone();
        Task::perform(
            backend.read(move |r| r.search(None, &query, 50)),
            move |r| Message::Results(q.clone(), r),
        )
    }

    fn hit(&self, i: usize) -> Option<Event> {
        let m = &self.hits.get(i)?.message;
        Some(Event::Open {
            account: m.account.parse().ok()?,
            peer: m.peer.parse().ok()?,
            at: Some(Box::new(m.clone())),
        })
    }

    /// Enter: the first match, the typed address, or the best result.
    fn submit(&mut self, ctx: Context<'_>) -> Option<Event> {
        match self.kind {
            Kind::Switcher => {
                let (account, peer) = switcher::matches(ctx, &self.query).into_iter().next()?;
                Some(Event::Open {
                    account,
                    peer,
                    at: None,
                })
            }
            Kind::NewChat => {
                let account = self.account.clone()?;
                match self.query.trim().parse::<BareJid>() {
                    Ok(peer) if peer.node().is_some() && peer != account => Some(Event::Open {
                        account,
                        peer,
                        at: None,
                    }),
                    _ => {
                        self.error =
                            Some("Type your contact's whole address, like bob@example.org.".into());
                        None
                    }
                }
            }
            Kind::Search => self.hit(0),
        }
    }

    pub fn view<'a>(&'a self, ctx: Context<'a>) -> Element<'a, Message> {
        let (title, placeholder) = match self.kind {
            Kind::Switcher => ("Switch to…", "Jump to a conversation or contact"),
            Kind::NewChat => ("New chat", "Contact's address, like bob@example.org"),
            Kind::Search => ("Search messages", "Search all messages"),
        };
        let input = text_input(placeholder, &self.query)
            .id(INPUT)
            .on_input(Message::Query)
            .on_submit(Message::Submit)
            .padding(10)
            .size(16);
        let mut col = column![
            row![
                text(title).size(18).width(Length::Fill),
                button(text("Close"))
                    .style(button::text)
                    .on_press(Message::Close),
            ]
            .align_y(Alignment::Center),
            input
        ]
        .spacing(10);
        if let Some(e) = &self.error {
            col = col.push(text(e.as_str()).size(13).style(style::danger));
        }
        col = col.push(match self.kind {
            Kind::Switcher => switcher::people(ctx, switcher::matches(ctx, &self.query)),
            Kind::NewChat => new_chat::view(ctx, &self.query, self.account.as_ref()),
            Kind::Search => search::view(ctx, &self.query, &self.hits),
        });
        let card = container(col)
            .padding(16)
            .width(Length::Fixed(520.0))
            .max_height(520)
            .style(style::card);
        // The scrim and the card are separate layers, so the card is drawn
        // above the dimming, not under it.
        stack![
            opaque(
                mouse_area(
                    container(iced::widget::Space::new())
                        .width(Length::Fill)
                        .height(Length::Fill)
                        .style(style::scrim)
                )
                .on_press(Message::Close)
            ),
            container(opaque(card))
                .center_x(Length::Fill)
                .padding(iced::Padding {
                    top: 80.0,
                    ..iced::Padding::ZERO
                }),
        ]
        .into()
    }
}
