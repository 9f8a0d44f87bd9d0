//! Ingest: whole pages of an issuer's credentials, owners and grants, one transaction each.
use std::collections::HashMap;

use sqlx::{QueryBuilder, Sqlite};

use super::{SqliteStore, CHUNK};
use crate::domain::*;
use crate::store::error::Result;

impl SqliteStore {
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        // Ingest touches index pages all over the file: the writing connection keeps more of them.
        sqlx::query(super::bulk::WRITER_CACHE).execute(&mut *tx).await?;
        super::bulk::defer_if_empty(&mut tx).await?;
        for chunk in items.chunks(CHUNK) {
            let stored = stored_hashes(&mut tx, chunk).await?;
            // What the issuer says exactly as last time is only marked seen by this run.
            let hashes: Vec<String> = chunk.iter().map(content_hash).collect();
            let (same, changed): (Vec<Hashed>, Vec<Hashed>) =
                chunk.iter().zip(&hashes).partition(|(c, h)| stored.get(&c.id).is_some_and(|s| s.as_ref() == Some(*h)));
            mark_seen(&mut tx, &same, run_id).await?;
            // Used again, nothing else: the last use and the usage events, no other column or index.
            let (used, changed): (Vec<Hashed>, Vec<Hashed>) =
                changed.into_iter().partition(|(c, h)| stored.get(&c.id).and_then(|s| s.as_deref()).is_some_and(|s| only_use_differs(s, h)));
            write_use(&mut tx, &used, &synced, run_id).await?;
            let known: Vec<String> = changed.iter().filter(|(c, _)| stored.contains_key(&c.id)).map(|(c, _)| c.id.clone()).collect();
            snapshot_scope_changes(&mut tx, &changed, &known, &synced).await?;
            upsert_credentials(&mut tx, &changed, &synced, run_id).await?;
            replace_children(&mut tx, &changed, &known).await?;
        }
        sqlx::query("UPDATE sync_runs SET pages = pages + ?, items = items + ?, cursor = ? WHERE id = ?")
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for chunk in owners.chunks(CHUNK) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO owners (id, email, name, team, status, source, offboarded_at, authoritative, synced_at, person) ",
            );
            qb.push_values(chunk, |mut b, o| {
                b.push_bind(o.email.to_lowercase())
                    .push_bind(o.email.clone())
                    .push_bind(o.name.clone())
                    .push_bind(o.team.clone())
                    .push_bind(o.status.as_str())
                    .push_bind(source.to_string())
                    .push_bind(o.offboarded_at.as_ref().map(fmt_ts))
                    .push_bind(authoritative as i64)
                    .push_bind(synced.clone())
                    .push_bind(o.alias_of.as_ref().map(|p| p.to_lowercase()));
            });
            qb.push(
                " ON CONFLICT(id) DO UPDATE SET email = excluded.email, name = coalesce(excluded.name, owners.name),
                  team = coalesce(excluded.team, owners.team),
                  status = CASE WHEN owners.authoritative > excluded.authoritative THEN owners.status ELSE excluded.status END,
                  offboarded_at = CASE WHEN owners.authoritative > excluded.authoritative THEN owners.offboarded_at ELSE excluded.offboarded_at END,
                  source = CASE WHEN owners.authoritative > excluded.authoritative THEN owners.source ELSE excluded.source END,
                  person = CASE WHEN owners.authoritative > excluded.authoritative THEN owners.person ELSE excluded.person END,
                  authoritative = max(owners.authoritative, excluded.authoritative), synced_at = excluded.synced_at",
            );
            qb.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Grants are a small live queue: the issuer's list replaces ours.
    pub async fn replace_grants(&self, issuer: &str, grants: &[Grant], synced_at: Timestamp) -> Result<()> {
        let synced = fmt_ts(&synced_at);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE grants SET status = 'expired' WHERE issuer = ? AND status = 'pending' AND synced_at < ?")
            .bind(issuer)
            .bind(&synced)
            .execute(&mut *tx)
            .await?;
        for g in grants {
            sqlx::query(
                "INSERT INTO grants (id, issuer, external_id, workload, requested_by, intent, scopes, audience, ttl_seconds,
                   binding, requested_at, expires_at, status, synced_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT(issuer, external_id) DO UPDATE SET workload = excluded.workload, requested_by = excluded.requested_by,
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

/// A credential of the page, with the hash of its record.
type Hashed<'a> = (&'a Credential, &'a String);

/// A credential's record as the issuer gave it, hashed in two parts, `CORE.USE`
/// (the first 128 bits of sha256 of each part's JSON, in hex): USE is its last use
/// and usage events, CORE all the rest. A re-sync that finds only a newer use (most
/// of what changes between syncs) rewrites only those (`write_use`).
fn content_hash(c: &Credential) -> String {
    let core = (
        (&c.id, &c.issuer, &c.external_id, &c.kind, &c.fingerprint, &c.client_id, &c.subject, &c.workload, &c.owner),
        (&c.scopes, &c.audience, &c.binding, &c.issued_at, &c.expires_at, &c.status, &c.task, &c.parent_id, &c.act_chain, &c.consent),
    );
    format!("{}.{}", half_hash(&core), half_hash(&(&c.last_used_at, &c.usage)))
}

fn half_hash(part: &impl serde::Serialize) -> String {
    use sha2::Digest;
    let mut hasher = HashWriter(sha2::Sha256::new());
    // Writing into a hasher cannot fail, nor can serializing these plain values.
    let _ = serde_json::to_writer(&mut hasher, part);
    hex::encode(&hasher.0.finalize()[..16])
}

/// Serialized bytes straight into the hash, with no buffer between.
struct HashWriter(sha2::Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        sha2::Digest::update(&mut self.0, buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Whether a stored hash and a new one differ only in their USE part.
fn only_use_differs(stored: &str, new: &str) -> bool {
    matches!((stored.split_once('.'), new.split_once('.')), (Some((a, _)), Some((b, _))) if a == b)
}

/// The stored credentials of a chunk, with the hash of the record each was last
/// written from (none once it was changed here or marked gone).
async fn stored_hashes(tx: &mut sqlx::SqliteConnection, chunk: &[Credential]) -> Result<HashMap<String, Option<String>>> {
    let mut qb: QueryBuilder<Sqlite> =
        QueryBuilder::new("SELECT id, content_hash FROM credentials WHERE id IN (");
    let mut ids = qb.separated(", ");
    for c in chunk {
        ids.push_bind(c.id.clone());
    }
    qb.push(")");
    let rows: Vec<(String, Option<String>)> = qb.build_query_as().fetch_all(&mut *tx).await?;
    Ok(rows.into_iter().collect())
}

/// Unchanged credentials: seen by this run, nothing else written.
async fn mark_seen(tx: &mut sqlx::SqliteConnection, same: &[(&Credential, &String)], run_id: i64) -> Result<()> {
    if same.is_empty() {
        return Ok(());
    }
    // A narrow row per credential instead of rewriting the credential's own (of hundreds of bytes).
    let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("INSERT OR IGNORE INTO sync_seen (run_id, credential_id) ");
    qb.push_values(same, |mut b, (c, _)| {
        b.push_bind(run_id).push_bind(c.id.clone());
    });
    qb.build().execute(&mut *tx).await?;
    Ok(())
}

async fn snapshot_scope_changes(tx: &mut sqlx::SqliteConnection, chunk: &[(&Credential, &String)], known: &[String], synced: &str) -> Result<()> {
    if known.is_empty() {
        return Ok(());
    }
    let seen: Vec<&Credential> = chunk.iter().map(|(c, _)| *c).filter(|c| known.contains(&c.id)).collect();
    let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("INSERT OR IGNORE INTO scope_snapshots (credential_id, until_at, scopes) SELECT c.id, ");
    qb.push_bind(synced.to_string());
    qb.push(", c.scopes FROM credentials c JOIN (");
    qb.push_values(seen, |mut b, c| {
        b.push_bind(c.id.clone()).push_bind(c.scopes.join(" "));
    });
    qb.push(") n ON c.id = n.column1 WHERE c.scopes != n.column2");
    qb.build().execute(&mut *tx).await?;
    Ok(())
}

async fn upsert_credentials(tx: &mut sqlx::SqliteConnection, chunk: &[(&Credential, &String)], synced: &str, run_id: i64) -> Result<()> {
    if chunk.is_empty() {
        return Ok(());
    }
    let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
        "INSERT INTO credentials (id, issuer, external_id, kind, fingerprint, client_id, subject, workload, owner, scopes,
           audience, binding, issued_at, expires_at, last_used_at, status, task_id, task_intent, task_ended_at, parent_id, synced_at, synced_run,
           content_hash) ",
    );
    qb.push_values(chunk, |mut b, (c, hash)| {
        b.push_bind(c.id.clone())
            .push_bind(c.issuer.clone())
            .push_bind(c.external_id.clone())
            .push_bind(c.kind.as_str())
            .push_bind(c.fingerprint.clone())
            .push_bind(c.client_id.clone().unwrap_or_default())
            .push_bind(c.subject.clone().unwrap_or_default())
            .push_bind(c.workload.clone().unwrap_or_default())
            .push_bind(c.owner.as_deref().map(str::to_lowercase).unwrap_or_default())
            .push_bind(c.scopes.join(" "))
            .push_bind(c.audience.join(" "))
            .push_bind(c.binding.as_str())
            .push_bind(c.issued_at.as_ref().map(fmt_ts))
            .push_bind(c.expires_at.as_ref().map(fmt_ts))
            .push_bind(c.last_used_at.as_ref().map(fmt_ts))
            .push_bind(c.status.as_str())
            .push_bind(c.task.as_ref().map(|t| t.id.clone()))
            .push_bind(c.task.as_ref().and_then(|t| t.intent.clone()))
            .push_bind(c.task.as_ref().and_then(|t| t.ended_at.as_ref().map(fmt_ts)))
            .push_bind(c.parent_id.clone())
            .push_bind(synced.to_string())
            .push_bind(run_id)
            .push_bind(hash.to_string());
    });
    qb.push(
        " ON CONFLICT(issuer, external_id) DO UPDATE SET kind = excluded.kind, fingerprint = excluded.fingerprint,
          client_id = excluded.client_id, subject = excluded.subject, workload = excluded.workload, owner = excluded.owner,
          scopes = excluded.scopes, audience = excluded.audience, binding = excluded.binding, issued_at = excluded.issued_at,
          expires_at = excluded.expires_at, last_used_at = excluded.last_used_at, status = excluded.status,
          task_id = excluded.task_id, task_intent = excluded.task_intent, task_ended_at = excluded.task_ended_at,
          parent_id = excluded.parent_id, synced_at = excluded.synced_at, synced_run = excluded.synced_run, gone_at = NULL,
          content_hash = excluded.content_hash",
    );
    qb.build().execute(&mut *tx).await?;
    Ok(())
}

/// Credentials used again and changed in nothing else: their last use, hash and run, and their usage events.
async fn write_use(tx: &mut sqlx::SqliteConnection, chunk: &[Hashed<'_>], synced: &str, run_id: i64) -> Result<()> {
    if chunk.is_empty() {
        return Ok(());
    }
    let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("UPDATE credentials SET last_used_at = v.column2, content_hash = v.column3, synced_at = ");
    qb.push_bind(synced.to_string()).push(", synced_run = ").push_bind(run_id).push(" FROM (");
    qb.push_values(chunk, |mut b, (c, hash)| {
        b.push_bind(c.id.clone()).push_bind(c.last_used_at.as_ref().map(fmt_ts)).push_bind(hash.to_string());
    });
    qb.push(") AS v WHERE credentials.id = v.column1");
    qb.build().execute(&mut *tx).await?;
    let ids: Vec<String> = chunk.iter().map(|(c, _)| c.id.clone()).collect();
    delete_children(tx, &["DELETE FROM usage_events WHERE credential_id IN "], &ids).await?;
    let creds: Vec<&Credential> = chunk.iter().map(|(c, _)| *c).collect();
    insert_usage(tx, &creds).await
}

/// Deletes the rows of `known` credentials from each table (`DELETE ... IN ` statements).
async fn delete_children(tx: &mut sqlx::SqliteConnection, tables: &[&str], known: &[String]) -> Result<()> {
    if known.is_empty() {
        return Ok(());
    }
    for table in tables {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(*table);
        qb.push("(");
        let mut ids = qb.separated(", ");
        for id in known {
            ids.push_bind(id.clone());
        }
        qb.push(")");
        qb.build().execute(&mut *tx).await?;
    }
    Ok(())
}

async fn insert_usage(tx: &mut sqlx::SqliteConnection, chunk: &[&Credential]) -> Result<()> {
    let usage: Vec<(&str, &UsageEvent)> = chunk.iter().flat_map(|c| c.usage.iter().map(move |u| (c.id.as_str(), u))).collect();
    for part in usage.chunks(CHUNK * 5) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("INSERT INTO usage_events (credential_id, at, workload, origin) ");
        qb.push_values(part, |mut b, (id, u)| {
            b.push_bind(id.to_string()).push_bind(fmt_ts(&u.at)).push_bind(u.workload.clone()).push_bind(u.origin.clone());
        });
        qb.build().execute(&mut *tx).await?;
    }
    Ok(())
}

async fn replace_children(tx: &mut sqlx::SqliteConnection, chunk: &[(&Credential, &String)], known: &[String]) -> Result<()> {
    let chunk: Vec<&Credential> = chunk.iter().map(|(c, _)| *c).collect();
    let tables = [
        "DELETE FROM credential_scopes WHERE credential_id IN ",
        "DELETE FROM delegation WHERE credential_id IN ",
        "DELETE FROM usage_events WHERE credential_id IN ",
        "DELETE FROM consent_events WHERE source = 'issuer' AND credential_id IN ",
    ];
    delete_children(tx, &tables, known).await?;
    let keys: Vec<String> = chunk.iter().map(|c| crate::store::active_first_key(c)).collect();
    let scopes: Vec<(&str, &str, &str)> =
        chunk.iter().zip(&keys).flat_map(|(c, k)| c.scopes.iter().map(move |s| (c.id.as_str(), s.as_str(), k.as_str()))).collect();
    for part in scopes.chunks(CHUNK * 10) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("INSERT OR IGNORE INTO credential_scopes (credential_id, scope, k) ");
        qb.push_values(part, |mut b, (id, s, k)| {
            b.push_bind(id.to_string()).push_bind(s.to_string()).push_bind(k.to_string());
        });
        qb.build().execute(&mut *tx).await?;
    }
    let chain: Vec<(&str, usize, &str)> =
        chunk.iter().flat_map(|c| c.act_chain.iter().enumerate().map(move |(i, a)| (c.id.as_str(), i, a.as_str()))).collect();
    for part in chain.chunks(CHUNK * 5) {
        let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new("INSERT OR IGNORE INTO delegation (credential_id, position, actor) ");
        qb.push_values(part, |mut b, (id, i, a)| {
            b.push_bind(id.to_string()).push_bind(*i as i64).push_bind(a.to_string());
        });
        qb.build().execute(&mut *tx).await?;
    }
    insert_usage(tx, &chunk).await?;
    let consent: Vec<(&str, &ConsentEvent)> = chunk.iter().flat_map(|c| c.consent.iter().map(move |e| (c.id.as_str(), e))).collect();
    for part in consent.chunks(CHUNK * 3) {
        let mut qb: QueryBuilder<Sqlite> =
            QueryBuilder::new("INSERT INTO consent_events (credential_id, at, actor, action, scopes, note, source) ");
        qb.push_values(part, |mut b, (id, e)| {
            b.push_bind(id.to_string())
                .push_bind(fmt_ts(&e.at))
                .push_bind(e.actor.clone())
                .push_bind(e.action.clone())
                .push_bind(e.scopes.join(" "))
                .push_bind(e.note.clone())
                .push_bind("issuer");
        });
        qb.build().execute(&mut *tx).await?;
    }
    Ok(())
}
