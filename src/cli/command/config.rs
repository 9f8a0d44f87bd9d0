//! `tokenward config`: where the file is, and every mistake in it with its line.
use std::path::Path;

use clap::{Args, Subcommand};
use color_eyre::eyre::{eyre, Result, WrapErr};

use crate::cli::output::{print_json, say, tell};
use crate::config::{self, Config};
use crate::context::Format;

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ConfigCommand {
    /// Validate the file: every mistake with its line; secrets must be readable. Non-zero exit on any.
    Check,
    /// Print the path of the configuration file in use.
    Path,
}

/// Runs without a context: a file too broken to load is exactly what `check` must report.
pub fn run(given: Option<&Path>, args: ConfigArgs, format: Format) -> Result<()> {
    let path = given.map(Path::to_path_buf).unwrap_or_else(config::default_config_path);
    match args.command {
        ConfigCommand::Path => {
            say(format_args!("{}", path.display()))?;
            Ok(())
        }
        ConfigCommand::Check => {
            let text = std::fs::read_to_string(&path).wrap_err_with(|| format!("cannot read {}", path.display()))?;
            let problems = Config::check(&text);
            if format == Format::Json {
                print_json(&serde_json::json!({"path": path.display().to_string(), "problems": problems}))?;
            } else {
                for p in &problems {
                    match p.line {
                        Some(l) => tell(format_args!("{}:{l}: {}", path.display(), p.message)),
                        None => tell(format_args!("{}: {}", path.display(), p.message)),
                    }
                }
                if problems.iter().all(|p| p.is_warning()) {
                    say(format_args!("{}: ok", path.display()))?;
                }
            }
            // Warnings are said, not failed on: a lab's allow_http is a choice, not a mistake.
            let errors = problems.iter().filter(|p| !p.is_warning()).count();
            if errors == 0 { Ok(()) } else { Err(eyre!("{errors} problem(s) in {}", path.display())) }
        }
    }
}
