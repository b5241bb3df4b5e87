-- Group chats (XEP-0045).

-- The rooms an account is in or was in. A room left keeps its history
-- (its conversation) and this row, with autojoin off.
CREATE TABLE rooms (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    jid TEXT NOT NULL,
    -- The nickname we asked for; the room may have given us another.
    nick TEXT NOT NULL,
    -- For password-protected rooms. The store is encrypted, and XEP-0402
    -- bookmarks keep it on the server in the same way.
    password TEXT,
    autojoin INTEGER NOT NULL DEFAULT 1 CHECK (autojoin IN (0, 1)),
    subject TEXT,
    -- The newest id of the room's archive (XEP-0313) stored: where the
    -- next join's catch-up resumes.
    mam_last_id TEXT,
    PRIMARY KEY (account_id, jid)
) WITHOUT ROWID;

-- Whether a conversation is with one person or a room.
ALTER TABLE conversations ADD COLUMN kind TEXT NOT NULL DEFAULT 'chat'
    CHECK (kind IN ('chat', 'room'));
