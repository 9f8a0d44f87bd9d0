//! `tokenward issuer serve`: the reference issuer over a synthetic organisation.
use clap::{Args, Subcommand};
use color_eyre::eyre::{eyre, Result, WrapErr};

#[derive(Debug, Args)]
pub struct IssuerArgs {
    #[command(subcommand)]
    pub command: IssuerCommand,
}

#[derive(Debug, Subcommand)]
pub enum IssuerCommand {
    /// Serve a deterministic synthetic organisation; approve/deny/revoke change its state.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        #[arg(long, default_value_t = 5000)]
        credentials: u64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Require this bearer token, read from the named environment variable.
        #[arg(long)]
        token_env: Option<String>,
    },
}

pub async fn run(args: IssuerArgs) -> Result<()> {
    let IssuerCommand::Serve { listen, credentials, seed, token_env } = args.command;
    let token = match token_env {
        Some(var) => Some(std::env::var(&var).map_err(|_| eyre!("environment variable {var} is not set"))?),
        None => None,
    };
    let org = crate::reference::org::Org::new(credentials, seed, chrono::Utc::now());
    crate::reference::server::serve_forever(&listen, org, token).await.wrap_err_with(|| format!("serving on {listen}"))
}
