//! `tokenward approve` and `deny`: decide a pending grant, at the issuer first, then in the record.
use clap::Args;
use color_eyre::eyre::{eyre, Result};

use crate::actions::{ApproveInput, GrantOutcome};
use crate::cli::output::{print_json, say};
use crate::context::{Context, Format};
use crate::domain::{Binding, GrantStatus};

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The grant: its issuer id (e.g. grant-0007) or local id.
    pub id: String,
    /// Why this access is right for the task: recorded and sent to the issuer.
    #[arg(long)]
    pub justification: String,
    /// Grant only these of the scopes asked (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub scopes: Option<Vec<String>>,
    /// A shorter TTL than asked, e.g. 30m, 2h, 1d.
    #[arg(long)]
    pub ttl: Option<String>,
    /// Require a sender-constrained token: dpop or mtls.
    #[arg(long, value_enum)]
    pub binding: Option<Binding>,
}

#[derive(Debug, Args)]
pub struct DenyArgs {
    pub id: String,
    #[arg(long)]
    pub reason: String,
}

pub async fn approve(ctx: &Context, args: ApproveArgs) -> Result<()> {
    let ttl_seconds = match args.ttl {
        Some(t) => Some(crate::domain::parse_duration(&t).ok_or_else(|| eyre!("--ttl '{t}' is not a duration like 30m, 2h, 1d"))?.num_seconds()),
        None => None,
    };
    let input = ApproveInput { grant: args.id, scopes: args.scopes, ttl_seconds, binding: args.binding, justification: args.justification };
    let outcome = ctx.actions().await?.approve(&input).await?;
    print_outcome(ctx, &outcome)
}

pub async fn deny(ctx: &Context, args: DenyArgs) -> Result<()> {
    let outcome = ctx.actions().await?.deny(&args.id, &args.reason).await?;
    print_outcome(ctx, &outcome)
}

fn print_outcome(ctx: &Context, o: &GrantOutcome) -> Result<()> {
    if ctx.format == Format::Json {
        return print_json(o);
    }
    match o.status {
        GrantStatus::Approved => say(format_args!(
            "{} approved at {}: {} for {}, {}{} (audit #{})",
            o.external_id,
            o.issuer,
            o.scopes.join(" "),
            crate::domain::human_duration(chrono::Duration::seconds(o.ttl_seconds)),
            o.binding,
            o.credential_id.as_ref().map(|c| format!(", credential {c}")).unwrap_or_default(),
            o.audit_seq
        ))?,
        _ if o.partial => say(format_args!(
            "{}: first approval recorded (audit #{}); the issuer is asked when a second approver from another group approves",
            o.external_id, o.audit_seq
        ))?,
        _ => say(format_args!("{} {} at {} (audit #{})", o.external_id, o.status, o.issuer, o.audit_seq))?,
    }
    Ok(())
}
