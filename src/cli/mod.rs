//! The command line: clap commands over the same actions, store and sync the TUI
//! uses. This file holds the global options and the dispatch; each subcommand
//! lives in `command/` with its own arguments and `run`.
use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use color_eyre::eyre::Result;

use crate::context::{Context, Format, Overrides};

pub mod command;
pub mod output;
pub mod progress;
mod values;

use command::{
    audit, bench, completions, config, credentials, db, decide, demo, expiring, findings, grants, history, home, issuer, issuers, man, owner, owners, policy,
    review, revoke, scan, show, sync, triage,
};

#[derive(Debug, Parser)]
#[command(name = "tokenward", version, about = "Govern the credentials AI agents use: inventory, triage, revoke, review.")]
#[command(long_about = "tokenward syncs every agent credential from your issuers into a local SQLite inventory and lets \
you browse, triage and revoke them. With no command it opens the terminal UI on the configured inventory.")]
pub struct Cli {
    /// Inventory database (default: tokenward.db in the platform data dir). The demo
    /// ignores TOKENWARD_DB and uses its own file unless --db is given.
    #[arg(long, global = true, env = "TOKENWARD_DB")]
    pub db: Option<PathBuf>,
    /// Whether `--db` was on the command line rather than from TOKENWARD_DB (set by `parse_args`).
    #[arg(skip)]
    pub db_on_command_line: bool,
    /// Configuration file (default: tokenward/tokenward.toml in the platform config dir).
    #[arg(long, global = true, env = "TOKENWARD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Who is acting: with [operators], only an identity mapped to your OS account (default: that identity, else the account name).
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
    /// The view the console opens on: home (the default), credentials, grants, findings,
    /// expiring, owners, review, issuers, deployments; overrides `[tui] start`.
    #[arg(long, global = true, env = "TOKENWARD_VIEW", value_name = "VIEW")]
    pub view: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// `Cli::parse`, noting where `--db` came from: the demo takes only a named file.
    pub fn parse_args() -> Cli {
        let mut matches = Cli::command().get_matches();
        let on_command_line = matches.value_source("db") == Some(clap::parser::ValueSource::CommandLine);
        match Cli::from_arg_matches_mut(&mut matches) {
            Ok(cli) => Cli { db_on_command_line: on_command_line, ..cli },
            Err(e) => e.format(&mut Cli::command()).exit(),
        }
    }

    /// The global options a context is resolved from.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            db: self.db.clone(),
            config: self.config.clone(),
            operator: self.operator.clone(),
            read_only: self.read_only,
            theme: self.theme.clone(),
            view: self.view.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build a synthetic organisation through the normal sync path, then open the TUI.
    Demo(demo::DemoArgs),
    /// Run a reference issuer speaking inventory protocol v1.
    Issuer(issuer::IssuerArgs),
    /// Sync every configured issuer (or one); exits non-zero if any failed.
    Sync(sync::SyncArgs),
    /// What needs attention now: grants waiting, findings by severity, what expires,
    /// issuers, queued revocations, and where to start (the `:home` view's figures).
    Home,
    /// List the configured issuers with their last sync.
    Issuers,
    /// The approval policies (Cedar).
    Policy(policy::PolicyArgs),
    /// The configuration file.
    Config(config::ConfigArgs),
    /// List credentials, in pages, by a filter query (see `tokenward help filter`).
    Credentials(credentials::CredentialsArgs),
    /// One credential: fields, consent trail, delegation chain, usage, findings.
    Show(show::ShowArgs),
    /// The approval queue of task grants.
    Grants(grants::GrantsArgs),
    /// Approve a pending grant, perhaps narrower and shorter; the issuer first, then the record.
    Approve(decide::ApproveArgs),
    /// Deny a pending grant with a reason.
    Deny(decide::DenyArgs),
    /// Revoke a credential at its issuer, then record it; or, with --owner, everything one person holds; or, with --filter, every active credential a filter selects.
    Revoke(revoke::RevokeArgs),
    /// People from the directory and the issuers, with their credential counts.
    Owners(owners::OwnersArgs),
    /// One person's blast radius: credentials owned, delegated from theirs, grants they asked for.
    Owner(owner::OwnerArgs),
    /// Active credentials expiring within a window, grouped by owner (tell them before automation breaks).
    Expiring(expiring::ExpiringArgs),
    /// Access review campaigns and their evidence.
    Review(review::ReviewArgs),
    /// Which credentials held a scope at a past date (from sync snapshots and consent events).
    History(history::HistoryArgs),
    /// Where credentials are deployed: read agent configurations (MCP, dotenv, AWS
    /// credentials) and record each secret found by its fingerprint, never its value.
    Scan(scan::ScanArgs),
    /// Triage a leaked token read from standard input (never from the command
    /// line): fingerprint, find, introspect at the OAuth issuers, and revoke.
    Triage(triage::TriageArgs),
    /// Open findings: offboarded owners, stale and long-lived credentials, forwarding, use after the task, ...
    Findings(findings::FindingsArgs),
    /// The audit trail.
    Audit(audit::AuditArgs),
    /// A shared PostgreSQL inventory: migrate its schema, create its roles.
    Db(db::DbArgs),
    /// Measure the performance goals (ingest, paging, filters, frame render).
    Bench(bench::BenchArgs),
    /// Print shell completions.
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff).
    Man,
}

pub async fn run(cli: Cli) -> Result<()> {
    let overrides = cli.overrides();
    let command = match cli.command {
        // `config check` must report a broken file, not fail to load it.
        Some(Command::Config(args)) => return config::run(cli.config.as_deref(), args, cli.format),
        other => other,
    };
    let ctx = Context::resolve(&overrides, cli.format)?;
    let Some(command) = command else {
        let store = ctx.store().await?;
        let actions = ctx.actions().await?;
        return crate::tui::run(crate::tui::Session::new(&ctx.tui_settings(), store, actions, Vec::new())).await;
    };
    // Every action says so on stderr (its stdout may be JSON) while identities are unproven.
    if let (Some(w), Command::Approve(_) | Command::Deny(_) | Command::Revoke(_) | Command::Review(_) | Command::Triage(_)) = (ctx.identity_warning(), &command) {
        output::tell(format_args!("{w}"));
    }
    match command {
        Command::Demo(args) => demo::run(&ctx, args, overrides.db.filter(|_| cli.db_on_command_line)).await,
        Command::Issuer(args) => issuer::run(args).await,
        Command::Sync(args) => sync::run(&ctx, args).await,
        Command::Home => home::run(&ctx).await,
        Command::Issuers => issuers::run(&ctx).await,
        // Handled before the context is built, so a broken file can be checked.
        Command::Config(_) => Ok(()),
        Command::Policy(args) => policy::run(&ctx, args),
        Command::Credentials(args) => credentials::run(&ctx, args).await,
        Command::Show(args) => show::run(&ctx, args).await,
        Command::Grants(args) => grants::run(&ctx, args).await,
        Command::Approve(args) => decide::approve(&ctx, args).await,
        Command::Deny(args) => decide::deny(&ctx, args).await,
        Command::Revoke(args) => revoke::run(&ctx, args).await,
        Command::Owners(args) => owners::run(&ctx, args).await,
        Command::Owner(args) => owner::run(&ctx, args).await,
        Command::Expiring(args) => expiring::run(&ctx, args).await,
        Command::Review(args) => review::run(&ctx, args).await,
        Command::History(args) => history::run(&ctx, args).await,
        Command::Scan(args) => scan::run(&ctx, args).await,
        Command::Triage(args) => triage::run(&ctx, args).await,
        Command::Findings(args) => findings::run(&ctx, args).await,
        Command::Audit(args) => audit::run(&ctx, args).await,
        Command::Db(args) => db::run(&ctx, args).await,
        Command::Bench(args) => bench::run(&ctx, args).await,
        Command::Completions(args) => completions::run(args, Cli::command()),
        Command::Man => man::run(Cli::command()),
    }
}
