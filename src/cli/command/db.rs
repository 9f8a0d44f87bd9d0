//! `tokenward db`: a shared PostgreSQL inventory's schema and roles, run by a
//! login that owns the schema (the others never change it).
use clap::{Args, Subcommand};
use color_eyre::eyre::{eyre, Result, WrapErr};

use crate::cli::output::{print_json, say};
use crate::context::{Context, Format};
use crate::store::postgres::roles::ROLES;
use crate::store::postgres::{known_version, PgStore};

#[derive(Debug, Args)]
pub struct DbArgs {
    #[command(subcommand)]
    pub command: DbCommand,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Bring a PostgreSQL inventory's schema to this tokenward's version (a SQLite
    /// file migrates itself when opened). Refuses a schema newer than the binary.
    Migrate,
    /// Create the group roles tokenward_viewer, _reviewer, _approver, _admin and
    /// _sync with the privileges that enforce, in the database, what each may do;
    /// then `GRANT tokenward_approver TO alice` for each login. Safe to run again.
    InitRoles,
}

pub async fn run(ctx: &Context, args: DbArgs) -> Result<()> {
    let url = ctx.db_path.to_string_lossy().to_string();
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(eyre!("`tokenward db` manages a PostgreSQL inventory (db = \"postgres://...\" in the config, or --db); {} is a SQLite file, which migrates itself when opened", ctx.db_path.display()));
    }
    // Opening migrates (or says who must); the version is what it left.
    let store = PgStore::open(&url, ctx.config.audit.key_file.as_deref()).await.wrap_err("opening the PostgreSQL inventory")?;
    match args.command {
        DbCommand::Migrate => {
            let version = store.schema_version().await?.unwrap_or(0);
            if ctx.format == Format::Json {
                print_json(&serde_json::json!({"database": store.location(), "schema_version": version, "known_version": known_version()}))?;
            } else {
                say(format_args!("{}: schema version {version} (this tokenward knows {})", store.location(), known_version()))?;
            }
        }
        DbCommand::InitRoles => {
            let ran = store.init_roles().await.wrap_err("creating the roles (run this as a login that owns the schema)")?;
            if ctx.format == Format::Json {
                print_json(&serde_json::json!({"database": store.location(), "roles": ROLES, "statements": ran}))?;
            } else {
                for statement in &ran {
                    say(format_args!("{statement};"))?;
                }
                say(format_args!("roles ready: {}. Grant one to each login, e.g. GRANT tokenward_approver TO alice;", ROLES.join(", ")))?;
            }
        }
    }
    store.close().await;
    Ok(())
}
