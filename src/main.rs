#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
use tokenward::cli::{output, Cli};
use tokenward::context::Format;
use tokenward::domain::text;

/// Longest cause of an error printed: enough for any message of ours, not for a quoted page.
const MAX_CAUSE: usize = 1000;

fn main() -> std::process::ExitCode {
    if let Err(e) = color_eyre::config::HookBuilder::default().display_env_section(false).install() {
        eprintln!("error: {e}");
    }
    let cli = Cli::parse_args();
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
            // Each cause once (messages that already quote their source are not
            // repeated), each cleaned and capped: a cause may quote an issuer's answer.
            let mut message = String::new();
            for cause in e.chain().map(|c| text::clean_lines(&c.to_string(), MAX_CAUSE)) {
                if !message.contains(&cause) {
                    if !message.is_empty() {
                        message.push_str(": ");
                    }
                    message.push_str(&cause);
                }
            }
            output::tell(format_args!("error: {message}"));
            if format == Format::Json {
                let _ = output::print_json(&serde_json::json!({ "error": message }));
            }
            std::process::ExitCode::FAILURE
        }
    }
}
