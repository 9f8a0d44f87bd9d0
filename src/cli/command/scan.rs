//! `tokenward scan PATH...`: where agent credentials are deployed in plain text.
use std::path::PathBuf;

use clap::Args;
use color_eyre::eyre::{eyre, Result};

use crate::cli::output::{print_json, print_rows, tell};
use crate::cli::progress::recompute_findings;
use crate::context::{Context, Format};
use crate::domain::text;

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files or directories to read: MCP client configurations (the `mcpServers`
    /// JSON of agent hosts), dotenv files, AWS shared-credentials files. Symlinks
    /// are never followed; files over 1 MiB are skipped.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The host these files are on (default: this machine's hostname).
    #[arg(long)]
    pub host: Option<String>,
}

pub async fn run(ctx: &Context, args: ScanArgs) -> Result<()> {
    let actions = ctx.actions().await?;
    let (host, report) = scan_and_record(&actions, args.host, args.paths).await?;
    let store = ctx.store().await?;
    // The new deployments feed the findings (plaintext-in-config, revoked-still-deployed).
    recompute_findings(ctx, &store).await?;
    let under = |p: &str| report.roots.iter().any(|r| p == r || p.starts_with(&crate::store::path_below(r)));
    let deployments: Vec<_> = store.deployments(None, 100_000).await?.into_iter().filter(|d| d.host == host && under(&d.path)).collect();
    if ctx.format == Format::Json {
        return print_json(&serde_json::json!({
            "host": host, "roots": report.roots, "files_read": report.files_read, "skipped": report.skipped, "deployments": deployments,
        }));
    }
    let rows: Vec<Vec<String>> = deployments
        .iter()
        .map(|d| {
            vec![
                d.path.clone(),
                d.location.clone(),
                d.format.clone(),
                d.fingerprint.get(7..19).unwrap_or(&d.fingerprint).to_string(),
                d.credential_id.clone().unwrap_or_else(|| "unknown to every issuer".into()),
                d.issuer.clone().unwrap_or_else(|| "-".into()),
                d.status.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    print_rows(ctx.format, &["FILE", "WHERE", "FORMAT", "FINGERPRINT", "CREDENTIAL", "ISSUER", "STATUS"], &rows)?;
    let known = deployments.iter().filter(|d| d.credential_id.is_some()).count();
    let dead = deployments.iter().filter(|d| d.status.as_deref().is_some_and(|s| s != "active")).count();
    tell(format_args!(
        "{host}: {} file(s) read under {}; {} secret(s) in plain text: {known} known to the inventory ({dead} no longer active), {} unknown to every issuer; {} skipped",
        report.files_read,
        report.roots.join(", "),
        deployments.len(),
        deployments.len() - known,
        report.skipped.len()
    ));
    for s in &report.skipped {
        tell(format_args!("  skipped {}: {}", s.path, s.reason));
    }
    Ok(())
}

/// Reads `paths` off the async runtime and records what was found, as `host`
/// (default: this machine's name): `tokenward scan`, and `[[scan]]` after a sync.
pub async fn scan_and_record(actions: &crate::actions::Actions, host: Option<String>, paths: Vec<PathBuf>) -> Result<(String, crate::scan::ScanReport)> {
    let host = host.map(|h| text::clean(&h, 253)).filter(|h| !h.is_empty()).unwrap_or_else(text::host_name);
    let report = tokio::task::spawn_blocking(move || crate::scan::scan(&paths)).await.map_err(|e| eyre!("the scan stopped: {e}"))?;
    actions.record_scan(&host, &report.roots, &report.found, report.files_read, report.skipped.len()).await?;
    Ok((host, report))
}

