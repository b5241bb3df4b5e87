//! Small widgets and the look shared by every screen.

pub mod closing;
mod ellipsized;
pub mod omemo;
pub mod style;
pub mod time;

use iced::Element;
use iced::widget::{container, text, tooltip};

pub use ellipsized::ellipsized;

/// A tooltip below `content`.
pub fn tip<'a, Message: 'a>(
    content: impl Into<Element<'a, Message>>,
    label: impl text::IntoFragment<'a>,
) -> Element<'a, Message> {
    tip_at(content, label, tooltip::Position::Bottom)
}

pub fn tip_at<'a, Message: 'a>(
    content: impl Into<Element<'a, Message>>,
    label: impl text::IntoFragment<'a>,
    position: tooltip::Position,
) -> Element<'a, Message> {
    tooltip(
        content,
        container(text(label).size(13))
            .padding(6)
            .max_width(320)
            .style(container::rounded_box),
        position,
    )
    .into()
}

/// A notice in the flow of a screen (something waiting, a knock).
pub fn notice<'a, Message: 'a>(
    words: impl text::IntoFragment<'a>,
    style: fn(&iced::Theme) -> container::Style,
) -> Element<'a, Message> {
    container(text(words).size(13))
        .padding([4, 8])
        .style(style)
        .into()
}

/// A word with its first letter in capitals.
pub fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
