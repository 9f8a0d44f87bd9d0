//! `tokenward demo`: a reference issuer in-process on a free loopback port,
//! synced through the normal connector and sync engine into the demo database.
use std::io::{IsTerminal, Write};
use std::sync::Arc;

use color_eyre::eyre::{eyre, Result};
use tokio::sync::mpsc;

use crate::actions::Actions;
use crate::cli::{Context, DemoArgs, Format};
use crate::config::{self, IssuerConfig};
use crate::connectors::{self, Connector};
use crate::domain::IssuerKind;
use crate::store::Store;
use crate::sync::{self, SyncEvent, SyncReport};

pub const DEMO_ISSUER: &str = "acme-broker";

/// The review campaign every demo starts with.
pub const DEMO_CAMPAIGN: &str = "q4-admin-api-keys";
pub const DEMO_CAMPAIGN_FILTER: &str = "status:active scope:admin:org kind:api_key";

pub async fn run(ctx: &Context, args: DemoArgs, db_given: bool) -> Result<()> {
    let db_path = if db_given { ctx.db_path.clone() } else { config::demo_db_path() };
    // The demo rebuilds its own file each time; it never touches a real inventory.
    for suffix in ["", "-wal", "-shm"] {
        let p = std::path::PathBuf::from(format!("{}{suffix}", db_path.display()));
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(eyre!("cannot reset demo database {}: {e}", p.display())),
        }
    }
    let org = crate::reference::org::Org::new(args.credentials, args.seed, chrono::Utc::now());
    let issuer = crate::reference::server::spawn("127.0.0.1:0", org, None).await?;
    let cfg = IssuerConfig {
        name: DEMO_ISSUER.into(),
        kind: IssuerKind::Tokenward,
        url: issuer.url(),
        token_env: None,
        token_file: None,
        ca_file: None,
        page_size: Some(1000),
        timeout_s: Some(30),
        ..IssuerConfig::default()
    };
    let connector: Arc<dyn Connector> = Arc::from(connectors::build(&cfg)?);
    let store = Store::open(&db_path).await?;
    store.upsert_issuer(DEMO_ISSUER, "tokenward", Some(&issuer.url())).await?;
    eprintln!("tokenward demo: {} credentials (seed {}) from {} into {}", args.credentials, args.seed, issuer.url(), db_path.display());
    let reports = sync_with_progress(&store, std::slice::from_ref(&connector), 1).await;
    if let Some(err) = reports.iter().find_map(|r| r.error.clone()) {
        return Err(eyre!("demo sync failed: {err}"));
    }
    crate::cli::recompute_findings(ctx, &store).await?;
    let actions = ctx.actions_with(store.clone(), std::slice::from_ref(&connector)).await?;
    // A quarterly review to walk: standing API keys with admin scopes (about 50 in the default org).
    if !ctx.read_only {
        match actions.start_review(DEMO_CAMPAIGN, Some(DEMO_CAMPAIGN_FILTER)).await {
            Ok(c) => eprintln!("review campaign {} ready: {} item(s) (`:review {}` in the TUI)", c.name, c.items, c.name),
            Err(e) => eprintln!("review campaign not started: {e}"),
        }
    }
    if args.no_tui {
        let summary = serde_json::json!({
            "database": db_path.display().to_string(),
            "issuer": issuer.url(),
            "reports": reports,
            "credentials": store.count(&crate::filter::Query::default(), chrono::Utc::now()).await?,
            "pending_grants": store.grants(Some(crate::domain::GrantStatus::Pending), 100_000).await?.len(),
        });
        match ctx.format {
            Format::Json => println!("{}", serde_json::to_string_pretty(&summary)?),
            _ => {
                for r in &reports {
                    println!(
                        "{}: {} credentials in {} pages, {} owners, {} pending grants, {:.1}s",
                        r.issuer, r.credentials, r.pages, r.owners, r.grants, r.seconds
                    );
                }
                println!("demo database: {}", db_path.display());
            }
        }
        return Ok(());
    }
    let session = crate::tui::Session::new(&ctx.tui_settings(), store, actions, vec![connector]).with_db_label(db_path.display().to_string());
    crate::tui::run(session).await
}

/// Syncs and shows progress on stderr: one line per issuer, rewritten in place on a terminal.
pub async fn sync_with_progress(store: &Store, connectors: &[Arc<dyn Connector>], concurrency: usize) -> Vec<SyncReport> {
    let (tx, mut rx) = mpsc::channel(256);
    let printer = tokio::spawn(async move {
        let tty = std::io::stderr().is_terminal();
        let mut last_line = std::time::Instant::now();
        while let Some(ev) = rx.recv().await {
            let mut err = std::io::stderr().lock();
            match ev {
                SyncEvent::Started { issuer, resumed } => {
                    let _ = writeln!(err, "{issuer}: sync {}", if resumed { "resuming from its last committed page" } else { "started" });
                }
                SyncEvent::Progress { issuer, pages, credentials, elapsed } => {
                    // On a pipe, a line every 2 s is progress enough.
                    if tty || last_line.elapsed().as_secs() >= 2 {
                        let rate = credentials as f64 / elapsed.as_secs_f64().max(0.001);
                        let _ = write!(err, "\r{issuer}: {credentials} credentials, {pages} pages, {rate:.0}/s   {}", if tty { "" } else { "\n" });
                        last_line = std::time::Instant::now();
                    }
                }
                SyncEvent::Finished(r) => {
                    for note in &r.notes {
                        let _ = writeln!(err, "\r{}: {note}", r.issuer);
                    }
                    let _ = match &r.error {
                        None => writeln!(
                            err,
                            "\r{}: done: {} credentials, {} pages, {} owners, {} grants, {} gone, {:.1}s   ",
                            r.issuer, r.credentials, r.pages, r.owners, r.grants, r.gone, r.seconds
                        ),
                        Some(e) => writeln!(err, "\r{}: FAILED after {} credentials: {e}", r.issuer, r.credentials),
                    };
                }
            }
        }
    });
    let reports = sync::sync_all(store, connectors, concurrency, Some(tx)).await;
    let _ = printer.await;
    reports
}
