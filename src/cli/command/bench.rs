//! `tokenward bench`: the figures of the performance goals.
use std::path::PathBuf;

use clap::Args;
use color_eyre::eyre::Result;

use crate::context::{Context, Format};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Credentials to generate.
    #[arg(long, default_value_t = 100_000)]
    pub credentials: u64,
    /// Keep the benchmark's SQLite database here instead of a temporary file.
    #[arg(long)]
    pub keep: Option<PathBuf>,
}

/// On a SQLite inventory the benchmark uses a fresh file of its own; with
/// `--db postgres://…` it measures PostgreSQL, in that (empty) database.
pub async fn run(ctx: &Context, args: BenchArgs) -> Result<()> {
    let target = if ctx.is_postgres() {
        if args.keep.is_some() {
            return Err(color_eyre::eyre::eyre!("--keep names a SQLite file; on PostgreSQL the benchmark's rows stay in the database --db names"));
        }
        crate::bench::Target::Postgres(ctx.db_path.to_string_lossy().into_owned())
    } else {
        crate::bench::Target::Sqlite(args.keep)
    };
    crate::bench::run(args.credentials, target, ctx.format == Format::Json).await
}
