//! Join a group chat: the room's address, the nickname to use there and,
//! for a room that has one, its password. The overlay stays while the
//! room answers, so a refusal is said where it can be mended.

use iced::widget::{Column, button, pick_list, row, text, text_input};
use iced::{Alignment, Element, Length};
use sotto::model::BareJid;

use super::{Message, Overlay};
use crate::gui::context::Context;
use crate::gui::widget::style;

pub const NICK_INPUT: &str = "overlay-nick";
pub const PASSWORD_INPUT: &str = "overlay-room-password";

pub fn view<'a>(ctx: Context<'a>, o: &'a Overlay) -> Element<'a, Message> {
    let mut col = Column::new().spacing(8);
    if ctx.several_accounts() {
        let accounts: Vec<BareJid> = ctx.config.accounts.iter().map(|a| a.jid.clone()).collect();
        col = col.push(
            row![
                text("As").size(13),
                pick_list(accounts, o.account.clone(), Message::Account).text_size(13),
            ]
            .spacing(8)
            .align_y(Alignment::Center),
        );
    }
    let nick = text_input("Your nickname in the room", &o.nick)
        .id(NICK_INPUT)
        .on_input(Message::Nick)
        .on_submit(Message::Submit)
        .padding(8);
    col = col.push(
        row![text("Nickname").size(13).width(Length::Fixed(90.0)), nick]
            .spacing(8)
            .align_y(Alignment::Center),
    );
    if o.wants_password {
        let password = text_input("The room's password", &o.password)
            .id(PASSWORD_INPUT)
            .secure(true)
            .on_input(Message::Password)
            .on_submit(Message::Submit)
            .padding(8);
        col = col.push(
            row![
                text("Password").size(13).width(Length::Fixed(90.0)),
                password
            ]
            .spacing(8)
            .align_y(Alignment::Center),
        );
    }
    let action: Element<'a, Message> = match &o.joining {
        Some(room) => text(format!("Entering {room}…"))
            .size(13)
            .style(style::muted)
            .into(),
        None => button(text("Join")).on_press(Message::Submit).into(),
    };
    col.push(
        row![
            text("The room's history shows once you are in, and Sotto enters it at every start.")
                .size(13)
                .style(style::muted)
                .width(Length::Fill),
            action,
        ]
        .spacing(8)
        .align_y(Alignment::Center),
    )
    .into()
}
