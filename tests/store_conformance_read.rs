//! The store's reading side, conformance between backends: every test runs through
//! the `Store` facade on a SQLite file and on a throwaway PostgreSQL cluster, both
//! holding the same rows (the reference organisation ingested into SQLite through
//! the sync's page path, then copied column for column into PostgreSQL). On
//! PostgreSQL the test runs against that SQLite copy too and both answers must be
//! equal; on each backend a few answers are also checked against the org itself.
//! The PostgreSQL database's default collation is ICU's en-US, not "C", so a query
//! that orders text by the database's default instead of byte order shows.
use std::collections::BTreeMap;

use chrono::Duration;
use sqlx::Row;
use tokenward::connectors::tokenward::{map_credential, map_grant, map_owner};
use tokenward::domain::{Credential, CredentialChange, CredentialStatus, Owner, OwnerStatus, Relation, ReviewDecisionKind};
use tokenward::reference::org::Org;
use tokenward::store::{AuditDraft, ReviewRecord, Store};

mod common;

use common::fixed_now as now;

/// Enough credentials that every rule fires and pages have several pages to walk.
const N: u64 = 600;
const ISSUER: &str = "acme-broker";
/// A code host login the directory lists as the first person's alias; '_' sorts
/// after '.' byte by byte but before it in en-US, so its place shows the order used.
const ALIAS: &str = "ana_gh";

fn org() -> Org {
    Org::new(N, 42, now())
}

fn credentials() -> Vec<Credential> {
    (0..N).map(|i| map_credential(ISSUER, org().credential(i)).expect("credential maps")).collect()
}

/// A store under test, with a way to read its tables directly.
struct Seeded {
    store: Store,
    raw: Raw,
    _dir: Option<tempfile::TempDir>,
    _cluster: Option<common::peers::Postgres>,
}

enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    /// The rows of a query whose columns are all text, written with `$n` placeholders.
    async fn texts(&self, sql: &str, binds: &[&str]) -> Vec<Vec<Option<String>>> {
        match self {
            Raw::Sqlite(pool) => {
                let sql = sql.replace('$', "?");
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for b in binds {
                    q = q.bind(*b);
                }
                let rows = q.fetch_all(pool).await.expect("raw sqlite read");
                rows.iter().map(|r| (0..r.len()).map(|i| r.get::<Option<String>, _>(i)).collect()).collect()
            }
            Raw::Postgres(pool) => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()));
                for b in binds {
                    q = q.bind(*b);
                }
                let rows = q.fetch_all(pool).await.expect("raw postgres read");
                rows.iter().map(|r| (0..r.len()).map(|i| r.get::<Option<String>, _>(i)).collect()).collect()
            }
        }
    }
}

/// The reference org in a SQLite file: its people (and one alias login), its
/// credentials, its pending grants, and a review campaign with one decision.
async fn seeded_sqlite() -> Seeded {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("inventory.db");
    let store = Store::open(&path).await.expect("sqlite store");
    let org = org();
    store.upsert_issuer(ISSUER, tokenward::domain::IssuerKind::Tokenward, None).await.expect("issuer");
    let run = store.begin_sync_run(ISSUER, now()).await.expect("run");
    let mut owners: Vec<Owner> = org.owners().into_iter().map(|o| map_owner(ISSUER, o).expect("owner maps")).collect();
    let first = owners[0].clone();
    owners.push(Owner { email: ALIAS.into(), name: first.name.clone(), alias_of: Some(first.email.clone()), ..first });
    store.ingest_owners(ISSUER, &owners, now(), false).await.expect("owners");
    for chunk in credentials().chunks(200) {
        store.ingest_credential_page(run.id, run.started_at, chunk, 1, None).await.expect("page");
    }
    let grants: Vec<_> = org.pending_grants().into_iter().map(|g| map_grant(ISSUER, g).expect("grant maps")).collect();
    store.replace_grants(ISSUER, &grants, now()).await.expect("grants");
    store.finish_sync_run(&run, ISSUER, None, now()).await.expect("finish");
    // Two credentials a scan found in plain text: one active, one no longer.
    let creds = credentials();
    let found = |active: bool, location: &str| {
        let c = creds.iter().find(|c| (c.status == CredentialStatus::Active) == active && c.fingerprint.is_some()).expect("a credential");
        tokenward::store::FoundSecret {
            path: "/srv/agents/claude_desktop_config.json".into(),
            location: location.into(),
            format: "mcp".into(),
            fingerprint: c.fingerprint.clone().expect("fingerprint"),
            key_id: None,
        }
    };
    let shadow = tokenward::store::FoundSecret { fingerprint: tokenward::domain::fingerprint(b"a shadow credential"), ..found(true, "mcpServers.c.env.TOKEN") };
    let planted = [found(true, "mcpServers.a.env.TOKEN"), found(false, "mcpServers.b.env.TOKEN"), shadow];
    store.record_deployments("host-a", &["/srv/agents".into()], &planted, now()).await.expect("deployments");
    let query = tokenward::filter::parse("kind:api_key").expect("filter");
    let draft = |action: &str, target: &str| AuditDraft { at: now(), actor: "ana".into(), action: action.into(), target: target.into(), detail: serde_json::json!({}) };
    let (campaign, _) = store.start_campaign("q4", Some("kind:api_key"), &query, now(), &draft("review.start", "campaign:q4")).await.expect("campaign");
    let first_item = store.review_items(campaign.id, 0, 1).await.expect("items").remove(0);
    let rec = ReviewRecord {
        decision: ReviewDecisionKind::Keep,
        claim: None,
        decider: "ana",
        at: now(),
        reason: "still needed",
        detail: serde_json::json!({}),
        issuer_answer: None,
    };
    store.record_review_decision(first_item.id, &rec, &draft("review.keep", &format!("review-item:{}", first_item.id))).await.expect("decision");
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display())).await.expect("raw sqlite");
    Seeded { store, raw: Raw::Sqlite(raw), _dir: Some(dir), _cluster: None }
}

/// A fresh PostgreSQL cluster holding exactly the rows of `from`.
async fn copied_to_postgres(from: &Seeded) -> Seeded {
    let cluster = common::peers::postgres();
    let admin = sqlx::PgPool::connect(&cluster.url).await.expect("connect");
    sqlx::query("CREATE DATABASE inventory TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'")
        .execute(&admin)
        .await
        .expect("a database ordering text as en-US does");
    admin.close().await;
    let url = cluster.url_for("postgres", common::peers::PG_SUPERUSER_PASSWORD, "inventory");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_postgres(&url, Some(&dir.path().join("audit-key"))).await.expect("postgres store");
    let pg = sqlx::PgPool::connect(&url).await.expect("raw postgres");
    let en_us: bool = sqlx::query_scalar("SELECT 'ana_gh' < 'ana.nguyen'").fetch_one(&pg).await.expect("collation");
    assert!(en_us, "the inventory's database orders text as en-US, not byte by byte");
    let Raw::Sqlite(sqlite) = &from.raw else { unreachable!("the source is SQLite") };
    copy_tables(sqlite, &pg).await;
    Seeded { store, raw: Raw::Postgres(pg), _dir: Some(dir), _cluster: Some(cluster) }
}

/// Copies every table, checking both schemas name the same columns; then moves
/// each identity past the copied ids.
async fn copy_tables(sqlite: &sqlx::SqlitePool, pg: &sqlx::PgPool) {
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != '_sqlx_migrations' ORDER BY name")
            .fetch_all(sqlite)
            .await
            .expect("tables");
    assert!(tables.len() >= 19, "{tables:?}");
    let mut tx = pg.begin().await.expect("begin");
    for table in &tables {
        let mut lite: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?) ORDER BY name").bind(table).fetch_all(sqlite).await.expect("columns");
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY column_name",
        )
        .bind(table)
        .fetch_all(&mut *tx)
        .await
        .expect("columns");
        lite.sort();
        assert_eq!(lite, columns.iter().map(|c| c.0.clone()).collect::<Vec<_>>(), "the columns of {table} on SQLite and on PostgreSQL");
        let names = columns.iter().map(|c| c.0.as_str()).collect::<Vec<_>>().join(", ");
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {names} FROM {table}"))).fetch_all(sqlite).await.expect("rows");
        for chunk in rows.chunks(500) {
            let width = columns.len();
            let values: Vec<String> = (0..chunk.len())
                .map(|r| format!("({})", (1..=width).map(|c| format!("${}", r * width + c)).collect::<Vec<_>>().join(", ")))
                .collect();
            let sql = format!("INSERT INTO {table} ({names}) VALUES {}", values.join(", "));
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for row in chunk {
                for (i, (_, kind)) in columns.iter().enumerate() {
                    q = match kind.as_str() {
                        "bigint" => q.bind(row.get::<Option<i64>, _>(i)),
                        "text" => q.bind(row.get::<Option<String>, _>(i)),
                        other => panic!("{table} has a column of type {other}"),
                    };
                }
            }
            q.execute(&mut *tx).await.unwrap_or_else(|e| panic!("copy {table}: {e}"));
        }
        if columns.iter().any(|(name, kind)| name == "id" && kind == "bigint") {
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) FROM {table}")))
                .execute(&mut *tx)
                .await
                .expect("identity moved past the copied ids");
        }
    }
    tx.commit().await.expect("commit");
}

/// Each test as two: on SQLite (its own checks), and on PostgreSQL (its own
/// checks, and the same answer as on the SQLite it was copied from).
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let lite = super::seeded_sqlite().await;
                super::$name(&lite).await;
            }

            #[tokio::test]
            async fn postgres() {
                let lite = super::seeded_sqlite().await;
                let pg = super::copied_to_postgres(&lite).await;
                let on_postgres = super::$name(&pg).await;
                assert_eq!(on_postgres, super::$name(&lite).await, "PostgreSQL answers as SQLite does");
            }
        }
    )*};
}

on_both!(
    owners_page_walks_everyone_by_keyset,
    identities_join_a_login_and_its_person,
    blast_radius_of_the_busiest_owner,
    expiring_by_owner_groups_the_week_ahead,
    held_scope_at_follows_the_scope_history,
    a_credential_change_rewrites_the_row_and_keeps_history,
    findings_rule_by_rule,
    findings_close_and_reopen_across_runs,
    campaigns_and_their_items,
);

/// (owned, active owned) per owner, from the org itself.
fn owned_counts() -> BTreeMap<String, (i64, i64)> {
    let mut counts = BTreeMap::new();
    for c in credentials() {
        if let Some(owner) = c.owner {
            let e = counts.entry(owner).or_insert((0, 0));
            e.0 += 1;
            e.1 += i64::from(c.status == CredentialStatus::Active);
        }
    }
    counts
}

async fn owners_page_walks_everyone_by_keyset(s: &Seeded) -> impl std::fmt::Debug + PartialEq {
    let mut everyone = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s.store.owners_page(None, after.as_deref(), 7).await.expect("page");
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        everyone.extend(page);
    }
    assert_eq!(everyone.len() as u64, org().people() + 1, "every person and the alias, once each");
    assert!(everyone.windows(2).all(|w| w[0].id.as_bytes() < w[1].id.as_bytes()), "byte order, as the keyset compares");
    let counts = owned_counts();
    for o in &everyone {
        assert_eq!((o.total, o.active), counts.get(&o.id).copied().unwrap_or((0, 0)), "{}", o.id);
    }
    let offboarded = s.store.owners_page(Some(OwnerStatus::Offboarded), None, 1000).await.expect("offboarded");
    let expected = (0..org().people()).filter(|p| org().person_offboarded(*p)).count();
    assert!(expected > 0 && offboarded.len() == expected, "{} offboarded, {expected} in the org", offboarded.len());
    assert!(offboarded.iter().all(|o| o.status == OwnerStatus::Offboarded && o.offboarded_at.is_some()));
    (everyone, offboarded)
}

async fn identities_join_a_login_and_its_person(s: &Seeded) -> impl std::fmt::Debug + PartialEq {
    let person = org().person_email(0);
    let by_login = s.store.identities(&[ALIAS.to_uppercase()]).await.expect("by login");
    let by_person = s.store.identities(&[format!(" {person} ")]).await.expect("by person");
    assert!(person.as_str() < ALIAS, "{person} before {ALIAS} in byte order");
    assert_eq!(by_login, vec![person.clone(), ALIAS.to_string()], "the login and the person it names, in byte order");
    assert_eq!(by_person, by_login, "the same people from either name");
    let stranger = s.store.identities(&["nobody@acme.test".into(), " ".into()]).await.expect("stranger");
    assert_eq!(stranger, vec!["nobody@acme.test".to_string()]);
    (by_login, stranger)
}

async fn blast_radius_of_the_busiest_owner(s: &Seeded) -> impl std::fmt::Debug + PartialEq {
    let counts = owned_counts();
    let (owner, (owned, _)) = counts.iter().filter(|(o, _)| !o.is_empty()).max_by_key(|(o, c)| (c.0, std::cmp::Reverse(o.to_string()))).expect("an owner");
    let radius = s.store.blast_radius(&owner.to_uppercase()).await.expect("radius");
    assert_eq!(&radius.owner, owner);
    assert_eq!(radius.credentials.iter().filter(|c| c.relation == Relation::Owned).count() as i64, *owned);
    let acted: usize = credentials().iter().filter(|c| c.owner.as_ref() != Some(owner) && c.act_chain.contains(owner)).count();
    assert!(radius.credentials.iter().filter(|c| c.relation == Relation::Delegated).count() >= acted, "every act chain naming them");
    let asked = org().pending_grants().iter().filter(|g| g.requested_by.as_ref() == Some(owner)).count();
    assert_eq!(radius.pending_grants.len(), asked);
    assert!(!radius.truncated);
    radius
}

async fn expiring_by_owner_groups_the_week_ahead(s: &Seeded) -> impl std::fmt::Debug + PartialEq {
    let until = now() + Duration::days(7);
    let groups = s.store.expiring_by_owner(now(), until, 1000).await.expect("expiring");
    let expected = credentials().iter().filter(|c| c.status == CredentialStatus::Active && c.expires_at.is_some_and(|e| e >= now() && e < until)).count();
    assert!(expected > 10, "{expected}");
    assert_eq!(groups.iter().map(|g| g.credentials).sum::<i64>() as usize, expected);
    assert!(groups.windows(2).all(|w| (&w[0].soonest, w[0].owner.as_bytes()) <= (&w[1].soonest, w[1].owner.as_bytes())), "soonest first");
    for g in &groups {
        let listed: Vec<&str> = g.workloads.split(' ').collect();
        assert!(listed.windows(2).all(|w| w[0] < w[1]), "workloads once each, in order: {}", g.workloads);
    }
    let first_three = s.store.expiring_by_owner(now(), until, 3).await.expect("limited");
    assert_eq!(first_three, groups[..3]);
    // The home view's count: the same credentials, without the groups.
    assert_eq!(s.store.count_expiring(now(), until).await.expect("count") as usize, expected);
    groups
}

/// A scope several credentials hold, and one active holder of it.
fn a_held_scope() -> (String, String) {
    let creds = credentials();
    let mut held: BTreeMap<&str, Vec<&Credential>> = BTreeMap::new();
    for c in &creds {
        for s in &c.scopes {
            held.entry(s.as_str()).or_default().push(c);
        }
    }
    let (scope, holders) = held.into_iter().max_by_key(|(s, h)| (h.len(), std::cmp::Reverse(*s))).expect("scopes");
    let holder = holders
        .iter()
        .find(|c| c.status == CredentialStatus::Active && c.scopes.len() > 1 && c.issued_at.is_some_and(|i| i < now() - Duration::days(2)) && c.expires_at.is_none_or(|e| e > now()))
        .expect("a long-standing active holder");
    (scope.to_string(), holder.id.clone())
}

async fn held_scope_at_follows_the_scope_history(s: &Seeded) -> impl std::fmt::Debug + PartialEq {
    let (scope, holder) = a_held_scope();
    let before = s.store.held_scope_at(&scope, now(), 10_000).await.expect("held now");
    assert!(before.iter().any(|h| h.credential_id == holder), "{holder} holds {scope}");
    assert!(before.iter().all(|h| h.scopes.contains(&scope)));
    let dropped = now() - Duration::days(1);
    let rest: Vec<String> = credentials().into_iter().find(|c| c.id == holder).expect("holder").scopes.into_iter().filter(|x| *x != scope).collect();
    let change = CredentialChange { actor: "ana".into(), reason: "review: reduce".into(), owner: None, scopes: Some(rest), expires_at: None };
    s.store.record_credential_change(&holder, &change, dropped).await.expect("change");
    let earlier = s.store.held_scope_at(&scope, dropped - Duration::hours(1), 10_000).await.expect("held earlier");
    let after = s.store.held_scope_at(&scope, now(), 10_000).await.expect("held after");
    assert!(earlier.iter().any(|h| h.credential_id == holder && h.scopes.contains(&scope)), "held before the change");
    assert!(!after.iter().any(|h| h.credential_id == holder), "not after it");
    assert_eq!(after.len() + 1, before.len());
    let shouted = s.store.held_scope_at(&scope.to_uppercase(), now(), 10_000).await.expect("another case");
    assert!(shouted.is_empty(), "a scope is matched exactly");
    let limited = s.store.held_scope_at(&scope, now(), 2).await.expect("limited");
    assert_eq!(limited, after[..2]);
    (before, earlier, after)
}

async fn a_credential_change_rewrites_the_row_and_keeps_history(s: &Seeded) -> impl std::fmt::Debug + PartialEq {
    let (_, id) = a_held_scope();
    let at = now() - Duration::hours(3);
    let change = CredentialChange {
        actor: "ana".into(),
        reason: "review: reassign and shorten".into(),
        owner: Some(" Bo.Nguyen@ACME.test ".into()),
        scopes: Some(vec!["repo:read".into(), "issues:read".into()]),
        expires_at: Some(now() + Duration::days(1)),
    };
    s.store.record_credential_change(&id, &change, at).await.expect("change");
    s.store.record_credential_change(&id, &CredentialChange { owner: None, scopes: None, expires_at: None, ..change.clone() }, at).await.expect("nothing changes");
    let row = s.raw.texts("SELECT owner, scopes, expires_at FROM credentials WHERE id = $1", &[&id]).await;
    assert_eq!(row, vec![vec![Some("bo.nguyen@acme.test".into()), Some("repo:read issues:read".into()), Some("2026-11-24T12:00:00Z".into())]]);
    let scopes = s.raw.texts("SELECT scope FROM credential_scopes WHERE credential_id = $1 ORDER BY scope", &[&id]).await;
    assert_eq!(scopes, vec![vec![Some("issues:read".to_string())], vec![Some("repo:read".to_string())]]);
    let history = s.raw.texts("SELECT until_at, scopes FROM scope_snapshots WHERE credential_id = $1", &[&id]).await;
    assert_eq!(history.len(), 1, "the scopes held until the change");
    let consent = s.raw.texts("SELECT at, actor, action, scopes, note, source FROM consent_events WHERE credential_id = $1 AND source = 'tokenward'", &[&id]).await;
    assert_eq!(
        consent,
        vec![["2026-11-23T09:00:00Z", "ana", "scope_change", "repo:read issues:read", "review: reassign and shorten", "tokenward"].map(|v| Some(v.to_string())).to_vec()]
    );
    (row, history, consent)
}

/// What a recompute reports, without its timings.
fn counted(r: &tokenward::store::RecomputeReport) -> (i64, i64, i64, i64, Vec<(String, i64)>) {
    (r.run, r.open, r.opened, r.closed, r.rules.iter().map(|x| (x.rule.clone(), x.open)).collect())
}

/// Every finding's evidence, parsed: the JSON each backend writes its own way.
async fn evidence(s: &Seeded) -> BTreeMap<(String, String), serde_json::Value> {
    let rows = s.raw.texts("SELECT rule, credential_id, evidence FROM findings WHERE closed_at IS NULL", &[]).await;
    rows.into_iter()
        .map(|r| {
            let text = r[2].clone().expect("evidence");
            ((r[0].clone().expect("rule"), r[1].clone().expect("credential")), serde_json::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}")))
        })
        .collect()
}

async fn findings_rule_by_rule(s: &Seeded) -> impl std::fmt::Debug + PartialEq {
    let t = tokenward::config::Thresholds::default();
    assert_eq!(s.store.last_findings_run().await.expect("never run"), None);
    let report = tokenward::findings::recompute(&s.store, &t, now()).await.expect("recompute");
    let open = s.store.open_findings(None, 100_000).await.expect("open");
    assert_eq!(report.open as usize, open.len());
    assert_eq!((report.opened, report.closed), (report.open, 0), "a first run opens everything it finds");
    let fired: Vec<&str> = report.rules.iter().filter(|r| r.open > 0).map(|r| r.rule.as_str()).collect();
    assert_eq!(fired.len(), tokenward::findings::RULES.len(), "every rule fires on the org: {fired:?}");
    let active = credentials().into_iter().filter(|c| c.status == CredentialStatus::Active).collect::<Vec<_>>();
    let rule = |name: &str| report.rules.iter().find(|r| r.rule == name).expect("rule ran").open;
    assert_eq!(rule("no-expiry") as usize, active.iter().filter(|c| c.expires_at.is_none()).count());
    let gone: Vec<String> = org().owners().into_iter().filter(|o| o.status == "offboarded").map(|o| o.email).collect();
    assert_eq!(rule("owner-offboarded") as usize, active.iter().filter(|c| c.owner.as_ref().is_some_and(|o| gone.contains(o))).count());
    let counts = s.store.finding_counts().await.expect("counts");
    assert_eq!(counts.iter().map(|c| c.open).sum::<i64>(), report.open);
    let stale = s.store.open_findings(Some("stale-unused"), 5).await.expect("one rule");
    assert!(stale.len() == 5 && stale.iter().all(|f| f.rule == "stale-unused" && f.first_seen == "2026-11-23T12:00:00Z"));
    let last = s.store.last_findings_run().await.expect("last run").expect("a run").0;
    assert_eq!(last, "2026-11-23T12:00:00Z");
    // Where to start: open high findings on active credentials by (owner, workload).
    let mut holders = s.store.high_findings_by_holder().await.expect("holders");
    holders.sort();
    let by_id: BTreeMap<String, Credential> = credentials().into_iter().map(|c| (c.external_id.clone(), c)).collect();
    let mut expected: BTreeMap<(String, String), i64> = BTreeMap::new();
    for f in open.iter().filter(|f| f.severity == tokenward::domain::Severity::High) {
        // A secret no issuer knows (`unknown-in-config`) has no credential to hold it.
        let Some(c) = by_id.get(&f.external_id) else { continue };
        if c.status == CredentialStatus::Active {
            *expected.entry((c.owner.clone().unwrap_or_default(), c.workload.clone().unwrap_or_default())).or_default() += 1;
        }
    }
    assert!(!expected.is_empty());
    assert_eq!(holders, expected.into_iter().map(|((o, w), n)| (o, w, n)).collect::<Vec<_>>());
    (counted(&report), open, counts, last, evidence(s).await, holders)
}

async fn findings_close_and_reopen_across_runs(s: &Seeded) -> impl std::fmt::Debug + PartialEq {
    let t = tokenward::config::Thresholds::default();
    let first = tokenward::findings::recompute(&s.store, &t, now()).await.expect("first");
    let bearer = s.store.open_findings(Some("bearer-sensitive"), 1).await.expect("bearer").remove(0);
    let held = s.raw.texts("SELECT scopes FROM credentials WHERE id = $1", &[&bearer.credential_id]).await.remove(0).remove(0).expect("scopes");
    let narrow = |scopes: Vec<String>| CredentialChange { actor: "ana".into(), reason: "review".into(), owner: None, scopes: Some(scopes), expires_at: None };
    s.store.record_credential_change(&bearer.credential_id, &narrow(vec!["docs:read".into()]), now()).await.expect("narrowed");
    let second = tokenward::findings::recompute(&s.store, &t, now() + Duration::hours(1)).await.expect("second");
    assert!(second.closed >= 1, "the bearer finding closes");
    let closed = s.raw.texts("SELECT closed_at, last_seen FROM findings WHERE rule = 'bearer-sensitive' AND credential_id = $1", &[&bearer.credential_id]).await;
    assert_eq!(closed, vec![vec![Some("2026-11-23T13:00:00Z".into()), Some("2026-11-23T12:00:00Z".into())]], "closed, last seen by the run before");
    let unchanged = tokenward::findings::recompute(&s.store, &t, now() + Duration::hours(2)).await.expect("third");
    assert_eq!((unchanged.opened, unchanged.closed), (0, 0));
    let scopes: Vec<String> = held.split(' ').map(str::to_string).collect();
    s.store.record_credential_change(&bearer.credential_id, &narrow(scopes), now() + Duration::hours(2)).await.expect("widened again");
    let back = tokenward::findings::recompute(&s.store, &t, now() + Duration::hours(3)).await.expect("fourth");
    assert!(back.opened >= 1, "the finding is back");
    let reopened = s.store.open_findings(Some("bearer-sensitive"), 100_000).await.expect("open");
    let again = reopened.iter().find(|f| f.credential_id == bearer.credential_id).expect("open again");
    assert_eq!((again.first_seen.as_str(), again.last_seen.as_str()), ("2026-11-23T15:00:00Z", "2026-11-23T15:00:00Z"));
    ([&first, &second, &unchanged, &back].map(counted), reopened, evidence(s).await)
}

async fn campaigns_and_their_items(s: &Seeded) -> impl std::fmt::Debug + PartialEq {
    let campaigns = s.store.campaigns().await.expect("campaigns");
    let q4 = s.store.campaign("q4").await.expect("q4");
    assert_eq!(campaigns, vec![q4.clone()]);
    let api_keys = credentials().iter().filter(|c| c.kind == tokenward::domain::CredentialKind::ApiKey).count() as i64;
    assert_eq!((q4.items, q4.decided, q4.filter.as_deref(), q4.created_by.as_str()), (api_keys, 1, Some("kind:api_key"), "ana"));
    let first = s.store.review_items(q4.id, 0, 3).await.expect("first page");
    let second = s.store.review_items(q4.id, first[2].id, 3).await.expect("second page");
    let all = s.store.all_review_items(q4.id).await.expect("all");
    assert_eq!(all.len() as i64, q4.items);
    assert_eq!([&first[..], &second[..]].concat(), all[..6]);
    let decided = s.store.review_item(first[0].id).await.expect("item");
    assert_eq!((decided.decision, decided.decided_by.as_deref(), decided.reason.as_deref()), (Some(ReviewDecisionKind::Keep), Some("ana"), Some("still needed")));
    assert_eq!(decided.snapshot.id, decided.credential_id);
    let missing = s.store.campaign("q5").await.map(|_| ()).map_err(|e| e.to_string());
    let no_item = s.store.review_item(-1).await.map(|_| ()).map_err(|e| e.to_string());
    assert!(missing.is_err() && no_item.is_err());
    (campaigns, all, decided, missing, no_item)
}
