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
    /// Write a commented starter configuration there (one issuer of each kind, the
    /// [operators] table), never over an existing file.
    Init,
}

/// What `config init` writes: every setting commented out.
pub const STARTER: &str = include_str!("../../../docs/starter.toml");

/// Runs without a context: a file too broken to load is exactly what `check` must report.
pub fn run(given: Option<&Path>, args: ConfigArgs, format: Format) -> Result<()> {
    let path = given.map(Path::to_path_buf).unwrap_or_else(config::default_config_path);
    match args.command {
        ConfigCommand::Path => {
            say(format_args!("{}", path.display()))?;
            Ok(())
        }
        ConfigCommand::Init => init(&path, format),
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

/// Writes the starter configuration to `path` (created 0600, its directory 0700 when
/// made here); refuses a path that exists, whatever it holds.
fn init(path: &Path, format: Format) -> Result<()> {
    if path.exists() {
        return Err(eyre!("{} exists already: `tokenward config init` never overwrites a file; edit it, or name another with --config", path.display()));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
        std::fs::create_dir_all(dir).wrap_err_with(|| format!("cannot create {}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).wrap_err_with(|| format!("cannot create {}", path.display()))?;
    std::io::Write::write_all(&mut file, STARTER.as_bytes()).wrap_err_with(|| format!("cannot write {}", path.display()))?;
    if format == Format::Json {
        return print_json(&serde_json::json!({"path": path.display().to_string(), "written": true}));
    }
    say(format_args!("{}", path.display()))?;
    tell(format_args!("wrote a starter configuration: uncomment an issuer, then `tokenward config check` and `tokenward sync` (or try `tokenward demo`)"));
    Ok(())
}
