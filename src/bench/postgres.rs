//! The PostgreSQL baseline: the same rows into the same tables (the inventory
//! migration, run in a scratch schema of the benchmark's database), one plain
//! multi-row INSERT per table and page (arrays through `UNNEST`), no conflict
//! handling, one transaction: what PostgreSQL itself does with these rows.
//! (COPY was tried first: over TCP each COPY's closing message waited out
//! Nagle's algorithm and a delayed ACK, about 40 ms, and measured the socket.)
use std::time::{Duration, Instant};

use color_eyre::eyre::Result;
use sqlx::Connection;

use super::generated::{page_of, PAGE};
use crate::domain::{fmt_ts, Credential, Timestamp};
use crate::reference::org::Org;

const SCHEMA: &str = "tokenward_bench_raw";

pub async fn baseline(org: &Org, n: u64, url: &str) -> Result<Duration> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let setup = format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}; SET search_path = {SCHEMA};");
    sqlx::raw_sql(sqlx::AssertSqlSafe(setup)).execute(&mut conn).await?;
    sqlx::raw_sql(include_str!("../../migrations/postgres/0001_inventory.sql")).execute(&mut conn).await?;
    // The store's rows written just before are flushed first, so that their
    // writeback does not land on the baseline's clock (needs a superuser or pg_checkpoint).
    let _ = sqlx::query("CHECKPOINT").execute(&mut conn).await;
    let synced = fmt_ts(&chrono::Utc::now());
    let mut total = Duration::ZERO;
    let mut tx = conn.begin().await?;
    let mut start = 0;
    while start < n {
        let end = (start + PAGE).min(n);
        let page = page_of(org, start, end)?;
        let t = Instant::now();
        let ts = |t: &Option<Timestamp>| t.as_ref().map(fmt_ts);
        let col = |f: &dyn Fn(&Credential) -> Option<String>| page.iter().map(f).collect::<Vec<_>>();
        sqlx::query(
            "INSERT INTO tokenward_bench_raw.credentials (id, issuer, external_id, kind, fingerprint, client_id, subject, workload, owner, scopes,
               audience, binding, issued_at, expires_at, last_used_at, status, task_id, task_intent, task_ended_at, parent_id, synced_at)
             SELECT *, $21 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
               $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[])",
        )
        .bind(col(&|c| Some(c.id.clone())))
        .bind(col(&|c| Some(c.issuer.clone())))
        .bind(col(&|c| Some(c.external_id.clone())))
        .bind(col(&|c| Some(c.kind.as_str().into())))
        .bind(col(&|c| c.fingerprint.clone()))
        .bind(col(&|c| Some(c.client_id.clone().unwrap_or_default())))
        .bind(col(&|c| Some(c.subject.clone().unwrap_or_default())))
        .bind(col(&|c| Some(c.workload.clone().unwrap_or_default())))
        .bind(col(&|c| Some(c.owner.clone().unwrap_or_default())))
        .bind(col(&|c| Some(c.scopes.join(" "))))
        .bind(col(&|c| Some(c.audience.join(" "))))
        .bind(col(&|c| Some(c.binding.as_str().into())))
        .bind(col(&|c| ts(&c.issued_at)))
        .bind(col(&|c| ts(&c.expires_at)))
        .bind(col(&|c| ts(&c.last_used_at)))
        .bind(col(&|c| Some(c.status.as_str().into())))
        .bind(col(&|c| c.task.as_ref().map(|t| t.id.clone())))
        .bind(col(&|c| c.task.as_ref().and_then(|t| t.intent.clone())))
        .bind(col(&|c| c.task.as_ref().and_then(|t| ts(&t.ended_at))))
        .bind(col(&|c| c.parent_id.clone()))
        .bind(&synced)
        .execute(&mut *tx)
        .await?;
        // The store keeps a scope or a hop once per credential: so does the baseline.
        let scopes: Vec<(String, String)> = page
            .iter()
            .flat_map(|c| {
                let mut seen = std::collections::HashSet::new();
                c.scopes.iter().filter(move |s| seen.insert(s.as_str())).map(move |s| (s.clone(), c.id.clone()))
            })
            .collect();
        let hops: Vec<(String, i64, String)> = page.iter().flat_map(|c| c.act_chain.iter().enumerate().map(move |(i, a)| (c.id.clone(), i as i64, a.clone()))).collect();
        let usage: Vec<_> = page.iter().flat_map(|c| c.usage.iter().map(move |u| (c.id.clone(), fmt_ts(&u.at), u.workload.clone(), u.origin.clone()))).collect();
        let consent: Vec<_> = page
            .iter()
            .flat_map(|c| c.consent.iter().map(move |e| (c.id.clone(), fmt_ts(&e.at), e.actor.clone(), e.action.clone(), e.scopes.join(" "), e.note.clone())))
            .collect();
        sqlx::query("INSERT INTO tokenward_bench_raw.credential_scopes (scope, credential_id) SELECT * FROM UNNEST($1::text[], $2::text[])")
            .bind(scopes.iter().map(|r| r.0.clone()).collect::<Vec<_>>())
            .bind(scopes.iter().map(|r| r.1.clone()).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO tokenward_bench_raw.delegation (credential_id, position, actor) SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::text[])")
            .bind(hops.iter().map(|r| r.0.clone()).collect::<Vec<_>>())
            .bind(hops.iter().map(|r| r.1).collect::<Vec<_>>())
            .bind(hops.iter().map(|r| r.2.clone()).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO tokenward_bench_raw.usage_events (credential_id, at, workload, origin) SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[])")
            .bind(usage.iter().map(|r| r.0.clone()).collect::<Vec<_>>())
            .bind(usage.iter().map(|r| r.1.clone()).collect::<Vec<_>>())
            .bind(usage.iter().map(|r| r.2.clone()).collect::<Vec<_>>())
            .bind(usage.iter().map(|r| r.3.clone()).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO tokenward_bench_raw.consent_events (credential_id, at, actor, action, scopes, note)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])",
        )
        .bind(consent.iter().map(|r| r.0.clone()).collect::<Vec<_>>())
        .bind(consent.iter().map(|r| r.1.clone()).collect::<Vec<_>>())
        .bind(consent.iter().map(|r| r.2.clone()).collect::<Vec<_>>())
        .bind(consent.iter().map(|r| r.3.clone()).collect::<Vec<_>>())
        .bind(consent.iter().map(|r| r.4.clone()).collect::<Vec<_>>())
        .bind(consent.iter().map(|r| r.5.clone()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
        total += t.elapsed();
        start = end;
    }
    let t = Instant::now();
    tx.commit().await?;
    total += t.elapsed();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {SCHEMA} CASCADE"))).execute(&mut conn).await?;
    Ok(total)
}
