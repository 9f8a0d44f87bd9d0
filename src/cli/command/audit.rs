//! `tokenward audit`: walk the hash chain, or read the newest entries.
use clap::{Args, Subcommand};
use color_eyre::eyre::{eyre, Result};

use crate::cli::output::{print_json, print_rows};
use crate::context::{Context, Format};

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain; non-zero exit and the first bad entry if it is broken.
    Verify,
    /// The newest entries.
    Log {
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

pub async fn run(ctx: &Context, args: AuditArgs) -> Result<()> {
    let store = ctx.store().await?;
    match args.command {
        AuditCommand::Verify => {
            let v = crate::audit::verify(&store).await?;
            match (ctx.format, &v.first_bad) {
                (Format::Json, _) => print_json(&v)?,
                (_, None) => println!("audit log intact: {} entries, head {}", v.entries, v.head_hash),
                (_, Some(b)) => println!("audit log BROKEN at entry {}: {} ({} entries before it are intact)", b.seq, b.problem, v.entries),
            }
            match v.first_bad {
                Some(b) => Err(eyre!("audit chain broken at entry {}: {}", b.seq, b.problem)),
                None => Ok(()),
            }
        }
        AuditCommand::Log { limit } => {
            let all = store.audit_entries(0, i64::MAX).await?;
            let entries = &all[all.len().saturating_sub(limit.max(0) as usize)..];
            if ctx.format == Format::Json {
                return print_json(entries);
            }
            let rows: Vec<Vec<String>> =
                entries.iter().map(|e| vec![e.seq.to_string(), e.at.clone(), e.actor.clone(), e.action.clone(), e.target.clone(), e.detail.clone()]).collect();
            print_rows(ctx.format, &["SEQ", "AT", "ACTOR", "ACTION", "TARGET", "DETAIL"], &rows)
        }
    }
}
