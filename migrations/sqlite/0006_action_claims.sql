-- Fail closed, claim first (issue 12, item 3). An action on a grant, a credential or
-- a review item first claims its row here, in the transaction that checks the row's
-- status and writes the intent entry to the audit log; only then is the issuer
-- called. The outcome's transaction deletes the claim. A second process sees who
-- holds it; a claim lapses at `expires_at`, or at once when its process has exited.
CREATE TABLE action_claims (
    target     TEXT PRIMARY KEY,   -- 'grant:<id>', 'credential:<id>', 'review-item:<id>'
    action     TEXT NOT NULL,      -- approve, deny, revoke, review.revoke, ...
    operator   TEXT NOT NULL,
    holder     TEXT NOT NULL,      -- pid@host/nonce of the claiming process
    since      TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    intent_seq INTEGER NOT NULL    -- the audit entry that announced it
);
