//! The terminal UI: a pure `app::App::update`, views drawn from state, and this
//! loop, which owns the terminal, runs effects on tokio and coalesces redraws.
use std::sync::Arc;
use std::time::Duration;

use color_eyre::eyre::{eyre, Result};
use crossterm::event::Event;
use tokio::sync::mpsc;

use crate::actions::Actions;
use crate::context::TuiSettings;
use crate::connectors::Connector;
use crate::store::Store;

pub mod app;
pub mod commands;
pub mod draw;
pub mod effects;
pub mod forms;
pub mod job;
pub mod keymap;
pub mod msg;
pub mod registry;
pub mod theme;
pub mod views;
pub mod widgets;

use app::{App, Msg, Tone};
use theme::Theme;

/// What the TUI runs on: the store, the shared actions, the themes and keys.
pub struct Session {
    pub store: Store,
    pub actions: Actions,
    pub themes: Vec<Theme>,
    pub keymap: keymap::Keymap,
    pub operator: String,
    pub read_only: bool,
    /// What the operator may not do, and why, asked once at start.
    pub permissions: crate::actions::Permissions,
    pub db_label: String,
    pub warnings: Vec<String>,
    /// `[grants]`: SLA, order, bell.
    pub grant_sla: chrono::Duration,
    pub grants_newest_first: bool,
    pub bell: bool,
    /// `[findings]` thresholds, for a recompute from the findings view or after a sync.
    pub thresholds: crate::config::Thresholds,
    /// Kept alive for the session (the demo's in-process issuer connector).
    pub _connectors: Vec<Arc<dyn Connector>>,
    /// Whether any issuer is configured (or given, as the demo's).
    pub has_issuers: bool,
    /// `--view` or `[tui] start`: the view it opens on (default home).
    pub start: Option<String>,
}

impl Session {
    pub fn new(settings: &TuiSettings, store: Store, actions: Actions, connectors: Vec<Arc<dyn Connector>>) -> Session {
        let has_issuers = settings.has_issuers || !connectors.is_empty();
        // The identity warning first: only the first warning is shown at start.
        let mut warnings: Vec<String> = settings.identity_warning.iter().cloned().collect();
        let themes = themes_for(settings.theme.as_deref(), settings.no_color, &mut warnings);
        let mut keymap = keymap::Keymap::default_map();
        if let Err(e) = keymap.merge(&settings.keys) {
            warnings.push(e);
        }
        let tables = commands::keymap_tables();
        if let Some(start) = settings.start.as_deref().filter(|s| commands::View::named(s).is_none()) {
            warnings.push(format!("view \"{start}\" (--view or [tui] start): no such view (have: {}); opened on home", commands::View::ALL.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ")));
        }
        for table in settings.keys.keys().filter(|t| !tables.contains(&t.as_str())) {
            warnings.push(format!("[keys.{table}]: no such view or table (have: {})", tables.join(", ")));
        }
        Session {
            grant_sla: settings.grant_sla,
            grants_newest_first: settings.grants_newest_first,
            bell: settings.bell,
            thresholds: settings.thresholds.clone(),
            db_label: store.location().to_string(),
            store,
            themes,
            keymap,
            // Who acts is who the actions act as: on PostgreSQL the database login.
            operator: actions.operator.clone(),
            read_only: settings.read_only,
            permissions: actions.permissions(),
            warnings,
            _connectors: connectors,
            actions,
            has_issuers,
            start: settings.start.clone(),
        }
    }

    pub fn with_db_label(mut self, label: String) -> Session {
        self.db_label = label;
        self
    }

    /// What effects run against: this session's store, actions and thresholds, on the wall clock.
    pub fn env(&self) -> effects::Env {
        effects::Env { store: self.store.clone(), actions: self.actions.clone(), thresholds: self.thresholds.clone(), clock: chrono::Utc::now }
    }

    /// The app this session opens with: its keys, themes, grant settings and first warning.
    pub fn app(&self, now: crate::domain::Timestamp) -> App {
        let mut app = App::new(self.keymap.clone(), &self.operator, &self.db_label, self.read_only, now);
        app.themes = self.themes.iter().map(|t| t.name.clone()).collect();
        (app.grants.sla, app.grants.newest_first, app.grants.bell) = (self.grant_sla, self.grants_newest_first, self.bell);
        app.permissions = self.permissions.clone();
        app.views.credentials.has_issuers = self.has_issuers;
        app.views.home.sla = self.grant_sla;
        // `--view` or `[tui] start`: the view it opens on; home unless one is named.
        app.view = self.start.as_deref().and_then(commands::View::named).unwrap_or(commands::View::Home);
        // The first warning, else what this operator may not do (not in read-only mode, which the header says).
        if let Some(w) = self.warnings.first().cloned().or_else(|| (!self.read_only).then(|| self.permissions.summary()).flatten()) {
            app.set_status(Tone::Warning, w);
        }
        app
    }
}

/// The chosen theme first, then the others to cycle through; NO_COLOR wins over all.
pub fn themes_for(chosen: Option<&str>, no_color: bool, warnings: &mut Vec<String>) -> Vec<Theme> {
    if no_color {
        return vec![Theme::monochrome()];
    }
    let mut themes: Vec<Theme> = Vec::new();
    if let Some(name) = chosen {
        match Theme::load(name) {
            Ok(t) => themes.push(t),
            Err(e) => warnings.push(e),
        }
    }
    for name in Theme::builtin_names() {
        if themes.iter().all(|t| t.name != name)
            && let Ok(t) = Theme::load(name)
        {
            themes.push(t);
        }
    }
    if themes.is_empty() {
        themes.push(Theme::monochrome());
    }
    themes
}

/// Restores the terminal however the loop ends (ratatui::init also hooks panics).
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

pub async fn run(session: Session) -> Result<()> {
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return Err(eyre!("the TUI needs a terminal; use a command (tokenward --help) or `demo --no-tui`"));
    }
    let mut terminal = ratatui::init();
    let _guard = TerminalGuard;
    let size = terminal.size()?;
    let mut app = session.app(chrono::Utc::now());
    let env = session.env();
    let (tx, mut rx) = mpsc::channel::<Msg>(1024);
    spawn_input(tx.clone());
    spawn_ticks(tx.clone(), session.actions.clone());
    spawn_changes(tx.clone(), &session.actions.store);
    let mut opening = app.update(Msg::Resize { width: size.width, height: size.height });
    opening.extend(app.start());
    for e in opening {
        effects::spawn(e, &env, &tx);
    }
    let monochrome = Theme::monochrome();
    // `tokenward bench` asks when the first frames are drawn.
    let mut marks = FrameMarks::from_env();
    loop {
        let theme = session.themes.get(app.theme_index).unwrap_or(&monochrome);
        terminal.draw(|f| draw::draw(f, &app, theme))?;
        marks.drawn(&app);
        let Some(first) = rx.recv().await else { break };
        // Coalesce: apply everything that has arrived, then draw once.
        let mut batch = vec![first];
        while batch.len() < 512 {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        for msg in batch {
            for e in app.update(msg) {
                effects::spawn(e, &env, &tx);
            }
        }
        if app.quit {
            break;
        }
    }
    Ok(())
}

fn spawn_input(tx: mpsc::Sender<Msg>) {
    std::thread::spawn(move || {
        loop {
            let msg = match crossterm::event::read() {
                Ok(Event::Key(k)) => Msg::Key(k),
                Ok(Event::Resize(width, height)) => Msg::Resize { width, height },
                Ok(_) => continue,
                Err(_) => break,
            };
            if tx.blocking_send(msg).is_err() {
                break;
            }
        }
    });
}

/// Changes announced by the store (another console's decision, revocation, sync)
/// become messages; a burst (a bulk revocation) is one refresh, at most four a second.
/// For `tokenward bench` (TOKENWARD_FIRST_FRAME_FILE): one line `PID MICROS WHAT` the
/// first time each of these is drawn: `home` (the home view, figures or not),
/// `home-figures` (with its figures), `credentials` (the table with a row).
struct FrameMarks {
    path: Option<std::ffi::OsString>,
    done: Vec<&'static str>,
}

impl FrameMarks {
    fn from_env() -> FrameMarks {
        FrameMarks { path: std::env::var_os("TOKENWARD_FIRST_FRAME_FILE"), done: Vec::new() }
    }

    fn drawn(&mut self, app: &App) {
        let Some(path) = &self.path else { return };
        let shown = [
            ("home", matches!(app.view, commands::View::Home)),
            ("home-figures", matches!(app.view, commands::View::Home) && app.views.home.home.is_some()),
            ("credentials", matches!(app.view, commands::View::Credentials) && app.selected_row().is_some()),
        ];
        for (what, on) in shown {
            if !on || self.done.contains(&what) {
                continue;
            }
            self.done.push(what);
            let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros()).unwrap_or(0);
            let line = format!("{} {at} {what}\n", std::process::id());
            let _ = std::fs::OpenOptions::new().create(true).append(true).open(path).and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
        }
    }
}

fn spawn_changes(tx: mpsc::Sender<Msg>, store: &crate::store::Store) {
    let (changes, mut rx) = mpsc::channel::<crate::store::Change>(1024);
    store.watch_changes(changes);
    tokio::spawn(async move {
        while let Some(mut what) = rx.recv().await {
            // A burst is one refresh, naming its last outcome (an intent is followed by one).
            while let Ok(later) = rx.try_recv() {
                if later.is_outcome() || !what.is_outcome() {
                    what = later;
                }
            }
            if tx.send(Msg::Changed(what)).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
}

fn spawn_ticks(tx: mpsc::Sender<Msg>, actions: Actions) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(15));
        loop {
            every.tick().await;
            // Revocations waiting for an unreachable issuer are retried in the background.
            let _ = actions.retry_outbox().await;
            if tx.send(Msg::Tick(chrono::Utc::now())).await.is_err() {
                break;
            }
        }
    });
}
