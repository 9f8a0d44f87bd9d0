//! `tokenward policy`: check or print the Cedar approval policies.
use clap::{Args, Subcommand};
use color_eyre::eyre::{eyre, Result};

use crate::cli::output::{print_json, say, tell};
use crate::context::{Context, Format};
use crate::policy::{PolicyEngine, DEFAULT_POLICIES, DEFAULT_SCHEMA};

#[derive(Debug, Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    pub command: PolicyCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum PolicyCommand {
    /// Validate the policies against the schema (strict); non-zero exit with each problem.
    Check,
    /// Print the shipped policies and schema (a starting point for your own directory).
    Show,
}

pub fn run(ctx: &Context, args: PolicyArgs) -> Result<()> {
    match args.command {
        PolicyCommand::Show => {
            say(format_args!("// policies/tokenward.cedarschema\n{DEFAULT_SCHEMA}\n// policies/default.cedar\n{DEFAULT_POLICIES}"))?;
            Ok(())
        }
        PolicyCommand::Check => {
            let engine = PolicyEngine::load(ctx.config.policies.as_deref())?;
            let problems = engine.check();
            if ctx.format == Format::Json {
                print_json(&serde_json::json!({"source": engine.source, "problems": problems}))?;
            } else if problems.is_empty() {
                say(format_args!("{}: ok", engine.source))?;
            }
            for p in &problems {
                tell(format_args!("{}: {p}", engine.source));
            }
            if problems.is_empty() { Ok(()) } else { Err(eyre!("{} problem(s) in {}", problems.len(), engine.source)) }
        }
    }
}
