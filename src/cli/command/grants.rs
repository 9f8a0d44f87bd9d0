//! `tokenward grants`: the approval queue, with Cedar's verdict on each pending grant in JSON.
use clap::{Args, ValueEnum};
use color_eyre::eyre::{eyre, Result};

use crate::cli::output::{print_json, print_rows};
use crate::context::{Context, Format};
use crate::domain::GrantStatus;

#[derive(Debug, Args)]
pub struct GrantsArgs {
    /// pending, approved, denied or expired (default: all).
    #[arg(long, value_enum)]
    pub status: Option<GrantStatus>,
    /// newest or oldest first (default: `[grants] order` of the config, else newest).
    #[arg(long, value_enum)]
    pub order: Option<GrantOrder>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GrantOrder {
    Newest,
    Oldest,
}

pub async fn run(ctx: &Context, args: GrantsArgs) -> Result<()> {
    let newest = match args.order {
        Some(order) => order == GrantOrder::Newest,
        None => ctx.config.grants.newest_first().map_err(|e| eyre!(e))?,
    };
    let sla = ctx.config.grants.sla().map_err(|e| eyre!(e))?;
    let actions = ctx.actions().await?;
    let mut grants = actions.store.grants(args.status, 10_000).await?;
    if !newest {
        grants.reverse();
    }
    let now = chrono::Utc::now();
    if ctx.format == Format::Json {
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
        return print_json(&out);
    }
    let rows: Vec<Vec<String>> = grants
        .iter()
        .map(|g| {
            vec![
                g.external_id.clone(),
                g.issuer.clone(),
                g.workload.clone().unwrap_or_default(),
                g.requested_by.clone().unwrap_or_default(),
                g.scopes.join(" "),
                crate::domain::human_duration(chrono::Duration::seconds(g.ttl_seconds)),
                g.binding.to_string(),
                g.status.to_string(),
                g.intent.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print_rows(ctx.format, &["GRANT", "ISSUER", "WORKLOAD", "REQUESTED BY", "SCOPES", "TTL", "BINDING", "STATUS", "INTENT"], &rows)
}
