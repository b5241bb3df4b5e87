//! `xmpp:` links handed to the running window by a later `sotto`, through
//! the same door and the same code path as `sotto 'xmpp:…'` takes.

use std::io::Write;
use std::os::unix::net::UnixStream;

use sotto::handover::{self, Claim, HandoverError, Request};
use sotto::paths::Paths;

use super::Scene;
use super::window::Window;

/// What a later `sotto LINK` does (gui::run), on a thread: the window
/// answers only while the test lets it run.
fn hand_over(
    paths: &Paths,
    link: Option<&str>,
) -> std::thread::JoinHandle<Result<(), HandoverError>> {
    let paths = paths.clone();
    let link = link.map(str::to_owned);
    std::thread::spawn(move || match handover::claim(&paths)? {
        Claim::Running(running) => running.hand_over(&Request { link }),
        Claim::First(_) => panic!("the window's door was not open"),
    })
}

fn handed(
    w: &mut Window,
    paths: &Paths,
    link: &str,
    what: &str,
    done: impl FnMut(&mut Window) -> bool,
) {
    let sent = hand_over(paths, Some(link));
    w.until(what, done);
    sent.join()
        .expect("the later sotto")
        .expect("the window answered");
}

#[test]
fn links_handed_over_open_the_chat_fill_the_composer_and_never_act_alone() {
    let mut s = Scene::new();
    let paths = s.home.paths.clone();
    let bot = s.bot.jid.clone();
    let w = &mut s.window;

    // ?message: the chat opens with the text typed, not sent.
    handed(
        w,
        &paths,
        &format!("xmpp:{bot}?message;body=hi%20there"),
        "the bot's chat with the text in the composer",
        |w| {
            w.dashboard()
                .open_chat()
                .is_some_and(|c| c.key().1 == bot && c.composer_text() == "hi there")
        },
    );
    // A second link adds to what is typed instead of replacing it.
    handed(
        w,
        &paths,
        &format!("xmpp:{bot}?message;body=again"),
        "the second text after the first",
        |w| {
            w.dashboard()
                .open_chat()
                .is_some_and(|c| c.composer_text() == "hi there\nagain")
        },
    );
    assert!(
        !w.shows("hi there"),
        "nothing was sent: the text is only in the composer"
    );

    // ?roster: a stranger is offered in "Add a contact", not added.
    handed(
        w,
        &paths,
        "xmpp:zed@example.org?roster;name=Zed%20Stranger",
        "the address offered in Add a contact",
        |w| w.shows("zed@example.org") && w.shows("Zed Stranger") && w.shows("Add a contact"),
    );
    assert!(
        w.dashboard()
            .people()
            .contacts
            .keys()
            .all(|(_, jid)| jid.as_str() != "zed@example.org"),
        "the stranger was not added by the link"
    );

    // ?join: the join dialog, filled in; nothing joined until the person
    // says so.
    handed(
        w,
        &paths,
        "xmpp:room@conference.example.org?join",
        "the join dialog",
        |w| {
            w.dashboard().overlay_open().map(|o| o.kind())
                == Some(crate::gui::overlay::Kind::JoinRoom)
                && w.shows("Join a group chat")
                && w.dashboard()
                    .overlay_open()
                    .and_then(|o| o.joining())
                    .is_none()
        },
    );
    assert!(
        w.dashboard().people().rooms.is_empty(),
        "no room was joined by the link"
    );
    w.press(
        iced::keyboard::Key::Named(iced::keyboard::key::Named::Escape),
        iced::keyboard::Modifiers::empty(),
    );

    // Garbage through the socket: the window says so and stays open for
    // the next.
    handed(
        w,
        &paths,
        "xmpp:bob@@example.org",
        "the broken link said",
        |w| w.shows_part("Sotto could not open the link"),
    );
    let garbage = {
        let path = handover::socket_file(&paths);
        std::thread::spawn(move || {
            let mut s = UnixStream::connect(path).expect("connect");
            s.write_all(b"not json\n").expect("write");
        })
    };
    garbage.join().expect("garbage sent");
    // Only "show yourself": answered, nothing changes.
    let sent = hand_over(&paths, None);
    w.until("the raise answered", |_| sent.is_finished());
    sent.join().expect("thread").expect("answered");
    assert!(w.dashboard().open_chat().is_some(), "the chat stays open");
}
