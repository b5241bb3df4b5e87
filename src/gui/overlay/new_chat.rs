//! New chat: a typed address, or a contact picked from the list.

use iced::widget::{Column, button, pick_list, row, text};
use iced::{Alignment, Element, Length};
use sotto::model::BareJid;

use super::{Message, switcher};
use crate::gui::context::Context;
use crate::gui::widget::style;

pub fn view<'a>(ctx: Context<'a>, query: &str, account: Option<&BareJid>) -> Element<'a, Message> {
    let mut col = Column::new().spacing(8);
    if ctx.several_accounts() {
        let accounts: Vec<BareJid> = ctx.config.accounts.iter().map(|a| a.jid.clone()).collect();
        col = col.push(
            row![
                text("From").size(13),
                pick_list(accounts, account.cloned(), Message::Account).text_size(13),
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
            button(text("Join a group chat…"))
                .style(button::secondary)
                .on_press(Message::ToJoinRoom),
            button(text("Start chat")).on_press(Message::Submit),
        ]
        .spacing(8)
        .align_y(Alignment::Center),
    );
    let contacts: Vec<(BareJid, BareJid)> = switcher::matches(ctx, query)
        .into_iter()
        .filter(|(a, _)| account.is_none_or(|acc| acc == a))
        .collect();
    col.push(switcher::people(ctx, contacts)).into()
}
