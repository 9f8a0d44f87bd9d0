-- Findings runs, review evidence and scope history (issue 6). 0001 has shipped,
-- so what it lacked is added here rather than edited in.

-- Each recompute of the findings: when, how long, what changed. A finding is
-- open while the latest run saw it (seen_run) and closed when a run did not.
CREATE TABLE findings_runs (
    id          INTEGER PRIMARY KEY,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    open        INTEGER NOT NULL DEFAULT 0,
    opened      INTEGER NOT NULL DEFAULT 0,
    closed      INTEGER NOT NULL DEFAULT 0,
    millis      INTEGER NOT NULL DEFAULT 0
);
ALTER TABLE findings ADD COLUMN seen_run INTEGER;
CREATE INDEX findings_open_sev ON findings(severity, rule) WHERE closed_at IS NULL;
CREATE INDEX findings_owner ON findings(owner) WHERE closed_at IS NULL;

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
