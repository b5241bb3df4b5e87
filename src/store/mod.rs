//! The encrypted store: one SQLCipher database holding accounts' contacts,
//! conversations, messages and outbox (and the passwords when no keychain
//! is reachable). The only code that speaks SQL.

mod contacts;
mod key;
mod messages;
mod migrations;
mod omemo;
mod passphrase;
mod push;
mod reader;
mod rooms;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};
use thiserror::Error;
use zeroize::Zeroizing;

pub use key::{KeyOrigin, StoreKey, database_file, unlock};
pub use messages::{
    Advance, ConversationSummary, CorrectionOutcome, Cursor, Direction, MessageState,
    NewCorrection, NewIncoming, NewOutgoing, Placement, Queued, SearchHit, StoredMessage,
};
pub use omemo::{ChatEncryption, DeviceListChange, OmemoTrust, OwnDevice, StoredDevice};
pub use passphrase::{EnvOrTerminal, PASSPHRASE_ENV, PassphraseError, PassphrasePrompt};
pub use push::{PushSource, StoredPushInfo};
pub use reader::{OwnIdentity, Reader};
pub use rooms::{NewRoomMessage, RoomNotify, RoomResume, RoomStored, StoredRoom};

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("the database could not be unlocked: wrong key or passphrase, or the file is damaged")]
    Locked,
    #[error(
        "the database was written by a newer Sotto (schema {found}; this one knows up to {known})"
    )]
    TooNew { found: i64, known: i64 },
    #[error("the database key is not in the system keychain; without it {0} cannot be opened")]
    KeyMissing(PathBuf),
    #[error(transparent)]
    Keychain(#[from] crate::keychain::KeychainError),
    #[error(transparent)]
    Passphrase(#[from] PassphraseError),
    #[error("could not read or write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("the database is in use by a crashed task; restart Sotto")]
    Poisoned,
    #[error("stored OMEMO state is damaged: {0}")]
    CorruptOmemo(#[source] crate::omemo::Error),
    #[error("the database operation was interrupted because Sotto is shutting down")]
    Interrupted,
}

/// A handle to the open database; cheap to clone, safe to share. Only the
/// engine holds one: front ends read through a [`Reader`].
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    /// Kept to open the read-only connection of a [`Reader`]; `None` for
    /// the benchmarks' plaintext database.
    key: Option<Arc<StoreKey>>,
}

/// The unlocked database as front ends get it: they may read from it, or
/// hand it to the engine (`Engine::open`), which alone writes.
#[derive(Clone, Debug)]
pub struct Database(Store);

impl Database {
    /// A read-only handle (see [`Reader`]).
    pub fn reader(&self) -> Result<Reader, StoreError> {
        self.0.reader()
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    pub(crate) fn into_store(self) -> Store {
        self.0
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (or creates) the database at `path` with `key`, and brings
    /// its schema up to date. A wrong key is [`StoreError::Locked`], never
    /// a new empty database.
    pub fn open(path: &Path, key: &StoreKey) -> Result<Self, StoreError> {
        let existed = path.exists();
        let mut conn = connect(path, Some(key))?;
        if !existed {
            restrict_permissions(path)?;
        }
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;",
        )?;
        migrations::apply(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_owned(),
            key: Some(Arc::new(StoreKey::from_bytes(*key.bytes()))),
        })
    }

    /// A read-only handle on its own connection: front ends read while
    /// the engine writes (WAL), and the compiler keeps them from writing.
    pub fn reader(&self) -> Result<Reader, StoreError> {
        let conn = connect(&self.path, self.key.as_deref())?;
        // Readers never wait on the writer in WAL mode, except around a
        // checkpoint: a short wait, then a clear error.
        conn.execute_batch("PRAGMA query_only = ON; PRAGMA busy_timeout = 2000;")?;
        Ok(Reader::new(Self {
            conn: Arc::new(Mutex::new(conn)),
            path: self.path.clone(),
            key: self.key.clone(),
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }

    /// The account's row id, created on first use.
    fn account_id(conn: &Connection, jid: &str) -> Result<i64, StoreError> {
        conn.prepare_cached("INSERT INTO accounts (jid) VALUES (?1) ON CONFLICT (jid) DO NOTHING")?
            .execute(params![jid])?;
        Ok(conn
            .prepare_cached("SELECT id FROM accounts WHERE jid = ?1")?
            .query_row(params![jid], |r| r.get(0))?)
    }

    /// An unencrypted database, only to measure what SQLCipher costs.
    #[cfg(feature = "bench-plaintext")]
    pub fn open_plaintext_for_benchmarks(path: &Path) -> Result<Self, StoreError> {
        let mut conn = connect(path, None)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")?;
        migrations::apply(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_owned(),
            key: None,
        })
    }

    /// Forgets an account and everything stored for it.
    pub fn remove_account(&self, jid: &str) -> Result<(), StoreError> {
        self.conn()?
            .execute("DELETE FROM accounts WHERE jid = ?1", params![jid])?;
        Ok(())
    }

    /// The newest archive id stored for the account: where catch-up
    /// resumes.
    pub fn mam_last_id(&self, account: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT mam_last_id FROM accounts WHERE jid = ?1",
                params![account],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// When the account's message with this archive id sorts.
    pub fn archive_time(&self, account: &str, archive_id: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT m.sent_at FROM messages m
                 JOIN conversations c ON c.id = m.conversation_id
                 JOIN accounts a ON a.id = c.account_id
                 WHERE a.jid = ?1 AND m.archive_id = ?2
                 ORDER BY m.id LIMIT 1",
                params![account, archive_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// How far back the first catch-up reaches: `default` on the first
    /// call, the same value on every later one.
    pub fn sync_since(&self, account: &str, default: i64) -> Result<i64, StoreError> {
        let conn = self.conn()?;
        let account_id = Self::account_id(&conn, account)?;
        conn.execute(
            "UPDATE accounts SET sync_since = ?2 WHERE id = ?1 AND sync_since IS NULL",
            params![account_id, default],
        )?;
        Ok(conn.query_row(
            "SELECT sync_since FROM accounts WHERE id = ?1",
            params![account_id],
            |r| r.get(0),
        )?)
    }

    pub fn set_mam_last_id(&self, account: &str, id: &str) -> Result<(), StoreError> {
        let conn = self.conn()?;
        let account_id = Self::account_id(&conn, account)?;
        conn.execute(
            "UPDATE accounts SET mam_last_id = ?2 WHERE id = ?1",
            params![account_id, id],
        )?;
        Ok(())
    }

    /// A certificate trusted through the system's authorities was seen
    /// for the account.
    pub fn set_ca_seen(&self, account: &str) -> Result<(), StoreError> {
        let conn = self.conn()?;
        let account_id = Self::account_id(&conn, account)?;
        conn.execute(
            "UPDATE accounts SET ca_seen = 1 WHERE id = ?1",
            params![account_id],
        )?;
        Ok(())
    }

    /// Whether [`Store::set_ca_seen`] was ever called for the account.
    pub fn ca_seen(&self, account: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT ca_seen FROM accounts WHERE jid = ?1",
                params![account],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(false))
    }

    pub fn set_secret(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.conn()?.execute(
            "INSERT INTO secrets (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            params![name, value],
        )?;
        Ok(())
    }

    pub fn secret(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT value FROM secrets WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn delete_secret(&self, name: &str) -> Result<(), StoreError> {
        self.conn()?
            .execute("DELETE FROM secrets WHERE name = ?1", params![name])?;
        Ok(())
    }
}

/// Opens one connection with the key (a raw key skips SQLCipher's own
/// KDF: ours is already a 256-bit random key or an Argon2id output) and
/// checks it: a wrong key is [`StoreError::Locked`].
fn connect(path: &Path, key: Option<&StoreKey>) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    if let Some(key) = key {
        let hex = Zeroizing::new(
            key.bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>(),
        );
        // SQLCipher would print decryption failures to stderr; a wrong key
        // is reported as StoreError::Locked instead.
        conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
        conn.execute_batch(&Zeroizing::new(format!("PRAGMA key = \"x'{}'\";", *hex)))?;
    }
    // The first read tells whether the key is right.
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => {}
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::NotADatabase =>
        {
            return Err(StoreError::Locked);
        }
        Err(e) => return Err(e.into()),
    }
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;",
    )?;
    Ok(conn)
}

fn restrict_permissions(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(
            |source| StoreError::Io {
                path: path.to_owned(),
                source,
            },
        )?;
    }
    Ok(())
}

pub use crate::model::now_ms;

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> StoreKey {
        StoreKey::from_bytes([byte; 32])
    }

    #[test]
    fn the_file_on_disk_holds_no_plaintext() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sotto.db");
        let store = Store::open(&path, &key(7)).expect("open");
        store
            .insert_incoming(&NewIncoming {
                account: "a@example.org",
                peer: "b@example.org",
                sender: "b@example.org/phone",
                body: "unique-marker-5f1c2e",
                sent_at: 1,
                placement: Placement::AsStamped,
                origin_id: None,
                stanza_id: Some("s1"),
                archive_id: None,
                count_unread: true,
                wire_id: None,
                markable: false,
                encrypted: false,
                omemo_notice: false,
            })
            .expect("insert");
        store
            .set_secret("xmpp:a@example.org", "hunter2-marker")
            .expect("secret");
        drop(store);
        for entry in std::fs::read_dir(dir.path()).expect("dir") {
            let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
            for needle in [
                &b"unique-marker-5f1c2e"[..],
                b"hunter2-marker",
                b"SQLite format 3",
            ] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle),
                    "plaintext {:?} on disk",
                    String::from_utf8_lossy(needle)
                );
            }
        }
    }

    #[test]
    fn a_wrong_key_is_a_clear_error_not_a_new_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sotto.db");
        Store::open(&path, &key(1))
            .expect("create")
            .set_secret("k", "v")
            .expect("write");
        let before = std::fs::read(&path).expect("read");
        let err = Store::open(&path, &key(2)).expect_err("must fail");
        assert!(matches!(err, StoreError::Locked), "{err}");
        assert!(err.to_string().contains("could not be unlocked"));
        assert_eq!(std::fs::read(&path).expect("read"), before, "untouched");
        let store = Store::open(&path, &key(1)).expect("right key still works");
        assert_eq!(store.secret("k").expect("read").as_deref(), Some("v"));
    }

    #[test]
    fn fts5_is_compiled_in() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("db"), &key(3)).expect("open");
        let conn = store.conn().expect("conn");
        conn.execute_batch("CREATE VIRTUAL TABLE t USING fts5(x)")
            .expect("fts5 available");
    }
}
