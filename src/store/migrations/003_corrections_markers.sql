-- Corrections (XEP-0308) and chat markers (XEP-0333).

-- When the body last changed through a correction; NULL: never corrected.
-- The body column always holds the newest text, and the FTS index follows
-- it through the messages_fts_update trigger of schema 1.
ALTER TABLE messages ADD COLUMN edited_at INTEGER;
-- The stanza's id attribute as its sender set it: what corrections and
-- chat markers refer to (often equal to the origin-id).
ALTER TABLE messages ADD COLUMN wire_id TEXT;
-- The sender asked for chat markers (<markable/>).
ALTER TABLE messages ADD COLUMN markable INTEGER NOT NULL DEFAULT 0;
CREATE INDEX messages_by_wire_id ON messages (conversation_id, wire_id)
    WHERE wire_id IS NOT NULL;

-- The newest incoming message (row id) we told the contact we displayed.
ALTER TABLE conversations ADD COLUMN displayed_up_to INTEGER;
