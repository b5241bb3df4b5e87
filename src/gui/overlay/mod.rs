//! Overlays over the main window: the quick switcher (Ctrl+K), new chat
//! (Ctrl+N) and message search (Ctrl+F). Esc or a click beside closes.

mod join_room;
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
#[cfg(test)]
pub use join_room::NICK_INPUT;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Switcher,
    NewChat,
    Search,
    JoinRoom,
}

#[derive(Debug)]
pub struct Overlay {
    kind: Kind,
    query: String,
    hits: Vec<SearchHit>,
    /// The account a new chat goes from.
    account: Option<BareJid>,
    error: Option<String>,
    /// Joining a room: the nickname and password to enter with.
    nick: String,
    password: String,
    /// The room asked for a password (or the link gave one).
    wants_password: bool,
    /// The room we asked to enter, while it answers.
    joining: Option<BareJid>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Query(String),
    Account(BareJid),
    Nick(String),
    Password(String),
    /// From new chat: the address is a group chat's.
    ToJoinRoom,
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
    /// Enter this room; the overlay waits for the room's answer.
    JoinRoom {
        account: BareJid,
        room: BareJid,
        nick: String,
        password: Option<String>,
    },
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
            nick: String::new(),
            password: String::new(),
            wants_password: false,
            joining: None,
        };
        (overlay, iced::widget::operation::focus(INPUT))
    }

    /// Join a group chat, with the address (and password) filled in, as an
    /// `xmpp:room@service?join` link asks.
    pub fn join_room(
        account: BareJid,
        nick: String,
        room: Option<&BareJid>,
        password: Option<String>,
    ) -> (Self, Task<Message>) {
        let (mut overlay, _) = Self::open(Kind::JoinRoom, Some(account));
        overlay.query = room.map(ToString::to_string).unwrap_or_default();
        overlay.nick = nick;
        overlay.wants_password = password.is_some();
        overlay.password = password.unwrap_or_default();
        let focus = if room.is_some() {
            join_room::NICK_INPUT
        } else {
            INPUT
        };
        (overlay, iced::widget::operation::focus(focus))
    }

    /// The room we wait on, if any.
    pub fn joining(&self) -> Option<&BareJid> {
        self.joining.as_ref()
    }

    /// The room would not let us in: say why where it can be mended.
    pub fn join_refused(
        &mut self,
        refusal: &sotto::model::RoomRefusal,
        reason: &str,
    ) -> Task<Message> {
        use sotto::model::RoomRefusal;
        self.joining = None;
        match refusal {
            RoomRefusal::NicknameTaken => {
                self.error =
                    Some("Someone in the room already has that nickname. Choose another.".into());
                iced::widget::operation::focus(join_room::NICK_INPUT)
            }
            RoomRefusal::PasswordRequired => {
                self.error = Some(if self.wants_password {
                    "That password is not the room's. Check it and try again.".into()
                } else {
                    "This room has a password. Type it to enter.".into()
                });
                self.wants_password = true;
                iced::widget::operation::focus(join_room::PASSWORD_INPUT)
            }
            _ => {
                self.error = Some(format!("The room did not let you in: {reason}."));
                Task::none()
            }
        }
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
            Message::Nick(n) => {
                self.nick = n;
                self.error = None;
            }
            Message::Password(p) => {
                self.password = p;
                self.error = None;
            }
            Message::ToJoinRoom => {
                self.kind = Kind::JoinRoom;
                self.error = None;
                if self.nick.is_empty() {
                    self.nick = self
                        .account
                        .as_ref()
                        .and_then(|a| a.node().map(|n| n.to_string()))
                        .unwrap_or_default();
                }
                return (iced::widget::operation::focus(join_room::NICK_INPUT), None);
            }
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
            Kind::JoinRoom => {
                if self.joining.is_some() {
                    return None;
                }
                let account = self.account.clone()?;
                let room = match self
                    .query
                    .trim()
                    .trim_start_matches("xmpp:")
                    .parse::<BareJid>()
                {
                    Ok(room) if room.node().is_some() => room,
                    _ => {
                        self.error = Some(
                            "Type the room's whole address, like tea@conference.example.org."
                                .into(),
                        );
                        return None;
                    }
                };
                let nick = self.nick.trim().to_owned();
                if let Err(e) = sotto::xmpp::muc::occupant_jid(&room, &nick) {
                    self.error = Some(format!("Choose another nickname: {e}."));
                    return None;
                }
                self.joining = Some(room.clone());
                Some(Event::JoinRoom {
                    account,
                    room,
                    nick,
                    password: Some(self.password.clone()).filter(|p| !p.is_empty()),
                })
            }
        }
    }

    pub fn view<'a>(&'a self, ctx: Context<'a>) -> Element<'a, Message> {
        let (title, placeholder) = match self.kind {
            Kind::Switcher => ("Switch to…", "Jump to a conversation or contact"),
            Kind::NewChat => ("New chat", "Contact's address, like bob@example.org"),
            Kind::Search => ("Search messages", "Search all messages"),
            Kind::JoinRoom => (
                "Join a group chat",
                "Room's address, like tea@conference.example.org",
            ),
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
            Kind::JoinRoom => join_room::view(ctx, self),
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
