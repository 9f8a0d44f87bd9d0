//! Views are functions of state: they read `App` and the theme, draw, and
//! change nothing. Only the visible rows are turned into widgets.
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{
    Block, Borders, Cell, Clear, Paragraph, Row, Scrollbar, ScrollbarOrientation, ScrollbarState, Table, TableState, Wrap,
};
use ratatui::Frame;

use super::keymap::Action;
use super::state::{short, App, Mode, RevokeStage, Tone, View};
use super::theme::Theme;
use crate::detail::{human_duration, owner_label, relative};
use crate::domain::{fmt_ts, text};
use crate::store::CredentialRow;

pub fn draw(f: &mut Frame, app: &App, theme: &Theme) {
    let area = f.area();
    if area.width < 20 || area.height < 6 {
        f.render_widget(Paragraph::new("tokenward: terminal too small").style(theme.warning), area);
        return;
    }
    let [top, body, status, footer] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1), Constraint::Length(1)]).areas(area);
    draw_tabs(f, app, theme, top);
    match app.view {
        View::Credentials => draw_credentials(f, app, theme, body),
        View::Grants => draw_grants(f, app, theme, body),
        View::Issuers => draw_issuers(f, app, theme, body),
        View::Findings => super::view_governance::draw_findings(f, app, theme, body),
        View::Owners => super::view_governance::draw_owners(f, app, theme, body),
        View::Expiring => super::view_governance::draw_expiring(f, app, theme, body),
        View::Review => super::view_governance::draw_review(f, app, theme, body),
    }
    draw_status(f, app, theme, status);
    draw_footer(f, app, theme, footer);
    match &app.mode {
        Mode::Help => draw_help(f, app, theme, area),
        Mode::Revoke(_) => draw_revoke(f, app, theme, area),
        Mode::Triage(_) => draw_triage(f, app, theme, area),
        Mode::Decide(_) => draw_decision(f, app, theme, area),
        Mode::Bulk(_) => super::view_governance::draw_bulk(f, app, theme, area),
        Mode::Review(_) => super::view_governance::draw_review_form(f, app, theme, area),
        _ => {}
    }
}

pub(super) fn safe(s: &str, max: usize) -> String {
    text::clean(s, max)
}

fn draw_tabs(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let mut spans = vec![Span::styled(" tokenward ", theme.accent.add_modifier(Modifier::BOLD))];
    for v in View::ALL {
        let style = if *v == app.view { theme.selection } else { theme.muted };
        spans.push(Span::raw(" "));
        spans.push(Span::styled(format!(" {} ", v.name()), style));
    }
    if app.view == View::Credentials {
        let arrow = if app.sort.descending { "↓" } else { "↑" };
        spans.push(Span::styled(format!("   sort: {} {arrow}", app.sort.column.label()), theme.muted));
        if !app.query_text.is_empty() {
            spans.push(Span::styled("   filter: ", theme.muted));
            spans.push(Span::styled(safe(&app.query_text, 200), theme.accent));
        }
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_credentials(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let (table_area, detail_area) = match &app.detail {
        Some(_) if area.width >= 140 => {
            let [a, b] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
            (Some(a), Some(b))
        }
        Some(_) => (None, Some(area)),
        None => (Some(area), None),
    };
    if let Some(a) = table_area {
        draw_credential_table(f, app, theme, a);
    }
    if let Some(a) = detail_area {
        draw_detail(f, app, theme, a);
    }
}

fn owner_cell(r: &CredentialRow, theme: &Theme) -> Cell<'static> {
    match r.owner_status.as_str() {
        "offboarded" => Cell::from(Line::from(vec![Span::styled("✗ ", theme.danger), Span::styled(safe(&r.owner, 60), theme.danger)])),
        "none" => Cell::from(Span::styled("— none", theme.warning)),
        "unknown" => Cell::from(Line::from(vec![Span::styled("? ", theme.warning), Span::styled(safe(&r.owner, 60), theme.text)])),
        _ => Cell::from(Span::styled(safe(&r.owner, 60), theme.text)),
    }
}

fn expires_cell(r: &CredentialRow, app: &App, theme: &Theme) -> Cell<'static> {
    match &r.expires_at {
        None => Cell::from(Span::styled("never", theme.warning)),
        Some(t) if *t < app.now => Cell::from(Span::styled(relative(t, app.now), theme.muted)),
        Some(t) if (*t - app.now).num_days() > 30 => Cell::from(Span::styled(relative(t, app.now), theme.warning)),
        Some(t) => Cell::from(Span::styled(relative(t, app.now), theme.text)),
    }
}

fn status_style(status: &str, theme: &Theme) -> Style {
    match status {
        "active" => theme.ok,
        "revoked" => theme.danger,
        "gone" | "expired" => theme.muted,
        _ => theme.text,
    }
}

fn draw_credential_table(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let w = &app.window;
    let height = area.height.saturating_sub(1) as usize;
    let end = (w.scroll + height).min(w.rows.len());
    let visible = &w.rows[w.scroll.min(end)..end];
    let rows: Vec<Row> = visible
        .iter()
        .map(|r| {
            let binding_style = if r.binding == "bearer" { theme.warning } else { theme.ok };
            Row::new(vec![
                Cell::from(Span::styled(short(&r.id).to_string(), theme.muted)),
                owner_cell(r, theme),
                Cell::from(Span::styled(safe(&r.workload, 60), theme.text)),
                Cell::from(Span::styled(safe(&r.scopes, 200), theme.accent)),
                Cell::from(Span::styled(r.binding.clone(), binding_style)),
                expires_cell(r, app, theme),
                Cell::from(Span::styled(r.last_used_at.as_ref().map(|t| relative(t, app.now)).unwrap_or_else(|| "never".into()), theme.text)),
                Cell::from(Span::styled(r.status.clone(), status_style(&r.status, theme))),
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
        let msg = if w.loading { "loading…" } else if app.query.is_empty() { "no credentials yet: run `tokenward sync`" } else { "no credential matches the filter" };
        let inner = Rect { y: area.y + 2, height: 1, ..area };
        f.render_widget(Paragraph::new(msg).style(theme.muted).centered(), inner);
    }
    if let (Some(total), Some(pos)) = (w.total, app.absolute_selected()) {
        if total as usize > height {
            let mut sb = ScrollbarState::new(total as usize).position(pos as usize).viewport_content_length(height);
            let bar = Scrollbar::new(ScrollbarOrientation::VerticalRight).begin_symbol(None).end_symbol(None).style(theme.border);
            f.render_stateful_widget(bar, Rect { y: area.y + 1, height: area.height.saturating_sub(1), ..area }, &mut sb);
        }
    }
}

fn detail_lines(app: &App, theme: &Theme) -> Vec<Line<'static>> {
    let Some(pane) = &app.detail else { return Vec::new() };
    let Some(d) = &pane.data else {
        let msg = pane.error.clone().map(|e| format!("cannot load: {e}")).unwrap_or_else(|| "loading…".into());
        return vec![Line::styled(msg, theme.muted)];
    };
    let c = &d.credential;
    let now = app.now;
    let field = |label: &str, value: String, style: Style| {
        Line::from(vec![Span::styled(format!("{label:<12} "), theme.muted), Span::styled(safe(&value, 400), style)])
    };
    let when = |t: &Option<crate::domain::Timestamp>, none: &str| match t {
        Some(t) => format!("{} ({})", relative(t, now), fmt_ts(t)),
        None => none.to_string(),
    };
    let offboarded = d.owner.as_ref().is_some_and(|o| o.status == crate::domain::OwnerStatus::Offboarded);
    let owner_style = if offboarded || c.owner.is_none() { theme.danger } else { theme.text };
    let mut l = vec![
        field("credential", format!("{} ({} at {})", c.id, c.external_id, c.issuer), theme.accent),
        field("kind", c.kind.to_string(), theme.text),
        field("status", c.status.to_string(), status_style(c.status.as_str(), theme)),
        field("owner", owner_label(d), owner_style),
        field("workload", c.workload.clone().unwrap_or_else(|| "-".into()), theme.text),
        field("client id", c.client_id.clone().unwrap_or_else(|| "-".into()), theme.text),
        field("subject", c.subject.clone().unwrap_or_else(|| "-".into()), theme.text),
        field("scopes", c.scopes.join(" "), theme.accent),
        field("audience", c.audience.join(" "), theme.text),
        field("binding", c.binding.to_string(), if c.binding == crate::domain::Binding::Bearer { theme.warning } else { theme.ok }),
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
        l.push(Line::from(vec![
            Span::styled(format!("  {}└─ hop {} ", "   ".repeat(i), i + 1), theme.muted),
            Span::styled(safe(actor, 120), theme.text),
        ]));
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
    if !d.audit.is_empty() {
        l.push(Line::raw(""));
        l.push(section("audit"));
        for e in &d.audit {
            l.push(Line::styled(format!("  #{} {} {} {}", e.seq, e.at, safe(&e.actor, 60), e.action), theme.muted));
        }
    }
    l
}

fn draw_detail(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let scroll = app.detail.as_ref().map(|p| p.scroll).unwrap_or(0);
    let block = Block::default().borders(Borders::LEFT | Borders::TOP).border_style(theme.border).title(Span::styled(" detail ", theme.header));
    let p = Paragraph::new(Text::from(detail_lines(app, theme))).block(block).wrap(Wrap { trim: false }).scroll((scroll, 0));
    f.render_widget(p, area);
}

fn draw_grants(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let height = area.height.saturating_sub(1) as usize;
    let offset = app.grants_selected.saturating_sub(height.saturating_sub(1));
    let rows: Vec<Row> = app
        .grants
        .iter()
        .skip(offset)
        .take(height)
        .map(|g| {
            let age = g.requested_at.map(|t| human_duration(app.now - t)).unwrap_or_else(|| "-".into());
            // Waiting longer than the approval SLA (`[grants] sla`, 15 minutes by default) is called out.
            let late = app.breached(g);
            Row::new(vec![
                Cell::from(Span::styled(safe(&g.external_id, 20), theme.muted)),
                Cell::from(Span::styled(safe(g.workload.as_deref().unwrap_or("-"), 40), theme.text)),
                Cell::from(Span::styled(safe(g.requested_by.as_deref().unwrap_or("-"), 40), theme.text)),
                Cell::from(Span::styled(safe(g.intent.as_deref().unwrap_or(""), 200), theme.text)),
                Cell::from(Span::styled(g.scopes.join(" "), theme.accent)),
                Cell::from(Span::styled(human_duration(chrono::Duration::seconds(g.ttl_seconds)), theme.text)),
                Cell::from(Span::styled(g.binding.to_string(), if g.binding == crate::domain::Binding::Bearer { theme.warning } else { theme.ok })),
                Cell::from(Span::styled(age, if late { theme.danger } else { theme.muted })),
                match app.verdicts.get(&g.id) {
                    Some(v) if v.allowed && v.second_approval.is_some() => Cell::from(Span::styled("ok · needs a 2nd approver", theme.accent)),
                    Some(v) if v.allowed => Cell::from(Span::styled("ok as asked", theme.ok)),
                    Some(v) => Cell::from(Span::styled(
                        format!("✗ {}", v.reasons.iter().filter(|r| r.effect == "forbid").map(|r| r.policy.as_str()).collect::<Vec<_>>().join(", ")),
                        theme.warning,
                    )),
                    None => Cell::from(Span::styled("…", theme.muted)),
                },
            ])
        })
        .collect();
    let widths = [
        Constraint::Length(11),
        Constraint::Length(18),
        Constraint::Length(24),
        Constraint::Min(20),
        Constraint::Length(24),
        Constraint::Length(5),
        Constraint::Length(7),
        Constraint::Length(5),
        Constraint::Length(30),
    ];
    let header = Row::new(["GRANT", "WORKLOAD", "REQUESTED BY", "INTENT", "SCOPES", "TTL", "BINDING", "AGE", "POLICY (AS ASKED)"]).style(theme.header);
    let mut state = TableState::default().with_selected((!app.grants.is_empty()).then(|| app.grants_selected - offset));
    let title = "no pending grants";
    f.render_stateful_widget(Table::new(rows, widths).header(header).row_highlight_style(theme.selection), area, &mut state);
    if app.grants.is_empty() {
        f.render_widget(Paragraph::new(title).style(theme.muted).centered(), Rect { y: area.y + 2, height: 1, ..area });
    }
}

fn draw_issuers(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let rows: Vec<Row> = app
        .issuers
        .iter()
        .map(|i| {
            let run = i.last_run.as_ref();
            let (status, style) = match run.map(|r| r.status.as_str()) {
                Some("ok") => ("ok", theme.ok),
                Some("failed") => ("failed", theme.danger),
                Some("running") => ("running", theme.info),
                _ => ("never", theme.muted),
            };
            let when = run
                .and_then(|r| r.finished_at.as_deref().or(Some(r.started_at.as_str())))
                .and_then(crate::domain::parse_ts)
                .map(|t| relative(&t, app.now))
                .unwrap_or_default();
            let progress = match app.syncing.get(&i.name) {
                Some(p) if p.running => Span::styled(gauge(p.credentials, i.credentials.max(0) as u64), theme.info),
                Some(p) if p.error.is_some() => Span::styled("failed", theme.danger),
                Some(p) => Span::styled(format!("done, {}", thousands(p.credentials as i64)), theme.ok),
                None => Span::styled("", theme.muted),
            };
            Row::new(vec![
                Cell::from(Span::styled(safe(&i.name, 40), theme.accent)),
                Cell::from(Span::styled(i.kind.clone(), theme.text)),
                Cell::from(Span::styled(i.credentials.to_string(), theme.text)),
                Cell::from(progress),
                Cell::from(Span::styled(status, style)),
                Cell::from(Span::styled(when, theme.muted)),
                Cell::from(Span::styled(run.map(|r| r.pages.to_string()).unwrap_or_default(), theme.text)),
                Cell::from(Span::styled(run.map(|r| r.items.to_string()).unwrap_or_default(), theme.text)),
                Cell::from(Span::styled(safe(run.and_then(|r| r.error.as_deref()).unwrap_or(""), 300), theme.danger)),
            ])
        })
        .collect();
    let widths = [
        Constraint::Length(18),
        Constraint::Length(10),
        Constraint::Length(11),
        Constraint::Length(24),
        Constraint::Length(9),
        Constraint::Length(10),
        Constraint::Length(6),
        Constraint::Length(9),
        Constraint::Min(10),
    ];
    let header = Row::new(["ISSUER", "KIND", "CREDENTIALS", "SYNC NOW (S)", "LAST SYNC", "WHEN", "PAGES", "ITEMS", "ERROR"]).style(theme.header);
    let mut state = TableState::default().with_selected((!app.issuers.is_empty()).then_some(app.issuers_selected));
    let [top, bottom] = Layout::vertical([Constraint::Length(app.issuers.len() as u16 + 2), Constraint::Min(0)]).areas(area);
    f.render_stateful_widget(Table::new(rows, widths).header(header).row_highlight_style(theme.selection), top, &mut state);
    if app.issuers.is_empty() {
        let msg = "no issuers yet: add [[issuer]] tables to tokenward.toml, then `tokenward sync`";
        f.render_widget(Paragraph::new(msg).style(theme.muted).centered(), Rect { y: top.y + 1, height: 1, ..top });
    }
    draw_sync_runs(f, app, theme, bottom);
}

/// The history under the issuers: every run, with what it did and how it ended.
fn draw_sync_runs(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    if area.height < 3 {
        return;
    }
    let selected = app.issuers.get(app.issuers_selected).map(|i| i.name.as_str());
    let rows: Vec<Row> = app
        .sync_runs
        .iter()
        .filter(|r| selected.is_none_or(|n| r.issuer == n))
        .take(area.height.saturating_sub(2) as usize)
        .map(|r| {
            let style = match r.status.as_str() {
                "ok" => theme.ok,
                "failed" => theme.danger,
                _ => theme.info,
            };
            let took = match (crate::domain::parse_ts(&r.started_at), r.finished_at.as_deref().and_then(crate::domain::parse_ts)) {
                (Some(a), Some(b)) => human_duration(b - a),
                _ => "-".into(),
            };
            Row::new(vec![
                Cell::from(Span::styled(format!("#{}", r.id), theme.muted)),
                Cell::from(Span::styled(safe(&r.issuer, 40), theme.text)),
                Cell::from(Span::styled(crate::domain::parse_ts(&r.started_at).map(|t| relative(&t, app.now)).unwrap_or_default(), theme.text)),
                Cell::from(Span::styled(took, theme.text)),
                Cell::from(Span::styled(r.status.clone(), style)),
                Cell::from(Span::styled(r.pages.to_string(), theme.text)),
                Cell::from(Span::styled(r.items.to_string(), theme.text)),
                Cell::from(Span::styled(safe(r.error.as_deref().unwrap_or(""), 300), theme.danger)),
            ])
        })
        .collect();
    let widths = [
        Constraint::Length(6),
        Constraint::Length(18),
        Constraint::Length(10),
        Constraint::Length(6),
        Constraint::Length(8),
        Constraint::Length(6),
        Constraint::Length(9),
        Constraint::Min(10),
    ];
    let header = Row::new(["RUN", "ISSUER", "STARTED", "TOOK", "STATUS", "PAGES", "ITEMS", "ERROR"]).style(theme.header);
    let block = Block::default().borders(Borders::TOP).border_style(theme.border).title(Span::styled(" sync runs ", theme.header));
    f.render_widget(Table::new(rows, widths).header(header).block(block), area);
}

/// A text gauge: `▕████░░░░░░▏ 4,000` against the count the last sync left.
pub(super) fn gauge(done: u64, expected: u64) -> String {
    let filled = if expected == 0 { 0 } else { ((done.min(expected) * 10) / expected) as usize };
    format!("▕{}{}▏ {}", "█".repeat(filled), "░".repeat(10 - filled), thousands(done as i64))
}

pub(super) fn thousands(n: i64) -> String {
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn draw_status(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    if let Some(err) = app.filter_error() {
        f.render_widget(Paragraph::new(format!(" filter: {err}")).style(theme.danger), area);
        return;
    }
    let count = match app.window.total {
        Some(1) => "1 credential".into(),
        Some(t) => format!("{} credentials", thousands(t)),
        None => "counting…".into(),
    };
    let mut parts = vec![format!(" {}", safe(&app.db_label, 80)), count];
    if let Some(p) = app.absolute_selected() {
        parts.push(format!("row {}", thousands(p + 1)));
    }
    if !app.query_text.is_empty() {
        parts.push(format!("filter: {}", safe(&app.query_text, 80)));
    }
    for i in &app.issuers {
        let when = i
            .last_run
            .as_ref()
            .and_then(|r| r.finished_at.as_deref())
            .and_then(crate::domain::parse_ts)
            .map(|t| format!("synced {}", relative(&t, app.now)))
            .unwrap_or_else(|| "never synced".into());
        let failed = i.last_run.as_ref().is_some_and(|r| r.status == "failed");
        parts.push(format!("{} {when}{}", safe(&i.name, 30), if failed { " (FAILED)" } else { "" }));
    }
    parts.push(format!("operator {}", safe(&app.operator, 40)));
    if app.read_only {
        parts.push("READ-ONLY".into());
    }
    f.render_widget(Paragraph::new(parts.join(" │ ")).style(theme.bar), area);
}

fn draw_footer(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let prompt = |f: &mut Frame, sigil: &str, ta: &ratatui_textarea::TextArea<'static>| {
        let [p, input] = Layout::horizontal([Constraint::Length(2), Constraint::Min(1)]).areas(area);
        f.render_widget(Paragraph::new(sigil.to_string()).style(theme.accent), p);
        let mut ta = ta.clone();
        ta.set_style(theme.text);
        ta.set_placeholder_style(theme.muted);
        ta.set_cursor_style(theme.selection.add_modifier(Modifier::REVERSED));
        f.render_widget(&ta, input);
    };
    match &app.mode {
        Mode::Filter(ta) => prompt(f, "/ ", ta),
        Mode::Command(ta) => prompt(f, ": ", ta),
        _ => {
            if let Some((tone, msg)) = &app.status {
                let style = match tone {
                    Tone::Ok => theme.ok,
                    Tone::Info => theme.info,
                    Tone::Warning => theme.warning,
                    Tone::Error => theme.danger,
                };
                f.render_widget(Paragraph::new(format!(" {}", safe(msg, 400))).style(style), area);
                return;
            }
            let mut spans = Vec::new();
            let view = app.view.name();
            let mut shown = vec![Action::Filter, Action::Detail, Action::SortNext, Action::Revoke, Action::Command, Action::Help, Action::Quit];
            match app.view {
                View::Credentials => {}
                View::Grants => shown = vec![Action::Approve, Action::Deny, Action::Refresh, Action::Command, Action::Help, Action::Quit],
                View::Issuers => shown = vec![Action::SyncNow, Action::Refresh, Action::Command, Action::Help, Action::Quit],
                View::Findings => shown = vec![Action::Detail, Action::Recompute, Action::Command, Action::Help, Action::Quit],
                View::Owners => shown = vec![Action::Detail, Action::Revoke, Action::CycleFilter, Action::Command, Action::Help, Action::Quit],
                View::Expiring => shown = vec![Action::Detail, Action::CycleFilter, Action::Command, Action::Help, Action::Quit],
                View::Review => {
                    shown = vec![Action::Keep, Action::Revoke, Action::Reassign, Action::Shorten, Action::Reduce, Action::NextUndecided, Action::Back, Action::Help, Action::Quit]
                }
            }
            for a in shown {
                if let Some(k) = app.keymap.first_key(view, a) {
                    spans.push(Span::styled(format!(" {k}"), theme.accent));
                    spans.push(Span::styled(format!(" {} ", a.hint()), theme.muted));
                }
            }
            f.render_widget(Paragraph::new(Line::from(spans)), area);
        }
    }
}

pub(super) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))]).flex(Flex::Center).areas(area);
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))]).flex(Flex::Center).areas(v);
    h
}

fn draw_help(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let bindings = app.keymap.bindings(app.view.name());
    let rows: Vec<Row> = bindings
        .iter()
        .map(|(keys, a)| Row::new(vec![Cell::from(Span::styled(keys.clone(), theme.accent)), Cell::from(Span::styled(a.description(), theme.text))]))
        .collect();
    let popup = centered(area, 112, bindings.len() as u16 + 2);
    f.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border)
        .title(Span::styled(format!(" keys: {} (any key closes) ", app.view.name()), theme.header));
    f.render_widget(Table::new(rows, [Constraint::Length(22), Constraint::Min(10)]).block(block), popup);
}

fn draw_revoke(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let Mode::Revoke(form) = &app.mode else { return };
    let popup = centered(area, 90, 12);
    f.render_widget(Clear, popup);
    let block = Block::default().borders(Borders::ALL).border_style(theme.danger).title(Span::styled(" revoke credential ", theme.danger));
    let inner = block.inner(popup);
    f.render_widget(block, popup);
    let [summary, reason, note, hint] =
        Layout::vertical([Constraint::Length(2), Constraint::Min(3), Constraint::Length(2), Constraint::Length(1)]).areas(inner);
    f.render_widget(Paragraph::new(safe(&form.summary, 400)).style(theme.text).wrap(Wrap { trim: true }), summary);
    let mut ta = form.reason.clone();
    ta.set_block(Block::default().borders(Borders::ALL).border_style(theme.border).title(Span::styled(" reason ", theme.muted)));
    ta.set_style(theme.text);
    ta.set_placeholder_style(theme.muted);
    ta.set_cursor_style(if form.stage == RevokeStage::Reason { theme.selection.add_modifier(Modifier::REVERSED) } else { theme.text });
    f.render_widget(&ta, reason);
    let (msg, style) = match (&form.error, &form.stage) {
        (Some(e), _) => (e.clone(), theme.danger),
        (None, RevokeStage::Confirm) => ("Revoke at the issuer now? It stops working everywhere, for every holder.".to_string(), theme.warning),
        (None, RevokeStage::Waiting) => ("waiting for the issuer's answer…".to_string(), theme.info),
        (None, RevokeStage::Reason) => ("The reason goes to the issuer and into the audit log.".to_string(), theme.muted),
    };
    f.render_widget(Paragraph::new(safe(&msg, 300)).style(style).wrap(Wrap { trim: true }), note);
    let hints = match form.stage {
        RevokeStage::Reason => "enter continue · esc cancel",
        RevokeStage::Confirm => "y revoke · n back · esc cancel",
        RevokeStage::Waiting => "",
    };
    f.render_widget(Paragraph::new(hints).style(theme.accent), hint);
}

fn draw_decision(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let Mode::Decide(form) = &app.mode else { return };
    let g = &form.grant;
    let height = if form.approve { g.scopes.len() as u16 + 15 } else { 12 };
    let popup = centered(area, 96, height);
    f.render_widget(Clear, popup);
    let (title, style) = if form.approve { (" approve grant ", theme.ok) } else { (" deny grant ", theme.danger) };
    let block = Block::default().borders(Borders::ALL).border_style(style).title(Span::styled(title, style));
    let inner = block.inner(popup);
    f.render_widget(block, popup);
    let mut lines = vec![
        Line::from(vec![Span::styled(format!("{} ", safe(&g.external_id, 40)), theme.accent), Span::styled(safe(g.intent.as_deref().unwrap_or(""), 200), theme.text)]),
        Line::styled(
            safe(&format!("{} asks for {}, {} for {}", g.requested_by.as_deref().unwrap_or("?"), g.workload.as_deref().unwrap_or("?"), human_duration(chrono::Duration::seconds(g.ttl_seconds)), g.binding), 200),
            theme.muted,
        ),
    ];
    if let Some(v) = app.verdicts.get(&g.id) {
        let st = if v.allowed { theme.ok } else { theme.warning };
        lines.push(Line::styled(safe(&format!("policy, as asked: {}", v.explanation()), 300), st));
    }
    let mark = |i: usize| if form.field == i && form.approve { "▶ " } else { "  " };
    if form.approve {
        for (i, (scope, keep)) in g.scopes.iter().zip(&form.keep).enumerate() {
            lines.push(Line::from(vec![
                Span::styled(mark(i), theme.accent),
                Span::styled(if *keep { "[x] " } else { "[ ] " }, if *keep { theme.ok } else { theme.muted }),
                Span::styled(safe(scope, 80), if *keep { theme.text } else { theme.muted }),
            ]));
        }
        lines.push(Line::from(vec![
            Span::styled(mark(form.binding_field()), theme.accent),
            Span::styled("binding  ", theme.muted),
            Span::styled(form.binding.to_string(), if form.binding == crate::domain::Binding::Bearer { theme.warning } else { theme.ok }),
            Span::styled("  (space: require dpop or mtls)", theme.muted),
        ]));
    }
    let n = lines.len() as u16;
    let [text, ttl_area, note_area, err, hint] = Layout::vertical([
        Constraint::Length(n),
        Constraint::Length(if form.approve { 3 } else { 0 }),
        Constraint::Length(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    f.render_widget(Paragraph::new(Text::from(lines)), text);
    let field_block = |t: &'static str, active: bool| {
        Block::default().borders(Borders::ALL).border_style(if active { theme.accent } else { theme.border }).title(Span::styled(t, theme.muted))
    };
    if form.approve {
        let mut ttl = form.ttl.clone();
        ttl.set_block(field_block(" TTL (shorten only) ", form.field == form.ttl_field()));
        ttl.set_style(theme.text);
        f.render_widget(&ttl, ttl_area);
    }
    let mut note = form.note.clone();
    note.set_block(field_block(if form.approve { " justification " } else { " reason " }, form.field == form.note_field()));
    note.set_style(theme.text);
    note.set_placeholder_style(theme.muted);
    f.render_widget(&note, note_area);
    let (msg, st) = match (&form.error, form.waiting) {
        (Some(e), _) => (safe(e, 300), theme.danger),
        (None, true) => ("waiting for the issuer's answer…".to_string(), theme.info),
        _ => (String::new(), theme.muted),
    };
    f.render_widget(Paragraph::new(msg).style(st), err);
    let hints = if form.approve { "tab/↑↓ field · space toggle scope or binding · enter approve · esc cancel" } else { "enter deny · esc cancel" };
    f.render_widget(Paragraph::new(hints).style(theme.accent), hint);
}

fn draw_triage(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    use super::state::TriageStage;
    let Mode::Triage(form) = &app.mode else { return };
    let popup = centered(area, 100, 22);
    f.render_widget(Clear, popup);
    let block = Block::default().borders(Borders::ALL).border_style(theme.warning).title(Span::styled(" triage a leaked token ", theme.warning));
    let inner = block.inner(popup);
    f.render_widget(block, popup);
    let [input, body, hint] = Layout::vertical([Constraint::Length(3), Constraint::Min(3), Constraint::Length(1)]).areas(inner);
    let mut token = form.token.clone();
    token.set_block(Block::default().borders(Borders::ALL).border_style(theme.border).title(Span::styled(" token (masked) ", theme.muted)));
    token.set_style(theme.text);
    token.set_placeholder_style(theme.muted);
    f.render_widget(&token, input);
    let mut lines: Vec<Line> = Vec::new();
    if let Some(e) = &form.error {
        lines.push(Line::styled(safe(e, 300), theme.danger));
    }
    if form.stage == TriageStage::Waiting {
        lines.push(Line::styled("asking the issuers…", theme.info));
    }
    if let Some(r) = &form.report {
        lines.push(Line::from(vec![Span::styled("fingerprint ", theme.muted), Span::styled(r.fingerprint.clone(), theme.text)]));
        match &r.credential {
            Some(c) => lines.push(Line::from(vec![
                Span::styled("inventory   ", theme.muted),
                Span::styled(
                    safe(&format!("{} {} at {}, owner {} ({}), {} {}", short(&c.id), c.kind, c.issuer, c.owner.as_deref().unwrap_or("none"),
                        r.owner_status.as_deref().unwrap_or("-"), c.scopes.join(" "), c.status), 300),
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
                    format!("ACTIVE, client {}, scopes {}, expires {}", x.client_id.as_deref().unwrap_or("-"), x.scopes.join(" "),
                        x.expires_at.map(|t| relative(&t, app.now)).unwrap_or_else(|| "never".into())),
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
        for v in &r.revocations {
            let (t, st) = if v.revoked && v.confirmed_inactive {
                (format!("revoked     {}: introspection now answers inactive", v.issuer), theme.ok)
            } else {
                (format!("NOT revoked {}: {}", v.issuer, v.error.clone().unwrap_or_else(|| "still active".into())), theme.danger)
            };
            lines.push(Line::styled(safe(&t, 300), st));
        }
        lines.push(Line::styled(format!("audit #{}", r.audit_seq), theme.muted));
    }
    let body_area = if form.stage == TriageStage::Reason {
        let [text, reason] = Layout::vertical([Constraint::Min(1), Constraint::Length(3)]).areas(body);
        let mut ta = form.reason.clone();
        ta.set_block(Block::default().borders(Borders::ALL).border_style(theme.border).title(Span::styled(" reason ", theme.muted)));
        ta.set_style(theme.text);
        ta.set_placeholder_style(theme.muted);
        f.render_widget(&ta, reason);
        text
    } else {
        body
    };
    f.render_widget(Paragraph::new(Text::from(lines)).wrap(Wrap { trim: false }), body_area);
    let hints = match form.stage {
        TriageStage::Token => "enter look it up · esc close",
        TriageStage::Waiting => "",
        TriageStage::Report => "r revoke everywhere it is live · esc close (forgets the token)",
        TriageStage::Reason => "enter revoke · esc close",
    };
    f.render_widget(Paragraph::new(hints).style(theme.accent), hint);
}

#[cfg(test)]
mod tests {
    #[test]
    fn gauge_fills_by_tenths() {
        assert_eq!(super::gauge(0, 0), "▕░░░░░░░░░░▏ 0");
        assert_eq!(super::gauge(500, 1000), "▕█████░░░░░▏ 500");
        assert_eq!(super::gauge(5000, 1000), "▕██████████▏ 5,000");
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(super::thousands(1_000_000), "1,000,000");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(-1234), "-1,234");
    }
}
