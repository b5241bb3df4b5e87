//! A room's details beside the chat: what it is about, who is in it and
//! with what standing, what notifies, and leaving it.

use iced::widget::{Column, button, column, container, radio, row, scrollable, text};
use iced::{Alignment, Element, Length, Theme};
use sotto::model::{Affiliation, Occupant, Role};
use sotto::store::RoomNotify;

use super::details::Message;
use crate::gui::rooms::RoomState;
use crate::gui::widget::style;

/// How someone's standing in the room reads, if it is worth a word.
fn standing(o: &Occupant) -> Option<&'static str> {
    match (o.affiliation, o.role) {
        (Affiliation::Owner, _) => Some("owner"),
        (Affiliation::Admin, _) => Some("admin"),
        (_, Role::Moderator) => Some("moderator"),
        (_, Role::Visitor) => Some("cannot speak"),
        (Affiliation::Member, _) => Some("member"),
        _ => None,
    }
}

pub fn view<'a>(room: &'a RoomState, name: &str, address: &str) -> Element<'a, Message> {
    let mut info = Column::new().spacing(6);
    if let Some(subject) = &room.subject {
        info = info
            .push(text("Subject").size(16))
            .push(text(subject.as_str()).size(13));
    }
    info = info.push(text("Notifications").size(16));
    for (label, value) in [
        ("Every message", RoomNotify::All),
        ("Only messages that name you", RoomNotify::Mentions),
        ("None", RoomNotify::Nothing),
    ] {
        info = info.push(
            radio(label, value, Some(room.notify), Message::Notify)
                .size(14)
                .text_size(13),
        );
    }
    let count = room.occupants.len() + usize::from(room.joined_as.is_some());
    info = info.push(text(format!("People ({count})")).size(16));
    if let Some(me) = &room.joined_as {
        info = info.push(text(format!("{me} (you)")).size(13));
    }
    // Owners and moderators first, then by name.
    let mut people: Vec<&Occupant> = room.occupants.values().collect();
    people.sort_by_key(|o| (o.affiliation, o.role, o.nick.to_lowercase()));
    for o in people {
        let nick = o.nick.as_str();
        let mut line = row![text(nick).size(13).style(move |theme: &Theme| text::Style {
            color: Some(style::nick_color(nick, theme.extended_palette().is_dark)),
        })]
        .spacing(6)
        .align_y(Alignment::Center);
        if let Some(word) = standing(o) {
            line = line.push(text(word).size(12).style(style::muted));
        }
        // A moderator may put out anyone who is not an owner or admin.
        if room.moderating() && !matches!(o.affiliation, Affiliation::Owner | Affiliation::Admin) {
            line = line
                .push(iced::widget::Space::new().width(Length::Fill))
                .push(
                    button(text("Remove").size(12))
                        .padding([2, 8])
                        .style(button::secondary)
                        .on_press(Message::Kick(o.nick.clone())),
                );
        }
        info = info.push(line);
    }
    info = info.push(if room.joined_as.is_some() || room.autojoin {
        button(text("Leave this room").size(13))
            .style(button::danger)
            .on_press(Message::Leave)
    } else {
        button(text("Enter again").size(13))
            .style(button::primary)
            .on_press(Message::Rejoin)
    });
    info = info.push(
        text("Leaving keeps the room's history here, and takes it off your other devices too.")
            .size(12)
            .style(style::muted),
    );
    let head = column![
        style::group_avatar(name, address, 64.0),
        text(name.to_owned()).size(18),
        text(if room.private {
            "Private group"
        } else {
            "Group chat"
        })
        .size(13)
        .style(style::muted),
    ]
    .spacing(8)
    .align_x(Alignment::Center)
    .width(Length::Fill);
    container(scrollable(column![head, info].spacing(12).padding(12)))
        .width(Length::Fixed(300.0))
        .height(Length::Fill)
        .style(style::sidebar)
        .into()
}
