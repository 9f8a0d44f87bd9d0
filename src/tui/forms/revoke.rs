//! Revoking one credential: a reason (required, sent to the issuer and the
//! audit log), then a confirmation, then the issuer's answer.
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;
use ratatui_textarea::TextArea;

use super::input::{text, FormReply, FORM};
use crate::store::CredentialRow;
use crate::tui::msg::Effect;
use crate::tui::keymap::{Action, Keymap};
use crate::tui::widgets::{centered, hints, safe, short, Ctx};

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

impl RevokeForm {
    pub fn for_row(row: &CredentialRow) -> RevokeForm {
        let summary = format!(
            "{} · {} · owner {} · {} · scopes {} · issuer {}",
            short(&row.id),
            row.kind,
            if row.owner.is_empty() { "none" } else { &row.owner },
            row.binding,
            if row.scopes.is_empty() { "-".to_string() } else { row.scopes.join(" ") },
            row.issuer
        );
        let mut reason = TextArea::default();
        reason.set_placeholder_text("Why? e.g. leaked in #eng-chat, INC-1234 (required, recorded in the audit log)");
        RevokeForm { id: row.id.clone(), summary, reason, stage: RevokeStage::Reason, error: None }
    }

    pub fn on_key(&mut self, key: &KeyEvent, keys: &Keymap) -> FormReply {
        let is = |a| keys.is(FORM, a, key);
        match self.stage {
            RevokeStage::Reason if is(Action::Cancel) => return FormReply::Close,
            RevokeStage::Reason if is(Action::Submit) => {
                if text(&self.reason, " ").is_empty() {
                    self.error = Some("a reason is required".into());
                } else {
                    self.error = None;
                    self.stage = RevokeStage::Confirm;
                }
            }
            RevokeStage::Reason => {
                self.reason.input(*key);
            }
            RevokeStage::Confirm if is(Action::Confirm) => {
                self.stage = RevokeStage::Waiting;
                return FormReply::Submit(Effect::Revoke { id: self.id.clone(), reason: text(&self.reason, "\n") });
            }
            RevokeStage::Confirm if is(Action::Reject) => self.stage = RevokeStage::Reason,
            RevokeStage::Confirm if is(Action::Cancel) => return FormReply::Close,
            RevokeStage::Confirm => {}
            // The issuer has the request: keys wait for its answer.
            RevokeStage::Waiting => {}
        }
        FormReply::Stay
    }

    /// The issuer refused: back to the reason, with its answer.
    pub fn failed(&mut self, error: &str) {
        if self.stage == RevokeStage::Waiting {
            self.stage = RevokeStage::Reason;
            self.error = Some(format!("not revoked: {error}"));
        }
    }

    pub fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        let theme = ctx.theme;
        let popup = centered(area, 90, 12);
        f.render_widget(Clear, popup);
        let block = Block::default().borders(Borders::ALL).border_style(theme.danger).title(Span::styled(" revoke credential ", theme.danger));
        let inner = block.inner(popup);
        f.render_widget(block, popup);
        let [summary, reason, note, hint] = Layout::vertical([Constraint::Length(2), Constraint::Min(3), Constraint::Length(2), Constraint::Length(1)]).areas(inner);
        f.render_widget(Paragraph::new(safe(&self.summary, 400)).style(theme.text).wrap(Wrap { trim: true }), summary);
        let mut ta = super::input::boxed(&self.reason, " reason ", false, theme);
        ta.set_cursor_style(if self.stage == RevokeStage::Reason { theme.selection.add_modifier(Modifier::REVERSED) } else { theme.text });
        f.render_widget(&ta, reason);
        let (msg, style) = match (&self.error, &self.stage) {
            (Some(e), _) => (e.clone(), theme.danger),
            (None, RevokeStage::Confirm) => ("Revoke at the issuer now? It stops working everywhere, for every holder.".to_string(), theme.warning),
            (None, RevokeStage::Waiting) => ("waiting for the issuer's answer…".to_string(), theme.info),
            (None, RevokeStage::Reason) => ("The reason goes to the issuer and into the audit log.".to_string(), theme.muted),
        };
        f.render_widget(Paragraph::new(safe(&msg, 300)).style(style).wrap(Wrap { trim: true }), note);
        let hint_text = match self.stage {
            RevokeStage::Reason => hints(ctx.keymap, FORM, &[(Action::Submit, "continue"), (Action::Cancel, "cancel")]),
            RevokeStage::Confirm => hints(ctx.keymap, FORM, &[(Action::Confirm, "revoke"), (Action::Reject, "back"), (Action::Cancel, "cancel")]),
            RevokeStage::Waiting => String::new(),
        };
        f.render_widget(Paragraph::new(hint_text).style(theme.accent), hint);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    use super::*;
    use crate::tui::theme::Theme;

    #[test]
    fn a_remapped_confirm_key_confirms_and_shows_in_the_hint() {
        let mut keys = Keymap::default_map();
        keys.merge(&BTreeMap::from([("form".to_string(), BTreeMap::from([("confirm".to_string(), "ctrl-y".to_string())]))])).expect("merges");
        let mut form = RevokeForm { id: "c1".into(), summary: String::new(), reason: TextArea::default(), stage: RevokeStage::Confirm, error: None };
        form.reason.insert_str("leaked");
        let theme = Theme::monochrome();
        let ctx = Ctx { theme: &theme, keymap: &keys, now: chrono::Utc::now() };
        let mut terminal = Terminal::new(TestBackend::new(100, 14)).expect("terminal");
        terminal.draw(|f| form.draw(f, &ctx, f.area())).expect("draw");
        let screen: String = terminal.backend().buffer().content().iter().map(|c| c.symbol()).collect();
        assert!(screen.contains("ctrl-y revoke · n back · esc cancel"), "{screen}");
        assert!(matches!(form.on_key(&KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE), &keys), FormReply::Stay), "y is no longer bound");
        let reply = form.on_key(&KeyEvent::new(KeyCode::Char('y'), KeyModifiers::CONTROL), &keys);
        assert!(matches!(reply, FormReply::Submit(Effect::Revoke { ref id, ref reason }) if id == "c1" && reason == "leaked"), "{reply:?}");
    }
}
