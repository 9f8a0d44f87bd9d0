//! `tokenward revoke`: one credential, or with --owner everything one person holds.
use clap::Args;
use color_eyre::eyre::{eyre, Result};

use crate::actions::RevokeStatus;
use crate::cli::output::{print_json, print_rows, say, tell};
use crate::cli::progress::bulk_progress;
use crate::context::{Context, Format};

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Local id, a unique prefix, the issuer's id or the fingerprint.
    #[arg(required_unless_present = "owner", conflicts_with = "owner")]
    pub id: Option<String>,
    /// Revoke everything this person holds at every issuer (offboarding), and deny their pending grants.
    #[arg(long)]
    pub owner: Option<String>,
    /// With --owner: list exactly what would be revoked and denied, change nothing.
    #[arg(long, requires = "owner")]
    pub dry_run: bool,
    /// Why: recorded in the audit log and sent to the issuer.
    #[arg(long, required_unless_present = "dry_run")]
    pub reason: Option<String>,
}

pub async fn run(ctx: &Context, args: RevokeArgs) -> Result<()> {
    let reason = args.reason.unwrap_or_default();
    match (args.id, args.owner) {
        (Some(id), _) => revoke_one(ctx, &id, &reason).await,
        (None, owner) => revoke_owner(ctx, &owner.unwrap_or_default(), &reason, args.dry_run).await,
    }
}

async fn revoke_one(ctx: &Context, id: &str, reason: &str) -> Result<()> {
    let outcome = ctx.actions().await?.revoke(id, reason).await?;
    match ctx.format {
        Format::Json => print_json(&outcome)?,
        Format::Table | Format::Csv | Format::Md => say(format_args!("{}: {}", outcome.credential_id, outcome.message))?,
    }
    if outcome.status == RevokeStatus::Queued {
        return Err(eyre!("{} is queued for retry, not revoked yet", outcome.credential_id));
    }
    Ok(())
}

async fn revoke_owner(ctx: &Context, owner: &str, reason: &str, dry_run: bool) -> Result<()> {
    let actions = ctx.actions().await?;
    let (progress, printer) = bulk_progress(ctx.format != Format::Json && !dry_run);
    let report = actions.revoke_owner(owner, reason, dry_run, Some(progress)).await?;
    let _ = printer.await;
    if ctx.format == Format::Json {
        print_json(&report)?;
    } else {
        let verb = if dry_run { "would revoke" } else { "revoked" };
        let rows: Vec<Vec<String>> = report
            .plan
            .revocable()
            .map(|c| {
                let done = report.revoked.iter().any(|o| o.credential_id == c.credential_id);
                let queued = report.queued.iter().any(|o| o.credential_id == c.credential_id);
                let outcome = if dry_run { verb.to_string() } else if done { "revoked".into() } else if queued { "queued (not yet revoked)".into() } else { "FAILED".into() };
                vec![c.credential_id.clone(), c.issuer.clone(), c.external_id.clone(), c.relation.to_string(), c.scopes.join(" "), outcome]
            })
            .chain(report.plan.pending_grants.iter().map(|g| {
                vec![g.id.clone(), g.issuer.clone(), g.external_id.clone(), "pending grant".into(), g.scopes.join(" "), if dry_run { "would deny".into() } else { "deny".into() }]
            }))
            .collect();
        print_rows(ctx.format, &["CREDENTIAL", "ISSUER", "ISSUER ID", "RELATION", "SCOPES", "OUTCOME"], &rows)?;
        tell(format_args!(
            "{}: {} credential(s) {verb}, {} pending grant(s){}",
            report.owner,
            report.plan.revocable().count(),
            report.plan.pending_grants.len(),
            if dry_run { " would be denied; run again without --dry-run and with --reason".to_string() } else { format!(" denied; {} queued, {} failed", report.queued.len(), report.failed.len()) }
        ));
        for f in &report.failed {
            tell(format_args!("  failed {} at {}: {}", f.target, f.issuer, f.error));
        }
        if report.plan.truncated {
            tell(format_args!("  more than {} credentials: run it again for the rest", crate::store::BLAST_CAP));
        }
    }
    if !report.failed.is_empty() || !report.queued.is_empty() {
        return Err(eyre!("{} failed and {} queued for retry: not everything is revoked yet", report.failed.len(), report.queued.len()));
    }
    Ok(())
}
