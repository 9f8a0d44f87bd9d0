//! One file per view: each holds its state, turns keymap actions and worker
//! replies into `Outcome`s, and draws itself from that state. Each implements
//! `Pane`, the contract the registry in `commands.rs` dispatches to.
pub mod credentials;
pub mod deployments;
pub mod detail;
pub mod expiring;
pub mod findings;
pub mod grants;
pub mod home;
pub mod issuers;
pub mod owners;
pub mod review;

use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::Frame;

use super::forms::Form;
use super::job::JobData;
use super::keymap::{Action, Keymap};
use super::msg::{Effect, Tone};
use super::theme::Theme;
use super::widgets::Ctx;
use crate::domain::Timestamp;

/// What every view file implements; one line of the registry in `commands.rs`
/// names the type, and the app and the screen reach the view only through it.
pub trait Pane: Default {
    /// Its tab, its `:` command and its `[NAME]` table in keymap.toml.
    const NAME: &'static str;
    /// The actions its footer names, in order; their keys come from the keymap.
    const FOOTER: &'static [Action];
    /// A keymap action while it is shown (the global ones are the app's).
    fn on_action(&mut self, action: Action, ctx: &KeyCtx) -> Vec<Outcome>;
    /// The kind of decision a key takes here, if any: an operator who may not
    /// take it sees the key as unavailable, with the reason.
    fn act_of(action: Action) -> Option<crate::actions::Act> {
        let _ = action;
        None
    }
    fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect);
    /// Its own data, loaded on a refresh while it is shown (and when opened).
    fn load(&self) -> Vec<Effect> {
        Vec::new()
    }
    /// What to load when its `:` command opens it: its own data unless it says otherwise.
    fn open(&self) -> Vec<Effect> {
        self.load()
    }
    /// Its `:` command with arguments (`:review NAME`); `None` when it takes none,
    /// and the command just opens it.
    fn command(&mut self, args: &[&str], ctx: &KeyCtx) -> Option<Vec<Outcome>> {
        let _ = (args, ctx);
        None
    }
    /// What to reload on every tick while it is shown and no form is open.
    fn on_tick(&self) -> Vec<Effect> {
        Vec::new()
    }
    /// The answer of one of its own `Effect::Load` jobs: downcast to what the job returned.
    fn on_data(&mut self, data: JobData) -> Vec<Outcome> {
        let _ = data;
        Vec::new()
    }
    /// Its own place on the status line: the selected row and how many rows it
    /// lists, and what they are ("grants", "rules"); `None` for the credentials view,
    /// whose count, row and filter the status line reads itself.
    fn position(&self) -> Option<(usize, usize, &'static str)> {
        None
    }
    /// What the tab line adds after the tabs while it is shown.
    fn tab_spans(&self, theme: &Theme) -> Vec<Span<'static>> {
        let _ = theme;
        Vec::new()
    }
}

/// What a view asks of the app after a key or a reply; only `App` applies it.
#[derive(Debug)]
pub enum Outcome {
    Effect(Effect),
    Status(Tone, String),
    /// The credential table under this filter (a drill-down from another view).
    ShowCredentials(String),
    /// Back to the first view: the credential table.
    Home,
    /// The registered view of this name comes to the front.
    Show(&'static str),
    /// A form opens over the view.
    Open(Form),
    /// The filter prompt opens, holding the filter in force.
    FilterPrompt,
    /// Runs a `:` command line, as typed at the prompt (`expiring 24h`): a doorway to another view.
    Run(String),
}

/// What a view's key handling may read of the app.
pub struct KeyCtx<'a> {
    pub now: Timestamp,
    /// What this operator may not do, and why (read-only mode, a viewer login, the policies).
    pub may: &'a crate::actions::Permissions,
    /// Rows a page key moves.
    pub page: isize,
    pub keymap: &'a Keymap,
    /// The credentials view's filter as typed: what `:review start NAME` reviews when given none.
    pub filter: &'a str,
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
