//! Numbered schema migrations, each applied in its own transaction that
//! also records the new `user_version`.

use rusqlite::Connection;

use super::StoreError;

/// Migration N brings the schema from version N-1 to N.
const MIGRATIONS: &[&str] = &[include_str!("migrations/001_initial.sql")];

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
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
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
