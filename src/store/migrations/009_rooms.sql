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
    -- The room's own name (disco#info), or the bookmark's.
    name TEXT,
    -- What notifies: every message, only those naming us, or nothing.
    -- NULL: the default for the kind of room (all in a private room,
    -- mentions in a public one).
    notify TEXT CHECK (notify IN ('all', 'mentions', 'none')),
    -- What the room said of itself when we last entered: members only,
    -- and whether occupants see each other's addresses.
    members_only INTEGER NOT NULL DEFAULT 0 CHECK (members_only IN (0, 1)),
    non_anonymous INTEGER NOT NULL DEFAULT 0 CHECK (non_anonymous IN (0, 1)),
    -- The newest id of the room's archive (XEP-0313) stored: where the
    -- next join's catch-up resumes.
    mam_last_id TEXT,
    -- When we first entered the room: its history from then on is ours
    -- to keep whole, even before a message of it is stored (a first
    -- join reads only the newest page of what came before).
    sync_since INTEGER,
    PRIMARY KEY (account_id, jid)
) WITHOUT ROWID;

-- Whether a conversation is with one person or a room.
ALTER TABLE conversations ADD COLUMN kind TEXT NOT NULL DEFAULT 'chat'
    CHECK (kind IN ('chat', 'room'));
