-- `scope:S` in the default order: each scope row carries its credential's key in
-- that order (credentials_active_first's expression) as part of its primary key,
-- (scope, key, credential), so the first page of a scope comes straight off the
-- table instead of walking every credential or sorting every match (and no second
-- index of every scope row is kept for it). Ingest writes the key with the row; the
-- trigger keeps it when a credential's status or expiry changes anywhere else (a
-- revocation, a sync marking it gone, a review).
CREATE TABLE credential_scopes_keyed (
    scope         TEXT NOT NULL,
    k             TEXT NOT NULL,
    credential_id TEXT NOT NULL,
    PRIMARY KEY (scope, k, credential_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO credential_scopes_keyed (scope, k, credential_id)
SELECT s.scope, coalesce((SELECT CASE c.status WHEN 'active' THEN '0' ELSE '1' END || coalesce(c.expires_at, '9999-12-31T23:59:59Z')
                          FROM credentials c WHERE c.id = s.credential_id), '1'), s.credential_id
FROM credential_scopes s;
DROP TABLE credential_scopes;
ALTER TABLE credential_scopes_keyed RENAME TO credential_scopes;
-- A credential's scopes, and whether it holds one (the walked `scope:` test): both columns.
CREATE INDEX credential_scopes_cred ON credential_scopes(credential_id, scope);
CREATE TRIGGER credential_scopes_follow
AFTER UPDATE OF status, expires_at ON credentials
WHEN NEW.status IS NOT OLD.status OR NEW.expires_at IS NOT OLD.expires_at
BEGIN
    UPDATE credential_scopes SET k = CASE NEW.status WHEN 'active' THEN '0' ELSE '1' END || coalesce(NEW.expires_at, '9999-12-31T23:59:59Z')
    WHERE credential_id = NEW.id;
END;
