//! Chat states (XEP-0085), corrections (XEP-0308), read markers
//! (XEP-0333), client state indication (XEP-0352), renaming and removing
//! contacts, and blocking (XEP-0191), between real accounts on Prosody.

use std::time::Duration;

use sotto::engine::{Command, Engine, Event};
use sotto::model::{BareJid, ChatState, OutgoingMessage, OutgoingState, Subscription};
use sotto::store::{Direction, MessageState, StoredMessage};
use sotto::xmpp::RetryPolicy;

use crate::client::TestClient;
use crate::harness::{new_user, shared};

/// Online, with the first archive catch-up over (so nothing of the login
/// is still in flight).
async fn ready(prefix: &str) -> (TestClient, String, String) {
    let server = shared();
    let (user, password) = new_user(server, prefix);
    let client = settled(&user, &password).await;
    (client, user, password)
}

async fn settled(user: &str, password: &str) -> TestClient {
    let mut client = TestClient::start(shared().account(user), password, RetryPolicy::Forever);
    client.online().await;
    client
        .wait_for("catch-up done", |e| match e {
            Event::CatchUp { done: true, .. } => Some(()),
            _ => None,
        })
        .await;
    client
}

fn say(from: &TestClient, to: &BareJid, body: &str) -> String {
    let id = Engine::new_message_id();
    from.send(Command::SendMessage {
        account: from.jid.clone(),
        message: OutgoingMessage {
            id: id.clone(),
            to: to.clone(),
            body: body.into(),
            plain: false,
        },
    });
    id
}

async fn state_reached(client: &mut TestClient, id: &str, want: OutgoingState) {
    let what = format!("message {id} {want:?}");
    client
        .wait_for(&what, |e| match e {
            Event::MessageState { id: got, state, .. } if got == id => match state {
                OutgoingState::Failed { reason } => panic!("{reason}"),
                s if *s == want => Some(()),
                _ => None,
            },
            _ => None,
        })
        .await;
}

async fn chat_state_from(client: &mut TestClient, from: &BareJid) -> ChatState {
    client
        .wait_for("a chat state", |e| match e {
            Event::ChatState {
                from: got, state, ..
            } if got == from => Some(*state),
            _ => None,
        })
        .await
}

/// Fails if `pick` accepts an event within `quiet`.
async fn nothing_within(
    client: &mut TestClient,
    quiet: Duration,
    what: &str,
    mut pick: impl FnMut(&Event) -> bool,
) {
    let deadline = tokio::time::Instant::now() + quiet;
    while let Ok(event) = tokio::time::timeout_at(deadline, client.events.recv()).await {
        let event = event.expect("engine running");
        assert!(
            !pick(&event),
            "{}: unexpected {what}: {event:?}",
            client.jid
        );
        client.seen.push(event);
    }
}

/// The block list the client got after logging in.
async fn block_list(client: &mut TestClient) -> Vec<BareJid> {
    let pick = |e: &Event| match e {
        Event::BlockList { jids, .. } => Some(jids.clone()),
        _ => None,
    };
    match client.seen.iter().find_map(pick) {
        Some(jids) => jids,
        None => client.wait_for("the block list", pick).await,
    }
}

fn history(client: &TestClient, peer: &BareJid) -> Vec<StoredMessage> {
    client
        .store
        .messages_before(client.jid.as_str(), peer.as_str(), None, 50)
        .expect("history")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contact_sees_us_typing_and_active() {
    let (alice, _, _) = ready("typa").await;
    let (mut bob, _, _) = ready("typb").await;
    let (a, b) = (alice.jid.clone(), bob.jid.clone());
    alice.send(Command::SetChatState {
        account: a.clone(),
        to: b.clone(),
        state: ChatState::Composing,
    });
    assert_eq!(chat_state_from(&mut bob, &a).await, ChatState::Composing);
    alice.send(Command::SetChatState {
        account: a.clone(),
        to: b.clone(),
        state: ChatState::Paused,
    });
    assert_eq!(chat_state_from(&mut bob, &a).await, ChatState::Paused);
    // A message carries <active/>: the state comes with it.
    say(&alice, &b, "done typing");
    let got = bob.incoming("the message").await;
    assert_eq!(got.body, "done typing");
    assert_eq!(chat_state_from(&mut bob, &a).await, ChatState::Active);
    // Our own states are never news to us.
    assert!(
        !alice
            .seen
            .iter()
            .any(|e| matches!(e, Event::ChatState { .. })),
        "nobody told Alice about chat states"
    );
    alice.send(Command::Shutdown);
    bob.send(Command::Shutdown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correction_changes_both_stores_and_what_search_finds() {
    let (mut alice, _, _) = ready("fixa").await;
    let (mut bob, b_user, b_pw) = ready("fixb").await;
    let (a, b) = (alice.jid.clone(), bob.jid.clone());
    let id = say(&alice, &b, "meet me at the bakery");
    state_reached(&mut alice, &id, OutgoingState::Acked).await;
    let original = bob.incoming("the original").await;
    assert_eq!(original.edited_at, None);

    alice.send(Command::CorrectMessage {
        account: a.clone(),
        to: b.clone(),
        replaces: id.clone(),
        body: "meet me at the library".into(),
    });
    let mine = alice
        .wait_for("our correction applied", |e| match e {
            Event::Corrected { message, peer, .. } if *peer == b => Some(message.clone()),
            _ => None,
        })
        .await;
    assert_eq!(mine.origin_id.as_deref(), Some(id.as_str()));
    assert_eq!(mine.body, "meet me at the library");
    assert!(mine.edited_at.is_some());
    let theirs = bob
        .wait_for("their correction applied", |e| match e {
            Event::Corrected { message, peer, .. } if *peer == a => Some(message.clone()),
            Event::Message { message, .. } if message.direction == Direction::In => {
                panic!("the correction was stored as a new message: {message:?}")
            }
            _ => None,
        })
        .await;
    assert_eq!(theirs.id, original.id, "the original row changed");
    assert_eq!(theirs.body, "meet me at the library");
    assert!(theirs.edited_at.is_some());

    for (client, peer) in [(&alice, &b), (&bob, &a)] {
        let stored = history(client, peer);
        assert_eq!(stored.len(), 1, "{}: one message, corrected", client.jid);
        assert_eq!(stored[0].body, "meet me at the library");
        assert!(stored[0].edited_at.is_some());
        let me = Some(client.jid.as_str());
        assert_eq!(
            client.store.search(me, "library", 5).expect("search").len(),
            1
        );
        assert!(
            client
                .store
                .search(me, "bakery", 5)
                .expect("search")
                .is_empty()
        );
    }

    // Bob's second device catches the conversation up from the archive:
    // the original and its correction, stored as one corrected message.
    let bob2 = settled(&b_user, &b_pw).await;
    let stored = history(&bob2, &a);
    assert_eq!(stored.len(), 1, "{stored:#?}");
    assert_eq!(stored[0].body, "meet me at the library");
    assert!(stored[0].edited_at.is_some());

    // Correcting something that is not ours is refused, and nothing is sent.
    bob.send(Command::CorrectMessage {
        account: b.clone(),
        to: a.clone(),
        replaces: id.clone(),
        body: "hijacked".into(),
    });
    let reason = bob.message_error("refusal", &id).await;
    assert!(reason.contains("no message of ours"), "{reason}");
    for client in [alice, bob, bob2] {
        client.send(Command::Shutdown);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marking_read_tells_the_sender() {
    let (mut alice, _, _) = ready("reada").await;
    let (mut bob, _, _) = ready("readb").await;
    crate::client::befriend(&mut alice, &mut bob).await;
    let (a, b) = (alice.jid.clone(), bob.jid.clone());
    let id = say(&alice, &b, "did you read this?");
    bob.incoming("the message").await;
    state_reached(&mut alice, &id, OutgoingState::Delivered).await;
    assert_eq!(
        bob.store.conversations(Some(b.as_str())).expect("list")[0].unread,
        1
    );
    bob.send(Command::MarkRead {
        account: b.clone(),
        peer: a.clone(),
    });
    bob.wait_for("conversation read", |e| match e {
        Event::ConversationRead { peer, .. } if *peer == a => Some(()),
        _ => None,
    })
    .await;
    assert_eq!(
        bob.store.conversations(Some(b.as_str())).expect("list")[0].unread,
        0
    );
    state_reached(&mut alice, &id, OutgoingState::Read).await;
    assert_eq!(history(&alice, &b)[0].state, MessageState::Read);
    // Marking read again names nothing new: no second marker.
    bob.send(Command::MarkRead {
        account: b.clone(),
        peer: a.clone(),
    });
    bob.wait_for("conversation read again", |e| match e {
        Event::ConversationRead { peer, .. } if *peer == a => Some(()),
        _ => None,
    })
    .await;
    alice.send(Command::Shutdown);
    bob.send(Command::Shutdown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_are_renamed_and_removed() {
    let (mut alice, _, _) = ready("rosa").await;
    let (bob, _, _) = ready("rosb").await;
    let (a, b) = (alice.jid.clone(), bob.jid.clone());
    alice.send(Command::AddContact {
        account: a.clone(),
        jid: b.clone(),
        name: Some("Bob".into()),
    });
    alice
        .wait_for("Bob added", |e| match e {
            Event::ContactChanged { contact, .. } if contact.jid == b => Some(()),
            _ => None,
        })
        .await;
    alice.send(Command::RenameContact {
        account: a.clone(),
        jid: b.clone(),
        name: Some("Robert".into()),
    });
    let renamed = alice
        .wait_for("Bob renamed", |e| match e {
            Event::ContactChanged { contact, .. }
                if contact.jid == b && contact.name.as_deref() == Some("Robert") =>
            {
                Some(contact.clone())
            }
            _ => None,
        })
        .await;
    assert_eq!(renamed.subscription, Subscription::None);
    assert!(renamed.pending_out, "renaming keeps the pending request");
    let stored = alice.store.contacts(a.as_str()).expect("contacts");
    assert_eq!(stored, vec![renamed]);

    alice.send(Command::RemoveContact {
        account: a.clone(),
        jid: b.clone(),
    });
    alice
        .wait_for("Bob removed", |e| match e {
            Event::ContactRemoved { jid, .. } if *jid == b => Some(()),
            _ => None,
        })
        .await;
    assert!(
        alice
            .store
            .contacts(a.as_str())
            .expect("contacts")
            .is_empty()
    );
    alice.send(Command::Shutdown);
    bob.send(Command::Shutdown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_contact_is_not_heard() {
    let (alice, _, _) = ready("blka").await;
    let (mut bob, b_user, b_pw) = ready("blkb").await;
    let (a, b) = (alice.jid.clone(), bob.jid.clone());
    assert!(block_list(&mut bob).await.is_empty());

    bob.send(Command::BlockContact {
        account: b.clone(),
        jid: a.clone(),
        blocked: true,
    });
    let blocked = bob
        .wait_for("Alice blocked", |e| match e {
            Event::Blocked { jid, blocked, .. } if *jid == a => Some(*blocked),
            _ => None,
        })
        .await;
    assert!(blocked);
    say(&alice, &b, "can you hear me?");
    alice.send(Command::SetChatState {
        account: a.clone(),
        to: b.clone(),
        state: ChatState::Composing,
    });
    nothing_within(&mut bob, Duration::from_secs(3), "word from Alice", |e| {
        matches!(e, Event::Message { .. } | Event::ChatState { .. })
    })
    .await;

    // Another device of Bob's learns the list at login.
    let mut bob2 = settled(&b_user, &b_pw).await;
    assert_eq!(block_list(&mut bob2).await, vec![a.clone()]);

    bob.send(Command::BlockContact {
        account: b.clone(),
        jid: a.clone(),
        blocked: false,
    });
    for client in [&mut bob, &mut bob2] {
        let blocked = client
            .wait_for("Alice unblocked (pushed to every device)", |e| match e {
                Event::Blocked { jid, blocked, .. } if *jid == a => Some(*blocked),
                _ => None,
            })
            .await;
        assert!(!blocked);
    }
    say(&alice, &b, "and now?");
    let got = bob.incoming("a message after unblocking").await;
    assert_eq!(got.body, "and now?", "the blocked one never arrived");
    for client in [alice, bob, bob2] {
        client.send(Command::Shutdown);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inactive_client_gets_only_what_matters_until_active() {
    let (alice, _, _) = ready("csia").await;
    let (mut bob, _, _) = ready("csib").await;
    let (a, b) = (alice.jid.clone(), bob.jid.clone());
    bob.send(Command::SetClientActive { active: false });
    // Prosody's mod_csi_simple lets traffic through for a few seconds
    // after the state changes, then holds what is unimportant: poll until
    // a chat state is held (bounded), rather than guess how long.
    let mut held = false;
    for _ in 0..20 {
        alice.send(Command::SetChatState {
            account: a.clone(),
            to: b.clone(),
            state: ChatState::Composing,
        });
        let arrived = tokio::time::timeout(Duration::from_secs(1), chat_state_from(&mut bob, &a))
            .await
            .is_ok();
        if !arrived {
            held = true;
            break;
        }
    }
    assert!(held, "chat states were never held while inactive");
    nothing_within(&mut bob, Duration::from_secs(2), "chat state", |e| {
        matches!(e, Event::ChatState { .. })
    })
    .await;
    // A message matters: it arrives, and what was held comes first.
    say(&alice, &b, "wake up");
    assert_eq!(chat_state_from(&mut bob, &a).await, ChatState::Composing);
    assert_eq!(bob.incoming("the message").await.body, "wake up");

    // Active again: chat states flow at once.
    bob.send(Command::SetClientActive { active: true });
    // The state travels as a nonza beside Alice's stanzas: poll (bounded)
    // until a chat state comes through at once.
    let mut prompt = false;
    for _ in 0..10 {
        alice.send(Command::SetChatState {
            account: a.clone(),
            to: b.clone(),
            state: ChatState::Paused,
        });
        let got = tokio::time::timeout(Duration::from_secs(1), async {
            loop {
                if chat_state_from(&mut bob, &a).await == ChatState::Paused {
                    return;
                }
            }
        })
        .await;
        if got.is_ok() {
            prompt = true;
            break;
        }
    }
    assert!(prompt, "chat states flow again once active");
    alice.send(Command::Shutdown);
    bob.send(Command::Shutdown);
}
