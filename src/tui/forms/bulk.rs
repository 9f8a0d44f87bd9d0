//! Bulk revokes: everything one person holds (offboarding), or every active
//! credential the credentials view's filter selects. The dry run shows exactly
//! what would be revoked; a reason and a confirmation start it; progress and
//! the per-credential answer follow. Both run the CLI's code path.
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;
use ratatui_textarea::TextArea;

use super::input::{text, FormReply, FORM};
use crate::actions::{BulkProgress, BulkResults, FilterPlan};
use crate::domain::{BlastItem, BlastRadius, Relation};
use crate::tui::msg::{Effect, Tone};
use crate::tui::keymap::{Action, Keymap};
use crate::tui::widgets::{centered, gauge, hints, safe, short, Ctx};

#[derive(Debug, Clone, PartialEq)]
pub enum BulkStage {
    /// The dry run: exactly what would be revoked, and the reason being typed.
    Reason,
    Confirm,
    Running,
    Done,
}

/// What a bulk revoke covers.
#[derive(Debug, Clone)]
pub enum BulkPlan {
    /// Everything one person holds, and their pending grants.
    Owner(Box<BlastRadius>),
    /// The active credentials a filter selects.
    Filter(Box<FilterPlan>),
}

impl BulkPlan {
    /// What will be revoked.
    pub fn live(&self) -> Vec<&BlastItem> {
        match self {
            BulkPlan::Owner(p) => p.revocable().collect(),
            BulkPlan::Filter(p) => p.credentials.iter().collect(),
        }
    }

    fn title(&self) -> String {
        match self {
            BulkPlan::Owner(p) => format!(" revoke everything {} holds ", safe(&p.owner, 60)),
            BulkPlan::Filter(p) => format!(" revoke every active credential of '{}' ", safe(&p.filter, 70)),
        }
    }

    /// The dry run in a sentence.
    fn summary(&self) -> String {
        let live = self.live();
        let mut issuers: Vec<&str> = live.iter().map(|c| c.issuer.as_str()).collect();
        issuers.sort();
        issuers.dedup();
        let at = if issuers.is_empty() { "-".into() } else { issuers.join(", ") };
        let asked = "Each issuer is asked first; nothing shows as revoked before it confirms.";
        match self {
            BulkPlan::Owner(p) => {
                format!(
                    "dry run: {} live credential(s) at {at} ({} delegated from theirs) and {} pending grant(s) to deny. {asked}",
                    live.len(),
                    live.iter().filter(|c| c.relation == Relation::Delegated).count(),
                    p.pending_grants.len()
                ) + if p.truncated { " More than 50,000: one run revokes these, run it again for the rest." } else { "" }
            }
            BulkPlan::Filter(p) => format!(
                "dry run: the filter selects {} credential(s); {} active at {at} would be revoked, each checked by policy and audited on its own. {asked}",
                p.matched, p.active
            ),
        }
    }

    /// The CLI twin that lists it all.
    fn cli(&self) -> String {
        match self {
            BulkPlan::Owner(p) => format!("tokenward revoke --owner {} --dry-run", p.owner),
            BulkPlan::Filter(p) => format!("tokenward revoke --filter '{}' --dry-run", p.filter),
        }
    }

    fn effect(&self, reason: String) -> Effect {
        match self {
            BulkPlan::Owner(p) => Effect::RevokeOwner { owner: p.owner.clone(), reason },
            BulkPlan::Filter(p) => Effect::RevokeFilter { filter: p.filter.clone(), reason },
        }
    }
}

#[derive(Debug, Clone)]
pub struct BulkForm {
    pub plan: BulkPlan,
    pub reason: TextArea<'static>,
    pub stage: BulkStage,
    pub progress: Option<BulkProgress>,
    pub report: Option<Box<BulkResults>>,
    pub error: Option<String>,
}

impl BulkForm {
    pub fn new(plan: Box<BlastRadius>) -> BulkForm {
        Self::with(BulkPlan::Owner(plan), "why? e.g. left the company 2026-11-20, HR-4411 (required, sent to every issuer)")
    }

    /// The active credentials a filter selects.
    pub fn for_filter(plan: Box<FilterPlan>) -> BulkForm {
        Self::with(BulkPlan::Filter(plan), "why? e.g. tasks ended, INC-2231 (required, sent to every issuer)")
    }

    /// Why a line is in the plan: owned or delegated for a person; its owner for a filter.
    fn why(&self, c: &BlastItem) -> String {
        match self.plan {
            BulkPlan::Owner(_) => c.relation.to_string(),
            BulkPlan::Filter(_) if c.owner.is_empty() => "no owner".into(),
            BulkPlan::Filter(_) => c.owner.clone(),
        }
    }

    fn with(plan: BulkPlan, hint: &str) -> BulkForm {
        let reason = super::input::field(hint, "");
        BulkForm { plan, reason, stage: BulkStage::Reason, progress: None, report: None, error: None }
    }

    pub fn on_key(&mut self, key: &KeyEvent, keys: &Keymap) -> FormReply {
        let is = |a| keys.is(FORM, a, key);
        match self.stage {
            BulkStage::Reason if is(Action::Cancel) => return FormReply::Close,
            BulkStage::Reason if is(Action::Submit) => {
                if text(&self.reason, " ").is_empty() {
                    self.error = Some("a reason is required".into());
                } else {
                    self.error = None;
                    self.stage = BulkStage::Confirm;
                }
            }
            BulkStage::Reason => {
                self.reason.input(*key);
            }
            BulkStage::Confirm if is(Action::Confirm) => {
                self.stage = BulkStage::Running;
                return FormReply::Submit(self.plan.effect(text(&self.reason, " ")));
            }
            BulkStage::Confirm if is(Action::Reject) => self.stage = BulkStage::Reason,
            BulkStage::Confirm if is(Action::Cancel) => return FormReply::Close,
            BulkStage::Confirm => {}
            // Issuers have the requests: keys wait for the run to finish.
            BulkStage::Running => {}
            BulkStage::Done => return FormReply::Close,
        }
        FormReply::Stay
    }

    /// The run ended: what it covered and did, and the status line it leaves.
    pub fn on_done(&mut self, r: Result<(String, Box<BulkResults>), String>) -> Option<(Tone, String)> {
        self.stage = BulkStage::Done;
        match r {
            Ok((what, rep)) => {
                let tone = if rep.complete() { Tone::Ok } else { Tone::Warning };
                let status = format!("{what}: {}", rep.summary());
                self.report = Some(rep);
                Some((tone, status))
            }
            Err(e) => {
                self.error = Some(e);
                None
            }
        }
    }

    pub fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        let theme = ctx.theme;
        let popup = centered(area, 110, 24);
        f.render_widget(Clear, popup);
        let plan = &self.plan;
        let live = plan.live();
        let block = Block::default().borders(Borders::ALL).border_style(theme.danger).title(Span::styled(plan.title(), theme.danger));
        let inner = block.inner(popup);
        f.render_widget(block, popup);
        let [summary, list, reason, status, hint] =
            Layout::vertical([Constraint::Length(2), Constraint::Min(3), Constraint::Length(3), Constraint::Length(2), Constraint::Length(1)]).areas(inner);
        f.render_widget(Paragraph::new(plan.summary()).style(theme.text).wrap(Wrap { trim: true }), summary);
        let mut lines: Vec<Line> = live
            .iter()
            .take(list.height as usize)
            .map(|c| {
                let done = self.report.as_ref().map(|r| {
                    if r.revoked.iter().any(|o| o.credential_id == c.credential_id) {
                        ("revoked", theme.ok)
                    } else if r.queued.iter().any(|o| o.credential_id == c.credential_id) {
                        ("queued", theme.warning)
                    } else {
                        ("FAILED", theme.danger)
                    }
                });
                let (label, st) = done.unwrap_or(("will revoke", theme.muted));
                Line::from(vec![
                    Span::styled(format!("{label:<12}"), st),
                    Span::styled(format!("{} ", short(&c.credential_id)), theme.accent),
                    Span::styled(safe(&format!("{} {} · {} · {}", c.issuer, c.external_id, self.why(c), c.scopes.join(" ")), 120), theme.text),
                ])
            })
            .collect();
        if live.len() > list.height as usize {
            lines.pop();
            lines.push(Line::styled(format!("… and {} more (all listed by `{}`)", live.len() - list.height as usize + 1, plan.cli()), theme.muted));
        }
        f.render_widget(Paragraph::new(Text::from(lines)), list);
        f.render_widget(&super::input::boxed(&self.reason, " reason ", self.stage == BulkStage::Reason, theme), reason);
        let (msg, st) = match (&self.stage, &self.error, &self.progress) {
            (_, Some(e), _) => (safe(e, 300), theme.danger),
            (BulkStage::Running, _, Some(p)) => (
                format!("{} {}/{} · {} revoked, {} queued, {} failed · {}", gauge(p.done as u64, p.total as u64), p.done, p.total, p.revoked, p.queued, p.failed, safe(&p.last, 120)),
                theme.info,
            ),
            (BulkStage::Running, _, None) => ("asking the issuers…".into(), theme.info),
            (BulkStage::Done, _, _) => match &self.report {
                Some(r) => (
                    format!(
                        "done: {} revoked, {} queued for retry (NOT yet revoked), {} failed, {} grant(s) denied · audit #{}",
                        r.revoked.len(),
                        r.queued.len(),
                        r.failed.len(),
                        r.grants_denied.len(),
                        r.audit_seq.unwrap_or(0)
                    ),
                    if r.failed.is_empty() && r.queued.is_empty() { theme.ok } else { theme.warning },
                ),
                None => (String::new(), theme.muted),
            },
            _ => (String::new(), theme.muted),
        };
        f.render_widget(Paragraph::new(msg).style(st).wrap(Wrap { trim: true }), status);
        let hint_text = match self.stage {
            BulkStage::Reason => format!("type the reason · {}", hints(ctx.keymap, FORM, &[(Action::Submit, "continue"), (Action::Cancel, "cancel")])),
            BulkStage::Confirm => hints(ctx.keymap, FORM, &[(Action::Confirm, "revoke all of it now"), (Action::Reject, "edit the reason"), (Action::Cancel, "cancel")]),
            BulkStage::Running => "revoking… (each issuer answers first)".into(),
            BulkStage::Done => "any key closes".into(),
        };
        f.render_widget(Paragraph::new(hint_text).style(if self.stage == BulkStage::Confirm { theme.danger } else { theme.accent }), hint);
    }
}
