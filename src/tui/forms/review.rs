//! Deciding one review item: keep, revoke, reassign, shorten or reduce, with
//! the parameter the decision needs and a reason (offered again next time).
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;
use ratatui_textarea::TextArea;

use super::input::{cancel_or_wait, text, FormReply, FORM};
use crate::actions::ReviewDecision;
use crate::domain::{OwnerStatus, ReviewDecisionKind, ReviewItem};
use crate::tui::msg::Effect;
use crate::tui::keymap::{Action, Keymap};
use crate::tui::widgets::{centered, hints, safe, short, Ctx};

/// What the parameter field asks, if the decision has one.
fn param_prompt(kind: ReviewDecisionKind) -> Option<&'static str> {
    match kind {
        ReviewDecisionKind::Reassign => Some("new owner (email)"),
        ReviewDecisionKind::Shorten => Some("expires in (e.g. 7d)"),
        ReviewDecisionKind::Reduce => Some("scopes to keep (space-separated)"),
        ReviewDecisionKind::Keep | ReviewDecisionKind::Revoke => None,
    }
}

#[derive(Debug, Clone)]
pub struct ReviewForm {
    pub item: ReviewItem,
    pub kind: ReviewDecisionKind,
    pub param: TextArea<'static>,
    pub reason: TextArea<'static>,
    /// 0: the parameter (when there is one), 1: the reason.
    pub field: usize,
    pub waiting: bool,
    pub error: Option<String>,
}

impl ReviewForm {
    /// `last_reason` is the reason given last time for this decision, offered again.
    pub fn new(item: ReviewItem, kind: ReviewDecisionKind, last_reason: &str) -> ReviewForm {
        let prefill = if kind == ReviewDecisionKind::Reduce { item.snapshot.scopes.join(" ") } else { String::new() };
        let param = super::input::field(param_prompt(kind).unwrap_or(""), &prefill);
        let reason = super::input::field("reason (required; recorded in the evidence and the audit log)", last_reason);
        let field = if param_prompt(kind).is_some() { 0 } else { 1 };
        ReviewForm { item, kind, param, reason, field, waiting: false, error: None }
    }

    /// The reason being sent, to offer again for the next decision of this kind.
    pub fn reason(&self) -> String {
        text(&self.reason, " ")
    }

    pub fn failed(&mut self, error: &str) {
        self.waiting = false;
        self.error = Some(error.to_string());
    }

    pub fn on_key(&mut self, key: &KeyEvent, keys: &Keymap) -> FormReply {
        if let Some(reply) = cancel_or_wait(keys, key, self.waiting) {
            return reply;
        }
        let is = |a| keys.is(FORM, a, key);
        let has_param = param_prompt(self.kind).is_some();
        if has_param && (is(Action::NextField) || is(Action::PrevField)) {
            self.field = 1 - self.field;
        } else if is(Action::Submit) {
            return self.submit();
        } else if self.field == 0 && has_param {
            self.param.input(*key);
        } else {
            self.reason.input(*key);
        }
        FormReply::Stay
    }

    fn submit(&mut self) -> FormReply {
        let reason = self.reason();
        let param = text(&self.param, " ");
        let decision = match self.kind {
            ReviewDecisionKind::Keep => Ok(ReviewDecision::Keep),
            ReviewDecisionKind::Revoke => Ok(ReviewDecision::Revoke),
            ReviewDecisionKind::Reassign if param.contains('@') => Ok(ReviewDecision::Reassign { owner: param }),
            ReviewDecisionKind::Reassign => Err("the new owner's email"),
            ReviewDecisionKind::Shorten => crate::domain::parse_duration(&param).map(|d| ReviewDecision::Shorten { ttl_seconds: d.num_seconds() }).ok_or("a duration like 7d"),
            ReviewDecisionKind::Reduce => {
                let scopes: Vec<String> = param.split_whitespace().map(str::to_string).collect();
                if scopes.is_empty() { Err("the scopes to keep") } else { Ok(ReviewDecision::Reduce { scopes }) }
            }
        };
        match decision {
            Err(what) => {
                self.error = Some(format!("{} needs {what}", self.kind));
                self.field = 0;
                FormReply::Stay
            }
            Ok(_) if reason.is_empty() => {
                self.error = Some("a reason is required".into());
                self.field = 1;
                FormReply::Stay
            }
            Ok(decision) => {
                self.waiting = true;
                self.error = None;
                FormReply::Submit(Effect::ReviewDecide { item: self.item.id, decision, reason })
            }
        }
    }

    pub fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        let theme = ctx.theme;
        let has_param = param_prompt(self.kind).is_some();
        let popup = centered(area, 90, if has_param { 14 } else { 11 });
        f.render_widget(Clear, popup);
        let style = if self.kind == ReviewDecisionKind::Keep { theme.ok } else { theme.warning };
        let block = Block::default().borders(Borders::ALL).border_style(style).title(Span::styled(format!(" review: {} ", self.kind), style));
        let inner = block.inner(popup);
        f.render_widget(block, popup);
        let [summary, param_area, reason_area, err, hint] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Length(if has_param { 3 } else { 0 }),
            Constraint::Length(3),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(inner);
        let snap = &self.item.snapshot;
        let item = format!(
            "item #{} · {} · owner {} ({}) · {} · {}",
            self.item.id,
            short(&self.item.credential_id),
            snap.owner,
            OwnerStatus::or_none(snap.owner_status),
            snap.scopes.join(" "),
            snap.issuer
        );
        f.render_widget(Paragraph::new(safe(&item, 300)).style(theme.text).wrap(Wrap { trim: true }), summary);
        if has_param {
            f.render_widget(&super::input::boxed(&self.param, &format!(" {} ", param_prompt(self.kind).unwrap_or("")), self.field == 0, theme), param_area);
        }
        f.render_widget(&super::input::boxed(&self.reason, " reason ", self.field == 1, theme), reason_area);
        let (msg, st) = match (&self.error, self.waiting) {
            (Some(e), _) => (safe(e, 300), theme.danger),
            (None, true) => ("waiting for the issuer's answer…".to_string(), theme.info),
            _ => (String::new(), theme.muted),
        };
        f.render_widget(Paragraph::new(msg).style(st), err);
        let mut pairs = vec![(Action::Submit, "decide"), (Action::Cancel, "cancel")];
        if has_param {
            pairs.insert(0, (Action::NextField, "field"));
        }
        f.render_widget(Paragraph::new(hints(ctx.keymap, FORM, &pairs)).style(theme.accent), hint);
    }
}
