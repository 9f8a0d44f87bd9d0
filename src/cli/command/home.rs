//! `tokenward home`: what needs attention now, the figures of the `:home` view.
use color_eyre::eyre::Result;

use crate::cli::output::{print_json, say};
use crate::context::{Context, Format};
use crate::domain::relative;

pub async fn run(ctx: &Context) -> Result<()> {
    let store = ctx.store().await?;
    let now = chrono::Utc::now();
    let sla = ctx.config.grants.sla().unwrap_or(chrono::Duration::minutes(15));
    let home = crate::home::load(&store, now, sla).await?;
    if ctx.format == Format::Json {
        return print_json(&home);
    }
    let ago = |t: &Option<String>| t.as_deref().and_then(crate::domain::parse_ts).map_or_else(|| "never".to_string(), |t| relative(&t, now));
    let g = &home.grants;
    say(format_args!("grants waiting      {} ({} past the {}m SLA; oldest requested {})", g.pending, g.past_sla, g.sla_minutes, ago(&g.oldest_requested_at)))?;
    let f = &home.findings;
    say(format_args!("open findings       {} high, {} medium, {} low", f.high, f.medium, f.low))?;
    if !f.new_in_last_run.is_empty() {
        let grew: Vec<String> = f.new_in_last_run.iter().map(|p| format!("{} +{}", p.name, p.count)).collect();
        say(format_args!("  new in the last recompute ({}): {}", ago(&f.last_run), grew.join(", ")))?;
    }
    say(format_args!("expiring            {} within 24h, {} within 7d", home.expiring.within_24h, home.expiring.within_7d))?;
    for i in &home.issuers {
        say(format_args!("issuer {:<12} {} credentials, last sync {} ({}){}", i.name, i.credentials, ago(&i.last_sync), i.status, i.error.as_ref().map(|e| format!(": {e}")).unwrap_or_default()))?;
    }
    say(format_args!("revocations queued  {} (retried with every sync)", home.outbox))?;
    for (title, list) in [("owners", &home.owners), ("workloads", &home.workloads)] {
        say(format_args!("where to start: {title} with the most high-severity findings on active credentials"))?;
        for p in list {
            say(format_args!("  {:>7}  {}", p.count, p.name))?;
        }
    }
    Ok(())
}
