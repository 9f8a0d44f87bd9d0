//! `tokenward review`: access review campaigns, their decisions and their evidence.
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use color_eyre::eyre::{eyre, Result, WrapErr};

use crate::actions::{Actions, ReviewDecision, ReviewEvidence};
use crate::cli::output::{csv_writer, md_cell, print_json, print_rows, say, tell, write_csv_row, write_private};
use crate::context::{Context, Format};
use crate::domain::{OwnerStatus, ReviewDecisionKind, ReviewItem};

#[derive(Debug, Args)]
pub struct ReviewArgs {
    #[command(subcommand)]
    pub command: ReviewCommand,
}

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Snapshot the credentials the filter matches (default: status:active) into a new campaign.
    Start {
        /// A unique name, e.g. q4-admin.
        name: String,
        /// Which credentials to review (the filter query of `credentials`).
        #[arg(long)]
        filter: Option<String>,
    },
    /// Campaigns with their progress.
    List,
    /// A campaign's items (with --undecided, only those left).
    Show {
        /// The campaign.
        name: String,
        /// Only the items nobody has decided yet.
        #[arg(long)]
        undecided: bool,
    },
    /// Decide one item: keep, revoke, reassign (--owner), shorten (--ttl), reduce (--scopes).
    Decide(DecideArgs),
    /// Write the evidence: every item, decision, decider, time, reason, issuer answer, and the audit head hash.
    Export {
        /// The campaign.
        name: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct DecideArgs {
    /// The item number (`review show NAME`).
    pub item: i64,
    /// What to do with the credential.
    #[arg(value_enum)]
    pub decision: ReviewDecisionKind,
    /// Why: recorded in the evidence and the audit log, and sent to the issuer.
    #[arg(long)]
    pub reason: String,
    /// reassign: the new owner's email.
    #[arg(long)]
    pub owner: Option<String>,
    /// shorten: the credential expires this long from now (e.g. 7d).
    #[arg(long)]
    pub ttl: Option<String>,
    /// reduce: the scopes to keep, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub scopes: Option<Vec<String>>,
}

impl DecideArgs {
    fn decision(&self) -> Result<ReviewDecision> {
        Ok(match self.decision {
            ReviewDecisionKind::Keep => ReviewDecision::Keep,
            ReviewDecisionKind::Revoke => ReviewDecision::Revoke,
            ReviewDecisionKind::Reassign => ReviewDecision::Reassign { owner: self.owner.clone().ok_or_else(|| eyre!("reassign needs --owner EMAIL"))? },
            ReviewDecisionKind::Shorten => {
                let t = self.ttl.as_deref().ok_or_else(|| eyre!("shorten needs --ttl (e.g. 7d)"))?;
                ReviewDecision::Shorten { ttl_seconds: crate::domain::parse_duration(t).ok_or_else(|| eyre!("--ttl '{t}' is not a duration"))?.num_seconds() }
            }
            ReviewDecisionKind::Reduce => ReviewDecision::Reduce { scopes: self.scopes.clone().ok_or_else(|| eyre!("reduce needs --scopes a,b (those to keep)"))? },
        })
    }
}

pub async fn run(ctx: &Context, args: ReviewArgs) -> Result<()> {
    let actions = ctx.actions().await?;
    match args.command {
        ReviewCommand::Start { name, filter } => {
            let c = actions.start_review(&name, filter.as_deref()).await?;
            match ctx.format {
                Format::Json => print_json(&c)?,
                Format::Table | Format::Csv | Format::Md => say(format_args!("campaign {} started: {} item(s) from `{}`", c.name, c.items, c.filter.unwrap_or_default()))?,
            }
        }
        ReviewCommand::List => list(ctx, &actions).await?,
        ReviewCommand::Show { name, undecided } => show(ctx, &actions, &name, undecided).await?,
        ReviewCommand::Decide(decide) => {
            let o = actions.decide_review(decide.item, &decide.decision()?, &decide.reason).await?;
            match ctx.format {
                Format::Json => print_json(&o)?,
                Format::Table | Format::Csv | Format::Md => {
                    say(format_args!("item {}: {} {} ({}; audit #{})", o.item, o.decision, o.credential_id, o.issuer_answer.clone().unwrap_or_else(|| "recorded".into()), o.audit_seq))?
                }
            }
        }
        ReviewCommand::Export { name, output } => export(ctx, &actions, &name, output).await?,
    }
    Ok(())
}

async fn list(ctx: &Context, actions: &Actions) -> Result<()> {
    let all = actions.store.campaigns().await?;
    if ctx.format == Format::Json {
        return print_json(&all);
    }
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|c| vec![c.name.clone(), c.filter.clone().unwrap_or_default(), c.created_at.clone(), c.created_by.clone(), c.decided.to_string(), c.items.to_string()])
        .collect();
    print_rows(ctx.format, &["CAMPAIGN", "FILTER", "STARTED", "BY", "DECIDED", "ITEMS"], &rows)
}

async fn show(ctx: &Context, actions: &Actions, name: &str, undecided: bool) -> Result<()> {
    let c = actions.store.campaign(name).await?;
    let mut items = actions.store.all_review_items(c.id).await?;
    items.retain(|i| !undecided || i.decision.is_none());
    if ctx.format == Format::Json {
        return print_json(&items);
    }
    let row = |i: &ReviewItem| {
        let snap = &i.snapshot;
        vec![
            i.id.to_string(),
            i.credential_id.clone(),
            snap.owner.clone(),
            OwnerStatus::or_none(snap.owner_status).into(),
            snap.scopes.join(" "),
            snap.findings.as_deref().unwrap_or("").replace('\n', "; "),
            i.decision.map_or("", ReviewDecisionKind::as_str).into(),
        ]
    };
    let rows: Vec<Vec<String>> = items.iter().map(row).collect();
    print_rows(ctx.format, &["ITEM", "CREDENTIAL", "OWNER", "OWNER STATUS", "SCOPES", "FINDINGS", "DECISION"], &rows)?;
    tell(format_args!("{}: {} of {} decided", c.name, c.decided, c.items));
    Ok(())
}

async fn export(ctx: &Context, actions: &Actions, name: &str, output: Option<PathBuf>) -> Result<()> {
    let evidence = actions.review_evidence(name).await?;
    let text = match ctx.format {
        Format::Json => serde_json::to_string_pretty(&evidence)?,
        Format::Md => evidence_markdown(&evidence),
        Format::Table | Format::Csv => evidence_csv(&evidence)?,
    };
    match output {
        Some(path) => {
            write_private(&path, &text).wrap_err_with(|| format!("writing {}", path.display()))?;
            tell(format_args!("wrote {} ({} items; audit head #{} {})", path.display(), evidence.items.len(), evidence.audit_head_seq, evidence.audit_head_hash));
        }
        None => {
            // Evidence JSON to a file or a pipe stays byte-exact: its hashes are checked later.
            let mut out = if ctx.format == Format::Json { crate::cli::output::stdout_json() } else { crate::cli::output::stdout() };
            write!(out, "{text}")?;
        }
    }
    Ok(())
}

/// The evidence as CSV: a comment line with the campaign and the audit head, then
/// the records through the one defusing CSV writer every listing uses.
fn evidence_csv(e: &ReviewEvidence) -> Result<String> {
    let mut out = format!(
        "# campaign {} ({} of {} decided); exported {} by {}; audit head seq {} hash {}\n",
        e.campaign.name, e.campaign.decided, e.campaign.items, e.exported_at, e.exported_by, e.audit_head_seq, e.audit_head_hash
    )
    .into_bytes();
    let mut csv = csv_writer(&mut out, &ReviewEvidence::COLUMNS)?;
    for i in &e.items {
        write_csv_row(&mut csv, &ReviewEvidence::row(i))?;
    }
    csv.flush()?;
    drop(csv);
    Ok(String::from_utf8(out)?)
}

/// The evidence as Markdown: every value escaped, so no field can add markup or cells.
fn evidence_markdown(e: &ReviewEvidence) -> String {
    let c = &e.campaign;
    let mut out = format!(
        "# Access review: {}\n\n- filter: {}\n- started {} by {}\n- decided: {} of {}\n- exported {} by {}\n- audit log head: seq {}, hash `{}` (check with `tokenward audit verify`)\n\n",
        md_cell(&c.name),
        md_cell(c.filter.as_deref().unwrap_or_default()),
        md_cell(&c.created_at),
        md_cell(&c.created_by),
        c.decided,
        c.items,
        md_cell(&e.exported_at),
        md_cell(&e.exported_by),
        e.audit_head_seq,
        md_cell(&e.audit_head_hash)
    );
    out.push_str(&format!("| {} |\n|{}\n", ReviewEvidence::COLUMNS.join(" | "), "---|".repeat(ReviewEvidence::COLUMNS.len())));
    for i in &e.items {
        out.push_str(&format!("| {} |\n", ReviewEvidence::row(i).iter().map(|v| md_cell(v)).collect::<Vec<_>>().join(" | ")));
    }
    out
}
