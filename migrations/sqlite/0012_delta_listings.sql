-- Delta listings (docs/protocol.md): a run that asked its issuer only for what
-- changed after a watermark (`since`) marks nothing gone by absence, only what the
-- issuer's tombstones name; `watermark` is where the issuer stood before the run's
-- listing, and the next run asks from the newest one of a run that ended well.
ALTER TABLE sync_runs ADD COLUMN since TEXT;
ALTER TABLE sync_runs ADD COLUMN watermark TEXT;
