//! `tokenward demo`: a reference issuer in-process on a free loopback port,
//! synced through the normal connector and sync engine into the demo database.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use color_eyre::eyre::{eyre, Result};

use crate::cli::output::{print_json, say, tell};
use crate::cli::progress::{recompute_findings, sync_with_progress};
use crate::config::{self, IssuerConfig};
use crate::connectors::{self, Connector};
use crate::context::{Context, Format};
use crate::domain::IssuerKind;
use crate::store::{DbFile, Store};

pub const DEMO_ISSUER: &str = "acme-broker";

/// The review campaign every demo starts with.
pub const DEMO_CAMPAIGN: &str = "q4-admin-api-keys";
pub const DEMO_CAMPAIGN_FILTER: &str = "status:active scope:admin:org kind:api_key";

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Credentials in the synthetic organisation.
    #[arg(long, default_value_t = 5000)]
    pub credentials: u64,
    /// Seed of the synthetic organisation.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Stop after the sync and print a summary.
    #[arg(long)]
    pub no_tui: bool,
}

/// `db`: a file named by `--db` on the command line; `TOKENWARD_DB` never counts,
/// so a shell profile pointing at a real inventory cannot aim the demo at it.
pub async fn run(ctx: &Context, args: DemoArgs, db: Option<PathBuf>) -> Result<()> {
    let db_path = db.unwrap_or_else(config::demo_db_path);
    remove_previous_demo(&db_path)?;
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
    // Marked before the sync, so even a demo killed part-way can be replaced next time.
    store.mark_demo().await?;
    store.upsert_issuer(DEMO_ISSUER, crate::domain::IssuerKind::Tokenward, Some(&issuer.url())).await?;
    tell(format_args!("tokenward demo: {} credentials (seed {}) from {} into {}", args.credentials, args.seed, issuer.url(), db_path.display()));
    let reports = sync_with_progress(&store, std::slice::from_ref(&connector), 1, crate::sync::Listing::Changes).await;
    if let Some(err) = reports.iter().find_map(|r| r.error.clone()) {
        return Err(eyre!("demo sync failed: {err}"));
    }
    let actions = ctx.actions_with(store.clone(), std::slice::from_ref(&connector)).await?;
    // Sample agent configurations holding a few of the organisation's tokens (and one
    // no issuer knows), scanned like any folder: the deployments view and its findings.
    if !ctx.read_only {
        let org = crate::reference::org::Org::new(args.credentials, args.seed, chrono::Utc::now());
        let agents = db_path.with_extension("agents");
        match write_sample_agents(&store, &org, &agents).await {
            Ok(()) => match super::scan::scan_and_record(&actions, Some("demo-laptop".into()), vec![agents.clone()]).await {
                Ok((_, r)) => tell(format_args!("sample agent configurations in {}: {} secret(s) in plain text (`:deployments` in the TUI)", agents.display(), r.found.len())),
                Err(e) => tell(format_args!("sample agent configurations not scanned: {e}")),
            },
            Err(e) => tell(format_args!("sample agent configurations not written: {e}")),
        }
    }
    recompute_findings(ctx, &store).await?;
    // A quarterly review to walk: standing API keys with admin scopes (about 50 in the default org).
    if !ctx.read_only {
        match actions.start_review(DEMO_CAMPAIGN, Some(DEMO_CAMPAIGN_FILTER)).await {
            Ok(c) => tell(format_args!("review campaign {} ready: {} item(s) (`:review {}` in the TUI)", c.name, c.items, c.name)),
            Err(e) => tell(format_args!("review campaign not started: {e}")),
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
            Format::Json => print_json(&summary)?,
            Format::Table | Format::Csv | Format::Md => {
                for r in &reports {
                    say(format_args!(
                        "{}: {} credentials in {} pages, {} owners, {} pending grants, {:.1}s",
                        r.issuer, r.credentials, r.pages, r.owners, r.grants, r.seconds
                    ))?;
                }
                say(format_args!("demo database: {}", db_path.display()))?;
            }
        }
        return Ok(());
    }
    let session = crate::tui::Session::new(&ctx.tui_settings(), store, actions, vec![connector]).with_db_label(db_path.display().to_string());
    crate::tui::run(session).await
}

/// Writes the demo's agent configurations under `dir` (only these files, overwritten):
/// two live tokens of the organisation, one that is no longer active, and secrets no
/// issuer knows.
async fn write_sample_agents(store: &Store, org: &crate::reference::org::Org, dir: &Path) -> Result<()> {
    let (mut live, mut dead) = (Vec::new(), None);
    for i in 0..org.len().min(2_000) {
        let id = crate::domain::Credential::local_id(DEMO_ISSUER, &crate::reference::org::Org::credential_id(i));
        match store.credential(&id).await {
            Ok(c) if c.status == crate::domain::CredentialStatus::Active && live.len() < 2 => live.push(org.secret(i)),
            Ok(c) if c.status != crate::domain::CredentialStatus::Active && dead.is_none() => dead = Some(org.secret(i)),
            _ => {}
        }
        if live.len() == 2 && dead.is_some() {
            break;
        }
    }
    let (Some(dead), [first, second]) = (dead, live.as_slice()) else { return Err(eyre!("the organisation has too few credentials for sample agents")) };
    for sub in ["", ".cursor", "deploy-bot", ".aws"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    let claude = serde_json::json!({"mcpServers": {
        "github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"], "env": {"GITHUB_TOKEN": first}},
        "broker": {"url": "https://broker.acme.test/mcp", "headers": {"Authorization": format!("Bearer {dead}")}},
    }});
    std::fs::write(dir.join("claude_desktop_config.json"), serde_json::to_string_pretty(&claude)?)?;
    let cursor = serde_json::json!({"mcpServers": {"jira": {"command": "jira-mcp", "env": {"JIRA_API_TOKEN": "ATATT3xFfGF0demoShadowTokenNoIssuerKnows"}}}});
    std::fs::write(dir.join(".cursor/mcp.json"), serde_json::to_string_pretty(&cursor)?)?;
    std::fs::write(dir.join("deploy-bot/.env"), format!("# deploy-bot\nBROKER_URL=https://broker.acme.test\nBROKER_TOKEN={second}\n"))?;
    std::fs::write(dir.join(".aws/credentials"), "[default]\naws_access_key_id = AKIADEMO0SHADOW00001\naws_secret_access_key = demoSecretAccessKeyNoIssuerKnows00001\n")?;
    Ok(())
}

/// Deletes an earlier demo database (and its WAL and shm files) so the demo starts
/// fresh; refuses any file the demo did not create, so an inventory is never lost.
fn remove_previous_demo(path: &Path) -> Result<()> {
    let own = config::demo_db_path();
    // A demo file from before the marker existed sits at the demo's own path unmarked: say how to clear it.
    let advice = if path == own {
        "If it is a demo database from an older tokenward, delete it (and its -wal and -shm files) yourself; otherwise move it away".to_string()
    } else {
        format!("Name a new file with `tokenward demo --db NEW.db`, or leave out --db to use the demo's own file ({})", own.display())
    };
    let refuse = |what: &str| eyre!("{} exists and {what}: the demo never deletes or reuses it. {advice}", path.display());
    match Store::probe(path).map_err(|e| eyre!("cannot read {}: {e}", path.display()))? {
        DbFile::Missing => Ok(()),
        DbFile::Unmarked => Err(refuse("is not a tokenward demo database (it has no demo marker; it may be a real inventory)")),
        DbFile::NotSqlite => Err(refuse("is not a tokenward database")),
        DbFile::Demo => {
            for p in Store::files_of(path) {
                match std::fs::remove_file(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(eyre!("cannot reset demo database {}: {e}", p.display())),
                }
            }
            Ok(())
        }
    }
}
