//! The TUI's state and its pure `update`: keys and worker replies in, effects
//! out. Keys become keymap actions and go to the view or form that owns them;
//! views answer with `Outcome`s, which only `App` applies. No I/O here.
use crossterm::event::{KeyEvent, KeyEventKind};
use ratatui_textarea::TextArea;

use super::commands::{self, Opens, Views};
use super::forms::input::{single_line, FormReply, FORM};
use super::forms::{bulk::BulkForm, decision::DecisionForm, review::ReviewForm, revoke::RevokeForm, triage::TriageForm, Form};
use super::keymap::{Action, Keymap};
pub use super::commands::View;
pub use super::msg::{Effect, Landing, Msg, QueryAt, Secret, Tone};
use super::views::credentials;
use super::views::{KeyCtx, Outcome};
use crate::actions::RevokeOutcome;
use crate::domain::Timestamp;
use crate::filter;
use crate::store::{CredentialRow, Sort, SortColumn};

#[derive(Debug, Clone)]
pub enum Mode {
    Normal,
    Decide(Box<DecisionForm>),
    Triage(Box<TriageForm>),
    Filter(TextArea<'static>),
    Command(TextArea<'static>),
    Revoke(Box<RevokeForm>),
    Bulk(Box<BulkForm>),
    Review(Box<ReviewForm>),
    Help,
}

impl From<Form> for Mode {
    fn from(form: Form) -> Mode {
        match form {
            Form::Revoke(f) => Mode::Revoke(f),
            Form::Decide(f) => Mode::Decide(f),
            Form::Bulk(f) => Mode::Bulk(f),
            Form::Review(f) => Mode::Review(f),
        }
    }
}

pub struct App {
    pub view: View,
    pub mode: Mode,
    pub keymap: Keymap,
    /// Every registered view's state (`app.credentials` reads through to it).
    pub views: Views,
    pub status: Option<(Tone, String)>,
    pub theme_index: usize,
    pub themes: Vec<String>,
    pub width: u16,
    pub operator: String,
    pub db_label: String,
    pub read_only: bool,
    /// What this operator may not do, and why: such keys say so instead of opening a form.
    pub permissions: crate::actions::Permissions,
    pub now: Timestamp,
    pub quit: bool,
}

/// Tests and the bench read a view as `app.grants`: the app derefs to its views.
impl std::ops::Deref for App {
    type Target = Views;
    fn deref(&self) -> &Views {
        &self.views
    }
}

impl std::ops::DerefMut for App {
    fn deref_mut(&mut self) -> &mut Views {
        &mut self.views
    }
}

impl App {
    pub fn new(keymap: Keymap, operator: &str, db_label: &str, read_only: bool, now: Timestamp) -> App {
        App {
            view: View::Credentials,
            mode: Mode::Normal,
            keymap,
            views: Views::default(),
            status: None,
            theme_index: 0,
            themes: vec!["dark".into()],
            width: 120,
            operator: operator.to_string(),
            db_label: db_label.to_string(),
            permissions: if read_only { crate::actions::Permissions::none("read-only mode (--read-only)") } else { Default::default() },
            read_only,
            now,
            quit: false,
        }
    }

    /// What to do when the TUI starts: the first page, the count, the side lists.
    pub fn start(&mut self) -> Vec<Effect> {
        let mut fx = self.views.credentials.reload(Landing::First, self.now);
        fx.push(Effect::LoadGrants);
        fx.push(Effect::LoadIssuers);
        // Opened on another view (`[tui] start`): its own data too.
        if !matches!(self.view, View::Credentials | View::Grants | View::Issuers) {
            fx.extend(self.views.open(self.view));
        }
        fx
    }

    pub fn set_status(&mut self, tone: Tone, text: impl Into<String>) {
        self.status = Some((tone, text.into()));
    }

    pub fn selected_row(&self) -> Option<&CredentialRow> {
        self.views.credentials.selected_row()
    }

    pub fn absolute_selected(&self) -> Option<i64> {
        self.views.credentials.absolute_selected()
    }

    /// The live parse error of the filter being typed, with its column.
    pub fn filter_error(&self) -> Option<String> {
        let Mode::Filter(ta) = &self.mode else { return None };
        filter::parse(&ta.lines().join(" ")).err().map(|e| format!("{} (at column {})", e.message, e.position + 1))
    }

    /// Applies what views asked for, in order; the effects are what remains to run.
    fn apply(&mut self, outcomes: Vec<Outcome>) -> Vec<Effect> {
        let mut fx = Vec::new();
        for outcome in outcomes {
            match outcome {
                Outcome::Effect(e) => fx.push(e),
                Outcome::Status(tone, text) => self.set_status(tone, text),
                Outcome::ShowCredentials(text) => fx.extend(self.show_credentials(&text)),
                Outcome::Home => self.view = View::Credentials,
                Outcome::Show(name) => self.view = View::named(name).unwrap_or(self.view),
                Outcome::Run(line) => fx.extend(self.run_command(&line)),
                Outcome::Open(form) => self.mode = form.into(),
                Outcome::FilterPrompt => {
                    let mut ta = single_line("owner:ana@acme.test scope:repo:write binding:bearer expires<7d unused>90d -status:revoked");
                    ta.insert_str(&self.views.credentials.query_text);
                    self.mode = Mode::Filter(ta);
                }
            }
        }
        fx
    }

    fn show_credentials(&mut self, text: &str) -> Vec<Effect> {
        match filter::parse(text) {
            Ok(q) => {
                self.view = View::Credentials;
                self.views.credentials.detail = None;
                self.set_status(Tone::Info, credentials::drill_hint(&self.keymap, text));
                self.views.credentials.apply_filter(q, text, self.now)
            }
            Err(e) => {
                self.set_status(Tone::Error, e.message);
                Vec::new()
            }
        }
    }

    /// The shown view's own data again, on a refresh or after a bulk revoke.
    fn load_view(&self) -> Vec<Effect> {
        self.views.load(self.view)
    }

    /// Everything on screen again: the side lists, the view, the window where it stands.
    fn refresh(&mut self) -> Vec<Effect> {
        let mut fx = vec![Effect::LoadGrants, Effect::LoadIssuers];
        fx.extend(self.load_view());
        fx.extend(self.views.credentials.refresh(self.now));
        fx
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        let now = self.now;
        let outcomes = match msg {
            Msg::Key(k) => return self.on_key(k),
            Msg::Data { view, data } => self.views.on_data(view, data),
            Msg::Resize { width, height } => {
                self.width = width;
                // header, table header, status bar, footer
                self.views.credentials.viewport = (height as usize).saturating_sub(5).max(1);
                self.views.credentials.keep_visible();
                Vec::new()
            }
            Msg::Page { generation, landing, rows } => self.views.credentials.on_page(generation, landing, rows, now),
            Msg::Count { generation, total, at_least } => self.views.credentials.on_count(generation, total, at_least),
            Msg::Position { generation, first_id, position } => return self.views.credentials.on_position(generation, first_id, position, now),
            Msg::Detail(result) => {
                self.views.credentials.on_detail(result);
                Vec::new()
            }
            Msg::Grants(r) => self.views.grants.on_grants(r),
            Msg::Verdicts(v) => {
                self.views.grants.verdicts = v;
                Vec::new()
            }
            Msg::Issuers(r) => self.views.issuers.on_issuers(r),
            Msg::SyncRuns(r) => self.views.issuers.on_sync_runs(r),
            Msg::Revoked { id, result } => return self.on_revoked(id, result),
            Msg::Sync(ev) => match self.views.issuers.on_sync(ev) {
                Some((tone, text)) => {
                    self.set_status(tone, text);
                    return self.refresh();
                }
                None => Vec::new(),
            },
            Msg::Decided(result) => return self.on_decided(result),
            Msg::Triaged(result) => {
                if let Mode::Triage(form) = &mut self.mode {
                    form.on_report(result);
                }
                Vec::new()
            }
            Msg::Findings(r) => self.views.findings.on_findings(r),
            Msg::Recomputed(r) => self.views.findings.on_recomputed(r),
            Msg::Owners { status, after, rows } => self.views.owners.on_owners(status, after, rows),
            Msg::Blast(r) => {
                self.views.owners.on_blast(r);
                Vec::new()
            }
            Msg::BulkProgress(p) => {
                if let Mode::Bulk(form) = &mut self.mode {
                    form.progress = Some(p);
                }
                Vec::new()
            }
            Msg::BulkDone(r) => {
                if let Mode::Bulk(form) = &mut self.mode
                    && let Some((tone, text)) = form.on_done(r)
                {
                    self.set_status(tone, text);
                }
                let mut fx = self.load_view();
                if let Some(p) = &self.views.owners.blast {
                    fx.push(Effect::LoadBlast { owner: p.owner.clone() });
                }
                return fx;
            }
            Msg::Expiring { window, groups } => self.views.expiring.on_expiring(&window, groups),
            Msg::Campaigns(r) => self.views.review.on_campaigns(r),
            Msg::ReviewItems { after, campaign, items } => self.views.review.on_items(after, campaign, items),
            Msg::Reviewed(r) => return self.on_reviewed(r),
            Msg::ReviewStarted(r) => match r {
                Ok(c) => {
                    self.set_status(Tone::Ok, format!("campaign {} started: {} item(s) from `{}`", c.name, c.items, c.filter.clone().unwrap_or_default()));
                    return self.open_campaign(&c.name);
                }
                Err(e) => vec![Outcome::Status(Tone::Error, format!("review: {e}"))],
            },
            Msg::Tick(now) => {
                self.now = now;
                // The queue is live: re-read it on every tick.
                return if matches!(self.mode, Mode::Normal) { self.views.on_tick(self.view) } else { Vec::new() };
            }
            // What another console did shows at once: the shown view reads its data again (a form stays as it is).
            Msg::Changed(change) => return self.on_changed(change),
        };
        self.apply(outcomes)
    }

    /// The inventory changed: refresh what is shown, and say what another
    /// operator did (their sync, decision or revocation) where no form is open.
    fn on_changed(&mut self, change: crate::store::Change) -> Vec<Effect> {
        if !matches!(self.mode, Mode::Normal) {
            return Vec::new();
        }
        if change.is_outcome() && !change.actor.is_empty() && change.actor != self.operator {
            self.set_status(Tone::Info, format!("{}: {} {} (another console)", change.actor, change.action, change.target));
        }
        self.refresh()
    }

    fn on_revoked(&mut self, id: String, result: Result<RevokeOutcome, String>) -> Vec<Effect> {
        let waiting = matches!(&self.mode, Mode::Revoke(f) if f.id == id && f.stage == super::forms::revoke::RevokeStage::Waiting);
        let short = super::widgets::short(&id).to_string();
        match result {
            Ok(outcome) => {
                if waiting {
                    self.mode = Mode::Normal;
                }
                let tone = if outcome.status == crate::actions::RevokeStatus::Revoked { Tone::Ok } else { Tone::Warning };
                self.set_status(tone, format!("{short}: {} (audit #{})", outcome.message, outcome.audit_seq));
                let mut fx = self.refresh();
                fx.retain(|e| !matches!(e, Effect::LoadGrants));
                fx
            }
            Err(e) => {
                if let Mode::Revoke(form) = &mut self.mode
                    && waiting
                {
                    form.failed(&e);
                }
                self.set_status(Tone::Error, format!("{short}: not revoked: {e}"));
                Vec::new()
            }
        }
    }

    fn on_decided(&mut self, result: Result<Box<crate::actions::GrantOutcome>, String>) -> Vec<Effect> {
        match result {
            Ok(o) => {
                self.mode = Mode::Normal;
                let what = match o.status {
                    crate::domain::GrantStatus::Approved => {
                        format!("approved {} for {}", o.scopes.join(" "), crate::domain::human_duration(chrono::Duration::seconds(o.ttl_seconds)))
                    }
                    _ if o.partial => "first approval recorded, waiting for a second approver from another group".to_string(),
                    other => other.to_string(),
                };
                self.set_status(Tone::Ok, format!("{} {what} at {} (audit #{})", o.external_id, o.issuer, o.audit_seq));
            }
            Err(e) => {
                if let Mode::Decide(form) = &mut self.mode {
                    form.failed(&e);
                }
                self.set_status(Tone::Error, e);
            }
        }
        vec![Effect::LoadGrants]
    }

    fn on_reviewed(&mut self, r: Result<Box<crate::actions::ReviewOutcome>, String>) -> Vec<Effect> {
        match r {
            Ok(o) => {
                self.mode = Mode::Normal;
                let answer = o.issuer_answer.clone().unwrap_or_else(|| "recorded".into());
                self.set_status(Tone::Ok, format!("item {}: {} {} ({answer}, audit #{})", o.item, o.decision, super::widgets::short(&o.credential_id), o.audit_seq));
                self.views.review.decided()
            }
            Err(e) => {
                if let Mode::Review(form) = &mut self.mode {
                    form.failed(&e);
                }
                self.set_status(Tone::Error, e);
                Vec::new()
            }
        }
    }

    fn open_campaign(&mut self, name: &str) -> Vec<Effect> {
        self.view = View::Review;
        self.views.review.open_campaign(name)
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        let keys = &self.keymap;
        match std::mem::replace(&mut self.mode, Mode::Normal) {
            Mode::Normal => self.on_normal_key(key),
            Mode::Help => Vec::new(),
            Mode::Filter(ta) => self.on_filter_key(ta, key),
            Mode::Command(ta) => self.on_command_key(ta, key),
            Mode::Revoke(mut form) => {
                let reply = form.on_key(&key, keys);
                self.keep_form(reply, Mode::Revoke(form))
            }
            Mode::Triage(mut form) => {
                let reply = form.on_key(&key, keys, &self.permissions);
                self.keep_form(reply, Mode::Triage(form))
            }
            Mode::Decide(mut form) => {
                let reply = form.on_key(&key, keys);
                self.keep_form(reply, Mode::Decide(form))
            }
            Mode::Bulk(mut form) => {
                let reply = form.on_key(&key, keys);
                self.keep_form(reply, Mode::Bulk(form))
            }
            Mode::Review(mut form) => {
                let reply = form.on_key(&key, keys);
                if matches!(reply, FormReply::Submit(_)) {
                    self.views.review.last_reasons.insert(form.kind, form.reason());
                }
                self.keep_form(reply, Mode::Review(form))
            }
        }
    }

    /// A form stays open unless its key closed it.
    fn keep_form(&mut self, reply: FormReply, form: Mode) -> Vec<Effect> {
        match reply {
            FormReply::Close => Vec::new(),
            FormReply::Stay => {
                self.mode = form;
                Vec::new()
            }
            FormReply::Submit(effect) => {
                self.mode = form;
                vec![effect]
            }
        }
    }

    fn on_normal_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(action) = self.keymap.action(self.view.name(), &key) else {
            return Vec::new();
        };
        self.status = None;
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
                self.mode = Mode::Command(single_line(&commands::placeholder()));
                Vec::new()
            }
            Action::NextView | Action::PrevView => {
                let all = View::ALL;
                let at = all.iter().position(|v| *v == self.view).unwrap_or(0);
                let step = if action == Action::NextView { 1 } else { all.len() - 1 };
                self.view = all[(at + step) % all.len()];
                self.views.credentials.detail = None;
                self.views.open(self.view)
            }
            Action::CycleTheme => {
                self.theme_index = (self.theme_index + 1) % self.themes.len().max(1);
                let name = self.themes.get(self.theme_index).cloned().unwrap_or_default();
                self.set_status(Tone::Info, format!("theme: {name}"));
                Vec::new()
            }
            Action::Refresh => self.refresh(),
            _ => {
                let page = self.views.credentials.viewport.max(1) as isize;
                let filter = self.views.credentials.query_text.clone();
                let ctx = KeyCtx { now: self.now, may: &self.permissions, page, keymap: &self.keymap, filter: &filter };
                let outcomes = self.views.on_action(self.view, action, &ctx);
                self.apply(outcomes)
            }
        }
    }

    fn on_filter_key(&mut self, mut ta: TextArea<'static>, key: KeyEvent) -> Vec<Effect> {
        if self.keymap.is(FORM, Action::Cancel, &key) {
            return Vec::new();
        }
        if !self.keymap.is(FORM, Action::Submit, &key) {
            ta.input(key);
            self.mode = Mode::Filter(ta);
            return Vec::new();
        }
        let text = ta.lines().join(" ");
        match filter::parse(&text) {
            Ok(q) => {
                self.view = View::Credentials;
                self.views.credentials.apply_filter(q, &text, self.now)
            }
            Err(_) => {
                self.mode = Mode::Filter(ta);
                Vec::new()
            }
        }
    }

    fn on_command_key(&mut self, mut ta: TextArea<'static>, key: KeyEvent) -> Vec<Effect> {
        if self.keymap.is(FORM, Action::Cancel, &key) {
            return Vec::new();
        }
        if self.keymap.is(FORM, Action::Submit, &key) {
            return self.run_command(&ta.lines().join(" "));
        }
        if self.keymap.is(FORM, Action::NextField, &key) {
            // Completion: one candidate fills the prompt.
            if let [one] = commands::complete(ta.lines().join("").trim()).as_slice() {
                ta = single_line("");
                ta.insert_str(*one);
            }
        } else {
            ta.input(key);
        }
        self.mode = Mode::Command(ta);
        Vec::new()
    }

    pub fn run_command(&mut self, line: &str) -> Vec<Effect> {
        let mut words = line.split_whitespace();
        let Some(word) = words.next() else { return Vec::new() };
        let arg = words.next();
        let unknown = |app: &mut App| {
            app.set_status(Tone::Error, format!("unknown command ':{line}' (try {})", commands::summary()));
            Vec::new()
        };
        let Some(command) = commands::find(word) else { return unknown(self) };
        match (command.opens, arg) {
            (Opens::View(view), _) => {
                self.views.credentials.detail = None;
                let args: Vec<&str> = arg.into_iter().chain(words).collect();
                let page = self.views.credentials.viewport.max(1) as isize;
                let filter = self.views.credentials.query_text.clone();
                let ctx = KeyCtx { now: self.now, may: &self.permissions, page, keymap: &self.keymap, filter: &filter };
                match self.views.command(view, &args, &ctx) {
                    Some(outcomes) => self.apply(outcomes),
                    None => {
                        self.view = view;
                        self.views.open(view)
                    }
                }
            }
            (Opens::Triage, _) => {
                self.mode = Mode::Triage(Box::default());
                Vec::new()
            }
            (Opens::Quit, _) => {
                self.quit = true;
                vec![Effect::Quit]
            }
            (Opens::Theme, Some(name)) => {
                match self.themes.iter().position(|t| t == name) {
                    Some(i) => {
                        self.theme_index = i;
                        self.set_status(Tone::Info, format!("theme: {name}"));
                    }
                    None => self.set_status(Tone::Error, format!("unknown theme '{name}' (have: {})", self.themes.join(", "))),
                }
                Vec::new()
            }
            (Opens::Sort, Some(col)) => match SortColumn::parse(col) {
                Some(column) => {
                    self.views.credentials.sort = Sort { column, descending: false };
                    self.views.credentials.reload(Landing::First, self.now)
                }
                None => {
                    self.set_status(Tone::Error, format!("unknown sort column '{col}'"));
                    Vec::new()
                }
            },
            (Opens::Theme | Opens::Sort, None) => unknown(self),
        }
    }
}
