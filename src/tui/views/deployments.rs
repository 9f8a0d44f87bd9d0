//! Where credentials sit in plain text: what `tokenward scan` recorded in agent
//! configurations, by host and file, each joined to its inventory credential.
//! Enter lists a known one in the credential table.
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row};
use ratatui::Frame;

use super::{KeyCtx, Outcome};
use crate::store::Deployment;
use crate::tui::job::{Job, JobData};
use crate::tui::keymap::Action;
use crate::tui::msg::{Effect, Tone};
use crate::tui::widgets::{list_table, safe, short, step, thousands, window, Ctx};

/// Most deployments the view holds: far more than any scan of agent folders records.
const LIMIT: i64 = 5_000;

#[derive(Debug, Clone, Default)]
pub struct DeploymentsView {
    pub rows: Vec<Deployment>,
    pub selected: usize,
    pub loaded: bool,
}

pub const NAME: &str = "deployments";

impl DeploymentsView {
    pub fn job() -> Job {
        Job::new(NAME, "deployments", |env| async move { env.store.deployments(None, LIMIT).await.map_err(|e| e.to_string()) })
    }

    fn on_rows(&mut self, r: Result<Vec<Deployment>, String>) -> Vec<Outcome> {
        match r {
            Ok(rows) => {
                self.rows = rows;
                self.loaded = true;
                self.selected = self.selected.min(self.rows.len().saturating_sub(1));
                Vec::new()
            }
            Err(e) => vec![Outcome::Status(Tone::Error, format!("deployments: {e}"))],
        }
    }

    pub fn on_action(&mut self, action: Action, ctx: &KeyCtx) -> Vec<Outcome> {
        match action {
            Action::Down | Action::Up | Action::PageDown | Action::PageUp | Action::Top | Action::Bottom => {
                self.selected = step(self.selected, ctx.delta(action), self.rows.len());
                Vec::new()
            }
            Action::Detail => match self.rows.get(self.selected) {
                Some(Deployment { credential_id: Some(id), .. }) => vec![Outcome::ShowCredentials(id.clone())],
                Some(d) => vec![Outcome::Status(
                    Tone::Warning,
                    format!("{} in {} is unknown to every issuer tokenward syncs: a shadow credential; find who issued it, revoke it there, then remove it from the file", d.location, d.path),
                )],
                None => Vec::new(),
            },
            Action::Back => vec![Outcome::Home],
            _ => Vec::new(),
        }
    }

    pub fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        let theme = ctx.theme;
        let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
        let known = self.rows.iter().filter(|d| d.credential_id.is_some()).count();
        let dead = self.rows.iter().filter(|d| d.status.as_deref().is_some_and(|s| s != "active")).count();
        let mut files: Vec<(&str, &str)> = self.rows.iter().map(|d| (d.host.as_str(), d.path.as_str())).collect();
        files.dedup();
        let keys = ctx.hints(NAME, &[(Action::Detail, "lists the credential")]);
        let line = if self.loaded && self.rows.is_empty() {
            Line::styled(" nothing recorded: `tokenward scan PATH...` reads agent configurations (MCP, dotenv, AWS credentials) for secrets in plain text", theme.muted)
        } else {
            Line::from(vec![
                Span::styled(format!(" {} secret(s) in plain text in {} file(s)", thousands(self.rows.len() as i64), thousands(files.len() as i64)), theme.header),
                Span::styled(format!(": {known} known to the inventory ({dead} no longer active), {} unknown to every issuer · {keys}", self.rows.len() - known), theme.muted),
            ])
        };
        f.render_widget(Paragraph::new(line), head);
        let height = body.height.saturating_sub(1) as usize;
        let offset = window(self.selected, height);
        let rows: Vec<Row> = self
            .rows
            .iter()
            .skip(offset)
            .take(height)
            .map(|d| {
                let (credential, status, st) = match (&d.credential_id, d.status.as_deref()) {
                    (Some(id), Some("active")) => (short(id).to_string(), "active".to_string(), theme.danger),
                    (Some(id), Some(s)) => (short(id).to_string(), format!("{s}, still here"), theme.warning),
                    (Some(id), None) => (short(id).to_string(), "-".to_string(), theme.text),
                    (None, _) => ("unknown".to_string(), "no issuer knows it".to_string(), theme.warning),
                };
                Row::new(vec![
                    Cell::from(Span::styled(safe(&d.host, 24), theme.muted)),
                    Cell::from(Span::styled(safe(&d.path, 200), theme.text)),
                    Cell::from(Span::styled(safe(&d.location, 120), theme.text)),
                    Cell::from(Span::styled(credential, theme.accent)),
                    Cell::from(Span::styled(status, st)),
                    Cell::from(Span::styled(safe(d.last_seen.get(..16).unwrap_or(&d.last_seen), 16), theme.muted)),
                ])
            })
            .collect();
        let widths = [Constraint::Length(14), Constraint::Min(30), Constraint::Length(36), Constraint::Length(10), Constraint::Length(20), Constraint::Length(16)];
        let header = Row::new(["HOST", "FILE", "WHERE", "CREDENTIAL", "STATUS", "LAST SEEN"]);
        list_table(f, body, theme, header, rows, &widths, (!self.rows.is_empty()).then(|| self.selected - offset));
    }
}

impl super::Pane for DeploymentsView {
    const NAME: &'static str = NAME;
    const FOOTER: &'static [Action] = &[Action::Detail, Action::Command, Action::Help, Action::Quit];

    fn position(&self) -> Option<(usize, usize, &'static str)> {
        Some((self.selected, self.rows.len(), "deployments"))
    }

    fn on_action(&mut self, action: Action, ctx: &KeyCtx) -> Vec<Outcome> {
        DeploymentsView::on_action(self, action, ctx)
    }

    fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        DeploymentsView::draw(self, f, ctx, area)
    }

    fn load(&self) -> Vec<Effect> {
        vec![Effect::Load(Self::job())]
    }

    fn on_data(&mut self, data: JobData) -> Vec<Outcome> {
        match data.downcast::<Result<Vec<Deployment>, String>>() {
            Ok(r) => self.on_rows(*r),
            Err(_) => Vec::new(),
        }
    }
}
