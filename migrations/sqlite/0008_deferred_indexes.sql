-- Secondary indexes set aside while a first sync loads an empty inventory, with
-- their definitions: each is built again in one sorted pass when the load ends (or
-- when the database is next opened with no live sync, if the loader died).
CREATE TABLE deferred_indexes (
    name TEXT PRIMARY KEY,
    sql  TEXT NOT NULL
);

-- What the issuer last said of a credential, hashed: a re-sync rewrites only the
-- credentials whose record changed, and only marks the others seen.
ALTER TABLE credentials ADD COLUMN content_hash TEXT;

-- A change made here (a revocation, a review decision, marking gone) leaves the
-- row different from the issuer's record: the next sync writes it in full again.
CREATE TRIGGER credentials_changed_here
AFTER UPDATE OF kind, fingerprint, client_id, subject, workload, owner, scopes, audience, binding,
    issued_at, expires_at, last_used_at, status, task_id, task_intent, task_ended_at, parent_id ON credentials
WHEN NEW.content_hash IS NOT NULL AND NEW.content_hash IS OLD.content_hash
BEGIN
    UPDATE credentials SET content_hash = NULL WHERE id = NEW.id;
END;
