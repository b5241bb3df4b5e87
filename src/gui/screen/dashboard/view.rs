//! What the running window shows: the sidebar and the page beside it,
//! the banner above, an overlay on top.

use iced::widget::{Space, button, column, container, row, stack, text};
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
        // The same layers whether an overlay is open or not: iced keeps a
        // widget's state (the chat's scroll position, the composer's
        // cursor) only while the tree above it keeps its shape.
        stack![body]
            .push(
                self.overlay
                    .as_ref()
                    .map(|o| o.view(ctx).map(Message::Overlay)),
            )
            .into()
    }

    /// The banner above `body`; `body` stays in the same place in the
    /// tree whether a banner is shown or not (see `view`).
    fn with_banner<'a>(&'a self, body: Element<'a, Message>) -> Element<'a, Message> {
        let banner: Element<'a, Message> = match &self.banner {
            Some(problem) => container(
                row![
                    text(problem.as_str()).size(13).width(Length::Fill),
                    button(text("Dismiss").size(13))
                        .style(button::text)
                        .on_press(Message::DismissBanner),
                ]
                .align_y(Alignment::Center),
            )
            .padding([6, 12])
            .style(style::error_notice)
            .into(),
            None => Space::new().into(),
        };
        column![banner, body].into()
    }
}
