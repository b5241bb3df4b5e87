//! The first close of the window, where a tray shows Sotto: it says that
//! Sotto stays connected and how to quit, before it does so.

use iced::widget::{button, column, container, opaque, row, stack, text};
use iced::{Element, Length};

use super::style;
use crate::gui::app::Message;

pub const KEEP: &str = "Keep running in the tray";
pub const QUIT: &str = "Quit Sotto";

/// `screen`, dimmed, under the question.
pub fn over(screen: Element<'_, Message>) -> Element<'_, Message> {
    let card = container(
        column![
            text("Sotto keeps running").size(18),
            text(
                "Closing the window keeps you connected: messages still arrive and are \
                 notified, and Sotto waits in the tray. Open it again from there, or by \
                 starting Sotto. To quit, choose Quit in the tray's menu, or press Ctrl+Q \
                 in the window.",
            )
            .size(14),
            text("You can change this in Settings, under “In the background”.")
                .size(13)
                .style(style::muted),
            row![
                button(text(QUIT))
                    .style(button::secondary)
                    .on_press(Message::Quit),
                button(text(KEEP)).on_press(Message::KeepRunning),
            ]
            .spacing(10),
        ]
        .spacing(12),
    )
    .padding(20)
    .width(Length::Fixed(460.0))
    .style(style::card);
    stack![
        screen,
        opaque(
            container(iced::widget::Space::new())
                .width(Length::Fill)
                .height(Length::Fill)
                .style(style::scrim)
        ),
        container(opaque(card)).center(Length::Fill),
    ]
    .into()
}
