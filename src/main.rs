#![deny(clippy::unwrap_used, clippy::panic)]
use clap::Parser;
use tokenward::cli::{Cli, Format};

fn main() -> std::process::ExitCode {
    if let Err(e) = color_eyre::config::HookBuilder::default().display_env_section(false).install() {
        eprintln!("error: {e}");
    }
    let cli = Cli::parse();
    let format = cli.format;
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(tokenward::cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            let message = e.chain().map(|c| c.to_string()).collect::<Vec<_>>().join(": ");
            eprintln!("error: {message}");
            if format == Format::Json {
                println!("{}", serde_json::json!({ "error": message }));
            }
            std::process::ExitCode::FAILURE
        }
    }
}
