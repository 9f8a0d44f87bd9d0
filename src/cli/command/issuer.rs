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
        /// How many credentials the organisation holds.
        #[arg(long, default_value_t = 5000)]
        credentials: u64,
        /// The organisation's seed: the same seed and moment give the same records.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The moment the organisation is generated at (RFC 3339; default: now). Two
        /// issuers given the same moment serve the same records, to time a re-sync.
        #[arg(long, value_parser = parse_at)]
        at: Option<crate::domain::Timestamp>,
        /// Per mille of credentials used again since that moment (a newer last use
        /// and one more usage event), as the bench's re-sync measures.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1000))]
        churn: u64,
        /// Require this bearer token, read from the named environment variable.
        #[arg(long)]
        token_env: Option<String>,
    },
}

pub async fn run(args: IssuerArgs) -> Result<()> {
    let IssuerCommand::Serve { listen, credentials, seed, at, churn, token_env } = args.command;
    let token = match token_env {
        Some(var) => Some(std::env::var(&var).map_err(|_| eyre!("environment variable {var} is not set"))?),
        None => None,
    };
    let org = crate::reference::org::Org::new(credentials, seed, at.unwrap_or_else(chrono::Utc::now)).churned(churn);
    crate::reference::server::serve_forever(&listen, org, token).await.wrap_err_with(|| format!("serving on {listen}"))
}

fn parse_at(s: &str) -> std::result::Result<crate::domain::Timestamp, String> {
    crate::domain::parse_ts(s).ok_or_else(|| format!("'{s}' is not an RFC 3339 moment, such as 2026-12-01T00:00:00Z"))
}
