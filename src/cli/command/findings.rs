//! `tokenward findings`: open findings, their counts, or the rules themselves.
use clap::Args;
use color_eyre::eyre::{eyre, Result};

use crate::cli::output::{print_json, print_rows};
use crate::cli::progress::recompute_findings;
use crate::context::{Context, Format};
use crate::findings::RULES;
use crate::store::Store;

#[derive(Debug, Args)]
pub struct FindingsArgs {
    /// Only this rule (e.g. owner-offboarded; `--rules` lists them).
    #[arg(long)]
    pub rule: Option<String>,
    /// Recompute every rule over the inventory first (also done after each sync).
    #[arg(long)]
    pub refresh: bool,
    /// Counts by rule and severity instead of the findings.
    #[arg(long)]
    pub summary: bool,
    /// List the rules: what each fires on, its severity and framework controls.
    #[arg(long)]
    pub rules: bool,
    /// At most this many findings (most severe first).
    #[arg(long, default_value_t = 1000)]
    pub limit: i64,
}

pub async fn run(ctx: &Context, args: FindingsArgs) -> Result<()> {
    if args.rules {
        return list_rules(ctx.format);
    }
    if let Some(r) = &args.rule
        && crate::findings::rule(r).is_none()
    {
        let known: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        return Err(eyre!("unknown rule '{r}' (rules: {})", known.join(", ")));
    }
    let store = ctx.store().await?;
    if args.refresh || store.last_findings_run().await?.is_none() {
        recompute_findings(ctx, &store).await?;
    }
    if args.summary {
        return summary(ctx, &store, args.rule.as_deref()).await;
    }
    let limit = if args.limit <= 0 { i64::MAX } else { args.limit };
    let rows = store.open_findings(args.rule.as_deref(), limit).await?;
    if ctx.format == Format::Json {
        return print_json(&rows);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.rule.clone(),
                r.severity.to_string(),
                r.credential_id.clone(),
                r.external_id.clone(),
                r.owner.clone().unwrap_or_default(),
                r.summary.clone(),
                r.frameworks.join("; "),
                r.first_seen.clone(),
            ]
        })
        .collect();
    print_rows(ctx.format, &["RULE", "SEVERITY", "CREDENTIAL", "ISSUER ID", "OWNER", "SUMMARY", "FRAMEWORKS", "FIRST SEEN"], &table)
}

fn list_rules(format: Format) -> Result<()> {
    if format == Format::Json {
        return print_json(RULES);
    }
    let rows: Vec<Vec<String>> = RULES.iter().map(|r| vec![r.id.into(), r.severity.to_string(), r.fires_when.into(), r.frameworks.join("; ")]).collect();
    print_rows(format, &["RULE", "SEVERITY", "FIRES WHEN", "FRAMEWORKS"], &rows)
}

async fn summary(ctx: &Context, store: &Store, rule: Option<&str>) -> Result<()> {
    let mut counts = store.finding_counts().await?;
    counts.retain(|c| rule.is_none_or(|r| r == c.rule));
    counts.sort_by(|a, b| a.severity.cmp(&b.severity).then(b.open.cmp(&a.open)));
    if ctx.format == Format::Json {
        return print_json(&counts);
    }
    print_rows(ctx.format, &["RULE", "SEVERITY", "OPEN"], &counts.iter().map(|c| vec![c.rule.clone(), c.severity.to_string(), c.open.to_string()]).collect::<Vec<_>>())
}
