-- `scope:S` in the default order (SQLite's migration 0014): each scope row carries
-- its credential's key in that order, so a scope's first page comes straight off
-- (scope, key, credential) instead of gathering every credential with the scope
-- and sorting them. Ingest writes the key with the row; the trigger keeps it when a
-- credential's status or expiry changes anywhere else (a revocation, a sync marking
-- it gone, a review). Byte order ("C"), as every keyset index here.
ALTER TABLE credential_scopes ADD COLUMN k TEXT;
UPDATE credential_scopes s SET k = CASE c.status WHEN 'active' THEN '0' ELSE '1' END || coalesce(c.expires_at, '9999-12-31T23:59:59Z')
FROM credentials c WHERE c.id = s.credential_id;
CREATE INDEX credential_scopes_order ON credential_scopes(scope, k COLLATE "C", credential_id COLLATE "C");

CREATE FUNCTION credential_scopes_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE credential_scopes SET k = CASE NEW.status WHEN 'active' THEN '0' ELSE '1' END || coalesce(NEW.expires_at, '9999-12-31T23:59:59Z')
    WHERE credential_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER credential_scopes_follow
AFTER UPDATE OF status, expires_at ON credentials
FOR EACH ROW WHEN (NEW.status IS DISTINCT FROM OLD.status OR NEW.expires_at IS DISTINCT FROM OLD.expires_at)
EXECUTE FUNCTION credential_scopes_follow();
