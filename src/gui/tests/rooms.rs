//! Group chats in the window: joining one from New chat (a taken nickname
//! is said where it can be changed), the room's messages signed by their
//! authors, the list's preview, and sending into it.

use iced::keyboard::{Key, Modifiers};
use sotto::engine::{Command, Engine, Event};
use sotto::model::{BareJid, OutgoingMessage};

use super::Scene;
use crate::gui::chat::composer::COMPOSER;
use crate::gui::overlay::{INPUT, Kind};

fn new_room() -> BareJid {
    format!("{}@conference.localhost", super::harness::user("guiroom"))
        .parse()
        .expect("room")
}

/// The bot makes the room, as `nick`, and waits until it is in.
fn bot_makes(s: &mut Scene, room: &BareJid, nick: &str) {
    s.bot.send(Command::JoinRoom {
        account: s.bot.jid.clone(),
        room: room.clone(),
        nick: Some(nick.into()),
        password: None,
    });
    let room = room.clone();
    s.bot_sees("the bot in its room", |e| {
        matches!(e, Event::RoomJoined { room: r, .. } if *r == room).then_some(())
    });
}

fn bot_says_in(s: &Scene, room: &BareJid, body: &str) -> String {
    let id = Engine::new_message_id();
    s.bot.send(Command::SendMessage {
        account: s.bot.jid.clone(),
        message: OutgoingMessage {
            id: id.clone(),
            to: room.clone(),
            body: body.to_owned(),
            plain: false,
        },
    });
    id
}

/// The window enters `room` through New chat's join dialog, as `nick`
/// (typed after the account's name, which the dialog offers).
fn join_through_the_dialog(s: &mut Scene, room: &BareJid, after_name: &str) {
    let w = &mut s.window;
    w.press(Key::Character("n".into()), Modifiers::CTRL);
    w.type_in(INPUT.into(), room.as_str());
    w.click("Join a group chat…");
    w.type_in(crate::gui::overlay::NICK_INPUT.into(), after_name);
    w.click("Join");
    let room = room.clone();
    w.until("the room open", |w| {
        w.dashboard().open_chat().is_some_and(|c| c.peer == room) && w.shows("Details")
    });
}

#[test]
fn a_room_is_joined_from_new_chat_and_reads_like_a_group() {
    let mut s = Scene::new();
    let room = new_room();
    // The bot takes the nickname the window will offer: the account's name.
    let taken = s.me.node().expect("a user").to_string();
    let mine = format!("{taken}-2");
    bot_makes(&mut s, &room, &taken);
    bot_says_in(&s, &room, "Before you came");

    let w = &mut s.window;
    w.press(Key::Character("n".into()), Modifiers::CTRL);
    w.type_in(INPUT.into(), room.as_str());
    w.click("Join a group chat…");
    assert_eq!(
        w.dashboard().overlay_open().map(|o| o.kind()),
        Some(Kind::JoinRoom)
    );
    // The bot has that nickname: the room refuses, and the overlay says so.
    w.click("Join");
    w.until("the refusal", |w| {
        w.shows("Someone in the room already has that nickname. Choose another.")
    });
    w.type_in(crate::gui::overlay::NICK_INPUT.into(), "-2");
    w.click("Join");
    w.until("the room open", |w| {
        w.dashboard().open_chat().is_some_and(|c| c.peer == room) && w.shows("Details")
    });
    assert!(w.dashboard().overlay_open().is_none());
    w.until("its history, signed", |w| {
        w.shows_in_chat("Before you came") && w.shows_in_chat(&taken)
    });
    w.until("the bot among the people", |w| {
        w.shows_part("you and 1 more")
    });

    let greeting = format!("Welcome, {mine}!");
    bot_says_in(&s, &room, &greeting);
    let w = &mut s.window;
    w.until("the greeting", |w| w.shows_in_chat(&greeting));
    // The list says who wrote the last message.
    w.until("the preview", |w| w.shows(&format!("{taken}: {greeting}")));

    w.enter_in(COMPOSER.into(), "Hello, group");
    let room_copy = room.clone();
    let said = s.bot_sees("the window's message in the room", |e| match e {
        Event::Message { message, .. } if message.peer == room_copy.as_str() => {
            (message.body == "Hello, group").then(|| message.sender.clone())
        }
        _ => None,
    });
    assert_eq!(said, format!("{room}/{mine}"));
    // The room's copy of it came back: it is in the room.
    s.window
        .until("ours delivered to the room", |w| w.shows("Delivered"));
    // The details: what notifies, and who is here with what standing.
    s.window.click("Details");
    s.window.until("the room's details", |w| {
        w.shows("Notifications") && w.shows(&format!("{mine} (you)")) && w.shows("owner")
    });
}

#[test]
fn a_contacts_invitation_is_said_and_joined_from_the_requests() {
    let mut s = Scene::new();
    let room = new_room();
    bot_makes(&mut s, &room, "robin");
    s.bot.send(Command::InviteToRoom {
        account: s.bot.jid.clone(),
        room: room.clone(),
        to: s.me.clone(),
        reason: Some("Come and see".into()),
    });
    let w = &mut s.window;
    let said = format!("Robin Bot invites you into the group chat {room}. See Contacts to join.");
    w.until("the banner", |w| w.shows(&said));
    // Nothing is joined until the person says so.
    assert!(w.dashboard().people().room(&s.me, &room).is_none());
    w.click("Contacts");
    let request = format!("Robin Bot invites you into the group chat {room}: “Come and see”");
    w.until("the request", |w| w.shows(&request));
    w.click("Join…");
    assert_eq!(
        w.dashboard().overlay_open().map(|o| o.kind()),
        Some(Kind::JoinRoom)
    );
    w.click("Join");
    w.until("the room open", |w| {
        w.dashboard().open_chat().is_some_and(|c| c.peer == room)
    });
    w.until("the request gone", |w| !w.shows(&request));
}

#[test]
fn in_a_public_room_only_a_mention_notifies() {
    use super::notifications::{NotificationServer, PrivateBus};
    let bus = PrivateBus::start();
    let server = NotificationServer::start(&bus);
    let mut s = Scene::on(Some(crate::gui::notify::Bus::Address(bus.address.clone())));
    let room = new_room();
    bot_makes(&mut s, &room, "robin");
    join_through_the_dialog(&mut s, &room, "-x");
    let mine = format!("{}-x", s.me.node().expect("a user"));
    s.window.focus(false);

    // A public room notifies only what names us (the default there).
    bot_says_in(&s, &room, "just chatting");
    s.window
        .until("the message shown", |w| w.shows_in_chat("just chatting"));
    let mention = format!("{mine}: are you there?");
    bot_says_in(&s, &room, &mention);
    s.window.until("the mention notified", |_| {
        server.log.showing(&mention).is_some()
    });
    let notified = server.log.notified();
    assert!(
        notified.iter().all(|n| n.body != "just chatting"),
        "an ordinary message notified: {notified:?}"
    );
    let shown = server.log.showing(&mention).expect("notified");
    let name = room.node().expect("a room").to_string();
    assert_eq!(shown.summary, format!("robin in {name}"));
}

#[test]
fn the_owner_removes_someone_from_the_details() {
    let mut s = Scene::new();
    let room = new_room();
    // The window's join makes the room: its account owns it.
    join_through_the_dialog(&mut s, &room, "");
    bot_makes(&mut s, &room, "robin");
    s.window
        .until("the bot in the room", |w| w.shows_part("you and 1 more"));
    s.window.click("Details");
    s.window
        .until("the people", |w| w.shows("robin") && w.shows("Remove"));
    s.window.click("Remove");
    let room_copy = room.clone();
    let departure = s.bot_sees("the bot put out", |e| match e {
        Event::RoomLeft {
            room: r, departure, ..
        } if *r == room_copy => Some(departure.clone()),
        _ => None,
    });
    assert!(
        matches!(departure, sotto::model::Departure::Kicked { .. }),
        "{departure:?}"
    );
    s.window
        .until("the bot gone from the people", |w| !w.shows("Remove"));
}
