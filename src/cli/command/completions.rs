//! `tokenward completions SHELL`: completions generated from the live clap definition.
use clap::Args;
use color_eyre::eyre::Result;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `cli` is the whole command line, passed in so this file does not import its parent.
pub fn run(args: CompletionsArgs, mut cli: clap::Command) -> Result<()> {
    clap_complete::generate(args.shell, &mut cli, "tokenward", &mut std::io::stdout());
    Ok(())
}
