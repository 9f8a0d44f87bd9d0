//! `tokenward man`: the man page (roff) rendered from the live clap definition.
use color_eyre::eyre::Result;

/// `cli` is the whole command line, passed in so this file does not import its parent.
pub fn run(cli: clap::Command) -> Result<()> {
    clap_mangen::Man::new(cli).render(&mut std::io::stdout())?;
    Ok(())
}
