//! OMEMO state: our device per account (id, identity, signed and one-time
//! prekeys), the devices of contacts and of our own other clients with
//! their identity keys and trust, and the Double Ratchet sessions. Keys and
//! sessions are stored as the OMEMO core's blobs, inside the encrypted
//! database only.

use core::fmt;

use rusqlite::{Connection, OptionalExtension, params};

use super::{Store, StoreError};
use crate::omemo::{
    DeviceId, IdentityKey, IdentityKeyPair, MemoryPreKeyStore, PreKeyPair, Profile, Session,
    SignedPreKeyPair,
};

fn ns(profile: Profile) -> &'static str {
    match profile {
        Profile::Legacy => "legacy",
        Profile::Omemo2 => "omemo2",
    }
}

fn profile_from(s: &str) -> Result<Profile, StoreError> {
    match s {
        "legacy" => Ok(Profile::Legacy),
        "omemo2" => Ok(Profile::Omemo2),
        _ => Err(StoreError::CorruptOmemo(crate::omemo::Error::CorruptState(
            "namespace",
        ))),
    }
}

fn device_id(v: i64) -> Result<DeviceId, StoreError> {
    u32::try_from(v)
        .ok()
        .and_then(DeviceId::new)
        .ok_or(StoreError::CorruptOmemo(crate::omemo::Error::CorruptState(
            "device id",
        )))
}

fn key_id(v: i64) -> Result<u32, StoreError> {
    u32::try_from(v)
        .map_err(|_| StoreError::CorruptOmemo(crate::omemo::Error::CorruptState("key id")))
}

/// How far we trust a device's identity key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OmemoTrust {
    /// Trusted without verification (blind trust before verification, as
    /// Conversations and Dino do).
    Blind,
    /// The user compared fingerprints.
    Verified,
    /// Not used for encryption: the user refused it.
    Untrusted,
    /// Not used for encryption until the user decides: it appeared after
    /// the contact had a verified device, or its identity key changed.
    Undecided,
}

impl OmemoTrust {
    /// The word the store (and the CLI's JSON) uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Blind => "blind",
            Self::Verified => "verified",
            Self::Untrusted => "untrusted",
            Self::Undecided => "undecided",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "blind" => Ok(Self::Blind),
            "verified" => Ok(Self::Verified),
            "untrusted" => Ok(Self::Untrusted),
            "undecided" => Ok(Self::Undecided),
            _ => Err(StoreError::CorruptOmemo(crate::omemo::Error::CorruptState(
                "trust",
            ))),
        }
    }

    /// Whether messages are encrypted to a device with this trust.
    pub fn is_trusted(self) -> bool {
        matches!(self, Self::Blind | Self::Verified)
    }
}

/// Our device for an account.
#[derive(Clone)]
pub struct OwnDevice {
    /// The device id both namespaces publish.
    pub device_id: DeviceId,
    /// The identity key pair (secret).
    pub identity: IdentityKeyPair,
    /// When it was made.
    pub created_at: i64,
}

impl fmt::Debug for OwnDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnDevice")
            .field("device_id", &self.device_id)
            .field("identity", &self.identity)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// A device of a contact (or one of our own other devices).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDevice {
    /// The account it belongs to.
    pub jid: String,
    /// Its namespace.
    pub profile: Profile,
    /// Its id.
    pub device_id: DeviceId,
    /// Its label, if its list gave one.
    pub label: Option<String>,
    /// Whether it is in the account's published device list.
    pub active: bool,
    /// When Sotto first saw it.
    pub first_seen: i64,
    /// Its identity key and our trust in it, once known.
    pub identity: Option<(IdentityKey, OmemoTrust)>,
}

/// What [`Store::omemo_set_device_list`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceListChange {
    /// Devices seen for the first time.
    pub added: Vec<DeviceId>,
    /// Devices that were active and are no longer in the list.
    pub deactivated: Vec<DeviceId>,
}

fn load_identity(blob: &[u8]) -> Result<IdentityKeyPair, StoreError> {
    IdentityKeyPair::from_bytes(blob).map_err(StoreError::CorruptOmemo)
}

fn signed_pre_key_rows(
    conn: &Connection,
    account: &str,
    profile: Profile,
) -> Result<Vec<SignedPreKeyPair>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT k.key FROM omemo_signed_pre_keys k JOIN accounts a ON a.id = k.account_id
         WHERE a.jid = ?1 AND k.namespace = ?2 ORDER BY k.is_current DESC, k.created_at DESC",
    )?;
    let blobs = stmt
        .query_map(params![account, ns(profile)], |r| r.get::<_, Vec<u8>>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    blobs
        .iter()
        .map(|b| SignedPreKeyPair::from_bytes(b).map_err(StoreError::CorruptOmemo))
        .collect()
}

impl Store {
    /// Our device for the account, if one was made.
    pub fn omemo_own_device(&self, account: &str) -> Result<Option<OwnDevice>, StoreError> {
        let conn = self.conn()?;
        let row = conn
            .query_row(
                "SELECT d.device_id, d.identity, d.created_at FROM omemo_own_device d
                 JOIN accounts a ON a.id = d.account_id WHERE a.jid = ?1",
                params![account],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        zeroize::Zeroizing::new(r.get::<_, Vec<u8>>(1)?),
                        r.get::<_, i64>(2)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(id, blob, created_at)| {
            Ok(OwnDevice {
                device_id: device_id(id)?,
                identity: load_identity(&blob)?,
                created_at,
            })
        })
        .transpose()
    }

    /// Records our new device for the account. If the account already has
    /// one, nothing changes and that one is returned: a device's identity
    /// is never replaced behind the user's back.
    pub fn omemo_create_own_device(
        &self,
        account: &str,
        device_id: DeviceId,
        identity: &IdentityKeyPair,
        at: i64,
    ) -> Result<OwnDevice, StoreError> {
        {
            let mut conn = self.conn()?;
            let tx = conn.transaction()?;
            let account_id = Self::account_id(&tx, account)?;
            tx.execute(
                "INSERT INTO omemo_own_device (account_id, device_id, identity, created_at)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (account_id) DO NOTHING",
                params![
                    account_id,
                    device_id.get(),
                    identity.to_bytes().as_slice(),
                    at
                ],
            )?;
            tx.commit()?;
        }
        self.omemo_own_device(account)?
            .ok_or(StoreError::Sql(rusqlite::Error::QueryReturnedNoRows))
    }

    /// Adds a new current signed prekey for its namespace. The one it
    /// replaces is kept as the previous one; the one before that is deleted.
    pub fn omemo_add_signed_pre_key(
        &self,
        account: &str,
        key: &SignedPreKeyPair,
        at: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let account_id = Self::account_id(&tx, account)?;
        let namespace = ns(key.profile());
        tx.execute(
            "DELETE FROM omemo_signed_pre_keys
             WHERE account_id = ?1 AND namespace = ?2 AND is_current = 0",
            params![account_id, namespace],
        )?;
        tx.execute(
            "UPDATE omemo_signed_pre_keys SET is_current = 0
             WHERE account_id = ?1 AND namespace = ?2",
            params![account_id, namespace],
        )?;
        tx.execute(
            "INSERT INTO omemo_signed_pre_keys (account_id, namespace, id, key, created_at, is_current)
             VALUES (?1, ?2, ?3, ?4, ?5, 1)",
            params![
                account_id,
                namespace,
                key.id(),
                key.to_bytes().as_slice(),
                at
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The current signed prekey of a namespace (what the bundle publishes).
    pub fn omemo_current_signed_pre_key(
        &self,
        account: &str,
        profile: Profile,
    ) -> Result<Option<SignedPreKeyPair>, StoreError> {
        Ok(signed_pre_key_rows(&*self.conn()?, account, profile)?
            .into_iter()
            .next())
    }

    /// The signed prekeys still held for a namespace: current first, then
    /// the previous one.
    pub fn omemo_signed_pre_keys(
        &self,
        account: &str,
        profile: Profile,
    ) -> Result<Vec<SignedPreKeyPair>, StoreError> {
        signed_pre_key_rows(&*self.conn()?, account, profile)
    }

    /// Reserves `count` fresh one-time prekey ids for a namespace (never
    /// handed out twice, even after the keys are deleted). Needs our device.
    pub fn omemo_reserve_pre_key_ids(
        &self,
        account: &str,
        profile: Profile,
        count: u32,
    ) -> Result<std::ops::Range<u32>, StoreError> {
        let column = match profile {
            Profile::Legacy => "legacy_next_pre_key_id",
            Profile::Omemo2 => "omemo2_next_pre_key_id",
        };
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let next: i64 = tx.query_row(
            &format!(
                "SELECT d.{column} FROM omemo_own_device d JOIN accounts a ON a.id = d.account_id
                 WHERE a.jid = ?1"
            ),
            params![account],
            |r| r.get(0),
        )?;
        let start = key_id(next)?;
        let end = start.checked_add(count).ok_or(StoreError::CorruptOmemo(
            crate::omemo::Error::CounterExhausted,
        ))?;
        tx.execute(
            &format!(
                "UPDATE omemo_own_device SET {column} = ?2
                 WHERE account_id = (SELECT id FROM accounts WHERE jid = ?1)"
            ),
            params![account, end],
        )?;
        tx.commit()?;
        Ok(start..end)
    }

    /// Stores new one-time prekeys for a namespace (ids from
    /// [`omemo_reserve_pre_key_ids`](Self::omemo_reserve_pre_key_ids)).
    pub fn omemo_add_pre_keys(
        &self,
        account: &str,
        profile: Profile,
        keys: &[PreKeyPair],
        at: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let account_id = Self::account_id(&tx, account)?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO omemo_pre_keys (account_id, namespace, id, key, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for key in keys {
                insert.execute(params![
                    account_id,
                    ns(profile),
                    key.id(),
                    key.to_bytes().as_slice(),
                    at
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The one-time prekeys to publish: those not yet used, by id.
    pub fn omemo_published_pre_keys(
        &self,
        account: &str,
        profile: Profile,
    ) -> Result<Vec<PreKeyPair>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT k.key FROM omemo_pre_keys k JOIN accounts a ON a.id = k.account_id
             WHERE a.jid = ?1 AND k.namespace = ?2 AND k.used_at IS NULL ORDER BY k.id",
        )?;
        let blobs = stmt
            .query_map(params![account, ns(profile)], |r| r.get::<_, Vec<u8>>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        blobs
            .into_iter()
            .map(|b| {
                let b = zeroize::Zeroizing::new(b);
                PreKeyPair::from_bytes(&b).map_err(StoreError::CorruptOmemo)
            })
            .collect()
    }

    /// The keys a key exchange names, ready for
    /// [`Session::respond`](crate::omemo::Session::respond): the signed
    /// prekey (current or previous) and the one-time prekey, used or not,
    /// as long as they are still held.
    pub fn omemo_pre_keys_for(
        &self,
        account: &str,
        profile: Profile,
        signed_pre_key_id: u32,
        pre_key_id: Option<u32>,
    ) -> Result<MemoryPreKeyStore, StoreError> {
        let conn = self.conn()?;
        let signed_pre_keys = signed_pre_key_rows(&conn, account, profile)?
            .into_iter()
            .filter(|k| k.id() == signed_pre_key_id)
            .collect();
        let mut pre_keys = Vec::new();
        if let Some(id) = pre_key_id {
            let blob = conn
                .query_row(
                    "SELECT k.key FROM omemo_pre_keys k JOIN accounts a ON a.id = k.account_id
                     WHERE a.jid = ?1 AND k.namespace = ?2 AND k.id = ?3",
                    params![account, ns(profile), id],
                    |r| r.get::<_, Vec<u8>>(0),
                )
                .optional()?
                .map(zeroize::Zeroizing::new);
            if let Some(blob) = blob {
                pre_keys.push(PreKeyPair::from_bytes(&blob).map_err(StoreError::CorruptOmemo)?);
            }
        }
        Ok(MemoryPreKeyStore {
            signed_pre_keys,
            pre_keys,
        })
    }

    /// Marks a one-time prekey used by a key exchange: it leaves the
    /// bundle. Returns whether it was unused until now (so the app knows to
    /// publish a replacement).
    pub fn omemo_mark_pre_key_used(
        &self,
        account: &str,
        profile: Profile,
        id: u32,
        at: i64,
    ) -> Result<bool, StoreError> {
        let changed = self.conn()?.execute(
            "UPDATE omemo_pre_keys SET used_at = ?4
             WHERE account_id = (SELECT id FROM accounts WHERE jid = ?1)
               AND namespace = ?2 AND id = ?3 AND used_at IS NULL",
            params![account, ns(profile), id, at],
        )?;
        Ok(changed == 1)
    }

    /// Deletes the used one-time prekeys of both namespaces used before
    /// `before` (after a catch-up); returns how many.
    pub fn omemo_delete_used_pre_keys(
        &self,
        account: &str,
        before: i64,
    ) -> Result<usize, StoreError> {
        Ok(self.conn()?.execute(
            "DELETE FROM omemo_pre_keys
             WHERE account_id = (SELECT id FROM accounts WHERE jid = ?1)
               AND used_at IS NOT NULL AND used_at < ?2",
            params![account, before],
        )?)
    }

    /// Records an account's published device list for a namespace: listed
    /// devices become active (labels updated, first sighting kept), the
    /// others inactive. Their identities, trust and sessions stay.
    pub fn omemo_set_device_list(
        &self,
        account: &str,
        jid: &str,
        profile: Profile,
        devices: &[(DeviceId, Option<String>)],
        at: i64,
    ) -> Result<DeviceListChange, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let account_id = Self::account_id(&tx, account)?;
        let before: Vec<(i64, bool)> = tx
            .prepare_cached(
                "SELECT device_id, active FROM omemo_devices
                 WHERE account_id = ?1 AND jid = ?2 AND namespace = ?3",
            )?
            .query_map(params![account_id, jid, ns(profile)], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<_, _>>()?;
        let mut change = DeviceListChange::default();
        for (id, active) in &before {
            let listed = devices.iter().any(|(d, _)| i64::from(d.get()) == *id);
            if *active && !listed {
                change.deactivated.push(device_id(*id)?);
            }
        }
        tx.execute(
            "UPDATE omemo_devices SET active = 0 WHERE account_id = ?1 AND jid = ?2 AND namespace = ?3",
            params![account_id, jid, ns(profile)],
        )?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO omemo_devices (account_id, jid, namespace, device_id, label, active, first_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)
                 ON CONFLICT (account_id, jid, namespace, device_id)
                 DO UPDATE SET active = 1, label = excluded.label",
            )?;
            for (id, label) in devices {
                if !before.iter().any(|(b, _)| *b == i64::from(id.get())) {
                    change.added.push(*id);
                }
                upsert.execute(params![account_id, jid, ns(profile), id.get(), label, at])?;
            }
        }
        tx.commit()?;
        Ok(change)
    }

    /// Notes a device that sent us a message without being in its
    /// account's list (it stays inactive until the list names it).
    pub fn omemo_note_device(
        &self,
        account: &str,
        jid: &str,
        profile: Profile,
        device: DeviceId,
        at: i64,
    ) -> Result<(), StoreError> {
        let conn = self.conn()?;
        let account_id = Self::account_id(&conn, account)?;
        conn.execute(
            "INSERT INTO omemo_devices (account_id, jid, namespace, device_id, active, first_seen)
             VALUES (?1, ?2, ?3, ?4, 0, ?5) ON CONFLICT DO NOTHING",
            params![account_id, jid, ns(profile), device.get(), at],
        )?;
        Ok(())
    }

    /// The known devices of `jid` (both namespaces), active ones first.
    pub fn omemo_devices(&self, account: &str, jid: &str) -> Result<Vec<StoredDevice>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT d.namespace, d.device_id, d.label, d.active, d.first_seen, d.identity_key, d.trust
             FROM omemo_devices d JOIN accounts a ON a.id = d.account_id
             WHERE a.jid = ?1 AND d.jid = ?2
             ORDER BY d.active DESC, d.namespace, d.first_seen, d.device_id",
        )?;
        let rows = stmt
            .query_map(params![account, jid], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, bool>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, Option<Vec<u8>>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(namespace, id, label, active, first_seen, key, trust)| {
                let profile = profile_from(&namespace)?;
                let identity = match (key, trust) {
                    (Some(key), Some(trust)) => Some((
                        IdentityKey::from_wire(profile, &key).map_err(StoreError::CorruptOmemo)?,
                        OmemoTrust::parse(&trust)?,
                    )),
                    _ => None,
                };
                Ok(StoredDevice {
                    jid: jid.to_owned(),
                    profile,
                    device_id: device_id(id)?,
                    label,
                    active,
                    first_seen,
                    identity,
                })
            })
            .collect()
    }

    /// The identity key recorded for a device, and our trust in it.
    pub fn omemo_identity(
        &self,
        account: &str,
        jid: &str,
        profile: Profile,
        device: DeviceId,
    ) -> Result<Option<(IdentityKey, OmemoTrust)>, StoreError> {
        let row = self
            .conn()?
            .query_row(
                "SELECT d.identity_key, d.trust FROM omemo_devices d
                 JOIN accounts a ON a.id = d.account_id
                 WHERE a.jid = ?1 AND d.jid = ?2 AND d.namespace = ?3 AND d.device_id = ?4
                   AND d.identity_key IS NOT NULL",
                params![account, jid, ns(profile), device.get()],
                |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?)),
            )
            .optional()?;
        row.map(|(key, trust)| {
            Ok((
                IdentityKey::from_wire(profile, &key).map_err(StoreError::CorruptOmemo)?,
                OmemoTrust::parse(&trust)?,
            ))
        })
        .transpose()
    }

    /// Records a device's identity key with a trust (the device row is made
    /// inactive if its list has not named it yet). The caller compares with
    /// [`omemo_identity`](Self::omemo_identity) first: a changed key is a
    /// decision for the user, not for the store.
    pub fn omemo_set_identity(
        &self,
        account: &str,
        jid: &str,
        device: DeviceId,
        key: &IdentityKey,
        trust: OmemoTrust,
        at: i64,
    ) -> Result<(), StoreError> {
        let conn = self.conn()?;
        let account_id = Self::account_id(&conn, account)?;
        conn.execute(
            "INSERT INTO omemo_devices
                 (account_id, jid, namespace, device_id, active, first_seen, identity_key, trust)
             VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7)
             ON CONFLICT (account_id, jid, namespace, device_id)
             DO UPDATE SET identity_key = excluded.identity_key, trust = excluded.trust",
            params![
                account_id,
                jid,
                ns(key.profile()),
                device.get(),
                at,
                key.to_wire(),
                trust.as_str()
            ],
        )?;
        Ok(())
    }

    /// Changes the trust in a device whose identity key is known; false if
    /// it is not.
    pub fn omemo_set_trust(
        &self,
        account: &str,
        jid: &str,
        profile: Profile,
        device: DeviceId,
        trust: OmemoTrust,
    ) -> Result<bool, StoreError> {
        let changed = self.conn()?.execute(
            "UPDATE omemo_devices SET trust = ?5
             WHERE account_id = (SELECT id FROM accounts WHERE jid = ?1)
               AND jid = ?2 AND namespace = ?3 AND device_id = ?4 AND identity_key IS NOT NULL",
            params![account, jid, ns(profile), device.get(), trust.as_str()],
        )?;
        Ok(changed == 1)
    }

    /// Whether any device of `jid` is verified (then a new device is not
    /// trusted silently).
    pub fn omemo_has_verified_device(&self, account: &str, jid: &str) -> Result<bool, StoreError> {
        Ok(self.conn()?.query_row(
            "SELECT EXISTS (SELECT 1 FROM omemo_devices d JOIN accounts a ON a.id = d.account_id
                            WHERE a.jid = ?1 AND d.jid = ?2 AND d.trust = 'verified')",
            params![account, jid],
            |r| r.get(0),
        )?)
    }

    /// Saves a session (after every message it encrypted or decrypted).
    pub fn omemo_save_session(
        &self,
        account: &str,
        jid: &str,
        device: DeviceId,
        session: &Session,
        at: i64,
    ) -> Result<(), StoreError> {
        let conn = self.conn()?;
        let account_id = Self::account_id(&conn, account)?;
        conn.prepare_cached(
            "INSERT INTO omemo_sessions (account_id, jid, namespace, device_id, session, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (account_id, jid, namespace, device_id)
             DO UPDATE SET session = excluded.session, updated_at = excluded.updated_at",
        )?
        .execute(params![
            account_id,
            jid,
            ns(session.profile()),
            device.get(),
            session.to_bytes().as_slice(),
            at
        ])?;
        Ok(())
    }

    /// The session with a device, if there is one.
    pub fn omemo_session(
        &self,
        account: &str,
        jid: &str,
        profile: Profile,
        device: DeviceId,
    ) -> Result<Option<Session>, StoreError> {
        let blob = self
            .conn()?
            .prepare_cached(
                "SELECT s.session FROM omemo_sessions s JOIN accounts a ON a.id = s.account_id
                 WHERE a.jid = ?1 AND s.jid = ?2 AND s.namespace = ?3 AND s.device_id = ?4",
            )?
            .query_row(params![account, jid, ns(profile), device.get()], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .optional()?
            .map(zeroize::Zeroizing::new);
        blob.map(|b| Session::from_bytes(&b).map_err(StoreError::CorruptOmemo))
            .transpose()
    }

    /// Forgets the session with a device (before a repair builds a new one).
    pub fn omemo_delete_session(
        &self,
        account: &str,
        jid: &str,
        profile: Profile,
        device: DeviceId,
    ) -> Result<bool, StoreError> {
        let deleted = self.conn()?.execute(
            "DELETE FROM omemo_sessions
             WHERE account_id = (SELECT id FROM accounts WHERE jid = ?1)
               AND jid = ?2 AND namespace = ?3 AND device_id = ?4",
            params![account, jid, ns(profile), device.get()],
        )?;
        Ok(deleted == 1)
    }
}

/// A chat's encryption setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatEncryption {
    /// Follows the contact: encrypted once their devices publish OMEMO.
    Auto,
    /// Encrypted: nothing goes out in clear (set once a message in the
    /// chat was encrypted, or by the user).
    On,
    /// The user turned encryption off for this chat.
    Off,
}

impl Store {
    /// A chat's encryption setting ([`ChatEncryption::Auto`] for a chat
    /// never set).
    pub fn chat_encryption(&self, account: &str, peer: &str) -> Result<ChatEncryption, StoreError> {
        let value: Option<Option<String>> = self
            .conn()?
            .query_row(
                "SELECT c.encryption FROM conversations c JOIN accounts a ON a.id = c.account_id
                 WHERE a.jid = ?1 AND c.peer = ?2",
                params![account, peer],
                |r| r.get(0),
            )
            .optional()?;
        Ok(match value.flatten().as_deref() {
            Some("on") => ChatEncryption::On,
            Some("off") => ChatEncryption::Off,
            _ => ChatEncryption::Auto,
        })
    }

    /// Sets a chat's encryption.
    pub fn set_chat_encryption(
        &self,
        account: &str,
        peer: &str,
        setting: ChatEncryption,
    ) -> Result<(), StoreError> {
        let value = match setting {
            ChatEncryption::Auto => None,
            ChatEncryption::On => Some("on"),
            ChatEncryption::Off => Some("off"),
        };
        let conn = self.conn()?;
        let account_id = Self::account_id(&conn, account)?;
        conn.execute(
            "INSERT INTO conversations (account_id, peer, encryption) VALUES (?1, ?2, ?3)
             ON CONFLICT (account_id, peer) DO UPDATE SET encryption = excluded.encryption",
            params![account_id, peer, value],
        )?;
        Ok(())
    }

    /// Whether a message of this chat is stored already: the same stanza-id
    /// from our server, or the same origin-id in that direction. (An
    /// encrypted copy is looked up before it is decrypted: a carbon and an
    /// archive copy of one message decrypt only once.)
    pub fn message_known(
        &self,
        account: &str,
        peer: &str,
        outgoing: bool,
        origin_id: Option<&str>,
        stanza_id: Option<&str>,
    ) -> Result<bool, StoreError> {
        if origin_id.is_none() && stanza_id.is_none() {
            return Ok(false);
        }
        Ok(self.conn()?.query_row(
            "SELECT EXISTS (SELECT 1 FROM messages m JOIN conversations c ON c.id = m.conversation_id
                            JOIN accounts a ON a.id = c.account_id
                            WHERE a.jid = ?1 AND c.peer = ?2
                              AND ((?4 IS NOT NULL AND m.stanza_id = ?4)
                                OR (?3 IS NOT NULL AND m.origin_id = ?3 AND m.direction = ?5)))",
            params![
                account,
                peer,
                origin_id,
                stanza_id,
                if outgoing { "out" } else { "in" }
            ],
            |r| r.get(0),
        )?)
    }

    /// Marks our message (by origin-id) as sent encrypted, and its chat as
    /// encrypted from now on. Returns whether the message was found.
    pub fn mark_sent_encrypted(
        &self,
        account: &str,
        peer: &str,
        origin_id: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let changed = tx.execute(
            "UPDATE messages SET encrypted = 1
             WHERE direction = 'out' AND origin_id = ?3 AND conversation_id =
                 (SELECT c.id FROM conversations c JOIN accounts a ON a.id = c.account_id
                  WHERE a.jid = ?1 AND c.peer = ?2)",
            params![account, peer, origin_id],
        )?;
        tx.execute(
            "UPDATE conversations SET encryption = 'on'
             WHERE encryption IS NULL AND peer = ?2
               AND account_id = (SELECT id FROM accounts WHERE jid = ?1)",
            params![account, peer],
        )?;
        tx.commit()?;
        Ok(changed > 0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::Path;

    use super::*;
    use crate::omemo::{Bundle, KeyExchange};
    use crate::store::StoreKey;

    const ME: &str = "me@example.org";
    const BOB: &str = "bob@example.org";
    const SEED: [u8; 32] = [0x5a; 32];

    fn open(path: &Path) -> Store {
        Store::open(path, &StoreKey::from_bytes([4; 32])).unwrap()
    }

    fn rng(seed: u64) -> rand::rngs::StdRng {
        rand::SeedableRng::seed_from_u64(seed)
    }

    fn id(n: u32) -> DeviceId {
        DeviceId::new(n).unwrap()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Sets up our device the way the engine will: identity, a signed
    /// prekey per namespace, `count` one-time prekeys per namespace.
    fn provision(store: &Store, account: &str, seed: [u8; 32], count: u32) -> OwnDevice {
        let mut rng = rng(u64::from(seed[0]));
        let own = store
            .omemo_create_own_device(
                account,
                id(1000 + u32::from(seed[0])),
                &IdentityKeyPair::from_seed(seed),
                10,
            )
            .unwrap();
        for profile in [Profile::Legacy, Profile::Omemo2] {
            let spk = SignedPreKeyPair::generate(&mut rng, &own.identity, profile, 1, 10);
            store.omemo_add_signed_pre_key(account, &spk, 10).unwrap();
            let ids = store
                .omemo_reserve_pre_key_ids(account, profile, count)
                .unwrap();
            let keys: Vec<_> = ids.map(|i| PreKeyPair::generate(&mut rng, i)).collect();
            store
                .omemo_add_pre_keys(account, profile, &keys, 10)
                .unwrap();
        }
        own
    }

    fn bundle(store: &Store, account: &str, profile: Profile) -> Bundle {
        let own = store.omemo_own_device(account).unwrap().unwrap();
        Bundle::new(
            &own.identity,
            &store
                .omemo_current_signed_pre_key(account, profile)
                .unwrap()
                .unwrap(),
            &store.omemo_published_pre_keys(account, profile).unwrap(),
        )
    }

    #[test]
    fn our_device_and_its_keys_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sotto.db");
        let store = open(&path);
        assert!(store.omemo_own_device(ME).unwrap().is_none());
        let own = provision(&store, ME, SEED, 100);
        // A second creation keeps the first identity.
        let again = store
            .omemo_create_own_device(ME, id(7), &IdentityKeyPair::from_seed([1; 32]), 20)
            .unwrap();
        assert_eq!(again.device_id, own.device_id);
        assert_eq!(
            again.identity.public_key(Profile::Omemo2),
            own.identity.public_key(Profile::Omemo2)
        );
        for profile in [Profile::Legacy, Profile::Omemo2] {
            let keys = store.omemo_published_pre_keys(ME, profile).unwrap();
            assert_eq!(
                keys.iter().map(PreKeyPair::id).collect::<Vec<_>>(),
                (1..=100).collect::<Vec<_>>()
            );
        }
        let before = bundle(&store, ME, Profile::Legacy);
        drop(store);

        let store = open(&path);
        let own_again = store.omemo_own_device(ME).unwrap().unwrap();
        assert_eq!(own_again.device_id, own.device_id);
        assert_eq!(own_again.created_at, 10);
        assert_eq!(bundle(&store, ME, Profile::Legacy), before);

        // Rotation keeps the current and the previous signed prekey.
        let mut r = rng(9);
        for (n, at) in [(2, 20), (3, 30)] {
            let spk = SignedPreKeyPair::generate(&mut r, &own.identity, Profile::Omemo2, n, 0);
            store.omemo_add_signed_pre_key(ME, &spk, at).unwrap();
        }
        let held: Vec<_> = store
            .omemo_signed_pre_keys(ME, Profile::Omemo2)
            .unwrap()
            .iter()
            .map(SignedPreKeyPair::id)
            .collect();
        assert_eq!(held, [3, 2]);
        assert_eq!(
            store
                .omemo_current_signed_pre_key(ME, Profile::Omemo2)
                .unwrap()
                .unwrap()
                .id(),
            3
        );
        // The other namespace is untouched.
        assert_eq!(
            store
                .omemo_signed_pre_keys(ME, Profile::Legacy)
                .unwrap()
                .len(),
            1
        );
        // A late key exchange on the previous one still finds it; one on
        // the deleted first one does not.
        assert_eq!(
            store
                .omemo_pre_keys_for(ME, Profile::Omemo2, 2, None)
                .unwrap()
                .signed_pre_keys
                .len(),
            1
        );
        assert!(
            store
                .omemo_pre_keys_for(ME, Profile::Omemo2, 1, None)
                .unwrap()
                .signed_pre_keys
                .is_empty()
        );

        // A used prekey leaves the bundle, stays for the catch-up, then goes.
        assert!(
            store
                .omemo_mark_pre_key_used(ME, Profile::Legacy, 5, 40)
                .unwrap()
        );
        assert!(
            !store
                .omemo_mark_pre_key_used(ME, Profile::Legacy, 5, 41)
                .unwrap()
        );
        assert_eq!(
            store
                .omemo_published_pre_keys(ME, Profile::Legacy)
                .unwrap()
                .len(),
            99
        );
        assert_eq!(
            store
                .omemo_published_pre_keys(ME, Profile::Omemo2)
                .unwrap()
                .len(),
            100
        );
        assert_eq!(
            store
                .omemo_pre_keys_for(ME, Profile::Legacy, 1, Some(5))
                .unwrap()
                .pre_keys
                .len(),
            1
        );
        assert_eq!(store.omemo_delete_used_pre_keys(ME, 40).unwrap(), 0);
        assert_eq!(store.omemo_delete_used_pre_keys(ME, 41).unwrap(), 1);
        assert!(
            store
                .omemo_pre_keys_for(ME, Profile::Legacy, 1, Some(5))
                .unwrap()
                .pre_keys
                .is_empty()
        );
        // Ids are never handed out twice.
        assert_eq!(
            store
                .omemo_reserve_pre_key_ids(ME, Profile::Legacy, 1)
                .unwrap(),
            101..102
        );
        assert_eq!(
            store
                .omemo_reserve_pre_key_ids(ME, Profile::Omemo2, 3)
                .unwrap(),
            101..104
        );
        // Reserving needs our device.
        assert!(
            store
                .omemo_reserve_pre_key_ids("other@example.org", Profile::Legacy, 1)
                .is_err()
        );
    }

    /// Alice (store A) and Bob (store B) talk; both stores are closed and
    /// reopened between every step, and the sessions carry on.
    #[test]
    fn sessions_persist_across_restarts() {
        for profile in [Profile::Legacy, Profile::Omemo2] {
            let dir = tempfile::tempdir().unwrap();
            let (a_path, b_path) = (dir.path().join("a.db"), dir.path().join("b.db"));
            let mut r = rng(3);
            let alice = provision(&open(&a_path), ME, [0x11; 32], 5);
            let bob = provision(&open(&b_path), BOB, [0x22; 32], 5);

            // Alice starts a session from Bob's bundle and sends twice.
            let b_bundle = bundle(&open(&b_path), BOB, profile);
            let pk = b_bundle.random_pre_key_id(&mut r);
            let mut session = Session::initiate(&mut r, &alice.identity, &b_bundle, pk).unwrap();
            let first = session.encrypt(b"first").unwrap();
            let second = session.encrypt(b"second").unwrap();
            open(&a_path)
                .omemo_save_session(ME, BOB, bob.device_id, &session, 1)
                .unwrap();
            drop(session);

            // Bob answers the key exchange with keys from his store.
            let b = open(&b_path);
            let kex = KeyExchange::parse(profile, &first.bytes).unwrap();
            let keys = b
                .omemo_pre_keys_for(BOB, profile, kex.signed_pre_key_id(), kex.pre_key_id())
                .unwrap();
            let responded = Session::respond(&mut r, &bob.identity, &keys, &kex).unwrap();
            assert_eq!(*responded.plaintext, b"first");
            if let Some(used) = responded.consumed_pre_key_id {
                assert!(b.omemo_mark_pre_key_used(BOB, profile, used, 2).unwrap());
            }
            b.omemo_save_session(BOB, ME, alice.device_id, &responded.session, 2)
                .unwrap();
            drop(b);

            // Restart: Bob's session decrypts the second message.
            let b = open(&b_path);
            let mut bs = b
                .omemo_session(BOB, ME, profile, alice.device_id)
                .unwrap()
                .unwrap();
            let kex = KeyExchange::parse(profile, &second.bytes).unwrap();
            assert_eq!(*bs.decrypt_key_exchange(&mut r, &kex).unwrap(), b"second");
            let reply = bs.encrypt(b"reply").unwrap();
            b.omemo_save_session(BOB, ME, alice.device_id, &bs, 3)
                .unwrap();
            drop((b, bs));

            // Restart: Alice's session decrypts the reply and stops sending
            // key exchanges.
            let a = open(&a_path);
            let mut s = a
                .omemo_session(ME, BOB, profile, bob.device_id)
                .unwrap()
                .unwrap();
            assert!(!s.is_confirmed());
            assert_eq!(*s.decrypt(&mut r, &reply.bytes).unwrap(), b"reply");
            let third = s.encrypt(b"third").unwrap();
            assert!(!third.key_exchange);
            a.omemo_save_session(ME, BOB, bob.device_id, &s, 4).unwrap();
            drop((a, s));

            let a = open(&a_path);
            let s = a
                .omemo_session(ME, BOB, profile, bob.device_id)
                .unwrap()
                .unwrap();
            assert!(s.is_confirmed());
            let b = open(&b_path);
            let mut bs = b
                .omemo_session(BOB, ME, profile, alice.device_id)
                .unwrap()
                .unwrap();
            assert_eq!(*bs.decrypt(&mut r, &third.bytes).unwrap(), b"third");
            // A replay after the restart is refused: the saved state moved on.
            assert_eq!(
                bs.decrypt(&mut r, &third.bytes).unwrap_err(),
                crate::omemo::Error::Duplicate
            );
            // The other namespace has no session with that device.
            let other = match profile {
                Profile::Legacy => Profile::Omemo2,
                Profile::Omemo2 => Profile::Legacy,
            };
            assert!(
                b.omemo_session(BOB, ME, other, alice.device_id)
                    .unwrap()
                    .is_none()
            );
            assert!(
                b.omemo_delete_session(BOB, ME, profile, alice.device_id)
                    .unwrap()
            );
            assert!(
                b.omemo_session(BOB, ME, profile, alice.device_id)
                    .unwrap()
                    .is_none()
            );
            assert!(
                !b.omemo_delete_session(BOB, ME, profile, alice.device_id)
                    .unwrap()
            );
        }
    }

    #[test]
    fn device_lists_identities_and_trust() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir.path().join("sotto.db"));
        let p = Profile::Omemo2;
        let change = store
            .omemo_set_device_list(ME, BOB, p, &[(id(1), None), (id(2), None)], 100)
            .unwrap();
        assert_eq!(
            change,
            DeviceListChange {
                added: vec![id(1), id(2)],
                deactivated: vec![]
            }
        );
        let change = store
            .omemo_set_device_list(
                ME,
                BOB,
                p,
                &[(id(2), Some("phone".into())), (id(3), None)],
                200,
            )
            .unwrap();
        assert_eq!(
            change,
            DeviceListChange {
                added: vec![id(3)],
                deactivated: vec![id(1)]
            }
        );
        // A legacy list of the same account is separate.
        store
            .omemo_set_device_list(ME, BOB, Profile::Legacy, &[(id(2), None)], 300)
            .unwrap();
        store.omemo_note_device(ME, BOB, p, id(9), 400).unwrap();
        store.omemo_note_device(ME, BOB, p, id(2), 400).unwrap();

        let devices = store.omemo_devices(ME, BOB).unwrap();
        let shown: Vec<_> = devices
            .iter()
            .map(|d| {
                (
                    d.profile,
                    d.device_id.get(),
                    d.active,
                    d.first_seen,
                    d.label.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            [
                (Profile::Legacy, 2, true, 300, None),
                (Profile::Omemo2, 2, true, 100, Some("phone")),
                (Profile::Omemo2, 3, true, 200, None),
                (Profile::Omemo2, 1, false, 100, None),
                (Profile::Omemo2, 9, false, 400, None),
            ]
        );

        let key = IdentityKeyPair::from_seed([0x33; 32]).public_key(p);
        assert_eq!(store.omemo_identity(ME, BOB, p, id(2)).unwrap(), None);
        assert!(
            !store
                .omemo_set_trust(ME, BOB, p, id(2), OmemoTrust::Verified)
                .unwrap()
        );
        store
            .omemo_set_identity(ME, BOB, id(2), &key, OmemoTrust::Blind, 500)
            .unwrap();
        assert_eq!(
            store.omemo_identity(ME, BOB, p, id(2)).unwrap(),
            Some((key, OmemoTrust::Blind))
        );
        assert_eq!(
            store
                .omemo_identity(ME, BOB, Profile::Legacy, id(2))
                .unwrap(),
            None
        );
        assert!(!store.omemo_has_verified_device(ME, BOB).unwrap());
        assert!(
            store
                .omemo_set_trust(ME, BOB, p, id(2), OmemoTrust::Verified)
                .unwrap()
        );
        assert!(store.omemo_has_verified_device(ME, BOB).unwrap());
        // An identity for a device no list named yet makes an inactive row.
        let other = IdentityKeyPair::from_seed([0x44; 32]).public_key(Profile::Legacy);
        store
            .omemo_set_identity(ME, BOB, id(77), &other, OmemoTrust::Untrusted, 600)
            .unwrap();
        let d77 = store
            .omemo_devices(ME, BOB)
            .unwrap()
            .into_iter()
            .find(|d| d.device_id == id(77))
            .unwrap();
        assert_eq!(
            (d77.active, d77.identity),
            (false, Some((other, OmemoTrust::Untrusted)))
        );
        assert!(!OmemoTrust::Untrusted.is_trusted() && OmemoTrust::Blind.is_trusted());

        // Leaving the list keeps identity and trust; coming back reactivates.
        let change = store.omemo_set_device_list(ME, BOB, p, &[], 700).unwrap();
        assert_eq!(change.deactivated, [id(2), id(3)]);
        assert_eq!(
            store.omemo_identity(ME, BOB, p, id(2)).unwrap(),
            Some((key, OmemoTrust::Verified))
        );
        let change = store
            .omemo_set_device_list(ME, BOB, p, &[(id(2), None)], 800)
            .unwrap();
        assert_eq!(change, DeviceListChange::default());
        // Other accounts see nothing of it.
        assert!(
            store
                .omemo_devices("other@example.org", BOB)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn secrets_stay_out_of_debug_output_and_off_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sotto.db");
        let store = open(&path);
        let own = provision(&store, ME, SEED, 3);
        let mut r = rng(5);
        let b_bundle = bundle(&store, ME, Profile::Omemo2);
        let peer = IdentityKeyPair::from_seed([0x66; 32]);
        let session = Session::initiate(&mut r, &peer, &b_bundle, Some(1)).unwrap();
        store
            .omemo_save_session(ME, BOB, id(5), &session, 1)
            .unwrap();
        let pre_keys = store.omemo_published_pre_keys(ME, Profile::Legacy).unwrap();
        // A prekey blob ends with its 32-byte private key (field 2 of the
        // core's PreKeyState, written last).
        let private = pre_keys[0].to_bytes();
        let private = &private[private.len() - 32..];
        let signed = store.omemo_signed_pre_keys(ME, Profile::Legacy).unwrap();
        let loaded = store
            .omemo_session(ME, BOB, Profile::Omemo2, id(5))
            .unwrap()
            .unwrap();
        let debug = format!(
            "{own:?} {:?} {pre_keys:?} {signed:?} {loaded:?} {:?}",
            store.omemo_own_device(ME).unwrap(),
            store
                .omemo_pre_keys_for(ME, Profile::Legacy, 1, Some(1))
                .unwrap()
        );
        for secret in [&SEED[..], private] {
            assert!(!debug.contains(&hex(secret)), "{debug}");
            assert!(!debug.contains(&format!("{secret:?}")), "{debug}");
        }
        assert!(debug.contains("redacted"), "{debug}");
        drop((store, loaded));
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            for needle in [&SEED[..], private, b"omemo_sessions"] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle),
                    "{needle:?} on disk in clear"
                );
            }
        }
    }

    #[test]
    fn damaged_state_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir.path().join("sotto.db"));
        provision(&store, ME, SEED, 1);
        store
            .conn()
            .unwrap()
            .execute_batch(
                "INSERT INTO omemo_sessions (account_id, jid, namespace, device_id, session, updated_at)
                 VALUES (1, 'bob@example.org', 'legacy', 5, x'0104ffff', 0);
                 UPDATE omemo_pre_keys SET key = x'02' WHERE id = 1 AND namespace = 'legacy';",
            )
            .unwrap();
        assert!(matches!(
            store.omemo_session(ME, BOB, Profile::Legacy, id(5)),
            Err(StoreError::CorruptOmemo(_))
        ));
        assert!(matches!(
            store.omemo_published_pre_keys(ME, Profile::Legacy),
            Err(StoreError::CorruptOmemo(
                crate::omemo::Error::UnsupportedStateFormat(2)
            ))
        ));
        // The schema itself refuses impossible rows.
        let conn = store.conn().unwrap();
        for bad in [
            "INSERT INTO omemo_devices (account_id, jid, namespace, device_id, active, first_seen) VALUES (1, 'x', 'omemo3', 1, 1, 0)",
            "INSERT INTO omemo_devices (account_id, jid, namespace, device_id, active, first_seen) VALUES (1, 'x', 'legacy', 0, 1, 0)",
            "INSERT INTO omemo_devices (account_id, jid, namespace, device_id, active, first_seen, trust) VALUES (1, 'x', 'legacy', 1, 1, 0, 'blind')",
        ] {
            assert!(conn.execute_batch(bad).is_err(), "{bad}");
        }
    }
}
