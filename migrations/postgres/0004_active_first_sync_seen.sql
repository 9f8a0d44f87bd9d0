-- The credentials view's default order: active credentials first, the soonest to
-- expire first, then the rest by expiry (store/postgres/filter.rs writes the same expression).
CREATE INDEX credentials_active_first ON credentials(
    ((CASE status WHEN 'active' THEN '0' ELSE '1' END || coalesce(expires_at, '9999-12-31T23:59:59Z')) COLLATE "C"), id COLLATE "C");

-- SQLite's list of the credentials a run saw unchanged (its migration 0009). The
-- same table here keeps both schemas one; PostgreSQL's ingest still writes every
-- credential with its run, so it stays empty.
CREATE TABLE sync_seen (
    run_id        BIGINT NOT NULL,
    credential_id TEXT NOT NULL,
    PRIMARY KEY (run_id, credential_id)
);
