//! What the running window shows: the sidebar and the page beside it,
//! the banner above, an overlay on top.

use iced::widget::{button, column, container, row, stack, text};
use iced::{Alignment, Element, Length};

use super::{Dashboard, Message};
use crate::gui::chat;
use crate::gui::screen::settings::About;
use crate::gui::sidebar::Page;
use crate::gui::widget::style;

impl Dashboard {
    pub fn view(&self) -> Element<'_, Message> {
        let ctx = self.ctx();
        if self.adding || self.config.accounts.is_empty() {
            let first = self.config.accounts.is_empty();
            return self.with_banner(self.sign_in.view(first).map(Message::SignIn));
        }
        let main: Element<'_, Message> = match self.page {
            Page::Chats => match &self.chat {
                Some(c) => c.view(ctx).map(Message::Chat),
                None => chat::empty(),
            },
            Page::Contacts => self.contacts.view(ctx).map(Message::Contacts),
            Page::Settings => self
                .settings
                .view(
                    ctx,
                    About {
                        paths: &self.paths,
                        sandbox: self.sandbox.as_ref(),
                        key: self.key,
                    },
                )
                .map(Message::Settings),
        };
        let open = self.chat.as_ref().map(chat::Chat::key);
        let sidebar = self
            .sidebar
            .view(ctx, self.page, open)
            .map(Message::Sidebar);
        let body = self.with_banner(row![sidebar, main].height(Length::Fill).into());
        match &self.overlay {
            Some(o) => stack![body, o.view(ctx).map(Message::Overlay)].into(),
            None => body,
        }
    }

    fn with_banner<'a>(&'a self, body: Element<'a, Message>) -> Element<'a, Message> {
        let Some(problem) = &self.banner else {
            return body;
        };
        column![
            container(
                row![
                    text(problem.as_str()).size(13).width(Length::Fill),
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
        .into()
    }
}
