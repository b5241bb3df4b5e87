-- A device can wait for the user's decision ('undecided'): a new device of
-- a contact who has a verified one, or a device whose identity key
-- changed. Until now such devices were stored 'untrusted', as refused
-- ones are; they stay so (nothing was or is encrypted to them either way).
-- SQLite cannot change a CHECK in place: the table is rebuilt, every row
-- kept.
CREATE TABLE omemo_devices_new (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    jid TEXT NOT NULL,
    namespace TEXT NOT NULL CHECK (namespace IN ('legacy', 'omemo2')),
    device_id INTEGER NOT NULL CHECK (device_id BETWEEN 1 AND 2147483647),
    label TEXT,
    active INTEGER NOT NULL CHECK (active IN (0, 1)),
    first_seen INTEGER NOT NULL,
    identity_key BLOB,
    trust TEXT CHECK (trust IN ('blind', 'verified', 'untrusted', 'undecided')),
    CHECK ((identity_key IS NULL) = (trust IS NULL)),
    PRIMARY KEY (account_id, jid, namespace, device_id)
) WITHOUT ROWID;

INSERT INTO omemo_devices_new
    (account_id, jid, namespace, device_id, label, active, first_seen, identity_key, trust)
SELECT account_id, jid, namespace, device_id, label, active, first_seen, identity_key, trust
FROM omemo_devices;

DROP TABLE omemo_devices;
ALTER TABLE omemo_devices_new RENAME TO omemo_devices;
