//! Overlays over the main window: the quick switcher (Ctrl+K), new chat
//! (Ctrl+N) and message search (Ctrl+F). Esc closes them.

use iced::widget::{
    Column, button, column, container, mouse_area, opaque, pick_list, row, scrollable, text,
    text_input,
};
use iced::{Alignment, Element, Length};
use sotto::model::BareJid;

use super::sidebar::ellipsize;
use super::style;
use crate::gui::app::{App, Message, OVERLAY_INPUT, Overlay, OverlayKind};

/// Conversations, then contacts, whose name or address contains `query`.
pub fn switcher_matches(app: &App, query: &str) -> Vec<(BareJid, BareJid)> {
    let needle = query.trim().to_lowercase();
    let matches = |account: &BareJid, peer: &BareJid| {
        needle.is_empty()
            || app
                .people
                .display_name(account, peer)
                .to_lowercase()
                .contains(&needle)
            || peer.as_str().contains(&needle)
    };
    let mut out: Vec<(BareJid, BareJid)> = Vec::new();
    for c in &app.conversations {
        if let (Ok(a), Ok(p)) = (c.account.parse::<BareJid>(), c.peer.parse::<BareJid>())
            && matches(&a, &p)
        {
            out.push((a, p));
        }
    }
    for ((a, p), state) in &app.people.contacts {
        if state.contact.is_some() && matches(a, p) && !out.iter().any(|(x, y)| x == a && y == p) {
            out.push((a.clone(), p.clone()));
        }
    }
    out.truncate(12);
    out
}

pub fn view<'a>(app: &'a App, overlay: &'a Overlay) -> Element<'a, Message> {
    let placeholder = match overlay.kind {
        OverlayKind::Switcher => "Jump to a conversation or contact",
        OverlayKind::NewChat => "Contact's address, like bob@example.org",
        OverlayKind::Search => "Search all messages",
    };
    let title = match overlay.kind {
        OverlayKind::Switcher => "Switch to…",
        OverlayKind::NewChat => "New chat",
        OverlayKind::Search => "Search messages",
    };
    let input = text_input(placeholder, &overlay.query)
        .id(OVERLAY_INPUT)
        .on_input(Message::OverlayQuery)
        .on_submit(Message::StartChat)
        .padding(10)
        .size(16);
    let mut col = column![
        row![
            text(title).size(18).width(Length::Fill),
            button(text("Close"))
                .style(button::text)
                .on_press(Message::CloseOverlay),
        ]
        .align_y(Alignment::Center),
        input
    ]
    .spacing(10);
    if let Some(e) = &overlay.error {
        col = col.push(text(e.clone()).size(13).style(style::danger));
    }
    col = col.push(match overlay.kind {
        OverlayKind::Switcher => people_list(app, switcher_matches(app, &overlay.query)),
        OverlayKind::NewChat => new_chat(app, overlay),
        OverlayKind::Search => results(overlay),
    });
    let card = container(col)
        .padding(16)
        .width(Length::Fixed(520.0))
        .max_height(520)
        .style(style::card);
    // The scrim and the card are separate layers of the stack, so the
    // card is drawn above the dimming, not under it.
    iced::widget::stack![
        opaque(
            mouse_area(
                container(iced::widget::Space::new())
                    .width(Length::Fill)
                    .height(Length::Fill)
                    .style(style::scrim)
            )
            .on_press(Message::CloseOverlay)
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

fn people_list(app: &App, people: Vec<(BareJid, BareJid)>) -> Element<'_, Message> {
    if people.is_empty() {
        return text("Nobody by that name.").style(style::muted).into();
    }
    let col = people
        .into_iter()
        .fold(Column::new().spacing(2), |col, (a, p)| {
            let name = app.people.display_name(&a, &p);
            let online = app.people.contact(&a, &p).is_some_and(|c| c.online());
            col.push(
                button(
                    row![
                        style::avatar(&name, p.as_str(), 28.0, Some(online)),
                        text(name).width(Length::Fill),
                        text(p.to_string()).size(12).style(style::muted),
                    ]
                    .spacing(10)
                    .align_y(Alignment::Center),
                )
                .style(button::text)
                .width(Length::Fill)
                .on_press(Message::Open(a, p)),
            )
        });
    scrollable(col).height(Length::Shrink).into()
}

fn new_chat<'a>(app: &'a App, overlay: &'a Overlay) -> Element<'a, Message> {
    let mut col = Column::new().spacing(8);
    if app.config.accounts.len() > 1 {
        let accounts: Vec<BareJid> = app.config.accounts.iter().map(|a| a.jid.clone()).collect();
        col = col.push(
            row![
                text("From").size(13),
                pick_list(accounts, overlay.account.clone(), Message::OverlayAccount).text_size(13),
            ]
            .spacing(8)
            .align_y(Alignment::Center),
        );
    }
    col = col.push(
        row![
            text("Press Enter to open the chat, or pick a contact:")
                .size(13)
                .style(style::muted)
                .width(Length::Fill),
            button(text("Start chat")).on_press(Message::StartChat),
        ]
        .align_y(Alignment::Center),
    );
    let contacts: Vec<(BareJid, BareJid)> = switcher_matches(app, &overlay.query)
        .into_iter()
        .filter(|(a, _)| overlay.account.as_ref().is_none_or(|acc| acc == a))
        .collect();
    col.push(people_list(app, contacts)).into()
}

fn results(overlay: &Overlay) -> Element<'_, Message> {
    if overlay.query.trim().is_empty() {
        return text("Type a word; results come from every conversation.")
            .size(13)
            .style(style::muted)
            .into();
    }
    if overlay.hits.is_empty() {
        return text("No message matches.")
            .size(13)
            .style(style::muted)
            .into();
    }
    let col = overlay
        .hits
        .iter()
        .fold(Column::new().spacing(2), |col, hit| {
            let m = &hit.message;
            let (Ok(a), Ok(p)) = (m.account.parse::<BareJid>(), m.peer.parse::<BareJid>()) else {
                return col;
            };
            let when = super::time::short(m.sent_at, sotto::model::now_ms());
            col.push(
                button(
                    column![
                        row![
                            text(m.peer.clone()).size(13).width(Length::Fill),
                            text(when).size(12).style(style::muted)
                        ],
                        text(ellipsize(&hit.snippet, 90)).size(14),
                    ]
                    .spacing(2),
                )
                .style(button::text)
                .width(Length::Fill)
                .on_press(Message::OpenAt(a, p, m.id)),
            )
        });
    scrollable(col).into()
}
