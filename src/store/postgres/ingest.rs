//! Ingest: whole pages of an issuer's credentials, owners and grants, one
//! transaction each. Rows travel as one array per column (`UNNEST`), so a
//! statement has a fixed handful of binds however many rows it writes. The SQLite
//! backend's chunks and order are kept, so both backends store the same rows.
use std::collections::HashMap;

use sqlx::PgConnection;

use super::PgStore;
use crate::domain::*;
use crate::store::error::Result;

/// Credentials per round of statements: the SQLite backend's chunk, so that an
/// issuer repeating a credential across a page is stored as SQLite stores it.
const CHUNK: usize = 400;

impl PgStore {
    /// Whole issuer pages of credentials in one transaction, with the run's
    /// resume cursor: what is committed and where to resume always agree.
    pub async fn ingest_credential_page(
        &self,
        run_id: i64,
        synced_at: Timestamp,
        items: &[Credential],
        pages: i64,
        next_cursor: Option<&str>,
    ) -> Result<()> {
        let synced = fmt_ts(&synced_at);
        let mut tx = self.pool.begin().await?;
        for chunk in items.chunks(CHUNK) {
            let known = existing_ids(&mut tx, chunk).await?;
            snapshot_scope_changes(&mut tx, chunk, &known, &synced).await?;
            // ON CONFLICT DO UPDATE may touch a row once per statement: a repeat goes in a later round, as SQLite applies it.
            for round in rounds(chunk, |c| (c.issuer.clone(), c.external_id.clone())) {
                upsert_credentials(&mut tx, &round, &synced, run_id).await?;
            }
            replace_children(&mut tx, chunk, &known).await?;
        }
        sqlx::query("UPDATE sync_runs SET pages = pages + $1, items = items + $2, cursor = $3 WHERE id = $4")
            .bind(pages)
            .bind(items.len() as i64)
            .bind(next_cursor)
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// People from an issuer or a directory. A directory (`authoritative`) is the
    /// source of truth on who left: a broker's word never overrides it.
    pub async fn ingest_owners(&self, source: &str, owners: &[Owner], synced_at: Timestamp, authoritative: bool) -> Result<()> {
        let synced = fmt_ts(&synced_at);
        let mut tx = self.pool.begin().await?;
        for round in rounds(owners, |o| o.email.to_lowercase()) {
            sqlx::query(
                "INSERT INTO owners (id, email, name, team, status, source, offboarded_at, authoritative, synced_at, person)
                 SELECT n.id, n.email, n.name, n.team, n.status, $6, n.offboarded_at, $7, $8, n.person
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $9::text[], $10::text[])
                   AS n(id, email, name, team, status, offboarded_at, person)
                 ON CONFLICT (id) DO UPDATE SET email = excluded.email, name = coalesce(excluded.name, owners.name),
                   team = coalesce(excluded.team, owners.team),
                   status = CASE WHEN owners.authoritative > excluded.authoritative THEN owners.status ELSE excluded.status END,
                   offboarded_at = CASE WHEN owners.authoritative > excluded.authoritative THEN owners.offboarded_at ELSE excluded.offboarded_at END,
                   source = CASE WHEN owners.authoritative > excluded.authoritative THEN owners.source ELSE excluded.source END,
                   person = CASE WHEN owners.authoritative > excluded.authoritative THEN owners.person ELSE excluded.person END,
                   authoritative = greatest(owners.authoritative, excluded.authoritative), synced_at = excluded.synced_at",
            )
            .bind(column(&round, |o| o.email.to_lowercase()))
            .bind(column(&round, |o| o.email.clone()))
            .bind(column(&round, |o| o.name.clone()))
            .bind(column(&round, |o| o.team.clone()))
            .bind(column(&round, |o| o.status.as_str().to_string()))
            .bind(source)
            .bind(authoritative as i64)
            .bind(&synced)
            .bind(column(&round, |o| o.offboarded_at.as_ref().map(fmt_ts)))
            .bind(column(&round, |o| o.alias_of.as_ref().map(|p| p.to_lowercase())))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Grants are a small live queue: the issuer's list replaces ours.
    pub async fn replace_grants(&self, issuer: &str, grants: &[Grant], synced_at: Timestamp) -> Result<()> {
        let synced = fmt_ts(&synced_at);
        let mut tx = self.pool.begin().await?;
        sqlx::query(r#"UPDATE grants SET status = 'expired' WHERE issuer = $1 AND status = 'pending' AND synced_at COLLATE "C" < $2"#)
            .bind(issuer)
            .bind(&synced)
            .execute(&mut *tx)
            .await?;
        for g in grants {
            sqlx::query(
                "INSERT INTO grants (id, issuer, external_id, workload, requested_by, intent, scopes, audience, ttl_seconds,
                   binding, requested_at, expires_at, status, synced_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                 ON CONFLICT (issuer, external_id) DO UPDATE SET workload = excluded.workload, requested_by = excluded.requested_by,
                   intent = excluded.intent, scopes = excluded.scopes, audience = excluded.audience, ttl_seconds = excluded.ttl_seconds,
                   binding = excluded.binding, requested_at = excluded.requested_at, expires_at = excluded.expires_at,
                   status = excluded.status, synced_at = excluded.synced_at",
            )
            .bind(&g.id)
            .bind(&g.issuer)
            .bind(&g.external_id)
            .bind(g.workload.clone().unwrap_or_default())
            .bind(g.requested_by.clone().unwrap_or_default())
            .bind(&g.intent)
            .bind(g.scopes.join(" "))
            .bind(g.audience.join(" "))
            .bind(g.ttl_seconds)
            .bind(g.binding.as_str())
            .bind(g.requested_at.as_ref().map(fmt_ts))
            .bind(g.expires_at.as_ref().map(fmt_ts))
            .bind(g.status.as_str())
            .bind(&synced)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// One column of rows, as the array `UNNEST` reads.
fn column<T, V>(rows: &[&T], f: impl Fn(&T) -> V) -> Vec<V> {
    rows.iter().map(|r| f(r)).collect()
}

/// The items split so that no round holds a key twice: the first of each key in
/// the first round, its repeat in the second... Applied round after round, each
/// key's writes land in their order, as one row at a time would.
fn rounds<T, K: std::hash::Hash + Eq>(items: &[T], key: impl Fn(&T) -> K) -> Vec<Vec<&T>> {
    let mut seen: HashMap<K, usize> = HashMap::new();
    let mut out: Vec<Vec<&T>> = Vec::new();
    for item in items {
        let n = seen.entry(key(item)).or_insert(0);
        if out.len() <= *n {
            out.push(Vec::new());
        }
        out[*n].push(item);
        *n += 1;
    }
    out
}

async fn existing_ids(tx: &mut PgConnection, chunk: &[Credential]) -> Result<Vec<String>> {
    let ids: Vec<String> = chunk.iter().map(|c| c.id.clone()).collect();
    Ok(sqlx::query_scalar("SELECT id FROM credentials WHERE id = ANY($1)").bind(ids).fetch_all(&mut *tx).await?)
}

async fn snapshot_scope_changes(tx: &mut PgConnection, chunk: &[Credential], known: &[String], synced: &str) -> Result<()> {
    if known.is_empty() {
        return Ok(());
    }
    let seen: Vec<&Credential> = chunk.iter().filter(|c| known.contains(&c.id)).collect();
    sqlx::query(
        "INSERT INTO scope_snapshots (credential_id, until_at, scopes)
         SELECT c.id, $1, c.scopes FROM credentials c JOIN UNNEST($2::text[], $3::text[]) AS n(id, scopes) ON c.id = n.id
         WHERE c.scopes != n.scopes
         ON CONFLICT DO NOTHING",
    )
    .bind(synced)
    .bind(column(&seen, |c| c.id.clone()))
    .bind(column(&seen, |c| c.scopes.join(" ")))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn upsert_credentials(tx: &mut PgConnection, rows: &[&Credential], synced: &str, run_id: i64) -> Result<()> {
    let ts = |t: &Option<Timestamp>| t.as_ref().map(fmt_ts);
    sqlx::query(
        "INSERT INTO credentials (id, issuer, external_id, kind, fingerprint, client_id, subject, workload, owner, scopes,
           audience, binding, issued_at, expires_at, last_used_at, status, task_id, task_intent, task_ended_at, parent_id, synced_at, synced_run)
         SELECT n.*, $21, $22 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
           $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[],
           $19::text[], $20::text[]) AS n
         ON CONFLICT (issuer, external_id) DO UPDATE SET kind = excluded.kind, fingerprint = excluded.fingerprint,
           client_id = excluded.client_id, subject = excluded.subject, workload = excluded.workload, owner = excluded.owner,
           scopes = excluded.scopes, audience = excluded.audience, binding = excluded.binding, issued_at = excluded.issued_at,
           expires_at = excluded.expires_at, last_used_at = excluded.last_used_at, status = excluded.status,
           task_id = excluded.task_id, task_intent = excluded.task_intent, task_ended_at = excluded.task_ended_at,
           parent_id = excluded.parent_id, synced_at = excluded.synced_at, synced_run = excluded.synced_run, gone_at = NULL",
    )
    .bind(column(rows, |c| c.id.clone()))
    .bind(column(rows, |c| c.issuer.clone()))
    .bind(column(rows, |c| c.external_id.clone()))
    .bind(column(rows, |c| c.kind.as_str().to_string()))
    .bind(column(rows, |c| c.fingerprint.clone()))
    .bind(column(rows, |c| c.client_id.clone().unwrap_or_default()))
    .bind(column(rows, |c| c.subject.clone().unwrap_or_default()))
    .bind(column(rows, |c| c.workload.clone().unwrap_or_default()))
    .bind(column(rows, |c| c.owner.as_deref().map(str::to_lowercase).unwrap_or_default()))
    .bind(column(rows, |c| c.scopes.join(" ")))
    .bind(column(rows, |c| c.audience.join(" ")))
    .bind(column(rows, |c| c.binding.as_str().to_string()))
    .bind(column(rows, |c| ts(&c.issued_at)))
    .bind(column(rows, |c| ts(&c.expires_at)))
    .bind(column(rows, |c| ts(&c.last_used_at)))
    .bind(column(rows, |c| c.status.as_str().to_string()))
    .bind(column(rows, |c| c.task.as_ref().map(|t| t.id.clone())))
    .bind(column(rows, |c| c.task.as_ref().and_then(|t| t.intent.clone())))
    .bind(column(rows, |c| c.task.as_ref().and_then(|t| ts(&t.ended_at))))
    .bind(column(rows, |c| c.parent_id.clone()))
    .bind(synced)
    .bind(run_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn replace_children(tx: &mut PgConnection, chunk: &[Credential], known: &[String]) -> Result<()> {
    if !known.is_empty() {
        for sql in [
            "DELETE FROM credential_scopes WHERE credential_id = ANY($1)",
            "DELETE FROM delegation WHERE credential_id = ANY($1)",
            "DELETE FROM usage_events WHERE credential_id = ANY($1)",
            "DELETE FROM consent_events WHERE source = 'issuer' AND credential_id = ANY($1)",
        ] {
            sqlx::query(sql).bind(known).execute(&mut *tx).await?;
        }
    }
    // Each with its credential's key in the default order (`credential_scopes.k`).
    let keys: Vec<String> = chunk.iter().map(crate::store::active_first_key).collect();
    let scopes: Vec<(&str, &str, &str)> =
        chunk.iter().zip(&keys).flat_map(|(c, k)| c.scopes.iter().map(move |s| (c.id.as_str(), s.as_str(), k.as_str()))).collect();
    if !scopes.is_empty() {
        sqlx::query("INSERT INTO credential_scopes (credential_id, scope, k) SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING")
            .bind(scopes.iter().map(|(id, _, _)| *id).collect::<Vec<_>>())
            .bind(scopes.iter().map(|(_, s, _)| *s).collect::<Vec<_>>())
            .bind(scopes.iter().map(|(_, _, k)| *k).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
    }
    // In the order given (the first of a repeated position stands, as with INSERT OR IGNORE).
    let chain: Vec<(&str, i64, &str)> =
        chunk.iter().flat_map(|c| c.act_chain.iter().enumerate().map(move |(i, a)| (c.id.as_str(), i as i64, a.as_str()))).collect();
    if !chain.is_empty() {
        sqlx::query(
            "INSERT INTO delegation (credential_id, position, actor)
             SELECT n.id, n.position, n.actor FROM UNNEST($1::text[], $2::bigint[], $3::text[]) WITH ORDINALITY AS n(id, position, actor, i)
             ORDER BY n.i ON CONFLICT DO NOTHING",
        )
        .bind(chain.iter().map(|(id, _, _)| *id).collect::<Vec<_>>())
        .bind(chain.iter().map(|(_, i, _)| *i).collect::<Vec<_>>())
        .bind(chain.iter().map(|(_, _, a)| *a).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    // Events keep their order: their ids break ties between equal times.
    let usage: Vec<(&str, &UsageEvent)> = chunk.iter().flat_map(|c| c.usage.iter().map(move |u| (c.id.as_str(), u))).collect();
    if !usage.is_empty() {
        sqlx::query(
            "INSERT INTO usage_events (credential_id, at, workload, origin)
             SELECT n.id, n.at, n.workload, n.origin FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS n(id, at, workload, origin, i)
             ORDER BY n.i",
        )
        .bind(usage.iter().map(|(id, _)| *id).collect::<Vec<_>>())
        .bind(usage.iter().map(|(_, u)| fmt_ts(&u.at)).collect::<Vec<_>>())
        .bind(usage.iter().map(|(_, u)| u.workload.clone()).collect::<Vec<_>>())
        .bind(usage.iter().map(|(_, u)| u.origin.clone()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    let consent: Vec<(&str, &ConsentEvent)> = chunk.iter().flat_map(|c| c.consent.iter().map(move |e| (c.id.as_str(), e))).collect();
    if !consent.is_empty() {
        sqlx::query(
            "INSERT INTO consent_events (credential_id, at, actor, action, scopes, note, source)
             SELECT n.id, n.at, n.actor, n.action, n.scopes, n.note, 'issuer'
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS n(id, at, actor, action, scopes, note, i)
             ORDER BY n.i",
        )
        .bind(consent.iter().map(|(id, _)| *id).collect::<Vec<_>>())
        .bind(consent.iter().map(|(_, e)| fmt_ts(&e.at)).collect::<Vec<_>>())
        .bind(consent.iter().map(|(_, e)| e.actor.clone()).collect::<Vec<_>>())
        .bind(consent.iter().map(|(_, e)| e.action.clone()).collect::<Vec<_>>())
        .bind(consent.iter().map(|(_, e)| e.scopes.join(" ")).collect::<Vec<_>>())
        .bind(consent.iter().map(|(_, e)| e.note.clone()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn rounds_never_repeat_a_key_and_keep_each_keys_order() {
        let items = ["a1", "b1", "a2", "c1", "a3", "b2"];
        let rounds = super::rounds(&items, |s| s.as_bytes()[0]);
        let rounds: Vec<Vec<&str>> = rounds.into_iter().map(|r| r.into_iter().copied().collect()).collect();
        assert_eq!(rounds, [vec!["a1", "b1", "c1"], vec!["a2", "b2"], vec!["a3"]]);
    }
}
