-- A queued message the user chose to send in clear (`sotto send --plain`)
-- in a chat that would encrypt it: the choice is kept with the message,
-- so what goes out after a restart is what the user asked for.
ALTER TABLE outbox ADD COLUMN plain INTEGER NOT NULL DEFAULT 0 CHECK (plain IN (0, 1));
