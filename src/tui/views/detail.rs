//! The detail pane beside the credential table: every field, the delegation
//! chain, the consent trail, recent usage, findings and audit entries.
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use crate::detail::{owner_label, CredentialDetail};
use crate::domain::relative;
use crate::domain::fmt_ts;
use crate::tui::widgets::{binding_style, safe, short, status_style, Ctx};

#[derive(Debug, Clone, Default)]
pub struct DetailPane {
    pub id: String,
    pub data: Option<Box<CredentialDetail>>,
    pub error: Option<String>,
    pub scroll: u16,
}

impl DetailPane {
    /// A reply for another credential (the cursor moved on) is dropped.
    pub fn on_loaded(&mut self, result: Result<Box<CredentialDetail>, String>) {
        match result {
            Ok(d) if d.credential.id == self.id => {
                self.data = Some(d);
                self.error = None;
            }
            Ok(_) => {}
            Err(e) => self.error = Some(e),
        }
    }

    pub fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        let block = Block::default().borders(Borders::LEFT | Borders::TOP).border_style(ctx.theme.border).title(Span::styled(" detail ", ctx.theme.header));
        let p = Paragraph::new(Text::from(self.lines(ctx))).block(block).wrap(Wrap { trim: false }).scroll((self.scroll, 0));
        f.render_widget(p, area);
    }

    fn lines(&self, ctx: &Ctx) -> Vec<Line<'static>> {
        let (theme, now) = (ctx.theme, ctx.now);
        let Some(d) = &self.data else {
            let msg = self.error.clone().map(|e| format!("cannot load: {e}")).unwrap_or_else(|| "loading…".into());
            return vec![Line::styled(msg, theme.muted)];
        };
        let c = &d.credential;
        let field = |label: &str, value: String, style: Style| Line::from(vec![Span::styled(format!("{label:<12} "), theme.muted), Span::styled(safe(&value, 400), style)]);
        let when = |t: &Option<crate::domain::Timestamp>, none: &str| match t {
            Some(t) => format!("{} ({})", relative(t, now), fmt_ts(t)),
            None => none.to_string(),
        };
        let offboarded = d.owner.as_ref().is_some_and(|o| o.status == crate::domain::OwnerStatus::Offboarded);
        let owner_style = if offboarded || c.owner.is_none() { theme.danger } else { theme.text };
        let mut l = vec![
            field("credential", format!("{} ({} at {})", c.id, c.external_id, c.issuer), theme.accent),
            field("kind", c.kind.to_string(), theme.text),
            field("status", c.status.to_string(), status_style(c.status, theme)),
            field("owner", owner_label(d), owner_style),
            field("workload", c.workload.clone().unwrap_or_else(|| "-".into()), theme.text),
            field("client id", c.client_id.clone().unwrap_or_else(|| "-".into()), theme.text),
            field("subject", c.subject.clone().unwrap_or_else(|| "-".into()), theme.text),
            field("scopes", c.scopes.join(" "), theme.accent),
            field("audience", c.audience.join(" "), theme.text),
            field("binding", c.binding.to_string(), binding_style(c.binding == crate::domain::Binding::Bearer, theme)),
            field("issued", when(&c.issued_at, "unknown"), theme.text),
            field("expires", when(&c.expires_at, "never"), if c.expires_at.is_none() { theme.warning } else { theme.text }),
            field("last used", when(&c.last_used_at, "never"), theme.text),
            field("fingerprint", c.fingerprint.clone().unwrap_or_else(|| "-".into()), theme.muted),
        ];
        if let Some(t) = &c.task {
            l.push(field("task", format!("{} {}", t.id, t.intent.clone().unwrap_or_default()), theme.text));
            if let Some(e) = &t.ended_at {
                let used_after = c.last_used_at.is_some_and(|u| u > *e);
                l.push(field("task ended", when(&Some(*e), ""), if used_after { theme.danger } else { theme.text }));
            }
        }
        let section = |title: &str| Line::styled(format!("── {title} "), theme.header);
        l.push(Line::raw(""));
        l.push(section("delegation chain"));
        if c.act_chain.is_empty() && d.lineage.is_empty() {
            l.push(Line::styled("  held directly, no delegation", theme.muted));
        }
        for (id, workload) in &d.lineage {
            l.push(Line::from(vec![Span::styled("  parent ", theme.muted), Span::styled(format!("{} {}", short(id), safe(workload, 80)), theme.text)]));
        }
        for (i, actor) in c.act_chain.iter().enumerate() {
            l.push(Line::from(vec![Span::styled(format!("  {}└─ hop {} ", "   ".repeat(i), i + 1), theme.muted), Span::styled(safe(actor, 120), theme.text)]));
        }
        l.push(Line::raw(""));
        l.push(section("consent trail"));
        if c.consent.is_empty() {
            l.push(Line::styled("  no consent recorded", theme.warning));
        }
        for e in &c.consent {
            let style = match e.action.as_str() {
                "revoke" | "deny" => theme.danger,
                "approve" => theme.ok,
                "scope_change" | "renew" => theme.warning,
                _ => theme.text,
            };
            let mut spans = vec![
                Span::styled(format!("  {} ", relative(&e.at, now)), theme.muted),
                Span::styled(format!("{:<12}", safe(&e.action, 20)), style),
                Span::styled(safe(&e.actor, 60), theme.text),
            ];
            if !e.scopes.is_empty() {
                spans.push(Span::styled(format!("  {}", e.scopes.join(" ")), theme.accent));
            }
            if let Some(n) = &e.note {
                spans.push(Span::styled(format!("  “{}”", safe(n, 200)), theme.muted));
            }
            l.push(Line::from(spans));
        }
        l.push(Line::raw(""));
        l.push(section("recent usage"));
        if c.usage.is_empty() {
            l.push(Line::styled("  none reported", theme.muted));
        }
        for u in c.usage.iter().take(20) {
            l.push(Line::from(vec![
                Span::styled(format!("  {} ", relative(&u.at, now)), theme.muted),
                Span::styled(safe(u.workload.as_deref().unwrap_or("-"), 80), theme.text),
                Span::styled(format!(" from {}", safe(u.origin.as_deref().unwrap_or("-"), 80)), theme.muted),
            ]));
        }
        if !d.findings.is_empty() {
            l.push(Line::raw(""));
            l.push(section("findings"));
            for (rule, severity, summary) in &d.findings {
                l.push(Line::from(vec![Span::styled(format!("  {severity} {rule} "), theme.danger), Span::styled(safe(summary, 200), theme.text)]));
            }
        }
        if !d.deployments.is_empty() {
            l.push(Line::raw(""));
            l.push(section("deployed in (plain text)"));
            for p in &d.deployments {
                l.push(Line::from(vec![
                    Span::styled(format!("  {} ", safe(&p.host, 40)), theme.muted),
                    Span::styled(safe(&p.path, 120), theme.danger),
                    Span::styled(format!(" {}", safe(&p.location, 80)), theme.text),
                ]));
            }
        }
        if !d.audit.is_empty() {
            l.push(Line::raw(""));
            l.push(section("audit"));
            for e in &d.audit {
                l.push(Line::styled(format!("  #{} {} {} {}", e.seq, e.at, safe(&e.actor, 60), e.action), theme.muted));
            }
        }
        l
    }
}
