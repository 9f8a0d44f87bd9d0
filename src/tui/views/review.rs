//! Review campaigns: the list of campaigns, then one campaign walked item by
//! item with its evidence beside it; a decision key opens the decision form.
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Wrap};
use ratatui::Frame;

use crate::domain::{Binding, Campaign, OwnerStatus, ReviewDecisionKind, ReviewItem};
use crate::tui::msg::{Effect, Tone};
use super::{KeyCtx, Outcome};
use crate::tui::forms::Form;
use crate::tui::forms::review::ReviewForm;
use crate::tui::keymap::Action;
use crate::domain::when;
use crate::tui::widgets::{empty_note, gauge, list_table, safe, step, thousands, window, Ctx};

/// Review items per page.
pub const REVIEW_PAGE: i64 = 200;

#[derive(Debug, Clone, Default)]
pub struct ReviewView {
    pub campaigns: Vec<Campaign>,
    pub campaigns_selected: usize,
    /// The open campaign and a page of its items.
    pub open: Option<Campaign>,
    pub items: Vec<ReviewItem>,
    pub selected: usize,
    pub after: i64,
    pub pages: Vec<i64>,
    /// The last reason given per decision, offered again (a campaign repeats itself).
    pub last_reasons: std::collections::HashMap<ReviewDecisionKind, String>,
}

const NAME: &str = "review";

impl ReviewView {
    pub fn load(&self) -> Vec<Effect> {
        match &self.open {
            Some(c) => vec![Effect::LoadReview { name: c.name.clone(), after: self.after }],
            None => vec![Effect::LoadCampaigns],
        }
    }

    pub fn open_campaign(&mut self, name: &str) -> Vec<Effect> {
        self.after = 0;
        self.pages.clear();
        self.selected = 0;
        self.items.clear();
        vec![Effect::LoadReview { name: name.to_string(), after: 0 }]
    }

    pub fn on_campaigns(&mut self, r: Result<Vec<Campaign>, String>) -> Vec<Outcome> {
        match r {
            Ok(c) => {
                self.campaigns = c;
                self.campaigns_selected = self.campaigns_selected.min(self.campaigns.len().saturating_sub(1));
                // The open campaign's progress follows the latest count.
                if let Some(open) = &mut self.open
                    && let Some(c) = self.campaigns.iter().find(|c| c.id == open.id)
                {
                    *open = c.clone();
                }
                Vec::new()
            }
            Err(e) => vec![Outcome::Status(Tone::Error, format!("reviews: {e}"))],
        }
    }

    /// A page for another anchor than the current one is dropped.
    pub fn on_items(&mut self, after: i64, campaign: Result<Campaign, String>, items: Result<Vec<ReviewItem>, String>) -> Vec<Outcome> {
        if after != self.after {
            return Vec::new();
        }
        match (campaign, items) {
            (Ok(c), Ok(items)) => {
                let keep = self.items.get(self.selected).map(|i| i.id);
                self.open = Some(c);
                self.items = items;
                self.selected = keep.and_then(|id| self.items.iter().position(|i| i.id == id)).unwrap_or(self.selected).min(self.items.len().saturating_sub(1));
                Vec::new()
            }
            (Err(e), _) | (_, Err(e)) => vec![Outcome::Status(Tone::Error, format!("review: {e}"))],
        }
    }

    /// A decision landed: on to the next item; the list is re-read (with the campaign's progress) so it shows.
    pub fn decided(&mut self) -> Vec<Effect> {
        self.selected = (self.selected + 1).min(self.items.len().saturating_sub(1));
        self.load()
    }

    fn move_by(&mut self, delta: isize) -> Vec<Effect> {
        let Some(open) = &self.open else {
            self.campaigns_selected = step(self.campaigns_selected, delta, self.campaigns.len());
            return Vec::new();
        };
        let name = open.name.clone();
        let len = self.items.len();
        let target = self.selected as isize + delta;
        if target >= len as isize && len as i64 == REVIEW_PAGE && delta == 1 {
            self.pages.push(self.after);
            self.after = self.items.last().map(|i| i.id).unwrap_or(0);
            self.selected = 0;
            return vec![Effect::LoadReview { name, after: self.after }];
        }
        if target < 0 && delta == -1 && !self.pages.is_empty() {
            self.after = self.pages.pop().unwrap_or(0);
            self.selected = REVIEW_PAGE as usize - 1;
            return vec![Effect::LoadReview { name, after: self.after }];
        }
        self.selected = step(self.selected, delta, len);
        Vec::new()
    }

    pub fn on_action(&mut self, action: Action, ctx: &KeyCtx) -> Vec<Outcome> {
        let fx = match action {
            Action::Down | Action::Up | Action::PageDown | Action::PageUp | Action::Top | Action::Bottom => self.move_by(ctx.delta(action)),
            Action::Detail if self.open.is_none() => match self.campaigns.get(self.campaigns_selected).map(|c| c.name.clone()) {
                Some(name) => self.open_campaign(&name),
                None => Vec::new(),
            },
            Action::Keep => return self.open_form(ReviewDecisionKind::Keep, ctx.may),
            Action::Revoke => return self.open_form(ReviewDecisionKind::Revoke, ctx.may),
            Action::Reassign => return self.open_form(ReviewDecisionKind::Reassign, ctx.may),
            Action::Shorten => return self.open_form(ReviewDecisionKind::Shorten, ctx.may),
            Action::Reduce => return self.open_form(ReviewDecisionKind::Reduce, ctx.may),
            Action::NextUndecided => return self.next_undecided(),
            Action::Back if self.open.is_some() => {
                self.open = None;
                Vec::new()
            }
            Action::Back => return vec![Outcome::Home],
            _ => Vec::new(),
        };
        fx.into_iter().map(Outcome::Effect).collect()
    }

    /// A decision key opens its form, offering the last reason given for that decision.
    fn open_form(&self, kind: ReviewDecisionKind, may: &crate::actions::Permissions) -> Vec<Outcome> {
        if self.open.is_none() {
            return Vec::new();
        }
        if let Some(refusal) = may.refusal(crate::actions::Act::Review) {
            return vec![Outcome::Status(Tone::Warning, refusal)];
        }
        let Some(item) = self.items.get(self.selected).cloned() else { return Vec::new() };
        if let Some(d) = &item.decision {
            return vec![Outcome::Status(Tone::Info, format!("item {} is decided already: {d} by {}", item.id, item.decided_by.clone().unwrap_or_default()))];
        }
        let last = self.last_reasons.get(&kind).cloned().unwrap_or_default();
        vec![Outcome::Open(Form::Review(Box::new(ReviewForm::new(item, kind, &last))))]
    }

    /// `n`: the next item nobody has decided.
    fn next_undecided(&mut self) -> Vec<Outcome> {
        let start = self.selected + 1;
        if let Some(i) = self.items.iter().skip(start).position(|i| i.decision.is_none()) {
            self.selected = start + i;
        } else if let Some(i) = self.items.iter().position(|i| i.decision.is_none()) {
            self.selected = i;
        } else {
            return vec![Outcome::Status(Tone::Info, "every item on this page is decided".into())];
        }
        Vec::new()
    }

    pub fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        match &self.open {
            None => self.draw_campaigns(f, ctx, area),
            Some(c) => self.draw_campaign(f, ctx, area, c),
        }
    }

    fn draw_campaigns(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        let theme = ctx.theme;
        let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
        let head_text = format!(" review campaigns · {} opens one · start one with :review start NAME FILTER", ctx.key(NAME, Action::Detail));
        f.render_widget(Paragraph::new(Span::styled(head_text, theme.muted)), head);
        let rows: Vec<Row> = self
            .campaigns
            .iter()
            .map(|c| {
                Row::new(vec![
                    Cell::from(Span::styled(safe(&c.name, 40), theme.accent)),
                    Cell::from(Span::styled(format!("{} / {}", thousands(c.decided), thousands(c.items)), if c.decided == c.items { theme.ok } else { theme.warning })),
                    Cell::from(Span::styled(safe(c.filter.as_deref().unwrap_or(""), 120), theme.text)),
                    Cell::from(Span::styled(when(&c.created_at, ctx.now), theme.muted)),
                    Cell::from(Span::styled(safe(&c.created_by, 60), theme.muted)),
                ])
            })
            .collect();
        let widths = [Constraint::Length(24), Constraint::Length(14), Constraint::Min(20), Constraint::Length(10), Constraint::Length(24)];
        let header = Row::new(["CAMPAIGN", "DECIDED", "FILTER", "STARTED", "BY"]);
        list_table(f, body, theme, header, rows, &widths, (!self.campaigns.is_empty()).then_some(self.campaigns_selected));
        if self.campaigns.is_empty() {
            empty_note(f, body, theme, "no campaigns yet");
        }
    }

    fn draw_campaign(&self, f: &mut Frame, ctx: &Ctx, area: Rect, c: &Campaign) {
        let theme = ctx.theme;
        let [head, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
        let pct = if c.items > 0 { c.decided * 100 / c.items } else { 100 };
        f.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(format!(" {} ", safe(&c.name, 40)), theme.header),
                Span::styled(format!("{} / {} decided ({pct}%)", gauge(c.decided as u64, c.items as u64), thousands(c.items)), theme.text),
                Span::styled(format!(" · filter {}", safe(c.filter.as_deref().unwrap_or(""), 80)), theme.muted),
            ])),
            head,
        );
        let [list, pane] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(rest);
        let height = list.height.saturating_sub(1) as usize;
        let offset = window(self.selected, height);
        let rows: Vec<Row> = self
            .items
            .iter()
            .skip(offset)
            .take(height)
            .map(|i| {
                let (d, st) = match i.decision {
                    None => ("·", theme.muted),
                    Some(ReviewDecisionKind::Keep) => ("keep", theme.ok),
                    Some(x) => (x.as_str(), theme.warning),
                };
                let snap = &i.snapshot;
                Row::new(vec![
                    Cell::from(Span::styled(format!("#{}", i.id), theme.muted)),
                    Cell::from(Span::styled(d, st)),
                    Cell::from(Span::styled(
                        if snap.owner.is_empty() { "(none)".to_string() } else { safe(&snap.owner, 40) },
                        if snap.owner_status == Some(OwnerStatus::Offboarded) { theme.danger } else { theme.text },
                    )),
                    Cell::from(Span::styled(safe(&snap.scopes.join(" "), 80), theme.accent)),
                ])
            })
            .collect();
        let widths = [Constraint::Length(6), Constraint::Length(9), Constraint::Length(26), Constraint::Min(10)];
        let header = Row::new(["ITEM", "DECISION", "OWNER", "SCOPES"]);
        list_table(f, list, theme, header, rows, &widths, (!self.items.is_empty()).then(|| self.selected - offset));
        let block = Block::default().borders(Borders::LEFT).border_style(theme.border).title(Span::styled(" evidence ", theme.header));
        let Some(i) = self.items.get(self.selected) else {
            f.render_widget(Paragraph::new("no items").style(theme.muted).block(block), pane);
            return;
        };
        let field = |k: &str, v: String, st| Line::from(vec![Span::styled(format!("{k:<12}"), theme.muted), Span::styled(safe(&v, 300), st)]);
        let snap = &i.snapshot;
        let ts = |v: &Option<String>| match v.as_deref() {
            None | Some("") => "never".to_string(),
            Some(v) => format!("{} ({})", when(v, ctx.now), v.get(..v.len().min(10)).unwrap_or(v)),
        };
        let offboarded = snap.owner_status == Some(OwnerStatus::Offboarded);
        let mut lines = vec![
            field("credential", format!("{} · {} at {}", snap.id, snap.kind, snap.issuer), theme.accent),
            field("owner", format!("{} ({})", snap.owner, OwnerStatus::or_none(snap.owner_status)), if offboarded { theme.danger } else { theme.text }),
            field("workload", snap.workload.clone(), theme.text),
            field("scopes", snap.scopes.join(" "), theme.accent),
            field("binding", snap.binding.to_string(), if snap.binding == Binding::Bearer { theme.warning } else { theme.ok }),
            field("issued", ts(&snap.issued_at), theme.text),
            field("expires", ts(&snap.expires_at), theme.text),
            field("last used", ts(&snap.last_used_at), theme.text),
            Line::raw(""),
            Line::styled("findings", theme.header),
        ];
        let findings = snap.findings.as_deref().unwrap_or("");
        if findings.is_empty() {
            lines.push(Line::styled("  none", theme.muted));
        }
        for fnd in findings.lines().filter(|x| !x.is_empty()) {
            lines.push(Line::styled(format!("  {}", safe(fnd, 200)), theme.warning));
        }
        lines.push(Line::styled("consent trail", theme.header));
        let consent = snap.consent.as_deref().unwrap_or("");
        if consent.is_empty() {
            lines.push(Line::styled("  no consent on record", theme.warning));
        }
        for e in consent.lines().filter(|x| !x.is_empty()) {
            lines.push(Line::styled(format!("  {}", safe(e, 200)), theme.text));
        }
        lines.push(Line::raw(""));
        match &i.decision {
            Some(d) => lines.push(Line::styled(
                safe(
                    &format!(
                        "decided: {d} by {} {} · {}{}",
                        i.decided_by.clone().unwrap_or_default(),
                        i.decided_at.clone().unwrap_or_default(),
                        i.reason.clone().unwrap_or_default(),
                        i.issuer_answer.as_ref().map(|a| format!(" · issuer: {a}")).unwrap_or_default()
                    ),
                    400,
                ),
                theme.ok,
            )),
            None => {
                let keys = ctx.hints(
                    NAME,
                    &[(Action::Keep, "keep"), (Action::Revoke, "revoke"), (Action::Reassign, "reassign"), (Action::Shorten, "shorten"), (Action::Reduce, "reduce scopes"), (Action::NextUndecided, "next undecided")],
                );
                lines.push(Line::styled(keys, theme.accent));
            }
        }
        f.render_widget(Paragraph::new(Text::from(lines)).block(block).wrap(Wrap { trim: false }), pane);
    }

}

impl super::Pane for ReviewView {
    const NAME: &'static str = NAME;
    const FOOTER: &'static [Action] = &[Action::Keep, Action::Revoke, Action::Reassign, Action::Shorten, Action::Reduce, Action::NextUndecided, Action::Back, Action::Help, Action::Quit];

    fn position(&self) -> Option<(usize, usize, &'static str)> {
        Some((self.selected, self.items.len(), "review items"))
    }

    fn act_of(action: Action) -> Option<crate::actions::Act> {
        matches!(action, Action::Keep | Action::Revoke | Action::Reassign | Action::Shorten | Action::Reduce).then_some(crate::actions::Act::Review)
    }

    fn on_action(&mut self, action: Action, ctx: &KeyCtx) -> Vec<Outcome> {
        ReviewView::on_action(self, action, ctx)
    }

    fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        ReviewView::draw(self, f, ctx, area)
    }

    fn load(&self) -> Vec<Effect> {
        ReviewView::load(self)
    }

    /// `:review NAME` opens a campaign; `:review start NAME [FILTER]` starts one.
    fn command(&mut self, args: &[&str], ctx: &KeyCtx) -> Option<Vec<Outcome>> {
        let outcomes = match args {
            [] => return None,
            ["start"] => vec![Outcome::Status(Tone::Error, "usage: :review start NAME [FILTER] (no FILTER: the credentials view's), e.g. :review start q4-admin scope:admin:org status:active".into())],
            ["start", ..] if let Some(why) = ctx.may.why_not(crate::actions::Act::Review) => vec![Outcome::Status(Tone::Warning, format!("starting a review is unavailable: {why}"))],
            ["start", campaign, filter @ ..] => {
                // None given: the credentials view's filter, so what is on screen is what gets reviewed.
                let filter = if filter.is_empty() { ctx.filter.trim().to_string() } else { filter.join(" ") };
                let said = if filter.is_empty() { "every credential".to_string() } else { format!("'{filter}'") };
                vec![
                    Outcome::Status(Tone::Info, format!("starting review {campaign} of {said}…")),
                    Outcome::Effect(Effect::StartReview { name: campaign.to_string(), filter: (!filter.is_empty()).then_some(filter) }),
                ]
            }
            [name, ..] => {
                let mut outcomes = vec![Outcome::Show(NAME)];
                outcomes.extend(self.open_campaign(name).into_iter().map(Outcome::Effect));
                outcomes
            }
        };
        Some(outcomes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keymap::Keymap;
    use crate::tui::views::Pane;

    fn run(view: &mut ReviewView, line: &str, read_only: bool) -> Option<Vec<Outcome>> {
        let keymap = Keymap::default_map();
        let may = if read_only { crate::actions::Permissions::none("read-only mode (--read-only)") } else { Default::default() };
        let ctx = KeyCtx { now: chrono::Utc::now(), may: &may, page: 10, keymap: &keymap, filter: "scope:admin:org" };
        view.command(&line.split_whitespace().collect::<Vec<_>>(), &ctx)
    }

    #[test]
    fn review_arguments_open_or_start_a_campaign() {
        let mut v = ReviewView::default();
        assert!(run(&mut v, "", false).is_none(), ":review alone just opens the view");
        let open = run(&mut v, "q4", false).unwrap_or_default();
        assert!(matches!(open.as_slice(), [Outcome::Show("review"), Outcome::Effect(Effect::LoadReview { name, after: 0 })] if name == "q4"), "{open:?}");
        let usage = run(&mut v, "start", false).unwrap_or_default();
        assert!(matches!(usage.as_slice(), [Outcome::Status(Tone::Error, t)] if t.starts_with("usage: :review start")), "{usage:?}");
        let refused = run(&mut v, "start q4 scope:admin", true).unwrap_or_default();
        assert!(matches!(refused.as_slice(), [Outcome::Status(Tone::Warning, _)]), "{refused:?}");
        let start = run(&mut v, "start q4 scope:admin status:active", false).unwrap_or_default();
        let want = Effect::StartReview { name: "q4".into(), filter: Some("scope:admin status:active".into()) };
        assert!(matches!(start.as_slice(), [Outcome::Status(Tone::Info, _), Outcome::Effect(e)] if *e == want), "{start:?}");
        // No filter given: the credentials view's (here `scope:admin:org`), said on the status line.
        let current = run(&mut v, "start q4", false).unwrap_or_default();
        let want = Effect::StartReview { name: "q4".into(), filter: Some("scope:admin:org".into()) };
        assert!(matches!(current.as_slice(), [Outcome::Status(Tone::Info, t), Outcome::Effect(e)] if *e == want && t.contains("'scope:admin:org'")), "{current:?}");
    }
}
