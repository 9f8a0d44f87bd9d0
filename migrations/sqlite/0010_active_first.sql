-- The credentials view's default order: active credentials first, the soonest to
-- expire first, then the rest by expiry. One text key so that a keyset page seeks
-- it like any other sort (store/sqlite/filter.rs writes the same expression).
CREATE INDEX credentials_active_first ON credentials(
    (CASE status WHEN 'active' THEN '0' ELSE '1' END || coalesce(expires_at, '9999-12-31T23:59:59Z')), id);
