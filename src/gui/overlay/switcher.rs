//! The quick switcher: conversations, then contacts, by name or address.

use iced::widget::{Column, button, row, scrollable, text};
use iced::{Alignment, Element, Length};
use sotto::model::BareJid;

use super::Message;
use crate::gui::context::Context;
use crate::gui::widget::style;

/// Conversations, then contacts, whose name or address contains `query`.
pub fn matches(ctx: Context<'_>, query: &str) -> Vec<(BareJid, BareJid)> {
    let needle = query.trim().to_lowercase();
    let hit = |account: &BareJid, peer: &BareJid| {
        needle.is_empty()
            || ctx.name(account, peer).to_lowercase().contains(&needle)
            || peer.as_str().contains(&needle)
    };
    let mut out: Vec<(BareJid, BareJid)> = Vec::new();
    for c in ctx.conversations.iter() {
        if let (Ok(a), Ok(p)) = (c.account.parse::<BareJid>(), c.peer.parse::<BareJid>())
            && hit(&a, &p)
        {
            out.push((a, p));
        }
    }
    for ((a, p), state) in &ctx.people.contacts {
        if state.contact.is_some() && hit(a, p) && !out.iter().any(|(x, y)| x == a && y == p) {
            out.push((a.clone(), p.clone()));
        }
    }
    out.truncate(12);
    out
}

pub fn people<'a>(ctx: Context<'a>, people: Vec<(BareJid, BareJid)>) -> Element<'a, Message> {
    if people.is_empty() {
        return text("Nobody by that name.").style(style::muted).into();
    }
    let col = people
        .into_iter()
        .fold(Column::new().spacing(2), |col, (a, p)| {
            let name = ctx.name(&a, &p);
            let online = ctx.people.contact(&a, &p).is_some_and(|c| c.online());
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
                .on_press(Message::Pick(a, p)),
            )
        });
    scrollable(col).height(Length::Shrink).into()
}
