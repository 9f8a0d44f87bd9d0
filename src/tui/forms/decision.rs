//! Approving or denying one grant: the approver may remove scopes, shorten the
//! TTL and require a binding, never widen; a justification (or reason) is required.
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;
use ratatui_textarea::TextArea;

use super::input::{cancel_or_wait, text, FormReply, FORM};
use crate::domain::human_duration;
use crate::domain::{Binding, Grant};
use crate::policy::Verdict;
use crate::tui::msg::Effect;
use crate::tui::keymap::{Action, Keymap};
use crate::tui::widgets::{binding_style, centered, hints, key_label, safe, Ctx};

#[derive(Debug, Clone)]
pub struct DecisionForm {
    pub grant: Grant,
    pub approve: bool,
    pub keep: Vec<bool>,
    /// 0..scopes: a scope; then TTL, binding, justification.
    pub field: usize,
    pub ttl: TextArea<'static>,
    pub binding: Binding,
    pub note: TextArea<'static>,
    pub waiting: bool,
    pub error: Option<String>,
}

impl DecisionForm {
    pub fn new(grant: Grant, approve: bool) -> DecisionForm {
        let mut ttl = TextArea::default();
        ttl.insert_str(human_duration(chrono::Duration::seconds(grant.ttl_seconds)));
        let mut note = TextArea::default();
        note.set_placeholder_text(if approve { "justification: why this access, for this task (required)" } else { "reason (required)" });
        let keep = vec![true; grant.scopes.len()];
        let binding = grant.binding;
        let mut form = DecisionForm { grant, approve, keep, field: 0, ttl, binding, note, waiting: false, error: None };
        // Focus on the justification: approving as asked is typing why, then Enter (home row); Tab reaches scopes, TTL, binding.
        form.field = form.note_field();
        form
    }

    pub fn ttl_field(&self) -> usize {
        self.grant.scopes.len()
    }
    pub fn binding_field(&self) -> usize {
        self.grant.scopes.len() + 1
    }
    pub fn note_field(&self) -> usize {
        if self.approve { self.grant.scopes.len() + 2 } else { 0 }
    }

    /// The issuer or the policy refused: the form stays, with the answer.
    pub fn failed(&mut self, error: &str) {
        self.waiting = false;
        self.error = Some(error.to_string());
    }

    pub fn on_key(&mut self, key: &KeyEvent, keys: &Keymap) -> FormReply {
        if let Some(reply) = cancel_or_wait(keys, key, self.waiting) {
            return reply;
        }
        let is = |a| keys.is(FORM, a, key);
        let last = self.note_field();
        if self.approve && is(Action::NextField) {
            self.field = if self.field < last { self.field + 1 } else { 0 };
        } else if self.approve && is(Action::PrevField) {
            self.field = if self.field > 0 { self.field - 1 } else { last };
        } else if is(Action::Submit) {
            return self.submit();
        } else if self.approve && self.field < self.ttl_field() {
            if is(Action::ToggleScope)
                && let Some(k) = self.keep.get_mut(self.field)
            {
                *k = !*k;
            }
        } else if self.approve && self.field == self.ttl_field() {
            self.ttl.input(*key);
        } else if self.approve && self.field == self.binding_field() {
            if is(Action::CycleBinding) {
                // Tighten only: a bearer ask may become dpop or mtls, a bound ask stays bound.
                self.binding = match (self.grant.binding, self.binding) {
                    (Binding::Bearer, Binding::Bearer) => Binding::Dpop,
                    (_, Binding::Dpop) => Binding::Mtls,
                    (Binding::Bearer, Binding::Mtls) => Binding::Bearer,
                    (_, _) => Binding::Dpop,
                };
            }
        } else {
            self.note.input(*key);
        }
        FormReply::Stay
    }

    fn submit(&mut self) -> FormReply {
        let note = text(&self.note, " ");
        if note.is_empty() {
            self.error = Some(if self.approve { "a justification is required".into() } else { "a reason is required".into() });
            self.field = self.note_field();
            return FormReply::Stay;
        }
        if !self.approve {
            self.waiting = true;
            return FormReply::Submit(Effect::Deny { grant: self.grant.id.clone(), reason: note });
        }
        let scopes: Vec<String> = self.grant.scopes.iter().zip(&self.keep).filter(|(_, k)| **k).map(|(s, _)| s.clone()).collect();
        let ttl_text = text(&self.ttl, "");
        match crate::domain::parse_duration(&ttl_text) {
            None => {
                self.error = Some(format!("TTL '{ttl_text}' is not a duration like 15m, 2h, 1d"));
                self.field = self.ttl_field();
                FormReply::Stay
            }
            Some(ttl) => {
                self.waiting = true;
                self.error = None;
                FormReply::Submit(Effect::Approve(crate::actions::ApproveInput {
                    grant: self.grant.id.clone(),
                    scopes: Some(scopes),
                    ttl_seconds: Some(ttl.num_seconds()),
                    binding: Some(self.binding),
                    justification: note,
                }))
            }
        }
    }

    pub fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect, verdict: Option<&Verdict>) {
        let theme = ctx.theme;
        let g = &self.grant;
        let height = if self.approve { g.scopes.len() as u16 + 15 } else { 12 };
        let popup = centered(area, 96, height);
        f.render_widget(Clear, popup);
        let (title, style) = if self.approve { (" approve grant ", theme.ok) } else { (" deny grant ", theme.danger) };
        let block = Block::default().borders(Borders::ALL).border_style(style).title(Span::styled(title, style));
        let inner = block.inner(popup);
        f.render_widget(block, popup);
        let mut lines = vec![
            Line::from(vec![Span::styled(format!("{} ", safe(&g.external_id, 40)), theme.accent), Span::styled(safe(g.intent.as_deref().unwrap_or(""), 200), theme.text)]),
            Line::styled(
                safe(
                    &format!(
                        "{} asks for {}, {} for {}",
                        g.requested_by.as_deref().unwrap_or("?"),
                        g.workload.as_deref().unwrap_or("?"),
                        human_duration(chrono::Duration::seconds(g.ttl_seconds)),
                        g.binding
                    ),
                    200,
                ),
                theme.muted,
            ),
        ];
        if let Some(v) = verdict {
            let st = if v.allowed { theme.ok } else { theme.warning };
            lines.push(Line::styled(safe(&format!("policy, as asked: {}", v.explanation()), 300), st));
        }
        let mark = |i: usize| if self.field == i && self.approve { "▶ " } else { "  " };
        if self.approve {
            for (i, (scope, keep)) in g.scopes.iter().zip(&self.keep).enumerate() {
                lines.push(Line::from(vec![
                    Span::styled(mark(i), theme.accent),
                    Span::styled(if *keep { "[x] " } else { "[ ] " }, if *keep { theme.ok } else { theme.muted }),
                    Span::styled(safe(scope, 80), if *keep { theme.text } else { theme.muted }),
                ]));
            }
            lines.push(Line::from(vec![
                Span::styled(mark(self.binding_field()), theme.accent),
                Span::styled("binding  ", theme.muted),
                Span::styled(self.binding.to_string(), binding_style(self.binding == Binding::Bearer, theme)),
                Span::styled(format!("  ({}: require dpop or mtls)", key_label(ctx.keymap, FORM, Action::CycleBinding)), theme.muted),
            ]));
        }
        let n = lines.len() as u16;
        let [text_area, ttl_area, note_area, err, hint] = Layout::vertical([
            Constraint::Length(n),
            Constraint::Length(if self.approve { 3 } else { 0 }),
            Constraint::Length(3),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(inner);
        f.render_widget(Paragraph::new(Text::from(lines)), text_area);
        if self.approve {
            f.render_widget(&super::input::boxed(&self.ttl, " TTL (shorten only) ", self.field == self.ttl_field(), theme), ttl_area);
        }
        f.render_widget(&super::input::boxed(&self.note, if self.approve { " justification " } else { " reason " }, self.field == self.note_field(), theme), note_area);
        let (msg, st) = match (&self.error, self.waiting) {
            (Some(e), _) => (safe(e, 300), theme.danger),
            (None, true) => ("waiting for the issuer's answer…".to_string(), theme.info),
            _ => (String::new(), theme.muted),
        };
        f.render_widget(Paragraph::new(msg).style(st), err);
        let hint_text = if self.approve {
            let key = |a| key_label(ctx.keymap, FORM, a);
            let toggles = format!("{} toggle scope or binding", key(Action::ToggleScope));
            format!("{}/{} field · {toggles} · {} approve · {} cancel", key(Action::NextField), key(Action::PrevField), key(Action::Submit), key(Action::Cancel))
        } else {
            hints(ctx.keymap, FORM, &[(Action::Submit, "deny"), (Action::Cancel, "cancel")])
        };
        f.render_widget(Paragraph::new(hint_text).style(theme.accent), hint);
    }
}
