//! `tokenward expiring`: active credentials expiring within a window, grouped by owner.
use clap::Args;
use color_eyre::eyre::{eyre, Result};

use crate::cli::output::{print_json, print_rows};
use crate::context::{Context, Format};
use crate::domain::OwnerStatus;

#[derive(Debug, Args)]
pub struct ExpiringArgs {
    /// The window, e.g. 24h, 7d, 30d.
    #[arg(long, default_value = "7d")]
    pub within: String,
    #[arg(long, default_value_t = 1000)]
    pub limit: i64,
}

pub async fn run(ctx: &Context, args: ExpiringArgs) -> Result<()> {
    let within = &args.within;
    let window = crate::domain::parse_duration(within).ok_or_else(|| eyre!("--within '{within}' is not a duration like 24h, 7d"))?;
    let now = chrono::Utc::now();
    let groups = ctx.store().await?.expiring_by_owner(now, now + window, args.limit).await?;
    if ctx.format == Format::Json {
        return print_json(&groups);
    }
    let rows: Vec<Vec<String>> =
        groups.iter().map(|g| vec![g.owner.clone(), OwnerStatus::or_none(g.owner_status).into(), g.credentials.to_string(), g.soonest.clone(), g.workloads.clone()]).collect();
    print_rows(ctx.format, &["OWNER", "OWNER STATUS", "EXPIRING", "SOONEST", "WORKLOADS"], &rows)
}
