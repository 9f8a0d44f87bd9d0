-- The whole data model of DESIGN.md. Times are RFC 3339 UTC text (second
-- precision, 'Z'), so string order is time order. No raw secret is ever stored.

CREATE TABLE issuers (
    name        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    url         TEXT,
    added_at    TEXT NOT NULL
);

CREATE TABLE owners (
    id            TEXT PRIMARY KEY,          -- lower-cased email
    email         TEXT NOT NULL,
    name          TEXT,
    team          TEXT,
    status        TEXT NOT NULL DEFAULT 'unknown',  -- active | offboarded | unknown
    source        TEXT,
    offboarded_at TEXT,
    authoritative INTEGER NOT NULL DEFAULT 0,   -- 1: from a directory (SCIM), whose word on status wins
    synced_at     TEXT
);
CREATE INDEX owners_status ON owners(status, id);

CREATE TABLE workloads (
    id         TEXT PRIMARY KEY,
    spiffe_id  TEXT,
    client_id  TEXT,
    name       TEXT,
    owner      TEXT
);

CREATE TABLE credentials (
    id            TEXT PRIMARY KEY,          -- hex of sha256(issuer NUL external_id)[..8]
    issuer        TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    kind          TEXT NOT NULL,
    fingerprint   TEXT,
    client_id     TEXT NOT NULL DEFAULT '',
    subject       TEXT NOT NULL DEFAULT '',
    workload      TEXT NOT NULL DEFAULT '',  -- '' when none: keeps keyset comparisons NULL-free
    owner         TEXT NOT NULL DEFAULT '',  -- lower-cased email, '' when none
    scopes        TEXT NOT NULL DEFAULT '',  -- space-separated, as OAuth writes them
    audience      TEXT NOT NULL DEFAULT '',  -- space-separated
    binding       TEXT NOT NULL,             -- bearer | dpop | mtls
    issued_at     TEXT,
    expires_at    TEXT,                      -- NULL: never expires
    last_used_at  TEXT,
    status        TEXT NOT NULL,             -- active | expired | revoked | gone
    task_id       TEXT,
    task_intent   TEXT,
    task_ended_at TEXT,
    parent_id     TEXT,
    synced_at     TEXT NOT NULL,
    synced_run    INTEGER,                   -- the sync run that last saw it: the rest are gone
    gone_at       TEXT,
    UNIQUE (issuer, external_id)
);
-- One index per sortable column (those the table shows), each ending in id so
-- keyset paging is stable. Every index costs ingest: no more than the views need.
CREATE INDEX credentials_owner    ON credentials(owner, id);
CREATE INDEX credentials_workload ON credentials(workload, id);
CREATE INDEX credentials_expires  ON credentials(coalesce(expires_at, '9999-12-31T23:59:59Z'), id);
CREATE INDEX credentials_used     ON credentials(coalesce(last_used_at, ''), id);
CREATE INDEX credentials_status   ON credentials(status, id);
CREATE INDEX credentials_binding  ON credentials(binding, id);
CREATE INDEX credentials_fp       ON credentials(fingerprint);
CREATE INDEX credentials_parent   ON credentials(parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX credentials_task     ON credentials(task_id) WHERE task_id IS NOT NULL;

-- Scope membership, for `scope:` filters without scanning.
CREATE TABLE credential_scopes (
    scope         TEXT NOT NULL,
    credential_id TEXT NOT NULL,
    PRIMARY KEY (scope, credential_id)
) WITHOUT ROWID;
CREATE INDEX credential_scopes_cred ON credential_scopes(credential_id);

CREATE TABLE delegation (
    credential_id TEXT NOT NULL,
    position      INTEGER NOT NULL,          -- 0 = outermost actor
    actor         TEXT NOT NULL,
    PRIMARY KEY (credential_id, position)
) WITHOUT ROWID;

CREATE TABLE grants (
    id            TEXT PRIMARY KEY,
    issuer        TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    workload      TEXT NOT NULL DEFAULT '',
    requested_by  TEXT NOT NULL DEFAULT '',
    intent        TEXT,
    scopes        TEXT NOT NULL DEFAULT '',
    audience      TEXT NOT NULL DEFAULT '',
    ttl_seconds   INTEGER NOT NULL,
    binding       TEXT NOT NULL,
    requested_at  TEXT,
    expires_at    TEXT,
    status        TEXT NOT NULL,
    decided_by    TEXT,
    decided_at    TEXT,
    decision_note TEXT,
    credential_id TEXT,
    synced_at     TEXT NOT NULL,
    UNIQUE (issuer, external_id)
);
CREATE INDEX grants_status ON grants(status, requested_at, id);

CREATE TABLE consent_events (
    id            INTEGER PRIMARY KEY,
    credential_id TEXT,
    grant_id      TEXT,
    at            TEXT NOT NULL,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,             -- request | approve | deny | scope_change | renew | revoke
    scopes        TEXT NOT NULL DEFAULT '',
    note          TEXT,
    source        TEXT NOT NULL DEFAULT 'issuer'   -- issuer | tokenward
);
CREATE INDEX consent_events_cred ON consent_events(credential_id, at);

CREATE TABLE usage_events (
    id            INTEGER PRIMARY KEY,
    credential_id TEXT NOT NULL,
    at            TEXT NOT NULL,
    workload      TEXT,
    origin        TEXT
);
CREATE INDEX usage_events_cred ON usage_events(credential_id, at);

CREATE TABLE findings (
    id            INTEGER PRIMARY KEY,
    rule          TEXT NOT NULL,
    severity      TEXT NOT NULL,
    credential_id TEXT NOT NULL,
    owner         TEXT,
    summary       TEXT NOT NULL,
    evidence      TEXT,
    frameworks    TEXT NOT NULL DEFAULT '',
    first_seen    TEXT NOT NULL,
    last_seen     TEXT NOT NULL,
    closed_at     TEXT,
    UNIQUE (rule, credential_id)
);
CREATE INDEX findings_open ON findings(rule, credential_id) WHERE closed_at IS NULL;
CREATE INDEX findings_cred ON findings(credential_id);

CREATE TABLE review_campaigns (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    filter      TEXT,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    closed_at   TEXT
);

CREATE TABLE review_items (
    id            INTEGER PRIMARY KEY,
    campaign_id   INTEGER NOT NULL REFERENCES review_campaigns(id),
    credential_id TEXT NOT NULL,
    snapshot      TEXT NOT NULL,             -- JSON of the credential when the campaign started
    decision      TEXT,                      -- keep | revoke | reassign | shorten | reduce
    decided_by    TEXT,
    decided_at    TEXT,
    reason        TEXT,
    issuer_answer TEXT
);
CREATE INDEX review_items_campaign ON review_items(campaign_id, id);

-- Append-only and hash-chained: hash = sha256(prev_hash | seq | at | actor | action | target | detail).
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_log_target ON audit_log(target, seq);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

CREATE TABLE sync_runs (
    id           INTEGER PRIMARY KEY,
    issuer       TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    status       TEXT NOT NULL,              -- running | ok | failed
    pages        INTEGER NOT NULL DEFAULT 0,
    items        INTEGER NOT NULL DEFAULT 0,
    cursor       TEXT,                       -- last committed page's next cursor: resume point
    error        TEXT
);
CREATE INDEX sync_runs_issuer ON sync_runs(issuer, id);

CREATE TABLE revocation_outbox (
    id              INTEGER PRIMARY KEY,
    credential_id   TEXT NOT NULL,
    issuer          TEXT NOT NULL,
    actor           TEXT NOT NULL,
    reason          TEXT NOT NULL,
    requested_at    TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at TEXT,
    done_at         TEXT
);
CREATE INDEX revocation_outbox_pending ON revocation_outbox(next_attempt_at) WHERE done_at IS NULL;
