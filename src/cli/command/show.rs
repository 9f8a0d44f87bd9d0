//! `tokenward show ID`: one credential with its consent trail, chain, usage and findings.
use std::io::Write;

use clap::Args;
use color_eyre::eyre::Result;

use crate::cli::output::{self, print_json};
use crate::context::{Context, Format};

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Local id, a unique prefix of it, the issuer's id, or the sha256 fingerprint.
    pub id: String,
}

pub async fn run(ctx: &Context, args: ShowArgs) -> Result<()> {
    let store = ctx.store().await?;
    let detail = crate::detail::load(&store, &args.id).await?;
    if ctx.format == Format::Json {
        return print_json(&detail);
    }
    let mut out = output::stdout();
    for line in crate::detail::text_lines(&detail, chrono::Utc::now()) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}
