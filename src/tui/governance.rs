//! The governance views' state: findings by rule, owners with their blast radius
//! and the offboarding bulk revoke, credentials expiring soon by owner, and
//! review campaigns walked item by item. Pure like the rest of `state`: keys and
//! replies in, effects out.
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

use super::keymap::Action;
use super::state::{App, Effect, Landing, Mode, Tone, View};
use crate::actions::{BulkProgress, OwnerRevokeReport, ReviewDecision, ReviewOutcome};
use crate::filter;
use crate::store::{BlastRadius, Campaign, ExpiringGroup, FindingCount, OwnerRow, RecomputeReport, ReviewItem};

/// Owners per page in the owners view; moving past either end loads the next or previous page.
pub const OWNERS_PAGE: i64 = 200;
/// Review items per page in the review view.
pub const REVIEW_PAGE: i64 = 200;
/// The windows `f` cycles through in the expiring view.
pub const EXPIRING_WINDOWS: [&str; 3] = ["24h", "7d", "30d"];
/// The owner statuses `f` cycles through in the owners view.
pub const OWNER_FILTERS: [Option<&str>; 4] = [None, Some("offboarded"), Some("unknown"), Some("active")];

#[derive(Debug, Clone, Default)]
pub struct FindingsState {
    pub counts: Vec<FindingCount>,
    pub selected: usize,
    pub last_run: Option<(String, i64)>,
    pub recomputing: bool,
}

#[derive(Debug, Clone, Default)]
pub struct OwnersState {
    pub rows: Vec<OwnerRow>,
    pub selected: usize,
    pub filter: usize,
    /// The `after` anchors of the pages before this one (keyset paging back).
    pub pages: Vec<Option<String>>,
    pub after: Option<String>,
    pub blast: Option<BlastPane>,
}

#[derive(Debug, Clone, Default)]
pub struct BlastPane {
    pub owner: String,
    pub data: Option<Box<BlastRadius>>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ExpiringState {
    pub groups: Vec<ExpiringGroup>,
    pub selected: usize,
    pub window: usize,
}

#[derive(Debug, Clone, Default)]
pub struct ReviewState {
    pub campaigns: Vec<Campaign>,
    pub campaigns_selected: usize,
    /// The open campaign and a page of its items.
    pub open: Option<Campaign>,
    pub items: Vec<ReviewItem>,
    pub selected: usize,
    pub after: i64,
    pub pages: Vec<i64>,
    /// The last reason given per decision, offered again (a campaign repeats itself).
    pub last_reasons: std::collections::HashMap<&'static str, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BulkStage {
    /// The dry run: exactly what would be revoked, and the reason being typed.
    Reason,
    Confirm,
    Running,
    Done,
}

#[derive(Debug, Clone)]
pub struct BulkForm {
    pub plan: Box<BlastRadius>,
    pub reason: TextArea<'static>,
    pub stage: BulkStage,
    pub progress: Option<BulkProgress>,
    pub report: Option<Box<OwnerRevokeReport>>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewKind {
    Keep,
    Revoke,
    Reassign,
    Shorten,
    Reduce,
}

impl ReviewKind {
    pub fn name(self) -> &'static str {
        match self {
            ReviewKind::Keep => "keep",
            ReviewKind::Revoke => "revoke",
            ReviewKind::Reassign => "reassign",
            ReviewKind::Shorten => "shorten",
            ReviewKind::Reduce => "reduce",
        }
    }
    /// What the parameter field asks, if the decision has one.
    pub fn param(self) -> Option<&'static str> {
        match self {
            ReviewKind::Reassign => Some("new owner (email)"),
            ReviewKind::Shorten => Some("expires in (e.g. 7d)"),
            ReviewKind::Reduce => Some("scopes to keep (space-separated)"),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ReviewForm {
    pub item: ReviewItem,
    pub kind: ReviewKind,
    pub param: TextArea<'static>,
    pub reason: TextArea<'static>,
    /// 0: the parameter (when there is one), 1: the reason.
    pub field: usize,
    pub waiting: bool,
    pub error: Option<String>,
}

fn field(placeholder: &str, text: &str) -> TextArea<'static> {
    let mut ta = TextArea::default();
    ta.set_placeholder_text(placeholder);
    ta.set_cursor_line_style(ratatui::style::Style::default());
    ta.insert_str(text);
    ta
}

impl App {
    /// The effect that loads a governance view's data when it is opened or refreshed.
    pub fn load_view(&mut self) -> Vec<Effect> {
        match self.view {
            View::Findings => vec![Effect::LoadFindings],
            View::Owners => vec![self.owners_effect()],
            View::Expiring => vec![Effect::LoadExpiring { window: EXPIRING_WINDOWS[self.expiring.window].into() }],
            View::Review => match &self.review.open {
                Some(c) => vec![Effect::LoadReview { name: c.name.clone(), after: self.review.after }],
                None => vec![Effect::LoadCampaigns],
            },
            _ => Vec::new(),
        }
    }

    fn owners_effect(&self) -> Effect {
        Effect::LoadOwners { status: OWNER_FILTERS[self.owners.filter].map(str::to_string), after: self.owners.after.clone() }
    }

    pub fn on_findings(&mut self, r: Result<(Vec<FindingCount>, Option<(String, i64)>), String>) {
        match r {
            Ok((mut counts, last)) => {
                counts.sort_by(|a, b| {
                    crate::findings::severity_rank(&a.severity).cmp(&crate::findings::severity_rank(&b.severity)).then(b.open.cmp(&a.open)).then(a.rule.cmp(&b.rule))
                });
                self.findings.counts = counts;
                self.findings.last_run = last;
                self.findings.selected = self.findings.selected.min(self.findings.counts.len().saturating_sub(1));
            }
            Err(e) => self.set_status(Tone::Error, format!("findings: {e}")),
        }
    }

    pub fn on_recomputed(&mut self, r: Result<RecomputeReport, String>) -> Vec<Effect> {
        self.findings.recomputing = false;
        match r {
            Ok(rep) => {
                self.set_status(Tone::Ok, format!("findings recomputed: {} open, {} new, {} closed in {} ms", rep.open, rep.opened, rep.closed, rep.millis));
                vec![Effect::LoadFindings]
            }
            Err(e) => {
                self.set_status(Tone::Error, format!("findings: {e}"));
                Vec::new()
            }
        }
    }

    pub fn on_owners(&mut self, r: Result<Vec<OwnerRow>, String>) {
        match r {
            Ok(rows) => {
                self.owners.rows = rows;
                self.owners.selected = self.owners.selected.min(self.owners.rows.len().saturating_sub(1));
            }
            Err(e) => self.set_status(Tone::Error, format!("owners: {e}")),
        }
    }

    pub fn on_blast(&mut self, r: Result<Box<BlastRadius>, String>) {
        if let Some(p) = &mut self.owners.blast {
            match r {
                Ok(b) if b.owner == p.owner => p.data = Some(b),
                Ok(_) => {}
                Err(e) => p.error = Some(e),
            }
        }
    }

    pub fn on_expiring(&mut self, r: Result<Vec<ExpiringGroup>, String>) {
        match r {
            Ok(g) => {
                self.expiring.groups = g;
                self.expiring.selected = self.expiring.selected.min(self.expiring.groups.len().saturating_sub(1));
            }
            Err(e) => self.set_status(Tone::Error, format!("expiring: {e}")),
        }
    }

    pub fn on_campaigns(&mut self, r: Result<Vec<Campaign>, String>) {
        match r {
            Ok(c) => {
                self.review.campaigns = c;
                self.review.campaigns_selected = self.review.campaigns_selected.min(self.review.campaigns.len().saturating_sub(1));
                // The open campaign's progress follows the latest count.
                if let Some(open) = &mut self.review.open {
                    if let Some(c) = self.review.campaigns.iter().find(|c| c.id == open.id) {
                        *open = c.clone();
                    }
                }
            }
            Err(e) => self.set_status(Tone::Error, format!("reviews: {e}")),
        }
    }

    pub fn on_review_items(&mut self, campaign: Result<Campaign, String>, items: Result<Vec<ReviewItem>, String>) {
        match (campaign, items) {
            (Ok(c), Ok(items)) => {
                let keep = self.review.items.get(self.review.selected).map(|i| i.id);
                self.review.open = Some(c);
                self.review.items = items;
                self.review.selected =
                    keep.and_then(|id| self.review.items.iter().position(|i| i.id == id)).unwrap_or(self.review.selected).min(self.review.items.len().saturating_sub(1));
            }
            (Err(e), _) | (_, Err(e)) => self.set_status(Tone::Error, format!("review: {e}")),
        }
    }

    pub fn on_reviewed(&mut self, r: Result<Box<ReviewOutcome>, String>) -> Vec<Effect> {
        match r {
            Ok(o) => {
                self.mode = Mode::Normal;
                self.set_status(
                    Tone::Ok,
                    format!("item {}: {} {} ({}, audit #{})", o.item, o.decision, super::state::short(&o.credential_id), o.issuer_answer.clone().unwrap_or_else(|| "recorded".into()), o.audit_seq),
                );
                // On to the next item; the list is re-read (with the campaign's progress) so the decision shows.
                self.review.selected = (self.review.selected + 1).min(self.review.items.len().saturating_sub(1));
                self.load_view()
            }
            Err(e) => {
                if let Mode::Review(form) = &mut self.mode {
                    form.waiting = false;
                    form.error = Some(e.clone());
                }
                self.set_status(Tone::Error, e);
                Vec::new()
            }
        }
    }

    pub fn on_bulk_progress(&mut self, p: BulkProgress) {
        if let Mode::Bulk(form) = &mut self.mode {
            form.progress = Some(p);
        }
    }

    pub fn on_bulk_done(&mut self, r: Result<Box<OwnerRevokeReport>, String>) -> Vec<Effect> {
        if let Mode::Bulk(form) = &mut self.mode {
            form.stage = BulkStage::Done;
            match r {
                Ok(rep) => {
                    let tone = if rep.failed.is_empty() && rep.queued.is_empty() { Tone::Ok } else { Tone::Warning };
                    self.status = Some((
                        tone,
                        format!(
                            "{}: {} revoked, {} queued (not yet revoked), {} failed, {} grant(s) denied",
                            rep.owner,
                            rep.revoked.len(),
                            rep.queued.len(),
                            rep.failed.len(),
                            rep.grants_denied.len()
                        ),
                    ));
                    form.report = Some(rep);
                }
                Err(e) => form.error = Some(e),
            }
        }
        let mut fx = self.load_view();
        if let Some(p) = &self.owners.blast {
            fx.push(Effect::LoadBlast { owner: p.owner.clone() });
        }
        fx
    }

    /// Moving in a governance view; owners and review items page by keyset past either end.
    pub fn move_governance(&mut self, delta: isize) -> Vec<Effect> {
        let step = |i: usize, len: usize| super::state::step(i, delta, len);
        match self.view {
            View::Findings => self.findings.selected = step(self.findings.selected, self.findings.counts.len()),
            View::Expiring => self.expiring.selected = step(self.expiring.selected, self.expiring.groups.len()),
            View::Owners => {
                let o = &mut self.owners;
                let len = o.rows.len();
                let target = o.selected as isize + delta;
                if target >= len as isize && len as i64 == OWNERS_PAGE && delta == 1 {
                    o.pages.push(o.after.take());
                    o.after = o.rows.last().map(|r| r.id.clone());
                    o.selected = 0;
                    o.blast = None;
                    return vec![self.owners_effect()];
                }
                if target < 0 && delta == -1 && !o.pages.is_empty() {
                    o.after = o.pages.pop().flatten();
                    o.selected = OWNERS_PAGE as usize - 1;
                    o.blast = None;
                    return vec![self.owners_effect()];
                }
                o.selected = step(o.selected, len);
                if let Some(p) = &self.owners.blast {
                    let id = self.owners.rows.get(self.owners.selected).map(|r| r.id.clone()).unwrap_or_default();
                    if p.owner != id && !id.is_empty() {
                        self.owners.blast = Some(BlastPane { owner: id.clone(), ..Default::default() });
                        return vec![Effect::LoadBlast { owner: id }];
                    }
                }
            }
            View::Review if self.review.open.is_none() => {
                self.review.campaigns_selected = step(self.review.campaigns_selected, self.review.campaigns.len());
            }
            View::Review => {
                let r = &mut self.review;
                let len = r.items.len();
                let target = r.selected as isize + delta;
                let name = r.open.as_ref().map(|c| c.name.clone()).unwrap_or_default();
                if target >= len as isize && len as i64 == REVIEW_PAGE && delta == 1 {
                    r.pages.push(r.after);
                    r.after = r.items.last().map(|i| i.id).unwrap_or(0);
                    r.selected = 0;
                    return vec![Effect::LoadReview { name, after: r.after }];
                }
                if target < 0 && delta == -1 && !r.pages.is_empty() {
                    r.after = r.pages.pop().unwrap_or(0);
                    r.selected = REVIEW_PAGE as usize - 1;
                    return vec![Effect::LoadReview { name, after: r.after }];
                }
                r.selected = step(r.selected, len);
            }
            _ => {}
        }
        Vec::new()
    }

    /// Enter in a governance view: drill down.
    pub fn drill(&mut self) -> Vec<Effect> {
        match self.view {
            // A rule's findings are a filter of the credential table: Enter there opens the detail, `r` revokes.
            View::Findings => {
                let Some(c) = self.findings.counts.get(self.findings.selected) else { return Vec::new() };
                let text = format!("finding:{}", c.rule);
                self.show_credentials(&text)
            }
            View::Expiring => {
                let Some(g) = self.expiring.groups.get(self.expiring.selected) else { return Vec::new() };
                let owner = if g.owner.is_empty() { "none".to_string() } else { g.owner.clone() };
                let text = format!("owner:{owner} status:active expires<{}", EXPIRING_WINDOWS[self.expiring.window]);
                self.show_credentials(&text)
            }
            View::Owners => {
                if self.owners.blast.is_some() {
                    self.owners.blast = None;
                    return Vec::new();
                }
                let Some(o) = self.owners.rows.get(self.owners.selected) else { return Vec::new() };
                self.owners.blast = Some(BlastPane { owner: o.id.clone(), ..Default::default() });
                vec![Effect::LoadBlast { owner: o.id.clone() }]
            }
            View::Review if self.review.open.is_none() => {
                let Some(c) = self.review.campaigns.get(self.review.campaigns_selected).cloned() else { return Vec::new() };
                self.open_campaign(&c.name)
            }
            _ => Vec::new(),
        }
    }

    pub fn open_campaign(&mut self, name: &str) -> Vec<Effect> {
        self.view = View::Review;
        self.review.after = 0;
        self.review.pages.clear();
        self.review.selected = 0;
        self.review.items.clear();
        vec![Effect::LoadReview { name: name.to_string(), after: 0 }]
    }

    fn show_credentials(&mut self, text: &str) -> Vec<Effect> {
        match filter::parse(text) {
            Ok(q) => {
                self.query = q;
                self.query_text = text.to_string();
                self.view = View::Credentials;
                self.detail = None;
                self.set_status(Tone::Info, format!("{text}: Enter opens a credential, r revokes it, Esc clears the filter"));
                self.reload(Landing::First)
            }
            Err(e) => {
                self.set_status(Tone::Error, e.message);
                Vec::new()
            }
        }
    }

    /// Esc in a governance view: close the pane or the campaign, else back to credentials.
    pub fn back_governance(&mut self) -> bool {
        if self.view == View::Owners && self.owners.blast.is_some() {
            self.owners.blast = None;
            return true;
        }
        if self.view == View::Review && self.review.open.is_some() {
            self.review.open = None;
            return true;
        }
        false
    }

    pub fn cycle_filter(&mut self) -> Vec<Effect> {
        match self.view {
            View::Owners => {
                self.owners.filter = (self.owners.filter + 1) % OWNER_FILTERS.len();
                self.owners.after = None;
                self.owners.pages.clear();
                self.owners.selected = 0;
                self.owners.blast = None;
                self.set_status(Tone::Info, format!("owners: {}", OWNER_FILTERS[self.owners.filter].unwrap_or("everyone")));
                vec![self.owners_effect()]
            }
            View::Expiring => {
                self.expiring.window = (self.expiring.window + 1) % EXPIRING_WINDOWS.len();
                self.expiring.selected = 0;
                self.load_view()
            }
            _ => Vec::new(),
        }
    }

    pub fn recompute(&mut self) -> Vec<Effect> {
        if self.view != View::Findings || self.findings.recomputing {
            return Vec::new();
        }
        self.findings.recomputing = true;
        self.set_status(Tone::Info, "recomputing every findings rule…");
        vec![Effect::RecomputeFindings]
    }

    /// `r` in the owners view: the dry run of revoking everything the person holds.
    pub fn open_bulk(&mut self) -> Vec<Effect> {
        if self.read_only {
            self.set_status(Tone::Warning, "read-only mode: revoke is not allowed");
            return Vec::new();
        }
        let Some(plan) = self.owners.blast.as_ref().and_then(|p| p.data.clone()) else {
            self.set_status(Tone::Info, "Enter shows the person's blast radius first; r then revokes it");
            return Vec::new();
        };
        if plan.revocable().count() == 0 && plan.pending_grants.is_empty() {
            self.set_status(Tone::Info, format!("{} holds nothing live to revoke", plan.owner));
            return Vec::new();
        }
        let reason = field("why? e.g. left the company 2026-11-20, HR-4411 (required, sent to every issuer)", "");
        self.mode = Mode::Bulk(Box::new(BulkForm { plan, reason, stage: BulkStage::Reason, progress: None, report: None, error: None }));
        Vec::new()
    }

    pub fn on_bulk_key(&mut self, mut form: Box<BulkForm>, key: KeyEvent) -> Vec<Effect> {
        let ctrl_c = key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        match form.stage {
            BulkStage::Reason => match key.code {
                KeyCode::Esc => return Vec::new(),
                _ if ctrl_c => return Vec::new(),
                KeyCode::Enter => {
                    if form.reason.lines().join(" ").trim().is_empty() {
                        form.error = Some("a reason is required".into());
                    } else {
                        form.error = None;
                        form.stage = BulkStage::Confirm;
                    }
                }
                _ => {
                    form.reason.input(key);
                }
            },
            BulkStage::Confirm => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => {
                    form.stage = BulkStage::Running;
                    let effect = Effect::RevokeOwner { owner: form.plan.owner.clone(), reason: form.reason.lines().join(" ").trim().to_string() };
                    self.mode = Mode::Bulk(form);
                    return vec![effect];
                }
                KeyCode::Char('n') | KeyCode::Backspace => form.stage = BulkStage::Reason,
                KeyCode::Esc => return Vec::new(),
                _ if ctrl_c => return Vec::new(),
                _ => {}
            },
            // Issuers have the requests: keys wait for the run to finish.
            BulkStage::Running => {}
            BulkStage::Done => return Vec::new(),
        }
        self.mode = Mode::Bulk(form);
        Vec::new()
    }

    /// A decision key in the review view opens its form.
    pub fn open_review(&mut self, kind: ReviewKind) -> Vec<Effect> {
        if self.view != View::Review || self.review.open.is_none() {
            return Vec::new();
        }
        if self.read_only {
            self.set_status(Tone::Warning, "read-only mode: review decisions are not allowed");
            return Vec::new();
        }
        let Some(item) = self.review.items.get(self.review.selected).cloned() else { return Vec::new() };
        if let Some(d) = &item.decision {
            self.set_status(Tone::Info, format!("item {} is decided already: {d} by {}", item.id, item.decided_by.clone().unwrap_or_default()));
            return Vec::new();
        }
        let prefill = if kind == ReviewKind::Reduce { item.field("scopes").to_string() } else { String::new() };
        let param = field(kind.param().unwrap_or(""), &prefill);
        let last = self.review.last_reasons.get(kind.name()).cloned().unwrap_or_default();
        let reason = field("reason (required; recorded in the evidence and the audit log)", &last);
        let field = if kind.param().is_some() { 0 } else { 1 };
        self.mode = Mode::Review(Box::new(ReviewForm { item, kind, param, reason, field, waiting: false, error: None }));
        Vec::new()
    }

    pub fn on_review_key(&mut self, mut form: Box<ReviewForm>, key: KeyEvent) -> Vec<Effect> {
        let ctrl_c = key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if key.code == KeyCode::Esc || ctrl_c {
            return Vec::new();
        }
        if form.waiting {
            self.mode = Mode::Review(form);
            return Vec::new();
        }
        let has_param = form.kind.param().is_some();
        match key.code {
            KeyCode::Tab | KeyCode::BackTab | KeyCode::Up | KeyCode::Down if has_param => form.field = 1 - form.field,
            KeyCode::Enter => {
                let reason = form.reason.lines().join(" ").trim().to_string();
                let param = form.param.lines().join(" ").trim().to_string();
                let decision = match form.kind {
                    ReviewKind::Keep => Ok(ReviewDecision::Keep),
                    ReviewKind::Revoke => Ok(ReviewDecision::Revoke),
                    ReviewKind::Reassign if param.contains('@') => Ok(ReviewDecision::Reassign { owner: param }),
                    ReviewKind::Reassign => Err("the new owner's email"),
                    ReviewKind::Shorten => filter::parse_duration(&param).map(|d| ReviewDecision::Shorten { ttl_seconds: d.num_seconds() }).ok_or("a duration like 7d"),
                    ReviewKind::Reduce => {
                        let scopes: Vec<String> = param.split_whitespace().map(str::to_string).collect();
                        if scopes.is_empty() { Err("the scopes to keep") } else { Ok(ReviewDecision::Reduce { scopes }) }
                    }
                };
                match decision {
                    Err(what) => {
                        form.error = Some(format!("{} needs {what}", form.kind.name()));
                        form.field = 0;
                    }
                    Ok(_) if reason.is_empty() => {
                        form.error = Some("a reason is required".into());
                        form.field = 1;
                    }
                    Ok(decision) => {
                        self.review.last_reasons.insert(form.kind.name(), reason.clone());
                        form.waiting = true;
                        form.error = None;
                        let effect = Effect::ReviewDecide { item: form.item.id, decision, reason };
                        self.mode = Mode::Review(form);
                        return vec![effect];
                    }
                }
            }
            _ if form.field == 0 && has_param => {
                form.param.input(key);
            }
            _ => {
                form.reason.input(key);
            }
        }
        self.mode = Mode::Review(form);
        Vec::new()
    }

    /// `n` in the review view: the next item nobody has decided.
    pub fn next_undecided(&mut self) -> Vec<Effect> {
        let start = self.review.selected + 1;
        if let Some(i) = self.review.items.iter().skip(start).position(|i| i.decision.is_none()) {
            self.review.selected = start + i;
        } else if let Some(i) = self.review.items.iter().position(|i| i.decision.is_none()) {
            self.review.selected = i;
        } else {
            self.set_status(Tone::Info, "every item on this page is decided");
        }
        Vec::new()
    }

    /// Governance keys that are not plain movement.
    pub fn governance_action(&mut self, action: Action) -> Option<Vec<Effect>> {
        Some(match (self.view, action) {
            (View::Findings | View::Owners | View::Expiring | View::Review, Action::Detail) => self.drill(),
            (_, Action::Recompute) => self.recompute(),
            (_, Action::CycleFilter) => self.cycle_filter(),
            (View::Owners, Action::Revoke) => self.open_bulk(),
            (View::Review, Action::Revoke) => self.open_review(ReviewKind::Revoke),
            (_, Action::Keep) => self.open_review(ReviewKind::Keep),
            (_, Action::Reassign) => self.open_review(ReviewKind::Reassign),
            (_, Action::Shorten) => self.open_review(ReviewKind::Shorten),
            (_, Action::Reduce) => self.open_review(ReviewKind::Reduce),
            (_, Action::NextUndecided) => self.next_undecided(),
            _ => return None,
        })
    }
}
