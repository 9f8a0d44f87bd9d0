//! Active credentials expiring soon, grouped by the owner to tell; `f` cycles
//! the window, Enter lists a group's credentials in the credential table.
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row};
use ratatui::Frame;

use crate::domain::OwnerStatus;
use crate::store::ExpiringGroup;
use crate::tui::msg::{Effect, Tone};
use super::{KeyCtx, Outcome};
use crate::tui::keymap::Action;
use crate::domain::when;
use crate::tui::widgets::{list_table, safe, step, thousands, window, Ctx};

/// The windows `f` cycles through.
pub const EXPIRING_WINDOWS: [&str; 3] = ["24h", "7d", "30d"];

#[derive(Debug, Clone, Default)]
pub struct ExpiringView {
    pub groups: Vec<ExpiringGroup>,
    pub selected: usize,
    pub window: usize,
}

const NAME: &str = "expiring";

impl ExpiringView {
    fn window_name(&self) -> &'static str {
        EXPIRING_WINDOWS.get(self.window).copied().unwrap_or("7d")
    }

    pub fn load(&self) -> Vec<Effect> {
        vec![Effect::LoadExpiring { window: self.window_name().into() }]
    }

    /// A reply for another window than the one chosen now is dropped.
    pub fn on_expiring(&mut self, window: &str, r: Result<Vec<ExpiringGroup>, String>) -> Vec<Outcome> {
        if window != self.window_name() {
            return Vec::new();
        }
        match r {
            Ok(g) => {
                self.groups = g;
                self.selected = self.selected.min(self.groups.len().saturating_sub(1));
                Vec::new()
            }
            Err(e) => vec![Outcome::Status(Tone::Error, format!("expiring: {e}"))],
        }
    }

    pub fn on_action(&mut self, action: Action, ctx: &KeyCtx) -> Vec<Outcome> {
        match action {
            Action::Down | Action::Up | Action::PageDown | Action::PageUp | Action::Top | Action::Bottom => {
                self.selected = step(self.selected, ctx.delta(action), self.groups.len());
                Vec::new()
            }
            Action::Detail => match self.groups.get(self.selected) {
                Some(g) => {
                    let owner = if g.owner.is_empty() { "none" } else { &g.owner };
                    vec![Outcome::ShowCredentials(format!("owner:{owner} status:active expires<{}", self.window_name()))]
                }
                None => Vec::new(),
            },
            Action::CycleFilter => {
                self.window = (self.window + 1) % EXPIRING_WINDOWS.len();
                self.selected = 0;
                self.load().into_iter().map(Outcome::Effect).collect()
            }
            Action::Back => vec![Outcome::Home],
            _ => Vec::new(),
        }
    }

    pub fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        let theme = ctx.theme;
        let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
        let total: i64 = self.groups.iter().map(|g| g.credentials).sum();
        let keys = ctx.hints(NAME, &[(Action::CycleFilter, "window"), (Action::Detail, "lists them")]);
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(format!(" {} active credential(s) expire within {}", thousands(total), self.window_name()), theme.header),
                Span::styled(format!(", {} owner(s) to tell · {keys}", self.groups.len()), theme.muted),
            ])),
            head,
        );
        let height = body.height.saturating_sub(1) as usize;
        let offset = window(self.selected, height);
        let rows: Vec<Row> = self
            .groups
            .iter()
            .skip(offset)
            .take(height)
            .map(|g| {
                let st = match g.owner_status {
                    Some(OwnerStatus::Active) => theme.text,
                    Some(OwnerStatus::Offboarded) => theme.danger,
                    Some(OwnerStatus::Unknown) | None => theme.warning,
                };
                Row::new(vec![
                    Cell::from(Span::styled(if g.owner.is_empty() { "(no owner)".to_string() } else { safe(&g.owner, 60) }, st)),
                    Cell::from(Span::styled(OwnerStatus::or_none(g.owner_status), st)),
                    Cell::from(Span::styled(thousands(g.credentials), theme.text)),
                    Cell::from(Span::styled(when(&g.soonest, ctx.now), theme.warning)),
                    Cell::from(Span::styled(safe(&g.workloads, 200), theme.muted)),
                ])
            })
            .collect();
        let widths = [Constraint::Length(34), Constraint::Length(11), Constraint::Length(9), Constraint::Length(10), Constraint::Min(20)];
        let header = Row::new(["OWNER", "STATUS", "EXPIRING", "SOONEST", "WORKLOADS"]);
        list_table(f, body, theme, header, rows, &widths, (!self.groups.is_empty()).then(|| self.selected - offset));
    }
}

impl super::Pane for ExpiringView {
    const NAME: &'static str = NAME;
    const FOOTER: &'static [Action] = &[Action::Detail, Action::CycleFilter, Action::Command, Action::Help, Action::Quit];

    fn position(&self) -> Option<(usize, usize, &'static str)> {
        Some((self.selected, self.groups.len(), "owners to tell"))
    }

    fn on_action(&mut self, action: Action, ctx: &KeyCtx) -> Vec<Outcome> {
        ExpiringView::on_action(self, action, ctx)
    }

    fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        ExpiringView::draw(self, f, ctx, area)
    }

    fn load(&self) -> Vec<Effect> {
        ExpiringView::load(self)
    }

    /// `:expiring 24h`: opens on that window.
    fn command(&mut self, args: &[&str], _ctx: &KeyCtx) -> Option<Vec<Outcome>> {
        let window = args.first()?;
        Some(match EXPIRING_WINDOWS.iter().position(|w| w == window) {
            Some(i) => {
                self.window = i;
                self.selected = 0;
                std::iter::once(Outcome::Show(NAME)).chain(self.load().into_iter().map(Outcome::Effect)).collect()
            }
            None => vec![Outcome::Status(Tone::Error, format!("usage: :expiring [{}]", EXPIRING_WINDOWS.join("|")))],
        })
    }
}
