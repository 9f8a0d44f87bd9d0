-- Races (issue 12, item 7). 0001-0003 have shipped, so what they lacked is added here.

-- One sync per issuer at a time: the holder (pid@host and a per-run nonce), since
-- when, and until when the lock stands unless renewed as pages commit.
CREATE TABLE sync_locks (
    issuer     TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    since      TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

-- A retry claims an outbox row before calling the issuer, so two processes never send it twice.
ALTER TABLE revocation_outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE revocation_outbox ADD COLUMN claimed_until TEXT;
