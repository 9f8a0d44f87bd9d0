//! `tokenward owner EMAIL`: one person's blast radius.
use clap::Args;
use color_eyre::eyre::Result;

use crate::cli::output::{print_json, print_rows, tell};
use crate::context::{Context, Format};
use crate::domain::OwnerStatus;

#[derive(Debug, Args)]
pub struct OwnerArgs {
    /// The person's email, as the directory or the issuers know it.
    pub email: String,
}

pub async fn run(ctx: &Context, args: OwnerArgs) -> Result<()> {
    let plan = ctx.actions().await?.owner_plan(&args.email).await?;
    if ctx.format == Format::Json {
        return print_json(&plan);
    }
    let rows: Vec<Vec<String>> = plan
        .credentials
        .iter()
        .map(|c| vec![c.credential_id.clone(), c.issuer.clone(), c.kind.to_string(), c.relation.to_string(), c.via.clone().unwrap_or_default(), c.scopes.join(" "), c.status.to_string()])
        .collect();
    print_rows(ctx.format, &["CREDENTIAL", "ISSUER", "KIND", "RELATION", "VIA", "SCOPES", "STATUS"], &rows)?;
    tell(format_args!(
        "{} ({}): {} credential(s), {} active; {} pending grant(s)",
        plan.owner,
        plan.status.map_or("unknown to the directory", OwnerStatus::as_str),
        plan.credentials.len(),
        plan.revocable().count(),
        plan.pending_grants.len()
    ));
    Ok(())
}
