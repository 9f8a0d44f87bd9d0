//! What every form shares: its keymap table, its reply to a key, and its text fields.
use crossterm::event::KeyEvent;
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders};
use ratatui_textarea::TextArea;

use crate::tui::keymap::{Action, Keymap};
use crate::tui::msg::Effect;
use crate::tui::theme::Theme;

/// The keymap table form keys live in.
pub const FORM: &str = "form";

/// What a key in a form leads to.
#[derive(Debug)]
pub enum FormReply {
    Stay,
    Close,
    /// Send this and keep the form open for the answer.
    Submit(Effect),
}

/// Cancel closes a form; while its request is out, every other key waits for the answer.
pub fn cancel_or_wait(keys: &Keymap, key: &KeyEvent, waiting: bool) -> Option<FormReply> {
    if keys.is(FORM, Action::Cancel, key) {
        Some(FormReply::Close)
    } else if waiting {
        Some(FormReply::Stay)
    } else {
        None
    }
}

/// A one-line text field with a placeholder.
pub fn single_line(placeholder: &str) -> TextArea<'static> {
    let mut ta = TextArea::default();
    ta.set_placeholder_text(placeholder);
    ta.set_cursor_line_style(ratatui::style::Style::default());
    ta
}

/// A one-line text field already holding `text`.
pub fn field(placeholder: &str, text: &str) -> TextArea<'static> {
    let mut ta = single_line(placeholder);
    ta.insert_str(text);
    ta
}

/// A field's text, its lines joined by `sep` and trimmed.
pub fn text(ta: &TextArea<'static>, sep: &str) -> String {
    ta.lines().join(sep).trim().to_string()
}

/// A copy of a field styled for drawing, in a titled box.
pub fn boxed(ta: &TextArea<'static>, title: &str, active: bool, theme: &Theme) -> TextArea<'static> {
    let mut ta = ta.clone();
    ta.set_block(Block::default().borders(Borders::ALL).border_style(if active { theme.accent } else { theme.border }).title(Span::styled(title.to_string(), theme.muted)));
    ta.set_style(theme.text);
    ta.set_placeholder_style(theme.muted);
    ta
}
