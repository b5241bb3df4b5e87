//! The chat pane: header, bubbles with day separators and delivery ticks,
//! what the chat must say (queued, knocking, typing), and the composer.

use iced::keyboard::{Key, key::Named};
use iced::widget::{
    Column, Space, button, center, column, container, row, scrollable, text, text_editor,
    text_input, toggler,
};
use iced::{Alignment, Element, Length, Theme};
use sotto::model::now_ms;
use sotto::store::{Direction, MessageState, StoredMessage};

use super::sidebar::tip;
use super::style;
use super::time;
use crate::gui::app::{App, COMPOSER, MESSAGES, Message};
use crate::gui::chat::{Chat, SendButton};
use crate::gui::state::KnockStatus;

pub fn view(app: &App) -> Element<'_, Message> {
    let Some(chat) = &app.chat else {
        return center(
            column![
                text("No conversation open").size(20),
                text("Pick one on the left, or press Ctrl+K to switch and Ctrl+N to start one.")
                    .style(style::muted),
            ]
            .spacing(8)
            .align_x(Alignment::Center),
        )
        .into();
    };
    let main = column![
        header(app, chat),
        messages(chat),
        status_lines(app, chat),
        composer(app, chat),
    ]
    .spacing(6)
    .padding(12)
    .width(Length::Fill);
    if chat.details {
        row![main, details(app, chat)].into()
    } else {
        main.into()
    }
}

fn header<'a>(app: &'a App, chat: &'a Chat) -> Element<'a, Message> {
    let name = app.people.display_name(&chat.account, &chat.peer);
    let contact = app.people.contact(&chat.account, &chat.peer);
    let availability = contact.and_then(|c| c.availability());
    let mut sub = format!("{} · {}", chat.peer, style::presence_word(availability));
    if app.config.accounts.len() > 1 {
        sub.push_str(&format!(" · via {}", chat.account));
    }
    row![
        style::avatar(
            &name,
            chat.peer.as_str(),
            40.0,
            Some(availability.is_some())
        ),
        column![text(name).size(18), text(sub).size(13).style(style::muted)].width(Length::Fill),
        button(text(if chat.details {
            "Hide details"
        } else {
            "Details"
        }))
        .style(button::secondary)
        .on_press(Message::ToggleDetails),
    ]
    .spacing(10)
    .align_y(Alignment::Center)
    .into()
}

fn messages(chat: &Chat) -> Element<'_, Message> {
    let now = now_ms();
    let mut col = Column::new().spacing(4).padding([4, 12]);
    if chat.at_start {
        col = col.push(
            container(
                text("This is the beginning of the conversation.")
                    .size(12)
                    .style(style::muted),
            )
            .center_x(Length::Fill)
            .padding(8),
        );
    } else if chat.loading_older {
        col = col
            .push(container(text("Loading…").size(12).style(style::muted)).center_x(Length::Fill));
    }
    let mut last_day = None;
    for m in &chat.messages {
        let day = time::day(m.sent_at);
        if day != last_day
            && let Some(d) = day
        {
            col = col.push(
                container(
                    container(text(time::day_label(d, now)).size(12))
                        .padding([2, 10])
                        .style(container::rounded_box),
                )
                .center_x(Length::Fill)
                .padding([6, 0]),
            );
            last_day = day;
        }
        col = col.push(bubble(m, chat.highlight == Some(m.id)));
    }
    if chat.messages.is_empty() {
        col = col.push(
            container(text("No messages yet. Say hello!").style(style::muted))
                .center_x(Length::Fill)
                .padding(24),
        );
    }
    let list = scrollable(col)
        .id(MESSAGES)
        .anchor_bottom()
        .on_scroll(Message::Scrolled)
        .height(Length::Fill)
        .width(Length::Fill);
    if chat.at_bottom {
        list.into()
    } else {
        iced::widget::stack![
            list,
            container(
                button(text("↓ Newest"))
                    .on_press(Message::JumpToBottom)
                    .style(button::primary)
            )
            .align_right(Length::Fill)
            .align_bottom(Length::Fill)
            .padding(12)
        ]
        .into()
    }
}

/// A tick per delivery state, as in the usual messengers.
pub fn ticks(state: MessageState) -> &'static str {
    match state {
        MessageState::Queued => "◷",
        MessageState::Sent => "✓",
        MessageState::Acked => "✓",
        MessageState::Delivered => "✓✓",
        MessageState::Read => "✓✓",
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

fn bubble(m: &StoredMessage, highlight: bool) -> Element<'_, Message> {
    let outgoing = m.direction == Direction::Out;
    let mut meta = time::clock(m.sent_at);
    if m.edited_at.is_some() {
        meta.push_str(" · edited");
    }
    if outgoing {
        meta.push_str(&format!("  {}", ticks(m.state)));
    }
    let read = m.state == MessageState::Read;
    let meta = text(meta).size(11).style(move |theme: &Theme| {
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
    let mut body = column![text(m.body.clone()).size(15), meta].spacing(2);
    if m.state == MessageState::Failed {
        let reason = m
            .failure
            .clone()
            .unwrap_or_else(|| "the server refused it".into());
        body = body.push(
            row![
                text(format!("Not sent: {reason}")).size(12),
                button(text("Retry").size(12))
                    .padding([2, 8])
                    .style(button::danger)
                    .on_press(Message::Retry(m.id)),
            ]
            .spacing(8)
            .align_y(Alignment::Center),
        );
    }
    let bubble = container(body)
        .padding([8, 12])
        .max_width(520)
        .style(style::bubble(outgoing, highlight));
    let bubble = tip(bubble, state_words(m.state));
    let line = if outgoing {
        row![Space::new().width(Length::Fill), bubble]
    } else {
        row![bubble, Space::new().width(Length::Fill)]
    };
    line.into()
}

/// What the chat must say: queued messages, knocks, typing.
fn status_lines<'a>(app: &'a App, chat: &'a Chat) -> Element<'a, Message> {
    let name = app.people.display_name(&chat.account, &chat.peer);
    let key = (chat.account.clone(), chat.peer.clone());
    let contact = app.people.contacts.get(&key);
    let online = contact.is_some_and(|c| c.online());
    let account_online = app
        .people
        .accounts
        .get(&chat.account)
        .is_some_and(|a| a.online());
    let mut col = Column::new().spacing(4);
    if app.typing(&chat.account, &chat.peer) {
        col = col.push(
            text(format!("{name} is typing…"))
                .size(13)
                .style(style::muted),
        );
    }
    let queued = chat.queued();
    if queued > 0 {
        let what = if queued == 1 {
            "1 message is".to_owned()
        } else {
            format!("{queued} messages are")
        };
        let why = if !account_online {
            format!("{what} waiting: you are offline. They will be sent when Sotto reconnects.")
        } else if !online {
            format!(
                "{what} waiting: {name} is offline. They are kept and will be delivered when {name} comes online."
            )
        } else {
            format!("{what} on the way.")
        };
        col = col.push(
            container(text(why).size(13))
                .padding([4, 8])
                .style(style::notice),
        );
    }
    match app.people.knocks.get(&key) {
        Some(KnockStatus::Knocking) => {
            col = col.push(
                container(text("Knocking…").size(13))
                    .padding([4, 8])
                    .style(style::notice),
            );
        }
        Some(KnockStatus::Knocked { .. }) => {
            col = col.push(
                container(text(format!("Knocked: {name}'s phone was woken.")).size(13))
                    .padding([4, 8])
                    .style(style::notice),
            );
        }
        Some(KnockStatus::Failed(why)) => {
            col = col.push(
                container(text(format!("Knock failed: {why}")).size(13))
                    .padding([4, 8])
                    .style(style::error_notice),
            );
        }
        None => {}
    }
    if chat.editing.is_some() {
        col = col.push(
            text("Editing your last message · Enter saves · Esc cancels")
                .size(13)
                .style(style::muted),
        );
    }
    col.into()
}

fn composer<'a>(app: &'a App, chat: &'a Chat) -> Element<'a, Message> {
    let empty = chat.text().trim().is_empty();
    let editor = text_editor(&chat.composer)
        .id(COMPOSER)
        .placeholder(format!(
            "Message {}",
            app.people.display_name(&chat.account, &chat.peer)
        ))
        .on_action(Message::Composer)
        .height(Length::Shrink)
        .max_height(160)
        .padding(10)
        .key_binding(move |press| {
            let enter = matches!(press.key.as_ref(), Key::Named(Named::Enter));
            if enter
                && !press.modifiers.shift()
                && matches!(press.status, text_editor::Status::Focused { .. })
            {
                return Some(text_editor::Binding::Custom(Message::Send));
            }
            if empty
                && matches!(press.key.as_ref(), Key::Named(Named::ArrowUp))
                && matches!(press.status, text_editor::Status::Focused { .. })
            {
                return Some(text_editor::Binding::Custom(Message::EditLast));
            }
            text_editor::Binding::from_key_press(press)
        });
    let action: Element<'a, Message> = match app.send_button() {
        Some(SendButton::Send) => button(text(if chat.editing.is_some() {
            "Save"
        } else {
            "Send"
        }))
        .padding([10, 18])
        .on_press(Message::Send)
        .into(),
        Some(SendButton::Knock { wait: None }) => tip(
            button(text("Knock"))
                .padding([10, 18])
                .style(button::success)
                .on_press(Message::Knock),
            "Wake their phone through the push relay they shared",
        ),
        Some(SendButton::Knock { wait: Some(why) }) => tooltip_owned(
            button(text("Knock"))
                .padding([10, 18])
                .style(button::success),
            why,
        ),
        Some(SendButton::Disabled(why)) => {
            tooltip_owned(button(text("Send")).padding([10, 18]), why)
        }
        None => Space::new().into(),
    };
    row![editor, action]
        .spacing(8)
        .align_y(Alignment::End)
        .into()
}

fn tooltip_owned<'a>(
    content: impl Into<Element<'a, Message>>,
    label: String,
) -> Element<'a, Message> {
    iced::widget::tooltip(
        content,
        container(text(label).size(13))
            .padding(6)
            .max_width(320)
            .style(container::rounded_box),
        iced::widget::tooltip::Position::Top,
    )
    .into()
}

/// The contact's details: presence, push info for knocks.
fn details<'a>(app: &'a App, chat: &'a Chat) -> Element<'a, Message> {
    let name = app.people.display_name(&chat.account, &chat.peer);
    let contact = app.people.contact(&chat.account, &chat.peer);
    let mut col = column![
        style::avatar(&name, chat.peer.as_str(), 64.0, None),
        text(name.clone()).size(18),
        text(chat.peer.to_string()).size(13).style(style::muted),
    ]
    .spacing(8)
    .align_x(Alignment::Center);
    let mut info = Column::new().spacing(6);
    match contact.and_then(|c| c.contact.as_ref()) {
        Some(c) => {
            let sees = match c.subscription {
                sotto::model::Subscription::Both => "You see each other's presence.",
                sotto::model::Subscription::To => "You see their presence; they do not see yours.",
                sotto::model::Subscription::From => {
                    "They see your presence; you do not see theirs."
                }
                sotto::model::Subscription::None if c.pending_out => {
                    "You asked to see their presence; no answer yet."
                }
                sotto::model::Subscription::None => "Neither of you sees the other's presence.",
            };
            info = info.push(text(sees).size(13));
        }
        None => info = info.push(text("Not in your contacts.").size(13)),
    }
    if let Some(c) = contact {
        // Resource names are often random strings: count devices instead.
        let devices = c.resources.values().filter(|a| a.is_online()).count();
        let line = match devices {
            0 => "Offline on every device.".to_owned(),
            1 => format!(
                "{} on one device.",
                capitalized(style::presence_word(c.availability()))
            ),
            n => format!(
                "{} on {n} devices.",
                capitalized(style::presence_word(c.availability()))
            ),
        };
        info = info.push(text(line).size(13).style(style::muted));
    }
    info = info.push(text("Knocks").size(16));
    match contact.and_then(|c| c.push.as_ref()) {
        Some(p) => {
            info = info.push(text(format!("Relay: {}", p.host)).size(13));
            info = info.push(
                text(format!(
                    "{} token{}",
                    p.tokens,
                    if p.tokens == 1 { "" } else { "s" }
                ))
                .size(13),
            );
            if let Some(result) = &p.last_result {
                let when = p
                    .last_knock_at
                    .map(|t| format!(" ({})", time::short(t, now_ms())))
                    .unwrap_or_default();
                info = info.push(
                    text(format!("Last knock: {result}{when}"))
                        .size(13)
                        .style(style::muted),
                );
            }
            info = info.push(
                toggler(p.auto_knock)
                    .label("Knock by itself when I write while they are offline")
                    .text_size(13)
                    .on_toggle(Message::AutoKnock),
            );
            info = info.push(
                row![
                    button(text("Fetch again").size(13))
                        .style(button::secondary)
                        .on_press(Message::FetchPush),
                    button(text("Remove").size(13))
                        .style(button::danger)
                        .on_press(Message::RemovePush),
                ]
                .spacing(6),
            );
        }
        None => {
            info = info.push(
                text(format!(
                    "{name} has not shared push info, so their phone cannot be knocked."
                ))
                .size(13)
                .style(style::muted),
            );
            info = info.push(
                button(text("Look for it").size(13))
                    .style(button::secondary)
                    .on_press(Message::FetchPush),
            );
        }
    }
    info = info.push(text("Add push info by hand (testers)").size(13));
    info = info.push(
        text_input("xmpp: knock link, or ENDPOINT TOKEN", &chat.push_link)
            .on_input(Message::PushLink)
            .on_submit(Message::AddPush)
            .size(13)
            .padding(6),
    );
    if let Some(e) = &chat.push_error {
        info = info.push(text(e.clone()).size(12).style(style::danger));
    }
    col = col.push(info);
    container(scrollable(col.padding(12)))
        .width(Length::Fixed(300.0))
        .height(Length::Fill)
        .style(style::sidebar)
        .into()
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
