//! The credential table: a sliding window of rows over a keyset order, its
//! sort and filter, and the detail pane beside it. Keys and replies in,
//! outcomes out; `draw` reads the state and changes nothing.
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Scrollbar, ScrollbarOrientation, ScrollbarState, Table, TableState};
use ratatui::Frame;

use super::detail::DetailPane;
use crate::domain::relative;
use crate::filter::Query;
use crate::domain::{Binding, CredentialStatus, OwnerStatus};
use crate::store::{CredentialRow, PageAnchor, PageRequest, Sort, SortColumn};
use crate::tui::msg::{Effect, Landing, QueryAt, Tone};
use super::{KeyCtx, Outcome};
use crate::tui::forms::Form;
use crate::tui::forms::revoke::RevokeForm;
use crate::tui::forms::bulk::BulkForm;
use crate::tui::job::{Job, JobData};
use crate::actions::FilterPlan;
use crate::tui::keymap::Action;
use crate::tui::theme::Theme;
use crate::tui::widgets::{binding_style, safe, short, status_style, Ctx};

/// Rows asked for per keyset query: more than a tall screen.
pub const FETCH: usize = 200;
/// Rows kept in memory at most: the window slides, the table never holds the inventory.
pub const WINDOW_CAP: usize = 3 * FETCH;

/// The rows in memory: a window over the keyset order.
#[derive(Debug, Clone, Default)]
pub struct Window {
    pub rows: Vec<CredentialRow>,
    pub selected: usize,
    pub scroll: usize,
    pub at_start: bool,
    pub at_end: bool,
    pub loading: bool,
    pub generation: u64,
    pub total: Option<i64>,
    /// `total` is a capped count: at least that many, the exact count to follow.
    pub total_at_least: bool,
    /// Absolute position of rows[0] in the order, when known.
    pub first_position: Option<(String, i64)>,
    pub position_pending: bool,
    /// A move that waits for rows: after `G`, land on the last row.
    pub pending_jump: Option<Landing>,
}

#[derive(Debug, Clone)]
pub struct CredentialsView {
    pub window: Window,
    pub sort: Sort,
    pub query: Query,
    pub query_text: String,
    /// Any issuer configured: an empty inventory says to sync, else how to start.
    pub has_issuers: bool,
    pub detail: Option<DetailPane>,
    /// Table rows on screen: the page size and how far the window scrolls.
    pub viewport: usize,
}

impl Default for CredentialsView {
    fn default() -> Self {
        CredentialsView { window: Window::default(), sort: Sort::default(), query: Query::default(), query_text: String::new(), has_issuers: true, detail: None, viewport: 20 }
    }
}

const NAME: &str = "credentials";

impl CredentialsView {
    pub fn selected_row(&self) -> Option<&CredentialRow> {
        self.window.rows.get(self.window.selected)
    }

    pub fn absolute_selected(&self) -> Option<i64> {
        let (id, pos) = self.window.first_position.as_ref()?;
        (self.window.rows.first()?.id == *id).then(|| pos + self.window.selected as i64)
    }

    fn filter(&self, now: crate::domain::Timestamp) -> QueryAt {
        QueryAt { query: self.query.clone(), now }
    }

    fn page(&self, anchor: PageAnchor, now: crate::domain::Timestamp) -> PageRequest {
        PageRequest { query: self.query.clone(), now, sort: self.sort, anchor, limit: FETCH }
    }

    /// A new order or filter: a new generation, so late replies of the old one are dropped.
    pub fn reload(&mut self, landing: Landing, now: crate::domain::Timestamp) -> Vec<Effect> {
        let w = &mut self.window;
        w.generation += 1;
        w.loading = true;
        w.total = None;
        w.total_at_least = false;
        w.first_position = None;
        w.pending_jump = None;
        let anchor = if landing == Landing::Last { PageAnchor::Last } else { PageAnchor::First };
        vec![
            Effect::LoadPage { generation: self.window.generation, landing, page: self.page(anchor, now) },
            Effect::Count { generation: self.window.generation, filter: self.filter(now) },
        ]
    }

    /// A filter typed or chosen elsewhere: applied, and the table reloaded under it.
    pub fn apply_filter(&mut self, query: Query, text: &str, now: crate::domain::Timestamp) -> Vec<Effect> {
        self.query = query;
        self.query_text = text.trim().to_string();
        self.reload(Landing::First, now)
    }

    /// Re-reads the window where it stands; the cursor stays on its row (by id).
    pub fn refresh(&mut self, now: crate::domain::Timestamp) -> Vec<Effect> {
        let anchor = match self.window.rows.first() {
            Some(first) if !self.window.at_start => PageAnchor::From(first.key.clone()),
            _ => PageAnchor::First,
        };
        self.window.loading = true;
        let mut fx = vec![
            Effect::LoadPage { generation: self.window.generation, landing: Landing::Refresh, page: self.page(anchor, now) },
            Effect::Count { generation: self.window.generation, filter: self.filter(now) },
        ];
        if let Some(p) = &self.detail {
            fx.push(Effect::LoadDetail { id: p.id.clone() });
        }
        fx
    }

    pub fn on_count(&mut self, generation: u64, total: Result<i64, String>, at_least: bool) -> Vec<Outcome> {
        if generation != self.window.generation || (at_least && self.window.total.is_some() && !self.window.total_at_least) {
            return Vec::new();
        }
        match total {
            Ok(t) => {
                self.window.total = Some(t);
                self.window.total_at_least = at_least;
                Vec::new()
            }
            Err(e) => vec![Outcome::Status(Tone::Error, format!("count failed: {e}"))],
        }
    }

    pub fn on_position(&mut self, generation: u64, first_id: String, position: i64, now: crate::domain::Timestamp) -> Vec<Effect> {
        self.window.position_pending = false;
        if generation == self.window.generation {
            self.window.first_position = Some((first_id, position));
        }
        self.position_effect(now)
    }

    pub fn on_detail(&mut self, result: Result<Box<crate::detail::CredentialDetail>, String>) {
        if let Some(pane) = &mut self.detail {
            pane.on_loaded(result);
        }
    }

    pub fn on_page(&mut self, generation: u64, landing: Landing, rows: Result<Vec<CredentialRow>, String>, now: crate::domain::Timestamp) -> Vec<Outcome> {
        if generation != self.window.generation {
            return Vec::new();
        }
        self.window.loading = false;
        let rows = match rows {
            Ok(r) => r,
            Err(e) => return vec![Outcome::Status(Tone::Error, format!("query failed: {e}"))],
        };
        let full = rows.len() >= FETCH;
        let w = &mut self.window;
        match landing {
            Landing::First => {
                w.rows = rows;
                w.selected = 0;
                w.scroll = 0;
                w.at_start = true;
                w.at_end = !full;
                w.first_position = Some((w.rows.first().map(|r| r.id.clone()).unwrap_or_default(), 0));
            }
            Landing::Last => {
                w.rows = rows;
                w.selected = w.rows.len().saturating_sub(1);
                w.at_end = true;
                w.at_start = !full;
                w.first_position = None;
            }
            Landing::Refresh => {
                let keep = w.rows.get(w.selected).map(|r| r.id.clone());
                w.rows = rows;
                w.at_end = !full;
                if let Some(i) = keep.and_then(|id| w.rows.iter().position(|r| r.id == id)) {
                    w.selected = i;
                }
                w.selected = w.selected.min(w.rows.len().saturating_sub(1));
            }
            Landing::Append => {
                w.at_end = !full;
                w.rows.extend(rows);
                if w.rows.len() > WINDOW_CAP {
                    let drop = w.rows.len() - WINDOW_CAP;
                    w.rows.drain(..drop);
                    w.selected = w.selected.saturating_sub(drop);
                    w.scroll = w.scroll.saturating_sub(drop);
                    w.at_start = false;
                    w.first_position = w.first_position.take().and_then(|(_, p)| w.rows.first().map(|r| (r.id.clone(), p + drop as i64)));
                }
            }
            Landing::Prepend => {
                let n = rows.len();
                w.at_start = !full;
                w.rows.splice(0..0, rows);
                w.selected += n;
                w.scroll += n;
                w.first_position = w.first_position.take().and_then(|(_, p)| w.rows.first().map(|r| (r.id.clone(), p - n as i64)));
                if w.rows.len() > WINDOW_CAP {
                    w.rows.truncate(WINDOW_CAP);
                    w.at_end = false;
                }
            }
        }
        if let Some(jump) = w.pending_jump.take() {
            match jump {
                Landing::Append => w.selected = (w.selected + 1).min(w.rows.len().saturating_sub(1)),
                _ => w.selected = w.selected.saturating_sub(1),
            }
        }
        self.keep_visible();
        let mut fx = self.prefetch(now);
        fx.extend(self.position_effect(now));
        fx.extend(self.follow_detail());
        fx.into_iter().map(Outcome::Effect).collect()
    }

    fn position_effect(&mut self, now: crate::domain::Timestamp) -> Vec<Effect> {
        let w = &self.window;
        let Some(first) = w.rows.first() else { return Vec::new() };
        let known = w.first_position.as_ref().is_some_and(|(id, _)| *id == first.id);
        if known || w.position_pending {
            return Vec::new();
        }
        let (generation, key) = (w.generation, first.key.clone());
        self.window.position_pending = true;
        vec![Effect::Position { generation, filter: self.filter(now), sort: self.sort, key }]
    }

    /// Ask for the next rows before the cursor reaches the edge of the window.
    fn prefetch(&mut self, now: crate::domain::Timestamp) -> Vec<Effect> {
        let w = &self.window;
        if w.loading {
            return Vec::new();
        }
        let (Some(first), Some(last)) = (w.rows.first(), w.rows.last()) else { return Vec::new() };
        let margin = FETCH / 2;
        let (landing, anchor) = if !w.at_end && w.rows.len() - w.selected <= margin {
            (Landing::Append, PageAnchor::After(last.key.clone()))
        } else if !w.at_start && w.selected < margin {
            (Landing::Prepend, PageAnchor::Before(first.key.clone()))
        } else {
            return Vec::new();
        };
        self.window.loading = true;
        vec![Effect::LoadPage { generation: self.window.generation, landing, page: self.page(anchor, now) }]
    }

    pub fn keep_visible(&mut self) {
        let w = &mut self.window;
        let h = self.viewport.max(1);
        if w.selected < w.scroll {
            w.scroll = w.selected;
        } else if w.selected >= w.scroll + h {
            w.scroll = w.selected + 1 - h;
        }
        w.scroll = w.scroll.min(w.rows.len().saturating_sub(h));
        if w.selected < w.scroll {
            w.scroll = w.selected;
        }
    }

    fn follow_detail(&mut self) -> Vec<Effect> {
        let Some(id) = self.selected_row().map(|r| r.id.clone()) else { return Vec::new() };
        match &mut self.detail {
            Some(pane) if pane.id != id => {
                *pane = DetailPane { id: id.clone(), ..Default::default() };
                vec![Effect::LoadDetail { id }]
            }
            _ => Vec::new(),
        }
    }

    fn move_by(&mut self, delta: isize, now: crate::domain::Timestamp) -> Vec<Effect> {
        let w = &mut self.window;
        if w.rows.is_empty() {
            return Vec::new();
        }
        let last = w.rows.len() - 1;
        let target = w.selected as isize + delta;
        if target > last as isize && !w.at_end {
            w.pending_jump = if w.loading { None } else { Some(Landing::Append) };
        } else if target < 0 && !w.at_start {
            w.pending_jump = if w.loading { None } else { Some(Landing::Prepend) };
        }
        w.selected = target.clamp(0, last as isize) as usize;
        self.keep_visible();
        let mut fx = self.prefetch(now);
        fx.extend(self.follow_detail());
        if fx.is_empty() {
            self.window.pending_jump = None;
        }
        fx
    }

    pub fn on_action(&mut self, action: Action, ctx: &KeyCtx) -> Vec<Outcome> {
        let now = ctx.now;
        let fx = match action {
            Action::Down => self.move_by(1, now),
            Action::Up => self.move_by(-1, now),
            Action::PageDown => self.move_by(ctx.page, now),
            Action::PageUp => self.move_by(-ctx.page, now),
            Action::Top => self.reload(Landing::First, now),
            Action::Bottom => self.reload(Landing::Last, now),
            Action::Filter => return vec![Outcome::FilterPrompt],
            Action::Detail => {
                if self.detail.is_some() {
                    self.detail = None;
                    return Vec::new();
                }
                let Some(id) = self.selected_row().map(|r| r.id.clone()) else { return Vec::new() };
                self.detail = Some(DetailPane { id: id.clone(), ..Default::default() });
                vec![Effect::LoadDetail { id }]
            }
            Action::Back => {
                if self.detail.is_some() {
                    self.detail = None;
                    return Vec::new();
                }
                if self.query.is_empty() {
                    return Vec::new();
                }
                self.query = Query::default();
                self.query_text.clear();
                self.reload(Landing::First, now)
            }
            Action::SortNext => {
                let cycle = SortColumn::CYCLE;
                let i = cycle.iter().position(|c| *c == self.sort.column).unwrap_or(0);
                let column = cycle.get((i + 1) % cycle.len().max(1)).copied().unwrap_or(self.sort.column);
                self.sort = Sort { column, descending: false };
                let mut out = vec![Outcome::Status(Tone::Info, format!("sorted by {}", self.sort.column.label()))];
                out.extend(self.reload(Landing::First, now).into_iter().map(Outcome::Effect));
                return out;
            }
            Action::SortReverse => {
                self.sort.descending = !self.sort.descending;
                self.reload(Landing::First, now)
            }
            Action::Revoke => return self.open_revoke(ctx.may),
            Action::RevokeAll => return self.plan_revoke_all(ctx),
            Action::DetailDown | Action::DetailUp => {
                if let Some(p) = &mut self.detail {
                    p.scroll = if action == Action::DetailDown { p.scroll.saturating_add(3) } else { p.scroll.saturating_sub(3) };
                }
                Vec::new()
            }
            _ => Vec::new(),
        };
        fx.into_iter().map(Outcome::Effect).collect()
    }

    fn open_revoke(&self, may: &crate::actions::Permissions) -> Vec<Outcome> {
        if let Some(refusal) = may.refusal(crate::actions::Act::Revoke) {
            return vec![Outcome::Status(Tone::Warning, refusal)];
        }
        let Some(row) = self.selected_row() else { return Vec::new() };
        if row.status == CredentialStatus::Revoked {
            return vec![Outcome::Status(Tone::Info, format!("{} is already revoked", short(&row.id)))];
        }
        vec![Outcome::Open(Form::Revoke(Box::new(RevokeForm::for_row(row))))]
    }

    /// `X`: the dry run of revoking every active credential the filter selects,
    /// planned by the CLI's `revoke --filter` code; the form opens when it arrives.
    fn plan_revoke_all(&self, ctx: &KeyCtx) -> Vec<Outcome> {
        if let Some(refusal) = ctx.may.refusal(crate::actions::Act::Revoke) {
            return vec![Outcome::Status(Tone::Warning, refusal)];
        }
        if self.query.clauses.is_empty() {
            let key = |a| crate::tui::widgets::key_label(ctx.keymap, NAME, a);
            return vec![Outcome::Status(Tone::Info, format!("set a filter first ({}): {} then revokes every active credential it selects", key(Action::Filter), key(Action::RevokeAll)))];
        }
        let filter = self.query.to_string();
        let job = Job::new(NAME, "revoke-all plan", move |env| {
            let filter = filter.clone();
            async move { env.actions.filter_plan(&filter).await.map_err(|e| e.to_string()) }
        });
        vec![Outcome::Status(Tone::Info, "planning: which active credentials the filter selects…".into()), Outcome::Effect(Effect::Load(job))]
    }

    /// The plan arrived: the bulk form, or why not.
    fn on_revoke_all_plan(&self, plan: Result<FilterPlan, String>) -> Vec<Outcome> {
        match plan {
            Err(e) => vec![Outcome::Status(Tone::Error, e)],
            Ok(p) if p.active == 0 => vec![Outcome::Status(Tone::Info, format!("'{}' selects {} credential(s), none active: nothing to revoke", p.filter, p.matched))],
            Ok(p) => match p.refusal() {
                Some(refusal) => vec![Outcome::Status(Tone::Warning, refusal)],
                None => vec![
                    Outcome::Status(Tone::Info, format!("dry run: {} active credential(s) of {} selected would be revoked", p.active, p.matched)),
                    Outcome::Open(Form::Bulk(Box::new(BulkForm::for_filter(Box::new(p))))),
                ],
            },
        }
    }

    pub fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        let (table_area, detail_area) = match &self.detail {
            Some(_) if area.width >= 140 => {
                let [a, b] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
                (Some(a), Some(b))
            }
            Some(_) => (None, Some(area)),
            None => (Some(area), None),
        };
        if let Some(a) = table_area {
            self.draw_table(f, ctx, a);
        }
        if let (Some(a), Some(pane)) = (detail_area, &self.detail) {
            pane.draw(f, ctx, a);
        }
    }

    /// The sort and filter, for the tab line.
    pub fn tab_spans(&self, theme: &Theme) -> Vec<Span<'static>> {
        let arrow = if self.sort.descending { "↓" } else { "↑" };
        let mut spans = vec![Span::styled(format!("   sort: {} {arrow}", self.sort.column.label()), theme.muted)];
        if !self.query_text.is_empty() {
            spans.push(Span::styled("   filter: ", theme.muted));
            spans.push(Span::styled(safe(&self.query_text, 200), theme.accent));
        }
        spans
    }

    fn draw_table(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        let (theme, now) = (ctx.theme, ctx.now);
        let w = &self.window;
        let height = area.height.saturating_sub(1) as usize;
        let end = (w.scroll + height).min(w.rows.len());
        let visible = w.rows.get(w.scroll.min(end)..end).unwrap_or_default();
        let rows: Vec<Row> = visible
            .iter()
            .map(|r| {
                Row::new(vec![
                    Cell::from(Span::styled(short(&r.id).to_string(), theme.muted)),
                    owner_cell(r, theme),
                    Cell::from(Span::styled(safe(&r.workload, 60), theme.text)),
                    Cell::from(Span::styled(safe(&r.scopes.join(" "), 200), theme.accent)),
                    Cell::from(Span::styled(r.binding.as_str(), binding_style(r.binding == Binding::Bearer, theme))),
                    expires_cell(r, now, theme),
                    Cell::from(Span::styled(r.last_used_at.as_ref().map(|t| relative(t, now)).unwrap_or_else(|| "never".into()), theme.text)),
                    Cell::from(Span::styled(r.status.as_str(), status_style(r.status, theme))),
                ])
            })
            .collect();
        let widths = [
            Constraint::Length(8),
            Constraint::Length(28),
            Constraint::Length(18),
            Constraint::Min(14),
            Constraint::Length(7),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Length(8),
        ];
        let header = Row::new(["ID", "OWNER", "WORKLOAD", "SCOPES", "BINDING", "EXPIRES", "LAST USED", "STATUS"]).style(theme.header);
        let table = Table::new(rows, widths).header(header).row_highlight_style(theme.selection).column_spacing(1);
        let mut state = TableState::default().with_selected((!visible.is_empty()).then(|| w.selected.saturating_sub(w.scroll)));
        f.render_stateful_widget(table, area, &mut state);
        if visible.is_empty() {
            let msg = match (w.loading, self.query.is_empty(), self.has_issuers) {
                (true, _, _) => "loading…",
                (false, true, true) => "no credentials yet: run `tokenward sync`",
                (false, true, false) => "no issuers configured: `tokenward config init` writes a starter configuration; `tokenward demo` shows a synthetic organisation",
                (false, false, _) => "no credential matches the filter",
            };
            let inner = Rect { y: area.y + 2, height: 1, ..area };
            f.render_widget(Paragraph::new(msg).style(theme.muted).centered(), inner);
        }
        if let (Some(total), Some(pos)) = (w.total, self.absolute_selected())
            && total as usize > height
        {
            let mut sb = ScrollbarState::new(total as usize).position(pos as usize).viewport_content_length(height);
            let bar = Scrollbar::new(ScrollbarOrientation::VerticalRight).begin_symbol(None).end_symbol(None).style(theme.border);
            f.render_stateful_widget(bar, Rect { y: area.y + 1, height: area.height.saturating_sub(1), ..area }, &mut sb);
        }
    }
}

/// The status a drill-down from another view leaves: how to act on what it lists.
pub fn drill_hint(keymap: &crate::tui::keymap::Keymap, text: &str) -> String {
    let key = |a| crate::tui::widgets::key_label(keymap, NAME, a);
    format!("{text}: {} opens a credential, {} revokes it, {} clears the filter", key(Action::Detail), key(Action::Revoke), key(Action::Back))
}

fn owner_cell(r: &CredentialRow, theme: &Theme) -> Cell<'static> {
    match r.owner_status {
        Some(OwnerStatus::Offboarded) => Cell::from(Line::from(vec![Span::styled("✗ ", theme.danger), Span::styled(safe(&r.owner, 60), theme.danger)])),
        None => Cell::from(Span::styled("— none", theme.warning)),
        Some(OwnerStatus::Unknown) => Cell::from(Line::from(vec![Span::styled("? ", theme.warning), Span::styled(safe(&r.owner, 60), theme.text)])),
        Some(OwnerStatus::Active) => Cell::from(Span::styled(safe(&r.owner, 60), theme.text)),
    }
}

fn expires_cell(r: &CredentialRow, now: crate::domain::Timestamp, theme: &Theme) -> Cell<'static> {
    match &r.expires_at {
        None => Cell::from(Span::styled("never", theme.warning)),
        Some(t) if *t < now => Cell::from(Span::styled(relative(t, now), theme.muted)),
        Some(t) if (*t - now).num_days() > 30 => Cell::from(Span::styled(relative(t, now), theme.warning)),
        Some(t) => Cell::from(Span::styled(relative(t, now), theme.text)),
    }
}

impl super::Pane for CredentialsView {
    const NAME: &'static str = NAME;
    const FOOTER: &'static [Action] = &[Action::Filter, Action::Detail, Action::SortNext, Action::Revoke, Action::Command, Action::Help, Action::Quit];

    fn act_of(action: Action) -> Option<crate::actions::Act> {
        matches!(action, Action::Revoke | Action::RevokeAll).then_some(crate::actions::Act::Revoke)
    }

    fn on_action(&mut self, action: Action, ctx: &KeyCtx) -> Vec<Outcome> {
        CredentialsView::on_action(self, action, ctx)
    }

    fn on_data(&mut self, data: JobData) -> Vec<Outcome> {
        match data.downcast::<Result<FilterPlan, String>>() {
            Ok(plan) => self.on_revoke_all_plan(*plan),
            Err(_) => Vec::new(),
        }
    }

    fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        CredentialsView::draw(self, f, ctx, area)
    }

    fn tab_spans(&self, theme: &Theme) -> Vec<Span<'static>> {
        CredentialsView::tab_spans(self, theme)
    }
}
