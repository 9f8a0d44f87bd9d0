//! Drawing the governance views: findings by rule, owners and a person's blast
//! radius, expiring soon by owner, review campaigns; and their two modals (the
//! offboarding bulk revoke and a review decision). Functions of state only.
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use super::governance::{BulkStage, EXPIRING_WINDOWS, OWNER_FILTERS};
use super::state::{short, App, Mode};
use super::theme::Theme;
use super::view::{centered, gauge, safe, thousands};
use crate::detail::relative;
use crate::domain::parse_ts;

fn severity_style(s: &str, theme: &Theme) -> ratatui::style::Style {
    match s {
        "critical" | "high" => theme.danger,
        "medium" => theme.warning,
        _ => theme.info,
    }
}

fn when(ts: &str, app: &App) -> String {
    parse_ts(ts).map(|t| relative(&t, app.now)).unwrap_or_else(|| ts.to_string())
}

/// Rows `offset..offset+height` of a list with `selected` kept visible.
fn window(selected: usize, height: usize) -> usize {
    selected.saturating_sub(height.saturating_sub(1))
}

pub fn draw_findings(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let total: i64 = app.findings.counts.iter().map(|c| c.open).sum();
    let last = match &app.findings.last_run {
        Some((at, ms)) => format!("computed {} in {} ms", when(at, app), ms),
        None => "never computed: F computes them".into(),
    };
    let line = Line::from(vec![
        Span::styled(format!(" {} open findings", thousands(total)), theme.header),
        Span::styled(format!(" · {last}"), theme.muted),
        Span::styled(if app.findings.recomputing { " · recomputing…" } else { "" }, theme.info),
        Span::styled(" · Enter lists a rule's credentials", theme.muted),
    ]);
    f.render_widget(Paragraph::new(line), head);
    let height = body.height.saturating_sub(1) as usize;
    let offset = window(app.findings.selected, height);
    let rows: Vec<Row> = app
        .findings
        .counts
        .iter()
        .skip(offset)
        .take(height)
        .map(|c| {
            let rule = crate::findings::rule(&c.rule);
            Row::new(vec![
                Cell::from(Span::styled(safe(&c.rule, 40), theme.accent)),
                Cell::from(Span::styled(c.severity.clone(), severity_style(&c.severity, theme))),
                Cell::from(Span::styled(thousands(c.open), theme.text)),
                Cell::from(Span::styled(rule.map(|r| r.fires_when).unwrap_or(""), theme.text)),
                Cell::from(Span::styled(rule.map(|r| r.frameworks.join("; ")).unwrap_or_default(), theme.muted)),
            ])
        })
        .collect();
    let widths = [Constraint::Length(24), Constraint::Length(8), Constraint::Length(9), Constraint::Min(30), Constraint::Length(48)];
    let header = Row::new(["RULE", "SEVERITY", "OPEN", "FIRES WHEN", "MAPS TO"]).style(theme.header);
    let mut state = TableState::default().with_selected((!app.findings.counts.is_empty()).then(|| app.findings.selected - offset));
    f.render_stateful_widget(Table::new(rows, widths).header(header).row_highlight_style(theme.selection), body, &mut state);
    if app.findings.counts.is_empty() {
        f.render_widget(Paragraph::new("no open findings").style(theme.muted).centered(), Rect { y: body.y + 2, height: 1, ..body });
    }
}

pub fn draw_owners(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let o = &app.owners;
    let (list, pane) = match &o.blast {
        Some(_) => {
            let [a, b] = Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(area);
            (a, Some(b))
        }
        None => (area, None),
    };
    let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(list);
    let filter = OWNER_FILTERS[o.filter].unwrap_or("everyone");
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(format!(" people: {filter}"), theme.header),
            Span::styled(format!(" · page {} · f filter · Enter blast radius · r revoke all", o.pages.len() + 1), theme.muted),
        ])),
        head,
    );
    let height = body.height.saturating_sub(1) as usize;
    let offset = window(o.selected, height);
    let rows: Vec<Row> = o
        .rows
        .iter()
        .skip(offset)
        .take(height)
        .map(|p| {
            let st = match p.status.as_str() {
                "offboarded" => theme.danger,
                "active" => theme.ok,
                _ => theme.warning,
            };
            let left = p.offboarded_at.as_deref().map(|t| when(t, app)).unwrap_or_default();
            Row::new(vec![
                Cell::from(Span::styled(safe(&p.id, 60), theme.text)),
                Cell::from(Span::styled(safe(p.team.as_deref().unwrap_or(""), 30), theme.muted)),
                Cell::from(Span::styled(p.status.clone(), st)),
                Cell::from(Span::styled(left, theme.muted)),
                Cell::from(Span::styled(thousands(p.active), if p.status == "offboarded" && p.active > 0 { theme.danger } else { theme.text })),
                Cell::from(Span::styled(thousands(p.total), theme.muted)),
            ])
        })
        .collect();
    // Fits the 45% a blast radius pane leaves at 140 columns: an overconstrained table lays out unpredictably.
    let widths = [Constraint::Min(20), Constraint::Length(9), Constraint::Length(10), Constraint::Length(8), Constraint::Length(6), Constraint::Length(5)];
    let header = Row::new(["OWNER", "TEAM", "STATUS", "LEFT", "ACTIVE", "TOTAL"]).style(theme.header);
    let mut state = TableState::default().with_selected((!o.rows.is_empty()).then(|| o.selected - offset));
    f.render_stateful_widget(Table::new(rows, widths).header(header).row_highlight_style(theme.selection), body, &mut state);
    if let (Some(area), Some(p)) = (pane, &o.blast) {
        let block = Block::default().borders(Borders::LEFT).border_style(theme.border).title(Span::styled(format!(" blast radius: {} ", safe(&p.owner, 60)), theme.header));
        let mut lines: Vec<Line> = Vec::new();
        match (&p.data, &p.error) {
            (_, Some(e)) => lines.push(Line::styled(safe(e, 300), theme.danger)),
            (None, _) => lines.push(Line::styled("loading…", theme.muted)),
            (Some(b), _) => {
                let live = b.revocable().count();
                let delegated = b.revocable().filter(|c| c.relation == "delegated").count();
                lines.push(Line::from(vec![
                    Span::styled(format!("{} ", b.status.as_deref().unwrap_or("unknown")), if b.status.as_deref() == Some("offboarded") { theme.danger } else { theme.text }),
                    Span::styled(format!("· {live} live credential(s) ({delegated} delegated from theirs), {} pending grant(s)", b.pending_grants.len()), theme.text),
                ]));
                let mut issuers: Vec<&str> = b.revocable().map(|c| c.issuer.as_str()).collect();
                issuers.sort();
                issuers.dedup();
                if !issuers.is_empty() {
                    lines.push(Line::styled(format!("at {}", issuers.join(", ")), theme.muted));
                }
                lines.push(Line::raw(""));
                for c in b.credentials.iter().take(area.height.saturating_sub(6) as usize) {
                    let st = if c.status == "active" { theme.text } else { theme.muted };
                    lines.push(Line::from(vec![
                        Span::styled(format!("{} ", short(&c.credential_id)), theme.accent),
                        Span::styled(format!("{:<9} ", if c.relation == "owned" { "owned" } else { "delegated" }), if c.relation == "owned" { theme.muted } else { theme.warning }),
                        Span::styled(format!("{:<8} ", c.status), st),
                        Span::styled(safe(&format!("{} · {} · {}", c.issuer, c.workload, c.scopes), 120), st),
                    ]));
                }
                for g in &b.pending_grants {
                    lines.push(Line::from(vec![
                        Span::styled(format!("{} ", safe(&g.external_id, 20)), theme.accent),
                        Span::styled("pending grant ", theme.warning),
                        Span::styled(safe(&g.scopes.join(" "), 100), theme.text),
                    ]));
                }
            }
        }
        f.render_widget(Paragraph::new(Text::from(lines)).block(block), area);
    }
}

pub fn draw_expiring(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let e = &app.expiring;
    let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let total: i64 = e.groups.iter().map(|g| g.credentials).sum();
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(format!(" {} active credential(s) expire within {}", thousands(total), EXPIRING_WINDOWS[e.window]), theme.header),
            Span::styled(format!(", {} owner(s) to tell · f window · Enter lists them", e.groups.len()), theme.muted),
        ])),
        head,
    );
    let height = body.height.saturating_sub(1) as usize;
    let offset = window(e.selected, height);
    let rows: Vec<Row> = e
        .groups
        .iter()
        .skip(offset)
        .take(height)
        .map(|g| {
            let st = match g.owner_status.as_str() {
                "active" => theme.text,
                "offboarded" => theme.danger,
                _ => theme.warning,
            };
            Row::new(vec![
                Cell::from(Span::styled(if g.owner.is_empty() { "(no owner)".to_string() } else { safe(&g.owner, 60) }, st)),
                Cell::from(Span::styled(g.owner_status.clone(), st)),
                Cell::from(Span::styled(thousands(g.credentials), theme.text)),
                Cell::from(Span::styled(when(&g.soonest, app), theme.warning)),
                Cell::from(Span::styled(safe(&g.workloads, 200), theme.muted)),
            ])
        })
        .collect();
    let widths = [Constraint::Length(34), Constraint::Length(11), Constraint::Length(9), Constraint::Length(10), Constraint::Min(20)];
    let header = Row::new(["OWNER", "STATUS", "EXPIRING", "SOONEST", "WORKLOADS"]).style(theme.header);
    let mut state = TableState::default().with_selected((!e.groups.is_empty()).then(|| e.selected - offset));
    f.render_stateful_widget(Table::new(rows, widths).header(header).row_highlight_style(theme.selection), body, &mut state);
}

pub fn draw_review(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let r = &app.review;
    let Some(c) = &r.open else {
        let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
        f.render_widget(
            Paragraph::new(Span::styled(" review campaigns · Enter opens one · start one with `tokenward review start NAME --filter Q`", theme.muted)),
            head,
        );
        let rows: Vec<Row> = r
            .campaigns
            .iter()
            .map(|c| {
                Row::new(vec![
                    Cell::from(Span::styled(safe(&c.name, 40), theme.accent)),
                    Cell::from(Span::styled(format!("{} / {}", thousands(c.decided), thousands(c.items)), if c.decided == c.items { theme.ok } else { theme.warning })),
                    Cell::from(Span::styled(safe(c.filter.as_deref().unwrap_or(""), 120), theme.text)),
                    Cell::from(Span::styled(when(&c.created_at, app), theme.muted)),
                    Cell::from(Span::styled(safe(&c.created_by, 60), theme.muted)),
                ])
            })
            .collect();
        let widths = [Constraint::Length(24), Constraint::Length(14), Constraint::Min(20), Constraint::Length(10), Constraint::Length(24)];
        let header = Row::new(["CAMPAIGN", "DECIDED", "FILTER", "STARTED", "BY"]).style(theme.header);
        let mut state = TableState::default().with_selected((!r.campaigns.is_empty()).then_some(r.campaigns_selected));
        f.render_stateful_widget(Table::new(rows, widths).header(header).row_highlight_style(theme.selection), body, &mut state);
        if r.campaigns.is_empty() {
            f.render_widget(Paragraph::new("no campaigns yet").style(theme.muted).centered(), Rect { y: body.y + 2, height: 1, ..body });
        }
        return;
    };
    let [head, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let pct = if c.items > 0 { c.decided * 100 / c.items } else { 100 };
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(format!(" {} ", safe(&c.name, 40)), theme.header),
            Span::styled(format!("{} / {} decided ({pct}%)", gauge(c.decided as u64, c.items as u64), thousands(c.items)), theme.text),
            Span::styled(format!(" · filter {}", safe(c.filter.as_deref().unwrap_or(""), 80)), theme.muted),
        ])),
        head,
    );
    let [list, pane] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(rest);
    let height = list.height.saturating_sub(1) as usize;
    let offset = window(r.selected, height);
    let s = |i: &crate::store::ReviewItem, k: &str| i.field(k).to_string();
    let rows: Vec<Row> = r
        .items
        .iter()
        .skip(offset)
        .take(height)
        .map(|i| {
            let (d, st) = match i.decision.as_deref() {
                None => ("·".to_string(), theme.muted),
                Some("keep") => ("keep".to_string(), theme.ok),
                Some(x) => (x.to_string(), theme.warning),
            };
            Row::new(vec![
                Cell::from(Span::styled(format!("#{}", i.id), theme.muted)),
                Cell::from(Span::styled(d, st)),
                Cell::from(Span::styled(if s(i, "owner").is_empty() { "(none)".to_string() } else { safe(&s(i, "owner"), 40) }, if s(i, "owner_status") == "offboarded" { theme.danger } else { theme.text })),
                Cell::from(Span::styled(safe(&s(i, "scopes"), 80), theme.accent)),
            ])
        })
        .collect();
    let widths = [Constraint::Length(6), Constraint::Length(9), Constraint::Length(26), Constraint::Min(10)];
    let header = Row::new(["ITEM", "DECISION", "OWNER", "SCOPES"]).style(theme.header);
    let mut state = TableState::default().with_selected((!r.items.is_empty()).then(|| r.selected - offset));
    f.render_stateful_widget(Table::new(rows, widths).header(header).row_highlight_style(theme.selection), list, &mut state);
    let block = Block::default().borders(Borders::LEFT).border_style(theme.border).title(Span::styled(" evidence ", theme.header));
    let Some(i) = r.items.get(r.selected) else {
        f.render_widget(Paragraph::new("no items").style(theme.muted).block(block), pane);
        return;
    };
    let field = |k: &str, v: String, st| Line::from(vec![Span::styled(format!("{k:<12}"), theme.muted), Span::styled(safe(&v, 300), st)]);
    let ts = |k: &str| {
        let v = s(i, k);
        if v.is_empty() { "never".to_string() } else { format!("{} ({})", when(&v, app), &v[..v.len().min(10)]) }
    };
    let mut lines = vec![
        field("credential", format!("{} · {} at {}", s(i, "id"), s(i, "kind"), s(i, "issuer")), theme.accent),
        field("owner", format!("{} ({})", s(i, "owner"), s(i, "owner_status")), if s(i, "owner_status") == "offboarded" { theme.danger } else { theme.text }),
        field("workload", s(i, "workload"), theme.text),
        field("scopes", s(i, "scopes"), theme.accent),
        field("binding", s(i, "binding"), if s(i, "binding") == "bearer" { theme.warning } else { theme.ok }),
        field("issued", ts("issued_at"), theme.text),
        field("expires", ts("expires_at"), theme.text),
        field("last used", ts("last_used_at"), theme.text),
        Line::raw(""),
        Line::styled("findings", theme.header),
    ];
    let findings = s(i, "findings");
    if findings.is_empty() {
        lines.push(Line::styled("  none", theme.muted));
    }
    for fnd in findings.lines().filter(|x| !x.is_empty()) {
        lines.push(Line::styled(format!("  {}", safe(fnd, 200)), theme.warning));
    }
    lines.push(Line::styled("consent trail", theme.header));
    let consent = s(i, "consent");
    if consent.is_empty() {
        lines.push(Line::styled("  no consent on record", theme.warning));
    }
    for e in consent.lines().filter(|x| !x.is_empty()) {
        lines.push(Line::styled(format!("  {}", safe(e, 200)), theme.text));
    }
    lines.push(Line::raw(""));
    match &i.decision {
        Some(d) => lines.push(Line::styled(
            safe(&format!("decided: {d} by {} {} · {}{}", i.decided_by.clone().unwrap_or_default(), i.decided_at.clone().unwrap_or_default(), i.reason.clone().unwrap_or_default(),
                i.issuer_answer.as_ref().map(|a| format!(" · issuer: {a}")).unwrap_or_default()), 400),
            theme.ok,
        )),
        None => lines.push(Line::styled("y keep · r revoke · o reassign · t shorten · c reduce scopes · n next undecided", theme.accent)),
    }
    f.render_widget(Paragraph::new(Text::from(lines)).block(block).wrap(Wrap { trim: false }), pane);
}

pub fn draw_bulk(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let Mode::Bulk(form) = &app.mode else { return };
    let popup = centered(area, 110, 24);
    f.render_widget(Clear, popup);
    let plan = &form.plan;
    let live: Vec<_> = plan.revocable().collect();
    let title = format!(" revoke everything {} holds ", safe(&plan.owner, 60));
    let block = Block::default().borders(Borders::ALL).border_style(theme.danger).title(Span::styled(title, theme.danger));
    let inner = block.inner(popup);
    f.render_widget(block, popup);
    let [summary, list, reason, status, hint] =
        Layout::vertical([Constraint::Length(2), Constraint::Min(3), Constraint::Length(3), Constraint::Length(2), Constraint::Length(1)]).areas(inner);
    let mut issuers: Vec<&str> = live.iter().map(|c| c.issuer.as_str()).collect();
    issuers.sort();
    issuers.dedup();
    f.render_widget(
        Paragraph::new(format!(
            "dry run: {} live credential(s) at {} ({} delegated from theirs) and {} pending grant(s) to deny. Each issuer is asked first; nothing shows as revoked before it confirms.",
            live.len(),
            if issuers.is_empty() { "-".into() } else { issuers.join(", ") },
            live.iter().filter(|c| c.relation == "delegated").count(),
            plan.pending_grants.len()
        ) + if plan.truncated { " More than 50,000: one run revokes these, run it again for the rest." } else { "" })
        .style(theme.text)
        .wrap(Wrap { trim: true }),
        summary,
    );
    let mut lines: Vec<Line> = live
        .iter()
        .take(list.height as usize)
        .map(|c| {
            let done = form.report.as_ref().map(|r| {
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
                Span::styled(safe(&format!("{} {} · {} · {}", c.issuer, c.external_id, c.relation, c.scopes), 120), theme.text),
            ])
        })
        .collect();
    if live.len() > list.height as usize {
        lines.pop();
        lines.push(Line::styled(format!("… and {} more (all listed by `tokenward revoke --owner {} --dry-run`)", live.len() - list.height as usize + 1, plan.owner), theme.muted));
    }
    f.render_widget(Paragraph::new(Text::from(lines)), list);
    let mut ta = form.reason.clone();
    ta.set_block(Block::default().borders(Borders::ALL).border_style(if form.stage == BulkStage::Reason { theme.accent } else { theme.border }).title(Span::styled(" reason ", theme.muted)));
    ta.set_style(theme.text);
    ta.set_placeholder_style(theme.muted);
    f.render_widget(&ta, reason);
    let (msg, st) = match (&form.stage, &form.error, &form.progress) {
        (_, Some(e), _) => (safe(e, 300), theme.danger),
        (BulkStage::Running, _, Some(p)) => (format!("{} {}/{} · {} revoked, {} queued, {} failed · {}", gauge(p.done as u64, p.total as u64), p.done, p.total, p.revoked, p.queued, p.failed, safe(&p.last, 120)), theme.info),
        (BulkStage::Running, _, None) => ("asking the issuers…".into(), theme.info),
        (BulkStage::Done, _, _) => match &form.report {
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
    let hints = match form.stage {
        BulkStage::Reason => "type the reason · enter continue · esc cancel",
        BulkStage::Confirm => "y revoke all of it now · n edit the reason · esc cancel",
        BulkStage::Running => "revoking… (each issuer answers first)",
        BulkStage::Done => "any key closes",
    };
    f.render_widget(Paragraph::new(hints).style(if form.stage == BulkStage::Confirm { theme.danger } else { theme.accent }), hint);
}

pub fn draw_review_form(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let Mode::Review(form) = &app.mode else { return };
    let has_param = form.kind.param().is_some();
    let popup = centered(area, 90, if has_param { 14 } else { 11 });
    f.render_widget(Clear, popup);
    let style = if form.kind == super::governance::ReviewKind::Keep { theme.ok } else { theme.warning };
    let block = Block::default().borders(Borders::ALL).border_style(style).title(Span::styled(format!(" review: {} ", form.kind.name()), style));
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
    let s = |k: &str| form.item.field(k).to_string();
    f.render_widget(
        Paragraph::new(safe(&format!("item #{} · {} · owner {} ({}) · {} · {}", form.item.id, short(&form.item.credential_id), s("owner"), s("owner_status"), s("scopes"), s("issuer")), 300))
            .style(theme.text)
            .wrap(Wrap { trim: true }),
        summary,
    );
    let boxed = |t: String, active: bool| Block::default().borders(Borders::ALL).border_style(if active { theme.accent } else { theme.border }).title(Span::styled(t, theme.muted));
    if has_param {
        let mut p = form.param.clone();
        p.set_block(boxed(format!(" {} ", form.kind.param().unwrap_or("")), form.field == 0));
        p.set_style(theme.text);
        p.set_placeholder_style(theme.muted);
        f.render_widget(&p, param_area);
    }
    let mut r = form.reason.clone();
    r.set_block(boxed(" reason ".into(), form.field == 1));
    r.set_style(theme.text);
    r.set_placeholder_style(theme.muted);
    f.render_widget(&r, reason_area);
    let (msg, st) = match (&form.error, form.waiting) {
        (Some(e), _) => (safe(e, 300), theme.danger),
        (None, true) => ("waiting for the issuer's answer…".to_string(), theme.info),
        _ => (String::new(), theme.muted),
    };
    f.render_widget(Paragraph::new(msg).style(st), err);
    f.render_widget(Paragraph::new(if has_param { "tab field · enter decide · esc cancel" } else { "enter decide · esc cancel" }).style(theme.accent), hint);
}
