//! Messages over XMPP, as the window shows them.

use iced::keyboard::{self, Key, key::Named};
use iced::{Event as IcedEvent, keyboard::Modifiers};
use iced_test::selector;
use sotto::engine::{Command, Event};
use sotto::model::{ChatState, OutgoingState};
use sotto::store::Direction;

use super::{BOT, Scene};
use crate::gui::chat::composer::COMPOSER;
use crate::gui::screen::settings::HIDE_CONTENT;

#[test]
fn a_message_arrives_with_an_unread_badge_beside_its_preview_and_is_read_when_opened() {
    let mut s = Scene::new();
    let id = s.bot_says("hello window, this preview is long enough to be cut short at the badge");
    s.window
        .until("the conversation in the list", |w| w.shows(BOT));
    s.window.until("the unread badge", |w| w.shows("1"));
    assert_eq!(s.window.app().title(), "Sotto (1)");
    // The preview ends in "…" before the badge instead of running under it.
    let preview = s
        .window
        .bounds_of_part("hello window")
        .expect("the preview is shown");
    let badge = s.window.bounds_of("1");
    assert!(
        preview.x + preview.width <= badge.x,
        "preview {preview:?} overlaps the badge {badge:?}"
    );
    assert!(
        s.window.shows_part("…"),
        "the preview is cut with an ellipsis"
    );

    s.window.click(BOT);
    s.window.until("the message in the chat", |w| {
        w.shows("hello window, this preview is long enough to be cut short at the badge")
    });
    // Opening it read it: the bot learns so over XMPP, the badge goes.
    s.bot_sees("the read marker", |e| match e {
        Event::MessageState {
            id: got,
            state: OutgoingState::Read,
            ..
        } if *got == id => Some(()),
        _ => None,
    });
    s.window.until("no badge", |w| !w.shows("1"));
    assert_eq!(s.window.app().title(), format!("{BOT} — Sotto"));

    // While the chat is open and in front, what comes is shown and read.
    let next = s.bot_says("and another one");
    s.window
        .until("the next message", |w| w.shows("and another one"));
    s.bot_sees("the second read marker", |e| match e {
        Event::MessageState {
            id: got,
            state: OutgoingState::Read,
            ..
        } if *got == next => Some(()),
        _ => None,
    });
    assert!(
        !s.window.shows("1"),
        "no badge for what was read as it came"
    );
    // Only the first was notified: the chat was not open yet.
    let notices = s.window.notices.lock().expect("notices").clone();
    assert_eq!(notices.len(), 1, "{notices:?}");
}

#[test]
fn a_sent_message_shows_delivered_then_read() {
    let mut s = Scene::new();
    s.open_bot_chat();
    s.window
        .enter_in(COMPOSER.into(), "Hello from the composer");
    s.window
        .until("the bubble", |w| w.shows("Hello from the composer"));
    let got = s.bot_sees("the message at the bot", |e| match e {
        Event::Message { message, .. } if message.direction == Direction::In => {
            Some(message.clone())
        }
        _ => None,
    });
    assert_eq!(got.body, "Hello from the composer");
    // The bot's engine sends a receipt on its own.
    s.window.until("Delivered", |w| w.shows("Delivered"));
    s.bot.send(Command::MarkRead {
        account: s.bot.jid.clone(),
        peer: s.me.clone(),
    });
    s.window.until("Read", |w| w.shows("Read"));
    assert!(
        s.window.shows_part("You: Hello from the"),
        "the list: {:?}",
        s.window.texts()
    );
    assert_eq!(
        s.window
            .dashboard()
            .open_chat()
            .map(|c| c.composer_text().trim().to_owned())
            .as_deref(),
        Some(""),
        "the composer is empty again"
    );
}

#[test]
fn the_typing_indicator_follows_the_contact() {
    let mut s = Scene::new();
    s.open_bot_chat();
    let typing = format!("{BOT} is typing…");
    s.bot.send(Command::SetChatState {
        account: s.bot.jid.clone(),
        to: s.me.clone(),
        state: ChatState::Composing,
    });
    s.window.until("the indicator", |w| w.shows(&typing));
    s.bot_says("done typing");
    s.window.until("the message", |w| w.shows("done typing"));
    assert!(!s.window.shows(&typing), "a message ends the typing");
    s.bot.send(Command::SetChatState {
        account: s.bot.jid.clone(),
        to: s.me.clone(),
        state: ChatState::Composing,
    });
    s.window.until("typing again", |w| w.shows(&typing));
    s.bot.send(Command::SetChatState {
        account: s.bot.jid.clone(),
        to: s.me.clone(),
        state: ChatState::Paused,
    });
    s.window.until("paused", |w| !w.shows(&typing));
}

#[test]
fn enter_sends_and_shift_enter_starts_a_new_line() {
    let mut s = Scene::new();
    s.open_bot_chat();
    s.window.interact(|ui| {
        ui.click(selector::id(COMPOSER)).expect("composer");
        ui.typewrite("one");
        ui.simulate([IcedEvent::Keyboard(keyboard::Event::KeyPressed {
            key: Key::Named(Named::Enter),
            modified_key: Key::Named(Named::Enter),
            physical_key: keyboard::key::Physical::Unidentified(
                keyboard::key::NativeCode::Unidentified,
            ),
            location: keyboard::Location::Standard,
            modifiers: Modifiers::SHIFT,
            repeat: false,
            text: None,
        })]);
        ui.typewrite("two");
    });
    let text = |s: &Scene| {
        s.window
            .dashboard()
            .open_chat()
            .map(|c| c.composer_text().trim_end().to_owned())
    };
    assert_eq!(text(&s).as_deref(), Some("one\ntwo"), "Shift+Enter");
    s.window.interact(|ui| {
        ui.click(selector::id(COMPOSER)).expect("composer");
        ui.tap_key(Key::Named(Named::Enter));
    });
    let got = s.bot_sees("the two lines", |e| match e {
        Event::Message { message, .. } if message.direction == Direction::In => {
            Some(message.body.clone())
        }
        _ => None,
    });
    assert_eq!(got, "one\ntwo");
    // Enter in an empty box does nothing (it never knocks).
    s.window.interact(|ui| {
        ui.click(selector::id(COMPOSER)).expect("composer");
        ui.tap_key(Key::Named(Named::Enter));
    });
    assert_eq!(text(&s).as_deref(), Some(""));
}

#[test]
fn a_message_while_the_window_is_in_the_background_is_notified() {
    let mut s = Scene::new();
    s.open_bot_chat();
    s.window.focus(false);
    s.bot_says("are you there?");
    s.window.until("the message", |w| w.shows("are you there?"));
    s.window.until("the notice", |w| {
        !w.notices.lock().expect("notices").is_empty()
    });
    let notices = s.window.notices.lock().expect("notices").clone();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].summary, BOT);
    assert_eq!(notices[0].body, "are you there?");
    // Nothing is marked read while nobody looks.
    assert_eq!(s.window.app().title(), "Sotto (1)");
    s.window.focus(true);
    s.window
        .until("read once in front", |w| w.app().title() != "Sotto (1)");

    // Hiding the content: who wrote, not what.
    s.window.click("⚙");
    s.window.until("the settings", |w| w.shows("Notifications"));
    s.window.interact(|ui| {
        ui.click(selector::id(HIDE_CONTENT)).expect("the toggle");
    });
    s.window.focus(false);
    s.bot_says("a secret");
    s.window.until("the second notice", |w| {
        w.notices.lock().expect("notices").len() == 2
    });
    let notices = s.window.notices.lock().expect("notices").clone();
    assert_eq!(notices[1].summary, BOT);
    assert_eq!(notices[1].body, "New message");
}

#[test]
fn a_flood_is_one_notification_which_opens_the_chat_and_goes_when_read() {
    let mut s = Scene::new();
    s.window.focus(false);
    let key = (s.me.clone(), s.bot.jid.clone());
    for i in 0..60 {
        s.bot_says(&format!("flood {i} <b>not bold</b>"));
    }
    s.window.until("all 60 counted", |w| {
        w.notices
            .lock()
            .expect("notices")
            .last()
            .is_some_and(|n| n.count == 60)
    });
    let notices = s.window.notices.lock().expect("notices").clone();
    // The first at once, then updates of the same one at a measured pace
    // (the whole flood arrives within a few throttle periods).
    assert!(
        notices.len() <= 6,
        "{} notifications: {notices:?}",
        notices.len()
    );
    assert!(notices.iter().all(|n| n.key == key));
    let last = notices.last().expect("one");
    assert_eq!(last.summary, format!("{BOT} (60 new messages)"));
    // Plain text here: the desktop escapes it for servers that read markup.
    assert_eq!(last.body, "flood 59 <b>not bold</b>");

    // A click opens the conversation and brings the window forward; with
    // the window in front it is read, and the notification goes.
    s.window.click_notification(key.clone());
    s.window.until("the chat open", |w| {
        w.dashboard().open_chat().is_some() && w.shows("flood 59 <b>not bold</b>")
    });
    s.window.focus(true);
    s.window.until("the notification withdrawn", |w| {
        w.withdrawn().contains(&key)
    });
}

#[test]
fn the_header_says_whether_the_chat_is_encrypted_and_turns_it_off_and_on() {
    let mut s = Scene::new();
    s.bot_says("an encrypted hello");
    s.open_bot_chat();
    s.window.until("the message, marked encrypted", |w| {
        w.shows("an encrypted hello") && w.shows_part(" · encrypted")
    });
    s.window.until("the lock", |w| w.shows("Encrypted"));

    // Off: the next message goes in clear, and the header says so.
    s.window.click("Encrypted");
    s.window
        .until("encryption off", |w| w.shows("Not encrypted"));
    s.window.enter_in(COMPOSER.into(), "this one in clear");
    let got = s.bot_sees("the message in clear", |e| match e {
        Event::Message { message, .. } if message.body == "this one in clear" => {
            Some(message.clone())
        }
        _ => None,
    });
    assert!(!got.encrypted, "sent in clear while turned off");

    // On again: the message that went in clear is marked.
    s.window.click("Not encrypted");
    s.window.until("encryption on", |w| w.shows("Encrypted"));
    s.window.until("the clear message marked", |w| {
        w.shows("Not encrypted: the server could read this")
    });
    s.window.enter_in(COMPOSER.into(), "and this one encrypted");
    let got = s.bot_sees("the encrypted message", |e| match e {
        Event::Message { message, .. } if message.body == "and this one encrypted" => {
            Some(message.clone())
        }
        _ => None,
    });
    assert!(got.encrypted, "encrypted once turned on");
}

#[test]
fn the_details_show_the_contacts_fingerprints_to_verify() {
    let mut s = Scene::new();
    s.bot_says("compare with me");
    s.open_bot_chat();
    s.window
        .until("the message", |w| w.shows("compare with me"));
    let bot_device = s.bot.omemo_device();
    let fingerprint = s
        .bot
        .store
        .omemo_own_device(s.bot.jid.as_str())
        .expect("store")
        .expect("the bot's device")
        .identity
        .public_key(sotto::omemo::Profile::Omemo2)
        .fingerprint();
    s.window.click("Details");
    s.window.until("the bot's OMEMO 2 fingerprint", |w| {
        w.shows(&fingerprint) && w.shows_part(&format!("OMEMO 2 device {}", bot_device.get()))
    });
    assert!(
        s.window.shows_part("Your device "),
        "{:?}",
        s.window.texts()
    );

    // The device id in every namespace we know its key in.
    s.window.click("Mark verified");
    s.window.until("verified", |w| {
        w.shows("Verified") && w.shows("Untrust") && !w.shows("Mark verified")
    });
}

#[test]
fn a_new_device_of_a_verified_contact_waits_for_the_persons_decision() {
    let mut s = Scene::new();
    s.bot_says("from my first device");
    s.open_bot_chat();
    s.window
        .until("the message", |w| w.shows("from my first device"));
    s.window.click("Details");
    s.window
        .until("the bot's key", |w| w.shows("Mark verified"));
    s.window.click("Mark verified");
    s.window.until("verified", |w| w.shows("Untrust"));

    // The bot signs in on a second device, unknown to the window.
    let (account, password) = s.bot_login.clone();
    let mut second = {
        let _inside = super::rt().enter();
        super::client::TestClient::start(account, &password, sotto::xmpp::RetryPolicy::Never)
    };
    s.window
        .alongside("the second device online", second.online());
    let (store, bot) = (second.store.clone(), second.jid.to_string());
    s.window.until("the second device made", |_| {
        store.omemo_own_device(&bot).is_ok_and(|d| d.is_some())
    });
    let new = second.omemo_device().get().to_string();
    // The window meets it when it writes (its list comes by PEP).
    let mut asked = false;
    for i in 0..30 {
        s.window
            .enter_in(COMPOSER.into(), &format!("are you there? {i}"));
        for _ in 0..10 {
            s.window.step(std::time::Duration::from_millis(100));
            asked = s.window.shows_part("has a new device") && s.window.shows_part(&new);
            if asked {
                break;
            }
        }
        if asked {
            break;
        }
    }
    assert!(asked, "the chat never asked: {:?}", s.window.texts());

    s.window.click("Don't trust it");
    // The chat and the details read the keys again, each on its own.
    s.window
        .until("the question gone, the device untrusted", |w| {
            !w.shows_part("has a new device") && w.shows("Untrusted: not encrypted to")
        });
    s.window
        .alongside("the second device closed", second.close());
}

#[test]
fn settings_show_this_devices_fingerprints_and_remove_a_stale_own_device() {
    let mut s = Scene::new();
    let me = s.me.to_string();
    let (bot_store, bot) = (s.bot.store.clone(), s.bot.jid.to_string());
    // The set-up client of the scene was the account's first device, and
    // is gone now: a stale device, as a reinstalled phone leaves behind.
    let listed = |store: &sotto::store::Store| {
        store
            .omemo_devices(&bot, &me)
            .map(|d| {
                d.iter()
                    .filter(|d| d.active && d.profile == sotto::omemo::Profile::Omemo2)
                    .map(|d| d.device_id.get())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    s.window.click("⚙");
    let own = {
        let w = &mut s.window;
        w.until("this device's keys", |w| w.shows_part("This device: "));
        let own: u32 = w
            .texts()
            .iter()
            .find_map(|t| t.strip_prefix("This device: "))
            .and_then(|t| t.split(' ').next())
            .and_then(|id| id.parse().ok())
            .expect("this device's id");
        own
    };
    let stale = listed(&bot_store)
        .into_iter()
        .find(|d| *d != own)
        .expect("the bot sees the stale device");
    // Listed in one namespace or both, as far as its publications got
    // before the set-up client stopped.
    let line = format!("Device {stale} · Sotto (");
    s.window
        .until("the stale device listed", |w| w.shows_part(&line));
    assert!(
        !s.window.shows_part(&format!("Device {own} ")),
        "this device is not offered for removal: {:?}",
        s.window.texts()
    );

    s.window.click("Remove device…");
    s.window.until("asked to confirm", |w| {
        w.shows_part("Take this device off your published lists?")
    });
    s.window.click("Cancel");
    assert!(s.window.shows_part(&line) && !s.window.shows_part("Take this device off"));
    s.window.click("Remove device…");
    s.window.click("Remove device");
    s.window.until("the device gone from Settings", |w| {
        !w.shows_part(&line) && !w.shows("Removing…")
    });
    assert!(
        s.window
            .shows("No other device of this account publishes OMEMO keys."),
        "{:?}",
        s.window.texts()
    );
    // Contacts follow the lists by PEP: the bot stops encrypting to it.
    s.window.until("the bot sees the list without it", |_| {
        listed(&bot_store) == [own]
    });
}
