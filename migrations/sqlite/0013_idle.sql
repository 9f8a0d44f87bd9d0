-- Two filters whose first page in the default order (active first, soonest to
-- expire first) was found by walking that order and reading each credential's row.
--
-- `owner-status:S`: the order's index also holds each credential's owner, so a
-- walk tests an owner's status without reading the credential's row (a page read
-- from the OS for every row walked: 26 ms for the first page at 1M).
DROP INDEX credentials_active_first;
CREATE INDEX credentials_active_first ON credentials(
    (CASE status WHEN 'active' THEN '0' ELSE '1' END || coalesce(expires_at, '9999-12-31T23:59:59Z')), id, owner);

-- `unused>D`: how long a credential has been idle (its last use, else its issue).
-- Its matches gather where the order puts credentials that never expire (the end of
-- the active block), so a walk finds them late. Active credentials come first in the
-- order: this index gives the active ones idle that long directly, with their key
-- in the order, and a page is chosen from it without reading a row
-- (store/sqlite/credentials.rs). Active only: half the credentials, and a re-sync
-- moves only the entries of those it finds used again.
CREATE INDEX credentials_idle ON credentials(
    coalesce(last_used_at, issued_at, ''), status,
    (CASE status WHEN 'active' THEN '0' ELSE '1' END || coalesce(expires_at, '9999-12-31T23:59:59Z')), id)
WHERE status = 'active';
