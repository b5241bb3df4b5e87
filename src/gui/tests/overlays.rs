//! The quick switcher, new chat, and Esc.

use iced::keyboard::{Key, Modifiers, key::Named};

use super::{BOT, Scene};
use crate::gui::overlay::{INPUT, Kind};

#[test]
fn the_quick_switcher_filters_and_opens_and_esc_closes_overlays() {
    let mut s = Scene::new();
    s.bot_says("hello there");
    s.window.until("the conversation", |w| w.shows(BOT));
    let w = &mut s.window;
    w.press(Key::Character("k".into()), Modifiers::CTRL);
    assert_eq!(
        w.dashboard().overlay_open().map(|o| o.kind()),
        Some(Kind::Switcher)
    );
    w.type_in(INPUT.into(), "nobody");
    assert!(w.shows("Nobody by that name."));
    w.press(Key::Named(Named::Escape), Modifiers::empty());
    assert!(w.dashboard().overlay_open().is_none(), "Esc closes");

    w.press(Key::Character("k".into()), Modifiers::CTRL);
    w.enter_in(INPUT.into(), "rob");
    w.until("the chat", |w| w.dashboard().open_chat().is_some());
    assert!(w.dashboard().overlay_open().is_none());
    w.until("its message", |w| w.shows("hello there"));
}

#[test]
fn a_new_chat_wants_a_whole_address() {
    let mut s = Scene::new();
    let w = &mut s.window;
    w.press(Key::Character("n".into()), Modifiers::CTRL);
    assert_eq!(
        w.dashboard().overlay_open().map(|o| o.kind()),
        Some(Kind::NewChat)
    );
    w.enter_in(INPUT.into(), "robin");
    assert!(w.shows("Type your contact's whole address, like bob@example.org."));
    // The contact is offered below, and picking it opens the chat.
    w.click(BOT);
    w.until("the empty chat", |w| w.shows("No messages yet. Say hello!"));
}
