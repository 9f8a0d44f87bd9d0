-- `scope:S` in the default order: each scope row carries its credential's key in
-- that order (credentials_active_first's expression), so the first page of a scope
-- comes straight off (scope, key, credential) instead of walking every credential
-- or sorting every match. Ingest writes the key with the row; the trigger keeps it
-- when a credential's status or expiry changes anywhere else (a revocation, a sync
-- marking it gone, a review).
ALTER TABLE credential_scopes ADD COLUMN k TEXT;
UPDATE credential_scopes SET k = (
    SELECT CASE c.status WHEN 'active' THEN '0' ELSE '1' END || coalesce(c.expires_at, '9999-12-31T23:59:59Z')
    FROM credentials c WHERE c.id = credential_scopes.credential_id);
CREATE INDEX credential_scopes_order ON credential_scopes(scope, k, credential_id);
CREATE TRIGGER credential_scopes_follow
AFTER UPDATE OF status, expires_at ON credentials
WHEN NEW.status IS NOT OLD.status OR NEW.expires_at IS NOT OLD.expires_at
BEGIN
    UPDATE credential_scopes SET k = CASE NEW.status WHEN 'active' THEN '0' ELSE '1' END || coalesce(NEW.expires_at, '9999-12-31T23:59:59Z')
    WHERE credential_id = NEW.id;
END;
