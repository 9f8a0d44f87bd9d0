//! `tokenward triage`: a leaked token from stdin (never argv): fingerprint, find,
//! introspect at the OAuth issuers, and revoke where it is live.
use std::io::Write;

use clap::Args;
use secrecy::SecretString;
use color_eyre::eyre::{eyre, Result};

use crate::cli::output::{self, print_json, tell};
use crate::context::{Context, Format};

#[derive(Debug, Args)]
pub struct TriageArgs {
    /// Revoke it wherever it is live: at its inventory issuer and every OAuth issuer that says active.
    #[arg(long, requires = "reason")]
    pub revoke: bool,
    /// Why: recorded in the audit log and sent to the issuers.
    #[arg(long)]
    pub reason: Option<String>,
}

/// Reads the token from stdin; on a terminal without echo, so it never shows.
fn read_token() -> Result<SecretString> {
    use std::io::{IsTerminal, Read};
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut buf = Vec::new();
        stdin.lock().take(crate::actions::MAX_TOKEN_BYTES as u64 + 1).read_to_end(&mut buf)?;
        return String::from_utf8(buf).map(SecretString::from).map_err(|_| eyre!("the token on stdin is not UTF-8"));
    }
    eprint!("Paste the token, then Enter (it is not shown): ");
    crossterm::terminal::enable_raw_mode()?;
    let mut token = String::new();
    let result = loop {
        match crossterm::event::read() {
            Ok(crossterm::event::Event::Key(k)) if k.kind != crossterm::event::KeyEventKind::Release => match k.code {
                crossterm::event::KeyCode::Enter => break Ok(()),
                crossterm::event::KeyCode::Esc => break Err(eyre!("cancelled")),
                crossterm::event::KeyCode::Char('c') if k.modifiers.contains(crossterm::event::KeyModifiers::CONTROL) => {
                    break Err(eyre!("cancelled"));
                }
                crossterm::event::KeyCode::Backspace => {
                    token.pop();
                }
                crossterm::event::KeyCode::Char(c) if token.len() <= crate::actions::MAX_TOKEN_BYTES => token.push(c),
                _ => {}
            },
            Ok(crossterm::event::Event::Paste(p)) => token.push_str(&p),
            Ok(_) => {}
            Err(e) => break Err(e.into()),
        }
    };
    crossterm::terminal::disable_raw_mode()?;
    tell(format_args!(""));
    result.map(|()| SecretString::from(token))
}

pub async fn run(ctx: &Context, args: TriageArgs) -> Result<()> {
    // A reason alone only explains; it takes --revoke to act.
    let reason = args.revoke.then_some(args.reason).flatten();
    let token = read_token()?;
    let actions = ctx.actions().await?;
    let report = actions.triage(&token, reason.as_deref()).await?;
    drop(token);
    if ctx.format == Format::Json {
        print_json(&report)?;
        return Ok(());
    }
    let now = chrono::Utc::now();
    let mut out = output::stdout();
    writeln!(out, "fingerprint  {}", report.fingerprint)?;
    match &report.credential {
        Some(c) => writeln!(
            out,
            "inventory    {} ({} at {}), {} {}, owner {} ({}), workload {}, scopes {}, {}",
            c.id,
            c.external_id,
            c.issuer,
            c.kind,
            c.status,
            c.owner.as_deref().unwrap_or("none"),
            report.owner_status.as_deref().unwrap_or("no owner"),
            c.workload.as_deref().unwrap_or("-"),
            c.scopes.join(" "),
            c.binding
        )?,
        None => writeln!(out, "inventory    not found: no synced credential has this fingerprint")?,
    }
    if report.introspections.is_empty() {
        writeln!(out, "oauth        no OAuth issuer is configured to introspect it")?;
    }
    for f in &report.introspections {
        match (&f.introspection, &f.error) {
            (Some(i), _) if i.active => writeln!(
                out,
                "{:<12} ACTIVE: client {}, subject {}, scopes {}, audience {}, expires {}",
                f.issuer,
                i.client_id.as_deref().unwrap_or("-"),
                i.subject.as_deref().unwrap_or("-"),
                if i.scopes.is_empty() { "-".into() } else { i.scopes.join(" ") },
                if i.audience.is_empty() { "-".into() } else { i.audience.join(" ") },
                i.expires_at.map(|t| crate::domain::relative(&t, now)).unwrap_or_else(|| "never".into())
            )?,
            (Some(_), _) => writeln!(out, "{:<12} inactive (unknown, expired or revoked there)", f.issuer)?,
            (None, Some(e)) => writeln!(out, "{:<12} could not introspect: {e}", f.issuer)?,
            (None, None) => {}
        }
    }
    if let Some(r) = &report.inventory_revocation {
        writeln!(out, "revoked      {} at {}: {}", r.credential_id, r.issuer, r.message)?;
    }
    if let Some(e) = &report.inventory_revocation_error {
        writeln!(out, "NOT revoked  at the inventory's issuer: {e}")?;
    }
    for r in &report.revocations {
        let state = match (r.revoked, r.confirmed_inactive, &r.error) {
            (true, true, _) => "revoked, introspection now answers inactive".to_string(),
            (true, false, _) => "revocation accepted, but introspection still answers active".to_string(),
            (false, _, Some(e)) => format!("NOT revoked: {e}"),
            _ => "NOT revoked".to_string(),
        };
        writeln!(out, "revoked      {}: {state}", r.issuer)?;
    }
    writeln!(out, "audit        #{}", report.audit_seq)?;
    if reason.is_none() && report.is_live() {
        writeln!(out, "\nThis token is live. To revoke it everywhere: tokenward triage --revoke --reason \"...\" < token")?;
    }
    if report.inventory_revocation_error.is_some() || report.revocations.iter().any(|r| !r.revoked || !r.confirmed_inactive) {
        return Err(eyre!("the token may still be live at an issuer: see above"));
    }
    Ok(())
}
