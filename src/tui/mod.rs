//! The terminal UI: a pure `state::App::update`, views drawn from state, and this
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

pub mod governance;
pub mod keymap;
pub mod state;
pub mod theme;
pub mod view;
pub mod view_governance;

use state::{App, Effect, Msg};
use theme::Theme;

/// What the TUI runs on: the store, the shared actions, the themes and keys.
pub struct Session {
    pub store: Store,
    pub actions: Actions,
    pub themes: Vec<Theme>,
    pub keymap: keymap::Keymap,
    pub operator: String,
    pub read_only: bool,
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
}

impl Session {
    pub fn new(settings: &TuiSettings, store: Store, actions: Actions, connectors: Vec<Arc<dyn Connector>>) -> Session {
        let mut warnings = Vec::new();
        let themes = themes_for(settings.theme.as_deref(), &mut warnings);
        let mut keymap = keymap::Keymap::default_map();
        if let Err(e) = keymap.merge(&settings.keys) {
            warnings.push(e);
        }
        Session {
            grant_sla: settings.grant_sla,
            grants_newest_first: settings.grants_newest_first,
            bell: settings.bell,
            thresholds: settings.thresholds.clone(),
            db_label: store.location().to_string(),
            store,
            actions,
            themes,
            keymap,
            operator: settings.operator.clone(),
            read_only: settings.read_only,
            warnings,
            _connectors: connectors,
        }
    }

    pub fn with_db_label(mut self, label: String) -> Session {
        self.db_label = label;
        self
    }
}

/// The chosen theme first, then the others to cycle through; NO_COLOR wins over all.
pub fn themes_for(chosen: Option<&str>, warnings: &mut Vec<String>) -> Vec<Theme> {
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
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
        if themes.iter().all(|t| t.name != name) {
            if let Ok(t) = Theme::load(name) {
                themes.push(t);
            }
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
    let mut app = App::new(session.keymap.clone(), &session.operator, &session.db_label, session.read_only, chrono::Utc::now());
    app.themes = session.themes.iter().map(|t| t.name.clone()).collect();
    (app.grant_sla, app.grants_newest_first, app.bell) = (session.grant_sla, session.grants_newest_first, session.bell);
    if let Some(w) = session.warnings.first() {
        app.set_status(state::Tone::Warning, w.clone());
    }
    let (tx, mut rx) = mpsc::channel::<Msg>(1024);
    spawn_input(tx.clone());
    spawn_ticks(tx.clone(), session.actions.clone());
    let mut effects = app.update(Msg::Resize { width: size.width, height: size.height });
    effects.extend(app.start());
    for e in effects {
        perform(e, &session, &tx);
    }
    loop {
        let theme = &session.themes[app.theme_index.min(session.themes.len() - 1)];
        terminal.draw(|f| view::draw(f, &app, theme))?;
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
                perform(e, &session, &tx);
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

/// A progress channel for a long worker, each event forwarded to the UI as a message;
/// await the handle once the worker is done so every event lands before its result.
fn relay<T: Send + 'static>(tx: &mpsc::Sender<Msg>, wrap: fn(T) -> Msg) -> (mpsc::Sender<T>, tokio::task::JoinHandle<()>) {
    let (ptx, mut prx) = mpsc::channel(64);
    let forward = tx.clone();
    let handle = tokio::spawn(async move {
        while let Some(ev) = prx.recv().await {
            let _ = forward.send(wrap(ev)).await;
        }
    });
    (ptx, handle)
}

/// Runs one effect off the input path; its reply comes back as a message.
pub fn perform(effect: Effect, session: &Session, tx: &mpsc::Sender<Msg>) {
    let store = session.store.clone();
    let tx = tx.clone();
    match effect {
        Effect::Quit => {}
        Effect::Bell => {
            use std::io::Write;
            let mut out = std::io::stdout();
            let _ = out.write_all(b"\x07");
            let _ = out.flush();
        }
        Effect::LoadPage { generation, landing, request } => {
            tokio::spawn(async move {
                let rows = store.page(&request).await.map_err(|e| e.to_string());
                let _ = tx.send(Msg::Page { generation, landing, rows }).await;
            });
        }
        Effect::Count { generation, query, now } => {
            tokio::spawn(async move {
                let total = store.count(&query, now).await.map_err(|e| e.to_string());
                let _ = tx.send(Msg::Count { generation, total }).await;
            });
        }
        Effect::Position { generation, query, now, sort, key } => {
            tokio::spawn(async move {
                if let Ok(position) = store.position(&query, now, sort, &key).await {
                    let _ = tx.send(Msg::Position { generation, first_id: key.id, position }).await;
                }
            });
        }
        Effect::LoadDetail { id } => {
            tokio::spawn(async move {
                let d = crate::detail::load(&store, &id).await.map(Box::new).map_err(|e| e.to_string());
                let _ = tx.send(Msg::Detail(d)).await;
            });
        }
        Effect::LoadGrants => {
            let actions = session.actions.clone();
            tokio::spawn(async move {
                let g = store.grants(Some(crate::domain::GrantStatus::Pending), 5000).await.map_err(|e| e.to_string());
                let mut verdicts = std::collections::HashMap::new();
                for grant in g.iter().flatten() {
                    if let Ok(v) = actions.verdict_as_asked(grant).await {
                        verdicts.insert(grant.id.clone(), v);
                    }
                }
                let _ = tx.send(Msg::Grants(g)).await;
                let _ = tx.send(Msg::Verdicts(verdicts)).await;
            });
        }
        Effect::LoadIssuers => {
            tokio::spawn(async move {
                let i = store.issuer_summaries().await.map_err(|e| e.to_string());
                let _ = tx.send(Msg::Issuers(i)).await;
                let runs = store.sync_runs(50).await.map_err(|e| e.to_string());
                let _ = tx.send(Msg::SyncRuns(runs)).await;
            });
        }
        Effect::SyncIssuer { name } => {
            let thresholds = session.thresholds.clone();
            let Some(connector) = session.actions.connector_named(&name) else {
                let report = crate::sync::SyncReport { issuer: name.clone(), run_id: 0, owners: 0, credentials: 0, pages: 0, grants: 0, gone: 0, resumed: false, seconds: 0.0,
                    error: Some(format!("issuer '{name}' is not configured here")), notes: Vec::new() };
                tokio::spawn(async move {
                    let _ = tx.send(Msg::Sync(crate::sync::SyncEvent::Finished(report))).await;
                });
                return;
            };
            tokio::spawn(async move {
                let (ptx, relay) = relay(&tx, Msg::Sync);
                crate::sync::sync_issuer(&store, connector.as_ref(), Some(ptx)).await;
                let _ = relay.await;
                // Findings follow every sync.
                let r = crate::findings::recompute(&store, &thresholds, chrono::Utc::now()).await.map_err(|e| e.to_string());
                let _ = tx.send(Msg::Recomputed(r)).await;
            });
        }
        Effect::Approve(input) => {
            let actions = session.actions.clone();
            tokio::spawn(async move {
                let result = actions.approve(&input).await.map(Box::new).map_err(|e| e.to_string());
                let _ = tx.send(Msg::Decided(result)).await;
            });
        }
        Effect::Deny { grant, reason } => {
            let actions = session.actions.clone();
            tokio::spawn(async move {
                let result = actions.deny(&grant, &reason).await.map(Box::new).map_err(|e| e.to_string());
                let _ = tx.send(Msg::Decided(result)).await;
            });
        }
        Effect::Triage { token, reason } => {
            let actions = session.actions.clone();
            tokio::spawn(async move {
                let result = actions.triage(&token.0, reason.as_deref()).await.map(Box::new).map_err(|e| e.to_string());
                let _ = tx.send(Msg::Triaged(result)).await;
            });
        }
        Effect::LoadFindings => {
            tokio::spawn(async move {
                let r = async { Ok::<_, crate::store::StoreError>((store.finding_counts().await?, store.last_findings_run().await?)) }.await.map_err(|e| e.to_string());
                let _ = tx.send(Msg::Findings(r)).await;
            });
        }
        Effect::RecomputeFindings => {
            let thresholds = session.thresholds.clone();
            tokio::spawn(async move {
                let r = crate::findings::recompute(&store, &thresholds, chrono::Utc::now()).await.map_err(|e| e.to_string());
                let _ = tx.send(Msg::Recomputed(r)).await;
            });
        }
        Effect::LoadOwners { status, after } => {
            tokio::spawn(async move {
                let rows = store.owners_page(status.as_deref(), after.as_deref(), governance::OWNERS_PAGE).await.map_err(|e| e.to_string());
                let _ = tx.send(Msg::Owners { status, after, rows }).await;
            });
        }
        Effect::LoadBlast { owner } => {
            tokio::spawn(async move {
                let r = store.blast_radius(&owner).await.map(Box::new).map_err(|e| e.to_string());
                let _ = tx.send(Msg::Blast(r)).await;
            });
        }
        Effect::RevokeOwner { owner, reason } => {
            let actions = session.actions.clone();
            tokio::spawn(async move {
                let (ptx, relay) = relay(&tx, Msg::BulkProgress);
                let r = actions.revoke_owner(&owner, &reason, false, Some(ptx)).await.map(Box::new).map_err(|e| e.to_string());
                let _ = relay.await;
                let _ = tx.send(Msg::BulkDone(r)).await;
            });
        }
        Effect::LoadExpiring { window } => {
            tokio::spawn(async move {
                let now = chrono::Utc::now();
                let until = now + crate::filter::parse_duration(&window).unwrap_or(chrono::Duration::days(7));
                let groups = store.expiring_by_owner(now, until, 2000).await.map_err(|e| e.to_string());
                let _ = tx.send(Msg::Expiring { window, groups }).await;
            });
        }
        Effect::LoadCampaigns => {
            tokio::spawn(async move {
                let r = store.campaigns().await.map_err(|e| e.to_string());
                let _ = tx.send(Msg::Campaigns(r)).await;
            });
        }
        Effect::StartReview { name, filter } => {
            let actions = session.actions.clone();
            tokio::spawn(async move {
                let r = actions.start_review(&name, filter.as_deref()).await.map_err(|e| e.to_string());
                let _ = tx.send(Msg::ReviewStarted(r)).await;
            });
        }
        Effect::LoadReview { name, after } => {
            tokio::spawn(async move {
                let campaign = store.campaign(&name).await.map_err(|e| e.to_string());
                let items = match &campaign {
                    Ok(c) => store.review_items(c.id, after, governance::REVIEW_PAGE).await.map_err(|e| e.to_string()),
                    Err(e) => Err(e.clone()),
                };
                let _ = tx.send(Msg::ReviewItems { after, campaign, items }).await;
            });
        }
        Effect::ReviewDecide { item, decision, reason } => {
            let actions = session.actions.clone();
            tokio::spawn(async move {
                let r = actions.decide_review(item, &decision, &reason).await.map(Box::new).map_err(|e| e.to_string());
                let _ = tx.send(Msg::Reviewed(r)).await;
            });
        }
        Effect::Revoke { id, reason } => {
            let actions = session.actions.clone();
            tokio::spawn(async move {
                let result = actions.revoke(&id, &reason).await.map_err(|e| e.to_string());
                let _ = tx.send(Msg::Revoked { id, result }).await;
            });
        }
    }
}
