//! The one table of views and `:` commands: the tabs, the app's dispatch, the
//! parser, the completion, the prompt's placeholder, the help overlay and the
//! unknown-command message all read it.
//!
//! Adding a view: write `views/NAME.rs`, a `Default` state type implementing
//! `views::Pane` (`NAME`, `FOOTER`, `on_action`, `draw`; `load` + `on_data` for its
//! own data through `Effect::Load(Job::new(NAME, ..))`, `command` for arguments),
//! declared by `pub mod NAME;` in `views/mod.rs`; import its type here and add one
//! line to the `views!` table below; add a `[NAME]` table to keymap.toml. Nothing else.
use super::forms::input::FORM;
use super::registry::views;
use super::views::{credentials::CredentialsView, expiring::ExpiringView, findings::FindingsView, grants::GrantsView};
use super::views::{deployments::DeploymentsView, home::HomeView, issuers::IssuersView, owners::OwnersView, review::ReviewView};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opens {
    View(View),
    Triage,
    Theme,
    Sort,
    Quit,
}

pub struct Command {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    /// The arguments, as shown in the prompt's placeholder ("" when none).
    pub args: &'static str,
    pub opens: Opens,
    pub help: &'static str,
}

// One line per view, in tab order: Variant field: Type, [aliases], "args", "help";
views! {
    Home home: HomeView, [], "", "what needs attention now: grants, findings, expiry, issuers, where to start";
    Credentials credentials: CredentialsView, [], "", "the credential inventory";
    Grants grants: GrantsView, [], "", "the approval queue";
    Findings findings: FindingsView, [], "", "open findings by rule";
    Owners owners: OwnersView, [], "", "people, and what each one holds";
    Expiring expiring: ExpiringView, [], "[24h|7d|30d]", "credentials expiring soon, by owner";
    Review review: ReviewView, ["rev", "re"], "[NAME | start NAME [FILTER]]", "review campaigns: NAME opens one; start NAME [FILTER] (default: the current filter)";
    Issuers issuers: IssuersView, [], "", "issuers and their sync runs";
    Deployments deployments: DeploymentsView, ["dep"], "", "where credentials sit in plain text in agent configurations (tokenward scan)";
    // The other commands, after the views.
    [
        Command { name: "triage", aliases: &[], args: "", opens: Opens::Triage, help: "look up a leaked token" },
        Command { name: "theme", aliases: &[], args: "NAME", opens: Opens::Theme, help: "switch the colour theme" },
        Command { name: "sort", aliases: &[], args: "COLUMN", opens: Opens::Sort, help: "sort the credentials by a column" },
        Command { name: "quit", aliases: &["q", "q!"], args: "", opens: Opens::Quit, help: "leave tokenward" },
    ]
}

/// The command a typed word names: a view by a prefix of two letters or more, else a name or alias.
pub fn find(word: &str) -> Option<&'static Command> {
    let view = COMMANDS.iter().find(|c| matches!(c.opens, Opens::View(_)) && word.len() >= 2 && c.name.starts_with(word));
    view.or_else(|| COMMANDS.iter().find(|c| c.name == word || c.aliases.contains(&word)))
}

/// The command names a typed prefix could complete to.
pub fn complete(prefix: &str) -> Vec<&'static str> {
    COMMANDS.iter().map(|c| c.name).filter(|n| n.starts_with(prefix)).collect()
}

/// The command prompt's placeholder: every command with its arguments.
pub fn placeholder() -> String {
    COMMANDS
        .iter()
        .map(|c| {
            let name = if c.opens == Opens::Quit { c.aliases.first().copied().unwrap_or(c.name) } else { c.name };
            if c.args.is_empty() { name.to_string() } else { format!("{name} {}", c.args) }
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// One line naming every command, for the unknown-command message.
pub fn summary() -> String {
    COMMANDS.iter().map(|c| format!(":{}", c.name)).collect::<Vec<_>>().join(" ")
}

/// The keymap tables a config may set: every registered view's, then `[global]` and `[form]`.
pub fn keymap_tables() -> Vec<&'static str> {
    View::ALL.iter().map(|v| v.name()).chain(["global", FORM]).collect()
}

/// The command that opens a view, by the view.
pub fn for_view(view: View) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| c.opens == Opens::View(view))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_view_is_reachable_by_its_name() {
        for v in View::ALL {
            assert_eq!(find(v.name()).map(|c| c.opens), Some(Opens::View(*v)), "{v:?}");
            assert!(for_view(*v).is_some());
        }
        assert_eq!(find("iss").map(|c| c.opens), Some(Opens::View(View::Issuers)));
        assert_eq!(find("q").map(|c| c.opens), Some(Opens::Quit));
        assert!(find("t").is_none());
        assert_eq!(complete("tr"), vec!["triage"]);
    }

    #[test]
    fn every_registered_view_has_its_keymap_table_and_a_footer() {
        let keymap = crate::tui::keymap::Keymap::default_map();
        for table in keymap_tables() {
            assert!(keymap.has_table(table), "keymap.toml has no [{table}] table");
        }
        for v in View::ALL {
            assert!(!v.footer().is_empty(), "{v:?}");
            assert_eq!(View::named(v.name()), Some(*v));
        }
    }
}
