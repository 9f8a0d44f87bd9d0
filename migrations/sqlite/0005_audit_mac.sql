-- The keyed chain: HMAC-SHA256 over the previous entry's MAC and this entry's
-- fields, with a key kept outside the database. NULL for entries written before the key.
ALTER TABLE audit_log ADD COLUMN mac TEXT;
