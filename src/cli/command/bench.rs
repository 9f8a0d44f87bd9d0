//! `tokenward bench`: the figures of the performance goals.
use std::path::PathBuf;

use clap::Args;
use color_eyre::eyre::Result;

use crate::context::{Context, Format};

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Credentials to generate.
    #[arg(long, default_value_t = 100_000)]
    pub credentials: u64,
    /// Keep the benchmark database here instead of a temporary file.
    #[arg(long)]
    pub keep: Option<PathBuf>,
}

pub async fn run(ctx: &Context, args: BenchArgs) -> Result<()> {
    crate::bench::run(args.credentials, args.keep, ctx.format == Format::Json).await
}
