//! The approval queue: pending grants by age, the SLA called out, Cedar's
//! verdict on approving each as asked; `a` and `d` open the decision form.
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row};
use ratatui::Frame;

use crate::domain::human_duration;
use crate::domain::{Grant, Timestamp};
use crate::policy::Verdict;
use crate::tui::msg::{Effect, Tone};
use super::{KeyCtx, Outcome};
use crate::tui::forms::Form;
use crate::tui::forms::decision::DecisionForm;
use crate::tui::keymap::Action;
use crate::tui::widgets::{binding_style, empty_note, list_table, safe, step, window, Ctx};

#[derive(Debug, Clone)]
pub struct GrantsView {
    pub queue: Vec<Grant>,
    pub selected: usize,
    /// Newest first (the default) or oldest first: `o` flips it.
    pub newest_first: bool,
    /// How long a grant may wait before its age is called out.
    pub sla: chrono::Duration,
    /// Ring the bell when new grants arrive.
    pub bell: bool,
    /// Cedar's verdict on approving each grant as asked, by grant id.
    pub verdicts: std::collections::HashMap<String, Verdict>,
}

impl Default for GrantsView {
    fn default() -> Self {
        GrantsView { queue: Vec::new(), selected: 0, newest_first: true, sla: chrono::Duration::minutes(15), bell: true, verdicts: Default::default() }
    }
}

const NAME: &str = "grants";

impl GrantsView {
    /// Whether a grant has waited past the SLA.
    pub fn breached(&self, g: &Grant, now: Timestamp) -> bool {
        g.requested_at.is_some_and(|t| now - t >= self.sla)
    }

    pub fn selected_grant(&self) -> Option<&Grant> {
        self.queue.get(self.selected)
    }

    /// The queue in the chosen order, by request time.
    fn order(&mut self) {
        let newest = self.newest_first;
        // A stable sort: grants asked at the same moment keep the store's order.
        self.queue.sort_by(|a, b| {
            let o = a.requested_at.cmp(&b.requested_at);
            if newest { o.reverse() } else { o }
        });
    }

    /// The cursor stays on its grant when rows arrive; new grants are announced.
    pub fn on_grants(&mut self, r: Result<Vec<Grant>, String>) -> Vec<Outcome> {
        let g = match r {
            Ok(g) => g,
            Err(e) => return vec![Outcome::Status(Tone::Error, format!("grants: {e}"))],
        };
        let keep = self.selected_grant().map(|g| g.id.clone());
        let fresh = if self.queue.is_empty() { 0 } else { g.iter().filter(|n| self.queue.iter().all(|o| o.id != n.id)).count() };
        self.queue = g;
        self.order();
        self.selected = keep.and_then(|id| self.queue.iter().position(|g| g.id == id)).unwrap_or(self.selected).min(self.queue.len().saturating_sub(1));
        if fresh == 0 {
            return Vec::new();
        }
        let mut out = vec![Outcome::Status(Tone::Info, format!("{fresh} new grant(s) waiting for approval"))];
        if self.bell {
            out.push(Outcome::Effect(Effect::Bell));
        }
        out
    }

    pub fn on_action(&mut self, action: Action, ctx: &KeyCtx) -> Vec<Outcome> {
        let len = self.queue.len();
        match action {
            Action::Down | Action::Up | Action::PageDown | Action::PageUp | Action::Top | Action::Bottom => {
                self.selected = step(self.selected, ctx.delta(action), len);
                Vec::new()
            }
            Action::ToggleOrder => {
                let keep = self.selected_grant().map(|g| g.id.clone());
                self.newest_first = !self.newest_first;
                self.order();
                self.selected = keep.and_then(|id| self.queue.iter().position(|g| g.id == id)).unwrap_or(0);
                vec![Outcome::Status(Tone::Info, if self.newest_first { "grants: newest first" } else { "grants: oldest first" }.into())]
            }
            Action::Approve => self.open_decision(true, ctx.may),
            Action::Deny => self.open_decision(false, ctx.may),
            Action::Back => vec![Outcome::Home],
            _ => Vec::new(),
        }
    }

    fn open_decision(&self, approve: bool, may: &crate::actions::Permissions) -> Vec<Outcome> {
        if let Some(refusal) = may.refusal(if approve { crate::actions::Act::Approve } else { crate::actions::Act::Deny }) {
            return vec![Outcome::Status(Tone::Warning, refusal)];
        }
        let Some(grant) = self.selected_grant().cloned() else { return Vec::new() };
        vec![Outcome::Open(Form::Decide(Box::new(DecisionForm::new(grant, approve))))]
    }

    pub fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        let theme = ctx.theme;
        let height = area.height.saturating_sub(1) as usize;
        let offset = window(self.selected, height);
        let rows: Vec<Row> = self
            .queue
            .iter()
            .skip(offset)
            .take(height)
            .map(|g| {
                let age = g.requested_at.map(|t| human_duration(ctx.now - t)).unwrap_or_else(|| "-".into());
                // Waiting longer than the approval SLA (`[grants] sla`, 15 minutes by default) is called out.
                let late = self.breached(g, ctx.now);
                Row::new(vec![
                    Cell::from(Span::styled(safe(&g.external_id, 20), theme.muted)),
                    Cell::from(Span::styled(safe(g.workload.as_deref().unwrap_or("-"), 40), theme.text)),
                    Cell::from(Span::styled(safe(g.requested_by.as_deref().unwrap_or("-"), 40), theme.text)),
                    Cell::from(Span::styled(safe(g.intent.as_deref().unwrap_or(""), 200), theme.text)),
                    Cell::from(Span::styled(g.scopes.join(" "), theme.accent)),
                    Cell::from(Span::styled(human_duration(chrono::Duration::seconds(g.ttl_seconds)), theme.text)),
                    Cell::from(Span::styled(g.binding.to_string(), binding_style(g.binding == crate::domain::Binding::Bearer, theme))),
                    Cell::from(Span::styled(age, if late { theme.danger } else { theme.muted })),
                    match self.verdicts.get(&g.id) {
                        Some(v) if v.allowed && v.second_approval.is_some() => Cell::from(Span::styled("ok · needs a 2nd approver", theme.accent)),
                        Some(v) if v.allowed => Cell::from(Span::styled("ok as asked", theme.ok)),
                        Some(v) => Cell::from(Span::styled(
                            format!("✗ {}", v.reasons.iter().filter(|r| r.effect == "forbid").map(|r| r.policy.as_str()).collect::<Vec<_>>().join(", ")),
                            theme.warning,
                        )),
                        None => Cell::from(Span::styled("…", theme.muted)),
                    },
                ])
            })
            .collect();
        let widths = [
            Constraint::Length(11),
            Constraint::Length(18),
            Constraint::Length(24),
            Constraint::Min(20),
            Constraint::Length(24),
            Constraint::Length(5),
            Constraint::Length(7),
            Constraint::Length(5),
            Constraint::Length(30),
        ];
        let header = Row::new(["GRANT", "WORKLOAD", "REQUESTED BY", "INTENT", "SCOPES", "TTL", "BINDING", "AGE", "POLICY (AS ASKED)"]);
        list_table(f, area, theme, header, rows, &widths, (!self.queue.is_empty()).then(|| self.selected - offset));
        if self.queue.is_empty() {
            empty_note(f, area, theme, "no pending grants");
        }
    }
}

impl super::Pane for GrantsView {
    const NAME: &'static str = NAME;
    const FOOTER: &'static [Action] = &[Action::Approve, Action::Deny, Action::Refresh, Action::Command, Action::Help, Action::Quit];

    fn position(&self) -> Option<(usize, usize, &'static str)> {
        Some((self.selected, self.queue.len(), "pending grants"))
    }

    fn act_of(action: Action) -> Option<crate::actions::Act> {
        match action {
            Action::Approve => Some(crate::actions::Act::Approve),
            Action::Deny => Some(crate::actions::Act::Deny),
            _ => None,
        }
    }

    fn on_action(&mut self, action: Action, ctx: &KeyCtx) -> Vec<Outcome> {
        GrantsView::on_action(self, action, ctx)
    }

    fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        GrantsView::draw(self, f, ctx, area)
    }

    /// Its queue is a side list the app keeps loaded; opening it re-reads it.
    fn open(&self) -> Vec<Effect> {
        vec![Effect::LoadGrants]
    }

    /// The queue is live: re-read it on every tick.
    fn on_tick(&self) -> Vec<Effect> {
        vec![Effect::LoadGrants]
    }
}
