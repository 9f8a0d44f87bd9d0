//! The command line: clap commands over the same actions, store and sync the TUI uses.
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};
use color_eyre::eyre::{eyre, Result, WrapErr};

use crate::actions::Actions;
pub use crate::context::{Context, Format};
use crate::config::{self, Config};
use crate::connectors::{self, Connector};
use crate::domain::{fmt_ts, text, GrantStatus};
use crate::filter;
use crate::store::{CredentialRow, PageAnchor, PageRequest, Sort, SortColumn, Store};

#[derive(Debug, Parser)]
#[command(name = "tokenward", version, about = "Govern the credentials AI agents use: inventory, triage, revoke, review.")]
#[command(long_about = "tokenward syncs every agent credential from your issuers into a local SQLite inventory and lets \
you browse, triage and revoke them. With no command it opens the terminal UI on the configured inventory.")]
pub struct Cli {
    /// Inventory database (default: tokenward.db in the platform data dir).
    #[arg(long, global = true, env = "TOKENWARD_DB")]
    pub db: Option<PathBuf>,
    /// Configuration file (default: tokenward/tokenward.toml in the platform config dir).
    #[arg(long, global = true, env = "TOKENWARD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Who is acting, recorded in the audit log (default: config `operator`, else $USER).
    #[arg(long, global = true, env = "TOKENWARD_OPERATOR")]
    pub operator: Option<String>,
    /// Refuse every action that changes anything.
    #[arg(long, global = true, env = "TOKENWARD_READ_ONLY")]
    pub read_only: bool,
    /// Output format of listing commands and of errors.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table, env = "TOKENWARD_FORMAT")]
    pub format: Format,
    /// Colour theme of the TUI: dark, light, high-contrast, or a path to a theme file.
    #[arg(long, global = true, env = "TOKENWARD_THEME")]
    pub theme: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}


impl Cli {
    /// The global options a context is resolved from.
    pub fn overrides(&self) -> crate::context::Overrides {
        crate::context::Overrides { db: self.db.clone(), config: self.config.clone(), operator: self.operator.clone(), read_only: self.read_only, theme: self.theme.clone() }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a synthetic organisation through the normal sync path, then open the TUI.
    Demo(DemoArgs),
    /// Run a reference issuer speaking inventory protocol v1.
    Issuer {
        #[command(subcommand)]
        command: IssuerCommand,
    },
    /// Sync every configured issuer (or one); exits non-zero if any failed.
    Sync {
        /// Only this issuer.
        #[arg(long)]
        issuer: Option<String>,
        /// How many issuers sync at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// List the configured issuers with their last sync.
    Issuers,
    /// The approval policies (Cedar).
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// The configuration file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// List credentials, in pages, by a filter query (see `tokenward help filter`).
    Credentials {
        /// Filter query, e.g. "owner-status:offboarded binding:bearer expires<7d".
        #[arg(long, short)]
        filter: Option<String>,
        /// Sort column: expires, last-used, owner, workload, binding, status, id.
        #[arg(long, default_value = "expires")]
        sort: String,
        /// Reverse the order.
        #[arg(long)]
        desc: bool,
        /// At most this many rows (default: all).
        #[arg(long)]
        limit: Option<usize>,
    },
    /// One credential: fields, consent trail, delegation chain, usage, findings.
    Show {
        /// Local id, a unique prefix of it, the issuer's id, or the sha256 fingerprint.
        id: String,
    },
    /// The approval queue of task grants.
    Grants {
        /// pending, approved, denied or expired (default: all).
        #[arg(long)]
        status: Option<String>,
        /// newest or oldest first (default: `[grants] order` of the config, else newest).
        #[arg(long, value_parser = ["newest", "oldest"])]
        order: Option<String>,
    },
    /// Approve a pending grant, perhaps narrower and shorter; the issuer first, then the record.
    Approve {
        /// The grant: its issuer id (e.g. grant-0007) or local id.
        id: String,
        /// Why this access is right for the task: recorded and sent to the issuer.
        #[arg(long)]
        justification: String,
        /// Grant only these of the scopes asked (comma-separated).
        #[arg(long, value_delimiter = ',')]
        scopes: Option<Vec<String>>,
        /// A shorter TTL than asked, e.g. 30m, 2h, 1d.
        #[arg(long)]
        ttl: Option<String>,
        /// Require a sender-constrained token: dpop or mtls.
        #[arg(long)]
        binding: Option<String>,
    },
    /// Deny a pending grant with a reason.
    Deny {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Revoke a credential at its issuer, then record it; or, with --owner, everything one person holds.
    Revoke {
        /// Local id, a unique prefix, the issuer's id or the fingerprint.
        #[arg(required_unless_present = "owner", conflicts_with = "owner")]
        id: Option<String>,
        /// Revoke everything this person holds at every issuer (offboarding), and deny their pending grants.
        #[arg(long)]
        owner: Option<String>,
        /// With --owner: list exactly what would be revoked and denied, change nothing.
        #[arg(long, requires = "owner")]
        dry_run: bool,
        /// Why: recorded in the audit log and sent to the issuer.
        #[arg(long, required_unless_present = "dry_run")]
        reason: Option<String>,
    },
    /// People from the directory and the issuers, with their credential counts.
    Owners {
        /// Only active, offboarded or unknown people.
        #[arg(long)]
        status: Option<String>,
        /// Start after this email (keyset paging).
        #[arg(long)]
        after: Option<String>,
        #[arg(long, default_value_t = 200)]
        limit: i64,
    },
    /// One person's blast radius: credentials owned, delegated from theirs, grants they asked for.
    Owner {
        /// The person's email, as the directory or the issuers know it.
        email: String,
    },
    /// Active credentials expiring within a window, grouped by owner (tell them before automation breaks).
    Expiring {
        /// The window, e.g. 24h, 7d, 30d.
        #[arg(long, default_value = "7d")]
        within: String,
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
    /// Access review campaigns and their evidence.
    Review {
        #[command(subcommand)]
        command: ReviewCommand,
    },
    /// Which credentials held a scope at a past date (from sync snapshots and consent events).
    History {
        /// The scope, e.g. admin:org.
        #[arg(long)]
        scope: String,
        /// A date (2026-08-01, midnight UTC) or an RFC 3339 time.
        #[arg(long)]
        at: String,
        #[arg(long, default_value_t = 10_000)]
        limit: i64,
    },
    /// Triage a leaked token read from standard input (never from the command
    /// line): fingerprint, find, introspect at the OAuth issuers, and revoke.
    Triage {
        /// Revoke it wherever it is live: at its inventory issuer and every OAuth issuer that says active.
        #[arg(long, requires = "reason")]
        revoke: bool,
        /// Why: recorded in the audit log and sent to the issuers.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Open findings: offboarded owners, stale and long-lived credentials, forwarding, use after the task, ...
    Findings {
        /// Only this rule (e.g. owner-offboarded; `--rules` lists them).
        #[arg(long)]
        rule: Option<String>,
        /// Recompute every rule over the inventory first (also done after each sync).
        #[arg(long)]
        refresh: bool,
        /// Counts by rule and severity instead of the findings.
        #[arg(long)]
        summary: bool,
        /// List the rules: what each fires on, its severity and framework controls.
        #[arg(long)]
        rules: bool,
        /// At most this many findings (most severe first).
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Measure the performance goals (ingest, paging, filters, frame render).
    Bench {
        /// Credentials to generate.
        #[arg(long, default_value_t = 100_000)]
        credentials: u64,
        /// Keep the benchmark database here instead of a temporary file.
        #[arg(long)]
        keep: Option<PathBuf>,
    },
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

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

#[derive(Debug, Subcommand)]
pub enum IssuerCommand {
    /// Serve a deterministic synthetic organisation; approve/deny/revoke change its state.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        #[arg(long, default_value_t = 5000)]
        credentials: u64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Require this bearer token, read from the named environment variable.
        #[arg(long)]
        token_env: Option<String>,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum PolicyCommand {
    /// Validate the policies against the schema (strict); non-zero exit with each problem.
    Check,
    /// Print the shipped policies and schema (a starting point for your own directory).
    Show,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ConfigCommand {
    /// Validate the file: every mistake with its line; secrets must be readable. Non-zero exit on any.
    Check,
    /// Print the path of the configuration file in use.
    Path,
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Snapshot the credentials the filter matches (default: status:active) into a new campaign.
    Start {
        /// A unique name, e.g. q4-admin.
        name: String,
        /// Which credentials to review (the filter query of `credentials`).
        #[arg(long)]
        filter: Option<String>,
    },
    /// Campaigns with their progress.
    List,
    /// A campaign's items (with --undecided, only those left).
    Show {
        /// The campaign.
        name: String,
        /// Only the items nobody has decided yet.
        #[arg(long)]
        undecided: bool,
    },
    /// Decide one item: keep, revoke, reassign (--owner), shorten (--ttl), reduce (--scopes).
    Decide {
        /// The item number (`review show NAME`).
        item: i64,
        /// What to do with the credential.
        #[arg(value_parser = ["keep", "revoke", "reassign", "shorten", "reduce"])]
        decision: String,
        /// Why: recorded in the evidence and the audit log, and sent to the issuer.
        #[arg(long)]
        reason: String,
        /// reassign: the new owner's email.
        #[arg(long)]
        owner: Option<String>,
        /// shorten: the credential expires this long from now (e.g. 7d).
        #[arg(long)]
        ttl: Option<String>,
        /// reduce: the scopes to keep, comma-separated.
        #[arg(long, value_delimiter = ',')]
        scopes: Option<Vec<String>>,
    },
    /// Write the evidence: every item, decision, decider, time, reason, issuer answer, and the audit head hash.
    Export {
        /// The campaign.
        name: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain; non-zero exit and the first bad entry if it is broken.
    Verify,
    /// The newest entries.
    Log {
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

fn cli_config_path(given: &Option<PathBuf>) -> PathBuf {
    given.clone().unwrap_or_else(config::default_config_path)
}

fn config_command(path: &std::path::Path, command: ConfigCommand, format: Format) -> Result<()> {
    match command {
        ConfigCommand::Path => {
            println!("{}", path.display());
            Ok(())
        }
        ConfigCommand::Check => {
            let text = std::fs::read_to_string(path).wrap_err_with(|| format!("cannot read {}", path.display()))?;
            let problems = Config::check(&text);
            if format == Format::Json {
                println!("{}", serde_json::json!({"path": path.display().to_string(), "problems": problems}));
            } else {
                for p in &problems {
                    match p.line {
                        Some(l) => eprintln!("{}:{l}: {}", path.display(), p.message),
                        None => eprintln!("{}: {}", path.display(), p.message),
                    }
                }
                if problems.is_empty() {
                    println!("{}: ok", path.display());
                }
            }
            if problems.is_empty() { Ok(()) } else { Err(eyre!("{} problem(s) in {}", problems.len(), path.display())) }
        }
    }
}

pub async fn run(cli: Cli) -> Result<()> {
    let cli_path_hint = cli.config.clone();
    // `config check` must report a broken file, not fail to load it.
    if let Some(Command::Config { command }) = &cli.command {
        return config_command(&cli_config_path(&cli_path_hint), command.clone(), cli.format);
    }
    let ctx = Context::resolve(&cli.overrides(), cli.format)?;
    let Some(command) = cli.command else {
        let store = ctx.store().await?;
        let actions = ctx.actions().await?;
        return crate::tui::run(crate::tui::Session::new(&ctx.tui_settings(), store, actions, Vec::new())).await;
    };
    match command {
        Command::Demo(args) => crate::demo::run(&ctx, args, cli.db.is_some()).await,
        Command::Issuer { command: IssuerCommand::Serve { listen, credentials, seed, token_env } } => {
            let token = match token_env {
                Some(var) => Some(std::env::var(&var).map_err(|_| eyre!("environment variable {var} is not set"))?),
                None => None,
            };
            let org = crate::reference::org::Org::new(credentials, seed, chrono::Utc::now());
            crate::reference::server::serve_forever(&listen, org, token).await.wrap_err_with(|| format!("serving on {listen}"))
        }
        Command::Sync { issuer, concurrency } => sync(&ctx, issuer, concurrency).await,
        Command::Issuers => issuers(&ctx).await,
        // Handled before the context is built, so a broken file can be checked.
        Command::Config { .. } => Ok(()),
        Command::Policy { command: PolicyCommand::Show } => {
            println!("// policies/tokenward.cedarschema\n{}\n// policies/default.cedar\n{}", crate::policy::DEFAULT_SCHEMA, crate::policy::DEFAULT_POLICIES);
            Ok(())
        }
        Command::Policy { command: PolicyCommand::Check } => {
            let engine = crate::policy::PolicyEngine::load(ctx.config.policies.as_deref())?;
            let problems = engine.check();
            if ctx.format == Format::Json {
                println!("{}", serde_json::json!({"source": engine.source, "problems": problems}));
            } else if problems.is_empty() {
                println!("{}: ok", engine.source);
            }
            for p in &problems {
                eprintln!("{}: {p}", engine.source);
            }
            if problems.is_empty() { Ok(()) } else { Err(eyre!("{} problem(s) in {}", problems.len(), engine.source)) }
        }
        Command::Credentials { filter, sort, desc, limit } => credentials(&ctx, filter, &sort, desc, limit).await,
        Command::Show { id } => show(&ctx, &id).await,
        Command::Grants { status, order } => grants(&ctx, status, order).await,
        Command::Revoke { id: Some(id), reason, .. } => revoke(&ctx, &id, reason.as_deref().unwrap_or_default()).await,
        Command::Revoke { id: None, owner, dry_run, reason } => revoke_owner(&ctx, owner.as_deref().unwrap_or_default(), reason.as_deref().unwrap_or_default(), dry_run).await,
        Command::Owners { status, after, limit } => owners(&ctx, status, after, limit).await,
        Command::Owner { email } => owner(&ctx, &email).await,
        Command::Expiring { within, limit } => expiring(&ctx, &within, limit).await,
        Command::Review { command } => review(&ctx, command).await,
        Command::History { scope, at, limit } => history(&ctx, &scope, &at, limit).await,
        Command::Approve { id, justification, scopes, ttl, binding } => {
            let ttl_seconds = match ttl {
                Some(t) => Some(crate::filter::parse_duration(&t).ok_or_else(|| eyre!("--ttl '{t}' is not a duration like 30m, 2h, 1d"))?.num_seconds()),
                None => None,
            };
            let binding = match binding {
                Some(b) => Some(crate::domain::Binding::parse(&b).ok_or_else(|| eyre!("--binding must be bearer, dpop or mtls"))?),
                None => None,
            };
            let input = crate::actions::ApproveInput { grant: id, scopes, ttl_seconds, binding, justification };
            let outcome = ctx.actions().await?.approve(&input).await?;
            grant_outcome(&ctx, &outcome)
        }
        Command::Deny { id, reason } => {
            let outcome = ctx.actions().await?.deny(&id, &reason).await?;
            grant_outcome(&ctx, &outcome)
        }
        Command::Audit { command } => audit(&ctx, command).await,
        Command::Findings { rule, refresh, summary, rules, limit } => findings(&ctx, rule, refresh, summary, rules, limit).await,
        Command::Triage { revoke, reason } => triage(&ctx, revoke.then_some(reason).flatten()).await,
        Command::Bench { credentials, keep } => crate::bench::run(credentials, keep, ctx.format == Format::Json).await,
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "tokenward", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?;
            Ok(())
        }
    }
}

async fn sync(ctx: &Context, only: Option<String>, concurrency: usize) -> Result<()> {
    let (mut connectors, errors) = ctx.connectors();
    if let Some(name) = &only {
        if ctx.config.issuer(name).is_none() {
            return Err(eyre!("no issuer named '{name}' in the configuration"));
        }
        connectors.retain(|c| c.name() == name);
    }
    if connectors.is_empty() && errors.is_empty() {
        return Err(eyre!("no issuers configured: add [[issuer]] tables to the configuration (see README)"));
    }
    let store = ctx.store().await?;
    let reports = crate::demo::sync_with_progress(&store, &connectors, concurrency).await;
    recompute_findings(ctx, &store).await?;
    // Revocations queued while an issuer was unreachable get another try with every sync.
    let retried = Actions::new(store.clone(), &connectors, &ctx.operator, ctx.read_only).retry_outbox().await?;
    if retried > 0 {
        eprintln!("revocation outbox: {retried} queued revocation(s) confirmed by their issuer");
    }
    let failed: Vec<String> = reports
        .iter()
        .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.issuer)))
        .chain(errors.iter().filter(|e| only.as_ref().is_none_or(|n| e.starts_with(n.as_str()))).cloned())
        .collect();
    if ctx.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    if failed.is_empty() { Ok(()) } else { Err(eyre!("sync failed for {}", failed.join("; "))) }
}

/// After a sync (and on demand): every rule over the inventory, one line on stderr.
pub async fn recompute_findings(ctx: &Context, store: &Store) -> Result<crate::store::RecomputeReport> {
    let thresholds = ctx.config.findings.thresholds().map_err(|e| eyre!(e))?;
    let report = crate::findings::recompute(store, &thresholds, chrono::Utc::now()).await?;
    eprintln!("findings: {} open ({} new, {} closed) in {} ms", report.open, report.opened, report.closed, report.millis);
    if std::env::var_os("TOKENWARD_FINDINGS_TIMING").is_some() {
        eprintln!("  {:<26} {:>8}      {:>7} ms", "(fact tables)", "", report.facts_millis);
        for r in &report.rules {
            eprintln!("  {:<26} {:>8} open {:>7} ms", r.rule, r.open, r.millis);
        }
    }
    Ok(report)
}

async fn findings(ctx: &Context, rule: Option<String>, refresh: bool, summary: bool, rules: bool, limit: i64) -> Result<()> {
    if rules {
        match ctx.format {
            Format::Json => println!("{}", serde_json::to_string_pretty(crate::findings::RULES)?),
            f => {
                let rows: Vec<Vec<String>> =
                    crate::findings::RULES.iter().map(|r| vec![r.id.into(), r.severity.into(), r.fires_when.into(), r.frameworks.join("; ")]).collect();
                print_rows(f, &["RULE", "SEVERITY", "FIRES WHEN", "FRAMEWORKS"], &rows)?;
            }
        }
        return Ok(());
    }
    if let Some(r) = &rule {
        if crate::findings::rule(r).is_none() {
            let known: Vec<&str> = crate::findings::RULES.iter().map(|r| r.id).collect();
            return Err(eyre!("unknown rule '{r}' (rules: {})", known.join(", ")));
        }
    }
    let store = ctx.store().await?;
    if refresh || store.last_findings_run().await?.is_none() {
        recompute_findings(ctx, &store).await?;
    }
    if summary {
        let mut counts = store.finding_counts().await?;
        counts.retain(|c| rule.as_ref().is_none_or(|r| *r == c.rule));
        counts.sort_by(|a, b| crate::findings::severity_rank(&a.severity).cmp(&crate::findings::severity_rank(&b.severity)).then(b.open.cmp(&a.open)));
        match ctx.format {
            Format::Json => println!("{}", serde_json::to_string_pretty(&counts)?),
            f => print_rows(f, &["RULE", "SEVERITY", "OPEN"], &counts.iter().map(|c| vec![c.rule.clone(), c.severity.clone(), c.open.to_string()]).collect::<Vec<_>>())?,
        }
        return Ok(());
    }
    let limit = if limit <= 0 { i64::MAX } else { limit };
    let rows = store.open_findings(rule.as_deref(), limit).await?;
    match ctx.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        f => {
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.rule.clone(),
                        r.severity.clone(),
                        r.credential_id.clone(),
                        r.external_id.clone(),
                        r.owner.clone().unwrap_or_default(),
                        r.summary.clone(),
                        r.frameworks.join("; "),
                        r.first_seen.clone(),
                    ]
                })
                .collect();
            print_rows(f, &["RULE", "SEVERITY", "CREDENTIAL", "ISSUER ID", "OWNER", "SUMMARY", "FRAMEWORKS", "FIRST SEEN"], &table)?;
        }
    }
    Ok(())
}

async fn issuers(ctx: &Context) -> Result<()> {
    let store = ctx.store().await?;
    let mut summaries = store.issuer_summaries().await?;
    // Configured but never synced issuers are listed too, with no run.
    for cfg in &ctx.config.issuers {
        if summaries.iter().all(|s| s.name != cfg.name) {
            summaries.push(crate::store::IssuerSummary {
                name: cfg.name.clone(),
                kind: cfg.kind.to_string(),
                url: Some(cfg.url.clone()),
                credentials: 0,
                last_run: None,
            });
        }
    }
    match ctx.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&summaries)?),
        _ => {
            let rows: Vec<Vec<String>> = summaries
                .iter()
                .map(|s| {
                    let run = s.last_run.as_ref();
                    vec![
                        s.name.clone(),
                        s.kind.clone(),
                        s.credentials.to_string(),
                        run.map(|r| r.status.clone()).unwrap_or_else(|| "never".into()),
                        run.and_then(|r| r.finished_at.clone()).unwrap_or_default(),
                        run.and_then(|r| r.error.clone()).unwrap_or_default(),
                    ]
                })
                .collect();
            print_rows(ctx.format, &["NAME", "KIND", "CREDENTIALS", "LAST SYNC", "FINISHED", "ERROR"], &rows)?;
        }
    }
    Ok(())
}

/// The JSON shape of DESIGN.md for one credential row.
pub fn credential_json(r: &CredentialRow) -> serde_json::Value {
    serde_json::json!({
        "id": r.id, "issuer": r.issuer, "kind": r.kind,
        "owner": if r.owner.is_empty() { None } else { Some(&r.owner) },
        "owner_status": r.owner_status,
        "workload": if r.workload.is_empty() { None } else { Some(&r.workload) },
        "scopes": crate::store::split(&r.scopes),
        "audience": crate::store::split(&r.audience),
        "binding": r.binding,
        "issued_at": r.issued_at.as_ref().map(fmt_ts),
        "expires_at": r.expires_at.as_ref().map(fmt_ts),
        "last_used_at": r.last_used_at.as_ref().map(fmt_ts),
        "status": r.status,
        "task_id": r.task_id,
    })
}

async fn credentials(ctx: &Context, filter: Option<String>, sort: &str, desc: bool, limit: Option<usize>) -> Result<()> {
    let text = filter.unwrap_or_default();
    let query = filter::parse(&text).map_err(|e| eyre!("bad filter: {}\n{}", e.message, e.caret_line(&text)))?;
    let column = SortColumn::parse(sort).ok_or_else(|| eyre!("unknown sort column '{sort}'"))?;
    let store = ctx.store().await?;
    let now = chrono::Utc::now();
    let mut anchor = PageAnchor::First;
    let mut left = limit.unwrap_or(usize::MAX);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut first = true;
    let header = ["ID", "ISSUER", "KIND", "OWNER", "WORKLOAD", "SCOPES", "BINDING", "EXPIRES", "LAST USED", "STATUS"];
    match ctx.format {
        Format::Json => write!(out, "[")?,
        Format::Csv => writeln!(out, "{}", header.map(|h| h.to_lowercase().replace(' ', "_")).join(","))?,
        Format::Table | Format::Md => {}
    }
    let mut table: Vec<Vec<String>> = Vec::new();
    while left > 0 {
        let req = PageRequest { query: query.clone(), now, sort: Sort { column, descending: desc }, anchor, limit: left.min(1000) };
        let page = store.page(&req).await?;
        let Some(last) = page.last() else { break };
        anchor = PageAnchor::After(last.key.clone());
        left = left.saturating_sub(page.len());
        let full_page = page.len() == req.limit;
        for r in &page {
            let fields = row_fields(r);
            match ctx.format {
                Format::Json => write!(out, "{}{}", if first { "\n  " } else { ",\n  " }, credential_json(r))?,
                Format::Csv => writeln!(out, "{}", fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","))?,
                Format::Table | Format::Md => table.push(fields),
            }
            first = false;
        }
        if matches!(ctx.format, Format::Table | Format::Md) && table.len() >= 5000 {
            write_table(&mut out, &header, &table)?;
            table.clear();
        }
        if !full_page {
            break;
        }
    }
    match ctx.format {
        Format::Json => writeln!(out, "{}]", if first { "" } else { "\n" })?,
        Format::Table | Format::Md => write_table(&mut out, &header, &table)?,
        Format::Csv => {}
    }
    out.flush()?;
    Ok(())
}

fn row_fields(r: &CredentialRow) -> Vec<String> {
    let owner = match r.owner_status.as_str() {
        "offboarded" => format!("{} (offboarded)", r.owner),
        "none" => "-".into(),
        _ => r.owner.clone(),
    };
    vec![
        r.id.clone(),
        r.issuer.clone(),
        r.kind.clone(),
        owner,
        r.workload.clone(),
        r.scopes.clone(),
        r.binding.clone(),
        r.expires_at.as_ref().map(fmt_ts).unwrap_or_else(|| "never".into()),
        r.last_used_at.as_ref().map(fmt_ts).unwrap_or_else(|| "never".into()),
        r.status.clone(),
    ]
}

async fn show(ctx: &Context, needle: &str) -> Result<()> {
    let store = ctx.store().await?;
    let detail = crate::detail::load(&store, needle).await?;
    match ctx.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&detail)?),
        _ => {
            let mut out = std::io::stdout().lock();
            for line in crate::detail::text_lines(&detail, chrono::Utc::now()) {
                writeln!(out, "{line}")?;
            }
        }
    }
    Ok(())
}

async fn grants(ctx: &Context, status: Option<String>, order: Option<String>) -> Result<()> {
    let status = match status {
        Some(s) => Some(GrantStatus::parse(&s).ok_or_else(|| eyre!("unknown grant status '{s}' (pending, approved, denied, expired)"))?),
        None => None,
    };
    let newest = match order.as_deref() {
        Some(o) => o == "newest",
        None => ctx.config.grants.newest_first().map_err(|e| eyre!(e))?,
    };
    let sla = ctx.config.grants.sla().map_err(|e| eyre!(e))?;
    let actions = ctx.actions().await?;
    let mut grants = actions.store.grants(status, 10_000).await?;
    if !newest {
        grants.reverse();
    }
    let now = chrono::Utc::now();
    match ctx.format {
        Format::Json => {
            // Each pending grant with Cedar's verdict on approving it as asked, as the TUI shows it.
            let mut out = Vec::new();
            for g in &grants {
                let mut v = serde_json::to_value(g)?;
                if g.status == GrantStatus::Pending {
                    v["policy"] = serde_json::to_value(actions.verdict_as_asked(g).await?)?;
                    if let Some(at) = g.requested_at {
                        v["age_seconds"] = (now - at).num_seconds().into();
                        v["sla_breached"] = (now - at >= sla).into();
                    }
                }
                out.push(v);
            }
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        f => {
            let rows: Vec<Vec<String>> = grants
                .iter()
                .map(|g| {
                    vec![
                        g.external_id.clone(),
                        g.issuer.clone(),
                        g.workload.clone().unwrap_or_default(),
                        g.requested_by.clone().unwrap_or_default(),
                        g.scopes.join(" "),
                        crate::detail::human_duration(chrono::Duration::seconds(g.ttl_seconds)),
                        g.binding.to_string(),
                        g.status.to_string(),
                        g.intent.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            print_rows(f, &["GRANT", "ISSUER", "WORKLOAD", "REQUESTED BY", "SCOPES", "TTL", "BINDING", "STATUS", "INTENT"], &rows)?;
        }
    }
    Ok(())
}

fn grant_outcome(ctx: &Context, o: &crate::actions::GrantOutcome) -> Result<()> {
    match ctx.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(o)?),
        _ => match o.status {
            crate::domain::GrantStatus::Approved => println!(
                "{} approved at {}: {} for {}, {}{} (audit #{})",
                o.external_id,
                o.issuer,
                o.scopes.join(" "),
                crate::detail::human_duration(chrono::Duration::seconds(o.ttl_seconds)),
                o.binding,
                o.credential_id.as_ref().map(|c| format!(", credential {c}")).unwrap_or_default(),
                o.audit_seq
            ),
            _ if o.partial => println!(
                "{}: first approval recorded (audit #{}); the issuer is asked when a second approver from another group approves",
                o.external_id, o.audit_seq
            ),
            _ => println!("{} {} at {} (audit #{})", o.external_id, o.status, o.issuer, o.audit_seq),
        },
    }
    Ok(())
}

async fn revoke(ctx: &Context, id: &str, reason: &str) -> Result<()> {
    let actions = ctx.actions().await?;
    let outcome = actions.revoke(id, reason).await?;
    match ctx.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&outcome)?),
        _ => println!("{}: {}", outcome.credential_id, outcome.message),
    }
    if outcome.status == crate::actions::RevokeStatus::Queued {
        return Err(eyre!("{} is queued for retry, not revoked yet", outcome.credential_id));
    }
    Ok(())
}

async fn revoke_owner(ctx: &Context, owner: &str, reason: &str, dry_run: bool) -> Result<()> {
    let actions = ctx.actions().await?;
    let (ptx, mut prx) = tokio::sync::mpsc::channel::<crate::actions::BulkProgress>(64);
    let show = ctx.format != Format::Json && !dry_run;
    let printer = tokio::spawn(async move {
        while let Some(p) = prx.recv().await {
            if show {
                eprintln!("[{}/{}] {}", p.done, p.total, p.last);
            }
        }
    });
    let report = actions.revoke_owner(owner, reason, dry_run, Some(ptx)).await?;
    let _ = printer.await;
    match ctx.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        f => {
            let verb = if dry_run { "would revoke" } else { "revoked" };
            let rows: Vec<Vec<String>> = report
                .plan
                .revocable()
                .map(|c| {
                    let done = report.revoked.iter().any(|o| o.credential_id == c.credential_id);
                    let queued = report.queued.iter().any(|o| o.credential_id == c.credential_id);
                    let outcome = if dry_run { verb.to_string() } else if done { "revoked".into() } else if queued { "queued (not yet revoked)".into() } else { "FAILED".into() };
                    vec![c.credential_id.clone(), c.issuer.clone(), c.external_id.clone(), c.relation.clone(), c.scopes.clone(), outcome]
                })
                .chain(report.plan.pending_grants.iter().map(|g| {
                    vec![g.id.clone(), g.issuer.clone(), g.external_id.clone(), "pending grant".into(), g.scopes.join(" "), if dry_run { "would deny".into() } else { "deny".into() }]
                }))
                .collect();
            print_rows(f, &["CREDENTIAL", "ISSUER", "ISSUER ID", "RELATION", "SCOPES", "OUTCOME"], &rows)?;
            eprintln!(
                "{}: {} credential(s) {verb}, {} pending grant(s){}",
                report.owner,
                report.plan.revocable().count(),
                report.plan.pending_grants.len(),
                if dry_run { " would be denied; run again without --dry-run and with --reason".to_string() } else { format!(" denied; {} queued, {} failed", report.queued.len(), report.failed.len()) }
            );
            for f in &report.failed {
                eprintln!("  failed {} at {}: {}", f.target, f.issuer, f.error);
            }
            if report.plan.truncated {
                eprintln!("  more than {} credentials: run it again for the rest", crate::store::BLAST_CAP);
            }
        }
    }
    if !report.failed.is_empty() || !report.queued.is_empty() {
        return Err(eyre!("{} failed and {} queued for retry: not everything is revoked yet", report.failed.len(), report.queued.len()));
    }
    Ok(())
}

async fn owners(ctx: &Context, status: Option<String>, after: Option<String>, limit: i64) -> Result<()> {
    if let Some(s) = &status {
        if !["active", "offboarded", "unknown"].contains(&s.as_str()) {
            return Err(eyre!("--status must be active, offboarded or unknown"));
        }
    }
    let store = ctx.store().await?;
    let rows = store.owners_page(status.as_deref(), after.as_deref(), limit.clamp(1, 100_000)).await?;
    match ctx.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        f => print_rows(
            f,
            &["OWNER", "NAME", "TEAM", "STATUS", "LEFT", "ACTIVE", "TOTAL"],
            &rows
                .iter()
                .map(|o| {
                    vec![
                        o.id.clone(),
                        o.name.clone().unwrap_or_default(),
                        o.team.clone().unwrap_or_default(),
                        o.status.clone(),
                        o.offboarded_at.clone().unwrap_or_default(),
                        o.active.to_string(),
                        o.total.to_string(),
                    ]
                })
                .collect::<Vec<_>>(),
        )?,
    }
    Ok(())
}

async fn owner(ctx: &Context, email: &str) -> Result<()> {
    let plan = ctx.actions().await?.owner_plan(email).await?;
    match ctx.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
        f => {
            let rows: Vec<Vec<String>> = plan
                .credentials
                .iter()
                .map(|c| vec![c.credential_id.clone(), c.issuer.clone(), c.kind.clone(), c.relation.clone(), c.via.clone().unwrap_or_default(), c.scopes.clone(), c.status.clone()])
                .collect();
            print_rows(f, &["CREDENTIAL", "ISSUER", "KIND", "RELATION", "VIA", "SCOPES", "STATUS"], &rows)?;
            eprintln!(
                "{} ({}): {} credential(s), {} active; {} pending grant(s)",
                plan.owner,
                plan.status.as_deref().unwrap_or("unknown to the directory"),
                plan.credentials.len(),
                plan.revocable().count(),
                plan.pending_grants.len()
            );
        }
    }
    Ok(())
}

async fn expiring(ctx: &Context, within: &str, limit: i64) -> Result<()> {
    let window = crate::filter::parse_duration(within).ok_or_else(|| eyre!("--within '{within}' is not a duration like 24h, 7d"))?;
    let now = chrono::Utc::now();
    let groups = ctx.store().await?.expiring_by_owner(now, now + window, limit).await?;
    match ctx.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&groups)?),
        f => print_rows(
            f,
            &["OWNER", "OWNER STATUS", "EXPIRING", "SOONEST", "WORKLOADS"],
            &groups.iter().map(|g| vec![g.owner.clone(), g.owner_status.clone(), g.credentials.to_string(), g.soonest.clone(), g.workloads.clone()]).collect::<Vec<_>>(),
        )?,
    }
    Ok(())
}

async fn history(ctx: &Context, scope: &str, at: &str, limit: i64) -> Result<()> {
    let when = crate::domain::parse_moment(at).ok_or_else(|| eyre!("--at '{at}' is not a date (2026-08-01) or RFC 3339 time"))?;
    let rows = ctx.store().await?.held_scope_at(scope, when, limit).await?;
    match ctx.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        f => print_rows(
            f,
            &["CREDENTIAL", "ISSUER", "ISSUER ID", "OWNER", "WORKLOAD", "SCOPES THEN", "ISSUED", "EXPIRES", "STATUS NOW"],
            &rows
                .iter()
                .map(|r| {
                    vec![
                        r.credential_id.clone(),
                        r.issuer.clone(),
                        r.external_id.clone(),
                        r.owner.clone(),
                        r.workload.clone(),
                        r.scopes.clone(),
                        r.issued_at.clone().unwrap_or_default(),
                        r.expires_at.clone().unwrap_or_else(|| "never".into()),
                        r.status_now.clone(),
                    ]
                })
                .collect::<Vec<_>>(),
        )?,
    }
    Ok(())
}

async fn review(ctx: &Context, command: ReviewCommand) -> Result<()> {
    let actions = ctx.actions().await?;
    match command {
        ReviewCommand::Start { name, filter } => {
            let c = actions.start_review(&name, filter.as_deref()).await?;
            match ctx.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&c)?),
                _ => println!("campaign {} started: {} item(s) from `{}`", c.name, c.items, c.filter.unwrap_or_default()),
            }
        }
        ReviewCommand::List => {
            let all = actions.store.campaigns().await?;
            match ctx.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&all)?),
                f => print_rows(
                    f,
                    &["CAMPAIGN", "FILTER", "STARTED", "BY", "DECIDED", "ITEMS"],
                    &all.iter()
                        .map(|c| vec![c.name.clone(), c.filter.clone().unwrap_or_default(), c.created_at.clone(), c.created_by.clone(), c.decided.to_string(), c.items.to_string()])
                        .collect::<Vec<_>>(),
                )?,
            }
        }
        ReviewCommand::Show { name, undecided } => {
            let c = actions.store.campaign(&name).await?;
            let mut evidence_items = actions.store.all_review_items(c.id).await?;
            evidence_items.retain(|i| !undecided || i.decision.is_none());
            match ctx.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&evidence_items)?),
                f => {
                    let s = |i: &crate::store::ReviewItem, k: &str| i.field(k).replace('\n', "; ");
                    let rows: Vec<Vec<String>> = evidence_items
                        .iter()
                        .map(|i| vec![i.id.to_string(), i.credential_id.clone(), s(i, "owner"), s(i, "owner_status"), s(i, "scopes"), s(i, "findings"), i.decision.clone().unwrap_or_default()])
                        .collect();
                    print_rows(f, &["ITEM", "CREDENTIAL", "OWNER", "OWNER STATUS", "SCOPES", "FINDINGS", "DECISION"], &rows)?;
                    eprintln!("{}: {} of {} decided", c.name, c.decided, c.items);
                }
            }
        }
        ReviewCommand::Decide { item, decision, reason, owner, ttl, scopes } => {
            use crate::actions::ReviewDecision;
            let d = match decision.as_str() {
                "keep" => ReviewDecision::Keep,
                "revoke" => ReviewDecision::Revoke,
                "reassign" => ReviewDecision::Reassign { owner: owner.ok_or_else(|| eyre!("reassign needs --owner EMAIL"))? },
                "shorten" => {
                    let t = ttl.ok_or_else(|| eyre!("shorten needs --ttl (e.g. 7d)"))?;
                    ReviewDecision::Shorten { ttl_seconds: crate::filter::parse_duration(&t).ok_or_else(|| eyre!("--ttl '{t}' is not a duration"))?.num_seconds() }
                }
                _ => ReviewDecision::Reduce { scopes: scopes.ok_or_else(|| eyre!("reduce needs --scopes a,b (those to keep)"))? },
            };
            let o = actions.decide_review(item, &d, &reason).await?;
            match ctx.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&o)?),
                _ => println!("item {}: {} {} ({}; audit #{})", o.item, o.decision, o.credential_id, o.issuer_answer.clone().unwrap_or_else(|| "recorded".into()), o.audit_seq),
            }
        }
        ReviewCommand::Export { name, output } => {
            let evidence = actions.review_evidence(&name).await?;
            let text = match ctx.format {
                Format::Json => serde_json::to_string_pretty(&evidence)?,
                Format::Md => evidence.to_markdown(),
                _ => evidence.to_csv(),
            };
            match output {
                Some(path) => {
                    std::fs::write(&path, text).wrap_err_with(|| format!("writing {}", path.display()))?;
                    eprintln!("wrote {} ({} items; audit head #{} {})", path.display(), evidence.items.len(), evidence.audit_head_seq, evidence.audit_head_hash);
                }
                None => print!("{text}"),
            }
        }
    }
    Ok(())
}

/// Reads the token from stdin; on a terminal without echo, so it never shows.
fn read_token() -> Result<String> {
    use std::io::{IsTerminal, Read};
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut buf = Vec::new();
        stdin.lock().take(crate::actions::MAX_TOKEN_BYTES as u64 + 1).read_to_end(&mut buf)?;
        return String::from_utf8(buf).map_err(|_| eyre!("the token on stdin is not UTF-8"));
    }
    eprint!("Paste the token, then Enter (it is not shown): ");
    crossterm::terminal::enable_raw_mode()?;
    let mut token = String::new();
    let result = loop {
        match crossterm::event::read() {
            Ok(crossterm::event::Event::Key(k)) if k.kind != crossterm::event::KeyEventKind::Release => match k.code {
                crossterm::event::KeyCode::Enter => break Ok(()),
                crossterm::event::KeyCode::Esc => break Err(eyre!("cancelled")),
                crossterm::event::KeyCode::Char('c') if k.modifiers.contains(crossterm::event::KeyModifiers::CONTROL) => {
                    break Err(eyre!("cancelled"));
                }
                crossterm::event::KeyCode::Backspace => {
                    token.pop();
                }
                crossterm::event::KeyCode::Char(c) if token.len() <= crate::actions::MAX_TOKEN_BYTES => token.push(c),
                _ => {}
            },
            Ok(crossterm::event::Event::Paste(p)) => token.push_str(&p),
            Ok(_) => {}
            Err(e) => break Err(e.into()),
        }
    };
    crossterm::terminal::disable_raw_mode()?;
    eprintln!();
    result.map(|()| token)
}

async fn triage(ctx: &Context, reason: Option<String>) -> Result<()> {
    let token = read_token()?;
    let actions = ctx.actions().await?;
    let report = actions.triage(&token, reason.as_deref()).await?;
    drop(token);
    if ctx.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let now = chrono::Utc::now();
    let mut out = std::io::stdout().lock();
    writeln!(out, "fingerprint  {}", report.fingerprint)?;
    match &report.credential {
        Some(c) => writeln!(
            out,
            "inventory    {} ({} at {}), {} {}, owner {} ({}), workload {}, scopes {}, {}",
            c.id,
            c.external_id,
            c.issuer,
            c.kind,
            c.status,
            c.owner.as_deref().unwrap_or("none"),
            report.owner_status.as_deref().unwrap_or("no owner"),
            c.workload.as_deref().unwrap_or("-"),
            c.scopes.join(" "),
            c.binding
        )?,
        None => writeln!(out, "inventory    not found: no synced credential has this fingerprint")?,
    }
    if report.introspections.is_empty() {
        writeln!(out, "oauth        no OAuth issuer is configured to introspect it")?;
    }
    for f in &report.introspections {
        match (&f.introspection, &f.error) {
            (Some(i), _) if i.active => writeln!(
                out,
                "{:<12} ACTIVE: client {}, subject {}, scopes {}, audience {}, expires {}",
                f.issuer,
                i.client_id.as_deref().unwrap_or("-"),
                i.subject.as_deref().unwrap_or("-"),
                if i.scopes.is_empty() { "-".into() } else { i.scopes.join(" ") },
                if i.audience.is_empty() { "-".into() } else { i.audience.join(" ") },
                i.expires_at.map(|t| crate::detail::relative(&t, now)).unwrap_or_else(|| "never".into())
            )?,
            (Some(_), _) => writeln!(out, "{:<12} inactive (unknown, expired or revoked there)", f.issuer)?,
            (None, Some(e)) => writeln!(out, "{:<12} could not introspect: {e}", f.issuer)?,
            (None, None) => {}
        }
    }
    if let Some(r) = &report.inventory_revocation {
        writeln!(out, "revoked      {} at {}: {}", r.credential_id, r.issuer, r.message)?;
    }
    for r in &report.revocations {
        let state = match (r.revoked, r.confirmed_inactive, &r.error) {
            (true, true, _) => "revoked, introspection now answers inactive".to_string(),
            (true, false, _) => "revocation accepted, but introspection still answers active".to_string(),
            (false, _, Some(e)) => format!("NOT revoked: {e}"),
            _ => "NOT revoked".to_string(),
        };
        writeln!(out, "revoked      {}: {state}", r.issuer)?;
    }
    writeln!(out, "audit        #{}", report.audit_seq)?;
    if reason.is_none() && report.is_live() {
        writeln!(out, "\nThis token is live. To revoke it everywhere: tokenward triage --revoke --reason \"...\" < token")?;
    }
    if report.revocations.iter().any(|r| !r.revoked || !r.confirmed_inactive) {
        return Err(eyre!("the token may still be live at an issuer: see above"));
    }
    Ok(())
}

async fn audit(ctx: &Context, command: AuditCommand) -> Result<()> {
    let store = ctx.store().await?;
    match command {
        AuditCommand::Verify => {
            let v = crate::audit::verify(&store).await?;
            match ctx.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&v)?),
                _ => match &v.first_bad {
                    None => println!("audit log intact: {} entries, head {}", v.entries, v.head_hash),
                    Some(b) => println!("audit log BROKEN at entry {}: {} ({} entries before it are intact)", b.seq, b.problem, v.entries),
                },
            }
            match v.first_bad {
                Some(b) => Err(eyre!("audit chain broken at entry {}: {}", b.seq, b.problem)),
                None => Ok(()),
            }
        }
        AuditCommand::Log { limit } => {
            let last = store.audit_entries(0, i64::MAX).await?;
            let start = last.len().saturating_sub(limit.max(0) as usize);
            let entries = &last[start..];
            match ctx.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(entries)?),
                f => {
                    let rows: Vec<Vec<String>> = entries
                        .iter()
                        .map(|e| vec![e.seq.to_string(), e.at.clone(), e.actor.clone(), e.action.clone(), e.target.clone(), e.detail.clone()])
                        .collect();
                    print_rows(f, &["SEQ", "AT", "ACTOR", "ACTION", "TARGET", "DETAIL"], &rows)?;
                }
            }
            Ok(())
        }
    }
}

fn csv_field(s: &str) -> String {
    let s = text::clean(s, 4096);
    if s.contains([',', '"', '\n']) || s.starts_with(['=', '+', '-', '@']) {
        // Quote, and defuse spreadsheet formulas.
        let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s };
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn print_rows(format: Format, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Csv => {
            writeln!(out, "{}", header.iter().map(|h| h.to_lowercase().replace(' ', "_")).collect::<Vec<_>>().join(","))?;
            for r in rows {
                writeln!(out, "{}", r.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","))?;
            }
        }
        _ => write_table(&mut out, header, rows)?,
    }
    Ok(())
}

fn write_table(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    use unicode_width::UnicodeWidthStr;
    let cells: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| text::clean(c, 120)).collect()).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for r in &cells {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.width());
        }
    }
    let line = |cols: Vec<&str>| {
        let mut s = String::new();
        for (i, (c, w)) in cols.iter().zip(&widths).enumerate() {
            s.push_str(c);
            if i + 1 < cols.len() {
                s.push_str(&" ".repeat(w - c.width() + 2));
            }
        }
        s
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for r in &cells {
        writeln!(out, "{}", line(r.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}
