//! The left column: each account's state, the filter, and the recent
//! conversations with their unread badges.

use iced::widget::{
    Column, button, column, container, mouse_area, progress_bar, row, scrollable, text, text_input,
};
use iced::{Alignment, Element, Length};
use sotto::config::AccountConfig;
use sotto::model::{BareJid, ConnectionState, now_ms};
use sotto::store::{ConversationSummary, Direction};

use super::context::Context;
use super::people::Key;
use super::widget::{ellipsized, style, time, tip};

/// Which full-window page is shown beside the sidebar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Chats,
    Contacts,
    Settings,
}

#[derive(Debug, Default)]
pub struct Sidebar {
    filter: String,
}

#[derive(Debug, Clone)]
pub enum Message {
    Filter(String),
    Open(BareJid, BareJid),
    NewChat,
    Show(Page),
}

pub enum Event {
    Open(BareJid, BareJid),
    NewChat,
    Show(Page),
}

impl Sidebar {
    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Filter(f) => {
                self.filter = f;
                None
            }
            Message::Open(account, peer) => Some(Event::Open(account, peer)),
            Message::NewChat => Some(Event::NewChat),
            Message::Show(page) => Some(Event::Show(page)),
        }
    }

    /// Conversations matching the filter, most recent first.
    fn visible<'a>(&self, ctx: Context<'a>) -> Vec<(BareJid, BareJid, &'a ConversationSummary)> {
        let needle = self.filter.trim().to_lowercase();
        ctx.conversations
            .iter()
            .filter_map(|c| Some((c.account.parse().ok()?, c.peer.parse().ok()?, c)))
            .filter(|(a, p, c)| {
                needle.is_empty()
                    || ctx.name(a, p).to_lowercase().contains(&needle)
                    || c.peer.to_lowercase().contains(&needle)
            })
            .collect()
    }

    pub fn view<'a>(
        &'a self,
        ctx: Context<'a>,
        page: Page,
        open: Option<Key>,
    ) -> Element<'a, Message> {
        let nav = |label, target: Page, hint| {
            tip(
                button(text(label))
                    .style(if page == target {
                        button::primary
                    } else {
                        button::secondary
                    })
                    .on_press(Message::Show(target)),
                hint,
            )
        };
        let header = row![
            text("Sotto").size(22).width(Length::Fill),
            tip(
                button(text("New")).on_press(Message::NewChat),
                "New chat (Ctrl+N)"
            ),
            nav("Contacts", Page::Contacts, "Contacts and requests"),
            nav("⚙", Page::Settings, "Settings"),
        ]
        .spacing(6)
        .align_y(Alignment::Center);
        let filter = text_input("Filter conversations", &self.filter)
            .on_input(Message::Filter)
            .padding(8);
        let list: Element<'a, Message> = if ctx.conversations.is_empty() {
            container(
                text("No conversations yet. Start one with New (Ctrl+N).")
                    .style(style::muted)
                    .size(14),
            )
            .padding(12)
            .into()
        } else {
            let rows =
                self.visible(ctx)
                    .into_iter()
                    .fold(Column::new().spacing(2), |col, (a, p, c)| {
                        let selected = open.as_ref().is_some_and(|(oa, op)| *oa == a && *op == p);
                        col.push(conversation(ctx, a, p, c, selected))
                    });
            scrollable(rows).height(Length::Fill).into()
        };
        let accounts = ctx
            .config
            .accounts
            .iter()
            .fold(Column::new().spacing(4), |col, a| col.push(account(ctx, a)));
        container(
            column![header, accounts, filter, list]
                .spacing(10)
                .padding(12),
        )
        .width(Length::Fixed(310.0))
        .height(Length::Fill)
        .style(style::sidebar)
        .into()
    }
}

/// An account's state, always visible, with where to go when it fails.
fn account<'a>(ctx: Context<'a>, account: &'a AccountConfig) -> Element<'a, Message> {
    let status = ctx.people.accounts.get(&account.jid);
    let state = status.map(|s| &s.state);
    let (dot, words) = match state {
        _ if !account.enabled => ("○", "turned off".to_owned()),
        Some(ConnectionState::Online { .. }) => ("●", "online".to_owned()),
        // A Tor account waits for Tor first: say how far it got.
        Some(ConnectionState::Connecting { .. }) if account.tor => match &ctx.people.tor {
            Some(tor) if !tor.ready => (
                "◌",
                format!("connecting through Tor: {}% ({})", tor.percent, tor.summary),
            ),
            _ => ("◌", "connecting through Tor…".to_owned()),
        },
        Some(ConnectionState::Connecting { .. }) => ("◌", "connecting…".to_owned()),
        Some(ConnectionState::Suspended) => ("◌", "connection lost, reconnecting…".to_owned()),
        Some(ConnectionState::WaitingToRetry { seconds, reason }) => {
            ("◌", format!("{reason}; retrying in {seconds} s"))
        }
        Some(ConnectionState::Failed { reason, .. }) => ("✕", reason.clone()),
        Some(ConnectionState::Offline) | None => ("○", "offline".to_owned()),
    };
    let failed = matches!(state, Some(ConnectionState::Failed { .. }));
    let line = row![
        text(dot).size(12).style(move |theme: &iced::Theme| {
            let p = theme.extended_palette();
            text::Style {
                color: Some(match dot {
                    "●" => p.success.base.color,
                    "✕" => p.danger.base.color,
                    _ => p.background.strong.color,
                }),
            }
        }),
        text(format!("{} · {words}", account.jid))
            .size(12)
            .style(if failed { style::danger } else { style::muted }),
    ]
    .spacing(6)
    .align_y(Alignment::Center);
    let mut col = Column::new().spacing(4);
    col = col.push(if failed {
        Element::from(mouse_area(line).on_press(Message::Show(Page::Settings)))
    } else {
        line.into()
    });
    if let Some(why) = ctx.people.roster_errors.get(&account.jid) {
        col = col.push(
            text(format!("Contacts could not be loaded: {why}"))
                .size(12)
                .style(style::danger),
        );
    }
    if let Some((fetched, total)) = status.and_then(|s| s.catch_up) {
        let (label, progress) = match total {
            Some(t) => (
                format!("Catching up: {fetched} of {t} messages"),
                if t > 0 {
                    fetched as f32 / t as f32
                } else {
                    0.0
                },
            ),
            None => (format!("Catching up: {fetched} messages"), 0.0),
        };
        col = col
            .push(text(label).size(12).style(style::muted))
            .push(progress_bar(0.0..=1.0, progress).girth(4));
    }
    col.into()
}

fn conversation<'a>(
    ctx: Context<'a>,
    account: BareJid,
    peer: BareJid,
    c: &'a ConversationSummary,
    selected: bool,
) -> Element<'a, Message> {
    let name = ctx.name(&account, &peer);
    let room = c.room || ctx.people.is_room(&account, &peer);
    let online = ctx
        .people
        .contact(&account, &peer)
        .is_some_and(|s| s.online());
    let preview = if ctx.prefs.previews {
        let first_line = c
            .last_body
            .as_deref()
            .and_then(|b| b.lines().next())
            .unwrap_or_default();
        match (c.last_direction, &c.last_author) {
            (Some(Direction::Out), _) => format!("You: {first_line}"),
            // In a room, who said it.
            (_, Some(author)) if room && !author.is_empty() => format!("{author}: {first_line}"),
            _ => first_line.to_owned(),
        }
    } else {
        String::new()
    };
    // A room has no presence of its own to show.
    let avatar = if room {
        style::group_avatar(&name, peer.as_str(), 40.0)
    } else {
        style::avatar(&name, peer.as_str(), 40.0, Some(online))
    };
    let top = row![
        ellipsized(name.clone()).size(15),
        text(time::short(c.last_activity, now_ms()))
            .size(12)
            .style(style::muted),
    ]
    .spacing(6)
    .align_y(Alignment::Center);
    // The badge sits beside the preview, which gives way and ends in "…".
    let mut bottom = row![ellipsized(preview).size(13).style(style::muted)]
        .spacing(6)
        .align_y(Alignment::Center);
    if c.unread > 0 {
        bottom = bottom.push(
            container(text(c.unread.to_string()).size(11))
                .padding([1, 7])
                .style(style::badge),
        );
    }
    let content = row![avatar, column![top, bottom].spacing(2).width(Length::Fill)]
        .spacing(10)
        .align_y(Alignment::Center);
    let body = container(content).padding(8).width(Length::Fill);
    let body = if selected {
        body.style(style::selected_row)
    } else {
        body
    };
    mouse_area(body)
        .on_press(Message::Open(account, peer))
        .interaction(iced::mouse::Interaction::Pointer)
        .into()
}
