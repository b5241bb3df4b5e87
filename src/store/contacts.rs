//! The roster as last seen, so front ends can show contacts offline.

use rusqlite::params;

use super::{Store, StoreError};
use crate::model::{Contact, Subscription};

fn subscription_str(s: Subscription) -> &'static str {
    match s {
        Subscription::None => "none",
        Subscription::To => "to",
        Subscription::From => "from",
        Subscription::Both => "both",
    }
}

fn parse_subscription(s: &str) -> Subscription {
    match s {
        "to" => Subscription::To,
        "from" => Subscription::From,
        "both" => Subscription::Both,
        _ => Subscription::None,
    }
}

fn upsert(conn: &rusqlite::Connection, account_id: i64, c: &Contact) -> Result<(), StoreError> {
    let groups = serde_json::to_string(&c.groups).unwrap_or_else(|_| "[]".into());
    conn.prepare_cached(
        "INSERT INTO contacts (account_id, jid, name, subscription, pending_out, groups)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (account_id, jid) DO UPDATE SET name = excluded.name,
             subscription = excluded.subscription, pending_out = excluded.pending_out,
             groups = excluded.groups",
    )?
    .execute(params![
        account_id,
        c.jid.as_str(),
        c.name,
        subscription_str(c.subscription),
        c.pending_out,
        groups
    ])?;
    Ok(())
}

impl Store {
    /// Replaces the account's contacts with a full roster from the server.
    pub fn replace_roster(&self, account: &str, contacts: &[Contact]) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let account_id = Self::account_id(&tx, account)?;
        tx.execute(
            "DELETE FROM contacts WHERE account_id = ?1",
            params![account_id],
        )?;
        for c in contacts {
            upsert(&tx, account_id, c)?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn save_contact(&self, account: &str, contact: &Contact) -> Result<(), StoreError> {
        let conn = self.conn()?;
        let account_id = Self::account_id(&conn, account)?;
        upsert(&conn, account_id, contact)
    }

    pub fn remove_contact(&self, account: &str, jid: &str) -> Result<(), StoreError> {
        self.conn()?.execute(
            "DELETE FROM contacts WHERE jid = ?2
             AND account_id = (SELECT id FROM accounts WHERE jid = ?1)",
            params![account, jid],
        )?;
        Ok(())
    }

    /// The account's contacts by address.
    pub fn contacts(&self, account: &str) -> Result<Vec<Contact>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT c.jid, c.name, c.subscription, c.pending_out, c.groups
             FROM contacts c JOIN accounts a ON a.id = c.account_id
             WHERE a.jid = ?1 ORDER BY c.jid",
        )?;
        let rows = stmt.query_map(params![account], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, bool>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (jid, name, subscription, pending_out, groups) = row?;
            // A row this code did not write is skipped, not fatal.
            let Ok(jid) = jid.parse() else { continue };
            out.push(Contact {
                jid,
                name,
                subscription: parse_subscription(&subscription),
                pending_out,
                groups: serde_json::from_str(&groups).unwrap_or_default(),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreKey;

    fn contact(jid: &str, sub: Subscription) -> Contact {
        Contact {
            jid: jid.parse().expect("jid"),
            name: Some("N".into()),
            subscription: sub,
            pending_out: false,
            groups: vec!["Friends".into()],
        }
    }

    #[test]
    fn the_roster_round_trips_and_updates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store =
            Store::open(&dir.path().join("db"), &StoreKey::from_bytes([5; 32])).expect("open");
        store
            .replace_roster(
                "me@x",
                &[
                    contact("a@x", Subscription::Both),
                    contact("b@x", Subscription::To),
                ],
            )
            .expect("roster");
        store
            .save_contact("me@x", &contact("b@x", Subscription::Both))
            .expect("save");
        store.remove_contact("me@x", "a@x").expect("remove");
        let got = store.contacts("me@x").expect("contacts");
        assert_eq!(got, vec![contact("b@x", Subscription::Both)]);
        store.replace_roster("me@x", &[]).expect("empty roster");
        assert!(store.contacts("me@x").expect("contacts").is_empty());
    }
}
