//! Drawing helpers every view shares: text made safe for the terminal, a list
//! window around the cursor, counts and gauges, styles by role, and key hints
//! built from the live keymap so they follow a remapped key.
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Paragraph, Row, Table, TableState};
use ratatui::Frame;

use super::keymap::{Action, Keymap};
use super::theme::Theme;
use crate::domain::{text, CredentialStatus, Severity, Timestamp};

/// What a view draws with: read-only, so drawing never changes state.
pub struct Ctx<'a> {
    pub theme: &'a Theme,
    pub keymap: &'a Keymap,
    pub now: Timestamp,
}

impl Ctx<'_> {
    /// The first key bound to `action` in `scope` (or globally), as shown to the operator.
    pub fn key(&self, scope: &str, action: Action) -> String {
        key_label(self.keymap, scope, action)
    }

    /// "key word · key word" for the bound actions, skipping any left unbound.
    pub fn hints(&self, scope: &str, pairs: &[(Action, &str)]) -> String {
        hints(self.keymap, scope, pairs)
    }
}

pub fn key_label(keymap: &Keymap, scope: &str, action: Action) -> String {
    keymap.first_key(scope, action).unwrap_or_else(|| "(unbound)".into())
}

pub fn hints(keymap: &Keymap, scope: &str, pairs: &[(Action, &str)]) -> String {
    pairs.iter().filter_map(|(a, word)| keymap.first_key(scope, *a).map(|k| format!("{k} {word}"))).collect::<Vec<_>>().join(" · ")
}

pub fn safe(s: &str, max: usize) -> String {
    text::clean(s, max)
}

pub fn short(id: &str) -> &str {
    id.get(..id.len().min(8)).unwrap_or(id)
}


/// The first row to draw so that `selected` stays visible in `height` rows.
pub fn window(selected: usize, height: usize) -> usize {
    selected.saturating_sub(height.saturating_sub(1))
}

/// A cursor moved by `delta`, kept inside a list of `len`.
pub fn step(i: usize, delta: isize, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    (i as isize).saturating_add(delta).clamp(0, len as isize - 1) as usize
}

pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))]).flex(Flex::Center).areas(area);
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))]).flex(Flex::Center).areas(v);
    h
}

/// A table of the rows already cut to the window, the cursor at `selected - offset`.
pub fn list_table(f: &mut Frame, area: Rect, theme: &Theme, header: Row<'static>, rows: Vec<Row<'static>>, widths: &[Constraint], selected: Option<usize>) {
    let mut state = TableState::default().with_selected(selected);
    f.render_stateful_widget(Table::new(rows, widths.to_vec()).header(header.style(theme.header)).row_highlight_style(theme.selection), area, &mut state);
}

/// One muted line in the middle of an empty table.
pub fn empty_note(f: &mut Frame, area: Rect, theme: &Theme, text: &str) {
    f.render_widget(Paragraph::new(text.to_string()).style(theme.muted).centered(), Rect { y: area.y + 2, height: 1, ..area });
}

/// A text gauge: `▕████░░░░░░▏ 4,000` against the count the last sync left.
pub fn gauge(done: u64, expected: u64) -> String {
    let filled = (done.min(expected) * 10).checked_div(expected).unwrap_or(0) as usize;
    format!("▕{}{}▏ {}", "█".repeat(filled), "░".repeat(10 - filled), thousands(done as i64))
}

pub fn thousands(n: i64) -> String {
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 { format!("-{out}") } else { out }
}

pub fn status_style(status: CredentialStatus, theme: &Theme) -> Style {
    match status {
        CredentialStatus::Active => theme.ok,
        CredentialStatus::Revoked => theme.danger,
        CredentialStatus::Gone | CredentialStatus::Expired => theme.muted,
    }
}

pub fn severity_style(s: Severity, theme: &Theme) -> Style {
    match s {
        Severity::Critical | Severity::High => theme.danger,
        Severity::Medium => theme.warning,
        Severity::Low => theme.info,
    }
}

pub fn binding_style(bearer: bool, theme: &Theme) -> Style {
    if bearer { theme.warning } else { theme.ok }
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
