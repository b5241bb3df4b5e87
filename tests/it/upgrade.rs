//! Databases as earlier releases wrote them, committed as files under
//! `tests/fixtures/`, opened and upgraded by today's code with every row
//! checked. The fixtures are frozen: a migration that loses or bends a
//! row of a real user's database fails here, whatever the code of the day
//! would write.
//!
//! `write_fixtures` made them (`cargo test --test it upgrade::write_fixtures
//! -- --ignored`); it is kept to show what they hold and how, not to be
//! run again: regenerated fixtures would test nothing.

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use sotto::knock::{PushInfo, Token};
use sotto::model::{Contact, PushSource, Subscription};
use sotto::store::{
    CorrectionOutcome, Direction, MessageState, NewCorrection, NewIncoming, Placement, Store,
    StoreError, StoreKey, StoredMessage, StoredPushInfo,
};

/// The fixtures' key. A test key: it protects nothing.
const KEY: [u8; 32] = [
    0x53, 0x6f, 0x74, 0x74, 0x6f, 0x20, 0x66, 0x69, 0x78, 0x74, 0x75, 0x72, 0x65, 0x20, 0x6b, 0x65,
    0x79, 0x2c, 0x20, 0x6e, 0x6f, 0x74, 0x20, 0x61, 0x20, 0x73, 0x65, 0x63, 0x72, 0x65, 0x74, 0x21,
];

const ALICE: &str = "alice@example.org";
const WORK: &str = "work@corp.example";
const BOB: &str = "bob@example.org";
const ZOE: &str = "zoë@example.org";
const CAROL: &str = "carol@example.net";
const BOSS: &str = "boss@corp.example";

/// 2026-01-01T00:00:00Z, and the fixtures' times after it.
const T0: i64 = 1_767_225_600_000;
const MINUTE: i64 = 60_000;

/// Rows every schema holds (schema 1's tables).
const SCHEMA_1_ROWS: &str = "
INSERT INTO accounts (id, jid, mam_last_id, sync_since) VALUES
    (1, 'alice@example.org', 'arch-0042', 1766016000000),
    (2, 'work@corp.example', NULL, 1766016000000);

INSERT INTO contacts (account_id, jid, name, subscription, pending_out, groups) VALUES
    (1, 'bob@example.org', 'Bob', 'both', 0, '[\"Friends\"]'),
    (1, 'zoë@example.org', 'Zoë Ωmega ✨', 'to', 0, '[\"Family\",\"Über uns\"]'),
    (1, 'carol@example.net', NULL, 'none', 1, '[]'),
    (2, 'boss@corp.example', 'The Boss', 'from', 0, '[]');

INSERT INTO conversations (id, account_id, peer, last_activity, unread, muted) VALUES
    (1, 1, 'bob@example.org', 1767225960000, 2, 0),
    (2, 1, 'zoë@example.org', 1767225720000, 0, 1),
    (3, 2, 'boss@corp.example', 1767225660000, 0, 0);

INSERT INTO messages (id, conversation_id, direction, sender, body, sent_at, stored_at, state,
                      failure, origin_id, stanza_id, archive_id) VALUES
    (1, 1, 'in', 'bob@example.org/phone', 'Hi Alice 👋', 1767225600000, 1767225600100,
        'received', NULL, 'o-bob-1', 's-bob-1', 'arch-0041'),
    (2, 1, 'out', 'alice@example.org', 'Hello Bob', 1767225660000, 1767225660000,
        'acked', NULL, 'o-alice-1', 's-alice-1', NULL),
    (3, 1, 'out', 'alice@example.org', 'Are you there?', 1767225720000, 1767225720000,
        'failed', 'recipient-unavailable: Bob is not online', 'o-alice-2', NULL, NULL),
    (4, 1, 'in', 'bob@example.org/phone', 'Yes — ünïcode <b>not markup</b> & more',
        1767225780000, 1767225780050, 'received', NULL, NULL, 's-bob-2', 'arch-0042'),
    (5, 1, 'out', 'alice@example.org', 'Queued while offline', 1767225900000, 1767225900000,
        'queued', NULL, 'o-alice-3', NULL, NULL),
    (6, 1, 'out', 'alice@example.org', 'The server refused this one', 1767225960000,
        1767225960000, 'queued', NULL, 'o-alice-4', NULL, NULL),
    (7, 2, 'in', 'zoë@example.org/laptop', 'Grüße aus Zürich', 1767225600000, 1767225600000,
        'received', NULL, 'o-zoe-1', 's-zoe-1', NULL),
    (8, 2, 'out', 'alice@example.org', 'Danke!', 1767225720000, 1767225720000,
        'read', NULL, 'o-alice-5', 's-alice-5', NULL),
    (9, 3, 'out', 'work@corp.example', 'Report attached', 1767225660000, 1767225660000,
        'delivered', NULL, 'o-work-1', 's-work-1', NULL);

INSERT INTO outbox (message_id, account_id, attempts, last_error, wedged) VALUES
    (5, 1, 2, 'connection lost', 0),
    (6, 1, 5, 'policy-violation', 1);

INSERT INTO secrets (name, value) VALUES
    ('xmpp:alice@example.org', 'fixture password, not a secret'),
    ('xmpp:work@corp.example', 'another fixture password');
";

/// Schema 2 added knocks: a contact's push info.
const SCHEMA_2_ROWS: &str = "
INSERT INTO push_info (account_id, contact, endpoint, tokens, source, updated_at,
                       last_knock_at, last_result, auto_knock) VALUES
    (1, 'bob@example.org', 'https://push.example.org/api/v1/', '[\"tok-old-AAAA\",\"tok-new-BBBB\"]',
        'pep', 1767225000000, 1767225500000, 'delivered to 2 devices', 1),
    (1, 'zoë@example.org', 'https://relay.example.net:8443/knock', '[\"zoe-token-1\"]',
        'manual', 1767224000000, NULL, NULL, 0);
";

/// Schema 3 added corrections and chat markers.
const SCHEMA_3_ROWS: &str = "
UPDATE messages SET body = 'Grüße aus Zürich und Bern', edited_at = 1767225700000,
    wire_id = 'o-zoe-1', markable = 1 WHERE id = 7;
UPDATE messages SET wire_id = 'w-bob-2', markable = 1 WHERE id = 4;
UPDATE conversations SET displayed_up_to = 7 WHERE id = 2;
";

const MIGRATIONS: &[&str] = &[
    include_str!("../../src/store/migrations/001_initial.sql"),
    include_str!("../../src/store/migrations/002_push_info.sql"),
    include_str!("../../src/store/migrations/003_corrections_markers.sql"),
];

fn fixture(version: usize) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("store-schema{version}.db"))
}

fn keyed(path: &Path) -> Connection {
    let conn = Connection::open(path).expect("open");
    let hex: String = KEY.iter().map(|b| format!("{b:02x}")).collect();
    conn.execute_batch(&format!(
        "PRAGMA cipher_log_level = NONE; PRAGMA key = \"x'{hex}'\";"
    ))
    .expect("key");
    conn
}

#[test]
#[ignore = "made the committed fixtures; see the module's comment"]
fn write_fixtures() {
    let rows = [SCHEMA_1_ROWS, SCHEMA_2_ROWS, SCHEMA_3_ROWS];
    for version in 1..=MIGRATIONS.len() {
        let path = fixture(version);
        let _ = std::fs::remove_file(&path);
        let mut conn = keyed(&path);
        // A single file: no -wal beside it to forget to commit.
        conn.execute_batch("PRAGMA journal_mode = DELETE;")
            .expect("journal");
        for (index, sql) in MIGRATIONS.iter().take(version).enumerate() {
            let tx = conn.transaction().expect("tx");
            tx.execute_batch(sql).expect("migration");
            tx.pragma_update(None, "user_version", index as i64 + 1)
                .expect("version");
            tx.commit().expect("commit");
        }
        for sql in rows.iter().take(version) {
            conn.execute_batch(sql).expect("rows");
        }
        conn.execute_batch("VACUUM;").expect("vacuum");
    }
}

/// A copy of fixture `version`, opened by today's code.
fn upgraded(version: usize) -> (tempfile::TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sotto.db");
    std::fs::copy(fixture(version), &path).expect("copy the fixture");
    let store = Store::open(&path, &StoreKey::from_bytes(KEY))
        .unwrap_or_else(|e| panic!("schema {version} opens and upgrades: {e}"));
    (dir, path, store)
}

fn contact(jid: &str, name: Option<&str>, subscription: Subscription, pending: bool) -> Contact {
    Contact {
        jid: jid.parse().expect("jid"),
        name: name.map(str::to_owned),
        subscription,
        pending_out: pending,
        groups: Vec::new(),
    }
}

#[allow(clippy::too_many_arguments)]
fn message(
    id: i64,
    account: &str,
    peer: &str,
    direction: Direction,
    sender: &str,
    body: &str,
    minutes: i64,
    state: MessageState,
    ids: (Option<&str>, Option<&str>),
) -> StoredMessage {
    StoredMessage {
        id,
        account: account.into(),
        peer: peer.into(),
        direction,
        sender: sender.into(),
        body: body.into(),
        sent_at: T0 + minutes * MINUTE,
        state,
        failure: None,
        origin_id: ids.0.map(str::to_owned),
        stanza_id: ids.1.map(str::to_owned),
        edited_at: None,
        encrypted: false,
        omemo_notice: false,
    }
}

/// Alice's messages as every schema stored them, by conversation then time.
fn alice_messages(version: usize) -> Vec<StoredMessage> {
    use Direction::{In, Out};
    use MessageState::*;
    let mut failed = message(
        3,
        ALICE,
        BOB,
        Out,
        ALICE,
        "Are you there?",
        2,
        Failed,
        (Some("o-alice-2"), None),
    );
    failed.failure = Some("recipient-unavailable: Bob is not online".into());
    let mut zoe = message(
        7,
        ALICE,
        ZOE,
        In,
        "zoë@example.org/laptop",
        "Grüße aus Zürich",
        0,
        Received,
        (Some("o-zoe-1"), Some("s-zoe-1")),
    );
    if version >= 3 {
        zoe.body = "Grüße aus Zürich und Bern".into();
        zoe.edited_at = Some(T0 + 100_000);
    }
    vec![
        message(
            1,
            ALICE,
            BOB,
            In,
            "bob@example.org/phone",
            "Hi Alice 👋",
            0,
            Received,
            (Some("o-bob-1"), Some("s-bob-1")),
        ),
        message(
            2,
            ALICE,
            BOB,
            Out,
            ALICE,
            "Hello Bob",
            1,
            Acked,
            (Some("o-alice-1"), Some("s-alice-1")),
        ),
        failed,
        message(
            4,
            ALICE,
            BOB,
            In,
            "bob@example.org/phone",
            "Yes — ünïcode <b>not markup</b> & more",
            3,
            Received,
            (None, Some("s-bob-2")),
        ),
        message(
            5,
            ALICE,
            BOB,
            Out,
            ALICE,
            "Queued while offline",
            5,
            Queued,
            (Some("o-alice-3"), None),
        ),
        message(
            6,
            ALICE,
            BOB,
            Out,
            ALICE,
            "The server refused this one",
            6,
            Queued,
            (Some("o-alice-4"), None),
        ),
        zoe,
        message(
            8,
            ALICE,
            ZOE,
            Out,
            ALICE,
            "Danke!",
            2,
            Read,
            (Some("o-alice-5"), Some("s-alice-5")),
        ),
    ]
}

fn check_every_row(version: usize, path: &Path, store: &Store) {
    let found: i64 = keyed(path)
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(found, 9, "schema {version} is brought to today's schema");
    // Schema 9 (group chats): every old conversation is one with a person.
    let rooms: i64 = keyed(path)
        .query_row(
            "SELECT count(*) FROM conversations WHERE kind != 'chat'",
            [],
            |r| r.get(0),
        )
        .expect("kinds");
    assert_eq!(rooms, 0);
    assert!(store.rooms(ALICE).expect("rooms").is_empty());

    // Accounts, and where their catch-up resumes.
    assert_eq!(
        store.mam_last_id(ALICE).expect("mam"),
        Some("arch-0042".into())
    );
    assert_eq!(store.mam_last_id(WORK).expect("mam"), None);
    assert_eq!(
        store.sync_since(WORK, 0).expect("since"),
        1_766_016_000_000,
        "a first catch-up's fixed start survives"
    );
    assert!(
        !store.ca_seen(ALICE).expect("ca_seen"),
        "no CA was seen yet"
    );

    // Contacts, by address.
    let mut bob = contact(BOB, Some("Bob"), Subscription::Both, false);
    bob.groups = vec!["Friends".into()];
    let mut zoe = contact(ZOE, Some("Zoë Ωmega ✨"), Subscription::To, false);
    zoe.groups = vec!["Family".into(), "Über uns".into()];
    assert_eq!(
        store.contacts(ALICE).expect("contacts"),
        vec![bob, contact(CAROL, None, Subscription::None, true), zoe]
    );
    assert_eq!(
        store.contacts(WORK).expect("contacts"),
        vec![contact(BOSS, Some("The Boss"), Subscription::From, false)]
    );

    // Conversations, newest first, with unread counts and mutes.
    let summaries: Vec<_> = store
        .conversations(None)
        .expect("conversations")
        .into_iter()
        .map(|c| {
            (
                c.account,
                c.peer,
                c.last_activity,
                c.unread,
                c.muted,
                c.last_body,
                c.last_direction,
            )
        })
        .collect();
    let zoe_last = "Danke!".to_owned();
    assert_eq!(
        summaries,
        vec![
            (
                ALICE.into(),
                BOB.into(),
                T0 + 6 * MINUTE,
                2,
                false,
                Some("The server refused this one".into()),
                Some(Direction::Out)
            ),
            (
                ALICE.into(),
                ZOE.into(),
                T0 + 2 * MINUTE,
                0,
                true,
                Some(zoe_last),
                Some(Direction::Out)
            ),
            (
                WORK.into(),
                BOSS.into(),
                T0 + MINUTE,
                0,
                false,
                Some("Report attached".into()),
                Some(Direction::Out)
            ),
        ]
    );

    // Every message, field by field, through the export path and a page.
    let expected = alice_messages(version);
    assert_eq!(store.all_messages(ALICE).expect("all"), expected);
    assert_eq!(
        store.messages_before(ALICE, BOB, None, 50).expect("page"),
        expected[..6].to_vec()
    );
    assert_eq!(
        store.all_messages(WORK).expect("all"),
        vec![message(
            9,
            WORK,
            BOSS,
            Direction::Out,
            WORK,
            "Report attached",
            1,
            MessageState::Delivered,
            (Some("o-work-1"), Some("s-work-1")),
        )]
    );

    // The outbox: what is waiting is still sent; what was wedged stays out.
    let waiting: Vec<(i64, bool)> = store
        .outbox(ALICE)
        .expect("outbox")
        .iter()
        .map(|q| (q.message.id, q.plain))
        .collect();
    assert_eq!(waiting, vec![(5, false)]);
    assert!(store.outbox(WORK).expect("outbox").is_empty());

    // Passwords kept in the database when no keychain was reachable.
    assert_eq!(
        store.secret("xmpp:alice@example.org").expect("secret"),
        Some("fixture password, not a secret".into())
    );
    assert_eq!(
        store.secret("xmpp:work@corp.example").expect("secret"),
        Some("another fixture password".into())
    );

    // Search still finds old bodies, diacritics folded.
    let hits = store.search(None, "zurich", 10).expect("search");
    assert_eq!(
        hits.iter().map(|h| h.message.id).collect::<Vec<_>>(),
        vec![7]
    );
    assert_eq!(store.search(Some(WORK), "report", 10).expect("s").len(), 1);

    // Knock info (schema 2 on).
    let bob_push = store.push_info(ALICE, BOB).expect("push info");
    let zoe_push = store.push_info(ALICE, ZOE).expect("push info");
    if version >= 2 {
        let tokens = |ts: &[&str]| -> Vec<Token> {
            ts.iter().map(|t| Token::parse(t).expect("token")).collect()
        };
        assert_eq!(
            bob_push,
            Some(StoredPushInfo {
                info: PushInfo::new(
                    "https://push.example.org/api/v1/",
                    tokens(&["tok-old-AAAA", "tok-new-BBBB"])
                )
                .expect("info"),
                source: PushSource::Pep,
                updated_at: 1_767_225_000_000,
                last_knock_at: Some(1_767_225_500_000),
                last_result: Some("delivered to 2 devices".into()),
                auto_knock: true,
            })
        );
        assert_eq!(
            zoe_push,
            Some(StoredPushInfo {
                info: PushInfo::new(
                    "https://relay.example.net:8443/knock",
                    tokens(&["zoe-token-1"])
                )
                .expect("info"),
                source: PushSource::Manual,
                updated_at: 1_767_224_000_000,
                last_knock_at: None,
                last_result: None,
                auto_knock: false,
            })
        );
    } else {
        assert_eq!((bob_push, zoe_push), (None, None));
    }
}

/// After an upgrade the store takes new writes, through every table a
/// later schema touched.
fn check_new_writes(store: &Store) {
    let stored = store
        .insert_incoming(&NewIncoming {
            account: ALICE,
            peer: BOB,
            sender: "bob@example.org/phone",
            body: "after the upgrade",
            sent_at: T0 + 10 * MINUTE,
            placement: Placement::AsStamped,
            origin_id: Some("o-bob-new"),
            stanza_id: Some("s-bob-new"),
            archive_id: Some("arch-0043"),
            count_unread: true,
            wire_id: Some("o-bob-new"),
            markable: true,
            encrypted: false,
            omemo_notice: false,
        })
        .expect("insert")
        .expect("new, not a duplicate");
    // A message the old schema stored is corrected by its sender.
    let outcome = store
        .correct_message(&NewCorrection {
            account: ALICE,
            peer: BOB,
            sender: "bob@example.org/phone",
            replaces: "o-bob-1",
            body: "Hi Alice, corrected",
            at: T0 + 11 * MINUTE,
            outgoing: false,
        })
        .expect("correct");
    assert!(
        matches!(outcome, CorrectionOutcome::Applied(ref m) if m.id == 1),
        "{outcome:?}"
    );
    assert_eq!(
        store
            .mark_read_for_marker(ALICE, BOB)
            .expect("marker")
            .as_deref(),
        Some("o-bob-new"),
        "the new markable message is the one to mark displayed"
    );
    store.mark_read(ALICE, BOB).expect("read");
    let conversations = store.conversations(Some(ALICE)).expect("conversations");
    assert_eq!(conversations[0].peer, BOB);
    assert_eq!(conversations[0].unread, 0);
    assert_eq!(
        store.messages_before(ALICE, BOB, None, 1).expect("page")[0].id,
        stored.id
    );
    store.set_ca_seen(ALICE).expect("ca_seen");
    assert!(store.ca_seen(ALICE).expect("ca_seen"));
}

fn upgrades(version: usize) {
    let (_dir, path, store) = upgraded(version);
    check_every_row(version, &path, &store);
    check_new_writes(&store);
    drop(store);
    // Opened again: nothing to migrate, and the new rows are there.
    let store = Store::open(&path, &StoreKey::from_bytes(KEY)).expect("reopen");
    assert_eq!(store.all_messages(ALICE).expect("all").len(), 9);
    assert_eq!(store.contacts(ALICE).expect("contacts").len(), 3);
}

#[test]
fn schema_1_upgrades_with_every_row() {
    upgrades(1);
}

#[test]
fn schema_2_upgrades_with_every_row() {
    upgrades(2);
}

#[test]
fn schema_3_upgrades_with_every_row() {
    upgrades(3);
}

#[test]
fn a_wrong_key_leaves_an_old_database_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sotto.db");
    std::fs::copy(fixture(1), &path).expect("copy");
    let before = std::fs::read(&path).expect("read");
    let err = Store::open(&path, &StoreKey::from_bytes([7; 32])).expect_err("wrong key");
    assert!(matches!(err, StoreError::Locked), "{err:?}");
    assert_eq!(std::fs::read(&path).expect("read"), before);
    // And the right key still opens it.
    let (_dir, path, store) = upgraded(1);
    check_every_row(1, &path, &store);
}
