//! `tokenward audit`: walk the keyed hash chain against its anchors, or read the newest entries.
use clap::{Args, Subcommand};
use color_eyre::eyre::{eyre, Result};

use crate::cli::output::{print_json, print_rows, say};
use crate::context::{Context, Format};

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain and its MACs, check the key, the head witness and the
    /// append-only triggers; non-zero exit and the first bad entry if it is broken.
    Verify {
        /// A head hash from an exported evidence file: it must still be in the chain.
        #[arg(long, value_name = "HASH")]
        head: Option<String>,
    },
    /// The newest entries.
    Log {
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

pub async fn run(ctx: &Context, args: AuditArgs) -> Result<()> {
    let store = ctx.store().await?;
    match args.command {
        AuditCommand::Verify { head } => {
            let v = crate::audit::verify(&store, head.as_deref()).await?;
            if ctx.format == Format::Json {
                print_json(&v)?;
            } else {
                match &v.first_bad {
                    None if v.problems.is_empty() => say(format_args!("audit log intact: {} entries, head {}", v.entries, v.head_hash))?,
                    None => say(format_args!("audit log BROKEN: its entries chain ({} entries, head {}) but its anchors do not hold", v.entries, v.head_hash))?,
                    Some(b) => say(format_args!("audit log BROKEN at entry {}: {} ({} entries before it are intact)", b.seq, b.problem, v.entries))?,
                }
                for p in &v.problems {
                    say(format_args!("  {p}"))?;
                }
                if v.unkeyed > 0 {
                    say(format_args!("  {} entries unkeyed (before the key): checked by their hash only", v.unkeyed))?;
                }
                if let (Some(key), Some(witness)) = (&v.key_file, &v.witness_file) {
                    println!("  key {key}, witness {witness}");
                }
                if let Some(seq) = v.head_found {
                    say(format_args!("  head {} is entry {seq} of the chain", head.as_deref().unwrap_or_default()))?;
                }
            }
            match (&v.first_bad, v.problems.first()) {
                (Some(b), _) => Err(eyre!("audit chain broken at entry {}: {}", b.seq, b.problem)),
                (None, Some(p)) => Err(eyre!("audit log broken: {p}")),
                (None, None) => Ok(()),
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
