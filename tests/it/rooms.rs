//! Group chats (XEP-0045) on a real Prosody with `muc_mam`: two Sotto
//! accounts and someone else's client (a slixmpp bot) in one room; every
//! message exactly once, our own too, after a rejoin and after a kill.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use sotto::engine::{Command, Engine, Event};
use sotto::model::{Departure, OccupantChange, OutgoingMessage, OutgoingState, RoomRefusal};
use sotto::store::Direction;
use sotto::xmpp::RetryPolicy;

use crate::client::TestClient;
use crate::harness::{DOMAIN, new_user, run_ok, run_with_stdin, shared, sotto, user};
use crate::peers::Peer;

fn new_room() -> String {
    format!("{}@conference.{DOMAIN}", user("room"))
}

async fn join(client: &mut TestClient, room: &str, nick: &str) -> bool {
    client.send(Command::JoinRoom {
        account: client.jid.clone(),
        room: room.parse().expect("room"),
        nick: Some(nick.to_owned()),
        password: None,
    });
    let created = client
        .wait_for("the room let us in", |e| match e {
            Event::RoomJoined {
                room: r, created, ..
            } if r.as_str() == room => Some(*created),
            Event::RoomJoinFailed { reason, .. } => panic!("join refused: {reason}"),
            _ => None,
        })
        .await;
    client
        .wait_for("the room's history", |e| {
            matches!(e, Event::RoomCaughtUp { room: r, .. } if r.as_str() == room).then_some(())
        })
        .await;
    created
}

/// The bot enters the room as `nick` and waits for the room's answer.
fn bot_join(bot: &mut Peer, room: &str, nick: &str) {
    bot.raw(&format!(
        "<presence to='{room}/{nick}'><x xmlns='http://jabber.org/protocol/muc'>\
         <history maxstanzas='0'/></x></presence>"
    ));
    let me = format!("{room}/{nick}");
    bot.wait("its own presence in the room", |e| {
        (e.get("presence").and_then(|p| p.as_str()) == Some(me.as_str())).then_some(())
    });
}

fn bot_say(bot: &mut Peer, room: &str, body: &str) {
    bot.raw(&format!(
        "<message to='{room}' type='groupchat' id='{}'><body>{body}</body></message>",
        Engine::new_message_id()
    ));
}

fn say(client: &TestClient, room: &str, body: &str) -> String {
    let id = Engine::new_message_id();
    client.send(Command::SendMessage {
        account: client.jid.clone(),
        message: OutgoingMessage {
            id: id.clone(),
            to: room.parse().expect("room"),
            body: body.to_owned(),
            plain: false,
        },
    });
    id
}

/// Waits until a message with this body from the room is stored.
async fn heard(client: &mut TestClient, room: &str, body: &str) -> String {
    client
        .wait_for(&format!("“{body}” from the room"), |e| {
            let messages = match e {
                Event::Message { message, .. } => std::slice::from_ref(message),
                Event::Archived { messages, .. } => messages.as_slice(),
                _ => return None,
            };
            messages
                .iter()
                .find(|m| m.peer == room && m.body == body)
                .map(|m| m.sender.clone())
        })
        .await
}

fn bodies(client: &TestClient, room: &str) -> Vec<String> {
    client
        .store
        .messages_before(client.jid.as_str(), room, None, 10_000)
        .expect("history")
        .into_iter()
        .map(|m| m.body)
        .collect()
}

on_both_servers! {
    async fn two_accounts_and_a_bot_talk_in_a_room_and_see_each_other_come_and_go(server) {
    let (a, a_pw) = new_user(server, "muca");
    let (b, b_pw) = new_user(server, "mucb");
    let (c, c_pw) = new_user(server, "mucbot");
    let room = new_room();
    let mut alice = TestClient::start(server.account(&a), &a_pw, RetryPolicy::Forever);
    let mut bob = TestClient::start(server.account(&b), &b_pw, RetryPolicy::Forever);
    alice.online().await;
    bob.online().await;

    assert!(
        join(&mut alice, &room, "alice").await,
        "alice's join made the room"
    );
    assert!(!join(&mut bob, &room, "bob").await);
    alice
        .wait_for("bob in the room", |e| match e {
            Event::Occupant {
                occupant, change, ..
            } if occupant.nick == "bob" && *change == OccupantChange::Present => Some(()),
            _ => None,
        })
        .await;

    let mut bot = Peer::start(server, &c, &c_pw);
    bot_join(&mut bot, &room, "bot");

    // Ours reaches the others, and comes back to us as the same message.
    let id = say(&alice, &room, "hello room");
    alice
        .wait_for("the room's copy of our message", |e| match e {
            Event::MessageState { id: got, state, .. } if *got == id => {
                (*state == OutgoingState::Delivered).then_some(())
            }
            _ => None,
        })
        .await;
    assert_eq!(
        heard(&mut bob, &room, "hello room").await,
        format!("{room}/alice")
    );
    let bot_saw = bot.wait("alice's message", |e| {
        let m = e.get("message")?;
        (m.get("body")?.as_str()? == "hello room").then(|| m.clone())
    });
    assert_eq!(
        bot_saw["from"].as_str(),
        Some(format!("{room}/alice").as_str())
    );

    bot_say(&mut bot, &room, "hello from slixmpp");
    assert_eq!(
        heard(&mut alice, &room, "hello from slixmpp").await,
        format!("{room}/bot")
    );
    assert_eq!(
        heard(&mut bob, &room, "hello from slixmpp").await,
        format!("{room}/bot")
    );
    // A private message from someone in the room is a conversation of its
    // own, never one of the room's.
    bot.raw(&format!(
        "<message to='{room}/alice' type='chat' id='pm1'><body>psst, alice</body>\
         <x xmlns='http://jabber.org/protocol/muc#user'/></message>"
    ));
    let private = alice
        .wait_for("the private message", |e| match e {
            Event::Message { message, .. } if message.body == "psst, alice" => {
                Some(message.peer.clone())
            }
            _ => None,
        })
        .await;
    assert_eq!(private, format!("{room}/bot"));
    let id = say(&bob, &room, "bob here");
    heard(&mut alice, &room, "bob here").await;
    bob.wait_for("bob's message reflected", |e| match e {
        Event::MessageState { id: got, state, .. } if *got == id => {
            (*state == OutgoingState::Delivered).then_some(())
        }
        _ => None,
    })
    .await;

    // A nickname change is one event, not a leave and a join.
    bot.raw(&format!("<presence to='{room}/robot'/>"));
    let new_nick = alice
        .wait_for("the bot's new nickname", |e| match e {
            Event::Occupant {
                occupant, change, ..
            } if occupant.nick == "bot" => match change {
                OccupantChange::Renamed { new_nick } => Some(new_nick.clone()),
                OccupantChange::Gone(d) => panic!("a rename shown as leaving: {d:?}"),
                OccupantChange::Present => None,
            },
            _ => None,
        })
        .await;
    assert_eq!(new_nick, "robot");

    // The owner sets the subject; everyone hears it, with who set it.
    let room_jid: sotto::model::BareJid = room.parse().expect("room");
    alice.send(Command::SetRoomSubject {
        account: alice.jid.clone(),
        room: room_jid.clone(),
        subject: "Tea and biscuits".into(),
    });
    let (subject, by) = bob
        .wait_for("the new subject", |e| match e {
            Event::RoomSubject { subject, by, .. } if subject.is_some() => {
                Some((subject.clone(), by.clone()))
            }
            _ => None,
        })
        .await;
    assert_eq!(subject.as_deref(), Some("Tea and biscuits"));
    assert_eq!(by.as_deref(), Some("alice"));

    // Only a moderator kicks; the room says who was kicked, and why.
    let kick = sotto::model::Moderation::Kick {
        nick: "robot".into(),
    };
    bob.send(Command::Moderate {
        account: bob.jid.clone(),
        room: room_jid.clone(),
        what: kick.clone(),
        reason: None,
    });
    let refused = bob
        .wait_for("bob's kick refused", |e| match e {
            Event::Moderated { error, .. } => Some(error.clone()),
            _ => None,
        })
        .await;
    assert_eq!(refused.as_deref(), Some("you are not allowed to do that in this room"));
    alice.send(Command::Moderate {
        account: alice.jid.clone(),
        room: room_jid.clone(),
        what: kick,
        reason: Some("testing".into()),
    });
    let done = alice
        .wait_for("alice's kick done", |e| match e {
            Event::Moderated { error, .. } => Some(error.clone()),
            _ => None,
        })
        .await;
    assert_eq!(done, None);
    let departure = bob
        .wait_for("the bot kicked", |e| match e {
            Event::Occupant {
                occupant,
                change: OccupantChange::Gone(departure),
                ..
            } if occupant.nick == "robot" => Some(departure.clone()),
            _ => None,
        })
        .await;
    let Departure::Kicked { reason, .. } = departure else {
        panic!("a kick shown as {departure:?}");
    };
    assert_eq!(reason.as_deref(), Some("testing"));
    drop(bot);

    // Everything once in each store, our own included.
    for (who, client) in [("alice", &alice), ("bob", &bob)] {
        assert_eq!(
            bodies(client, &room),
            ["hello room", "hello from slixmpp", "bob here"],
            "{who}'s history"
        );
    }
    let mine = alice
        .store
        .messages_before(alice.jid.as_str(), &room, None, 10)
        .expect("history");
    assert_eq!(mine[0].direction, Direction::Out);
    assert_eq!(mine[1].direction, Direction::In);

    bob.send(Command::LeaveRoom {
        account: bob.jid.clone(),
        room: room.parse().expect("room"),
    });
    bob.wait_for("out of the room", |e| {
        matches!(
            e,
            Event::RoomLeft {
                departure: Departure::Left,
                ..
            }
        )
        .then_some(())
    })
    .await;
    alice
        .wait_for("bob gone", |e| match e {
            Event::Occupant {
                occupant, change, ..
            } if occupant.nick == "bob" => matches!(change, OccupantChange::Gone(_)).then_some(()),
            _ => None,
        })
        .await;
    alice.close().await;
    bob.close().await;
}
}

on_both_servers! {
    async fn a_taken_nickname_is_refused_by_name(server) {
    let (a, a_pw) = new_user(server, "mucnicka");
    let (b, b_pw) = new_user(server, "mucnickb");
    let room = new_room();
    let mut alice = TestClient::start(server.account(&a), &a_pw, RetryPolicy::Forever);
    let mut bob = TestClient::start(server.account(&b), &b_pw, RetryPolicy::Forever);
    alice.online().await;
    bob.online().await;
    join(&mut alice, &room, "sam").await;
    bob.send(Command::JoinRoom {
        account: bob.jid.clone(),
        room: room.parse().expect("room"),
        nick: Some("sam".into()),
        password: None,
    });
    let refusal = bob
        .wait_for("a refusal", |e| match e {
            Event::RoomJoinFailed { refusal, .. } => Some(refusal.clone()),
            Event::RoomJoined { .. } => panic!("two occupants named sam"),
            _ => None,
        })
        .await;
    assert_eq!(refusal, RoomRefusal::NicknameTaken);
    alice.close().await;
    bob.close().await;
}
}

on_both_servers! {
    async fn history_after_leaving_and_rejoining_has_no_gap_and_no_double(server) {
    let (a, a_pw) = new_user(server, "muchist");
    let (c, c_pw) = new_user(server, "muchistbot");
    let room = new_room();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sotto.db");
    let key = sotto::store::StoreKey::from_bytes([9; 32]);
    let store = sotto::store::Store::open(&path, &key).expect("store");
    let login = |pw: &str| sotto::engine::AccountLogin {
        config: server.account(&a),
        password: Some(secrecy::SecretString::from(pw.to_owned())),
        presence: Some((sotto::model::Availability::Available, None)),
        retry: RetryPolicy::Forever,
    };
    let mut alice = TestClient::with_store(store.clone(), login(&a_pw));
    alice.online().await;
    join(&mut alice, &room, "alice").await;
    let mut bot = Peer::start(server, &c, &c_pw);
    bot_join(&mut bot, &room, "bot");
    for i in 0..5 {
        bot_say(&mut bot, &room, &format!("live {i}"));
    }
    heard(&mut alice, &room, "live 4").await;
    say(&alice, &room, "mine before leaving");
    heard_by_bot(&mut bot, "mine before leaving");
    alice.close().await;

    // While Sotto is away, the room goes on.
    for i in 0..7 {
        bot_say(&mut bot, &room, &format!("away {i}"));
    }
    bot.sync();
    let mut alice = TestClient::with_store(store.clone(), login(&a_pw));
    alice.online().await;
    alice
        .wait_for("rejoined by itself", |e| {
            matches!(e, Event::RoomJoined { .. }).then_some(())
        })
        .await;
    alice
        .wait_for("caught up", |e| {
            matches!(e, Event::RoomCaughtUp { .. }).then_some(())
        })
        .await;
    let mut expected: Vec<String> = (0..5).map(|i| format!("live {i}")).collect();
    expected.push("mine before leaving".into());
    expected.extend((0..7).map(|i| format!("away {i}")));
    assert_eq!(bodies(&alice, &room), expected);
    alice.close().await;
}
}

/// The bot's side of [`heard`]: waits for a body from the room.
fn heard_by_bot(bot: &mut Peer, body: &str) {
    bot.wait(&format!("“{body}”"), |e| {
        (e.get("message")?.get("body")?.as_str()? == body).then_some(())
    });
}

#[test]
fn killing_sotto_mid_burst_in_a_room_loses_and_doubles_nothing() {
    let server = shared();
    let (a, a_pw) = new_user(server, "muckill");
    let (c, c_pw) = new_user(server, "muckillbot");
    let room = new_room();
    let jid = format!("{a}@{DOMAIN}");
    let home = tempfile::tempdir().expect("tempdir");
    let mut add = sotto(home.path());
    add.args(["account", "add", &jid, "--password-stdin", "--server"])
        .arg(server.starttls_address())
        .args(["--trust-fingerprint", &server.fingerprint.to_string()]);
    let out = run_with_stdin(add, &format!("{a_pw}\n"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run_ok(sotto(home.path()).args(["room", "join", &room, "--nick", "alice"]));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!("Joined {room} as alice (a new room)")),
        "{said}"
    );

    let mut bot = Peer::start(server, &c, &c_pw);
    bot_join(&mut bot, &room, "bot");
    // More than a first join's page is said while Sotto, which entered the
    // room but never stored anything of it, is away: all of it is Sotto's
    // to keep, not only the newest page.
    let mut sent = 0;
    for _ in 0..(2 * 50 + 10) {
        bot_say(&mut bot, &room, &format!("burst {sent}"));
        sent += 1;
    }
    bot.sync();
    for round in 0..3 {
        let mut listen = sotto(home.path())
            .args(["listen"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("sotto listen");
        // In the room (listen says so), then a burst; killed in the middle
        // of it.
        let stdout = listen.stdout.take().expect("stdout");
        let in_room = format!("* in {room} as alice");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if line == in_room {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(crate::client::PATIENCE)
            .expect("sotto listen entered the room");
        for _ in 0..40 {
            bot_say(&mut bot, &room, &format!("burst {sent}"));
            sent += 1;
        }
        std::thread::sleep(Duration::from_millis(30 * (round + 1)));
        listen.kill().expect("SIGKILL");
        listen.wait().expect("reaped");
        for _ in 0..5 {
            bot_say(&mut bot, &room, &format!("burst {sent}"));
            sent += 1;
        }
        bot.sync();
    }
    run_ok(sotto(home.path()).args(["send", &room, "after the kills"]));
    heard_by_bot(&mut bot, "after the kills");
    let out = run_ok(sotto(home.path()).args(["room", "join", &room]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("as alice"));
    let out = run_ok(sotto(home.path()).args(["history", &room, "--limit", "1000", "--json"]));
    let history: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let got: Vec<&str> = history.iter().filter_map(|m| m["body"].as_str()).collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for body in &got {
        *counts.entry(body).or_default() += 1;
    }
    let doubled: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "stored twice: {doubled:?}");
    let mut expected: Vec<String> = (0..sent).map(|i| format!("burst {i}")).collect();
    expected.push("after the kills".into());
    let missing: Vec<&String> = expected
        .iter()
        .filter(|e| !got.contains(&e.as_str()))
        .collect();
    assert!(missing.is_empty(), "lost: {missing:?}");
    let times: Vec<(&str, i64)> = history
        .iter()
        .filter_map(|m| Some((m["body"].as_str()?, m["sent_at"].as_i64()?)))
        .collect();
    assert_eq!(got, expected, "every message once, in order: {times:?}");
    let ours = history
        .iter()
        .find(|m| m["body"] == "after the kills")
        .expect("ours");
    assert_eq!(ours["direction"], "out");
    assert_eq!(ours["state"], "delivered");

    // The rest of `sotto room`: who is in, the subject, a kick...
    let out = run_ok(sotto(home.path()).args(["room", "occupants", &room]));
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains("besides you (alice)") && listed.contains("  bot"),
        "{listed}"
    );
    let out = run_ok(sotto(home.path()).args(["room", "subject", &room, "Kills and bursts"]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("is set"));
    let out = run_ok(sotto(home.path()).args(["room", "kick", &room, "bot", "--reason", "done"]));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("bot is out of {room}")));
    // ...and a private group made, someone invited, left.
    let family = new_room();
    let out = run_ok(sotto(home.path()).args([
        "room",
        "create",
        &family,
        "--private",
        "--name",
        "Family",
    ]));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(&format!("Created {family}, a private group")),
        "{said}"
    );
    let out =
        run_ok(sotto(home.path()).args(["room", "invite", &family, &format!("{c}@{DOMAIN}")]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Invited"));
    bot.wait("the invitation, passed on by the room", |e| {
        let m = e.get("message")?;
        (m.get("from")?.as_str()? == family.as_str()).then_some(())
    });
    run_ok(sotto(home.path()).args(["room", "leave", &family]));
    let out = run_ok(sotto(home.path()).args(["room", "list"]));
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains(&format!("{room}  as alice (joined at login)")),
        "{listed}"
    );
    assert!(
        listed.contains(&format!("{family}  as {a} (left)")),
        "{listed}"
    );
}

on_both_servers! {
    async fn rooms_follow_the_account_to_its_other_installations_through_bookmarks(server) {
    let (a, a_pw) = new_user(server, "mucmark");
    let (first_room, second_room) = (new_room(), new_room());
    let mut laptop = TestClient::start(server.account(&a), &a_pw, RetryPolicy::Forever);
    laptop.online().await;
    join(&mut laptop, &first_room, "me").await;

    // A second installation, fresh store: the room comes with the account.
    let mut desktop = TestClient::start(server.account(&a), &a_pw, RetryPolicy::Forever);
    desktop.online().await;
    let (room, nick) = desktop
        .wait_for("the bookmarked room entered", |e| match e {
            Event::RoomJoined { room, nick, .. } => Some((room.to_string(), nick.clone())),
            _ => None,
        })
        .await;
    assert_eq!((room.as_str(), nick.as_str()), (first_room.as_str(), "me"));
    let rooms = desktop.store.rooms(desktop.jid.as_str()).expect("rooms");
    assert_eq!(rooms.len(), 1);
    assert!(rooms[0].autojoin);

    // While both run, a room joined on one is joined on the other...
    join(&mut laptop, &second_room, "me").await;
    desktop
        .wait_for("the second room entered", |e| match e {
            Event::RoomJoined { room, .. } if room.as_str() == second_room => Some(()),
            _ => None,
        })
        .await;
    // ...and one left on one is left on the other.
    laptop.send(Command::LeaveRoom {
        account: laptop.jid.clone(),
        room: first_room.parse().expect("room"),
    });
    desktop
        .wait_for("the first room left", |e| match e {
            Event::RoomLeft { room, .. } if room.as_str() == first_room => Some(()),
            _ => None,
        })
        .await;
    let rooms = desktop.store.rooms(desktop.jid.as_str()).expect("rooms");
    let autojoin: Vec<(&str, bool)> = rooms.iter().map(|r| (r.jid.as_str(), r.autojoin)).collect();
    let mut expected = vec![(first_room.as_str(), false), (second_room.as_str(), true)];
    expected.sort();
    assert_eq!(autojoin, expected);
    laptop.close().await;
    desktop.close().await;
}
}

on_both_servers! {
    async fn invitations_arrive_directly_and_through_the_room(server) {
    let (a, a_pw) = new_user(server, "mucinva");
    let (b, b_pw) = new_user(server, "mucinvb");
    let (c, c_pw) = new_user(server, "mucinvbot");
    let room = new_room();
    let mut alice = TestClient::start(server.account(&a), &a_pw, RetryPolicy::Forever);
    let mut bob = TestClient::start(server.account(&b), &b_pw, RetryPolicy::Forever);
    alice.online().await;
    bob.online().await;
    join(&mut alice, &room, "alice").await;

    // Sotto invites Sotto: directly (the room lets anyone in).
    alice.send(Command::InviteToRoom {
        account: alice.jid.clone(),
        room: room.parse().expect("room"),
        to: bob.jid.clone(),
        reason: Some("Tea at five".into()),
    });
    let error = alice
        .wait_for("the invitation sent", |e| match e {
            Event::Invited { error, .. } => Some(error.clone()),
            _ => None,
        })
        .await;
    assert_eq!(error, None);
    let (invitation, from_contact) = bob
        .wait_for("alice's invitation", |e| match e {
            Event::Invitation {
                invitation,
                from_contact,
                ..
            } => Some((invitation.clone(), *from_contact)),
            _ => None,
        })
        .await;
    assert_eq!(invitation.room.as_str(), room);
    assert_eq!(invitation.from.to_string(), alice.jid.to_string());
    assert_eq!(invitation.reason.as_deref(), Some("Tea at five"));
    assert!(!invitation.mediated);
    assert!(!from_contact, "alice is not in bob's contacts");
    assert!(
        bodies(&bob, alice.jid.as_str()).is_empty(),
        "an invitation is not a chat message"
    );

    // Someone else's client invites through the room (ejabberd's rooms
    // let only their owners and admins do that).
    if server.name() != "prosody" {
        alice.close().await;
        bob.close().await;
        return;
    }
    let mut bot = Peer::start(server, &c, &c_pw);
    bot_join(&mut bot, &room, "bot");
    bot.raw(&format!(
        "<message to='{room}'><x xmlns='http://jabber.org/protocol/muc#user'>\
         <invite to='{}'><reason>From the bot</reason></invite></x></message>",
        bob.jid
    ));
    let passed = bob
        .wait_for("the bot's invitation, passed on", |e| match e {
            Event::Invitation { invitation, .. } if invitation.mediated => Some(invitation.clone()),
            _ => None,
        })
        .await;
    assert_eq!(passed.room.as_str(), room);
    // The room hides addresses: the invitation is from the bot's place in it.
    assert_eq!(passed.from.to_string(), format!("{room}/bot"));
    assert_eq!(passed.reason.as_deref(), Some("From the bot"));
    // Declined: the room tells the bot.
    bob.send(Command::DeclineInvitation {
        account: bob.jid.clone(),
        invitation: passed,
    });
    bot.wait("the decline", |e| {
        let m = e.get("message")?;
        (m.get("from")?.as_str()? == room).then_some(())
    });
    alice.close().await;
    bob.close().await;
}
}

on_both_servers! {
    async fn a_private_group_lets_in_only_the_invited(server) {
    let (a, a_pw) = new_user(server, "mucpriva");
    let (b, b_pw) = new_user(server, "mucprivb");
    let room = new_room();
    let mut alice = TestClient::start(server.account(&a), &a_pw, RetryPolicy::Forever);
    let mut bob = TestClient::start(server.account(&b), &b_pw, RetryPolicy::Forever);
    alice.online().await;
    bob.online().await;
    alice.send(Command::CreateRoom {
        account: alice.jid.clone(),
        room: room.parse().expect("room"),
        nick: Some("alice".into()),
        config: sotto::model::RoomConfig {
            name: Some("Family".into()),
            description: Some("Just us".into()),
            private: true,
        },
    });
    let error = alice
        .wait_for("the room set up", |e| match e {
            Event::RoomConfigured { error, .. } => Some(error.clone()),
            _ => None,
        })
        .await;
    assert_eq!(error, None);
    let info = alice
        .wait_for("what the room says of itself", |e| match e {
            Event::RoomInfo { info, .. } => Some(info.clone()),
            _ => None,
        })
        .await;
    assert!(info.members_only && info.non_anonymous && info.persistent, "{info:?}");
    assert!(!info.public);
    assert_eq!(info.name.as_deref(), Some("Family"));

    // Not a member: refused by name.
    bob.send(Command::JoinRoom {
        account: bob.jid.clone(),
        room: room.parse().expect("room"),
        nick: Some("bob".into()),
        password: None,
    });
    let refusal = bob
        .wait_for("the refusal", |e| match e {
            Event::RoomJoinFailed { refusal, .. } => Some(refusal.clone()),
            _ => None,
        })
        .await;
    assert_eq!(refusal, RoomRefusal::MembersOnly);

    // Invited through the room, which makes bob a member.
    alice.send(Command::InviteToRoom {
        account: alice.jid.clone(),
        room: room.parse().expect("room"),
        to: bob.jid.clone(),
        reason: None,
    });
    let invitation = bob
        .wait_for("the invitation", |e| match e {
            Event::Invitation { invitation, .. } => Some(invitation.clone()),
            _ => None,
        })
        .await;
    assert!(invitation.mediated, "a members-only room's invitation goes through it");
    assert!(!join(&mut bob, &room, "bob").await);
    alice.close().await;
    bob.close().await;
}
}
