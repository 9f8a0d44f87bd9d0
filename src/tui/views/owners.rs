//! People and what each holds: a keyset-paged list, a person's blast radius
//! beside it, and from there the offboarding bulk revoke.
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row};
use ratatui::Frame;

use crate::domain::{BlastRadius, CredentialStatus, OwnerStatus, Relation};
use crate::store::OwnerRow;
use crate::tui::msg::{Effect, Tone};
use super::{KeyCtx, Outcome};
use crate::tui::forms::Form;
use crate::tui::forms::bulk::BulkForm;
use crate::tui::keymap::Action;
use crate::domain::when;
use crate::tui::widgets::{list_table, safe, short, step, thousands, window, Ctx};

/// Owners per page; moving past either end loads the next or previous page.
pub const OWNERS_PAGE: i64 = 200;
/// The owner statuses `f` cycles through.
pub const OWNER_FILTERS: [Option<OwnerStatus>; 4] = [None, Some(OwnerStatus::Offboarded), Some(OwnerStatus::Unknown), Some(OwnerStatus::Active)];

#[derive(Debug, Clone, Default)]
pub struct BlastPane {
    pub owner: String,
    pub data: Option<Box<BlastRadius>>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct OwnersView {
    pub rows: Vec<OwnerRow>,
    pub selected: usize,
    pub filter: usize,
    /// The `after` anchors of the pages before this one (keyset paging back).
    pub pages: Vec<Option<String>>,
    pub after: Option<String>,
    pub blast: Option<BlastPane>,
}

const NAME: &str = "owners";

impl OwnersView {
    fn status_filter(&self) -> Option<OwnerStatus> {
        OWNER_FILTERS.get(self.filter).copied().flatten()
    }

    pub fn load(&self) -> Vec<Effect> {
        vec![Effect::LoadOwners { status: self.status_filter(), after: self.after.clone() }]
    }

    /// A late reply to an older filter or page is dropped.
    pub fn on_owners(&mut self, status: Option<OwnerStatus>, after: Option<String>, r: Result<Vec<OwnerRow>, String>) -> Vec<Outcome> {
        if status != self.status_filter() || after != self.after {
            return Vec::new();
        }
        match r {
            Ok(rows) => {
                self.rows = rows;
                self.selected = self.selected.min(self.rows.len().saturating_sub(1));
                Vec::new()
            }
            Err(e) => vec![Outcome::Status(Tone::Error, format!("owners: {e}"))],
        }
    }

    pub fn on_blast(&mut self, r: Result<Box<BlastRadius>, String>) {
        if let Some(p) = &mut self.blast {
            match r {
                Ok(b) if b.owner == p.owner => p.data = Some(b),
                Ok(_) => {}
                Err(e) => p.error = Some(e),
            }
        }
    }

    /// After a bulk revoke: the list and the open blast radius again.
    pub fn reload_after_revoke(&self) -> Vec<Effect> {
        let mut fx = self.load();
        if let Some(p) = &self.blast {
            fx.push(Effect::LoadBlast { owner: p.owner.clone() });
        }
        fx
    }

    /// Moving; past either end of a full page, the next or previous page by keyset.
    fn move_by(&mut self, delta: isize) -> Vec<Effect> {
        let len = self.rows.len();
        let target = self.selected as isize + delta;
        if target >= len as isize && len as i64 == OWNERS_PAGE && delta == 1 {
            self.pages.push(self.after.take());
            self.after = self.rows.last().map(|r| r.id.clone());
            self.selected = 0;
            self.blast = None;
            return self.load();
        }
        if target < 0 && delta == -1 && !self.pages.is_empty() {
            self.after = self.pages.pop().flatten();
            self.selected = OWNERS_PAGE as usize - 1;
            self.blast = None;
            return self.load();
        }
        self.selected = step(self.selected, delta, len);
        let id = self.rows.get(self.selected).map(|r| r.id.clone()).unwrap_or_default();
        match &self.blast {
            Some(p) if p.owner != id && !id.is_empty() => {
                self.blast = Some(BlastPane { owner: id.clone(), ..Default::default() });
                vec![Effect::LoadBlast { owner: id }]
            }
            _ => Vec::new(),
        }
    }

    pub fn on_action(&mut self, action: Action, ctx: &KeyCtx) -> Vec<Outcome> {
        let fx = match action {
            Action::Down | Action::Up | Action::PageDown | Action::PageUp | Action::Top | Action::Bottom => self.move_by(ctx.delta(action)),
            Action::Detail => {
                if self.blast.is_some() {
                    self.blast = None;
                    return Vec::new();
                }
                let Some(o) = self.rows.get(self.selected) else { return Vec::new() };
                self.blast = Some(BlastPane { owner: o.id.clone(), ..Default::default() });
                vec![Effect::LoadBlast { owner: o.id.clone() }]
            }
            Action::CycleFilter => {
                self.filter = (self.filter + 1) % OWNER_FILTERS.len();
                self.after = None;
                self.pages.clear();
                self.selected = 0;
                self.blast = None;
                let mut out = vec![Outcome::Status(Tone::Info, format!("owners: {}", self.status_filter().map_or("everyone", OwnerStatus::as_str)))];
                out.extend(self.load().into_iter().map(Outcome::Effect));
                return out;
            }
            Action::Revoke => return self.open_bulk(ctx),
            Action::Back if self.blast.is_some() => {
                self.blast = None;
                Vec::new()
            }
            Action::Back => return vec![Outcome::Home],
            _ => Vec::new(),
        };
        fx.into_iter().map(Outcome::Effect).collect()
    }

    /// `r`: the dry run of revoking everything the person holds.
    fn open_bulk(&self, ctx: &KeyCtx) -> Vec<Outcome> {
        let status = |tone, text: String| vec![Outcome::Status(tone, text)];
        if let Some(refusal) = ctx.may.refusal(crate::actions::Act::RevokeOwner) {
            return status(Tone::Warning, refusal);
        }
        let Some(plan) = self.blast.as_ref().and_then(|p| p.data.clone()) else {
            let key = |a| crate::tui::widgets::key_label(ctx.keymap, NAME, a);
            return status(Tone::Info, format!("{} shows the person's blast radius first; {} then revokes it", key(Action::Detail), key(Action::Revoke)));
        };
        if plan.revocable().count() == 0 && plan.pending_grants.is_empty() {
            return status(Tone::Info, format!("{} holds nothing live to revoke", plan.owner));
        }
        vec![Outcome::Open(Form::Bulk(Box::new(BulkForm::new(plan))))]
    }

    pub fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        let theme = ctx.theme;
        let (list, pane) = match &self.blast {
            Some(_) => {
                let [a, b] = Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(area);
                (a, Some(b))
            }
            None => (area, None),
        };
        let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(list);
        let keys = ctx.hints(NAME, &[(Action::CycleFilter, "filter"), (Action::Detail, "blast radius"), (Action::Revoke, "revoke all")]);
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(format!(" people: {}", self.status_filter().map_or("everyone", OwnerStatus::as_str)), theme.header),
                Span::styled(format!(" · page {} · {keys}", self.pages.len() + 1), theme.muted),
            ])),
            head,
        );
        let height = body.height.saturating_sub(1) as usize;
        let offset = window(self.selected, height);
        let rows: Vec<Row> = self
            .rows
            .iter()
            .skip(offset)
            .take(height)
            .map(|p| {
                let st = match p.status {
                    OwnerStatus::Offboarded => theme.danger,
                    OwnerStatus::Active => theme.ok,
                    OwnerStatus::Unknown => theme.warning,
                };
                let left = p.offboarded_at.as_deref().map(|t| when(t, ctx.now)).unwrap_or_default();
                Row::new(vec![
                    Cell::from(Span::styled(safe(&p.id, 60), theme.text)),
                    Cell::from(Span::styled(safe(p.team.as_deref().unwrap_or(""), 30), theme.muted)),
                    Cell::from(Span::styled(p.status.as_str(), st)),
                    Cell::from(Span::styled(left, theme.muted)),
                    Cell::from(Span::styled(thousands(p.active), if p.status == OwnerStatus::Offboarded && p.active > 0 { theme.danger } else { theme.text })),
                    Cell::from(Span::styled(thousands(p.total), theme.muted)),
                ])
            })
            .collect();
        // Fits the 45% a blast radius pane leaves at 140 columns: an overconstrained table lays out unpredictably.
        let widths = [Constraint::Min(20), Constraint::Length(9), Constraint::Length(10), Constraint::Length(8), Constraint::Length(6), Constraint::Length(5)];
        let header = Row::new(["OWNER", "TEAM", "STATUS", "LEFT", "ACTIVE", "TOTAL"]);
        list_table(f, body, theme, header, rows, &widths, (!self.rows.is_empty()).then(|| self.selected - offset));
        if let (Some(area), Some(p)) = (pane, &self.blast) {
            draw_blast(f, ctx, area, p);
        }
    }
}

fn draw_blast(f: &mut Frame, ctx: &Ctx, area: Rect, p: &BlastPane) {
    let theme = ctx.theme;
    let block = Block::default().borders(Borders::LEFT).border_style(theme.border).title(Span::styled(format!(" blast radius: {} ", safe(&p.owner, 60)), theme.header));
    let mut lines: Vec<Line> = Vec::new();
    match (&p.data, &p.error) {
        (_, Some(e)) => lines.push(Line::styled(safe(e, 300), theme.danger)),
        (None, _) => lines.push(Line::styled("loading…", theme.muted)),
        (Some(b), _) => {
            let live = b.revocable().count();
            let delegated = b.revocable().filter(|c| c.relation == Relation::Delegated).count();
            lines.push(Line::from(vec![
                Span::styled(format!("{} ", b.status.map_or("unknown", OwnerStatus::as_str)), if b.status == Some(OwnerStatus::Offboarded) { theme.danger } else { theme.text }),
                Span::styled(format!("· {live} live credential(s) ({delegated} delegated from theirs), {} pending grant(s)", b.pending_grants.len()), theme.text),
            ]));
            let mut issuers: Vec<&str> = b.revocable().map(|c| c.issuer.as_str()).collect();
            issuers.sort();
            issuers.dedup();
            if !issuers.is_empty() {
                lines.push(Line::styled(format!("at {}", issuers.join(", ")), theme.muted));
            }
            lines.push(Line::raw(""));
            for c in b.credentials.iter().take(area.height.saturating_sub(6) as usize) {
                let st = if c.status == CredentialStatus::Active { theme.text } else { theme.muted };
                lines.push(Line::from(vec![
                    Span::styled(format!("{} ", short(&c.credential_id)), theme.accent),
                    Span::styled(format!("{:<9} ", c.relation), if c.relation == Relation::Owned { theme.muted } else { theme.warning }),
                    Span::styled(format!("{:<8} ", c.status), st),
                    Span::styled(safe(&format!("{} · {} · {}", c.issuer, c.workload, c.scopes.join(" ")), 120), st),
                ]));
            }
            for g in &b.pending_grants {
                lines.push(Line::from(vec![
                    Span::styled(format!("{} ", safe(&g.external_id, 20)), theme.accent),
                    Span::styled("pending grant ", theme.warning),
                    Span::styled(safe(&g.scopes.join(" "), 100), theme.text),
                ]));
            }
        }
    }
    f.render_widget(Paragraph::new(Text::from(lines)).block(block), area);
}

impl super::Pane for OwnersView {
    const NAME: &'static str = NAME;
    const FOOTER: &'static [Action] = &[Action::Detail, Action::Revoke, Action::CycleFilter, Action::Command, Action::Help, Action::Quit];

    fn position(&self) -> Option<(usize, usize, &'static str)> {
        Some((self.selected, self.rows.len(), "people"))
    }

    fn act_of(action: Action) -> Option<crate::actions::Act> {
        (action == Action::Revoke).then_some(crate::actions::Act::RevokeOwner)
    }

    fn on_action(&mut self, action: Action, ctx: &KeyCtx) -> Vec<Outcome> {
        OwnersView::on_action(self, action, ctx)
    }

    fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        OwnersView::draw(self, f, ctx, area)
    }

    fn load(&self) -> Vec<Effect> {
        OwnersView::load(self)
    }
}
