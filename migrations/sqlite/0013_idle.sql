-- `unused>D`: how long a credential has been idle (its last use, else its issue).
-- Its matches gather where the default order puts non-expiring credentials (the
-- end of the active block), so walking that order finds them late; this index
-- gives them directly, and holds the status and the default order's key so the
-- first page is chosen without reading a row (store/sqlite/credentials.rs).
CREATE INDEX credentials_idle ON credentials(
    coalesce(last_used_at, issued_at, ''), status,
    (CASE status WHEN 'active' THEN '0' ELSE '1' END || coalesce(expires_at, '9999-12-31T23:59:59Z')), id);
