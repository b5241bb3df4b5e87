//! The messages as bubbles, with day separators and delivery ticks. Only
//! what the window holds is laid out.

use iced::widget::{Column, Space, button, column, container, row, scrollable, stack, text};
use iced::{Alignment, Element, Length, Theme};
use sotto::model::now_ms;
use sotto::store::{Direction, MessageState, StoredMessage};

use super::window::{Want, Window};
use crate::gui::widget::{style, time, tip};

pub const MESSAGES: &str = "messages";

/// A tick per delivery state, as in the usual messengers.
pub fn ticks(state: MessageState) -> &'static str {
    match state {
        MessageState::Queued => "◷",
        MessageState::Sent | MessageState::Acked => "✓",
        MessageState::Delivered | MessageState::Read => "✓✓",
        MessageState::Failed => "!",
        MessageState::Received => "",
    }
}

pub fn state_words(state: MessageState) -> &'static str {
    match state {
        MessageState::Queued => "Waiting to be sent",
        MessageState::Sent => "Sent",
        MessageState::Acked => "On the server",
        MessageState::Delivered => "Delivered",
        MessageState::Read => "Read",
        MessageState::Failed => "Not sent",
        MessageState::Received => "",
    }
}

pub struct Timeline<'a, Message> {
    pub window: &'a Window,
    pub highlight: Option<i64>,
    /// Messages that came while the person read further up.
    pub unseen: usize,
    pub following: bool,
    /// Tags the list's reports, so a change is known to be laid out.
    pub revision: u64,
    pub on_scroll: fn(u64, scrollable::Viewport) -> Message,
    pub on_retry: fn(i64) -> Message,
    pub on_newest: Message,
    /// The chat is end-to-end encrypted: a message that was not is marked.
    pub encrypted_chat: bool,
    /// A group chat: our nickname there. Others' messages are signed with
    /// their nicknames, and those that name us stand out.
    pub room: Option<&'a str>,
}

/// Messages of one author this close together read as one run, signed
/// once.
const RUN_GAP_MS: i64 = 5 * 60 * 1000;

/// The author's nickname in a room: the part of the sender after the
/// room's address.
pub fn nick_of(m: &StoredMessage) -> &str {
    m.sender
        .strip_prefix(m.peer.as_str())
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or("")
}

impl<'a, Message: Clone + 'a> Timeline<'a, Message> {
    pub fn view(self) -> Element<'a, Message> {
        let now = now_ms();
        let window = self.window;
        let (revision, on_scroll) = (self.revision, self.on_scroll);
        let mut col = Column::new().spacing(4).padding([4, 12]);
        // Always there and always as tall, whatever it says: the list's
        // height changes only with what it holds (see chat/scroll.rs), and
        // the bubbles keep their places in the tree.
        col = col.push(edge_line(if window.at_start {
            Some("This is the beginning of the conversation.")
        } else if matches!(window.loading(), Some(Want::Older(_))) {
            Some("Loading…")
        } else {
            None
        }));
        // The newest of ours says in words how far it got.
        let last_own = window
            .at_end
            .then(|| window.iter().rev().find(|m| m.direction == Direction::Out))
            .flatten()
            .map(|m| m.id);
        let mut last_day = None;
        let mut previous: Option<&StoredMessage> = None;
        for m in window.iter() {
            let day = time::day(m.sent_at);
            if day != last_day
                && let Some(d) = day
            {
                col = col.push(
                    container(
                        container(text(time::day_label(d, now)).size(12).line_height(px(16.0)))
                            .padding([2, 10])
                            .style(container::rounded_box),
                    )
                    .center_x(Length::Fill)
                    .padding([6, 0]),
                );
                last_day = day;
            }
            let signed = self.room.is_some()
                && m.direction == Direction::In
                && previous.is_none_or(|p| {
                    p.direction != Direction::In
                        || p.sender != m.sender
                        || m.sent_at - p.sent_at > RUN_GAP_MS
                        || time::day(p.sent_at) != day
                });
            previous = Some(m);
            if signed {
                let nick = nick_of(m);
                col = col.push(
                    container(
                        text(if nick.is_empty() { "The room" } else { nick })
                            .size(12)
                            .line_height(px(16.0))
                            .style(move |theme: &Theme| text::Style {
                                color: Some(style::nick_color(
                                    nick,
                                    theme.extended_palette().is_dark,
                                )),
                            }),
                    )
                    .padding(iced::Padding {
                        top: 4.0,
                        left: 12.0,
                        ..iced::Padding::ZERO
                    }),
                );
            }
            let mentioned = self.room.is_some_and(|nick| {
                m.direction == Direction::In && crate::gui::rooms::mentions(&m.body, nick)
            });
            col = col.push(bubble(
                m,
                self.highlight == Some(m.id) || mentioned,
                self.encrypted_chat,
                self.on_retry,
            ));
            if last_own == Some(m.id) && m.state != MessageState::Failed {
                col = col.push(
                    container(
                        text(state_words(m.state))
                            .size(11)
                            .line_height(px(14.0))
                            .style(style::muted),
                    )
                    .align_right(Length::Fill)
                    .padding([0, 4]),
                );
            }
        }
        if window.is_empty() && window.loading().is_none() {
            col = col.push(
                container(text("No messages yet. Say hello!").style(style::muted))
                    .center_x(Length::Fill)
                    .padding(24),
            );
        } else if !window.at_end {
            // Newer messages are still to be read.
            col = col.push(edge_line(
                matches!(window.loading(), Some(Want::Newer(_))).then_some("Loading…"),
            ));
        }
        let list = scrollable(col)
            .id(MESSAGES)
            .anchor_bottom()
            .on_scroll(move |v| on_scroll(revision, v))
            .height(Length::Fill)
            .width(Length::Fill);
        // The list is the stack's first layer whether the button is shown
        // or not: a change of the tree's shape above the scrollable would
        // give it a fresh state, scrolled to the newest, under the
        // person's wheel.
        let newest = (!self.following).then(|| {
            let label = match self.unseen {
                0 => "↓ Newest".to_owned(),
                n => format!("↓ {n} new"),
            };
            container(
                button(text(label))
                    .on_press(self.on_newest)
                    .style(button::primary),
            )
            .align_right(Length::Fill)
            .align_bottom(Length::Fill)
            .padding(12)
        });
        stack![list].push(newest).into()
    }
}

/// Whole-pixel line heights: with heights in whole pixels the bubbles
/// land on the same sub-pixel rows as the list moves, so the renderer
/// reuses the glyphs it drew instead of rasterizing them again.
fn px(height: f32) -> iced::widget::text::LineHeight {
    iced::widget::text::LineHeight::Absolute(iced::Pixels(height))
}

/// The line at either end of the list: where the conversation begins,
/// or that more is being read; as tall when empty.
fn edge_line<'a, Message: 'a>(words: Option<&'a str>) -> Element<'a, Message> {
    container(words.map(|w| text(w).size(12).line_height(px(16.0)).style(style::muted)))
        .center_x(Length::Fill)
        .center_y(Length::Fixed(32.0))
        .into()
}

fn bubble<'a, Message: Clone + 'a>(
    m: &'a StoredMessage,
    highlight: bool,
    encrypted_chat: bool,
    on_retry: fn(i64) -> Message,
) -> Element<'a, Message> {
    let outgoing = m.direction == Direction::Out;
    let mut meta = time::clock(m.sent_at);
    if m.edited_at.is_some() {
        meta.push_str(" · edited");
    }
    if m.encrypted {
        meta.push_str(" · encrypted");
    }
    // Sotto's own notices (a message that could not be decrypted) say so
    // in their text.
    let exposed = encrypted_chat && !m.encrypted && !m.omemo_notice;
    if outgoing {
        meta.push_str("  ");
        meta.push_str(ticks(m.state));
    }
    let read = m.state == MessageState::Read;
    let meta = text(meta)
        .size(11)
        .line_height(px(14.0))
        .style(move |theme: &Theme| {
            let p = theme.extended_palette();
            text::Style {
                color: Some(if read {
                    // Bright on the accent colour: read at a glance.
                    iced::Color::from_rgb8(0xb8, 0xff, 0xd9)
                } else if outgoing {
                    p.primary.base.text.scale_alpha(0.75)
                } else {
                    p.background.strong.text.scale_alpha(0.6)
                }),
            }
        });
    let mut body = column![text(m.body.as_str()).size(15).line_height(px(20.0)), meta].spacing(2);
    if exposed {
        body = body.push(
            text(if outgoing {
                "Not encrypted: the server could read this"
            } else {
                "Not encrypted: sent in clear, the server could read it"
            })
            .size(11)
            .line_height(px(14.0))
            .style(style::warning),
        );
    }
    if m.state == MessageState::Failed {
        let reason = m.failure.as_deref().unwrap_or("the server refused it");
        body = body.push(
            row![
                text(format!("Not sent: {reason}")).size(12),
                button(text("Retry").size(12))
                    .padding([2, 8])
                    .style(button::danger)
                    .on_press(on_retry(m.id)),
            ]
            .spacing(8)
            .align_y(Alignment::Center),
        );
    }
    let bubble = container(body)
        .padding([8, 12])
        .max_width(520)
        .style(style::bubble(outgoing, highlight));
    if outgoing {
        row![
            Space::new().width(Length::Fill),
            tip(bubble, state_words(m.state))
        ]
        .into()
    } else {
        row![bubble, Space::new().width(Length::Fill)].into()
    }
}
