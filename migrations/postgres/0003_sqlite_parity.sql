-- The columns and tables SQLite's 0008 added, so that both schemas stay one data
-- model (the conformance suite copies every table across). PostgreSQL builds its
-- indexes as it goes and rewrites every synced credential: it leaves both empty.
ALTER TABLE credentials ADD COLUMN content_hash TEXT;
CREATE TABLE deferred_indexes (
    name TEXT PRIMARY KEY,
    sql  TEXT NOT NULL
);
