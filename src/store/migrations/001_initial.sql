-- Sotto's first schema. Times are milliseconds since the Unix epoch.

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    jid TEXT NOT NULL UNIQUE,
    -- The newest server-archive (MAM) id stored, where catch-up resumes.
    mam_last_id TEXT,
    -- Before any archive id is known: how far back the first catch-up
    -- reaches, fixed on the first attempt so a crash cannot narrow it.
    sync_since INTEGER
);

CREATE TABLE contacts (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    jid TEXT NOT NULL,
    name TEXT,
    subscription TEXT NOT NULL DEFAULT 'none',
    pending_out INTEGER NOT NULL DEFAULT 0,
    groups TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (account_id, jid)
) WITHOUT ROWID;

CREATE TABLE conversations (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    peer TEXT NOT NULL,
    last_activity INTEGER NOT NULL DEFAULT 0,
    unread INTEGER NOT NULL DEFAULT 0,
    muted INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account_id, peer)
);
CREATE INDEX conversations_by_activity ON conversations (last_activity DESC);

CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    sender TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    stored_at INTEGER NOT NULL,
    state TEXT NOT NULL,
    failure TEXT,
    origin_id TEXT,
    stanza_id TEXT,
    archive_id TEXT,
    correction_of INTEGER REFERENCES messages(id) ON DELETE SET NULL
);
CREATE INDEX messages_page ON messages (conversation_id, sent_at, id);
-- Deduplication: our server's stanza-id, or the sender's origin-id.
CREATE UNIQUE INDEX messages_by_stanza_id ON messages (conversation_id, stanza_id)
    WHERE stanza_id IS NOT NULL;
CREATE UNIQUE INDEX messages_by_origin_id ON messages (conversation_id, direction, origin_id)
    WHERE origin_id IS NOT NULL;

-- Outgoing messages not yet acknowledged by the server, in send order.
CREATE TABLE outbox (
    message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    wedged INTEGER NOT NULL DEFAULT 0
);

CREATE VIRTUAL TABLE messages_fts USING fts5 (
    body,
    content = 'messages',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;

-- Account passwords, when no system keychain is reachable.
CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
