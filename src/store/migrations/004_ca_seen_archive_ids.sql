-- Whether a certificate trusted through the system's authorities was ever
-- seen for the account: from then on Sotto never offers to pin a
-- certificate that fails that check (a man in the middle would show one).
ALTER TABLE accounts ADD COLUMN ca_seen INTEGER NOT NULL DEFAULT 0;

-- A catch-up resumes after an archive id: its message is looked up once
-- per login.
CREATE INDEX messages_by_archive_id ON messages (archive_id)
    WHERE archive_id IS NOT NULL;
