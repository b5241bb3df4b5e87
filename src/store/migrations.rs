//! Numbered schema migrations, each applied in its own transaction that
//! also records the new `user_version`.

use rusqlite::Connection;

use super::StoreError;

/// Migration N brings the schema from version N-1 to N.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/001_initial.sql"),
    include_str!("migrations/002_push_info.sql"),
    include_str!("migrations/003_corrections_markers.sql"),
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

    #[test]
    fn a_schema_1_database_upgrades_with_its_data() {
        use crate::store::{NewIncoming, Store, StoreKey};
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.db");
        let key = StoreKey::from_bytes([3; 32]);
        {
            // What the first release wrote: schema 1 and a message.
            let store = Store::open(&path, &key).expect("open");
            let conn = store.conn().expect("conn");
            conn.execute_batch("DROP TABLE push_info; PRAGMA user_version = 1;")
                .expect("back to schema 1");
            drop(conn);
            store
                .insert_incoming(&NewIncoming {
                    account: "me@x",
                    peer: "bob@x",
                    sender: "bob@x/p",
                    body: "from schema 1",
                    sent_at: 1,
                    origin_id: None,
                    stanza_id: Some("s"),
                    archive_id: None,
                    count_unread: true,
                    wire_id: None,
                    markable: false,
                })
                .expect("insert");
        }
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
        assert_eq!(page[0].body, "from schema 1");
        assert!(
            store
                .push_info("me@x", "bob@x")
                .expect("new table")
                .is_none()
        );
        let mut partial = Connection::open_in_memory().expect("db");
        apply_up_to(&mut partial, 0, 1).expect("schema 1 alone applies");
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
