//! What reaches a terminal, for the hostile-input tests: every TUI screen drawn
//! from a store with the TUI's own executor and `draw`, and the real binary run
//! on a pipe or on a pseudo-terminal (util-linux `script`).
use std::path::Path;
use std::process::Command;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tokenward::domain::text::is_hostile;
use tokenward::store::Store;
use tokenward::sync::SyncReport;
use tokenward::tui::app::{App, Effect, Msg, View};
use tokenward::tui::effects::{self, Env};
use tokenward::tui::keymap::Keymap;
use tokenward::tui::theme::Theme;

/// Every character a terminal would obey (`text::is_hostile`: ESC and the other
/// C0 controls, DEL, C1, bidi overrides and isolates, U+2028/2029, zero-width and
/// tag characters) except the line break, named with its offset; the first few.
pub fn obeyed(s: &str) -> Vec<String> {
    s.char_indices().filter(|(_, c)| *c != '\n' && is_hostile(*c)).take(5).map(|(i, c)| format!("U+{:04X} at byte {i}", c as u32)).collect()
}

/// Asserts that `shown` (what `what` put on a terminal) holds nothing a terminal would obey.
pub fn assert_inert(what: &str, shown: &str) {
    let bad = obeyed(shown);
    let first = shown.char_indices().find(|(_, c)| *c != '\n' && is_hostile(*c)).map_or(0, |(i, _)| i);
    let around = shown.get(shown.floor_char_boundary(first.saturating_sub(60))..shown.ceil_char_boundary((first + 60).min(shown.len()))).unwrap_or_default();
    assert!(bad.is_empty(), "{what}: {bad:?}, the first in {around:?}");
}

/// `shown` without the sequences our own progress bars (indicatif) draw with:
/// carriage return, cursor up and down (`ESC [ n A`, `ESC [ n B`), erase line (`ESC [ n K`), cursor
/// hidden or shown (`ESC [ ? 25 l/h`). Anything else, an issuer's CSI included, stays.
pub fn without_progress_bars(shown: &str) -> String {
    let mut out = String::with_capacity(shown.len());
    let mut rest = shown;
    while let Some(c) = rest.chars().next() {
        if c == '\r' {
            rest = &rest[1..];
            continue;
        }
        if let Some(csi) = rest.strip_prefix("\x1b[") {
            let digits = csi.len() - csi.trim_start_matches(|d: char| d.is_ascii_digit()).len();
            let after = &csi[digits..];
            if after.starts_with(['A', 'B', 'K']) {
                rest = &after[1..];
                continue;
            }
            if digits == 0 && (after.starts_with("?25l") || after.starts_with("?25h")) {
                rest = &after[4..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Runs the store-reading effects with the TUI's executor until none is left;
/// effects that act on issuers (revoke, sync, approve...) are not run.
pub async fn settle(app: &mut App, store: &Store, mut fx: Vec<Effect>) {
    let env = Env {
        store: store.clone(),
        actions: tokenward::actions::Actions::new(store.clone(), &[], "ana@acme.test", false),
        thresholds: Default::default(),
        clock: super::fixed_now,
    };
    let (progress, _replies) = tokio::sync::mpsc::channel(64);
    while let Some(e) = fx.pop() {
        let acts = matches!(
            e,
            Effect::Revoke { .. }
                | Effect::Quit
                | Effect::SyncIssuer { .. }
                | Effect::Triage { .. }
                | Effect::Approve(_)
                | Effect::Deny { .. }
                | Effect::Bell
                | Effect::RevokeOwner { .. }
                | Effect::StartReview { .. }
                | Effect::ReviewDecide { .. }
        );
        if !acts {
            for msg in effects::execute(e, &env, &progress).await {
                fx.extend(app.update(msg));
            }
        }
    }
}

pub fn render(app: &App, width: u16, height: u16) -> String {
    let theme = Theme::load("dark").expect("theme");
    let mut t = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    t.draw(|f| tokenward::tui::draw::draw(f, app, &theme)).expect("draw");
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..height {
        for x in 0..width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// Every screen the TUI shows over `store`, named: each view, the detail pane of
/// the first `details` credentials, and a toast for each sync report (its
/// notes and error are what the status line says).
pub async fn every_screen(store: &Store, details: usize, reports: &[SyncReport]) -> Vec<(String, String)> {
    let (w, h) = (160, 40);
    let mut app = App::new(Keymap::default_map(), "ana@acme.test", "hostile.db", false, super::fixed_now());
    app.update(Msg::Resize { width: w, height: h });
    let fx = app.start();
    settle(&mut app, store, fx).await;
    let mut screens = Vec::new();
    for view in View::ALL {
        let fx = app.run_command(view.name());
        settle(&mut app, store, fx).await;
        screens.push((view.name().to_string(), render(&app, w, h)));
    }
    let fx = app.run_command("credentials");
    settle(&mut app, store, fx).await;
    for n in 0..details {
        let fx = app.update(key(KeyCode::Enter));
        settle(&mut app, store, fx).await;
        screens.push((format!("detail of row {n}"), render(&app, w, h)));
        app.update(key(KeyCode::Esc));
        let fx = app.update(key(KeyCode::Char('j')));
        settle(&mut app, store, fx).await;
    }
    let fx = app.run_command("issuers");
    settle(&mut app, store, fx).await;
    for r in reports {
        app.update(Msg::Sync(tokenward::sync::SyncEvent::Started { issuer: r.issuer.clone(), resumed: false }));
        app.update(Msg::Sync(tokenward::sync::SyncEvent::Finished(r.clone())));
        screens.push((format!("status after syncing {}", r.issuer), render(&app, w, h)));
    }
    screens
}

/// The binary on `db` with no config file of its own (unless `args` name one), stdout a pipe.
pub fn tw(db: &Path) -> Command {
    let mut c = Command::new(super::bin());
    c.arg("--db").arg(db).env_remove("TOKENWARD_CONFIG").env("XDG_CONFIG_HOME", db.parent().expect("dir")).env("TOKENWARD_OPERATOR", "ana@acme.test");
    c
}

/// Stdout and stderr of `tw(db) args` run on a pseudo-terminal, as a person
/// would see them (the terminal's CR LF read back as LF).
pub fn on_terminal(db: &Path, args: &[&str]) -> String {
    terminal_run(db, args, "")
}

/// Stdout alone of `tw(db) args` on a pseudo-terminal (stderr discarded), to be parsed.
pub fn stdout_on_terminal(db: &Path, args: &[&str]) -> String {
    terminal_run(db, args, " 2>/dev/null")
}

fn terminal_run(db: &Path, args: &[&str], redirect: &str) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut line = format!("{} --db {}", quote(super::bin()), quote(&db.display().to_string()));
    for a in args {
        line.push(' ');
        line.push_str(&quote(a));
    }
    line.push_str(redirect);
    let out = Command::new("script")
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .env_remove("TOKENWARD_CONFIG")
        .env("XDG_CONFIG_HOME", db.parent().expect("dir"))
        .env("TOKENWARD_OPERATOR", "ana@acme.test")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("util-linux script runs");
    String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n")
}
