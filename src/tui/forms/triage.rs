//! Triage of a leaked token: paste it (masked, never stored or shown), see
//! where it is live, and revoke it everywhere with a reason.
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;
use ratatui_textarea::TextArea;

use super::input::{text, FormReply, FORM};
use crate::actions::TriageReport;
use crate::domain::relative;
use crate::tui::msg::{Effect, Secret};
use crate::tui::keymap::{Action, Keymap};
use crate::tui::widgets::{centered, hints, safe, short, Ctx};

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
    pub report: Option<Box<TriageReport>>,
    pub error: Option<String>,
}

/// Hand-written so that no Debug print can show the pasted token.
impl std::fmt::Debug for TriageForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TriageForm").field("token", &"***").field("stage", &self.stage).field("error", &self.error).finish_non_exhaustive()
    }
}

impl Default for TriageForm {
    fn default() -> Self {
        let mut token = TextArea::default();
        token.set_mask_char('•');
        token.set_placeholder_text("paste the leaked token; it is never stored or shown, only its sha256");
        let mut reason = TextArea::default();
        reason.set_placeholder_text("why revoke? e.g. pasted in #eng-chat, INC-1234");
        TriageForm { token, reason, stage: TriageStage::Token, report: None, error: None }
    }
}

impl TriageForm {
    /// The issuers' answer (or why there is none).
    pub fn on_report(&mut self, result: Result<Box<TriageReport>, String>) {
        match result {
            Ok(report) => {
                self.report = Some(report);
                self.error = None;
            }
            Err(e) => self.error = Some(e),
        }
        self.stage = if self.report.is_some() { TriageStage::Report } else { TriageStage::Token };
    }

    pub fn on_key(&mut self, key: &KeyEvent, keys: &Keymap, may: &crate::actions::Permissions) -> FormReply {
        let is = |a| keys.is(FORM, a, key);
        if is(Action::Cancel) {
            // Closing drops the token with the form.
            return FormReply::Close;
        }
        let raw = text(&self.token, "");
        let empty = raw.is_empty();
        let token = Secret(raw.into());
        match self.stage {
            TriageStage::Token if is(Action::Submit) => {
                if empty {
                    self.error = Some("paste a token first".into());
                } else {
                    self.stage = TriageStage::Waiting;
                    return FormReply::Submit(Effect::Triage { token, reason: None });
                }
            }
            TriageStage::Token => {
                self.token.input(*key);
            }
            TriageStage::Report if is(Action::Revoke) => {
                if let Some(refusal) = may.refusal(crate::actions::Act::Revoke) {
                    self.error = Some(refusal);
                } else if self.report.as_ref().is_some_and(|r| r.is_live()) {
                    self.stage = TriageStage::Reason;
                } else {
                    self.error = Some("nothing live to revoke".into());
                }
            }
            TriageStage::Report => {}
            TriageStage::Reason if is(Action::Submit) => {
                let reason = text(&self.reason, " ");
                if reason.is_empty() {
                    self.error = Some("a reason is required".into());
                } else {
                    self.stage = TriageStage::Waiting;
                    self.error = None;
                    return FormReply::Submit(Effect::Triage { token, reason: Some(reason) });
                }
            }
            TriageStage::Reason => {
                self.reason.input(*key);
            }
            TriageStage::Waiting => {}
        }
        FormReply::Stay
    }

    pub fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        let theme = ctx.theme;
        let popup = centered(area, 100, 22);
        f.render_widget(Clear, popup);
        let block = Block::default().borders(Borders::ALL).border_style(theme.warning).title(Span::styled(" triage a leaked token ", theme.warning));
        let inner = block.inner(popup);
        f.render_widget(block, popup);
        let [input, body, hint] = Layout::vertical([Constraint::Length(3), Constraint::Min(3), Constraint::Length(1)]).areas(inner);
        f.render_widget(&super::input::boxed(&self.token, " token (masked) ", false, theme), input);
        let lines = self.report_lines(ctx);
        let body_area = if self.stage == TriageStage::Reason {
            let [text_area, reason] = Layout::vertical([Constraint::Min(1), Constraint::Length(3)]).areas(body);
            f.render_widget(&super::input::boxed(&self.reason, " reason ", false, theme), reason);
            text_area
        } else {
            body
        };
        f.render_widget(Paragraph::new(Text::from(lines)).wrap(Wrap { trim: false }), body_area);
        let hint_text = match self.stage {
            TriageStage::Token => hints(ctx.keymap, FORM, &[(Action::Submit, "look it up"), (Action::Cancel, "close")]),
            TriageStage::Waiting => String::new(),
            TriageStage::Report => hints(ctx.keymap, FORM, &[(Action::Revoke, "revoke everywhere it is live"), (Action::Cancel, "close (forgets the token)")]),
            TriageStage::Reason => hints(ctx.keymap, FORM, &[(Action::Submit, "revoke"), (Action::Cancel, "close")]),
        };
        f.render_widget(Paragraph::new(hint_text).style(theme.accent), hint);
    }

    fn report_lines(&self, ctx: &Ctx) -> Vec<Line<'static>> {
        let theme = ctx.theme;
        let mut lines: Vec<Line> = Vec::new();
        if let Some(e) = &self.error {
            lines.push(Line::styled(safe(e, 300), theme.danger));
        }
        if self.stage == TriageStage::Waiting {
            lines.push(Line::styled("asking the issuers…", theme.info));
        }
        let Some(r) = &self.report else { return lines };
        lines.push(Line::from(vec![Span::styled("fingerprint ", theme.muted), Span::styled(r.fingerprint.clone(), theme.text)]));
        match &r.credential {
            Some(c) => lines.push(Line::from(vec![
                Span::styled("inventory   ", theme.muted),
                Span::styled(
                    safe(
                        &format!(
                            "{} {} at {}, owner {} ({}), {} {}",
                            short(&c.id),
                            c.kind,
                            c.issuer,
                            c.owner.as_deref().unwrap_or("none"),
                            r.owner_status.as_deref().unwrap_or("-"),
                            c.scopes.join(" "),
                            c.status
                        ),
                        300,
                    ),
                    if c.status == crate::domain::CredentialStatus::Active { theme.danger } else { theme.text },
                ),
            ])),
            None => lines.push(Line::styled("inventory   not found: no synced credential has this fingerprint", theme.muted)),
        }
        if r.introspections.is_empty() {
            lines.push(Line::styled("oauth       no OAuth issuer is configured to introspect it", theme.muted));
        }
        for i in &r.introspections {
            let (text, style) = match (&i.introspection, &i.error) {
                (Some(x), _) if x.active => (
                    format!(
                        "ACTIVE, client {}, scopes {}, expires {}",
                        x.client_id.as_deref().unwrap_or("-"),
                        x.scopes.join(" "),
                        x.expires_at.map(|t| relative(&t, ctx.now)).unwrap_or_else(|| "never".into())
                    ),
                    theme.danger,
                ),
                (Some(_), _) => ("inactive".to_string(), theme.ok),
                (None, Some(e)) => (format!("could not introspect: {e}"), theme.warning),
                _ => (String::new(), theme.muted),
            };
            lines.push(Line::from(vec![Span::styled(format!("{:<12}", safe(&i.issuer, 12)), theme.muted), Span::styled(safe(&text, 300), style)]));
        }
        if let Some(o) = &r.inventory_revocation {
            lines.push(Line::styled(safe(&format!("revoked     {} at {}: {}", short(&o.credential_id), o.issuer, o.message), 300), theme.ok));
        }
        if let Some(e) = &r.inventory_revocation_error {
            lines.push(Line::styled(safe(&format!("NOT revoked in the inventory's issuer: {e}"), 300), theme.danger));
        }
        for v in &r.revocations {
            let (t, st) = if v.revoked && v.confirmed_inactive {
                (format!("revoked     {}: introspection now answers inactive", v.issuer), theme.ok)
            } else {
                (format!("NOT revoked {}: {}", v.issuer, v.error.clone().unwrap_or_else(|| "still active".into())), theme.danger)
            };
            lines.push(Line::styled(safe(&t, 300), st));
        }
        lines.push(Line::styled(format!("audit #{}", r.audit_seq), theme.muted));
        lines
    }
}
