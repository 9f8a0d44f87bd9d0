-- Findings runs, review evidence and scope history (issue 6). 0001 has shipped,
-- so what it lacked is added here rather than edited in.

-- Each recompute of the findings: when, how long, what changed. A finding is
-- open while the latest run sees it (its last_seen is that run's time) and is
-- closed, with the last time it was seen, when a run no longer does.
CREATE TABLE findings_runs (
    id          INTEGER PRIMARY KEY,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    open        INTEGER NOT NULL DEFAULT 0,
    opened      INTEGER NOT NULL DEFAULT 0,
    closed      INTEGER NOT NULL DEFAULT 0,
    millis      INTEGER NOT NULL DEFAULT 0
);
-- The findings rules group usage and consent per credential in one pass: with
-- the columns they read in the index, that pass never visits the table.
DROP INDEX usage_events_cred;
CREATE INDEX usage_events_cred ON usage_events(credential_id, at, workload, origin);
DROP INDEX consent_events_cred;
CREATE INDEX consent_events_cred ON consent_events(credential_id, at, action, scopes);

-- What a credential held before a sync saw its scopes change: scopes held up to
-- `until_at`. With issued/expiry/revocation times this answers "who held scope S at D".
CREATE TABLE scope_snapshots (
    credential_id TEXT NOT NULL,
    until_at      TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    PRIMARY KEY (credential_id, until_at)
) WITHOUT ROWID;

-- Review items: the reviewer's decision's parameters, and a campaign's finder.
ALTER TABLE review_items ADD COLUMN detail TEXT;        -- JSON: new owner, ttl, scopes kept
CREATE UNIQUE INDEX review_items_unique ON review_items(campaign_id, credential_id);
