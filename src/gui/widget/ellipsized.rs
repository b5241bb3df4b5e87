//! One line of text that ends in "…" when it does not fit its width.
//! iced's text can only wrap or overflow; a preview overflowing under the
//! unread badge, or a name cut mid-letter by a clip, reads badly.

use std::borrow::Cow;

use iced::advanced::layout::{self, Layout};
use iced::advanced::text::{self as core_text, Paragraph as _, paragraph};
use iced::advanced::widget::{self, Tree, tree};
use iced::advanced::{Widget, renderer};
use iced::widget::text::{self, LineHeight, Shaping, Wrapping};
use iced::{Element, Length, Pixels, Rectangle, Size, Theme, mouse};

type Paragraph = <iced::Renderer as core_text::Renderer>::Paragraph;

pub struct Ellipsized<'a> {
    content: Cow<'a, str>,
    size: Pixels,
    style: Box<dyn Fn(&Theme) -> text::Style + 'a>,
}

/// `content` on one line, cut with "…" to the width it is given.
pub fn ellipsized<'a>(content: impl Into<Cow<'a, str>>) -> Ellipsized<'a> {
    Ellipsized {
        content: content.into(),
        size: Pixels(14.0),
        style: Box::new(text::default),
    }
}

impl<'a> Ellipsized<'a> {
    pub fn size(mut self, size: impl Into<Pixels>) -> Self {
        self.size = size.into();
        self
    }

    pub fn style(mut self, style: impl Fn(&Theme) -> text::Style + 'a) -> Self {
        self.style = Box::new(style);
        self
    }
}

/// What was measured, so a frame that changes nothing measures nothing.
#[derive(Default)]
struct State {
    measured: Option<(String, u32, u32)>,
    shown: String,
    paragraph: paragraph::Plain<Paragraph>,
}

fn line(content: &str, size: Pixels, font: iced::Font) -> core_text::Text<&str, iced::Font> {
    core_text::Text {
        content,
        bounds: Size::INFINITE,
        size,
        line_height: LineHeight::default(),
        font,
        align_x: core_text::Alignment::Default,
        align_y: iced::alignment::Vertical::Top,
        shaping: Shaping::Advanced,
        wrapping: Wrapping::None,
    }
}

/// The longest start of `content` that fits `max` with "…" after it.
/// Shaped once whole, cut where the shaped line crosses the width left
/// for the ellipsis, then stepped back while it still does not fit.
fn fit(content: &str, max: f32, size: Pixels, font: iced::Font) -> String {
    let width = |s: &str| Paragraph::with_text(line(s, size, font)).min_width();
    let whole = Paragraph::with_text(line(content, size, font));
    if whole.min_width() <= max {
        return content.to_owned();
    }
    // "answer.…" reads badly: the cut drops what ends a word too.
    let candidate = |end: usize| {
        let start = content[..end].trim_end_matches(|c: char| {
            c.is_whitespace() || matches!(c, '.' | ',' | ';' | ':' | '-' | '–' | '—')
        });
        format!("{start}…")
    };
    let room = (max - width("…")).max(0.0);
    let mut end = whole
        .hit_test(iced::Point::new(room, whole.min_bounds().height / 2.0))
        .map_or(0, |hit| hit.cursor())
        .min(content.len());
    while !content.is_char_boundary(end) {
        end -= 1;
    }
    loop {
        let cut = candidate(end);
        if end == 0 || width(&cut) <= max {
            return cut;
        }
        end = content[..end].char_indices().last().map_or(0, |(i, _)| i);
    }
}

impl<Message> Widget<Message, Theme, iced::Renderer> for Ellipsized<'_> {
    fn tag(&self) -> tree::Tag {
        tree::Tag::of::<State>()
    }

    fn state(&self) -> tree::State {
        tree::State::new(State::default())
    }

    fn size(&self) -> Size<Length> {
        Size::new(Length::Fill, Length::Shrink)
    }

    fn layout(
        &mut self,
        tree: &mut Tree,
        renderer: &iced::Renderer,
        limits: &layout::Limits,
    ) -> layout::Node {
        let state = tree.state.downcast_mut::<State>();
        let max = limits.max().width;
        let font = core_text::Renderer::default_font(renderer);
        let fresh = state
            .measured
            .as_ref()
            .is_none_or(|(content, width, size)| {
                content != self.content.as_ref()
                    || *width != max.to_bits()
                    || *size != self.size.0.to_bits()
            });
        if fresh {
            state.shown = fit(&self.content, max, self.size, font);
            state.measured = Some((
                self.content.clone().into_owned(),
                max.to_bits(),
                self.size.0.to_bits(),
            ));
        }
        let State {
            shown, paragraph, ..
        } = state;
        let _ = paragraph.update(core_text::Text {
            bounds: limits.max(),
            ..line(shown, self.size, font)
        });
        let height = paragraph.min_bounds().height;
        layout::Node::new(limits.resolve(Length::Fill, Length::Shrink, Size::new(max, height)))
    }

    fn draw(
        &self,
        tree: &Tree,
        renderer: &mut iced::Renderer,
        theme: &Theme,
        defaults: &renderer::Style,
        layout: Layout<'_>,
        _cursor: mouse::Cursor,
        viewport: &Rectangle,
    ) {
        let state = tree.state.downcast_ref::<State>();
        iced::advanced::widget::text::draw(
            renderer,
            defaults,
            layout.bounds(),
            state.paragraph.raw(),
            (self.style)(theme),
            viewport,
        );
    }

    fn operate(
        &mut self,
        tree: &mut Tree,
        layout: Layout<'_>,
        _renderer: &iced::Renderer,
        operation: &mut dyn widget::Operation,
    ) {
        // What is on screen, so a test finds what a person reads.
        let state = tree.state.downcast_ref::<State>();
        operation.text(None, layout.bounds(), &state.shown);
    }
}

impl<'a, Message: 'a> From<Ellipsized<'a>> for Element<'a, Message> {
    fn from(e: Ellipsized<'a>) -> Self {
        Element::new(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn width(s: &str) -> f32 {
        Paragraph::with_text(line(s, Pixels(13.0), iced::Font::DEFAULT)).min_width()
    }

    #[test]
    fn a_long_line_is_cut_to_fit_with_an_ellipsis_and_a_short_one_is_kept() {
        let long = "A preview long enough that it cannot possibly fit in a narrow column";
        let cut = fit(long, 150.0, Pixels(13.0), iced::Font::DEFAULT);
        assert!(cut.ends_with('…'), "{cut}");
        assert!(width(&cut) <= 150.0, "{cut} is {} wide", width(&cut));
        // As long as fits: one more character would not.
        let longer = &long[..cut.trim_end_matches('…').len() + 1];
        assert!(width(&format!("{longer}…")) > 150.0 || longer.ends_with(' '));
        assert_eq!(
            fit("short", 150.0, Pixels(13.0), iced::Font::DEFAULT),
            "short"
        );
        // Wide characters are measured, not counted.
        let wide = fit(
            "漢字漢字漢字漢字漢字漢字漢字漢字",
            60.0,
            Pixels(13.0),
            iced::Font::DEFAULT,
        );
        assert!(width(&wide) <= 60.0, "{wide}");
    }
}
