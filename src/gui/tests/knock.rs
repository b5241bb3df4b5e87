//! Knocking an offline contact's phone from the chat.

use sotto::engine::Command;

use super::relay::{Relay, TOKEN};
use super::{BOT, Scene, rt};
use crate::gui::chat::composer::COMPOSER;

#[test]
fn send_becomes_knock_for_an_offline_contact_and_the_chat_says_how_it_went() {
    let mut s = Scene::new();
    let relay = rt().block_on(Relay::start());
    s.open_bot_chat();
    // Online and nothing typed: nothing to send, nothing to knock.
    let online = format!("{} · online", s.bot.jid);
    s.window.until("the bot online", |w| w.shows(&online));
    assert!(s.window.shows("Send") && !s.window.shows("Knock"));

    // A tester adds the bot's push info by hand in the details.
    s.window.click("Details");
    s.window.enter_in(
        iced::widget::Id::new("push-link"),
        &format!("{} {TOKEN}", relay.endpoint),
    );
    s.window
        .until("the push info stored", |w| w.shows("1 token"));

    // The bot goes offline: the empty box's button is Knock.
    s.bot.send(Command::Stop(s.bot.jid.clone()));
    let offline = format!("{} · offline", s.bot.jid);
    s.window.until("the bot offline", |w| w.shows(&offline));
    s.window
        .until("Knock", |w| w.shows("Knock") && !w.shows("Send"));

    // Text in the box: Send again; emptied: Knock.
    s.window.type_in(COMPOSER.into(), "hi");
    assert!(s.window.shows("Send") && !s.window.shows("Knock"));
    s.window.interact(|ui| {
        use iced::keyboard::{Key, key::Named};
        ui.click(iced_test::selector::id(COMPOSER))
            .expect("composer");
        ui.tap_key(Key::Named(Named::Backspace));
        ui.tap_key(Key::Named(Named::Backspace));
    });
    s.window.until("Knock again", |w| w.shows("Knock"));

    s.window.click("Knock");
    s.window.until("the knock accepted", |w| {
        w.shows(&format!("Knocked: {BOT}'s phone was woken."))
    });
    assert_eq!(*relay.knocks.lock().expect("knocks"), [TOKEN]);
}
