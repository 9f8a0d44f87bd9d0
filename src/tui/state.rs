//! The TUI's state and its pure `update`: keys and worker replies in, effects
//! out. No I/O here; `tui::run` performs the effects and sends replies back.
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

use super::keymap::{Action, Keymap};
use crate::actions::RevokeOutcome;
use crate::detail::CredentialDetail;
use crate::domain::{Grant, Timestamp};
use crate::filter::{self, Query};
use crate::store::{CredentialRow, IssuerSummary, Key, PageAnchor, PageRequest, Sort, SortColumn, SyncRun};

/// Rows asked for per keyset query: more than a tall screen.
pub const FETCH: usize = 200;
/// Rows kept in memory at most: the window slides, the table never holds the inventory.
pub const WINDOW_CAP: usize = 3 * FETCH;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Credentials,
    Grants,
    Findings,
    Owners,
    Expiring,
    Review,
    Issuers,
}

impl View {
    pub const ALL: &'static [View] = &[View::Credentials, View::Grants, View::Findings, View::Owners, View::Expiring, View::Review, View::Issuers];

    pub fn name(self) -> &'static str {
        match self {
            View::Credentials => "credentials",
            View::Grants => "grants",
            View::Findings => "findings",
            View::Owners => "owners",
            View::Expiring => "expiring",
            View::Review => "review",
            View::Issuers => "issuers",
        }
    }
}

/// How a page reply lands in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landing {
    First,
    Last,
    Append,
    Prepend,
    /// Same rows again from the window's first key: after a revoke or a refresh.
    Refresh,
}

/// A raw token held only while triage runs; never printed, even by Debug.
#[derive(Clone, PartialEq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    LoadPage { generation: u64, landing: Landing, request: PageRequest },
    Count { generation: u64, query: Query, now: Timestamp },
    Position { generation: u64, query: Query, now: Timestamp, sort: Sort, key: Key },
    LoadDetail { id: String },
    LoadGrants,
    LoadIssuers,
    Revoke { id: String, reason: String },
    SyncIssuer { name: String },
    Approve(crate::actions::ApproveInput),
    Deny { grant: String, reason: String },
    Triage { token: Secret, reason: Option<String> },
    LoadFindings,
    RecomputeFindings,
    LoadOwners { status: Option<String>, after: Option<String> },
    LoadBlast { owner: String },
    RevokeOwner { owner: String, reason: String },
    LoadExpiring { window: String },
    LoadCampaigns,
    StartReview { name: String, filter: Option<String> },
    LoadReview { name: String, after: i64 },
    ReviewDecide { item: i64, decision: crate::actions::ReviewDecision, reason: String },
    /// The terminal bell: a new grant arrived.
    Bell,
    Quit,
}

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Resize { width: u16, height: u16 },
    Page { generation: u64, landing: Landing, rows: Result<Vec<CredentialRow>, String> },
    Count { generation: u64, total: Result<i64, String> },
    Position { generation: u64, first_id: String, position: i64 },
    Detail(Result<Box<CredentialDetail>, String>),
    Grants(Result<Vec<Grant>, String>),
    /// Cedar's verdict on approving each grant as asked, by grant id.
    Verdicts(std::collections::HashMap<String, crate::policy::Verdict>),
    Issuers(Result<Vec<IssuerSummary>, String>),
    SyncRuns(Result<Vec<SyncRun>, String>),
    Revoked { id: String, result: Result<RevokeOutcome, String> },
    Sync(crate::sync::SyncEvent),
    Decided(Result<Box<crate::actions::GrantOutcome>, String>),
    Triaged(Result<Box<crate::actions::TriageReport>, String>),
    Findings(Result<(Vec<crate::store::FindingCount>, Option<(String, i64)>), String>),
    Recomputed(Result<crate::store::RecomputeReport, String>),
    /// A page of owners, with the request it answers (a late reply to an older request is dropped).
    Owners { status: Option<String>, after: Option<String>, rows: Result<Vec<crate::store::OwnerRow>, String> },
    Blast(Result<Box<crate::store::BlastRadius>, String>),
    BulkProgress(crate::actions::BulkProgress),
    BulkDone(Result<Box<crate::actions::OwnerRevokeReport>, String>),
    Expiring { window: String, groups: Result<Vec<crate::store::ExpiringGroup>, String> },
    Campaigns(Result<Vec<crate::store::Campaign>, String>),
    ReviewItems { after: i64, campaign: Result<crate::store::Campaign, String>, items: Result<Vec<crate::store::ReviewItem>, String> },
    Reviewed(Result<Box<crate::actions::ReviewOutcome>, String>),
    ReviewStarted(Result<crate::store::Campaign, String>),
    Tick(Timestamp),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Info,
    Ok,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RevokeStage {
    Reason,
    Confirm,
    Waiting,
}

#[derive(Debug, Clone)]
pub struct RevokeForm {
    pub id: String,
    pub summary: String,
    pub reason: TextArea<'static>,
    pub stage: RevokeStage,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TriageStage {
    /// Pasting the token (masked).
    Token,
    Waiting,
    Report,
    /// Typing the reason to revoke it everywhere it is live.
    Reason,
}

#[derive(Clone)]
pub struct TriageForm {
    pub token: TextArea<'static>,
    pub reason: TextArea<'static>,
    pub stage: TriageStage,
    pub report: Option<Box<crate::actions::TriageReport>>,
    pub error: Option<String>,
}

/// Hand-written so that no Debug print can show the pasted token.
impl std::fmt::Debug for TriageForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TriageForm").field("token", &"***").field("stage", &self.stage).field("error", &self.error).finish_non_exhaustive()
    }
}

/// A sync started from the issuers view, as it runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncProgress {
    pub running: bool,
    pub pages: u64,
    pub credentials: u64,
    pub error: Option<String>,
}

/// Approving or denying one grant: the approver may remove scopes, shorten the
/// TTL and require a binding, never widen; a justification (or reason) is required.
#[derive(Debug, Clone)]
pub struct DecisionForm {
    pub grant: Grant,
    pub approve: bool,
    pub keep: Vec<bool>,
    /// 0..scopes: a scope; then TTL, binding, justification.
    pub field: usize,
    pub ttl: TextArea<'static>,
    pub binding: crate::domain::Binding,
    pub note: TextArea<'static>,
    pub waiting: bool,
    pub error: Option<String>,
}

impl DecisionForm {
    pub fn ttl_field(&self) -> usize {
        self.grant.scopes.len()
    }
    pub fn binding_field(&self) -> usize {
        self.grant.scopes.len() + 1
    }
    pub fn note_field(&self) -> usize {
        if self.approve { self.grant.scopes.len() + 2 } else { 0 }
    }
}

#[derive(Debug, Clone)]
pub enum Mode {
    Normal,
    Decide(Box<DecisionForm>),
    Triage(Box<TriageForm>),
    Filter(TextArea<'static>),
    Command(TextArea<'static>),
    Revoke(Box<RevokeForm>),
    Bulk(Box<super::governance::BulkForm>),
    Review(Box<super::governance::ReviewForm>),
    Help,
}

/// The credential table: a sliding window of rows over a keyset order.
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
    /// Absolute position of rows[0] in the order, when known.
    pub first_position: Option<(String, i64)>,
    pub position_pending: bool,
    /// A move that waits for rows: after `G`, land on the last row.
    pub pending_jump: Option<Landing>,
}

#[derive(Debug, Clone, Default)]
pub struct DetailPane {
    pub id: String,
    pub data: Option<Box<CredentialDetail>>,
    pub error: Option<String>,
    pub scroll: u16,
}

pub struct App {
    pub view: View,
    pub mode: Mode,
    pub keymap: Keymap,
    pub window: Window,
    pub sort: Sort,
    pub query: Query,
    pub query_text: String,
    pub detail: Option<DetailPane>,
    pub grants: Vec<Grant>,
    pub grants_selected: usize,
    /// Newest first (the default) or oldest first: `o` flips it.
    pub grants_newest_first: bool,
    /// How long a grant may wait before its age is called out.
    pub grant_sla: chrono::Duration,
    /// Ring the bell when new grants arrive.
    pub bell: bool,
    pub issuers: Vec<IssuerSummary>,
    pub issuers_selected: usize,
    pub findings: super::governance::FindingsState,
    pub owners: super::governance::OwnersState,
    pub expiring: super::governance::ExpiringState,
    pub review: super::governance::ReviewState,
    pub sync_runs: Vec<SyncRun>,
    pub verdicts: std::collections::HashMap<String, crate::policy::Verdict>,
    pub syncing: std::collections::BTreeMap<String, SyncProgress>,
    pub status: Option<(Tone, String)>,
    pub theme_index: usize,
    pub themes: Vec<String>,
    pub viewport: usize,
    pub width: u16,
    pub operator: String,
    pub db_label: String,
    pub read_only: bool,
    pub now: Timestamp,
    pub quit: bool,
}

impl App {
    pub fn new(keymap: Keymap, operator: &str, db_label: &str, read_only: bool, now: Timestamp) -> App {
        App {
            view: View::Credentials,
            mode: Mode::Normal,
            keymap,
            window: Window::default(),
            sort: Sort::default(),
            query: Query::default(),
            query_text: String::new(),
            detail: None,
            grants: Vec::new(),
            grants_selected: 0,
            grants_newest_first: true,
            grant_sla: chrono::Duration::minutes(15),
            bell: true,
            issuers: Vec::new(),
            issuers_selected: 0,
            findings: Default::default(),
            owners: Default::default(),
            expiring: Default::default(),
            review: Default::default(),
            sync_runs: Vec::new(),
            verdicts: std::collections::HashMap::new(),
            syncing: std::collections::BTreeMap::new(),
            status: None,
            theme_index: 0,
            themes: vec!["dark".into()],
            viewport: 20,
            width: 120,
            operator: operator.to_string(),
            db_label: db_label.to_string(),
            read_only,
            now,
            quit: false,
        }
    }

    /// What to do when the TUI starts: the first page, the count, the side lists.
    pub fn start(&mut self) -> Vec<Effect> {
        let mut fx = self.reload(Landing::First);
        fx.push(Effect::LoadGrants);
        fx.push(Effect::LoadIssuers);
        fx
    }

    /// The queue in the chosen order, by request time.
    fn order_grants(&mut self) {
        let newest = self.grants_newest_first;
        // A stable sort: grants asked at the same moment keep the store's order.
        self.grants.sort_by(|a, b| {
            let o = a.requested_at.cmp(&b.requested_at);
            if newest { o.reverse() } else { o }
        });
    }

    /// Whether a grant has waited past the SLA.
    pub fn breached(&self, g: &Grant) -> bool {
        g.requested_at.is_some_and(|t| self.now - t >= self.grant_sla)
    }

    pub fn selected_row(&self) -> Option<&CredentialRow> {
        self.window.rows.get(self.window.selected)
    }

    pub fn absolute_selected(&self) -> Option<i64> {
        let (id, pos) = self.window.first_position.as_ref()?;
        (self.window.rows.first()?.id == *id).then(|| pos + self.window.selected as i64)
    }


    fn page(&self, anchor: PageAnchor) -> PageRequest {
        PageRequest { query: self.query.clone(), now: self.now, sort: self.sort, anchor, limit: FETCH }
    }

    /// A new order or filter: a new generation, so late replies of the old one are dropped.
    pub(super) fn reload(&mut self, landing: Landing) -> Vec<Effect> {
        self.window.generation += 1;
        self.window.loading = true;
        self.window.total = None;
        self.window.first_position = None;
        self.window.pending_jump = None;
        let anchor = if landing == Landing::Last { PageAnchor::Last } else { PageAnchor::First };
        vec![
            Effect::LoadPage { generation: self.window.generation, landing, request: self.page(anchor) },
            Effect::Count { generation: self.window.generation, query: self.query.clone(), now: self.now },
        ]
    }

    pub fn set_status(&mut self, tone: Tone, text: impl Into<String>) {
        self.status = Some((tone, text.into()));
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(k) => self.on_key(k),
            Msg::Resize { width, height } => {
                self.width = width;
                // header, table header, status bar, footer
                self.viewport = (height as usize).saturating_sub(5).max(1);
                self.keep_visible();
                Vec::new()
            }
            Msg::Page { generation, landing, rows } => self.on_page(generation, landing, rows),
            Msg::Count { generation, total } => {
                if generation == self.window.generation {
                    match total {
                        Ok(t) => self.window.total = Some(t),
                        Err(e) => self.set_status(Tone::Error, format!("count failed: {e}")),
                    }
                }
                Vec::new()
            }
            Msg::Position { generation, first_id, position } => {
                self.window.position_pending = false;
                if generation == self.window.generation {
                    self.window.first_position = Some((first_id, position));
                }
                self.position_effect()
            }
            Msg::Detail(result) => {
                if let Some(pane) = &mut self.detail {
                    match result {
                        Ok(d) if d.credential.id == pane.id => {
                            pane.data = Some(d);
                            pane.error = None;
                        }
                        Ok(_) => {}
                        Err(e) => pane.error = Some(e),
                    }
                }
                Vec::new()
            }
            Msg::Grants(r) => match r {
                Ok(g) => {
                    // The cursor stays on its grant when rows arrive; new grants are announced.
                    let keep = self.grants.get(self.grants_selected).map(|g| g.id.clone());
                    let fresh = if self.grants.is_empty() { 0 } else { g.iter().filter(|n| self.grants.iter().all(|o| o.id != n.id)).count() };
                    self.grants = g;
                    self.order_grants();
                    self.grants_selected = keep
                        .and_then(|id| self.grants.iter().position(|g| g.id == id))
                        .unwrap_or(self.grants_selected)
                        .min(self.grants.len().saturating_sub(1));
                    if fresh > 0 {
                        self.set_status(Tone::Info, format!("{fresh} new grant(s) waiting for approval"));
                        return if self.bell { vec![Effect::Bell] } else { Vec::new() };
                    }
                    Vec::new()
                }
                Err(e) => {
                    self.set_status(Tone::Error, format!("grants: {e}"));
                    Vec::new()
                }
            },
            Msg::Issuers(r) => {
                match r {
                    Ok(i) => {
                        self.issuers = i;
                        self.issuers_selected = self.issuers_selected.min(self.issuers.len().saturating_sub(1));
                    }
                    Err(e) => self.set_status(Tone::Error, format!("issuers: {e}")),
                }
                Vec::new()
            }
            Msg::Verdicts(v) => {
                self.verdicts = v;
                Vec::new()
            }
            Msg::SyncRuns(r) => {
                match r {
                    Ok(runs) => self.sync_runs = runs,
                    Err(e) => self.set_status(Tone::Error, format!("sync runs: {e}")),
                }
                Vec::new()
            }
            Msg::Revoked { id, result } => self.on_revoked(id, result),
            Msg::Sync(ev) => self.on_sync(ev),
            Msg::Decided(result) => match result {
                Ok(o) => {
                    self.mode = Mode::Normal;
                    let what = match o.status {
                        crate::domain::GrantStatus::Approved => {
                            format!("approved {} for {}", o.scopes.join(" "), crate::detail::human_duration(chrono::Duration::seconds(o.ttl_seconds)))
                        }
                        _ if o.partial => "first approval recorded, waiting for a second approver from another group".to_string(),
                        other => other.to_string(),
                    };
                    self.set_status(Tone::Ok, format!("{} {what} at {} (audit #{})", o.external_id, o.issuer, o.audit_seq));
                    vec![Effect::LoadGrants]
                }
                Err(e) => {
                    if let Mode::Decide(form) = &mut self.mode {
                        form.waiting = false;
                        form.error = Some(e.clone());
                    }
                    self.set_status(Tone::Error, e);
                    vec![Effect::LoadGrants]
                }
            },
            Msg::Triaged(result) => {
                if let Mode::Triage(form) = &mut self.mode {
                    match result {
                        Ok(report) => {
                            form.report = Some(report);
                            form.error = None;
                        }
                        Err(e) => form.error = Some(e),
                    }
                    form.stage = if form.report.is_some() { TriageStage::Report } else { TriageStage::Token };
                }
                Vec::new()
            }
            Msg::Findings(r) => {
                self.on_findings(r);
                Vec::new()
            }
            Msg::Recomputed(r) => self.on_recomputed(r),
            Msg::Owners { status, after, rows } => {
                let current = super::governance::OWNER_FILTERS[self.owners.filter].map(str::to_string);
                if status == current && after == self.owners.after {
                    self.on_owners(rows);
                }
                Vec::new()
            }
            Msg::Blast(r) => {
                self.on_blast(r);
                Vec::new()
            }
            Msg::BulkProgress(p) => {
                self.on_bulk_progress(p);
                Vec::new()
            }
            Msg::BulkDone(r) => self.on_bulk_done(r),
            Msg::Expiring { window, groups } => {
                if window == super::governance::EXPIRING_WINDOWS[self.expiring.window] {
                    self.on_expiring(groups);
                }
                Vec::new()
            }
            Msg::Campaigns(r) => {
                self.on_campaigns(r);
                Vec::new()
            }
            Msg::ReviewItems { after, campaign, items } => {
                if after == self.review.after {
                    self.on_review_items(campaign, items);
                }
                Vec::new()
            }
            Msg::Reviewed(r) => self.on_reviewed(r),
            Msg::ReviewStarted(r) => match r {
                Ok(c) => {
                    self.set_status(Tone::Ok, format!("campaign {} started: {} item(s) from `{}`", c.name, c.items, c.filter.clone().unwrap_or_default()));
                    self.open_campaign(&c.name)
                }
                Err(e) => {
                    self.set_status(Tone::Error, format!("review: {e}"));
                    Vec::new()
                }
            },
            Msg::Tick(now) => {
                self.now = now;
                // The queue is live: re-read it on every tick.
                if self.view == View::Grants && matches!(self.mode, Mode::Normal) { vec![Effect::LoadGrants] } else { Vec::new() }
            }
        }
    }

    fn on_page(&mut self, generation: u64, landing: Landing, rows: Result<Vec<CredentialRow>, String>) -> Vec<Effect> {
        if generation != self.window.generation {
            return Vec::new();
        }
        self.window.loading = false;
        let rows = match rows {
            Ok(r) => r,
            Err(e) => {
                self.set_status(Tone::Error, format!("query failed: {e}"));
                return Vec::new();
            }
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
                if let Some(id) = keep {
                    if let Some(i) = w.rows.iter().position(|r| r.id == id) {
                        w.selected = i;
                    }
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
        let mut fx = self.prefetch();
        fx.extend(self.position_effect());
        fx.extend(self.follow_detail());
        fx
    }

    fn position_effect(&mut self) -> Vec<Effect> {
        let w = &self.window;
        let Some(first) = w.rows.first() else { return Vec::new() };
        let known = w.first_position.as_ref().is_some_and(|(id, _)| *id == first.id);
        if known || w.position_pending {
            return Vec::new();
        }
        let (generation, key) = (w.generation, first.key.clone());
        self.window.position_pending = true;
        vec![Effect::Position { generation, query: self.query.clone(), now: self.now, sort: self.sort, key }]
    }

    /// Ask for the next rows before the cursor reaches the edge of the window.
    fn prefetch(&mut self) -> Vec<Effect> {
        let w = &self.window;
        if w.loading || w.rows.is_empty() {
            return Vec::new();
        }
        let margin = FETCH / 2;
        let landing = if !w.at_end && w.rows.len() - w.selected <= margin {
            Landing::Append
        } else if !w.at_start && w.selected < margin {
            Landing::Prepend
        } else {
            return Vec::new();
        };
        let anchor = match landing {
            Landing::Append => PageAnchor::After(w.rows[w.rows.len() - 1].key.clone()),
            _ => PageAnchor::Before(w.rows[0].key.clone()),
        };
        self.window.loading = true;
        vec![Effect::LoadPage { generation: self.window.generation, landing, request: self.page(anchor) }]
    }

    fn keep_visible(&mut self) {
        let w = &mut self.window;
        let h = self.viewport.max(1);
        if w.selected < w.scroll {
            w.scroll = w.selected;
        } else if w.selected >= w.scroll + h {
            w.scroll = w.selected + 1 - h;
        }
        w.scroll = w.scroll.min(w.rows.len().saturating_sub(h).max(0));
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

    fn move_by(&mut self, delta: isize) -> Vec<Effect> {
        match self.view {
            View::Credentials => {
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
                let mut fx = self.prefetch();
                fx.extend(self.follow_detail());
                if fx.is_empty() {
                    self.window.pending_jump = None;
                }
                fx
            }
            View::Grants => {
                self.grants_selected = step(self.grants_selected, delta, self.grants.len());
                Vec::new()
            }
            View::Issuers => {
                self.issuers_selected = step(self.issuers_selected, delta, self.issuers.len());
                Vec::new()
            }
            View::Findings | View::Owners | View::Expiring | View::Review => self.move_governance(delta),
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind == crossterm::event::KeyEventKind::Release {
            return Vec::new();
        }
        match std::mem::replace(&mut self.mode, Mode::Normal) {
            Mode::Normal => self.on_normal_key(key),
            Mode::Help => Vec::new(),
            Mode::Filter(ta) => self.on_filter_key(ta, key),
            Mode::Command(ta) => self.on_command_key(ta, key),
            Mode::Revoke(form) => self.on_revoke_key(form, key),
            Mode::Triage(form) => self.on_triage_key(form, key),
            Mode::Decide(form) => self.on_decide_key(form, key),
            Mode::Bulk(form) => self.on_bulk_key(form, key),
            Mode::Review(form) => self.on_review_key(form, key),
        }
    }

    fn open_decision(&mut self, approve: bool) -> Vec<Effect> {
        if self.read_only {
            self.set_status(Tone::Warning, format!("read-only mode: {} is not allowed", if approve { "approve" } else { "deny" }));
            return Vec::new();
        }
        let Some(grant) = self.grants.get(self.grants_selected).cloned() else { return Vec::new() };
        let mut ttl = TextArea::default();
        ttl.insert_str(crate::detail::human_duration(chrono::Duration::seconds(grant.ttl_seconds)));
        let mut note = TextArea::default();
        note.set_placeholder_text(if approve { "justification: why this access, for this task (required)" } else { "reason (required)" });
        let keep = vec![true; grant.scopes.len()];
        let binding = grant.binding;
        let mut form = DecisionForm { grant, approve, keep, field: 0, ttl, binding, note, waiting: false, error: None };
        // Focus on the justification: approving as asked is typing why, then Enter (home row); Tab reaches scopes, TTL, binding.
        form.field = form.note_field();
        self.mode = Mode::Decide(Box::new(form));
        Vec::new()
    }

    fn on_decide_key(&mut self, mut form: Box<DecisionForm>, key: KeyEvent) -> Vec<Effect> {
        use crate::domain::Binding;
        let ctrl_c = key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if key.code == KeyCode::Esc || ctrl_c {
            return Vec::new();
        }
        if form.waiting {
            self.mode = Mode::Decide(form);
            return Vec::new();
        }
        let last = form.note_field();
        match key.code {
            KeyCode::Tab | KeyCode::Down if form.approve => form.field = if form.field < last { form.field + 1 } else { 0 },
            KeyCode::BackTab | KeyCode::Up if form.approve => form.field = if form.field > 0 { form.field - 1 } else { last },
            KeyCode::Enter => {
                let note = form.note.lines().join(" ").trim().to_string();
                if note.is_empty() {
                    form.error = Some(if form.approve { "a justification is required".into() } else { "a reason is required".into() });
                    form.field = last;
                } else if form.approve {
                    let scopes: Vec<String> = form.grant.scopes.iter().zip(&form.keep).filter(|(_, k)| **k).map(|(s, _)| s.clone()).collect();
                    let ttl_text = form.ttl.lines().join("").trim().to_string();
                    match crate::filter::parse_duration(&ttl_text) {
                        None => {
                            form.error = Some(format!("TTL '{ttl_text}' is not a duration like 15m, 2h, 1d"));
                            form.field = form.ttl_field();
                        }
                        Some(ttl) => {
                            form.waiting = true;
                            form.error = None;
                            let input = crate::actions::ApproveInput {
                                grant: form.grant.id.clone(),
                                scopes: Some(scopes),
                                ttl_seconds: Some(ttl.num_seconds()),
                                binding: Some(form.binding),
                                justification: note,
                            };
                            self.mode = Mode::Decide(form);
                            return vec![Effect::Approve(input)];
                        }
                    }
                } else {
                    form.waiting = true;
                    let effect = Effect::Deny { grant: form.grant.id.clone(), reason: note };
                    self.mode = Mode::Decide(form);
                    return vec![effect];
                }
            }
            _ if form.approve && form.field < form.ttl_field() => {
                if matches!(key.code, KeyCode::Char(' ') | KeyCode::Char('x')) {
                    let i = form.field;
                    form.keep[i] = !form.keep[i];
                }
            }
            _ if form.approve && form.field == form.ttl_field() => {
                form.ttl.input(key);
            }
            _ if form.approve && form.field == form.binding_field() => {
                if matches!(key.code, KeyCode::Char(' ') | KeyCode::Char('b') | KeyCode::Left | KeyCode::Right) {
                    // Tighten only: a bearer ask may become dpop or mtls, a bound ask stays bound.
                    form.binding = match (form.grant.binding, form.binding) {
                        (Binding::Bearer, Binding::Bearer) => Binding::Dpop,
                        (_, Binding::Dpop) => Binding::Mtls,
                        (Binding::Bearer, Binding::Mtls) => Binding::Bearer,
                        (_, _) => Binding::Dpop,
                    };
                }
            }
            _ => {
                form.note.input(key);
            }
        }
        self.mode = Mode::Decide(form);
        Vec::new()
    }

    fn on_sync(&mut self, ev: crate::sync::SyncEvent) -> Vec<Effect> {
        use crate::sync::SyncEvent;
        match ev {
            SyncEvent::Started { issuer, .. } => {
                self.syncing.insert(issuer, SyncProgress { running: true, ..Default::default() });
                Vec::new()
            }
            SyncEvent::Progress { issuer, pages, credentials, .. } => {
                let p = self.syncing.entry(issuer).or_default();
                (p.pages, p.credentials) = (pages, credentials);
                Vec::new()
            }
            SyncEvent::Finished(r) => {
                let tone = if r.error.is_some() { Tone::Error } else { Tone::Ok };
                let msg = match &r.error {
                    Some(e) => format!("{}: sync failed: {e}", r.issuer),
                    None => format!("{}: synced {} credentials in {} pages, {} gone", r.issuer, r.credentials, r.pages, r.gone),
                };
                self.syncing.insert(r.issuer.clone(), SyncProgress { running: false, pages: r.pages, credentials: r.credentials, error: r.error.clone() });
                self.set_status(tone, msg);
                self.refresh()
            }
        }
    }

    fn open_triage(&mut self) {
        let mut token = TextArea::default();
        token.set_mask_char('•');
        token.set_placeholder_text("paste the leaked token; it is never stored or shown, only its sha256");
        let mut reason = TextArea::default();
        reason.set_placeholder_text("why revoke? e.g. pasted in #eng-chat, INC-1234");
        self.mode = Mode::Triage(Box::new(TriageForm { token, reason, stage: TriageStage::Token, report: None, error: None }));
    }

    fn on_triage_key(&mut self, mut form: Box<TriageForm>, key: KeyEvent) -> Vec<Effect> {
        let ctrl_c = key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if key.code == KeyCode::Esc || ctrl_c {
            // Closing drops the token with the form.
            return Vec::new();
        }
        let token = || Secret(form.token.lines().join("").trim().to_string());
        match form.stage {
            TriageStage::Token => match key.code {
                KeyCode::Enter => {
                    let t = token();
                    if t.0.is_empty() {
                        form.error = Some("paste a token first".into());
                    } else {
                        form.stage = TriageStage::Waiting;
                        self.mode = Mode::Triage(form);
                        return vec![Effect::Triage { token: t, reason: None }];
                    }
                }
                _ => {
                    form.token.input(key);
                }
            },
            TriageStage::Report => {
                if key.code == KeyCode::Char('r') {
                    if self.read_only {
                        form.error = Some("read-only mode: revoke is not allowed".into());
                    } else if form.report.as_ref().is_some_and(|r| r.is_live()) {
                        form.stage = TriageStage::Reason;
                    } else {
                        form.error = Some("nothing live to revoke".into());
                    }
                }
            }
            TriageStage::Reason => match key.code {
                KeyCode::Enter => {
                    let reason = form.reason.lines().join(" ").trim().to_string();
                    if reason.is_empty() {
                        form.error = Some("a reason is required".into());
                    } else {
                        let t = token();
                        form.stage = TriageStage::Waiting;
                        form.error = None;
                        self.mode = Mode::Triage(form);
                        return vec![Effect::Triage { token: t, reason: Some(reason) }];
                    }
                }
                _ => {
                    form.reason.input(key);
                }
            },
            TriageStage::Waiting => {}
        }
        self.mode = Mode::Triage(form);
        Vec::new()
    }

    fn on_normal_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(action) = self.keymap.action(self.view.name(), &key) else {
            return Vec::new();
        };
        self.status = None;
        let page = self.viewport.max(1) as isize;
        if let Some(fx) = self.governance_action(action) {
            return fx;
        }
        match action {
            Action::Quit => {
                self.quit = true;
                vec![Effect::Quit]
            }
            Action::Help => {
                self.mode = Mode::Help;
                Vec::new()
            }
            Action::Command => {
                self.mode = Mode::Command(single_line("credentials | grants | findings | owners | expiring | review [NAME] | issuers | triage | theme NAME | sort COLUMN | q"));
                Vec::new()
            }
            Action::CycleTheme => {
                self.theme_index = (self.theme_index + 1) % self.themes.len().max(1);
                let name = self.themes.get(self.theme_index).cloned().unwrap_or_default();
                self.set_status(Tone::Info, format!("theme: {name}"));
                Vec::new()
            }
            Action::Refresh => self.refresh(),
            Action::Down => self.move_by(1),
            Action::Up => self.move_by(-1),
            Action::PageDown => self.move_by(page),
            Action::PageUp => self.move_by(-page),
            Action::Top => match self.view {
                View::Credentials => self.reload(Landing::First),
                _ => self.move_by(isize::MIN / 2),
            },
            Action::Bottom => match self.view {
                View::Credentials => self.reload(Landing::Last),
                _ => self.move_by(isize::MAX / 2),
            },
            Action::Filter => {
                let mut ta = single_line("owner:ana@acme.test scope:repo:write binding:bearer expires<7d unused>90d -status:revoked");
                ta.insert_str(&self.query_text);
                self.mode = Mode::Filter(ta);
                Vec::new()
            }
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
                if self.back_governance() {
                    Vec::new()
                } else if self.detail.is_some() {
                    self.detail = None;
                    Vec::new()
                } else if self.view != View::Credentials {
                    self.view = View::Credentials;
                    Vec::new()
                } else if !self.query.is_empty() {
                    self.query = Query::default();
                    self.query_text.clear();
                    self.reload(Landing::First)
                } else {
                    Vec::new()
                }
            }
            Action::SortNext => {
                let cycle = SortColumn::CYCLE;
                let i = cycle.iter().position(|c| *c == self.sort.column).unwrap_or(0);
                self.sort = Sort { column: cycle[(i + 1) % cycle.len()], descending: false };
                self.set_status(Tone::Info, format!("sorted by {}", self.sort.column.label()));
                self.reload(Landing::First)
            }
            Action::SortReverse => {
                self.sort.descending = !self.sort.descending;
                self.reload(Landing::First)
            }
            Action::Revoke => self.open_revoke(),
            Action::ToggleOrder => {
                let keep = self.grants.get(self.grants_selected).map(|g| g.id.clone());
                self.grants_newest_first = !self.grants_newest_first;
                self.order_grants();
                self.grants_selected = keep.and_then(|id| self.grants.iter().position(|g| g.id == id)).unwrap_or(0);
                self.set_status(Tone::Info, if self.grants_newest_first { "grants: newest first" } else { "grants: oldest first" });
                Vec::new()
            }
            Action::Approve => self.open_decision(true),
            Action::Deny => self.open_decision(false),
            Action::SyncNow => match self.issuers.get(self.issuers_selected) {
                Some(i) if self.syncing.get(&i.name).is_some_and(|p| p.running) => {
                    self.set_status(Tone::Info, format!("{} is already syncing", i.name));
                    Vec::new()
                }
                Some(i) => {
                    let name = i.name.clone();
                    self.syncing.insert(name.clone(), SyncProgress { running: true, ..Default::default() });
                    vec![Effect::SyncIssuer { name }]
                }
                None => Vec::new(),
            },
            // Handled by `governance_action` in the views that bind them.
            Action::Recompute | Action::CycleFilter | Action::Keep | Action::Reassign | Action::Shorten | Action::Reduce | Action::NextUndecided => Vec::new(),
            Action::DetailDown | Action::DetailUp => {
                if let Some(p) = &mut self.detail {
                    p.scroll = if action == Action::DetailDown { p.scroll.saturating_add(3) } else { p.scroll.saturating_sub(3) };
                }
                Vec::new()
            }
        }
    }

    fn refresh(&mut self) -> Vec<Effect> {
        let mut fx = vec![Effect::LoadGrants, Effect::LoadIssuers];
        fx.extend(self.load_view());
        // Re-read the window where it stands; the cursor stays on its row (by id).
        let anchor = match self.window.rows.first() {
            Some(first) if !self.window.at_start => PageAnchor::From(first.key.clone()),
            _ => PageAnchor::First,
        };
        self.window.loading = true;
        let request = self.page(anchor);
        fx.push(Effect::LoadPage { generation: self.window.generation, landing: Landing::Refresh, request });
        fx.push(Effect::Count { generation: self.window.generation, query: self.query.clone(), now: self.now });
        if let Some(p) = &self.detail {
            fx.push(Effect::LoadDetail { id: p.id.clone() });
        }
        fx
    }

    fn open_revoke(&mut self) -> Vec<Effect> {
        if self.view != View::Credentials {
            return Vec::new();
        }
        if self.read_only {
            self.set_status(Tone::Warning, "read-only mode: revoke is not allowed");
            return Vec::new();
        }
        let Some(row) = self.selected_row() else { return Vec::new() };
        if row.status == "revoked" {
            self.set_status(Tone::Info, format!("{} is already revoked", short(&row.id)));
            return Vec::new();
        }
        let summary = format!(
            "{} · {} · owner {} · {} · scopes {} · issuer {}",
            short(&row.id),
            row.kind,
            if row.owner.is_empty() { "none" } else { &row.owner },
            row.binding,
            if row.scopes.is_empty() { "-" } else { &row.scopes },
            row.issuer
        );
        let mut reason = TextArea::default();
        reason.set_placeholder_text("Why? e.g. leaked in #eng-chat, INC-1234 (required, recorded in the audit log)");
        self.mode = Mode::Revoke(Box::new(RevokeForm { id: row.id.clone(), summary, reason, stage: RevokeStage::Reason, error: None }));
        Vec::new()
    }

    fn on_revoke_key(&mut self, mut form: Box<RevokeForm>, key: KeyEvent) -> Vec<Effect> {
        let ctrl_c = key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        match form.stage {
            RevokeStage::Reason => match key.code {
                KeyCode::Esc => return Vec::new(),
                _ if ctrl_c => return Vec::new(),
                KeyCode::Enter if !key.modifiers.contains(KeyModifiers::ALT) => {
                    if form.reason.lines().join(" ").trim().is_empty() {
                        form.error = Some("a reason is required".into());
                    } else {
                        form.error = None;
                        form.stage = RevokeStage::Confirm;
                    }
                }
                _ => {
                    form.reason.input(key);
                }
            },
            RevokeStage::Confirm => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => {
                    form.stage = RevokeStage::Waiting;
                    let effect = Effect::Revoke { id: form.id.clone(), reason: form.reason.lines().join("\n").trim().to_string() };
                    self.mode = Mode::Revoke(form);
                    return vec![effect];
                }
                KeyCode::Char('n') | KeyCode::Backspace => form.stage = RevokeStage::Reason,
                KeyCode::Esc => return Vec::new(),
                _ if ctrl_c => return Vec::new(),
                _ => {}
            },
            // The issuer has the request: keys wait for its answer.
            RevokeStage::Waiting => {}
        }
        self.mode = Mode::Revoke(form);
        Vec::new()
    }

    fn on_revoked(&mut self, id: String, result: Result<RevokeOutcome, String>) -> Vec<Effect> {
        let waiting = matches!(&self.mode, Mode::Revoke(f) if f.id == id && f.stage == RevokeStage::Waiting);
        match result {
            Ok(outcome) => {
                if waiting {
                    self.mode = Mode::Normal;
                }
                let tone = if outcome.status == crate::actions::RevokeStatus::Revoked { Tone::Ok } else { Tone::Warning };
                self.set_status(tone, format!("{}: {} (audit #{})", short(&id), outcome.message, outcome.audit_seq));
                let mut fx = self.refresh();
                fx.retain(|e| !matches!(e, Effect::LoadGrants));
                fx
            }
            Err(e) => {
                if let Mode::Revoke(form) = &mut self.mode {
                    if waiting {
                        form.stage = RevokeStage::Reason;
                        form.error = Some(format!("not revoked: {e}"));
                    }
                }
                self.set_status(Tone::Error, format!("{}: not revoked: {e}", short(&id)));
                Vec::new()
            }
        }
    }

    fn on_filter_key(&mut self, mut ta: TextArea<'static>, key: KeyEvent) -> Vec<Effect> {
        match key.code {
            KeyCode::Esc => Vec::new(),
            KeyCode::Enter => {
                let text = ta.lines().join(" ");
                match filter::parse(&text) {
                    Ok(q) => {
                        self.query = q;
                        self.query_text = text.trim().to_string();
                        self.view = View::Credentials;
                        self.reload(Landing::First)
                    }
                    Err(_) => {
                        self.mode = Mode::Filter(ta);
                        Vec::new()
                    }
                }
            }
            _ => {
                ta.input(key);
                self.mode = Mode::Filter(ta);
                Vec::new()
            }
        }
    }

    /// The live parse error of the filter being typed, with a caret under it.
    pub fn filter_error(&self) -> Option<String> {
        let Mode::Filter(ta) = &self.mode else { return None };
        let text = ta.lines().join(" ");
        filter::parse(&text).err().map(|e| format!("{} (at column {})", e.message, e.position + 1))
    }

    fn on_command_key(&mut self, mut ta: TextArea<'static>, key: KeyEvent) -> Vec<Effect> {
        match key.code {
            KeyCode::Esc => Vec::new(),
            KeyCode::Tab => {
                let typed = ta.lines().join("");
                let candidates: Vec<&str> = View::ALL.iter().map(|v| v.name()).chain(["triage", "theme", "sort", "quit"]).filter(|n| n.starts_with(typed.trim())).collect();
                if let [one] = candidates.as_slice() {
                    ta = single_line("");
                    ta.insert_str(*one);
                }
                self.mode = Mode::Command(ta);
                Vec::new()
            }
            KeyCode::Enter => self.run_command(&ta.lines().join(" ")),
            _ => {
                ta.input(key);
                self.mode = Mode::Command(ta);
                Vec::new()
            }
        }
    }

    pub fn run_command(&mut self, line: &str) -> Vec<Effect> {
        let mut words = line.split_whitespace();
        let Some(cmd) = words.next() else { return Vec::new() };
        let arg = words.next();
        if let ("review" | "rev" | "re", Some(name)) = (cmd, arg) {
            self.detail = None;
            if name == "start" {
                let rest: Vec<&str> = words.collect();
                let Some((campaign, filter)) = rest.split_first() else {
                    self.set_status(Tone::Error, "usage: :review start NAME [FILTER], e.g. :review start q4-admin scope:admin:org status:active");
                    return Vec::new();
                };
                if self.read_only {
                    self.set_status(Tone::Warning, "read-only mode: starting a review is not allowed");
                    return Vec::new();
                }
                let filter = (!filter.is_empty()).then(|| filter.join(" "));
                return vec![Effect::StartReview { name: campaign.to_string(), filter }];
            }
            return self.open_campaign(name);
        }
        if let Some(v) = View::ALL.iter().find(|v| v.name().starts_with(cmd) && cmd.len() >= 2) {
            self.view = *v;
            self.detail = None;
            return match v {
                View::Credentials => Vec::new(),
                View::Grants => vec![Effect::LoadGrants],
                View::Issuers => vec![Effect::LoadIssuers],
                _ => self.load_view(),
            };
        }
        match (cmd, arg) {
            ("triage", _) => {
                self.open_triage();
                Vec::new()
            }
            ("q" | "quit" | "q!", _) => {
                self.quit = true;
                vec![Effect::Quit]
            }
            ("theme", Some(name)) => match self.themes.iter().position(|t| t == name) {
                Some(i) => {
                    self.theme_index = i;
                    self.set_status(Tone::Info, format!("theme: {name}"));
                    Vec::new()
                }
                None => {
                    self.set_status(Tone::Error, format!("unknown theme '{name}' (have: {})", self.themes.join(", ")));
                    Vec::new()
                }
            },
            ("sort", Some(col)) => match SortColumn::parse(col) {
                Some(c) => {
                    self.sort = Sort { column: c, descending: false };
                    self.reload(Landing::First)
                }
                None => {
                    self.set_status(Tone::Error, format!("unknown sort column '{col}'"));
                    Vec::new()
                }
            },
            _ => {
                self.set_status(Tone::Error, format!("unknown command ':{line}' (try :credentials, :grants, :findings, :owners, :expiring, :review, :issuers, :triage, :theme, :sort, :q)"));
                Vec::new()
            }
        }
    }
}

pub(super) fn step(i: usize, delta: isize, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    (i as isize).saturating_add(delta).clamp(0, len as isize - 1) as usize
}

pub fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}

fn single_line(placeholder: &str) -> TextArea<'static> {
    let mut ta = TextArea::default();
    ta.set_placeholder_text(placeholder);
    ta.set_cursor_line_style(ratatui::style::Style::default());
    ta
}
