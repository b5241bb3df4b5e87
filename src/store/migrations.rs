//! Numbered schema migrations, each applied in its own transaction that
//! also records the new `user_version`.

use rusqlite::Connection;

use super::StoreError;

/// Migration N brings the schema from version N-1 to N.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_initial.sql"),
    include_str!("migrations/002_push_info.sql"),
    include_str!("migrations/003_corrections_markers.sql"),
    include_str!("migrations/004_ca_seen_archive_ids.sql"),
    include_str!("migrations/005_omemo.sql"),
    include_str!("migrations/006_omemo_messages.sql"),
    include_str!("migrations/007_omemo_undecided.sql"),
    include_str!("migrations/008_outbox_plain.sql"),
    include_str!("migrations/009_rooms.sql"),
];

pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

pub fn apply(conn: &mut Connection) -> Result<(), StoreError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > latest() {
        return Err(StoreError::TooNew {
            found: current,
            known: latest(),
        });
    }
    apply_up_to(conn, current, latest())
}

fn apply_up_to(conn: &mut Connection, current: i64, target: i64) -> Result<(), StoreError> {
    for (index, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(target as usize)
        .skip(current as usize)
    {
        let version = index as i64 + 1;
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(version, "database schema upgraded");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database as release `version` wrote it, with one message.
    fn old_database(path: &std::path::Path, key: &crate::store::StoreKey, version: i64) {
        let mut conn = Connection::open(path).expect("open");
        let hex: String = key.bytes().iter().map(|b| format!("{b:02x}")).collect();
        conn.execute_batch(&format!("PRAGMA key = \"x'{hex}'\";"))
            .expect("key");
        apply_up_to(&mut conn, 0, version).expect("old schema");
        conn.execute_batch(
            "INSERT INTO accounts (id, jid) VALUES (1, 'me@x');
             INSERT INTO conversations (id, account_id, peer, unread) VALUES (1, 1, 'bob@x', 1);
             INSERT INTO messages (conversation_id, direction, sender, body, sent_at, stored_at,
                                   state, origin_id, stanza_id)
             VALUES (1, 'in', 'bob@x/p', 'from an old schema', 1, 1, 'received', 'o1', 's');",
        )
        .expect("old rows");
    }

    #[test]
    fn older_databases_upgrade_with_their_data() {
        use crate::store::{CorrectionOutcome, NewCorrection, Store, StoreKey};
        for version in 1..latest() {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("old.db");
            let key = StoreKey::from_bytes([3; 32]);
            old_database(&path, &key, version);
            let store = Store::open(&path, &key).expect("upgrade");
            let v: i64 = store
                .conn()
                .expect("conn")
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .expect("version");
            assert_eq!(v, latest());
            let page = store
                .messages_before("me@x", "bob@x", None, 5)
                .expect("page");
            assert_eq!(page[0].body, "from an old schema", "from schema {version}");
            assert_eq!(page[0].edited_at, None);
            assert!(
                store
                    .push_info("me@x", "bob@x")
                    .expect("push info table")
                    .is_none()
            );
            // An old message can be corrected, and search follows.
            let outcome = store
                .correct_message(&NewCorrection {
                    account: "me@x",
                    peer: "bob@x",
                    sender: "bob@x/p",
                    replaces: "o1",
                    body: "corrected after the upgrade",
                    at: 2,
                    outgoing: false,
                })
                .expect("correct");
            assert!(matches!(outcome, CorrectionOutcome::Applied(_)));
            assert_eq!(store.search(None, "upgrade", 5).expect("search").len(), 1);
            assert!(store.search(None, "schema", 5).expect("search").is_empty());
            assert_eq!(
                store.mark_read_for_marker("me@x", "bob@x").expect("read"),
                None,
                "old messages never asked for markers"
            );
        }
        let mut partial = Connection::open_in_memory().expect("db");
        apply_up_to(&mut partial, 0, 1).expect("schema 1 alone applies");
    }

    #[test]
    fn schema_7_keeps_every_omemo_device_and_lets_one_wait_for_a_decision() {
        let mut conn = Connection::open_in_memory().expect("db");
        apply_up_to(&mut conn, 0, 6).expect("schema 6");
        conn.execute_batch(
            "INSERT INTO accounts (id, jid) VALUES (1, 'me@x');
             INSERT INTO omemo_devices VALUES (1, 'bob@x', 'omemo2', 7, 'Phone', 1, 10, x'0102', 'verified');
             INSERT INTO omemo_devices VALUES (1, 'bob@x', 'legacy', 8, NULL, 0, 11, x'0304', 'untrusted');
             INSERT INTO omemo_devices VALUES (1, 'bob@x', 'legacy', 9, NULL, 1, 12, NULL, NULL);",
        )
        .expect("schema 6 rows");
        let before: Vec<String> = dump(&conn);
        assert!(
            conn.execute(
                "UPDATE omemo_devices SET trust = 'undecided' WHERE device_id = 8",
                []
            )
            .is_err(),
            "schema 6 has no undecided"
        );
        apply_up_to(&mut conn, 6, 7).expect("schema 7");
        assert_eq!(dump(&conn), before, "every row as it was");
        conn.execute(
            "UPDATE omemo_devices SET trust = 'undecided' WHERE device_id = 8",
            [],
        )
        .expect("undecided is a trust now");
    }

    fn dump(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare(
                "SELECT account_id, jid, namespace, device_id, label, active, first_seen,
                        hex(identity_key), trust
                 FROM omemo_devices ORDER BY device_id",
            )
            .expect("select");
        stmt.query_map([], |r| {
            Ok(format!(
                "{}|{}|{}|{}|{:?}|{}|{}|{:?}|{:?}",
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, Option<String>>(8)?,
            ))
        })
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows")
    }

    #[test]
    fn applies_once_and_refuses_a_newer_schema() {
        let mut conn = Connection::open_in_memory().expect("db");
        apply(&mut conn).expect("first");
        apply(&mut conn).expect("idempotent");
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(v, latest());
        conn.pragma_update(None, "user_version", latest() + 1)
            .expect("bump");
        assert!(matches!(apply(&mut conn), Err(StoreError::TooNew { .. })));
    }
}
