//! Search results: who, when, and the words around the match with the
//! matched words marked.

use iced::widget::text::Span;
use iced::widget::{Column, button, column, rich_text, row, scrollable, span, text};
use iced::{Background, Color, Element, Font, Length, font};
use sotto::model::{BareJid, now_ms};
use sotto::store::SearchHit;

use super::Message;
use crate::gui::context::Context;
use crate::gui::widget::{ellipsized, style, time};

pub fn view<'a>(ctx: Context<'a>, query: &str, hits: &'a [SearchHit]) -> Element<'a, Message> {
    if query.trim().is_empty() {
        return text("Type a word; results come from every conversation.")
            .size(13)
            .style(style::muted)
            .into();
    }
    if hits.is_empty() {
        return text("No message matches.")
            .size(13)
            .style(style::muted)
            .into();
    }
    let col = hits
        .iter()
        .enumerate()
        .fold(Column::new().spacing(2), |col, (i, hit)| {
            let m = &hit.message;
            let (Ok(a), Ok(p)) = (m.account.parse::<BareJid>(), m.peer.parse::<BareJid>()) else {
                return col;
            };
            let mut who = ctx.name(&a, &p);
            if ctx.several_accounts() {
                who.push_str(&format!(" · via {a}"));
            }
            col.push(
                button(
                    column![
                        row![
                            ellipsized(who).size(13),
                            text(time::short(m.sent_at, now_ms()))
                                .size(12)
                                .style(style::muted)
                        ]
                        .spacing(8),
                        rich_text(spans(&hit.snippet, &hit.matches)).size(14),
                    ]
                    .spacing(2),
                )
                .style(button::text)
                .width(Length::Fill)
                .on_press(Message::PickHit(i)),
            )
        });
    scrollable(col).into()
}

/// The snippet cut at the matches (byte ranges), each piece marked or not.
pub fn pieces<'a>(snippet: &'a str, matches: &[std::ops::Range<usize>]) -> Vec<(&'a str, bool)> {
    let mut out = Vec::new();
    let mut at = 0;
    for r in matches {
        // A range off a character boundary or out of order is skipped
        // rather than trusted: only the marking would be wrong.
        let (Some(before), Some(matched)) = (snippet.get(at..r.start), snippet.get(r.clone()))
        else {
            continue;
        };
        if !before.is_empty() {
            out.push((before, false));
        }
        if !matched.is_empty() {
            out.push((matched, true));
        }
        at = r.end;
    }
    if let Some(rest) = snippet.get(at..).filter(|s| !s.is_empty()) {
        out.push((rest, false));
    }
    out
}

fn spans<'a>(snippet: &'a str, matches: &[std::ops::Range<usize>]) -> Vec<Span<'a, ()>> {
    pieces(snippet, matches)
        .into_iter()
        .map(|(piece, marked)| {
            if marked {
                span(piece)
                    .font(Font {
                        weight: font::Weight::Bold,
                        ..Font::DEFAULT
                    })
                    // Like a highlighter pen: readable on light and dark.
                    .background(Background::Color(Color::from_rgba8(0xff, 0xc8, 0x2e, 0.45)))
                    .padding([0, 1])
            } else {
                span(piece)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_are_cut_out_where_the_store_says() {
        let snippet = "…the pineapple recipe and pineapples…";
        let start = snippet.find("pineapple").expect("match");
        let second = snippet.rfind("pineapples").expect("match");
        let matches = [start..start + 9, second..second + 10];
        assert_eq!(
            pieces(snippet, &matches),
            [
                ("…the ", false),
                ("pineapple", true),
                (" recipe and ", false),
                ("pineapples", true),
                ("…", false),
            ]
        );
        // Nothing marked: the snippet as it is; a bad range is skipped.
        assert_eq!(pieces("plain", &[]), [("plain", false)]);
        assert_eq!(pieces("é", std::slice::from_ref(&(0..1))), [("é", false)]);
    }
}
