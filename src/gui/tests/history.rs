//! Long chats: the window holds a bounded few messages around what is on
//! screen, pages in from the store as the person scrolls, and jumps to a
//! search result far back.

use iced::mouse;
use iced::{Event as IcedEvent, Point};

use super::window::Window;
use super::{BOT, Scene};
use crate::gui::chat::window::{HELD, MOST, PAGE};

/// Somewhere over the messages, clear of the sidebar and the composer.
const OVER_MESSAGES: Point = Point::new(700.0, 300.0);

fn held(w: &Window) -> usize {
    w.dashboard().open_chat().map_or(0, |c| c.held())
}

/// Turns the wheel over the messages by `pixels` (up when positive) and
/// waits for the pages it asks for.
fn wheel(w: &mut Window, pixels: f32) {
    w.interact(|ui| {
        ui.point_at(OVER_MESSAGES);
        ui.simulate([IcedEvent::Mouse(mouse::Event::WheelScrolled {
            delta: mouse::ScrollDelta::Pixels { x: 0.0, y: pixels },
        })]);
    });
    w.until("the page read", |w| {
        w.dashboard().open_chat().is_some_and(|c| !c.loading())
    });
}

/// The bot sends `count` messages and the window has them all.
fn flood(s: &mut Scene, prefix: &str, count: usize) {
    for i in 0..count {
        s.bot_says(&format!("{prefix} {i}"));
    }
    let last = format!("{prefix} {}", count - 1);
    let deadline = std::time::Instant::now() + super::window::PATIENCE;
    while !s.window.shows_part(&last) {
        assert!(std::time::Instant::now() < deadline, "{last} never came");
        s.window.step(std::time::Duration::from_millis(50));
        // The bot's own events (sent, delivered, read: several per
        // message) must be read or its engine pauses.
        while s.bot.events.try_recv().is_ok() {}
    }
}

#[test]
fn scrolling_through_a_long_chat_holds_a_bounded_window() {
    let mut s = Scene::new();
    flood(&mut s, "filler", 320);
    s.window.click(BOT);
    s.window
        .until("the newest", |w| w.shows_in_chat("filler 319"));
    assert_eq!(held(&s.window), PAGE, "one page to begin with");

    let mut pages = 0;
    while !s.window.shows("This is the beginning of the conversation.") {
        wheel(&mut s.window, 1.0e6);
        assert!(held(&s.window) <= MOST, "held {}", held(&s.window));
        pages += 1;
        assert!(pages < 20, "never reached the first message");
    }
    // The beginning's header can come a frame before the oldest page is
    // laid out (seen once under a loaded CI).
    s.window
        .until("the first message", |w| w.shows_in_chat("filler 0"));
    // The next reports of the view drop what is far below it (here, each
    // look starts a new view: the first report restores the position kept
    // after the previous drop).
    wheel(&mut s.window, 1.0e6);
    wheel(&mut s.window, 1.0e6);
    assert!(held(&s.window) <= HELD, "held {}", held(&s.window));
    assert!(!s.window.shows_in_chat("filler 319"));

    // The newest again, in one click.
    s.window.click("↓ Newest");
    s.window
        .until("the newest again", |w| w.shows_in_chat("filler 319"));
    assert_eq!(held(&s.window), PAGE);

    // Following the end, what comes is shown and the oldest let go.
    flood(&mut s, "more", 200);
    s.window
        .until("the newest arrival", |w| w.shows_in_chat("more 199"));
    assert!(held(&s.window) <= MOST, "held {}", held(&s.window));
}

#[test]
fn a_search_result_far_back_opens_the_chat_around_it() {
    let mut s = Scene::new();
    s.bot_says("the pineapple recipe, as promised");
    flood(&mut s, "filler", 200);
    s.window.press(
        iced::keyboard::Key::Character("f".into()),
        iced::keyboard::Modifiers::CTRL,
    );
    s.window.until("the search", |w| w.shows("Search messages"));
    s.window
        .type_in(crate::gui::overlay::INPUT.into(), "pineapp");
    s.window.until("a result", |w| {
        w.dashboard()
            .overlay_open()
            .is_some_and(|o| o.hits().len() == 1)
    });
    // Who wrote it, by the name they have in the contacts; the match
    // markers are not shown as characters.
    assert!(s.window.shows(BOT), "the contact's name");
    assert!(
        !s.window.shows_part(s.bot.jid.as_str()),
        "not their address"
    );
    assert!(!s.window.shows_part("«") && !s.window.shows_part("\u{e000}"));
    s.window.enter_in(crate::gui::overlay::INPUT.into(), "");
    s.window.until("the message in the chat", |w| {
        w.shows("the pineapple recipe, as promised")
    });
    assert!(held(&s.window) <= 2 * PAGE + 1);
    assert!(s.window.shows("↓ Newest"), "not at the end of the chat");
    assert!(!s.window.shows_in_chat("filler 100"));
}
