//! The issuers: each one's last sync, a sync started from here with its gauge,
//! and the history of sync runs under them.
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};
use ratatui::Frame;

use crate::domain::{human_duration, relative};
use crate::domain::{parse_ts, SyncStatus};
use crate::store::{IssuerSummary, SyncRun};
use crate::sync::SyncEvent;
use crate::tui::msg::{Effect, Tone};
use super::{KeyCtx, Outcome};
use crate::tui::keymap::Action;
use crate::tui::widgets::{gauge, list_table, safe, step, thousands, Ctx};

/// A sync started from the issuers view, as it runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncProgress {
    pub running: bool,
    pub pages: u64,
    pub credentials: u64,
    pub error: Option<String>,
    /// Records the issuer sent that failed validation in this sync.
    pub rejected: u64,
}

#[derive(Debug, Clone, Default)]
pub struct IssuersView {
    pub issuers: Vec<IssuerSummary>,
    pub selected: usize,
    pub sync_runs: Vec<SyncRun>,
    pub syncing: std::collections::BTreeMap<String, SyncProgress>,
}

const NAME: &str = "issuers";

impl IssuersView {
    pub fn on_issuers(&mut self, r: Result<Vec<IssuerSummary>, String>) -> Vec<Outcome> {
        match r {
            Ok(i) => {
                self.issuers = i;
                self.selected = self.selected.min(self.issuers.len().saturating_sub(1));
                Vec::new()
            }
            Err(e) => vec![Outcome::Status(Tone::Error, format!("issuers: {e}"))],
        }
    }

    pub fn on_sync_runs(&mut self, r: Result<Vec<SyncRun>, String>) -> Vec<Outcome> {
        match r {
            Ok(runs) => {
                self.sync_runs = runs;
                Vec::new()
            }
            Err(e) => vec![Outcome::Status(Tone::Error, format!("sync runs: {e}"))],
        }
    }

    /// Progress of a sync; when it finishes, the caller refreshes everything it changed.
    pub fn on_sync(&mut self, ev: SyncEvent) -> Option<(Tone, String)> {
        match ev {
            SyncEvent::Started { issuer, .. } => {
                self.syncing.insert(issuer, SyncProgress { running: true, ..Default::default() });
                None
            }
            SyncEvent::Progress { issuer, pages, credentials, .. } => {
                let p = self.syncing.entry(issuer).or_default();
                (p.pages, p.credentials) = (pages, credentials);
                None
            }
            SyncEvent::Finished(r) => {
                let tone = if r.error.is_some() { Tone::Error } else if r.rejected > 0 { Tone::Warning } else { Tone::Ok };
                let msg = match &r.error {
                    Some(e) => format!("{}: sync failed: {e}", r.issuer),
                    None if r.rejected > 0 => format!(
                        "{}: synced {} credentials in {} pages, {} records rejected (nothing marked gone): {}",
                        r.issuer,
                        r.credentials,
                        r.pages,
                        r.rejected,
                        r.notes.iter().find(|n| n.starts_with("rejected")).map(String::as_str).unwrap_or("")
                    ),
                    None => format!("{}: synced {} credentials in {} pages, {} gone", r.issuer, r.credentials, r.pages, r.gone),
                };
                let done = SyncProgress { running: false, pages: r.pages, credentials: r.credentials, error: r.error.clone(), rejected: r.rejected };
                self.syncing.insert(r.issuer.clone(), done);
                Some((tone, msg))
            }
        }
    }

    pub fn on_action(&mut self, action: Action, ctx: &KeyCtx) -> Vec<Outcome> {
        match action {
            Action::Down | Action::Up | Action::PageDown | Action::PageUp | Action::Top | Action::Bottom => {
                self.selected = step(self.selected, ctx.delta(action), self.issuers.len());
                Vec::new()
            }
            Action::SyncNow => match self.issuers.get(self.selected) {
                Some(i) if self.syncing.get(&i.name).is_some_and(|p| p.running) => vec![Outcome::Status(Tone::Info, format!("{} is already syncing", i.name))],
                Some(i) => {
                    let name = i.name.clone();
                    self.syncing.insert(name.clone(), SyncProgress { running: true, ..Default::default() });
                    vec![Outcome::Effect(Effect::SyncIssuer { name })]
                }
                None => Vec::new(),
            },
            Action::Back => vec![Outcome::Home],
            _ => Vec::new(),
        }
    }

    pub fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        let (theme, now) = (ctx.theme, ctx.now);
        let rows: Vec<Row> = self
            .issuers
            .iter()
            .map(|i| {
                let run = i.last_run.as_ref();
                let (status, style) = match run.map(|r| r.status) {
                    Some(SyncStatus::Ok) => ("ok", theme.ok),
                    Some(SyncStatus::Failed) => ("failed", theme.danger),
                    Some(SyncStatus::Running) => ("running", theme.info),
                    None => ("never", theme.muted),
                };
                let when = run.and_then(|r| r.finished_at.as_deref().or(Some(r.started_at.as_str()))).and_then(parse_ts).map(|t| relative(&t, now)).unwrap_or_default();
                let progress = match self.syncing.get(&i.name) {
                    Some(p) if p.running => Span::styled(gauge(p.credentials, i.credentials.max(0) as u64), theme.info),
                    Some(p) if p.error.is_some() => Span::styled("failed", theme.danger),
                    Some(p) if p.rejected > 0 => Span::styled(format!("done, {}, {} rejected", thousands(p.credentials as i64), thousands(p.rejected as i64)), theme.warning),
                    Some(p) => Span::styled(format!("done, {}", thousands(p.credentials as i64)), theme.ok),
                    None => Span::styled("", theme.muted),
                };
                Row::new(vec![
                    Cell::from(Span::styled(safe(&i.name, 40), theme.accent)),
                    Cell::from(Span::styled(i.kind.as_str(), theme.text)),
                    Cell::from(Span::styled(i.credentials.to_string(), theme.text)),
                    Cell::from(progress),
                    Cell::from(Span::styled(status, style)),
                    Cell::from(Span::styled(when, theme.muted)),
                    Cell::from(Span::styled(run.map(|r| r.pages.to_string()).unwrap_or_default(), theme.text)),
                    Cell::from(Span::styled(run.map(|r| r.items.to_string()).unwrap_or_default(), theme.text)),
                    Cell::from(Span::styled(safe(run.and_then(|r| r.error.as_deref()).unwrap_or(""), 300), theme.danger)),
                ])
            })
            .collect();
        let widths = [
            Constraint::Length(18),
            Constraint::Length(10),
            Constraint::Length(11),
            Constraint::Length(24),
            Constraint::Length(9),
            Constraint::Length(10),
            Constraint::Length(6),
            Constraint::Length(9),
            Constraint::Min(10),
        ];
        let sync_now = format!("SYNC NOW ({})", ctx.key(NAME, Action::SyncNow));
        let header = Row::new(vec!["ISSUER".to_string(), "KIND".into(), "CREDENTIALS".into(), sync_now, "LAST SYNC".into(), "WHEN".into(), "PAGES".into(), "ITEMS".into(), "ERROR".into()]);
        let [top, bottom] = Layout::vertical([Constraint::Length(self.issuers.len() as u16 + 2), Constraint::Min(0)]).areas(area);
        list_table(f, top, theme, header, rows, &widths, (!self.issuers.is_empty()).then_some(self.selected));
        if self.issuers.is_empty() {
            let msg = "no issuers yet: `tokenward config init` writes a starter tokenward.toml; uncomment an [[issuer]], then `tokenward sync` (or try `tokenward demo`)";
            f.render_widget(Paragraph::new(msg).style(theme.muted).centered(), Rect { y: top.y + 1, height: 1, ..top });
        }
        self.draw_sync_runs(f, ctx, bottom);
    }

    /// The history under the issuers: every run, with what it did and how it ended.
    fn draw_sync_runs(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        let (theme, now) = (ctx.theme, ctx.now);
        if area.height < 3 {
            return;
        }
        let selected = self.issuers.get(self.selected).map(|i| i.name.as_str());
        let rows: Vec<Row> = self
            .sync_runs
            .iter()
            .filter(|r| selected.is_none_or(|n| r.issuer == n))
            .take(area.height.saturating_sub(2) as usize)
            .map(|r| {
                let style = match r.status {
                    SyncStatus::Ok => theme.ok,
                    SyncStatus::Failed => theme.danger,
                    SyncStatus::Running => theme.info,
                };
                let took = match (parse_ts(&r.started_at), r.finished_at.as_deref().and_then(parse_ts)) {
                    (Some(a), Some(b)) => human_duration(b - a),
                    _ => "-".into(),
                };
                Row::new(vec![
                    Cell::from(Span::styled(format!("#{}", r.id), theme.muted)),
                    Cell::from(Span::styled(safe(&r.issuer, 40), theme.text)),
                    Cell::from(Span::styled(parse_ts(&r.started_at).map(|t| relative(&t, now)).unwrap_or_default(), theme.text)),
                    Cell::from(Span::styled(took, theme.text)),
                    Cell::from(Span::styled(r.status.as_str(), style)),
                    Cell::from(Span::styled(r.pages.to_string(), theme.text)),
                    Cell::from(Span::styled(r.items.to_string(), theme.text)),
                    Cell::from(Span::styled(safe(r.error.as_deref().unwrap_or(""), 300), theme.danger)),
                ])
            })
            .collect();
        let widths = [
            Constraint::Length(6),
            Constraint::Length(18),
            Constraint::Length(10),
            Constraint::Length(6),
            Constraint::Length(8),
            Constraint::Length(6),
            Constraint::Length(9),
            Constraint::Min(10),
        ];
        let header = Row::new(["RUN", "ISSUER", "STARTED", "TOOK", "STATUS", "PAGES", "ITEMS", "ERROR"]).style(theme.header);
        let block = Block::default().borders(Borders::TOP).border_style(theme.border).title(Span::styled(" sync runs ", theme.header));
        f.render_widget(Table::new(rows, widths).header(header).block(block), area);
    }
}

impl super::Pane for IssuersView {
    const NAME: &'static str = NAME;
    const FOOTER: &'static [Action] = &[Action::SyncNow, Action::Refresh, Action::Command, Action::Help, Action::Quit];

    fn position(&self) -> Option<(usize, usize, &'static str)> {
        Some((self.selected, self.issuers.len(), "issuers"))
    }

    fn on_action(&mut self, action: Action, ctx: &KeyCtx) -> Vec<Outcome> {
        IssuersView::on_action(self, action, ctx)
    }

    fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        IssuersView::draw(self, f, ctx, area)
    }

    /// A side list the app keeps loaded; opening the view re-reads it.
    fn open(&self) -> Vec<Effect> {
        vec![Effect::LoadIssuers]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::SyncReport;

    #[test]
    fn a_sync_with_rejected_records_says_how_many_and_the_first() {
        let mut view = IssuersView::default();
        let report = SyncReport {
            credentials: 3,
            pages: 1,
            rejected: 2,
            notes: vec!["rejected credential c-9: scopes: invalid type".into()],
            ..SyncReport::new("broker")
        };
        let (tone, msg) = view.on_sync(SyncEvent::Finished(report)).unwrap_or((Tone::Ok, String::new()));
        assert_eq!(tone, Tone::Warning);
        assert!(msg.contains("2 records rejected") && msg.contains("c-9: scopes"), "{msg}");
        assert_eq!(view.syncing.get("broker").map(|p| p.rejected), Some(2));
    }
}
