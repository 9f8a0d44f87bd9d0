-- The credentials a sync run saw unchanged: a narrow list instead of rewriting
-- every unchanged row with the run's number. When the run ends well, what the
-- issuer still holds is what the run wrote or listed here; the rest is gone.
-- Kept while a run can still be resumed; emptied when it ends or a new run starts.
CREATE TABLE sync_seen (
    run_id        INTEGER NOT NULL,
    credential_id TEXT NOT NULL,
    PRIMARY KEY (run_id, credential_id)
) WITHOUT ROWID;

