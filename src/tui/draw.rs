//! The whole screen, drawn from `&App`: tabs, the current view, the status
//! line, the footer of keys, and any form or overlay on top. Changes nothing.
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table};
use ratatui::Frame;

use super::app::{App, Mode, Tone, View};
use super::commands;
use super::theme::Theme;
use super::widgets::{centered, safe, thousands, Ctx};
use super::keymap::Action;
use crate::domain::{relative, text};

pub fn draw(f: &mut Frame, app: &App, theme: &Theme) {
    draw_screen(f, app, theme);
    scrub(f.buffer_mut());
}

/// The last word on what reaches the terminal: whatever a view, a form, a toast
/// or the status line drew (from a store an older version wrote, or a hand-edited
/// one), no cell keeps a character the terminal would obey (`text::is_hostile`).
fn scrub(buf: &mut Buffer) {
    for cell in buf.content.iter_mut() {
        if cell.symbol().chars().any(text::is_hostile) {
            let kept = text::clean(cell.symbol(), usize::MAX);
            cell.set_symbol(if kept.is_empty() { " " } else { &kept });
        }
    }
}

fn draw_screen(f: &mut Frame, app: &App, theme: &Theme) {
    let area = f.area();
    if area.width < 20 || area.height < 6 {
        f.render_widget(Paragraph::new("tokenward: terminal too small").style(theme.warning), area);
        return;
    }
    let ctx = Ctx { theme, keymap: &app.keymap, now: app.now };
    let [top, body, status, footer] = Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1), Constraint::Length(1)]).areas(area);
    draw_tabs(f, app, theme, top);
    app.views.draw(app.view, f, &ctx, body);
    draw_status(f, app, theme, status);
    draw_footer(f, app, theme, footer);
    match &app.mode {
        Mode::Help => draw_help(f, app, theme, area),
        Mode::Revoke(form) => form.draw(f, &ctx, area),
        Mode::Triage(form) => form.draw(f, &ctx, area),
        Mode::Decide(form) => form.draw(f, &ctx, area, app.views.grants.verdicts.get(&form.grant.id)),
        Mode::Bulk(form) => form.draw(f, &ctx, area),
        Mode::Review(form) => form.draw(f, &ctx, area),
        Mode::Normal | Mode::Filter(_) | Mode::Command(_) => {}
    }
}

fn draw_tabs(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let mut spans = vec![Span::styled(" tokenward ", theme.accent.add_modifier(Modifier::BOLD))];
    for v in View::ALL {
        let style = if *v == app.view { theme.selection } else { theme.muted };
        spans.push(Span::raw(" "));
        spans.push(Span::styled(format!(" {} ", v.name()), style));
    }
    spans.extend(app.views.tab_spans(app.view, theme));
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_status(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    if let Some(err) = app.filter_error() {
        f.render_widget(Paragraph::new(format!(" filter: {err}")).style(theme.danger), area);
        return;
    }
    let mut parts = vec![format!(" {}", safe(&app.db_label, 80))];
    match app.views.position(app.view) {
        // Each view says its own place; the credentials' filter is theirs alone.
        Some((_, 0, noun)) => parts.push(format!("no {noun}")),
        Some((selected, len, noun)) => parts.push(format!("{noun}: {} │ row {} of {}", thousands(len as i64), thousands(selected as i64 + 1), thousands(len as i64))),
        None => {
            let creds = &app.views.credentials;
            parts.push(match creds.window.total {
                Some(t) if creds.window.total_at_least => format!("{}+ credentials, counting…", thousands(t)),
                Some(1) => "1 credential".into(),
                Some(t) => format!("{} credentials", thousands(t)),
                None => "counting…".into(),
            });
            if let Some(p) = creds.absolute_selected() {
                parts.push(format!("row {}", thousands(p + 1)));
            }
            if !creds.query_text.is_empty() {
                parts.push(format!("filter: {}", safe(&creds.query_text, 80)));
            }
        }
    }
    // Who acts and what they may not do, before the issuers (the line is cut at the right).
    parts.push(format!("operator {}", safe(&app.operator, 40)));
    if app.read_only {
        parts.push("READ-ONLY".into());
    } else if app.permissions.unavailable.len() == crate::actions::Act::ALL.len() {
        parts.push("VIEW ONLY".into());
    } else if !app.permissions.unavailable.is_empty() {
        let names: Vec<&str> = app.permissions.unavailable.keys().map(|a| a.label()).collect();
        parts.push(format!("unavailable: {}", names.join(", ")));
    }
    for i in &app.views.issuers.issuers {
        let when = i
            .last_run
            .as_ref()
            .and_then(|r| r.finished_at.as_deref())
            .and_then(crate::domain::parse_ts)
            .map(|t| format!("synced {}", relative(&t, app.now)))
            .unwrap_or_else(|| "never synced".into());
        let failed = i.last_run.as_ref().is_some_and(|r| r.status == crate::domain::SyncStatus::Failed);
        parts.push(format!("{} {when}{}", safe(&i.name, 30), if failed { " (FAILED)" } else { "" }));
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
            let view = app.view.name();
            let mut spans = Vec::new();
            for a in app.view.footer() {
                if let Some(k) = app.keymap.first_key(view, *a) {
                    // A decision this operator may not take: struck through, the key says why.
                    let unavailable = app.view.act_of(*a).is_some_and(|act| app.permissions.why_not(act).is_some());
                    let struck = |s: Style| if unavailable { s.add_modifier(Modifier::CROSSED_OUT | Modifier::DIM) } else { s };
                    spans.push(Span::styled(format!(" {k}"), struck(theme.accent)));
                    spans.push(Span::styled(format!(" {} ", a.hint()), struck(theme.muted)));
                }
            }
            f.render_widget(Paragraph::new(Line::from(spans)), area);
        }
    }
}

/// Every key of the view from the live keymap, then every `:` command from the command table.
/// Actions the help shows on one line with their opposite, when both are bound.
const HELP_PAIRS: &[(Action, Action, &str)] = &[
    (Action::Down, Action::Up, "next / previous row"),
    (Action::PageDown, Action::PageUp, "page down / up"),
    (Action::Top, Action::Bottom, "first / last row"),
    (Action::NextView, Action::PrevView, "next / previous view (the header's tabs, in order)"),
    (Action::DetailDown, Action::DetailUp, "scroll the detail pane down / up"),
];

fn draw_help(f: &mut Frame, app: &App, theme: &Theme, area: Rect) {
    let bindings = app.keymap.bindings(app.view.name());
    let keys_of = |action: Action| bindings.iter().find(|(_, a)| *a == action).map(|(k, _)| k.clone());
    let row = |keys: String, what: String| Row::new(vec![Cell::from(Span::styled(keys, theme.accent)), Cell::from(Span::styled(what, theme.text))]);
    let mut rows: Vec<Row> = Vec::new();
    for (keys, a) in &bindings {
        // A pair bound both ways takes one line (the help of ten views must fit a terminal).
        if HELP_PAIRS.iter().any(|(first, second, _)| second == a && keys_of(*first).is_some()) {
            continue;
        }
        if let Some((_, second, what)) = HELP_PAIRS.iter().find(|(first, _, _)| first == a)
            && let Some(back) = keys_of(*second)
        {
            rows.push(row(format!("{keys} / {back}"), what.to_string()));
            continue;
        }
        rows.push(match app.view.act_of(*a).and_then(|act| app.permissions.why_not(act)) {
            Some(why) => row(keys.clone(), format!("{} (unavailable: {})", a.description(), safe(why, 160))),
            None => row(keys.clone(), a.description().to_string()),
        });
    }
    for c in commands::COMMANDS {
        let usage = format!(":{} {}", c.name, c.args);
        rows.push(row(if usage.len() <= 26 { usage } else { format!(":{}", c.name) }, c.help.to_string()));
    }
    let popup = centered(area, 112, rows.len() as u16 + 2);
    f.render_widget(Clear, popup);
    let block = Block::default().borders(Borders::ALL).border_style(theme.border).title(Span::styled(format!(" keys: {} (any key closes) ", app.view.name()), theme.header));
    f.render_widget(Table::new(rows, [Constraint::Length(26), Constraint::Min(10)]).block(block), popup);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    use crate::tui::app::App;
    use crate::tui::keymap::Keymap;
    use crate::tui::theme::Theme;

    fn screen(app: &App) -> String {
        let mut terminal = Terminal::new(TestBackend::new(120, 20)).expect("terminal");
        terminal.draw(|f| super::draw(f, app, &Theme::monochrome())).expect("draw");
        terminal.backend().buffer().content().iter().map(|c| c.symbol()).collect()
    }

    #[test]
    fn a_remapped_key_shows_in_the_footer_and_the_empty_state_hints() {
        let mut keymap = Keymap::default_map();
        let overrides = BTreeMap::from([
            ("credentials".to_string(), BTreeMap::from([("revoke".to_string(), "x".to_string())])),
            ("findings".to_string(), BTreeMap::from([("recompute".to_string(), "ctrl-f".to_string())])),
        ]);
        keymap.merge(&overrides).expect("merges");
        let mut app = App::new(keymap, "ana@acme.test", "t.db", false, chrono::Utc::now());
        let footer = screen(&app);
        assert!(footer.contains(" x revoke") && !footer.contains(" r revoke"), "{footer}");
        app.run_command("findings");
        assert!(screen(&app).contains("never computed: ctrl-f computes them"));
    }

    #[test]
    fn no_cell_keeps_a_character_the_terminal_would_obey() {
        // Cells as a careless widget could leave them: an escape, a C1 control, a bidi override, a tag on a letter.
        let mut buf = ratatui::buffer::Buffer::empty(ratatui::layout::Rect::new(0, 0, 6, 1));
        for (x, symbol) in ["\u{1b}", "\u{9b}", "\u{202E}", "a\u{E0041}", "\u{2028}", "é"].into_iter().enumerate() {
            buf[(x as u16, 0)].set_symbol(symbol);
        }
        super::scrub(&mut buf);
        let cells: Vec<&str> = buf.content().iter().map(|c| c.symbol()).collect();
        assert_eq!(cells, [" ", " ", " ", "a", " ", "é"]);
    }

    #[test]
    fn the_review_view_names_the_command_that_starts_a_campaign() {
        let mut app = App::new(Keymap::default_map(), "ana@acme.test", "t.db", false, chrono::Utc::now());
        app.run_command("review");
        assert!(screen(&app).contains("enter opens one · start one with :review start NAME FILTER"));
    }
}
