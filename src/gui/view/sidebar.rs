//! The left column: accounts' status, the filter, recent conversations.

use iced::widget::{
    Column, button, column, container, mouse_area, progress_bar, row, scrollable, text, text_input,
    tooltip,
};
use iced::{Alignment, Element, Length};
use sotto::model::{BareJid, ConnectionState, now_ms};
use sotto::store::{ConversationSummary, Direction};

use super::style;
use super::time;
use crate::gui::app::{App, Message, OverlayKind, Screen};

pub fn view(app: &App) -> Element<'_, Message> {
    let header = row![
        text("Sotto").size(22).width(Length::Fill),
        tip(
            button(text("New")).on_press(Message::OpenOverlay(OverlayKind::NewChat)),
            "New chat (Ctrl+N)"
        ),
        tip(
            button(text("Contacts"))
                .style(nav_style(app.screen == Screen::Contacts))
                .on_press(Message::Show(Screen::Contacts)),
            "Contacts and requests"
        ),
        tip(
            button(text("⚙"))
                .style(nav_style(app.screen == Screen::Settings))
                .on_press(Message::Show(Screen::Settings)),
            "Settings"
        ),
    ]
    .spacing(6)
    .align_y(Alignment::Center);

    let filter = text_input("Filter conversations", &app.filter)
        .on_input(Message::Filter)
        .padding(8);

    let list: Column<'_, Message> = visible(app)
        .into_iter()
        .fold(Column::new().spacing(2), |col, c| {
            col.push(row_view(app, c))
        });
    let list: Element<'_, Message> = if app.conversations.is_empty() {
        container(
            text("No conversations yet. Start one with New (Ctrl+N).")
                .style(style::muted)
                .size(14),
        )
        .padding(12)
        .into()
    } else {
        scrollable(list).height(Length::Fill).into()
    };

    container(
        column![header, accounts(app), filter, list]
            .spacing(10)
            .padding(12),
    )
    .width(Length::Fixed(310.0))
    .height(Length::Fill)
    .style(style::sidebar)
    .into()
}

fn nav_style(active: bool) -> impl Fn(&iced::Theme, button::Status) -> button::Style {
    move |theme, status| {
        if active {
            button::primary(theme, status)
        } else {
            button::secondary(theme, status)
        }
    }
}

pub fn tip<'a>(content: impl Into<Element<'a, Message>>, label: &'a str) -> Element<'a, Message> {
    tooltip(
        content,
        container(text(label).size(13))
            .padding(6)
            .style(container::rounded_box),
        tooltip::Position::Bottom,
    )
    .into()
}

/// Conversations matching the filter, most recent first.
pub fn visible(app: &App) -> Vec<&ConversationSummary> {
    let needle = app.filter.trim().to_lowercase();
    app.conversations
        .iter()
        .filter(|c| {
            if needle.is_empty() {
                return true;
            }
            let name = match (c.account.parse::<BareJid>(), c.peer.parse::<BareJid>()) {
                (Ok(a), Ok(p)) => app.people.display_name(&a, &p),
                _ => c.peer.clone(),
            };
            name.to_lowercase().contains(&needle) || c.peer.to_lowercase().contains(&needle)
        })
        .collect()
}

/// Each account's state, always visible, with what to do when it fails.
fn accounts(app: &App) -> Element<'_, Message> {
    let mut col = Column::new().spacing(4);
    for account in &app.config.accounts {
        let status = app.people.accounts.get(&account.jid);
        let (dot, words) = match status.map(|s| &s.state) {
            _ if !account.enabled => ("○", "turned off".to_owned()),
            Some(ConnectionState::Online { .. }) => ("●", "online".to_owned()),
            // A Tor account waits for Tor first: say how far it got.
            Some(ConnectionState::Connecting { .. }) if account.tor => match &app.people.tor {
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
        let failed = matches!(
            status.map(|s| &s.state),
            Some(ConnectionState::Failed { .. })
        );
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
        let line: Element<'_, Message> = if failed {
            mouse_area(line)
                .on_press(Message::Show(Screen::Settings))
                .into()
        } else {
            line.into()
        };
        col = col.push(line);
        if let Some((fetched, total)) = status.and_then(|s| s.catch_up) {
            let label = match total {
                Some(t) => format!("Catching up: {fetched} of {t} messages"),
                None => format!("Catching up: {fetched} messages"),
            };
            let progress = match total {
                Some(t) if t > 0 => fetched as f32 / t as f32,
                _ => 0.0,
            };
            col = col.push(text(label).size(12).style(style::muted));
            col = col.push(progress_bar(0.0..=1.0, progress).girth(4));
        }
    }
    col.into()
}

fn row_view<'a>(app: &'a App, c: &'a ConversationSummary) -> Element<'a, Message> {
    let (Ok(account), Ok(peer)) = (c.account.parse::<BareJid>(), c.peer.parse::<BareJid>()) else {
        return text(c.peer.clone()).into();
    };
    let name = app.people.display_name(&account, &peer);
    let online = app
        .people
        .contact(&account, &peer)
        .is_some_and(|s| s.online());
    let selected = app.chat.as_ref().is_some_and(|ch| ch.is(&account, &c.peer));
    let preview = if app.prefs.previews {
        let body = c.last_body.clone().unwrap_or_default();
        let first_line = body.lines().next().unwrap_or_default().to_owned();
        match c.last_direction {
            Some(Direction::Out) => format!("You: {first_line}"),
            _ => first_line,
        }
    } else {
        String::new()
    };
    let top = row![
        text(ellipsize(&name, 24))
            .size(15)
            .wrapping(iced::widget::text::Wrapping::None)
            .width(Length::Fill),
        text(time::short(c.last_activity, now_ms()))
            .size(12)
            .style(style::muted),
    ]
    .spacing(6);
    let mut bottom = row![
        text(ellipsize(&preview, 30))
            .size(13)
            .wrapping(iced::widget::text::Wrapping::None)
            .style(style::muted)
            .width(Length::Fill),
    ]
    .spacing(6)
    .align_y(Alignment::Center);
    if c.unread > 0 {
        bottom = bottom.push(
            container(text(c.unread.to_string()).size(11))
                .padding([1, 7])
                .style(style::badge),
        );
    }
    let content = row![
        style::avatar(&name, peer.as_str(), 40.0, Some(online)),
        column![top, bottom].spacing(2).width(Length::Fill),
    ]
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

pub fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let cut: String = s.chars().take(max.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    }
}
