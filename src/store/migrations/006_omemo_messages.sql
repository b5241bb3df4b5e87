-- OMEMO per message and per chat.

-- Whether the message travelled end-to-end encrypted (OMEMO). A notice
-- that a message could not be decrypted is stored as a message in clear
-- (it was written here), with `omemo_notice` set.
ALTER TABLE messages ADD COLUMN encrypted INTEGER NOT NULL DEFAULT 0 CHECK (encrypted IN (0, 1));
ALTER TABLE messages ADD COLUMN omemo_notice INTEGER NOT NULL DEFAULT 0 CHECK (omemo_notice IN (0, 1));

-- A chat's encryption: NULL follows the contact (on once their devices
-- publish OMEMO), 'on' once a message in it was encrypted or the user
-- turned it on (from then on nothing is sent in clear), 'off' when the
-- user turned it off.
ALTER TABLE conversations ADD COLUMN encryption TEXT CHECK (encryption IN ('on', 'off'));
