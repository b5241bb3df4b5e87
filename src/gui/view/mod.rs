//! What the window shows, from the state alone.

mod conversation;
pub mod overlay;
mod screens;
pub mod sidebar;
mod style;
mod time;

use iced::widget::{button, column, container, row, stack, text};
use iced::{Alignment, Element, Length};

use super::app::{App, Message, Phase, Screen};

pub fn view(app: &App) -> Element<'_, Message> {
    if !matches!(app.phase, Phase::Ready) {
        return screens::starting(&app.phase);
    }
    let main: Element<'_, Message> = match app.screen {
        Screen::SignIn => return with_banner(app, screens::sign_in(app)),
        Screen::Chats => conversation::view(app),
        Screen::Contacts => screens::contacts(app),
        Screen::Settings => screens::settings(app),
    };
    let body = row![sidebar::view(app), main].height(Length::Fill);
    let body = with_banner(app, body.into());
    match &app.overlay {
        Some(o) => stack![body, overlay::view(app, o)].into(),
        None => body,
    }
}

fn with_banner<'a>(app: &'a App, body: Element<'a, Message>) -> Element<'a, Message> {
    match &app.banner {
        Some(problem) => column![
            container(
                row![
                    text(problem.clone()).size(13).width(Length::Fill),
                    button(text("Dismiss").size(13))
                        .style(button::text)
                        .on_press(Message::DismissBanner),
                ]
                .align_y(Alignment::Center)
            )
            .padding([6, 12])
            .style(style::error_notice),
            body
        ]
        .into(),
        None => body,
    }
}
