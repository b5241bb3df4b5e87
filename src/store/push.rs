//! Contacts' push info for knocks.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError, now_ms};
use crate::knock::{PushInfo, Token};
pub use crate::model::PushSource;

impl PushSource {
    fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Pep => "pep",
            Self::Message => "message",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "pep" => Self::Pep,
            "message" => Self::Message,
            _ => Self::Manual,
        }
    }
}

/// A contact's push info as stored, with the last knock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPushInfo {
    pub info: PushInfo,
    pub source: PushSource,
    pub updated_at: i64,
    pub last_knock_at: Option<i64>,
    pub last_result: Option<String>,
    pub auto_knock: bool,
}

impl Store {
    /// Adds push info for a contact; newer info for the same relay adds
    /// tokens, info for another relay replaces it.
    pub fn add_push_info(
        &self,
        account: &str,
        contact: &str,
        info: PushInfo,
        source: PushSource,
    ) -> Result<StoredPushInfo, StoreError> {
        let merged = match self.push_info(account, contact)? {
            Some(mut old) => {
                old.info.merge(info);
                old.info
            }
            None => info,
        };
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let account_id = Self::account_id(&tx, account)?;
        let tokens: Vec<&str> = merged.tokens.iter().map(Token::expose).collect();
        tx.execute(
            "INSERT INTO push_info (account_id, contact, endpoint, tokens, source, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (account_id, contact) DO UPDATE SET endpoint = excluded.endpoint,
                 tokens = excluded.tokens, source = excluded.source,
                 updated_at = excluded.updated_at",
            params![
                account_id,
                contact,
                merged.endpoint.as_str(),
                serde_json::to_string(&tokens).unwrap_or_else(|_| "[]".into()),
                source.as_str(),
                now_ms()
            ],
        )?;
        tx.commit()?;
        drop(conn);
        self.push_info(account, contact)?
            .ok_or_else(|| StoreError::Sql(rusqlite::Error::QueryReturnedNoRows))
    }

    pub fn push_info(
        &self,
        account: &str,
        contact: &str,
    ) -> Result<Option<StoredPushInfo>, StoreError> {
        let conn = self.conn()?;
        let row = conn
            .query_row(
                "SELECT p.endpoint, p.tokens, p.source, p.updated_at, p.last_knock_at,
                        p.last_result, p.auto_knock
                 FROM push_info p JOIN accounts a ON a.id = p.account_id
                 WHERE a.jid = ?1 AND p.contact = ?2",
                params![account, contact],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, Option<i64>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, bool>(6)?,
                    ))
                },
            )
            .optional()?;
        let Some((endpoint, tokens, source, updated_at, last_knock_at, last_result, auto)) = row
        else {
            return Ok(None);
        };
        let tokens: Vec<String> = serde_json::from_str(&tokens).unwrap_or_default();
        let tokens: Vec<Token> = tokens.iter().filter_map(|t| Token::parse(t).ok()).collect();
        // Every token dropped as revoked: the endpoint alone cannot knock.
        let Ok(info) = PushInfo::new(&endpoint, tokens) else {
            return Ok(None);
        };
        Ok(Some(StoredPushInfo {
            info,
            source: PushSource::parse(&source),
            updated_at,
            last_knock_at,
            last_result,
            auto_knock: auto,
        }))
    }

    /// Turns auto-knock on or off; false when there is no push info.
    pub fn set_auto_knock(
        &self,
        account: &str,
        contact: &str,
        on: bool,
    ) -> Result<bool, StoreError> {
        Ok(self.conn()?.execute(
            "UPDATE push_info SET auto_knock = ?3 WHERE contact = ?2
             AND account_id = (SELECT id FROM accounts WHERE jid = ?1)",
            params![account, contact, on],
        )? > 0)
    }

    pub fn remove_push_info(&self, account: &str, contact: &str) -> Result<bool, StoreError> {
        Ok(self.conn()?.execute(
            "DELETE FROM push_info WHERE contact = ?2
             AND account_id = (SELECT id FROM accounts WHERE jid = ?1)",
            params![account, contact],
        )? > 0)
    }

    /// Records a knock: how it went, which tokens the relay no longer knows
    /// (they are removed), and, when the relay was contacted, when.
    pub fn record_knock(
        &self,
        account: &str,
        contact: &str,
        result: &str,
        dropped: &[Token],
        contacted: bool,
    ) -> Result<(), StoreError> {
        let Some(mut stored) = self.push_info(account, contact)? else {
            return Ok(());
        };
        stored.info.tokens.retain(|t| !dropped.contains(t));
        let tokens: Vec<&str> = stored.info.tokens.iter().map(Token::expose).collect();
        self.conn()?.execute(
            "UPDATE push_info SET tokens = ?3, last_result = ?5,
                 last_knock_at = CASE WHEN ?6 THEN ?4 ELSE last_knock_at END
             WHERE contact = ?2 AND account_id = (SELECT id FROM accounts WHERE jid = ?1)",
            params![
                account,
                contact,
                serde_json::to_string(&tokens).unwrap_or_else(|_| "[]".into()),
                now_ms(),
                result,
                contacted
            ],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreKey;

    fn t(s: &str) -> Token {
        Token::parse(s).expect("token")
    }

    #[test]
    fn push_info_merges_records_knocks_and_drops_revoked_tokens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store =
            Store::open(&dir.path().join("db"), &StoreKey::from_bytes([8; 32])).expect("open");
        let info = PushInfo::new("https://relay.example/api/v1/", vec![t("one")]).expect("info");
        store
            .add_push_info("me@x", "bob@x", info, PushSource::Manual)
            .expect("add");
        let newer = PushInfo::new("https://relay.example/api/v1/", vec![t("two")]).expect("info");
        let stored = store
            .add_push_info("me@x", "bob@x", newer, PushSource::Pep)
            .expect("add");
        assert_eq!(stored.info.tokens, vec![t("one"), t("two")]);
        assert_eq!(stored.source, PushSource::Pep);

        store
            .record_knock("me@x", "bob@x", "accepted", &[t("one")], true)
            .expect("record");
        let after = store
            .push_info("me@x", "bob@x")
            .expect("read")
            .expect("some");
        assert_eq!(after.info.tokens, vec![t("two")]);
        assert_eq!(after.last_result.as_deref(), Some("accepted"));
        assert!(after.last_knock_at.is_some());

        assert!(store.remove_push_info("me@x", "bob@x").expect("remove"));
        assert!(store.push_info("me@x", "bob@x").expect("read").is_none());
    }
}
