//! OMEMO with someone else's client on a real server: slixmpp-omemo bots
//! (`tests/peers/omemo_bot.py`), one speaking only legacy OMEMO (as
//! Conversations, Dino, Gajim do), one only OMEMO 2 (as Kaidan does). Each
//! publishes and follows device lists through PEP itself; Sotto finds the
//! one namespace each speaks, messages decrypt both ways, and the session
//! starts from either side.

use serde_json::{Value, json};
use sotto::engine::{Command, Engine, Event};
use sotto::model::{BareJid, Subscription, SubscriptionChange};
use sotto::store::ChatEncryption;
use sotto::xmpp::RetryPolicy;

use crate::client::{PATIENCE, TestClient};
use crate::harness::{new_user, on_disk};
use crate::peers::Peer;

const LEGACY: &str = "eu.siacs.conversations.axolotl";
const OMEMO2: &str = "urn:xmpp:omemo:2";

/// Alice adds the bot (it approves and asks back) and approves it.
async fn befriend_bot(alice: &mut TestClient, bot: &BareJid) {
    alice.send(Command::AddContact {
        account: alice.jid.clone(),
        jid: bot.clone(),
        name: None,
    });
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let event = tokio::time::timeout_at(deadline, alice.events.recv())
            .await
            .unwrap_or_else(|_| panic!("{bot} never became a contact"))
            .expect("engine running");
        match event {
            Event::Subscription {
                from,
                change: SubscriptionChange::Requested,
                ..
            } if from == *bot => alice.send(Command::AnswerSubscription {
                account: alice.jid.clone(),
                jid: from,
                approve: true,
            }),
            Event::ContactChanged { contact, .. }
                if contact.jid == *bot && contact.subscription == Subscription::Both =>
            {
                return;
            }
            _ => {}
        }
    }
}

/// Alice's message to the bot (a chat that never goes in clear), sent.
async fn alice_says(alice: &mut TestClient, bot: &BareJid, body: &str) {
    let id = crate::omemo_chat::say_to(alice, bot, body);
    crate::omemo_chat::sent(alice, &id).await;
}

/// The bot's next decrypted message from alice.
fn bot_reads(bot: &mut Peer, alice: &BareJid) -> Value {
    bot.wait("a message from alice", |e| {
        if let Some(err) = e.get("decrypt_error") {
            panic!("the bot could not decrypt: {err}");
        }
        let m = e.get("message")?;
        let from = m.get("from")?.as_str()?;
        (from.split('/').next() == Some(alice.as_str())).then(|| m.clone())
    })
}

fn bot_says(bot: &mut Peer, to: &BareJid, body: &str, ns: &str) {
    let id = Engine::new_message_id();
    bot.command(json!({ "send": { "to": to.as_str(), "body": body, "id": id } }));
    let sent = bot.wait("the bot's message sent", |e| e.get("sent").cloned());
    assert_eq!(sent["ns"], ns, "{sent}");
}

/// Alice's next message from `bot`, which must have been decrypted.
async fn alice_reads(alice: &mut TestClient, bot: &BareJid, what: &str) -> String {
    let m = alice.incoming(what).await;
    assert_eq!(m.peer, bot.as_str(), "{what}: {m:?}");
    assert!(!m.omemo_notice, "{what}: a notice instead: {}", m.body);
    assert!(m.encrypted, "{what}: stored as not encrypted: {m:?}");
    m.body
}

on_both_servers! {
async fn slixmpp_omemo_bots_of_each_version_chat_encrypted_with_sotto(server) {
    let (a, a_pw) = new_user(server, "botsa");
    let mut alice = TestClient::start(server.account(&a), &a_pw, RetryPolicy::Forever);
    alice.online().await;
    alice.settled().await;
    let alices_device = alice.omemo_device();
    alice.knows_device(&alice.jid, alices_device).await;
    let secret = format!("bots-{}", Engine::new_message_id());

    for (profile, ns) in [("legacy", LEGACY), ("omemo2", OMEMO2)] {
        // One bot hears from Sotto first (Sotto starts the session), the
        // other writes first (the bot starts it).
        let mut bots = Vec::new();
        for who in ["hears", "writes"] {
            let (user, pw) = new_user(server, &format!("bot{profile}{who}"));
            let bot = Peer::start_omemo_bot(server, &user, &pw, profile);
            let jid: BareJid = format!("{user}@localhost").parse().expect("jid");
            befriend_bot(&mut alice, &jid).await;
            alice.send(Command::SetChatEncryption {
                account: alice.jid.clone(),
                peer: jid.clone(),
                setting: ChatEncryption::On,
            });
            bots.push((bot, jid));
        }
        let [(hears, hears_jid), (writes, writes_jid)] = &mut bots[..] else {
            unreachable!()
        };

        // Sotto starts: it finds the one namespace the bot's devices speak.
        let text = format!("{secret} from sotto to the {profile} bot");
        alice_says(&mut alice, hears_jid, &text).await;
        let got = bot_reads(hears, &alice.jid);
        assert_eq!((&got["body"], &got["encrypted"]), (&json!(text), &json!(ns)), "{got}");
        assert_eq!(got["device_id"], alices_device.get(), "{got}");
        if ns == OMEMO2 {
            assert_eq!(got["envelope_from"], alice.jid.as_str(), "{got}");
        }
        let reply = format!("{secret} the {profile} bot answers");
        bot_says(hears, &alice.jid, &reply, ns);
        assert_eq!(alice_reads(&mut alice, hears_jid, "the bot's answer").await, reply);

        // The bot starts: Sotto answers its key exchange.
        let first = format!("{secret} the {profile} bot writes first");
        bot_says(writes, &alice.jid, &first, ns);
        assert_eq!(alice_reads(&mut alice, writes_jid, "the bot's first").await, first);
        let text = format!("{secret} sotto answers the {profile} bot");
        alice_says(&mut alice, writes_jid, &text).await;
        let got = bot_reads(writes, &alice.jid);
        assert_eq!((&got["body"], &got["encrypted"]), (&json!(text), &json!(ns)), "{got}");
        // And the session goes on, both ways.
        let again = format!("{secret} the {profile} bot again");
        bot_says(writes, &alice.jid, &again, ns);
        assert_eq!(alice_reads(&mut alice, writes_jid, "the bot again").await, again);
    }
    // What the servers keep holds no text of it.
    assert!(!on_disk(server.dir(), &secret), "plaintext on the server's disk");
}
}
