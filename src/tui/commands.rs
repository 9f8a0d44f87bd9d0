//! The one table of `:` commands: the parser, the completion, the prompt's
//! placeholder, the help overlay and the unknown-command message all read it.
use super::msg::View;

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

/// Views first, in tab order: a view is reached by any prefix of two letters or more.
pub const COMMANDS: &[Command] = &[
    Command { name: "credentials", aliases: &[], args: "", opens: Opens::View(View::Credentials), help: "the credential inventory" },
    Command { name: "grants", aliases: &[], args: "", opens: Opens::View(View::Grants), help: "the approval queue" },
    Command { name: "findings", aliases: &[], args: "", opens: Opens::View(View::Findings), help: "open findings by rule" },
    Command { name: "owners", aliases: &[], args: "", opens: Opens::View(View::Owners), help: "people, and what each one holds" },
    Command { name: "expiring", aliases: &[], args: "", opens: Opens::View(View::Expiring), help: "credentials expiring soon, by owner" },
    Command {
        name: "review",
        aliases: &["rev", "re"],
        args: "[NAME | start NAME FILTER]",
        opens: Opens::View(View::Review),
        help: "review campaigns; NAME opens one, start NAME FILTER starts one",
    },
    Command { name: "issuers", aliases: &[], args: "", opens: Opens::View(View::Issuers), help: "issuers and their sync runs" },
    Command { name: "triage", aliases: &[], args: "", opens: Opens::Triage, help: "look up a leaked token" },
    Command { name: "theme", aliases: &[], args: "NAME", opens: Opens::Theme, help: "switch the colour theme" },
    Command { name: "sort", aliases: &[], args: "COLUMN", opens: Opens::Sort, help: "sort the credentials by a column" },
    Command { name: "quit", aliases: &["q", "q!"], args: "", opens: Opens::Quit, help: "leave tokenward" },
];

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
}
