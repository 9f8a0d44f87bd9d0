//! Findings by rule, most severe first; Enter lists a rule's credentials in
//! the credential table, `F` recomputes every rule.
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row};
use ratatui::Frame;

use crate::store::{FindingCount, RecomputeReport};
use crate::tui::msg::{Effect, FindingCounts, Tone};
use super::{KeyCtx, Outcome};
use crate::tui::keymap::Action;
use crate::domain::when;
use crate::tui::widgets::{empty_note, list_table, safe, severity_style, step, thousands, window, Ctx};

#[derive(Debug, Clone, Default)]
pub struct FindingsView {
    pub counts: Vec<FindingCount>,
    pub selected: usize,
    pub last_run: Option<(String, i64)>,
    pub recomputing: bool,
}

const NAME: &str = "findings";

impl FindingsView {
    pub fn load(&self) -> Vec<Effect> {
        vec![Effect::LoadFindings]
    }

    pub fn on_findings(&mut self, r: Result<FindingCounts, String>) -> Vec<Outcome> {
        match r {
            Ok((mut counts, last)) => {
                counts.sort_by(|a, b| a.severity.cmp(&b.severity).then(b.open.cmp(&a.open)).then(a.rule.cmp(&b.rule)));
                self.counts = counts;
                self.last_run = last;
                self.selected = self.selected.min(self.counts.len().saturating_sub(1));
                Vec::new()
            }
            Err(e) => vec![Outcome::Status(Tone::Error, format!("findings: {e}"))],
        }
    }

    pub fn on_recomputed(&mut self, r: Result<RecomputeReport, String>) -> Vec<Outcome> {
        self.recomputing = false;
        match r {
            Ok(rep) => vec![
                Outcome::Status(Tone::Ok, format!("findings recomputed: {} open, {} new, {} closed in {} ms", rep.open, rep.opened, rep.closed, rep.millis)),
                Outcome::Effect(Effect::LoadFindings),
            ],
            Err(e) => vec![Outcome::Status(Tone::Error, format!("findings: {e}"))],
        }
    }

    pub fn on_action(&mut self, action: Action, ctx: &KeyCtx) -> Vec<Outcome> {
        match action {
            Action::Down | Action::Up | Action::PageDown | Action::PageUp | Action::Top | Action::Bottom => {
                self.selected = step(self.selected, ctx.delta(action), self.counts.len());
                Vec::new()
            }
            // A rule's findings are a filter of the credential table: Enter there opens the detail, `r` revokes.
            Action::Detail => match self.counts.get(self.selected) {
                // A secret no issuer knows has no credential to list: where it sits is the doorway.
                Some(c) if c.rule == "unknown-in-config" => {
                    vec![Outcome::Show(super::deployments::NAME), Outcome::Effect(Effect::Load(super::deployments::DeploymentsView::job()))]
                }
                Some(c) => vec![Outcome::ShowCredentials(format!("finding:{}", c.rule))],
                None => Vec::new(),
            },
            Action::Recompute if !self.recomputing => {
                self.recomputing = true;
                vec![Outcome::Status(Tone::Info, "recomputing every findings rule…".into()), Outcome::Effect(Effect::RecomputeFindings)]
            }
            Action::Back => vec![Outcome::Home],
            _ => Vec::new(),
        }
    }

    pub fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        let theme = ctx.theme;
        let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
        let total: i64 = self.counts.iter().map(|c| c.open).sum();
        let last = match &self.last_run {
            Some((at, ms)) => format!("computed {} in {} ms", when(at, ctx.now), ms),
            None => format!("never computed: {} computes them", ctx.key(NAME, Action::Recompute)),
        };
        let line = Line::from(vec![
            Span::styled(format!(" {} open findings", thousands(total)), theme.header),
            Span::styled(format!(" · {last}"), theme.muted),
            Span::styled(if self.recomputing { " · recomputing…" } else { "" }, theme.info),
            Span::styled(format!(" · {} lists a rule's credentials", ctx.key(NAME, Action::Detail)), theme.muted),
        ]);
        f.render_widget(Paragraph::new(line), head);
        let height = body.height.saturating_sub(1) as usize;
        let offset = window(self.selected, height);
        let rows: Vec<Row> = self
            .counts
            .iter()
            .skip(offset)
            .take(height)
            .map(|c| {
                let rule = crate::findings::rule(&c.rule);
                Row::new(vec![
                    Cell::from(Span::styled(safe(&c.rule, 40), theme.accent)),
                    Cell::from(Span::styled(c.severity.as_str(), severity_style(c.severity, theme))),
                    Cell::from(Span::styled(thousands(c.open), theme.text)),
                    Cell::from(Span::styled(rule.map(|r| r.fires_when).unwrap_or(""), theme.text)),
                    Cell::from(Span::styled(rule.map(|r| r.frameworks.join("; ")).unwrap_or_default(), theme.muted)),
                ])
            })
            .collect();
        let widths = [Constraint::Length(24), Constraint::Length(8), Constraint::Length(9), Constraint::Min(30), Constraint::Length(48)];
        let header = Row::new(["RULE", "SEVERITY", "OPEN", "FIRES WHEN", "MAPS TO"]);
        list_table(f, body, theme, header, rows, &widths, (!self.counts.is_empty()).then(|| self.selected - offset));
        if self.counts.is_empty() {
            empty_note(f, body, theme, "no open findings");
        }
    }
}

impl super::Pane for FindingsView {
    const NAME: &'static str = NAME;
    const FOOTER: &'static [Action] = &[Action::Detail, Action::Recompute, Action::Command, Action::Help, Action::Quit];

    fn position(&self) -> Option<(usize, usize, &'static str)> {
        Some((self.selected, self.counts.len(), "rules with open findings"))
    }

    fn on_action(&mut self, action: Action, ctx: &KeyCtx) -> Vec<Outcome> {
        FindingsView::on_action(self, action, ctx)
    }

    fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        FindingsView::draw(self, f, ctx, area)
    }

    fn load(&self) -> Vec<Effect> {
        FindingsView::load(self)
    }
}
