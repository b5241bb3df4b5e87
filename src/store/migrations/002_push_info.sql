-- Knocks: each contact's push relay and tokens (tokens are secrets: they
-- live only in this encrypted database).

CREATE TABLE push_info (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    contact TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    -- JSON array of tokens, oldest first.
    tokens TEXT NOT NULL,
    -- Where it came from: 'manual', 'pep' or 'message'.
    source TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    last_knock_at INTEGER,
    last_result TEXT,
    auto_knock INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, contact)
) WITHOUT ROWID;
