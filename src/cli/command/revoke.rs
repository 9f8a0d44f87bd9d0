//! `tokenward revoke`: one credential, with --owner everything one person holds, or
//! with --filter every active credential a filter selects.
use clap::Args;
use color_eyre::eyre::{eyre, Result};

use crate::actions::RevokeStatus;
use crate::cli::output::{print_json, print_rows, say, tell};
use crate::cli::progress::bulk_progress;
use crate::context::{Context, Format};

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Local id, a unique prefix, the issuer's id or the fingerprint.
    #[arg(required_unless_present_any = ["owner", "filter"], conflicts_with_all = ["owner", "filter"])]
    pub id: Option<String>,
    /// Revoke everything this person holds at every issuer (offboarding), and deny their pending grants.
    #[arg(long, conflicts_with = "filter")]
    pub owner: Option<String>,
    /// Revoke every active credential this filter selects, e.g. 'task:ended status:active'
    /// (at most 1,000 at once; each is checked by policy and audited on its own).
    #[arg(long, short)]
    pub filter: Option<String>,
    /// With --owner or --filter: list exactly what would be revoked (and denied), change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Why: recorded in the audit log and sent to the issuer.
    #[arg(long, required_unless_present = "dry_run")]
    pub reason: Option<String>,
}

pub async fn run(ctx: &Context, args: RevokeArgs) -> Result<()> {
    let reason = args.reason.unwrap_or_default();
    match (args.id, args.owner, args.filter) {
        (Some(_), _, _) if args.dry_run => Err(eyre!("--dry-run goes with --owner or --filter; `tokenward show ID` says what one credential is")),
        (Some(id), _, _) => revoke_one(ctx, &id, &reason).await,
        (None, None, Some(filter)) => revoke_filter(ctx, &filter, &reason, args.dry_run).await,
        (None, owner, _) => revoke_owner(ctx, &owner.unwrap_or_default(), &reason, args.dry_run).await,
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
                let done = report.results.revoked.iter().any(|o| o.credential_id == c.credential_id);
                let queued = report.results.queued.iter().any(|o| o.credential_id == c.credential_id);
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
            if dry_run { " would be denied; run again without --dry-run and with --reason".to_string() } else { format!(" denied; {} queued, {} failed", report.results.queued.len(), report.results.failed.len()) }
        ));
        for f in &report.results.failed {
            tell(format_args!("  failed {} at {}: {}", f.target, f.issuer, f.error));
        }
        if report.plan.truncated {
            tell(format_args!("  more than {} credentials: run it again for the rest", crate::store::BLAST_CAP));
        }
    }
    incomplete(&report.results)
}

async fn revoke_filter(ctx: &Context, filter: &str, reason: &str, dry_run: bool) -> Result<()> {
    let actions = ctx.actions().await?;
    let (progress, printer) = bulk_progress(ctx.format != Format::Json && !dry_run);
    let report = actions.revoke_filter(filter, reason, dry_run, Some(progress)).await?;
    let _ = printer.await;
    if ctx.format == Format::Json {
        print_json(&report)?;
    } else {
        let r = &report.results;
        let rows: Vec<Vec<String>> = report
            .plan
            .credentials
            .iter()
            .map(|c| {
                let outcome = if dry_run {
                    "would revoke"
                } else if r.revoked.iter().any(|o| o.credential_id == c.credential_id) {
                    "revoked"
                } else if r.queued.iter().any(|o| o.credential_id == c.credential_id) {
                    "queued (not yet revoked)"
                } else {
                    "FAILED"
                };
                vec![c.credential_id.clone(), c.issuer.clone(), c.external_id.clone(), c.owner.clone(), c.workload.clone(), c.scopes.join(" "), outcome.to_string()]
            })
            .collect();
        print_rows(ctx.format, &["CREDENTIAL", "ISSUER", "ISSUER ID", "OWNER", "WORKLOAD", "SCOPES", "OUTCOME"], &rows)?;
        let p = &report.plan;
        if dry_run {
            tell(format_args!("'{}': {} credential(s) match, {} active would be revoked; run again without --dry-run and with --reason", p.filter, p.matched, p.active));
            if let Some(refusal) = p.refusal() {
                tell(format_args!("  refused as it stands: {refusal}"));
            }
        } else {
            tell(format_args!("'{}': {}", p.filter, r.summary()));
        }
        for f in &r.failed {
            tell(format_args!("  failed {} at {}: {}", f.target, f.issuer, f.error));
        }
    }
    incomplete(&report.results)
}

/// A bulk revoke that left anything queued or failed exits non-zero, saying so.
fn incomplete(r: &crate::actions::BulkResults) -> Result<()> {
    if !r.complete() {
        return Err(eyre!("{} failed and {} queued for retry: not everything is revoked yet", r.failed.len(), r.queued.len()));
    }
    Ok(())
}
