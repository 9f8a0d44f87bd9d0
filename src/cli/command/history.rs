//! `tokenward history`: which credentials held a scope at a past moment.
use clap::Args;
use color_eyre::eyre::{eyre, Result};

use crate::cli::output::{print_json, print_rows};
use crate::context::{Context, Format};

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The scope, e.g. admin:org.
    #[arg(long)]
    pub scope: String,
    /// A date (2026-08-01, midnight UTC) or an RFC 3339 time.
    #[arg(long)]
    pub at: String,
    #[arg(long, default_value_t = 10_000)]
    pub limit: i64,
}

pub async fn run(ctx: &Context, args: HistoryArgs) -> Result<()> {
    let at = &args.at;
    let when = crate::domain::parse_moment(at).ok_or_else(|| eyre!("--at '{at}' is not a date (2026-08-01) or RFC 3339 time"))?;
    let rows = ctx.store().await?.held_scope_at(&args.scope, when, args.limit).await?;
    if ctx.format == Format::Json {
        return print_json(&rows);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.credential_id.clone(),
                r.issuer.clone(),
                r.external_id.clone(),
                r.owner.clone(),
                r.workload.clone(),
                r.scopes.join(" "),
                r.issued_at.clone().unwrap_or_default(),
                r.expires_at.clone().unwrap_or_else(|| "never".into()),
                r.status_now.to_string(),
            ]
        })
        .collect();
    print_rows(ctx.format, &["CREDENTIAL", "ISSUER", "ISSUER ID", "OWNER", "WORKLOAD", "SCOPES THEN", "ISSUED", "EXPIRES", "STATUS NOW"], &table)
}
