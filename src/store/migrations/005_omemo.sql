-- OMEMO (XEP-0384), both namespaces: 'legacy' is eu.siacs.conversations.axolotl,
-- 'omemo2' is urn:xmpp:omemo:2. Key and session blobs are the OMEMO core's
-- versioned state (crate::omemo `to_bytes`), private keys included: they
-- live only in this encrypted database. Times are milliseconds since the
-- Unix epoch.

-- Our device, one per account. Both namespaces use its id and identity
-- (python-omemo and Converse.js do the same).
CREATE TABLE omemo_own_device (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    device_id INTEGER NOT NULL CHECK (device_id BETWEEN 1 AND 2147483647),
    identity BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    -- One-time prekey ids are never reused, per namespace.
    legacy_next_pre_key_id INTEGER NOT NULL DEFAULT 1,
    omemo2_next_pre_key_id INTEGER NOT NULL DEFAULT 1
);

-- Signed prekeys per namespace (the signature differs): the current one,
-- and the one before it, kept for messages that were on their way when it
-- was rotated.
CREATE TABLE omemo_signed_pre_keys (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    namespace TEXT NOT NULL CHECK (namespace IN ('legacy', 'omemo2')),
    id INTEGER NOT NULL,
    key BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    is_current INTEGER NOT NULL CHECK (is_current IN (0, 1)),
    PRIMARY KEY (account_id, namespace, id)
) WITHOUT ROWID;

-- One-time prekeys per namespace. A used one leaves the bundle at once
-- but is kept until the catch-up after it, which may carry the same key
-- exchange again (a carbon and an archive copy).
CREATE TABLE omemo_pre_keys (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    namespace TEXT NOT NULL CHECK (namespace IN ('legacy', 'omemo2')),
    id INTEGER NOT NULL,
    key BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (account_id, namespace, id)
) WITHOUT ROWID;

-- Devices of contacts and our own other devices, per namespace: those in
-- the account's published list are active, those that left it (or that
-- only ever sent us a message) inactive. The identity key, in the
-- namespace's encoding, is known once a bundle or key exchange showed it;
-- trust is about that key.
CREATE TABLE omemo_devices (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    jid TEXT NOT NULL,
    namespace TEXT NOT NULL CHECK (namespace IN ('legacy', 'omemo2')),
    device_id INTEGER NOT NULL CHECK (device_id BETWEEN 1 AND 2147483647),
    label TEXT,
    active INTEGER NOT NULL CHECK (active IN (0, 1)),
    first_seen INTEGER NOT NULL,
    identity_key BLOB,
    trust TEXT CHECK (trust IN ('blind', 'verified', 'untrusted')),
    CHECK ((identity_key IS NULL) = (trust IS NULL)),
    PRIMARY KEY (account_id, jid, namespace, device_id)
) WITHOUT ROWID;

-- A Double Ratchet session with one device, kept across restarts and
-- written after every message it encrypts or decrypts.
CREATE TABLE omemo_sessions (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    jid TEXT NOT NULL,
    namespace TEXT NOT NULL CHECK (namespace IN ('legacy', 'omemo2')),
    device_id INTEGER NOT NULL CHECK (device_id BETWEEN 1 AND 2147483647),
    session BLOB NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, jid, namespace, device_id)
) WITHOUT ROWID;
