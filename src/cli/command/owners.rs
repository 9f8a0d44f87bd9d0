//! `tokenward owners`: people with their credential counts, in keyset pages by email.
use clap::Args;
use color_eyre::eyre::Result;

use crate::cli::output::{print_json, print_rows};
use crate::context::{Context, Format};
use crate::domain::OwnerStatus;

#[derive(Debug, Args)]
pub struct OwnersArgs {
    /// Only active, offboarded or unknown people.
    #[arg(long, value_enum)]
    pub status: Option<OwnerStatus>,
    /// Start after this email (keyset paging).
    #[arg(long)]
    pub after: Option<String>,
    #[arg(long, default_value_t = 200)]
    pub limit: i64,
}

pub async fn run(ctx: &Context, args: OwnersArgs) -> Result<()> {
    let store = ctx.store().await?;
    let rows = store.owners_page(args.status, args.after.as_deref(), args.limit.clamp(1, 100_000)).await?;
    if ctx.format == Format::Json {
        return print_json(&rows);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|o| {
            vec![
                o.id.clone(),
                o.name.clone().unwrap_or_default(),
                o.team.clone().unwrap_or_default(),
                o.status.to_string(),
                o.offboarded_at.clone().unwrap_or_default(),
                o.active.to_string(),
                o.total.to_string(),
            ]
        })
        .collect();
    print_rows(ctx.format, &["OWNER", "NAME", "TEAM", "STATUS", "LEFT", "ACTIVE", "TOTAL"], &table)
}
