//! `tokenward bench`: the performance figures of the goals, measured in one run.
//! Ingest through the store beside a raw SQLite baseline of the same rows;
//! keyset page fetches at the top, middle and end; filters; one frame render.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use color_eyre::eyre::{eyre, Result};

use crate::domain::fmt_ts;
use crate::filter;
use crate::reference::org::Org;
use crate::store::{PageAnchor, PageRequest, Sort, SortColumn, Store};

mod figures;
mod flows;
mod generated;
mod postgres;
mod process;
mod report;
mod stats;

use generated::{page_of, ISSUER, PAGE};
pub use report::{BenchReport, FilterFigure, PageFigure};
use stats::percentile;


/// Where the benchmark's inventory lives.
pub enum Target {
    /// A fresh SQLite file (kept at this path if given).
    Sqlite(Option<PathBuf>),
    /// An empty PostgreSQL database the benchmark may fill.
    Postgres(String),
}

pub async fn run(n: u64, target: Target, json: bool) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let baseline_path = dir.path().join("baseline.db");
    let org = Org::new(n, 7, chrono::Utc::now());
    let say = |s: String| {
        if !json {
            eprintln!("{s}");
        }
    };

    let (store, backend) = match &target {
        Target::Sqlite(keep) => {
            let db_path = keep.clone().unwrap_or_else(|| dir.path().join("bench.db"));
            say(format!("bench: generating and ingesting {n} credentials into {}", db_path.display()));
            (Store::open(&db_path).await?, "sqlite")
        }
        Target::Postgres(url) => {
            let store = Store::open_postgres(url, Some(&dir.path().join("bench.audit-key"))).await?;
            let held = store.count(&filter::Query::default(), chrono::Utc::now()).await?;
            if held > 0 {
                return Err(eyre!(
                    "bench fills its database with {n} generated credentials, and {} holds {held} already: point --db at an empty database (createdb tokenward_bench)",
                    store.location()
                ));
            }
            say(format!("bench: generating and ingesting {n} credentials into PostgreSQL {}", store.location()));
            (store, "postgresql")
        }
    };
    store.upsert_issuer(ISSUER, crate::domain::IssuerKind::Tokenward, None).await?;
    let owners: Vec<_> = org
        .owners()
        .into_iter()
        .map(|o| crate::connectors::tokenward::map_owner(ISSUER, o).map_err(|e| eyre!("generated owner: {e}")))
        .collect::<Result<_>>()?;
    store.ingest_owners(ISSUER, &owners, chrono::Utc::now(), false).await?;
    let run = store.begin_sync_run(ISSUER, chrono::Utc::now()).await?;
    let mut ingest = Duration::ZERO;
    let mut child_rows = 0u64;
    // Issuer pages of 1,000, committed as the sync engine does: whole pages, COMMIT_ROWS a transaction.
    let group = (crate::sync::COMMIT_ROWS as u64 / PAGE).max(1) * PAGE;
    let mut start = 0;
    while start < n {
        let end = (start + group).min(n);
        let page = page_of(&org, start, end)?;
        child_rows += page.iter().map(|c| (c.scopes.len() + c.act_chain.len() + c.consent.len() + c.usage.len()) as u64).sum::<u64>();
        let t = Instant::now();
        store.ingest_credential_page(run.id, run.started_at, &page, ((end - start) / PAGE) as i64, Some(&end.to_string())).await?;
        ingest += t.elapsed();
        start = end;
    }
    // Finishing the run is part of the load: a first load builds its indexes here.
    let t = Instant::now();
    store.finish_sync_run(&run, ISSUER, None, chrono::Utc::now()).await?;
    ingest += t.elapsed();
    say(format!("  store ingest: {:.1}s", ingest.as_secs_f64()));

    let baseline = match &target {
        Target::Sqlite(_) => {
            say("bench: raw SQLite baseline (one prepared statement per table, one transaction)".into());
            baseline(&org, n, &baseline_path)?
        }
        Target::Postgres(url) => {
            say("bench: raw PostgreSQL baseline (one multi-row INSERT per table and page, one transaction)".into());
            postgres::baseline(&org, n, url).await?
        }
    };
    say(format!("  baseline: {:.1}s", baseline.as_secs_f64()));

    say("bench: recomputing findings (every rule, whole inventory)".into());
    let thresholds = crate::config::Thresholds::default();
    let t = Instant::now();
    let first = crate::findings::recompute(&store, &thresholds, chrono::Utc::now()).await?;
    let findings_recompute_seconds = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let again = crate::findings::recompute(&store, &thresholds, chrono::Utc::now()).await?;
    let findings_rerun_seconds = t.elapsed().as_secs_f64();
    let mut pages = Vec::new();
    for column in [SortColumn::ActiveFirst, SortColumn::Expires, SortColumn::Owner, SortColumn::LastUsed] {
        let sort = Sort { column, descending: false };
        let now = chrono::Utc::now();
        let middle = store.key_at(sort, (n / 2) as i64).await?.ok_or_else(|| eyre!("no middle row"))?;
        for (at, anchor) in [("top", PageAnchor::First), ("middle", PageAnchor::After(middle.clone())), ("end", PageAnchor::Last)] {
            let req = PageRequest { query: filter::Query::default(), now, sort, anchor, limit: 200 };
            let mut samples = Vec::new();
            for _ in 0..40 {
                let t = Instant::now();
                let rows = store.page(&req).await?;
                samples.push(t.elapsed());
                if rows.is_empty() && n > 0 {
                    return Err(eyre!("empty page at {at}"));
                }
            }
            pages.push(PageFigure {
                sort: column.label().into(),
                at,
                p50_ms: percentile(&mut samples, 0.5),
                p95_ms: percentile(&mut samples, 0.95),
            });
        }
    }

    let mut filters = Vec::new();
    let someone = format!("owner:{}", org.person_email(1));
    let queries = [
        someone.as_str(),
        "owner-status:offboarded",
        "scope:payments:write",
        "binding:bearer",
        "finding:bearer-sensitive",
        "expires<7d",
        "unused>90d -status:revoked",
        "invoice",
        "binding:bearer scope:admin:org -status:revoked",
    ];
    for q in queries {
        let query = filter::parse(q).map_err(|e| eyre!("{q}: {}", e.message))?;
        let now = chrono::Utc::now();
        let req = PageRequest { query: query.clone(), now, sort: Sort::default(), anchor: PageAnchor::First, limit: 200 };
        let (mut first, mut shown, mut count) = (Vec::new(), Vec::new(), Vec::new());
        let mut matches = 0;
        for _ in 0..5 {
            let t = Instant::now();
            store.page(&req).await?;
            first.push(t.elapsed());
            let t = Instant::now();
            let capped = store.count_capped(&query, now, crate::tui::effects::COUNT_CAP).await?;
            shown.push(t.elapsed());
            let t = Instant::now();
            matches = store.count(&query, now).await?;
            count.push(t.elapsed());
            if capped != matches.min(crate::tui::effects::COUNT_CAP) {
                return Err(eyre!("{q}: the capped count {capped} disagrees with the exact {matches}"));
            }
        }
        filters.push(FilterFigure {
            query: q.into(),
            first_page_p50_ms: percentile(&mut first, 0.5),
            shown_count_p50_ms: percentile(&mut shown, 0.5),
            count_p50_ms: percentile(&mut count, 0.5),
            matches,
        });
    }

    let (p50, p95) = frame_times(&store).await?;
    let (approvals, review) = match target {
        Target::Sqlite(_) => {
            say("bench: clearing 20 grants through the TUI loop against the reference issuer".into());
            let approvals = flows::approvals(20).await?;
            say("bench: walking a 50-item review campaign through the TUI loop against the reference issuer".into());
            (Some(approvals), Some(flows::review(50).await?))
        }
        Target::Postgres(_) => (None, None),
    };
    // The real binary: a first sync and a re-sync as processes, then the TUI on what they wrote.
    let (syncs, tui) = match target {
        Target::Sqlite(_) => {
            let syncs = process::syncs(n, dir.path(), &say).await?;
            say("bench: the TUI in a pseudo-terminal (tmux) on the synced database: first frame on the table, memory while browsing, then home: first frame and its figures".into());
            let tui = process::tui(&syncs.db, dir.path());
            if let Err(e) = &tui {
                say(format!("  not measured: {e}"));
            }
            (Some(syncs), tui.ok())
        }
        Target::Postgres(_) => (None, None),
    };
    let ingest_rate = n as f64 / ingest.as_secs_f64().max(1e-9);
    let baseline_rate = n as f64 / baseline.as_secs_f64().max(1e-9);
    let report = BenchReport {
        backend,
        credentials: n,
        ingest_rows_per_s: ingest_rate,
        ingest_seconds: ingest.as_secs_f64(),
        baseline_rows_per_s: baseline_rate,
        baseline_seconds: baseline.as_secs_f64(),
        ingest_ratio: ingest_rate / baseline_rate,
        child_rows,
        pages,
        filters,
        frame_ms_p50: p50,
        frame_ms_p95: p95,
        approvals,
        review,
        findings_recompute_seconds,
        findings_rerun_seconds,
        findings_open: first.open,
        findings_write_seconds: again.write_millis as f64 / 1000.0,
        syncs,
        tui,
    };
    store.close().await;
    let figures = figures::figures(&report);
    if json {
        println!("{}", serde_json::to_string_pretty(&figures)?);
    } else {
        print_report(&report);
        println!();
        figures::print_table(&figures);
    }
    Ok(())
}

fn print_report(r: &BenchReport) {
    println!("tokenward bench on {}, {} credentials (+{} scope/delegation/consent/usage rows)", r.backend, r.credentials, r.child_rows);
    let raw = if r.backend == "postgresql" { "raw PostgreSQL" } else { "raw SQLite" };
    println!(
        "ingest   store {:>10.0} credentials/s ({:.1}s)   {raw} {:>10.0}/s ({:.1}s)   ratio {:.2} (goal >= 0.50)",
        r.ingest_rows_per_s, r.ingest_seconds, r.baseline_rows_per_s, r.baseline_seconds, r.ingest_ratio
    );
    println!("pages of 200 rows, keyset (goal p50 <= 5 ms at any depth)");
    for p in &r.pages {
        println!("  sort {:<10} {:<7} p50 {:>7.2} ms  p95 {:>7.2} ms", p.sort, p.at, p.p50_ms, p.p95_ms);
    }
    println!("filters (first page of 200 / the count the status line shows first, capped at 10,000 / the exact count)");
    for f in &r.filters {
        println!(
            "  {:<28} first page p50 {:>8.2} ms   count shown p50 {:>8.2} ms   exact {:>8.2} ms   {} matches",
            f.query, f.first_page_p50_ms, f.shown_count_p50_ms, f.count_p50_ms, f.matches
        );
    }
    println!("frame    credential view 160x48, TestBackend: p50 {:.3} ms  p95 {:.3} ms (goal <= 1 ms)", r.frame_ms_p50, r.frame_ms_p95);
    println!(
        "findings every rule over the inventory: first {:.2}s, again {:.2}s (of which {:.2}s holding the write lock), {} open (goal <= 10 s at 1,000,000)",
        r.findings_recompute_seconds, r.findings_rerun_seconds, r.findings_write_seconds, r.findings_open
    );
    let (Some(a), Some(v)) = (&r.approvals, &r.review) else {
        println!("grants, review: the keyboard flows are measured on SQLite (bench without a postgres:// --db)");
        return;
    };
    println!(
        "grants   {} decided ({} approved, {} first of two, {} denied) in {} keys, {:.2}s machine time; keypress to issuer answer p50 {:.2} ms  p95 {:.2} ms",
        a.decided, a.approved, a.first_of_two, a.denied, a.keys, a.clear_seconds, a.keypress_to_answer_p50_ms, a.keypress_to_answer_p95_ms
    );
    println!(
        "review   {} items decided ({} kept, {} revoked at the issuer) in {} keys, {:.2}s machine time; keypress to issuer answer p50 {:.2} ms  p95 {:.2} ms",
        v.decided, v.kept, v.revoked, v.keys, v.seconds, v.keypress_to_answer_p50_ms, v.keypress_to_answer_p95_ms
    );
}

/// The same rows (credentials and their child rows), one prepared statement per
/// table, all in one transaction: what SQLite itself can do.
fn baseline(org: &Org, n: u64, path: &std::path::Path) -> Result<Duration> {
    let mut conn = rusqlite::Connection::open(path)?;
    // The same pragmas as the store, so the ratio measures tokenward, not settings.
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-131072; PRAGMA mmap_size=0; PRAGMA temp_store=file; PRAGMA wal_autocheckpoint=65536;")?;
    conn.execute_batch(include_str!("../../migrations/sqlite/0001_inventory.sql"))?;
    conn.execute_batch(include_str!("../../migrations/sqlite/0002_findings_reviews_history.sql"))?;
    let mut total = Duration::ZERO;
    let tx = conn.transaction()?;
    {
        let mut cred = tx.prepare(
            "INSERT INTO credentials (id, issuer, external_id, kind, fingerprint, client_id, subject, workload, owner, scopes,
               audience, binding, issued_at, expires_at, last_used_at, status, task_id, task_intent, task_ended_at, parent_id, synced_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
        )?;
        let mut scope = tx.prepare("INSERT OR IGNORE INTO credential_scopes (credential_id, scope) VALUES (?1, ?2)")?;
        let mut hop = tx.prepare("INSERT OR IGNORE INTO delegation (credential_id, position, actor) VALUES (?1, ?2, ?3)")?;
        let mut usage = tx.prepare("INSERT INTO usage_events (credential_id, at, workload, origin) VALUES (?1, ?2, ?3, ?4)")?;
        let mut consent = tx.prepare(
            "INSERT INTO consent_events (credential_id, at, actor, action, scopes, note, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'issuer')",
        )?;
        let synced = fmt_ts(&chrono::Utc::now());
        let mut start = 0;
        while start < n {
            let end = (start + PAGE).min(n);
            let page = page_of(org, start, end)?;
            let t = Instant::now();
            for c in &page {
                let ts = |t: &Option<crate::domain::Timestamp>| t.as_ref().map(fmt_ts);
                cred.execute(rusqlite::params![
                    c.id,
                    c.issuer,
                    c.external_id,
                    c.kind.as_str(),
                    c.fingerprint,
                    c.client_id.clone().unwrap_or_default(),
                    c.subject.clone().unwrap_or_default(),
                    c.workload.clone().unwrap_or_default(),
                    c.owner.clone().unwrap_or_default(),
                    c.scopes.join(" "),
                    c.audience.join(" "),
                    c.binding.as_str(),
                    ts(&c.issued_at),
                    ts(&c.expires_at),
                    ts(&c.last_used_at),
                    c.status.as_str(),
                    c.task.as_ref().map(|t| t.id.clone()),
                    c.task.as_ref().and_then(|t| t.intent.clone()),
                    c.task.as_ref().and_then(|t| ts(&t.ended_at)),
                    c.parent_id,
                    synced,
                ])?;
                for s in &c.scopes {
                    scope.execute(rusqlite::params![c.id, s])?;
                }
                for (i, a) in c.act_chain.iter().enumerate() {
                    hop.execute(rusqlite::params![c.id, i as i64, a])?;
                }
                for u in &c.usage {
                    usage.execute(rusqlite::params![c.id, fmt_ts(&u.at), u.workload, u.origin])?;
                }
                for e in &c.consent {
                    consent.execute(rusqlite::params![c.id, fmt_ts(&e.at), e.actor, e.action, e.scopes.join(" "), e.note])?;
                }
            }
            total += t.elapsed();
            start = end;
        }
    }
    let t = Instant::now();
    tx.commit()?;
    Ok(total + t.elapsed())
}

async fn frame_times(store: &Store) -> Result<(f64, f64)> {
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    let now = chrono::Utc::now();
    let mut app = crate::tui::app::App::new(crate::tui::keymap::Keymap::default_map(), "bench", "bench.db", false, now);
    let theme = crate::tui::theme::Theme::load("dark").map_err(|e| eyre!(e))?;
    let mut fx = app.update(crate::tui::app::Msg::Resize { width: 160, height: 48 });
    fx.extend(app.start());
    for e in fx {
        if let crate::tui::app::Effect::LoadPage { generation, landing, page } = e {
            let rows = store.page(&page).await.map_err(|e| e.to_string());
            app.update(crate::tui::app::Msg::Page { generation, landing, rows });
        }
    }
    let mut terminal = Terminal::new(TestBackend::new(160, 48))?;
    let mut samples = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        terminal.draw(|f| crate::tui::draw::draw(f, &app, &theme))?;
        samples.push(t.elapsed());
    }
    Ok((percentile(&mut samples, 0.5), percentile(&mut samples, 0.95)))
}
