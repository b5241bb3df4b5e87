//! What the chat must say under the messages: typing, messages waiting,
//! how a knock went, a correction under way.

use iced::Element;
use iced::widget::{Column, text};
use sotto::model::BareJid;

use crate::gui::context::Context;
use crate::gui::people::KnockStatus;
use crate::gui::widget::{notice, style};

pub fn view<'a, Message: 'a>(
    ctx: Context<'a>,
    account: &BareJid,
    peer: &BareJid,
    queued: usize,
    editing: bool,
) -> Element<'a, Message> {
    let name = ctx.name(account, peer);
    let key = (account.clone(), peer.clone());
    let online = ctx.people.contacts.get(&key).is_some_and(|c| c.online());
    let account_online = ctx.people.accounts.get(account).is_some_and(|a| a.online());
    let mut col = Column::new().spacing(4);
    if ctx.people.typing(account, peer) {
        col = col.push(
            text(format!("{name} is typing…"))
                .size(13)
                .style(style::muted),
        );
    }
    if queued > 0 {
        let what = if queued == 1 {
            "1 message is".to_owned()
        } else {
            format!("{queued} messages are")
        };
        let room = ctx.people.room(account, peer);
        let why = if !account_online {
            format!("{what} waiting: you are offline. They will be sent when Sotto reconnects.")
        } else if room.is_some_and(|r| r.joined_as.is_none()) {
            format!("{what} waiting to enter the room. They will be sent once you are in.")
        } else if room.is_some() {
            format!("{what} on the way.")
        } else if !online {
            format!(
                "{what} waiting: {name} is offline. They are kept and will be delivered when \
                 {name} comes online."
            )
        } else {
            format!("{what} on the way.")
        };
        col = col.push(notice(why, style::notice));
    }
    match ctx.people.knocks.get(&key) {
        Some(KnockStatus::Knocking) => col = col.push(notice("Knocking…", style::notice)),
        Some(KnockStatus::Knocked { .. }) => {
            col = col.push(notice(
                format!("Knocked: {name}'s phone was woken."),
                style::notice,
            ));
        }
        Some(KnockStatus::Failed(why)) => {
            col = col.push(notice(format!("Knock failed: {why}"), style::error_notice));
        }
        None => {}
    }
    if editing {
        col = col.push(
            text("Editing your last message · Enter saves · Esc cancels")
                .size(13)
                .style(style::muted),
        );
    }
    col.into()
}
