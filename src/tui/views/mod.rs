//! One file per view: each holds its state, turns keymap actions and worker
//! replies into `Outcome`s, and draws itself from that state.
pub mod credentials;
pub mod detail;
pub mod expiring;
pub mod findings;
pub mod grants;
pub mod issuers;
pub mod owners;
pub mod review;

use super::forms::Form;
use super::keymap::{Action, Keymap};
use super::msg::{Effect, Tone, View};
use crate::domain::Timestamp;

/// What a view asks of the app after a key or a reply; only `App` applies it.
#[derive(Debug)]
pub enum Outcome {
    Effect(Effect),
    Status(Tone, String),
    /// The credential table under this filter (a drill-down from another view).
    ShowCredentials(String),
    ShowView(View),
    /// A form opens over the view.
    Open(Form),
    /// The filter prompt opens, holding the filter in force.
    FilterPrompt,
}

/// What a view's key handling may read of the app.
pub struct KeyCtx<'a> {
    pub now: Timestamp,
    pub read_only: bool,
    /// Rows a page key moves.
    pub page: isize,
    pub keymap: &'a Keymap,
}

impl KeyCtx<'_> {
    /// How far a movement action moves the cursor in a list.
    pub fn delta(&self, action: Action) -> isize {
        match action {
            Action::Down => 1,
            Action::Up => -1,
            Action::PageDown => self.page,
            Action::PageUp => -self.page,
            Action::Top => isize::MIN / 2,
            Action::Bottom => isize::MAX / 2,
            _ => 0,
        }
    }
}
